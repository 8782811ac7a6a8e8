
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
