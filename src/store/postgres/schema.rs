//! The PostgreSQL store's schema, as an append-only list of migrations
//! (`schema_migrations` records each one applied). The same tables and
//! columns as the SQLite store (src/store/schema.rs), less the two look-up
//! tables SQLite needs for speed (`account_emails`, `directory_keys`), whose
//! work an expression index does here; plus `change_log.actor_claim`.
//!
//! The promises are kept by the database itself, so that a psql session as
//! the owner meets the same refusals as cqrs-admin:
//!
//! - an account's email and id never change (a row trigger `BEFORE UPDATE`,
//!   which `INSERT … ON CONFLICT DO UPDATE` fires too);
//! - accounts and activity are never deleted (`DELETE` and `TRUNCATE`
//!   refused by statement triggers, which fire even when no row matches);
//! - activity is never changed;
//! - the change log is append-only, and each entry's seq, time, operator
//!   (`session_user`) and hash chain are written by the database (a
//!   `BEFORE INSERT` trigger), whatever the client sent.
//!
//! A re-import needs no suspended trigger here (SQLite's
//! `SUSPENDED_IN_BULK`): PostgreSQL has no `REPLACE`, so the `BEFORE UPDATE`
//! triggers see every row an upsert changes, and a fresh load fires no row
//! trigger at all. The owner (or anyone) can still drop a trigger, as anyone
//! with the SQLite file can; the hash chain shows what was done past it.
//!
//! Text keys are `COLLATE "C"`: byte order, as SQLite's `BINARY`, so that
//! every listing comes out in the same order on both back ends.

/// The schema version this build knows (the number of migrations).
pub fn current_version() -> i32 {
    MIGRATIONS.len() as i32
}

/// The SQLSTATE of every refusal of a promise (class `CQ`, our own), so
/// the tool can tell a refusal from any other error.
pub const REFUSED_SQLSTATE: &str = "CQ001";

/// The advisory lock (`pg_advisory_xact_lock`) under which migrations run,
/// so two first users do not both create the schema: "CQRS".
pub const MIGRATION_LOCK: i64 = 0x4351_5253;

pub const MIGRATIONS: &[&str] = &[
    // 1: the whole schema, as the SQLite store has it after its migration 7.
    r#"
CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
);

CREATE TABLE settings (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE organisations (
    ods_code      text COLLATE "C" PRIMARY KEY,
    name          text COLLATE "C" NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('practice', 'commissioner', 'region')),
    parent_code   text COLLATE "C",
    contact_email text COLLATE "C"
);

-- Accounts are never deleted and their email never changes (triggers below).
-- The email is kept exactly as CQRS holds it (only trimmed on import).
CREATE TABLE accounts (
    account_id    text COLLATE "C" PRIMARY KEY,
    username      text COLLATE "C" NOT NULL,
    email         text COLLATE "C" NOT NULL,
    given_name    text COLLATE "C" NOT NULL,
    family_name   text COLLATE "C" NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    text COLLATE "C",
    last_login_at text COLLATE "C",
    replaced_by   text COLLATE "C",
    replaces      text COLLATE "C"
);

-- The look-up by address (SQLite's account_emails table): the address in
-- normal form, trimmed and lower-cased.
CREATE INDEX accounts_by_email ON accounts (lower(btrim(email)));
CREATE INDEX accounts_by_address_username ON accounts (lower(username)) WHERE username LIKE '%@%';
CREATE INDEX accounts_by_replaces ON accounts (replaces) WHERE replaces IS NOT NULL;

-- payment_types: the restriction list joined by ';' in file order, '' = unrestricted.
CREATE TABLE permissions (
    account_id    text COLLATE "C" NOT NULL,
    ods_code      text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL,
    payment_types text COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, ods_code, role)
);

-- The NHSmail directory extract, in the order of the file it was imported
-- from (entry: the line, as SQLite's rowid). Addresses are unique ignoring
-- case: the import refuses a file that repeats one. Replaced whole by each
-- directory import.
CREATE TABLE directory (
    entry        bigint PRIMARY KEY,
    address      text COLLATE "C" NOT NULL,
    given_name   text COLLATE "C" NOT NULL,
    family_name  text COLLATE "C" NOT NULL,
    ods_code     text COLLATE "C" NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'disabled')),
    mailbox_type text NOT NULL CHECK (mailbox_type IN ('personal', 'shared'))
);

