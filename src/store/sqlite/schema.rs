//! The store's schema, as an append-only list of migrations applied by
//! `PRAGMA user_version` (docs/store.md describes every table).
//!
//! Never edit a migration that has shipped: add a new one. The index in this
//! list plus one is the `user_version` a store has after applying it.

pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE organisations (
    ods_code      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('practice', 'commissioner', 'region')),
    parent_code   TEXT,
    contact_email TEXT
) STRICT;

-- Accounts are never deleted and their email never changes (triggers below).
-- The email is kept exactly as CQRS holds it (only trimmed on import).
CREATE TABLE accounts (
    account_id    TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    TEXT,
    last_login_at TEXT,
    replaced_by   TEXT,
    replaces      TEXT
) STRICT, WITHOUT ROWID;

CREATE TRIGGER accounts_email_never_changes
BEFORE UPDATE OF email ON accounts
WHEN NEW.email IS NOT OLD.email
BEGIN
    SELECT RAISE(ABORT, 'an account''s email can never be edited: create a replacement account instead');
END;

CREATE TRIGGER accounts_never_deleted
BEFORE DELETE ON accounts
BEGIN
    SELECT RAISE(ABORT, 'accounts are never deleted: disable the account instead');
END;

-- Every account's address in normal form (trimmed, lower-cased), for look-ups
-- by address. It is an index kept by the store as a table so that a bulk
-- import can write it in key order (far cheaper than CREATE INDEX). Rows are
-- added with their account and, like accounts, never changed or removed.
CREATE TABLE account_emails (
    email_key  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (email_key, account_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER account_emails_never_change
BEFORE UPDATE ON account_emails
BEGIN
    SELECT RAISE(ABORT, 'an account''s email can never be edited: create a replacement account instead');
END;

CREATE TRIGGER account_emails_never_deleted
BEFORE DELETE ON account_emails
BEGIN
    SELECT RAISE(ABORT, 'accounts are never deleted: disable the account instead');
END;

-- payment_types: the restriction list joined by ';' in file order, '' = unrestricted.
CREATE TABLE permissions (
    account_id    TEXT NOT NULL,
    ods_code      TEXT NOT NULL,
    role          TEXT NOT NULL,
    payment_types TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, ods_code, role)
) STRICT, WITHOUT ROWID;

-- The NHSmail directory extract, keyed by address ignoring case (addresses
-- are unique case-insensitively; the import refuses non-ASCII addresses, so
-- NOCASE's ASCII folding is exact). Replaced whole by each directory import.
CREATE TABLE directory (
    address      TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    ods_code     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    mailbox_type TEXT NOT NULL CHECK (mailbox_type IN ('personal', 'shared'))
) STRICT, WITHOUT ROWID;

CREATE TABLE activity (
    activity_id TEXT PRIMARY KEY,
    ods_code    TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    detail      TEXT
) STRICT, WITHOUT ROWID;

-- The change log is append-only: no row is ever changed or removed.
CREATE TABLE change_log (
    seq            INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    old_account_id TEXT,
    new_account_id TEXT,
    email          TEXT,
    reason         TEXT
) STRICT;

CREATE TRIGGER change_log_no_update
BEFORE UPDATE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'the change log is append-only');
END;

CREATE TRIGGER change_log_no_delete
BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'the change log is append-only');
END;
"#,
    // 2: a cache of the report, so a report on an unchanged store is instant.
    r#"
-- The report's rows as last computed, so a report on an unchanged store is
-- instant. Valid while settings 'report_cache.generation' equals
-- 'generation', which every write through cqrs-admin increases.
-- Rows are keyed in the report's own order: section_rank is the section's
-- place in rules.md's table, and BINARY order puts the ODS codes (upper case
-- and digits) before `cqrs-administrator`.
CREATE TABLE report_cache (
    section_rank INTEGER NOT NULL,
    section      TEXT NOT NULL,
    contact_code TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    email        TEXT NOT NULL,
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    category     TEXT NOT NULL,
    match        TEXT NOT NULL,
    PRIMARY KEY (section_rank, contact_code, account_id)
) STRICT, WITHOUT ROWID;
"#,
    // 3: the kept report as one value. Writing 200,000 rows cost a national
    // audit about 0.25 s; one blob of the same rows costs a few milliseconds,
    // and the report only ever reads them all, in order.
    r#"
