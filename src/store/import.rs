//! Writing an imported file: one transaction per file, committed only when the
//! whole file was valid.

use anyhow::Result;
use rusqlite::{Connection, Statement, params};

use super::{Store, schema, store_error};
use crate::cli::FileKind;
use crate::model::{ActivityKind, MailboxType, OrgKind, Role, Status};
use crate::rules::normal_form;

/// What an import did, for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// For the directory, which is replaced whole: the entries it replaced.
    pub replaced: Option<u64>,
}

/// One checked row of organisations.csv, borrowed from the file's buffer.
pub struct OrganisationRow<'a> {
    pub ods_code: String,
    pub name: &'a str,
    pub kind: OrgKind,
    pub parent_code: Option<String>,
    pub contact_email: Option<&'a str>,
}

pub struct AccountRow<'a> {
    pub account_id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub status: Status,
    pub created_at: Option<&'a str>,
    pub last_login_at: Option<&'a str>,
}

pub struct PermissionRow<'a> {
    pub account_id: &'a str,
    pub ods_code: String,
    pub role: Role,
    /// The restriction list joined by `;`; empty means unrestricted.
    pub payment_types: String,
}

pub struct DirectoryRow<'a> {
    pub address: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub ods_code: String,
    pub status: Status,
    pub mailbox_type: MailboxType,
}

pub struct ActivityRow<'a> {
    pub activity_id: &'a str,
    pub ods_code: String,
    pub account_id: &'a str,
    pub kind: ActivityKind,
    pub occurred_at: &'a str,
    pub detail: Option<&'a str>,
}

/// An import in progress. Rows are written as they are checked; `finish`
/// commits, and dropping it without `finish` rolls everything back, so a file
/// with any problem (or a killed process) leaves the store as it was.
pub struct Importer<'a> {
    conn: &'a Connection,
    kind: FileKind,
    insert: Statement<'a>,
    rows_before: u64,
    changed: u64,
    seen: u64,
    /// The table was empty: rows are plain inserts and its indexes are built
    /// once at the end.
    fresh: bool,
    replaced: Option<u64>,
    done: bool,
}

fn table(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Organisations => "organisations",
        FileKind::Accounts => "accounts",
        FileKind::Permissions => "permissions",
        FileKind::Directory => "directory",
        FileKind::Activity => "activity",
    }
}

/// The statement for one row. A re-import updates rows by their key and leaves
/// identical rows alone (the `WHERE` makes `changes()` count only real updates).
/// An account's email is not in its update list: the import refuses a changed
/// email before it gets here, and the store's trigger would refuse it anyway.
fn upsert_sql(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Organisations => {
            "INSERT INTO organisations (ods_code, name, kind, parent_code, contact_email)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (ods_code) DO UPDATE SET
                name = excluded.name, kind = excluded.kind,
                parent_code = excluded.parent_code, contact_email = excluded.contact_email
             WHERE (name, kind, parent_code, contact_email)
                IS NOT (excluded.name, excluded.kind, excluded.parent_code, excluded.contact_email)"
        }
        FileKind::Accounts => {
            "INSERT INTO accounts (account_id, username, email, email_key, given_name, family_name,
                                   status, created_at, last_login_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (account_id) DO UPDATE SET
                username = excluded.username, given_name = excluded.given_name,
                family_name = excluded.family_name, status = excluded.status,
                created_at = excluded.created_at, last_login_at = excluded.last_login_at
             WHERE (username, given_name, family_name, status, created_at, last_login_at)
                IS NOT (excluded.username, excluded.given_name, excluded.family_name,
                        excluded.status, excluded.created_at, excluded.last_login_at)"
        }
        FileKind::Permissions => {
            "INSERT INTO permissions (account_id, ods_code, role, payment_types)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, ods_code, role) DO UPDATE SET
                payment_types = excluded.payment_types
             WHERE payment_types IS NOT excluded.payment_types"
        }
        // The directory is replaced whole, so its rows are always inserts.
        FileKind::Directory => {
            "INSERT INTO directory (address, address_key, given_name, family_name, ods_code,
                                    status, mailbox_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        }
        FileKind::Activity => {
            "INSERT INTO activity (activity_id, ods_code, account_id, kind, occurred_at, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (activity_id) DO UPDATE SET
                ods_code = excluded.ods_code, account_id = excluded.account_id,
                kind = excluded.kind, occurred_at = excluded.occurred_at, detail = excluded.detail
             WHERE (ods_code, account_id, kind, occurred_at, detail)
                IS NOT (excluded.ods_code, excluded.account_id, excluded.kind,
                        excluded.occurred_at, excluded.detail)"
        }
    }
}