-- The look-up by address ignoring case (SQLite's directory_keys table).
CREATE INDEX directory_by_address ON directory (lower(address));

CREATE TABLE activity (
    activity_id text COLLATE "C" PRIMARY KEY,
    ods_code    text COLLATE "C" NOT NULL,
    account_id  text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    occurred_at text COLLATE "C" NOT NULL,
    detail      text COLLATE "C"
);

CREATE INDEX activity_by_ods_code ON activity (ods_code);

-- The report's rows as last computed, encoded by src/store/report_cache.rs.
CREATE TABLE report_cache (
    part integer PRIMARY KEY,
    rows bytea NOT NULL
);

-- The change log is append-only. seq, at, actor (the database login:
-- session_user), prev_hash and hash are written by change_log_append,
-- whatever the client sent; actor_claim is who the client says is acting
-- (--actor), recorded beside the login, never instead of it.
CREATE TABLE change_log (
    seq            bigint PRIMARY KEY,
    at             text COLLATE "C" NOT NULL,
    actor          text COLLATE "C" NOT NULL,
    action         text COLLATE "C" NOT NULL,
    old_account_id text COLLATE "C",
    new_account_id text COLLATE "C",
    email          text COLLATE "C",
    reason         text COLLATE "C",
    prev_hash      text COLLATE "C" NOT NULL,
    hash           text COLLATE "C" NOT NULL,
    actor_claim    text COLLATE "C"
);

-- Refuses with the message given as the trigger's argument.
CREATE FUNCTION cqrs_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'CQ001',
        HINT = 'cqrs-admin stores keep history: nothing is edited or deleted (docs/store.md)';
END
$$;

CREATE TRIGGER accounts_email_never_changes
BEFORE UPDATE ON accounts FOR EACH ROW
WHEN (NEW.email IS DISTINCT FROM OLD.email)
EXECUTE FUNCTION cqrs_refuse('an account''s email can never be edited: create a replacement account instead');

CREATE TRIGGER accounts_never_renamed
BEFORE UPDATE ON accounts FOR EACH ROW
WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id)
EXECUTE FUNCTION cqrs_refuse('an account''s id can never be changed');

CREATE TRIGGER accounts_never_deleted
BEFORE DELETE OR TRUNCATE ON accounts FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('accounts are never deleted: disable the account instead');

CREATE TRIGGER activity_never_changed
BEFORE UPDATE ON activity FOR EACH ROW
WHEN (OLD.* IS DISTINCT FROM NEW.*)
EXECUTE FUNCTION cqrs_refuse('activity is history: it is never moved, changed or deleted; this activity_id is already in the store with other details');

CREATE TRIGGER activity_never_deleted
BEFORE DELETE OR TRUNCATE ON activity FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('activity is history: it is never moved, changed or deleted');

CREATE TRIGGER change_log_no_update
BEFORE UPDATE ON change_log FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('the change log is append-only');

CREATE TRIGGER change_log_no_delete
BEFORE DELETE OR TRUNCATE ON change_log FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('the change log is append-only');

-- One field of the canonical encoding (src/store/chain.rs): 0x00 for NULL,
-- else 0x01, the UTF-8 length as 8 bytes big-endian, and the UTF-8 bytes.
-- STABLE, not IMMUTABLE, as convert_to is: the planner inlines an SQL
-- function only if it is declared no stricter than its body, and called
-- (not inlined) these two cost 0.8 ms an entry, 90 times the inlined cost.
CREATE FUNCTION cqrs_chain_field(v text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN $1 IS NULL THEN '\x00'::bytea
                ELSE '\x01'::bytea || int8send(octet_length(convert_to($1, 'UTF8'))::bigint)
                     || convert_to($1, 'UTF8') END
$$;

-- An entry's hash, exactly as src/store/chain.rs's entry_hash computes it:
-- version 1 (nine fields) for an entry without a claim, version 2 (the
-- claim as a tenth field, after reason) for one with a claim, so the claim
-- is covered too and an SQLite chain (no claims) hashes the same.
CREATE FUNCTION cqrs_entry_hash(prev_hash text, seq bigint, at text, actor text, action text,
                                old_account_id text, new_account_id text, email text,
                                reason text, actor_claim text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(
        convert_to(CASE WHEN $10 IS NULL THEN 'cqrs-admin change_log v1'
                        ELSE 'cqrs-admin change_log v2' END, 'UTF8')
        || public.cqrs_chain_field($1) || public.cqrs_chain_field($2::text)
        || public.cqrs_chain_field($3) || public.cqrs_chain_field($4)
        || public.cqrs_chain_field($5) || public.cqrs_chain_field($6)
        || public.cqrs_chain_field($7) || public.cqrs_chain_field($8)
        || public.cqrs_chain_field($9)
        || CASE WHEN $10 IS NULL THEN ''::bytea ELSE public.cqrs_chain_field($10) END
    ), 'hex')
$$;

-- Every append: the next seq after the newest entry, the database's clock,
-- the login as the operator, the claim kept apart, and the chain's hashes.
-- The statement holds the lock on the head (change_log_lock_head, before
-- its first row) so that appends are serialised (under REPEATABLE READ or
-- SERIALIZABLE a concurrent append is a serialization failure, which the
-- tool retries), and moves the head once, after its last row
-- (change_log_move_head): moved per row, the head's row version chain grew
-- with every entry of the transaction, and each look-up walked it (20,000
-- entries in one transaction took 24 s instead of 0.7 s). A row trigger
-- sees the rows its statement inserted before, so each entry continues the
-- one before it. SECURITY DEFINER so that an operator who may only append
-- still moves the head; session_user is the login whatever role the
-- function runs as.
CREATE FUNCTION cqrs_change_log_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    SELECT c.seq, c.hash INTO last_seq, last_hash
        FROM public.change_log c ORDER BY c.seq DESC LIMIT 1;
    -- Copying a whole store (`store copy`): the owner, having set
    -- cqrs_admin.copy_log = 'on' for the transaction, appends entries as
    -- another store wrote them, operator and time included, and each must
    -- continue this chain exactly: its seq the next, its prev_hash the
    -- newest hash, its hash the one its content gives.
    IF current_setting('cqrs_admin.copy_log', true) = 'on'
       AND pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        IF NEW.seq IS DISTINCT FROM coalesce(last_seq, 0) + 1
           OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, repeat('0', 64))
           OR NEW.hash IS DISTINCT FROM public.cqrs_entry_hash(NEW.prev_hash, NEW.seq, NEW.at,
                   NEW.actor, NEW.action, NEW.old_account_id, NEW.new_account_id, NEW.email,
                   NEW.reason, NEW.actor_claim) THEN
            RAISE EXCEPTION USING ERRCODE = 'CQ001',
                MESSAGE = format('the copied change log entry %s does not continue this store''s chain', NEW.seq);
        END IF;
        RETURN NEW;
    END IF;
    -- A client that wrote its claim into actor (as the SQLite store's
    -- writer does) has it kept as the claim.
    IF NEW.actor_claim IS NULL AND NEW.actor IS DISTINCT FROM session_user::text THEN
        NEW.actor_claim := NEW.actor;
    END IF;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.at := to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
    NEW.actor := session_user;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.hash := public.cqrs_entry_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor, NEW.action,
                                       NEW.old_account_id, NEW.new_account_id, NEW.email,
                                       NEW.reason, NEW.actor_claim);
    RETURN NEW;
