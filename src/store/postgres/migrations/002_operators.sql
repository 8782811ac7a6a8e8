
-- The logins the owner registered (`cqrs-admin operators add`): ods_code
-- NULL is a national operator, else the organisation whose area (it and
-- everything below it through organisations.parent_code) it works in.
-- Grants are given to each login directly by `operators add` (and taken
-- back by `operators remove`): no role has to be created in the cluster.
CREATE TABLE operators (
    login    text COLLATE "C" PRIMARY KEY,
    ods_code text COLLATE "C",
    added_at text COLLATE "C" NOT NULL,
    added_by text COLLATE "C" NOT NULL
);

-- An area is walked down from its organisation: one index look-up a level.
CREATE INDEX organisations_by_parent ON organisations (parent_code);

-- Whether the session's login acts as the store's owner (the database's
-- owner, a member of its role, or a superuser).
CREATE FUNCTION cqrs_is_owner() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT pg_has_role(session_user, d.datdba, 'MEMBER')
                     FROM pg_database d WHERE d.datname = current_database()), false)
$$;

-- The organisations of the session's area, or NULL for the whole store
-- (the owner, a national operator); empty for a login that is no operator.
-- SECURITY DEFINER: it reads operators and organisations past the policies.
CREATE FUNCTION cqrs_area() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH RECURSIVE area(code) AS (
        SELECT o.ods_code FROM public.operators o
        WHERE o.login = session_user AND o.ods_code IS NOT NULL
        UNION
        SELECT g.ods_code FROM public.organisations g JOIN area a ON g.parent_code = a.code
    )
    SELECT CASE
        WHEN public.cqrs_is_owner()
             OR EXISTS (SELECT 1 FROM public.operators o
                        WHERE o.login = session_user AND o.ods_code IS NULL) THEN NULL
        ELSE coalesce((SELECT array_agg(a.code ORDER BY a.code) FROM area a), '{}'::text[])
    END
$$;

-- The accounts the session's area sees: those holding a role in it.
CREATE FUNCTION cqrs_area_accounts() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT DISTINCT p.account_id
    FROM unnest(public.cqrs_area()) AS a(code)
    JOIN public.permissions p ON p.ods_code = a.code
$$;

-- The organisations the session sees: its area and the organisations
-- above it (whose contacts the report names).
CREATE FUNCTION cqrs_area_organisations() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH RECURSIVE above(code) AS (
        SELECT o.ods_code FROM public.operators o
        WHERE o.login = session_user AND o.ods_code IS NOT NULL
        UNION
        SELECT g.parent_code FROM public.organisations g JOIN above a ON g.ods_code = a.code
        WHERE g.parent_code IS NOT NULL
    )
    SELECT a.code FROM unnest(public.cqrs_area()) AS a(code)
    UNION
    SELECT code FROM above
$$;