DROP TABLE report_cache;

-- The report's rows as last computed, in the report's order (part by part),
-- encoded by src/store/report_cache.rs. Valid while settings 'report_cache.generation'
-- equals 'generation', which every write through cqrs-admin increases.
CREATE TABLE report_cache (
    part INTEGER PRIMARY KEY,
    rows BLOB NOT NULL
) STRICT;
"#,
    // 4: the directory in the extract's order, found through a table of
    // numbers. Kept in address order, a 1.4-million-entry extract (which
    // arrives in no order) had to be sorted and inserted address by address:
    // about 3 s of a national import. Appended as read, with a look-up
    // table of integers written in order at the end, it costs far less
    // (docs/store.md).
    r#"
-- The NHSmail directory extract, in the order of the file it was imported
-- from (rowid: the entry's line in that file). Addresses are unique ignoring
-- case: the import refuses a file that repeats one, and refuses non-ASCII
-- addresses, so NOCASE's ASCII folding is exact. Replaced whole by each
-- directory import.
CREATE TABLE directory_v4 (
    address      TEXT NOT NULL COLLATE NOCASE,
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    ods_code     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    mailbox_type TEXT NOT NULL CHECK (mailbox_type IN ('personal', 'shared'))
) STRICT;

INSERT INTO directory_v4 (address, given_name, family_name, ods_code, status, mailbox_type)
SELECT address, given_name, family_name, ods_code, status, mailbox_type
FROM directory;

DROP TABLE directory;
ALTER TABLE directory_v4 RENAME TO directory;

-- The look-up by address: every entry's cqrs_address_key(address)
-- (src/store/address_key.rs; equal for addresses equal ignoring ASCII case)
-- and its rowid. A look-up reads the few entries with the address's key and
-- compares the address itself. Written with the directory, in key order.
CREATE TABLE directory_keys (
    address_key INTEGER NOT NULL,
    entry       INTEGER NOT NULL,
    PRIMARY KEY (address_key, entry)
) STRICT, WITHOUT ROWID;

INSERT INTO directory_keys (address_key, entry)
SELECT cqrs_address_key(address), rowid FROM directory ORDER BY 1, 2;
"#,
    // 5: account_emails keyed by a number. The look-up by address was a
    // table of address texts: sorting and writing a million of them cost a
    // national accounts import about 0.45 s, numbers about a third of that.
    r#"
-- The look-up by address: every account's cqrs_address_key of its address
-- in normal form (src/store/address_key.rs) and its id. A look-up reads the
-- accounts with the address's key and compares cqrs_normal_form(email), so
-- two addresses that share a key are never confused. Rows are added with
-- their account and, like accounts, never changed or removed.
CREATE TABLE account_emails_v5 (
    email_key  INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (email_key, account_id)
) STRICT, WITHOUT ROWID;

INSERT INTO account_emails_v5 (email_key, account_id)
SELECT cqrs_address_key(email_key), account_id FROM account_emails ORDER BY 1, 2;

DROP TABLE account_emails;
ALTER TABLE account_emails_v5 RENAME TO account_emails;

CREATE TRIGGER account_emails_never_change
BEFORE UPDATE ON account_emails
BEGIN
    SELECT RAISE(ABORT, 'an account''s email can never be edited: create a replacement account instead');
END;

CREATE TRIGGER account_emails_never_deleted
BEFORE DELETE ON account_emails
BEGIN
    SELECT RAISE(ABORT, 'accounts are never deleted: disable the account instead');
END;
"#,
    // 6: the change log becomes a hash chain (src/store/chain.rs). The
    // columns are added here; `SqliteStore::migrate` then chains the entries an
    // older store already holds, in seq order, before migration 7 puts the
    // append-only trigger back. NULL only between those two steps.
    r#"
DROP TRIGGER change_log_no_update;
ALTER TABLE change_log ADD COLUMN prev_hash TEXT;
ALTER TABLE change_log ADD COLUMN hash TEXT;
"#,
    // 7: triggers that refuse what the first ones let through, whoever runs
    // the SQL (the sqlite3 shell included, where recursive_triggers is off):
    // SQLite's REPLACE deletes the row it replaces without firing DELETE
    // triggers, so a REPLACE is caught by a BEFORE INSERT trigger that looks
    // for the row it would replace; renaming an account, removing or
    // rewriting activity, rewriting the log. The texts are also in
    // `PROTECTIVE_TRIGGERS`, which the store checks on every open.
    r#"
CREATE TRIGGER change_log_no_update
BEFORE UPDATE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'the change log is append-only');
END;