END
$$;

CREATE TRIGGER change_log_append
BEFORE INSERT ON change_log FOR EACH ROW
EXECUTE FUNCTION cqrs_change_log_append();

-- Before an append's first row: the lock on the head, held to the end of
-- the transaction (see cqrs_change_log_append).
CREATE FUNCTION cqrs_change_log_lock_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.settings (key, value) VALUES ('change_log.head', '')
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM public.settings WHERE key = 'change_log.head' FOR UPDATE;
    RETURN NULL;
END
$$;

CREATE TRIGGER change_log_lock_head
BEFORE INSERT ON change_log FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_change_log_lock_head();

-- After an append's last row: the head is the newest entry.
CREATE FUNCTION cqrs_change_log_move_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    UPDATE public.settings s SET value = c.seq::text || ':' || c.hash
        FROM (SELECT seq, hash FROM public.change_log ORDER BY seq DESC LIMIT 1) c
        WHERE s.key = 'change_log.head';
    RETURN NULL;
END
$$;

CREATE TRIGGER change_log_move_head
AFTER INSERT ON change_log FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_change_log_move_head();
"#,
    // 2: operators and their areas (issue 12, item 4), enforced here with
    // grants and row-level security, so that psql under an operator's login
    // sees and may change exactly what cqrs-admin lets it. The owner (and a
    // superuser) owns every table and so is not subject to these policies.
    r#"
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
"#,
    // 3: notify's record, progress snapshots, notes and follow-up states
    // (issues 14 and 15), as the SQLite store's migrations 9 and 10 keep
    // them, with the same promises kept by the database: the record of
    // messages and the notes are append-only (statement triggers refuse
    // UPDATE, DELETE and TRUNCATE, whoever runs them), and the operator of a
    // message, a note or a follow-up is the login, written by the database
    // (`--actor` beside it), as in the change log. Row-level security: the
    // record of messages and the national snapshot are the whole store's
    // (an area operator's report is not the store's, so it neither sends
    // the round nor records a snapshot); an area operator reads the
    // snapshot's rows of its own area (its contacts, and the counts by the
    // organisations accounts hold roles at), and notes and follows up only
    // the accounts it may act on.
    r#"
CREATE TABLE notifications (
    seq           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    message_key   text COLLATE "C" NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('account', 'digest', 'invalid-addresses')),
    recipient     text COLLATE "C" NOT NULL,
    recipient_key text COLLATE "C" NOT NULL,
    accounts      text COLLATE "C" NOT NULL,
    content_hash  text COLLATE "C" NOT NULL,
    message_id    text COLLATE "C" NOT NULL,
    at            text COLLATE "C" NOT NULL,
    operator      text COLLATE "C" NOT NULL,
    channel       text COLLATE "C" NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('sent', 'refused')),
    relay_answer  text COLLATE "C" NOT NULL
);

CREATE INDEX notifications_by_message ON notifications (message_key, recipient_key, content_hash);

CREATE TRIGGER notifications_no_update
BEFORE UPDATE ON notifications FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('the record of messages sent is append-only');