-- Whether the session may replace, revert or reinstate this account: the
-- whole store may; an area may when the account holds a role and every
-- role it holds lies in the area.
CREATE FUNCTION cqrs_may_act_on(account text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT CASE WHEN m.codes IS NULL THEN true
        ELSE EXISTS (SELECT 1 FROM public.permissions p WHERE p.account_id = $1)
             AND NOT EXISTS (SELECT 1 FROM public.permissions p
                             WHERE p.account_id = $1 AND NOT (p.ods_code = ANY (m.codes)))
    END
    FROM (SELECT public.cqrs_area() AS codes) m
$$;

-- Whether the session may give this role to this account: only to a
-- replacement account, only a role the account it replaces holds, and only
-- when the session may act on that account.
CREATE FUNCTION cqrs_may_grant(account text, ods_code text, role text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce((
        SELECT public.cqrs_may_act_on(a.replaces)
               AND EXISTS (SELECT 1 FROM public.permissions p
                           WHERE p.account_id = a.replaces AND p.ods_code = $2 AND p.role = $3)
        FROM public.accounts a WHERE a.account_id = $1 AND a.replaces IS NOT NULL), false)
$$;

-- Of these accounts, those the session may not act on: each with the
-- organisations of its roles outside the session's area, the national
-- operators, and the area operators whose area holds every role of it.
CREATE FUNCTION cqrs_outside_area(accounts text[])
RETURNS TABLE (account_id text, outside_codes text[], national_logins text[], covering_logins text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH RECURSIVE areas(login, code) AS (
        SELECT o.login, o.ods_code FROM public.operators o WHERE o.ods_code IS NOT NULL
        UNION
        SELECT a.login, g.ods_code FROM public.organisations g JOIN areas a ON g.parent_code = a.code
    ),
    mine AS (SELECT public.cqrs_area() AS codes),
    wanted AS (
        SELECT DISTINCT w.id FROM unnest($1) AS w(id), mine
        WHERE mine.codes IS NOT NULL
          AND EXISTS (SELECT 1 FROM public.accounts x WHERE x.account_id = w.id)
          AND NOT public.cqrs_may_act_on(w.id)
    )
    SELECT w.id,
           coalesce((SELECT array_agg(DISTINCT p.ods_code ORDER BY p.ods_code)
                     FROM public.permissions p, mine
                     WHERE p.account_id = w.id AND NOT (p.ods_code = ANY (mine.codes))), '{}'),
           coalesce((SELECT array_agg(o.login ORDER BY o.login) FROM public.operators o
                     WHERE o.ods_code IS NULL), '{}'),
           coalesce((SELECT array_agg(o.login || ' (' || o.ods_code || ')' ORDER BY o.login)
                     FROM public.operators o
                     WHERE o.ods_code IS NOT NULL
                       AND EXISTS (SELECT 1 FROM public.permissions p WHERE p.account_id = w.id)
                       AND NOT EXISTS (SELECT 1 FROM public.permissions p
                                       WHERE p.account_id = w.id
                                         AND NOT EXISTS (SELECT 1 FROM areas a
                                                         WHERE a.login = o.login
                                                           AND a.code = p.ods_code))), '{}')
    FROM wanted w
    ORDER BY w.id
$$;
REVOKE EXECUTE ON FUNCTION cqrs_outside_area(text[]) FROM PUBLIC;

-- The change log's links for a session that sees only part of it: every
-- entry's seq, its stored links and the hash its content gives (computed by
-- the same cqrs_entry_hash the append trigger uses), and nothing of its
-- content, so that an area operator's cqrs-admin still checks the whole
-- chain before it writes.
CREATE FUNCTION cqrs_change_log_links()
RETURNS TABLE (seq bigint, prev_hash text, hash text, computed text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT c.seq, c.prev_hash, c.hash,
           public.cqrs_entry_hash(c.prev_hash, c.seq, c.at, c.actor, c.action, c.old_account_id,
                                  c.new_account_id, c.email, c.reason, c.actor_claim)
    FROM public.change_log c ORDER BY c.seq
$$;

-- Row-level security: the owner owns the tables and is not subject to it;
-- every operator is. `(SELECT cqrs_area())` is evaluated once a statement.
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_seen ON accounts FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()));
CREATE POLICY accounts_replacement ON accounts FOR INSERT
    WITH CHECK (replaces IS NOT NULL AND public.cqrs_may_act_on(replaces));
CREATE POLICY accounts_changed ON accounts FOR UPDATE
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()))
    WITH CHECK (public.cqrs_may_act_on(account_id));

ALTER TABLE permissions ENABLE ROW LEVEL SECURITY;
CREATE POLICY permissions_seen ON permissions FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()));
CREATE POLICY permissions_copied ON permissions FOR INSERT
    WITH CHECK (public.cqrs_may_grant(account_id, ods_code, role));

ALTER TABLE activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY activity_seen ON activity FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL OR ods_code = ANY ((SELECT public.cqrs_area())::text[]));

ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organisations_seen ON organisations FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR ods_code IN (SELECT public.cqrs_area_organisations()));

ALTER TABLE change_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY change_log_seen ON change_log FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR (old_account_id IS NULL AND new_account_id IS NULL)
           OR old_account_id IN (SELECT public.cqrs_area_accounts())
           OR new_account_id IN (SELECT public.cqrs_area_accounts()));
CREATE POLICY change_log_appended ON change_log FOR INSERT
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL
                OR (old_account_id IS NOT NULL AND public.cqrs_may_act_on(old_account_id)));

-- Settings: the generation is moved by every write; the cutover date and
-- the kept report's generation only by the whole store's operators.
ALTER TABLE settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY settings_seen ON settings FOR SELECT USING (true);
CREATE POLICY settings_added ON settings FOR INSERT
    WITH CHECK (key = 'generation' OR (SELECT public.cqrs_area()) IS NULL);
CREATE POLICY settings_changed ON settings FOR UPDATE
    USING (key = 'generation' OR (SELECT public.cqrs_area()) IS NULL)
    WITH CHECK (key = 'generation' OR (SELECT public.cqrs_area()) IS NULL);

-- The kept report is the whole store's: an area's report is never kept,
-- nor read back.
ALTER TABLE report_cache ENABLE ROW LEVEL SECURITY;
CREATE POLICY report_cache_whole_store ON report_cache
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);
