-- The audit of rules.md as ONE SQL query over the plain tables that the sqlite3
-- shell's `.import --csv` makes (every column TEXT, values exactly as in the files).
--
-- It is written independently of cqrs-admin's code, from rules.md and
-- data-formats.md alone, and serves two purposes:
--   * the peer of the `audit --format csv` step of bench/run.sh, and
--   * an oracle: bench/check-oracle.sh compares it with our audit row by row.
--
-- Output: account_id,category,match,section (run the shell with -csv -header);
-- an empty match or section is NULL, which the shell's csv mode prints as nothing.
-- Disabled accounts are left out, as `audit` does by default, unless the shell
-- parameter :all is set to 1 (`.parameter set :all 1`), like --include-disabled.
--
-- Faithfulness to rules.md, and the known differences:
--   * Values are trimmed with trim(), which removes spaces only; the tool trims
--     all whitespace. The generator and the fixtures pad with spaces only.
--   * Case folding uses lower()/upper(), which fold ASCII only. Addresses with
--     non-ASCII characters are invalid anyway, so this only matters for names
--     with non-ASCII letters in different cases (neither data set has them).
--   * Address validity is exact: one '@'; local part 1..64 characters from the
--     allowed set, no leading/trailing '.', no '..'; domain of 2+ labels of
--     [a-z0-9-], 1..63 characters each, no label starting or ending with '-',
--     no trailing dot; 254 characters at most; any non-ASCII character (found by
--     comparing the byte length with the character length) makes it invalid.
--   * The directory's mailbox_type column must exist (it may be empty:
--     personal); ODS codes are compared upper-cased, names lower-cased.
--   * Of `superseded`, only "Replaced in CQRS itself" can occur in freshly
--     imported files (no replacement is made there): an account whose one
--     candidate's address is another active account's (not its own address),
--     with the same names and exactly the same roles. Payment-type
--     restrictions are compared as the file writes them (trimmed, upper-cased),
--     where the tool compares them as sets; the generator writes them in one
--     order.
--   * The match column shows the directory address trimmed, as the file holds it.
WITH
acc AS MATERIALIZED (
  SELECT trim(account_id)                   AS id,
         lower(trim(email))                 AS e,
         lower(trim(given_name))            AS g,
         lower(trim(family_name))           AS f,
         lower(trim(status)) = 'disabled'   AS off
  FROM accounts
),
parts AS MATERIALIZED (
  SELECT id, e, g, f, off,
         instr(e, '@')                      AS at,
         substr(e, 1, instr(e, '@') - 1)    AS lp,
         substr(e, instr(e, '@') + 1)       AS dom
  FROM acc
),
checked AS MATERIALIZED (
  SELECT id, e, g, f, off, dom,
         (    at > 0
          AND instr(dom, '@') = 0
          AND length(CAST(e AS BLOB)) = length(e)
          AND length(e) <= 254
          AND length(lp) BETWEEN 1 AND 64
          AND lp NOT GLOB '*[^a-z0-9!#$%&''*+/=?^_`{|}~.-]*'
          AND substr(lp, 1, 1) <> '.' AND substr(lp, -1, 1) <> '.'
          AND instr(lp, '..') = 0
          AND dom NOT GLOB '*[^a-z0-9.-]*'
          AND instr(dom, '.') > 0
          AND substr(dom, 1, 1) NOT IN ('.', '-')
          AND substr(dom, -1, 1) NOT IN ('.', '-')
          AND instr(dom, '..') = 0
          AND instr(dom, '.-') = 0
          AND instr(dom, '-.') = 0
          AND NOT (length(dom) > 63
                   AND dom GLOB '*' || replace(hex(zeroblob(64)), '00', '[^.]') || '*')
         ) AS valid
  FROM parts
),
dir AS MATERIALIZED (
  SELECT lower(trim(address))                                  AS addr,
         trim(address)                                         AS address,
         lower(trim(given_name))                               AS g,
         lower(trim(family_name))                              AS f,
         upper(trim(ods_code))                                 AS ods,
         lower(trim(status))                                   AS st,
         coalesce(nullif(lower(trim(mailbox_type)), ''), 'personal') AS mt
  FROM directory
),
dup AS MATERIALIZED (
  SELECT e FROM checked WHERE NOT off AND valid GROUP BY e HAVING count(*) > 1
),
cat AS MATERIALIZED (
  SELECT c.id, c.g, c.f,
         CASE
           WHEN c.off THEN 'disabled'
           WHEN NOT c.valid THEN 'invalid-email'
           WHEN c.e IN (SELECT e FROM dup) THEN 'duplicate-email'
           WHEN c.dom = 'nhs.net' THEN
             CASE
               WHEN d.addr IS NULL THEN 'not-in-directory'
               WHEN d.mt = 'shared' THEN 'shared-mailbox'
               WHEN d.st = 'active' THEN 'ok'
               ELSE 'nhsmail-disabled'
             END
           WHEN c.dom = 'nhs.uk' OR c.dom GLOB '*.nhs.uk' THEN 'nhs-uk-domain'
           ELSE 'other-domain'
         END AS category
  FROM checked c
  LEFT JOIN dir d ON d.addr = c.e AND c.dom = 'nhs.net'
),
looked AS MATERIALIZED (
  SELECT id, g, f FROM cat
  WHERE category IN ('duplicate-email', 'shared-mailbox', 'nhsmail-disabled',
                     'not-in-directory', 'nhs-uk-domain', 'other-domain')
),
roles_at AS MATERIALIZED (
  SELECT DISTINCT trim(account_id) AS id, upper(trim(ods_code)) AS ods FROM permissions
),
candidates AS MATERIALIZED (
  SELECT l.id, count(*) AS n, min(d.address) AS address
  FROM looked l
  JOIN roles_at r ON r.id = l.id
  JOIN dir d ON d.ods = r.ods AND d.g = l.g AND d.f = l.f
            AND d.st = 'active' AND d.mt = 'personal'
  GROUP BY l.id
),
role_sets AS MATERIALIZED (
  SELECT id, group_concat(r, '|') AS rs
  FROM (SELECT trim(account_id) AS id,
               upper(trim(ods_code)) || ' ' || lower(trim(role)) || ' '
                 || upper(trim(payment_types)) AS r
        FROM permissions ORDER BY 1, 2)
  GROUP BY id
),
replaced AS MATERIALIZED (
  SELECT DISTINCT m.id
  FROM candidates m
  JOIN checked x ON x.id = m.id
  JOIN checked y ON y.e = lower(m.address) AND NOT y.off AND y.id <> m.id
                AND y.e <> x.e AND y.g = x.g AND y.f = x.f
  JOIN role_sets rx ON rx.id = x.id
  JOIN role_sets ry ON ry.id = y.id AND ry.rs = rx.rs
  WHERE m.n = 1
),
judged AS MATERIALIZED (
  SELECT t.id,
         CASE WHEN t.id IN (SELECT id FROM replaced) THEN 'superseded' ELSE t.category END
           AS category
  FROM cat t
)
SELECT t.id AS account_id,
       t.category AS category,
       CASE
         WHEN t.category NOT IN ('duplicate-email', 'shared-mailbox', 'nhsmail-disabled',
                                 'not-in-directory', 'nhs-uk-domain', 'other-domain') THEN NULL
         WHEN m.n IS NULL THEN 'none'
         WHEN m.n = 1 THEN m.address
         ELSE 'ambiguous'
       END AS match,
       CASE
         WHEN t.category IN ('invalid-email', 'duplicate-email') THEN 'administrator'
         WHEN t.category IN ('shared-mailbox', 'nhsmail-disabled', 'not-in-directory')
           THEN 'contact-commissioner'
         WHEN t.category IN ('nhs-uk-domain', 'other-domain') THEN
           CASE WHEN m.n IS NULL THEN 'no-nhsmail' ELSE 'contact-commissioner' END
         ELSE NULL
       END AS section
FROM judged t
LEFT JOIN candidates m ON m.id = t.id
WHERE t.category <> 'disabled' OR coalesce(:all, 0)
ORDER BY t.id;