CREATE TRIGGER notifications_no_delete
BEFORE DELETE OR TRUNCATE ON notifications FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('the record of messages sent is append-only');

-- The operator of a message, a note or a follow-up is the login (and the
-- --actor it claims, when that differs, beside it, as the change log shows
-- it), at the database's clock; a whole-store copy by the owner (as for the
-- change log: cqrs_admin.copy_log = 'on') keeps them as the other store
-- wrote them.
CREATE FUNCTION cqrs_stamp_operator() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    claim text;
BEGIN
    IF current_setting('cqrs_admin.copy_log', true) = 'on'
       AND pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'notifications' THEN
        claim := NEW.operator;
    ELSE
        claim := NEW.actor;
    END IF;
    IF claim IS NULL OR claim = '' OR claim = session_user::text THEN
        claim := session_user::text;
    ELSE
        claim := session_user::text || ' (--actor ' || claim || ')';
    END IF;
    IF TG_TABLE_NAME = 'notifications' THEN
        NEW.operator := claim;
    ELSE
        NEW.actor := claim;
    END IF;
    NEW.at := to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
    RETURN NEW;
END
$$;

CREATE TRIGGER notifications_stamp
BEFORE INSERT ON notifications FOR EACH ROW
EXECUTE FUNCTION cqrs_stamp_operator();

-- One row per day a whole-store audit ran (see the SQLite store's
-- migration 10): its counts, and the accounts needing action as one value.
CREATE TABLE progress_snapshots (
    day                  text COLLATE "C" PRIMARY KEY,
    recorded_at          text COLLATE "C" NOT NULL,
    accounts             bigint NOT NULL,
    needing_action       bigint NOT NULL,
    contact_commissioner bigint NOT NULL,
    no_nhsmail           bigint NOT NULL,
    administrator        bigint NOT NULL,
    ok                   bigint NOT NULL,
    fixed                bigint,
    new                  bigint,
    needing              bytea NOT NULL
);

CREATE TABLE progress_categories (
    day      text COLLATE "C" NOT NULL,
    category text COLLATE "C" NOT NULL,
    accounts bigint NOT NULL,
    PRIMARY KEY (day, category)
);

CREATE TABLE progress_contacts (
    day                  text COLLATE "C" NOT NULL,
    contact_code         text COLLATE "C" NOT NULL,
    contact_name         text COLLATE "C" NOT NULL,
    needing_action       bigint NOT NULL,
    contact_commissioner bigint NOT NULL,
    no_nhsmail           bigint NOT NULL,
    administrator        bigint NOT NULL,
    fixed                bigint,
    new                  bigint,
    PRIMARY KEY (day, contact_code)
);

-- The day's counts by the organisations the accounts hold roles at (one
-- row per distinct set, in byte order), so that an area's own progress is
-- the sum of the rows whose set meets the area: an account is in an area
-- when it holds a role there, as for every other table. fixed and new are
-- counted by the set the account holds roles at when the snapshot is kept.
CREATE TABLE progress_groups (
    day                  text COLLATE "C" NOT NULL,
    organisations        text[] COLLATE "C" NOT NULL,
    accounts             bigint NOT NULL,
    ok                   bigint NOT NULL,
    contact_commissioner bigint NOT NULL,
    no_nhsmail           bigint NOT NULL,
    administrator        bigint NOT NULL,
    fixed                bigint,
    new                  bigint,
    PRIMARY KEY (day, organisations)
);

CREATE INDEX progress_groups_by_organisation ON progress_groups USING gin (organisations);

-- Notes are never edited or deleted.
CREATE TABLE account_notes (
    seq        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    day        text COLLATE "C" NOT NULL,
    at         text COLLATE "C" NOT NULL,
    actor      text COLLATE "C" NOT NULL,
    note       text COLLATE "C" NOT NULL
);

CREATE INDEX account_notes_by_account ON account_notes (account_id, seq);

CREATE TRIGGER account_notes_no_update
BEFORE UPDATE ON account_notes FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('notes are never edited or deleted: add another note instead');

CREATE TRIGGER account_notes_no_delete
BEFORE DELETE OR TRUNCATE ON account_notes FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('notes are never edited or deleted: add another note instead');

CREATE TRIGGER account_notes_stamp
BEFORE INSERT ON account_notes FOR EACH ROW
EXECUTE FUNCTION cqrs_stamp_operator();

-- Where each account's case stands; `clear` removes the row. Every change
-- is in the change log.
CREATE TABLE follow_ups (
    account_id text COLLATE "C" PRIMARY KEY,
    state      text NOT NULL CHECK (state IN ('contacted', 'awaiting-user', 'done-in-cqrs')),
    day        text COLLATE "C" NOT NULL,
    at         text COLLATE "C" NOT NULL,
    actor      text COLLATE "C" NOT NULL
);

CREATE TRIGGER follow_ups_stamp
BEFORE INSERT OR UPDATE ON follow_ups FOR EACH ROW
EXECUTE FUNCTION cqrs_stamp_operator();

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_whole_store ON notifications
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);

