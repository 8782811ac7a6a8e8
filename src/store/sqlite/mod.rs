//! The embedded SQLite store: the default back end, for one operator.
//!
//! Opening checks that the file is a cqrs-admin store before anything is
//! written to it, then applies the pragmas and migrations; every write runs in
//! an `IMMEDIATE` transaction so a second operator waits (up to the busy
//! timeout) instead of failing half-way, and a killed process leaves the store
//! as it was.
//!
//! The environment variable `CQRS_ADMIN_BUSY_TIMEOUT_MS` sets how long a
//! command waits for another operator's write to finish (milliseconds,
//! default 10000); the tests set it low to check the "locked" message quickly.

mod areas;
mod audit_inputs;
mod boundary;
mod chain;
mod copy;
mod fault;
mod import;
mod lookups;
mod many_rows;
mod notifications;
mod progress;
mod raw;
mod read;
mod report_cache;
pub mod schema;
mod sql_functions;
mod tx;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags};

pub use fault::advice;
pub(crate) use fault::store_error;
pub use sql_functions::register;

use crate::error::UserError;
use crate::store::{DEFAULT_CUTOVER, TAMPERED_RECOVERY, Tampering};

/// How long a command waits for another operator's write to finish, unless
/// [`BUSY_TIMEOUT_ENV`] says otherwise.
const DEFAULT_BUSY_TIMEOUT_MS: u64 = 10_000;

/// The environment variable that overrides [`DEFAULT_BUSY_TIMEOUT_MS`].
pub const BUSY_TIMEOUT_ENV: &str = "CQRS_ADMIN_BUSY_TIMEOUT_MS";

/// Marks a store as ours in the SQLite header (`PRAGMA application_id`), so a
/// database that belongs to another program is recognised and left alone.
pub const APPLICATION_ID: i32 = 0x4351_5253; // "CQRS"

/// The busy timeout in milliseconds: [`BUSY_TIMEOUT_ENV`] if set, else the default.
pub(super) fn busy_timeout_ms() -> Result<u64, UserError> {
    match std::env::var_os(BUSY_TIMEOUT_ENV) {
        None => Ok(DEFAULT_BUSY_TIMEOUT_MS),
        Some(value) => {
            let text = value.to_string_lossy();
            if text.trim().is_empty() {
                return Ok(DEFAULT_BUSY_TIMEOUT_MS);
            }
            text.trim().parse::<u64>().map_err(|_| {
                UserError::Store(format!(
                    "{BUSY_TIMEOUT_ENV} is `{text}`, which is not a number of milliseconds: \
                     unset it, or set it to e.g. {DEFAULT_BUSY_TIMEOUT_MS}"
                ))
            })
        }
    }
}

/// "10s" or "200 ms", for the "locked" message.
fn describe_wait(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// The guards against REPLACE that the open write has dropped, as the
    /// SQL that puts them back before it commits (write.rs); `None` when
    /// none is dropped.
    suspended: std::cell::RefCell<Option<Vec<String>>>,
    /// Replacements the open write has queued and not yet written
    /// (write.rs); `None` when there are none.
    queued: std::cell::RefCell<Option<write::Queued>>,
}

