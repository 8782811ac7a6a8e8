//! The SQLite store: the only module that knows SQL.
//!
//! Opening applies the pragmas and migrations; every write runs in an
//! `IMMEDIATE` transaction so a second operator waits (up to the busy timeout)
//! instead of failing half-way, and a killed process leaves the store as it was.

mod import;
mod lookups;
mod read;
pub mod schema;
mod write;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use import::{Chunk, EmailKeys, ImportCounts, Importer, RowRef};
pub use lookups::*;
pub use read::*;
pub use write::*;

use crate::error::UserError;

/// The cutover date of the original bulletin, used until one is set.
pub const DEFAULT_CUTOVER: &str = "2020-09-23";

/// How long a command waits for another operator's write to finish.
const BUSY_TIMEOUT_MS: u64 = 10_000;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating it owner-only if it does not exist.
    pub fn open(path: &Path) -> Result<Store> {
        let exists = path.exists();
        if !exists {
            create_owner_only(path)?;
        } else if path.is_dir() {
            return Err(UserError::Store(format!(
                "{} is a folder, not a store: give --db the path of a file",
                path.display()
            ))
            .into());
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| store_error(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure().map_err(|e| store_error(path, e))?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&mut self) -> rusqlite::Result<()> {
        self.conn
            .busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        // Reading the schema first turns "file is not a database" into an error
        // here, before any pragma could try to write.
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        // A rollback journal rather than WAL: a bulk import into an empty
        // table then writes each new page once (SQLite journals only pages
        // that existed before), where WAL writes every page twice. A killed
        // process is still rolled back from the journal on the next open.
        // Readers wait (busy_timeout) while a writer commits, which is fine
        // for a command-line tool.
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = TRUNCATE", [], |r| r.get(0))?;
        self.conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = OFF;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16384;",
        )?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store_error(&path, e))?;
        let known = schema::MIGRATIONS.len() as i64;
        if version > known {
            return Err(UserError::Store(format!(
                "{} was written by a newer version of cqrs-admin (schema {version}, this one knows {known}): \
                 upgrade cqrs-admin; the store was not changed",
                path.display()
            ))
            .into());
        }
        if version == known {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)
                .with_context(|| format!("applying schema migration {}", i + 1))?;
        }
        for index in schema::INDEXES {
            tx.execute_batch(&index.create_sql())?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(())
    }

    /// The cutover date kept in the store.
    pub fn cutover(&self) -> Result<NaiveDate> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'cutover'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let text = text.unwrap_or_else(|| DEFAULT_CUTOVER.to_string());
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .with_context(|| format!("the stored cutover date `{text}` is not a date"))
    }

    pub fn set_cutover(&mut self, date: NaiveDate) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('cutover', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [date.format("%Y-%m-%d").to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The store's generation: increased by every write that can change an
    /// audit result, so cached results know when they are stale.
    pub fn generation(&self) -> Result<u64> {
        Store::generation_in(&self.conn)
    }

    fn generation_in(conn: &Connection) -> Result<u64> {
        let value: Option<String> = conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Starts a write: `IMMEDIATE` takes the write lock now, so two operators
    /// are serialised rather than one failing at commit.
    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))
    }
}

/// Increases the store's generation, inside the caller's write transaction.
pub(crate) fn bump_generation(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('generation', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [],
    )?;
    Ok(())
}

/// Creates an empty file readable and writable by its owner only, so the store
/// (names and addresses) is never readable by others, not even for a moment.
fn create_owner_only(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        return Err(UserError::Store(format!(
            "cannot create the store {}: the folder {} does not exist; create it or give another --db",
            path.display(),
            parent.display()
        ))
        .into());
    }
    crate::files::create_owner_only(path)
        .map(|_| ())
        .map_err(|e| {
            UserError::Store(format!(
                "cannot create the store {}: {e}; check the folder's permissions or give another --db",
                path.display()
            ))
            .into()
        })
}

/// Turns SQLite's errors about the file itself into messages that say what to do.
pub(crate) fn store_error(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode::*;
    let shown = path.display();
    let message = match e.sqlite_error_code() {
        Some(NotADatabase) => format!(
            "{shown} is not a cqrs-admin store (not an SQLite file): give --db the right file, or a new path"
        ),
        Some(DatabaseBusy) | Some(DatabaseLocked) => format!(
            "{shown} is locked by another command that is still running (waited {}s): try again when it has finished",
            BUSY_TIMEOUT_MS / 1000
        ),
        Some(ReadOnly) => format!(
            "{shown} is read-only: this command needs to write to the store; check the file's permissions"
        ),
        Some(CannotOpen) => format!(
            "cannot open the store {shown}: check that the file and its folder exist and are readable"
        ),
        Some(PermissionDenied) => {
            format!("permission denied opening the store {shown}: check the file's permissions")
        }
        Some(DatabaseCorrupt) => {
            format!("{shown} is damaged (SQLite reports corruption): restore it from a backup")
        }
        Some(DiskFull) => {
            format!("the disk holding {shown} is full: free some space and try again")
        }
        _ => return anyhow::Error::new(e).context(format!("store {shown}")),
    };
    UserError::Store(message).into()
}
