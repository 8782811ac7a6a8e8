-- Invariants of generated data (examples/generate.rs), checked on the tables of
-- the sqlite3 shell's `.import --csv`. Every count must be 0.
SELECT 'directory addresses not unique (case-insensitive)',
       count(*) FROM (SELECT lower(trim(address)) FROM directory GROUP BY 1 HAVING count(*) > 1);
SELECT 'account ids not unique', count(*) FROM (SELECT account_id FROM accounts GROUP BY 1 HAVING count(*) > 1);
SELECT 'usernames not unique (case-insensitive)',
       count(*) FROM (SELECT lower(username) FROM accounts GROUP BY 1 HAVING count(*) > 1);
SELECT 'usernames not 8 to 32 characters', count(*) FROM accounts WHERE length(username) NOT BETWEEN 8 AND 32;
SELECT 'ODS codes not unique', count(*) FROM (SELECT ods_code FROM organisations GROUP BY 1 HAVING count(*) > 1);
SELECT 'ODS codes malformed', count(*) FROM organisations
 WHERE length(ods_code) NOT BETWEEN 3 AND 6 OR ods_code GLOB '*[^A-Z0-9]*';
SELECT 'parents missing or of the wrong kind', count(*) FROM organisations o
 LEFT JOIN organisations p ON p.ods_code = o.parent_code
 WHERE (o.kind = 'practice' AND p.kind IS NOT 'commissioner')
    OR (o.kind = 'commissioner' AND p.kind IS NOT 'region')
    OR (o.kind = 'region' AND o.parent_code <> '');
SELECT 'permissions of unknown accounts', count(*) FROM permissions
 WHERE account_id NOT IN (SELECT account_id FROM accounts);
SELECT 'permissions at unknown organisations', count(*) FROM permissions
 WHERE ods_code NOT IN (SELECT ods_code FROM organisations);
SELECT 'roles at the wrong kind of organisation', count(*) FROM permissions p
 JOIN organisations o ON o.ods_code = p.ods_code
 WHERE (o.kind = 'practice' AND p.role NOT IN ('user-administrator', 'view', 'finance-view',
        'achievement-entry', 'service-management', 'declaration-management', 'supervisor'))
    OR (o.kind <> 'practice' AND p.role NOT IN ('advanced-user-administrator', 'user-administrator',
        'organisation-administrator', 'view', 'finance-view', 'approval-management', 'finance-management'));
SELECT 'duplicate (account, ods, role)', count(*) FROM
 (SELECT 1 FROM permissions GROUP BY account_id, ods_code, role HAVING count(*) > 1);
SELECT 'activity of unknown accounts or organisations', count(*) FROM activity
 WHERE account_id NOT IN (SELECT account_id FROM accounts)
    OR ods_code NOT IN (SELECT ods_code FROM organisations);
SELECT 'activity where the account holds no role', count(*) FROM activity
 WHERE account_id || ' ' || ods_code NOT IN (SELECT account_id || ' ' || ods_code FROM permissions);
SELECT 'activity ids not unique', count(*) FROM (SELECT activity_id FROM activity GROUP BY 1 HAVING count(*) > 1);
SELECT 'bad enumerated values', count(*) FROM (
  SELECT status AS v FROM accounts WHERE status NOT IN ('active', 'disabled')
  UNION ALL SELECT status FROM directory WHERE status NOT IN ('active', 'disabled')
  UNION ALL SELECT mailbox_type FROM directory WHERE mailbox_type NOT IN ('personal', 'shared')
  UNION ALL SELECT kind FROM organisations WHERE kind NOT IN ('practice', 'commissioner', 'region')
  UNION ALL SELECT kind FROM activity WHERE kind NOT IN ('offer-made', 'offer-accepted',
                                                         'achievement-declared', 'payment-approved'));
SELECT 'dates not ISO 8601', count(*) FROM (
  SELECT created_at AS d FROM accounts UNION ALL SELECT last_login_at FROM accounts WHERE last_login_at <> ''
  UNION ALL SELECT occurred_at FROM activity)
 WHERE NOT (d GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'
         OR d GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z')
    OR date(substr(d, 1, 10)) IS NOT substr(d, 1, 10);