ALTER TABLE progress_snapshots ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_snapshots_whole_store ON progress_snapshots
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);

ALTER TABLE progress_categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_categories_whole_store ON progress_categories
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);

ALTER TABLE progress_contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_contacts_seen ON progress_contacts FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR contact_code = ANY ((SELECT public.cqrs_area())::text[]));
CREATE POLICY progress_contacts_added ON progress_contacts FOR INSERT
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);
CREATE POLICY progress_contacts_changed ON progress_contacts FOR UPDATE
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);
CREATE POLICY progress_contacts_removed ON progress_contacts FOR DELETE
    USING ((SELECT public.cqrs_area()) IS NULL);

ALTER TABLE progress_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_groups_seen ON progress_groups FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR organisations && ((SELECT public.cqrs_area())::text[]));
CREATE POLICY progress_groups_added ON progress_groups FOR INSERT
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);
CREATE POLICY progress_groups_changed ON progress_groups FOR UPDATE
    USING ((SELECT public.cqrs_area()) IS NULL)
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL);
CREATE POLICY progress_groups_removed ON progress_groups FOR DELETE
    USING ((SELECT public.cqrs_area()) IS NULL);

ALTER TABLE account_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_notes_seen ON account_notes FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()));
CREATE POLICY account_notes_added ON account_notes FOR INSERT
    WITH CHECK (public.cqrs_may_act_on(account_id));

ALTER TABLE follow_ups ENABLE ROW LEVEL SECURITY;
CREATE POLICY follow_ups_seen ON follow_ups FOR SELECT
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()));
CREATE POLICY follow_ups_added ON follow_ups FOR INSERT
    WITH CHECK (public.cqrs_may_act_on(account_id));
CREATE POLICY follow_ups_changed ON follow_ups FOR UPDATE
    USING (public.cqrs_may_act_on(account_id))
    WITH CHECK (public.cqrs_may_act_on(account_id));
CREATE POLICY follow_ups_removed ON follow_ups FOR DELETE
    USING (public.cqrs_may_act_on(account_id));

-- The operators registered before this migration get this migration's
-- grants (`operators add` gives them to the ones registered after).
DO $grants$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT login FROM public.operators LOOP
        EXECUTE format('GRANT SELECT ON notifications, progress_snapshots, progress_categories, '
                       'progress_contacts, progress_groups, account_notes, follow_ups TO %I', o.login);
        EXECUTE format('GRANT INSERT ON notifications, progress_snapshots, progress_categories, '
                       'progress_contacts, progress_groups, account_notes, follow_ups TO %I', o.login);
        EXECUTE format('GRANT UPDATE, DELETE ON progress_snapshots, progress_categories, '
                       'progress_contacts, progress_groups, follow_ups TO %I', o.login);
    END LOOP;
END
$grants$;
"#,
    // 4: speed for many rows (issue 12's speed bars), with every promise
    // kept as before. The change log's chain: the newest entry is read once
    // a statement (by the statement trigger that takes the head's lock) and
    // carried from row to row in a transaction-local setting, instead of
    // one look-up of the newest entry a row, which cost more than the hash
    // itself, and whose plan turned into a scan of the log a row when the
    // table's statistics said it was empty (10,000 appends: 85 s). A client
    // could change that setting in the middle of its own INSERT; the
    // statement's entries are checked at its end, all at once (they follow
    // the entry before them, each linked to the one before it), so such a
    // change can only make the INSERT fail, never fork or break the chain.
    // The areas: the functions the row-level security policies call for
    // each row are PL/pgSQL, whose plans are kept for the session (an SQL
    // function that is SECURITY DEFINER is never inlined, and its nested
    // calls were planned again for each row: 37 ms a row); the policies
    // that check each row skip the check for the whole store's operators
    // (`(SELECT cqrs_area())`, once a statement). And accounts keep room
    // on their pages for the update that marks them replaced. (An index on
    // the roles' organisation would save an area operator's statements
    // their scan of every role, but cost the import of 2M roles 5 s and
    // every replacement's roles a second index entry: not added.)
    r#"
-- Room on each page for a replaced account's new row version: marking an
-- account replaced (replaced_by, status: no index holds them) then stays
-- on its page (a HOT update), instead of a new version elsewhere and four
-- index entries (10,000 accounts: 0.3 s instead of 0.8 s). Pages written
-- before this migration keep no room until rewritten.
ALTER TABLE accounts SET (fillfactor = 90);

CREATE OR REPLACE FUNCTION cqrs_is_owner() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN coalesce((SELECT pg_has_role(session_user, d.datdba, 'MEMBER')
                     FROM pg_database d WHERE d.datname = current_database()), false);
END
$$;

CREATE OR REPLACE FUNCTION cqrs_area() RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF public.cqrs_is_owner()
       OR EXISTS (SELECT 1 FROM public.operators o
                  WHERE o.login = session_user AND o.ods_code IS NULL) THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((
        WITH RECURSIVE area(code) AS (
            SELECT o.ods_code FROM public.operators o
            WHERE o.login = session_user AND o.ods_code IS NOT NULL
            UNION
            SELECT g.ods_code FROM public.organisations g JOIN area a ON g.parent_code = a.code
        )
        SELECT array_agg(a.code ORDER BY a.code) FROM area a), '{}'::text[]);
