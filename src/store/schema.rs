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
-- email_key is the address's normal form (trimmed, lower-cased), kept so that
-- look-ups by address need no function call per row.
CREATE TABLE accounts (
    account_id    TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    given_name    TEXT NOT NULL,
    family_name   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    TEXT,
    last_login_at TEXT,
    replaced_by   TEXT,
    replaces      TEXT
) STRICT, WITHOUT ROWID;

CREATE TRIGGER accounts_email_never_changes
BEFORE UPDATE OF email, email_key ON accounts
WHEN NEW.email IS NOT OLD.email OR NEW.email_key IS NOT OLD.email_key
BEGIN
    SELECT RAISE(ABORT, 'an account''s email can never be edited: create a replacement account instead');
END;

CREATE TRIGGER accounts_never_deleted
BEFORE DELETE ON accounts
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

-- address_key is the normal form of address (unique: the directory is unique
-- case-insensitively). The whole table is replaced by each directory import.
CREATE TABLE directory (
    address      TEXT NOT NULL,
    address_key  TEXT NOT NULL,
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    ods_code     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    mailbox_type TEXT NOT NULL CHECK (mailbox_type IN ('personal', 'shared'))
) STRICT;

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
];

/// A secondary index, kept apart from the tables so that a bulk import into an
/// empty table can drop it, load, and build it once at the end (much faster
/// than updating it row by row).
pub struct Index {
    pub table: &'static str,
    pub name: &'static str,
    pub unique: bool,
    /// The table and columns: what follows `ON`.
    pub on: &'static str,
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
    Index {
        table: "accounts",
        name: "accounts_by_email_key",
        unique: false,
        // status and replaced_by make it a covering index for finding
        // duplicate addresses among live accounts.
        on: "accounts (email_key, status, replaced_by)",
    },
    Index {
        table: "accounts",
        name: "accounts_by_username",
        unique: true,
        on: "accounts (username COLLATE NOCASE)",
    },
    Index {
        table: "directory",
        name: "directory_by_address_key",
        unique: true,
        on: "directory (address_key)",
    },
    Index {
        table: "activity",
        name: "activity_by_ods_code",
        unique: false,
        on: "activity (ods_code)",
    },
    Index {
        table: "accounts",
        name: "accounts_by_replaces",
        unique: false,
        on: "accounts (replaces) WHERE replaces IS NOT NULL",
    },
];