impl SqliteStore {
    /// A second connection to the store at `path`, already opened once (and
    /// so already checked, with what it found told): for the audit's scans.
    fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_as(path, false, &mut Vec::new())
    }

    /// Whether there is a store (or anything) at `path`, following symlinks.
    pub fn exists(path: &Path) -> bool {
        real_path(path).is_ok_and(|real| std::fs::metadata(real).is_ok())
    }

    /// Opens the store at `path`, creating it owner-only if it does not
    /// exist and `may_create`; what opening found (a store narrowed to
    /// owner-only, triggers changed past cqrs-admin) goes into `warnings`.
    pub(crate) fn open_as(
        given: &Path,
        may_create: bool,
        warnings: &mut Vec<String>,
    ) -> Result<SqliteStore> {
        let busy = busy_timeout_ms()?;
        // The file itself, not a symlink to it: the owner-only rule below is
        // for the file that holds the data, and SQLite's journal is kept
        // next to it.
        let path = &real_path(given)?;
        let created = match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !may_create => {
                return Err(UserError::Store(format!(
                    "there is no store at {}: import the CQRS exports first \
                     (`cqrs-admin import organisations FILE`, then accounts, permissions, directory, activity), \
                     or check --db and CQRS_ADMIN_DB",
                    given.display()
                ))
                .into());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_owner_only(path)?;
                true
            }
            Err(e) => {
                return Err(UserError::Store(format!(
                    "cannot use the store {}: {e}; check the path and its permissions",
                    path.display()
                ))
                .into());
            }
            Ok(meta) if meta.is_dir() => {
                return Err(UserError::Store(format!(
                    "{} is a folder, not a store: give --db the path of a file",
                    path.display()
                ))
                .into());
            }
            Ok(meta) if !meta.is_file() => {
                // A device (`/dev/null`), a named pipe or a socket: SQLite would
                // fail with a bare "disk I/O error", or worse, block.
                return Err(UserError::Store(format!(
                    "{} is not a regular file, so it cannot be a store: give --db the path of a store file, or a new path",
                    path.display()
                ))
                .into());
            }
            Ok(_) => false,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| store_error(path, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            suspended: std::cell::RefCell::new(None),
            queued: std::cell::RefCell::new(None),
        };
        store
            .conn
            .busy_timeout(Duration::from_millis(busy))
            .map_err(|e| store_error(path, e))?;
        register(&store.conn).map_err(|e| store_error(path, e))?;
        // Nothing may be written (not even the journal mode) until the file is
        // known to be a store of ours, or new.
        let empty = store.check_identity()?;
        if empty && !created && !may_create {
            // An existing empty file (`touch`ed, or the wrong one): a command
            // that only reads must not turn it into a store.
            return Err(UserError::Store(format!(
                "{} is an empty file, not a store: import the CQRS exports into it first \
                 (`cqrs-admin import organisations FILE`, then accounts, permissions, directory, activity), \
                 or check --db and CQRS_ADMIN_DB; the file was not changed",
                given.display()
            ))
            .into());
        }
        if !created {
            warnings.append(&mut narrow_to_owner_only(path));
        }
        store.configure().map_err(|e| store_error(path, e))?;
        store.migrate()?;
        store.warn_if_tampered(warnings)?;
        Ok(store)
    }

    /// The schema version and whether the database holds anything at all.
    fn identity(&self) -> rusqlite::Result<(i64, i32, i64)> {
        // Reading the schema first turns "file is not a database" into an
        // error here.
        let objects: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let application_id: i32 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        Ok((version, application_id, objects))
    }

    /// Refuses, without writing, a database that is not a cqrs-admin store
    /// (another program's SQLite file) or that a newer version wrote; whether
    /// it is empty (no schema yet: a new file, or an empty one).
    fn check_identity(&self) -> Result<bool> {
        let path = &self.path;
        let (version, application_id, objects) =
            self.identity().map_err(|e| store_error(path, e))?;
        let shown = path.display();
        let known = schema::MIGRATIONS.len() as i64;
        let foreign = |why: &str| -> anyhow::Error {
            UserError::Store(format!(
                "{shown} is an SQLite database but not a cqrs-admin store ({why}): \
                 give --db the path of the store, or a new path; the file was not changed"
            ))
            .into()
        };
        if application_id != 0 && application_id != APPLICATION_ID {
            return Err(foreign(&format!(
                "its application id is {application_id:#x}, another program's"
            )));
        }
        if version < 0 {
            return Err(foreign(&format!("its schema version is {version}")));
        }
        if version == 0 && objects > 0 {
            return Err(foreign("it already holds other tables"));
        }
        if version > known {
            return Err(UserError::Store(format!(
                "{shown} was written by a newer version of cqrs-admin (schema {version}, this one knows {known}): \
                 upgrade cqrs-admin; the store was not changed"
            ))
            .into());
        }
        Ok(version == 0)
    }

    fn configure(&mut self) -> rusqlite::Result<()> {
        // A rollback journal rather than WAL: a bulk import into an empty
        // table then writes each new page once (SQLite journals only pages
        // that existed before), where WAL writes every page twice. A killed
        // process is still rolled back from the journal on the next open.
        // Readers wait (busy_timeout) while a writer commits, which is fine
        // for a command-line tool. synchronous = FULL (as docs/store.md
        // always said; the code had NORMAL): with a rollback journal, NORMAL
        // leaves a small window in which a power cut can damage the store.
        // FULL's extra sync of the journal cost nothing measurable here (a
        // bulk import journals almost nothing).
        let _mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = TRUNCATE", [], |r| r.get(0))?;
        self.conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = OFF;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16384;",
        )?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let known = schema::MIGRATIONS.len() as i64;
        let (version, _, _) = self.identity().map_err(|e| store_error(&path, e))?;
        if version == known {
            return Ok(());
        }
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        // Another command may have created or upgraded the store while this
        // one waited for the write lock: look again now that it is held.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| store_error(&path, e))?;
        if version == known {
            return Ok(());
        }
        if !(0..known).contains(&version) {
            drop(tx);
            return self.check_identity().map(|_| ());
        }
        if version == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        for (i, sql) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(usize::MAX))
        {
            tx.execute_batch(sql)
                .with_context(|| format!("applying schema migration {}", i + 1))?;
            if i + 1 == schema::CHAIN_MIGRATION {
                chain::chain_existing(&tx)
                    .with_context(|| format!("applying schema migration {}", i + 1))?;
            }
        }
        for index in schema::INDEXES {
            tx.execute_batch(&index.create_sql())?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(())
    }

    /// On open: the protective triggers are checked (one read of the
    /// schema, so every command can afford it). A store whose triggers were
    /// changed is still readable, with a warning; writes refuse it
    /// ([`SqliteStore::refuse_if_tampered`]).
    fn warn_if_tampered(&self, warnings: &mut Vec<String>) -> Result<()> {
        let found = chain::check_triggers(&self.conn).map_err(|e| store_error(&self.path, e))?;
        if !found.is_empty() {
            let list: Vec<String> = found.iter().map(ToString::to_string).collect();
            warnings.push(format!(
                "{} was changed outside cqrs-admin ({}): what it says may not be true; \
                 run `cqrs-admin verify`, and {TAMPERED_RECOVERY}",
                self.path.display(),
                list.join("; ")
            ));
        }
        Ok(())
    }

    /// Everything found changed past cqrs-admin: missing, altered or added
    /// triggers, and every break in the change log's hash chain (the whole
    /// log is read).
    pub fn tampering(&self) -> Result<Vec<Tampering>> {
        tampering(&self.conn, &self.path)
    }

    /// The change log's newest entry's seq and hash (what `verify` prints).
    pub fn change_log_head(&self) -> Result<Option<(i64, String)>> {
        Ok(chain::head(&self.conn)?)
    }

    /// The cutover date kept in the store.
    pub fn cutover(&self) -> Result<NaiveDate> {
        let text = setting(&self.conn, "cutover")?.unwrap_or_else(|| DEFAULT_CUTOVER.to_string());
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .with_context(|| format!("the stored cutover date `{text}` is not a date"))
    }

    /// Sets the cutover date and records the change in the change log
    /// (action `cutover`, the old and new dates in its reason): it changes
    /// what every report says. Returns the date it replaced.
    pub fn set_cutover(
        &mut self,
        date: NaiveDate,
        at: &str,
        actor: crate::store::Actor<'_>,
    ) -> Result<NaiveDate> {
        let actor = actor.name;
        let path = self.path.clone();
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        refuse_if_tampered(&tx, &path)?;
        // Read under the write lock: the date this change replaces.
        let old = setting(&tx, "cutover")
            .map_err(|e| store_error(&path, e))?
            .unwrap_or_else(|| DEFAULT_CUTOVER.to_string());
        let new_text = date.format("%Y-%m-%d").to_string();
        // A read-only store lets the transaction begin and refuses the write.
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('cutover', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&new_text],
        )
        .map_err(|e| store_error(&path, e))?;
        let reason = format!("cutover date changed from {old} to {new_text}");
        chain::append(
            &tx,
            &[chain::NewEntry {
                at,
                actor,
                action: "cutover",
                old_account_id: None,
                new_account_id: None,
                email: None,
                reason: Some(&reason),
            }],
        )
        .map_err(|e| store_error(&path, e))?;
        tx.commit().map_err(|e| store_error(&path, e))?;
        NaiveDate::parse_from_str(&old, "%Y-%m-%d")
            .with_context(|| format!("the stored cutover date `{old}` is not a date"))
    }

    /// The store's generation: increased by every write that can change an
    /// audit result, so cached results know when they are stale.
    pub fn generation(&self) -> Result<u64> {
        SqliteStore::generation_in(&self.conn)
    }

    fn generation_in(conn: &Connection) -> Result<u64> {
        Ok(setting(conn, "generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

/// See [`SqliteStore::tampering`].
fn tampering(conn: &Connection, path: &Path) -> Result<Vec<Tampering>> {
    let mut found = chain::check_triggers(conn).map_err(|e| store_error(path, e))?;
    found.extend(chain::check_chain(conn).map_err(|e| store_error(path, e))?);
    Ok(found)
}

/// Refuses to write to a store that was changed past cqrs-admin: called
/// by every write once it holds the write lock.
pub(crate) fn refuse_if_tampered(conn: &Connection, path: &Path) -> Result<()> {
    let found = tampering(conn, path)?;
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = found.iter().map(|t| format!("  {t}")).collect();
    Err(UserError::Store(format!(
        "{} was changed outside cqrs-admin, so nothing will be written to it:\n{}\n\
         To recover, {TAMPERED_RECOVERY}; `cqrs-admin verify` lists what was changed. \
         Nothing was changed.",
        path.display(),
        list.join("\n")
    ))
    .into())
}

/// One value of the `settings` table, if it is set.
pub(crate) fn setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
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

/// The most symlinks followed to find a store, as the kernel allows (ELOOP).
const MAX_SYMLINKS: usize = 40;

/// The real path of the store named `path`: every symlink followed, including
/// a dangling one (whose target is where a new store is created), and the
/// folder made absolute, so that the file made owner-only is the one that
/// holds the data.
fn real_path(path: &Path) -> Result<PathBuf> {
    let cannot = |e: std::io::Error| -> anyhow::Error {
        UserError::Store(format!(
            "cannot use the store {}: {e}; check the path and its permissions",
            path.display()
        ))
        .into()
    };
    let mut current = path.to_path_buf();
    let mut followed = 0;
    loop {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(cannot(std::io::Error::other(format!(
                        "more than {MAX_SYMLINKS} symlinks in a row"
                    ))));
                }
                let target = std::fs::read_link(&current).map_err(cannot)?;
                current = match current.parent() {
                    Some(folder) if target.is_relative() => folder.join(target),
                    _ => target,
                };
            }
            _ => break,
        }
    }
    // An existing folder is made absolute, without symlinks; a missing one
    // is left for `create_owner_only` to name.
    let folder = current
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(folder), current.file_name()) {
        (Ok(folder), Some(name)) => Ok(folder.join(name)),
        _ => Ok(current),
    }
}