END
$$;

-- The same answer as before (every role of the account lies in the area,
-- and it holds one), found by walking up from each role's organisation to
-- the operator's (a few key look-ups a role) instead of computing the
-- whole area for each row checked.
CREATE OR REPLACE FUNCTION cqrs_may_act_on(account text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    mine text;
BEGIN
    IF public.cqrs_is_owner() THEN
        RETURN true;
    END IF;
    SELECT o.ods_code INTO mine FROM public.operators o WHERE o.login = session_user;
    IF NOT FOUND THEN
        -- No operator: an empty area, which holds no account.
        RETURN false;
    END IF;
    IF mine IS NULL THEN
        RETURN true;
    END IF;
    RETURN EXISTS (SELECT 1 FROM public.permissions p WHERE p.account_id = account)
       AND NOT EXISTS (
           SELECT 1 FROM public.permissions p
           WHERE p.account_id = account
             AND NOT EXISTS (
                 WITH RECURSIVE up(code) AS (
                     SELECT p.ods_code
                     UNION
                     SELECT g.parent_code FROM public.organisations g JOIN up u ON g.ods_code = u.code
                     WHERE g.parent_code IS NOT NULL
                 )
                 SELECT 1 FROM up WHERE up.code = mine));
END
$$;

CREATE OR REPLACE FUNCTION cqrs_may_grant(account text, ods_code text, role text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    replaced text;
BEGIN
    SELECT a.replaces INTO replaced FROM public.accounts a
    WHERE a.account_id = account AND a.replaces IS NOT NULL;
    IF replaced IS NULL THEN
        RETURN false;
    END IF;
    RETURN public.cqrs_may_act_on(replaced)
       AND EXISTS (SELECT 1 FROM public.permissions p
                   WHERE p.account_id = replaced AND p.ods_code = cqrs_may_grant.ods_code
                     AND p.role = cqrs_may_grant.role);
END
$$;

ALTER POLICY accounts_replacement ON accounts
    WITH CHECK (replaces IS NOT NULL
                AND ((SELECT public.cqrs_area()) IS NULL OR public.cqrs_may_act_on(replaces)));
ALTER POLICY accounts_changed ON accounts
    USING ((SELECT public.cqrs_area()) IS NULL
           OR account_id IN (SELECT public.cqrs_area_accounts()))
    WITH CHECK ((SELECT public.cqrs_area()) IS NULL OR public.cqrs_may_act_on(account_id));
ALTER POLICY permissions_copied ON permissions
    WITH CHECK (public.cqrs_may_grant(account_id, ods_code, role));

-- Before an append's first row: the lock on the head, held to the end of
-- the transaction, and the newest entry, which the statement's first row
-- continues (cqrs_admin.chain_tail: its seq and hash).
CREATE OR REPLACE FUNCTION cqrs_change_log_lock_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    INSERT INTO public.settings (key, value) VALUES ('change_log.head', '')
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM public.settings WHERE key = 'change_log.head' FOR UPDATE;
    SELECT c.seq, c.hash INTO last_seq, last_hash
        FROM public.change_log c ORDER BY c.seq DESC LIMIT 1;
    PERFORM set_config('cqrs_admin.chain_tail',
                       coalesce(last_seq, 0)::text || ':' || coalesce(last_hash, repeat('0', 64)),
                       true);
    RETURN NULL;
END
$$;

-- Every append: the next seq after the entry before it (the statement's
-- tail), the database's clock, the login as the operator, the claim kept
-- apart, and the chain's hashes; the entry is then the tail.
CREATE OR REPLACE FUNCTION cqrs_change_log_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    tail      text := current_setting('cqrs_admin.chain_tail', true);
    last_seq  bigint;
    last_hash text;
BEGIN
    IF tail IS NULL OR tail = '' THEN
        -- No statement trigger ran (it always does): read the newest entry.
        SELECT c.seq, c.hash INTO last_seq, last_hash
            FROM public.change_log c ORDER BY c.seq DESC LIMIT 1;
        last_seq := coalesce(last_seq, 0);
        last_hash := coalesce(last_hash, repeat('0', 64));
    ELSE
        last_seq := split_part(tail, ':', 1)::bigint;
        last_hash := split_part(tail, ':', 2);
    END IF;
    -- Copying a whole store (`store copy`): the owner, having set
    -- cqrs_admin.copy_log = 'on' for the transaction, appends entries as
    -- another store wrote them, operator and time included, and each must
    -- continue this chain exactly: its seq the next, its prev_hash the
    -- newest hash, its hash the one its content gives.
    IF current_setting('cqrs_admin.copy_log', true) = 'on' THEN
        IF pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
            IF NEW.seq IS DISTINCT FROM last_seq + 1
               OR NEW.prev_hash IS DISTINCT FROM last_hash
               OR NEW.hash IS DISTINCT FROM public.cqrs_entry_hash(NEW.prev_hash, NEW.seq, NEW.at,
                       NEW.actor, NEW.action, NEW.old_account_id, NEW.new_account_id, NEW.email,
                       NEW.reason, NEW.actor_claim) THEN
                RAISE EXCEPTION USING ERRCODE = 'CQ001',
                    MESSAGE = format('the copied change log entry %s does not continue this store''s chain', NEW.seq);
            END IF;
            tail := set_config('cqrs_admin.chain_tail', NEW.seq::text || ':' || NEW.hash, true);
            RETURN NEW;
        END IF;
    END IF;
    -- A client that wrote its claim into actor (as the SQLite store's
    -- writer does) has it kept as the claim.
    IF NEW.actor_claim IS NULL AND NEW.actor IS DISTINCT FROM session_user::text THEN
        NEW.actor_claim := NEW.actor;
    END IF;
    NEW.seq := last_seq + 1;
    NEW.at := to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
    NEW.actor := session_user;
    NEW.prev_hash := last_hash;
    NEW.hash := public.cqrs_entry_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor, NEW.action,
                                       NEW.old_account_id, NEW.new_account_id, NEW.email,
                                       NEW.reason, NEW.actor_claim);
    tail := set_config('cqrs_admin.chain_tail', NEW.seq::text || ':' || NEW.hash, true);
    RETURN NEW;
END
$$;

-- After an append's last row: its entries, checked all at once, follow the
-- newest entry before them, each linked to the one before it (the tail a
-- row trigger continued could have been changed by the client); the head
-- is then the newest entry.
CREATE OR REPLACE FUNCTION cqrs_change_log_move_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    first_seq  bigint;
    last_seq   bigint;
    entries    bigint;
    first_prev text;
    newest_before text;
    unlinked   bigint;
BEGIN
    SELECT min(a.seq), max(a.seq), count(*) INTO first_seq, last_seq, entries FROM appended a;
    IF entries = 0 THEN
        RETURN NULL;
    END IF;
    SELECT a.prev_hash INTO first_prev FROM appended a WHERE a.seq = first_seq;
    IF first_seq = 1 THEN
        newest_before := repeat('0', 64);
    ELSE
        SELECT c.hash INTO newest_before FROM public.change_log c WHERE c.seq = first_seq - 1;
    END IF;
    SELECT count(*) INTO unlinked FROM (
        SELECT l.seq, l.prev_hash, lag(l.hash) OVER (ORDER BY l.seq) AS earlier FROM appended l
    ) x WHERE x.seq > first_seq AND x.prev_hash IS DISTINCT FROM x.earlier;
    IF last_seq - first_seq + 1 <> entries OR newest_before IS NULL
       OR first_prev IS DISTINCT FROM newest_before OR unlinked > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CQ001',
            MESSAGE = 'these change log entries do not continue the chain: nothing was appended';
    END IF;
    UPDATE public.settings s SET value = a.seq::text || ':' || a.hash
        FROM appended a
        WHERE s.key = 'change_log.head' AND a.seq = last_seq;
    RETURN NULL;
END
$$;

DROP TRIGGER change_log_move_head ON change_log;
CREATE TRIGGER change_log_move_head
AFTER INSERT ON change_log REFERENCING NEW TABLE AS appended FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_change_log_move_head();
"#,
    // 5: the kept report and the progress snapshot's accounts compressed
    // with lz4 instead of pglz (issue 12's read bars): the audit that keeps
    // them compressed 14 MB with pglz in 1.1 s (lz4: 0.2 s), and `report`
    // and `signin` read them back in a fifth of the time. A server built
    // without lz4 keeps them uncompressed (0.3 s to write, no slower to
    // read). Values kept before stay as they are until written again.
    r#"
DO $compression$
BEGIN
    ALTER TABLE report_cache ALTER COLUMN rows SET COMPRESSION lz4;
    ALTER TABLE progress_snapshots ALTER COLUMN needing SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE report_cache ALTER COLUMN rows SET STORAGE EXTERNAL;
    ALTER TABLE progress_snapshots ALTER COLUMN needing SET STORAGE EXTERNAL;
END
$compression$;
"#,
];