CREATE TRIGGER change_log_no_replace
BEFORE INSERT ON change_log
WHEN EXISTS (SELECT 1 FROM change_log WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'the change log is append-only');
END;

CREATE TRIGGER accounts_email_never_replaced
BEFORE INSERT ON accounts
WHEN EXISTS (SELECT 1 FROM accounts WHERE account_id = NEW.account_id AND email IS NOT NEW.email)
BEGIN
    SELECT RAISE(ABORT, 'an account''s email can never be edited: create a replacement account instead');
END;

CREATE TRIGGER accounts_never_renamed
BEFORE UPDATE OF account_id ON accounts
WHEN NEW.account_id IS NOT OLD.account_id
BEGIN
    SELECT RAISE(ABORT, 'an account''s id can never be changed');
END;

CREATE TRIGGER activity_never_deleted
BEFORE DELETE ON activity
BEGIN
    SELECT RAISE(ABORT, 'activity is history: it is never moved, changed or deleted');
END;

CREATE TRIGGER activity_never_replaced
BEFORE INSERT ON activity
WHEN EXISTS (SELECT 1 FROM activity WHERE activity_id = NEW.activity_id
             AND (ods_code, account_id, kind, occurred_at, detail)
                 IS NOT (NEW.ods_code, NEW.account_id, NEW.kind, NEW.occurred_at, NEW.detail))
BEGIN
    SELECT RAISE(ABORT, 'activity is history: it is never moved, changed or deleted; this activity_id is already in the store with other details');
END;

CREATE TRIGGER activity_never_changed
BEFORE UPDATE ON activity
WHEN (NEW.activity_id, NEW.ods_code, NEW.account_id, NEW.kind, NEW.occurred_at, NEW.detail)
     IS NOT (OLD.activity_id, OLD.ods_code, OLD.account_id, OLD.kind, OLD.occurred_at, OLD.detail)
BEGIN
    SELECT RAISE(ABORT, 'activity is history: it is never moved, changed or deleted; this activity_id is already in the store with other details');
END;
"#,
    // 8: the operator's claim beside the recorded operator (a database
    // server's login), so that a change log copied from a PostgreSQL store
    // keeps every field its hashes cover (src/store/chain.rs, version 2).
    // Entries written here have none.
    r#"
ALTER TABLE change_log ADD COLUMN actor_claim TEXT;
"#,
    // 9: notify: every message sent (or refused), so that a run can be repeated
    // and resumed without anyone getting the same message twice.
    r#"
CREATE TABLE notifications (
    seq          INTEGER PRIMARY KEY,
    message_key  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('account', 'digest', 'invalid-addresses')),
    recipient    TEXT NOT NULL,
    recipient_key TEXT NOT NULL,
    accounts     TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    at           TEXT NOT NULL,
    operator     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('sent', 'refused')),
    relay_answer TEXT NOT NULL
) STRICT;