/// The store and the side files SQLite keeps next to it.
fn store_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// An existing store that others can read (made by hand, say with `touch`, or
/// copied with a loose umask) is narrowed to owner-only before it is used, so
/// the personal data written into it, and the side files SQLite creates with
/// the store's permissions, are never readable by others. Gives back what
/// the person should be told.
fn narrow_to_owner_only(path: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in store_files(path) {
            let Ok(meta) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if !meta.is_file() || mode & 0o077 == 0 {
                continue;
            }
            let narrowed = mode & 0o700;
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(narrowed)) {
                Ok(()) => warnings.push(format!(
                    "{} was readable by other users ({mode:03o}); it holds personal data, so it is now owner-only ({narrowed:03o})",
                    file.display()
                )),
                Err(e) => warnings.push(format!(
                    "{} is readable by other users ({mode:03o}) and holds personal data; \
                     it could not be made owner-only ({e}): ask its owner to run `chmod go= {}`",
                    file.display(),
                    file.display()
                )),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    warnings
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
    // `create_new`: another command creating the same store at this moment
    // must not have its file truncated under it; if it got there first, its
    // file is the store.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        result => result.map(|_| ()),
    }
    .map_err(|e| {
        UserError::Store(format!(
            "cannot create the store {}: {e}; check the folder's permissions or give another --db",
            path.display()
        ))
        .into()
    })
}