/// What `operators add` grants a login (and `operators remove` takes
/// back): reading every table the commands read; adding replacement
/// accounts, their roles and change-log entries; changing only an
/// account's status and replacement link; keeping the whole store's report.
/// Row-level security (migration 2) narrows every one of these to the
/// operator's area.
pub const OPERATOR_GRANTS: &[&str] = &[
    "GRANT SELECT ON schema_migrations, settings, organisations, accounts, permissions, \
     directory, activity, report_cache, change_log TO {login}",
    "GRANT INSERT ON accounts, permissions, change_log, settings, report_cache TO {login}",
    "GRANT UPDATE (status, replaced_by) ON accounts TO {login}",
    "GRANT UPDATE ON settings TO {login}",
    "GRANT DELETE ON report_cache TO {login}",
    "GRANT EXECUTE ON FUNCTION cqrs_outside_area(text[]) TO {login}",
    // Migration 3: notify's record, progress, notes and follow-ups.
    "GRANT SELECT, INSERT ON notifications, progress_snapshots, progress_categories, \
     progress_contacts, progress_groups, account_notes, follow_ups TO {login}",
    "GRANT UPDATE, DELETE ON progress_snapshots, progress_categories, progress_contacts, \
     progress_groups, follow_ups TO {login}",
];

/// What `operators remove` takes back.
pub const OPERATOR_REVOKES: &[&str] = &[
    "REVOKE ALL ON schema_migrations, settings, organisations, accounts, permissions, \
     directory, activity, report_cache, change_log FROM {login}",
    "REVOKE EXECUTE ON FUNCTION cqrs_outside_area(text[]) FROM {login}",
    "REVOKE ALL ON notifications, progress_snapshots, progress_categories, progress_contacts, \
     progress_groups, account_notes, follow_ups FROM {login}",
];