CREATE INDEX notifications_by_message ON notifications (message_key, recipient_key, content_hash);

CREATE TRIGGER notifications_no_update
BEFORE UPDATE ON notifications
BEGIN
    SELECT RAISE(ABORT, 'the record of messages sent is append-only');
END;

CREATE TRIGGER notifications_no_delete
BEFORE DELETE ON notifications
BEGIN
    SELECT RAISE(ABORT, 'the record of messages sent is append-only');
END;
"#,
    // 10: progress toward cutover (src/store/progress.rs): a snapshot per
    // day of the whole-store audit's counts and the accounts needing action,
    // the same by contact, and notes and follow-up states on accounts.
    r#"
-- One row per day a whole-store audit ran: its counts, and the accounts
-- needing action as one value (src/store/progress.rs), so that the next
-- snapshot can say which were fixed and which are new. A second audit on the
-- same day replaces the day's rows. fixed and new are NULL for the first
-- snapshot (nothing to compare with).
CREATE TABLE progress_snapshots (
    day                  TEXT PRIMARY KEY,
    recorded_at          TEXT NOT NULL,
    accounts             INTEGER NOT NULL,
    needing_action       INTEGER NOT NULL,
    contact_commissioner INTEGER NOT NULL,
    no_nhsmail           INTEGER NOT NULL,
    administrator        INTEGER NOT NULL,
    ok                   INTEGER NOT NULL,
    fixed                INTEGER,
    new                  INTEGER,
    needing              BLOB NOT NULL
) STRICT;

CREATE TABLE progress_categories (
    day      TEXT NOT NULL,
    category TEXT NOT NULL,
    accounts INTEGER NOT NULL,
    PRIMARY KEY (day, category)
) STRICT, WITHOUT ROWID;

-- Each contact with accounts needing action on the day, or with accounts
-- fixed since the snapshot before.
CREATE TABLE progress_contacts (
    day                  TEXT NOT NULL,
    contact_code         TEXT NOT NULL,
    contact_name         TEXT NOT NULL,
    needing_action       INTEGER NOT NULL,
    contact_commissioner INTEGER NOT NULL,
    no_nhsmail           INTEGER NOT NULL,
    administrator        INTEGER NOT NULL,
    fixed                INTEGER,
    new                  INTEGER,
    PRIMARY KEY (day, contact_code)
) STRICT, WITHOUT ROWID;

-- Notes are never edited or deleted (triggers below, checked on every open).
CREATE TABLE account_notes (
    seq        INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    day        TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT NOT NULL
) STRICT;

CREATE INDEX account_notes_by_account ON account_notes (account_id, seq);

CREATE TRIGGER account_notes_no_update
BEFORE UPDATE ON account_notes
BEGIN
    SELECT RAISE(ABORT, 'notes are never edited or deleted: add another note instead');
END;

CREATE TRIGGER account_notes_no_delete
BEFORE DELETE ON account_notes
BEGIN
    SELECT RAISE(ABORT, 'notes are never edited or deleted: add another note instead');
END;

CREATE TRIGGER account_notes_no_replace
BEFORE INSERT ON account_notes
WHEN EXISTS (SELECT 1 FROM account_notes WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'notes are never edited or deleted: add another note instead');
END;

-- Where each account's case stands; `clear` removes the row. Every change
-- is in the change log.
CREATE TABLE follow_ups (
    account_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('contacted', 'awaiting-user', 'done-in-cqrs')),
    day        TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL
) STRICT, WITHOUT ROWID;
"#,
    // 11: a PostgreSQL store's counts by organisations (its progress_groups,
    // see src/store/progress.rs's `Groups`), so that `store copy` carries
    // them there and back: the organisations as the group's key (its ODS
    // codes in byte order, joined by U+001F). This store's own audits keep
    // no groups; a day one of them records again loses the copied groups.
    r#"