fn count_rows(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

impl Store {
    /// Starts importing a file of `kind`. Takes the write lock now.
    pub fn begin_import(&mut self, kind: FileKind) -> Result<Importer<'_>> {
        let path = self.path.clone();
        let conn = &self.conn;
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| store_error(&path, e))?;
        let started = (|| -> rusqlite::Result<Importer<'_>> {
            let name = table(kind);
            let mut rows_before = count_rows(conn, name)?;
            let mut replaced = None;
            if kind == FileKind::Directory {
                // A new extract replaces the old one as a whole.
                conn.execute("DELETE FROM directory", [])?;
                replaced = Some(rows_before);
                rows_before = 0;
            }
            let fresh = rows_before == 0;
            if fresh {
                for index in schema::INDEXES.iter().filter(|i| i.table == name) {
                    conn.execute_batch(&format!("DROP INDEX IF EXISTS {}", index.name))?;
                }
            }
            let insert = conn.prepare(upsert_sql(kind))?;
            Ok(Importer {
                conn,
                kind,
                insert,
                rows_before,
                changed: 0,
                seen: 0,
                fresh,
                replaced,
                done: false,
            })
        })();
        match started {
            Ok(importer) => Ok(importer),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(store_error(&path, e))
            }
        }
    }
}

impl Importer<'_> {
    /// Whether the table was empty when the import started.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Each writer returns `Ok(Err(message))` when the store's own
    /// constraints refuse the row (a repeated key), so it is reported with
    /// its line like any other problem.
    pub fn organisation(&mut self, o: &OrganisationRow) -> Result<Result<(), String>> {
        let result = self.insert.execute(params![
            o.ods_code,
            o.name,
            o.kind.as_str(),
            o.parent_code,
            o.contact_email
        ]);
        self.duplicate_or_note(result, || {
            format!("the ODS code {} appears more than once", o.ods_code)
        })
    }

    pub fn account(&mut self, a: &AccountRow) -> Result<Result<(), String>> {
        let result = self.insert.execute(params![
            a.account_id,
            a.username,
            a.email,
            normal_form(a.email),
            a.given_name,
            a.family_name,
            a.status.as_str(),
            a.created_at,
            a.last_login_at
        ]);
        self.duplicate_or_note(result, || {
            format!(
                "the account {} (username `{}`) repeats an account_id or username already in the file or store",
                a.account_id, a.username
            )
        })
    }

    /// Writes a role; `Ok(Err(message))` when the file repeats a role.
    pub fn permission(&mut self, p: &PermissionRow) -> Result<Result<(), String>> {
        let result = self.insert.execute(params![
            p.account_id,
            p.ods_code,
            p.role.as_str(),
            p.payment_types
        ]);
        self.duplicate_or_note(result, || {
            format!(
                "account {} holds the role {} at {} more than once in the file",
                p.account_id, p.role, p.ods_code
            )
        })
    }

    pub fn directory_entry(&mut self, d: &DirectoryRow) -> Result<Result<(), String>> {
        let result = self.insert.execute(params![
            d.address,
            normal_form(d.address),
            d.given_name,
            d.family_name,
            d.ods_code,
            d.status.as_str(),
            d.mailbox_type.as_str()
        ]);
        self.duplicate_or_note(result, || {
            format!("the address `{}` appears more than once", d.address)
        })
    }

    /// Writes an activity record; `Ok(Err(message))` when the file repeats its id.
    pub fn activity(&mut self, a: &ActivityRow) -> Result<Result<(), String>> {
        let result = self.insert.execute(params![
            a.activity_id,
            a.ods_code,
            a.account_id,
            a.kind.as_str(),
            a.occurred_at,
            a.detail
        ]);
        self.duplicate_or_note(result, || {
            format!(
                "the activity_id {} appears more than once in the file",
                a.activity_id
            )
        })
    }

    /// In a fresh table the key's uniqueness is checked by SQLite itself, which
    /// costs nothing extra; the duplicate row is left out and reported.
    fn duplicate_or_note(
        &mut self,
        result: rusqlite::Result<usize>,
        message: impl FnOnce() -> String,
    ) -> Result<Result<(), String>> {
        match result {
            Ok(n) => {
                self.note(n);
                Ok(Ok(()))
            }
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                Ok(Err(message()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What `finish` would report, without committing (for `--dry-run`).
    pub fn counts(&self) -> Result<ImportCounts> {
        let rows_after = count_rows(self.conn, table(self.kind))?;
        Ok(self.counts_given(rows_after))
    }

    fn counts_given(&self, rows_after: u64) -> ImportCounts {
        let added = rows_after.saturating_sub(self.rows_before);
        ImportCounts {
            added,
            updated: self.changed.saturating_sub(added),
            unchanged: self.seen.saturating_sub(self.changed),
            replaced: self.replaced,
        }
    }

    fn note(&mut self, changes: usize) {
        self.seen += 1;
        self.changed += changes as u64;
    }

    /// Builds any dropped indexes and commits; returns what changed.
    pub fn finish(mut self) -> Result<ImportCounts> {
        let name = table(self.kind);
        for index in schema::INDEXES.iter().filter(|i| i.table == name) {
            self.conn.execute_batch(&index.create_sql())?;
        }
        let rows_after = count_rows(self.conn, name)?;
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(self.counts_given(rows_after))
    }
}

impl Drop for Importer<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of a refused file is kept.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