/// The protective triggers (table, trigger) the migrations create, which
/// every check of the store looks for, enabled.
pub const PROTECTIVE_TRIGGERS: &[(&str, &str)] = &[
    ("accounts", "accounts_email_never_changes"),
    ("accounts", "accounts_never_renamed"),
    ("accounts", "accounts_never_deleted"),
    ("activity", "activity_never_changed"),
    ("activity", "activity_never_deleted"),
    ("change_log", "change_log_no_update"),
    ("change_log", "change_log_no_delete"),
    ("change_log", "change_log_append"),
    ("change_log", "change_log_lock_head"),
    ("change_log", "change_log_move_head"),
    ("notifications", "notifications_no_update"),
    ("notifications", "notifications_no_delete"),
    ("notifications", "notifications_stamp"),
    ("account_notes", "account_notes_no_update"),
    ("account_notes", "account_notes_no_delete"),
    ("account_notes", "account_notes_stamp"),
    ("follow_ups", "follow_ups_stamp"),
];

/// The functions the migrations create (name, body between the `$$`), as
/// PostgreSQL keeps them (`pg_proc.prosrc` is the body exactly as written),
/// so a function replaced by one that lets everything through is seen.
pub fn functions() -> Vec<(&'static str, &'static str)> {
    // A later migration's `CREATE OR REPLACE FUNCTION` gives a function its
    // newest body, which is the one the store must hold.
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for sql in MIGRATIONS {
        let mut rest = *sql;
        loop {
            let plain = rest.find("CREATE FUNCTION ");
            let replaced = rest.find("CREATE OR REPLACE FUNCTION ");
            let (at, len) = match (plain, replaced) {
                (Some(p), Some(r)) if r < p => (r, "CREATE OR REPLACE FUNCTION ".len()),
                (Some(p), _) => (p, "CREATE FUNCTION ".len()),
                (None, Some(r)) => (r, "CREATE OR REPLACE FUNCTION ".len()),
                (None, None) => break,
            };
            rest = &rest[at + len..];
            let name = &rest[..rest.find('(').unwrap_or(0)];
            let Some(start) = rest.find("$$") else { break };
            let body_and_rest = &rest[start + 2..];
            let Some(end) = body_and_rest.find("$$") else {
                break;
            };
            let body = &body_and_rest[..end];
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(known) => known.1 = body,
                None => out.push((name, body)),
            }
            rest = &body_and_rest[end + 2..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_and_trigger_is_listed() {
        let names: Vec<&str> = functions().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "cqrs_refuse",
                "cqrs_chain_field",
                "cqrs_entry_hash",
                "cqrs_change_log_append",
                "cqrs_change_log_lock_head",
                "cqrs_change_log_move_head",
                "cqrs_is_owner",
                "cqrs_area",
                "cqrs_area_accounts",
                "cqrs_area_organisations",
                "cqrs_may_act_on",
                "cqrs_may_grant",
                "cqrs_outside_area",
                "cqrs_change_log_links",
                "cqrs_stamp_operator"
            ]
        );
        assert!(functions()[0].1.contains("RAISE EXCEPTION"));
        // Migration 4's bodies replace the earlier ones.
        let body = |name: &str| functions().into_iter().find(|(n, _)| *n == name).unwrap().1;
        assert!(body("cqrs_change_log_append").contains("chain_tail"));
        assert!(body("cqrs_may_act_on").contains("WITH RECURSIVE up(code)"));
        for (table, trigger) in PROTECTIVE_TRIGGERS {
            assert!(
                MIGRATIONS.iter().any(|m| (m
                    .contains(&format!("CREATE TRIGGER {trigger}\nBEFORE"))
                    || m.contains(&format!("CREATE TRIGGER {trigger}\nAFTER")))
                    && m.contains(&format!(" ON {table} "))),
                "{trigger}"
            );
        }
    }
}