CREATE TABLE progress_groups (
    day                  TEXT NOT NULL,
    organisations        TEXT NOT NULL,
    accounts             INTEGER NOT NULL,
    ok                   INTEGER NOT NULL,
    contact_commissioner INTEGER NOT NULL,
    no_nhsmail           INTEGER NOT NULL,
    administrator        INTEGER NOT NULL,
    fixed                INTEGER,
    new                  INTEGER,
    PRIMARY KEY (day, organisations)
) STRICT, WITHOUT ROWID;
"#,
    // 12: the directory entry's number (its line in the file it came from)
    // as a column of its own. It was the table's implicit rowid, which
    // VACUUM may renumber: after `sqlite3 STORE 'VACUUM'` (a natural thing
    // to run once re-imported directories have left free pages behind) the
    // look-up table below pointed at the wrong entries, so `signin` and
    // `replace` said an address was not in the directory when it was. An
    // INTEGER PRIMARY KEY is the rowid under a name, and VACUUM keeps it.
    // The look-up table is built again from the entries, which mends a store
    // vacuumed before this version.
    r#"
CREATE TABLE directory_v12 (
    entry        INTEGER PRIMARY KEY,
    address      TEXT NOT NULL COLLATE NOCASE,
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    ods_code     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    mailbox_type TEXT NOT NULL CHECK (mailbox_type IN ('personal', 'shared'))
) STRICT;

INSERT INTO directory_v12 (entry, address, given_name, family_name, ods_code, status, mailbox_type)
SELECT rowid, address, given_name, family_name, ods_code, status, mailbox_type
FROM directory ORDER BY rowid;

DROP TABLE directory;
ALTER TABLE directory_v12 RENAME TO directory;

DELETE FROM directory_keys;
INSERT INTO directory_keys (address_key, entry)
SELECT cqrs_address_key(address), entry FROM directory ORDER BY 1, 2;
"#,
];

/// The triggers (table, name) an import drops for its transaction and
/// puts back before it commits (src/store/import.rs says why).
pub const SUSPENDED_IN_BULK: &[(&str, &str)] = &[
    ("accounts", "accounts_email_never_replaced"),
    ("activity", "activity_never_replaced"),
];

/// The migration after which the change log's existing entries are chained
/// (its number, as in `user_version`).
pub const CHAIN_MIGRATION: usize = 6;

/// A secondary index, kept apart from the tables so that a bulk import into an
/// empty table can drop it, load, and build it once at the end (much faster
/// than updating it row by row).
pub struct Index {
    pub table: &'static str,
    pub name: &'static str,
    pub unique: bool,
    /// The table and columns: what follows `ON`.
    pub on: &'static str,
    /// Kept while a bulk import loads its table. For a partial index of a
    /// few rows, checking each new row against its `WHERE` costs less than
    /// building it at the end, which reads the whole table.
    pub kept_in_bulk: bool,
}

impl Index {
    pub fn create_sql(&self) -> String {
        let unique = if self.unique { "UNIQUE " } else { "" };
        format!(
            "CREATE {unique}INDEX IF NOT EXISTS {} ON {}",
            self.name, self.on
        )
    }
}

pub const INDEXES: &[Index] = &[
    // A replacement's username is its NHSmail address, so only usernames that
    // look like addresses can collide with one: index just those.
    Index {
        table: "accounts",
        name: "accounts_by_address_username",
        unique: false,
        on: "accounts (lower(username)) WHERE username LIKE '%@%'",
        kept_in_bulk: true,
    },
    Index {
        table: "accounts",
        name: "accounts_by_replaces",
        unique: false,
        on: "accounts (replaces) WHERE replaces IS NOT NULL",
        kept_in_bulk: true,
    },
    Index {
        table: "activity",
        name: "activity_by_ods_code",
        unique: false,
        on: "activity (ods_code)",
        kept_in_bulk: false,
    },
];
