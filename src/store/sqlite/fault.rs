//! What SQLite's errors about the store file mean for the user: the one place
//! that decodes SQLite's error codes into the program's error type, with one
//! table of advice (what is wrong, what to do) for every store fault.

use std::path::Path;

use rusqlite::ErrorCode;

use super::{BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_MS, busy_timeout_ms, describe_wait};
use crate::error::UserError;

/// A fault of the store file itself, as SQLite reports it (not a fault of a
/// statement: those are the program's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The folder is read-only, and SQLite needs to create its journal there.
    ReadOnlyFolder,
    NotADatabase,
    Locked,
    ReadOnly,
    CannotOpen,
    PermissionDenied,
    Damaged,
    DiskFull,
}

impl Fault {
    /// The fault an SQLite error reports, if it is one of the store file's.
    fn of(e: &rusqlite::Error) -> Option<Fault> {
        let extended = match e {
            rusqlite::Error::SqliteFailure(failure, _) => failure.extended_code,
            _ => 0,
        };
        if extended == rusqlite::ffi::SQLITE_READONLY_DIRECTORY
            || extended == rusqlite::ffi::SQLITE_READONLY_CANTINIT
        {
            return Some(Fault::ReadOnlyFolder);
        }
        Some(match e.sqlite_error_code()? {
            ErrorCode::NotADatabase => Fault::NotADatabase,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Fault::Locked,
            ErrorCode::ReadOnly => Fault::ReadOnly,
            ErrorCode::CannotOpen => Fault::CannotOpen,
            ErrorCode::PermissionDenied => Fault::PermissionDenied,
            ErrorCode::DatabaseCorrupt => Fault::Damaged,
            ErrorCode::DiskFull => Fault::DiskFull,
            _ => return None,
        })
    }

    /// The table of advice: what is wrong with the store at `shown` and what
    /// to do (when the store's path is known), and what to do (for an error
    /// that reached `main` with only SQLite's words for it).
    fn advice(self, shown: &str) -> (String, &'static str) {
        const READ_ONLY: &str = "the store is read-only: this command needs to write to it; \
                                 check the file's permissions (and its folder's)";
        const DAMAGED: &str =
            "the store is damaged or is not a cqrs-admin store: restore it from a backup";
        const CANNOT_OPEN: &str =
            "the store cannot be opened: check the file's and its folder's permissions";
        match self {
            // SQLite writes its journal next to the store (and a store still
            // in WAL mode needs its working files there even to read).
            Fault::ReadOnlyFolder => (
                format!(
                    "cannot use {shown}: its folder is read-only, and SQLite needs to create its journal \
                     ({shown}-journal) next to the store: make the folder writable, or copy the store to one"
                ),
                READ_ONLY,
            ),
            Fault::NotADatabase => (
                format!(
                    "{shown} is not a cqrs-admin store (not an SQLite file): give --db the right file, or a new path"
                ),
                DAMAGED,
            ),
            Fault::Locked => (
                format!(
                    "{shown} is locked by another command that is still running (waited {}): \
                     try again when it has finished, or set {BUSY_TIMEOUT_ENV} to wait longer",
                    describe_wait(busy_timeout_ms().unwrap_or(DEFAULT_BUSY_TIMEOUT_MS))
                ),
                "the store is locked by another command that is still running: try again when it has finished",
            ),
            Fault::ReadOnly => (
                format!(
                    "{shown} is read-only: this command needs to write to the store; check the file's permissions (and its folder's)"
                ),
                READ_ONLY,
            ),
            Fault::CannotOpen => (
                format!(
                    "cannot open the store {shown}: check that the file and its folder exist and are readable"
                ),
                CANNOT_OPEN,
            ),
            Fault::PermissionDenied => (
                format!(
                    "permission denied opening the store {shown}: check the file's permissions"
                ),
                CANNOT_OPEN,
            ),
            Fault::Damaged => (
                format!("{shown} is damaged (SQLite reports corruption): restore it from a backup"),
                DAMAGED,
            ),
            Fault::DiskFull => (
                format!("the disk holding {shown} is full: free some space and try again"),
                "the disk holding the store is full: free some space and try again",
            ),
        }
    }
}

/// Turns SQLite's errors about the store file at `path` into the program's
/// error, which says what is wrong and what to do; other SQLite errors keep
/// SQLite's words, with the store named.
pub(crate) fn store_error(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    let shown = path.display().to_string();
    match Fault::of(&e) {
        Some(fault) => UserError::Store(fault.advice(&shown).0).into(),
        None => anyhow::Error::new(e).context(format!("store {shown}")),
    }
}

/// Whether the store refused a row for breaking one of its constraints (a
/// repeated key, a protective trigger): the row's fault, reported against
/// the row, not the store's.
pub(super) fn is_refused_row(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// Whether another connection holds the lock this one waited for (not a
/// lock held by this connection itself, which waiting would not free).
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

/// What to do about an SQLite error that reached `main` unexplained
/// (somewhere in `err`'s chain), if it is a fault of the store file.
pub fn advice(err: &anyhow::Error) -> Option<&'static str> {
    err.chain()
        .find_map(|e| e.downcast_ref::<rusqlite::Error>())
        .and_then(Fault::of)
        .map(|fault| fault.advice("").1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn every_store_fault_is_explained_with_the_store_named() {
        use rusqlite::ffi::*;
        let faults = [
            (SQLITE_READONLY_DIRECTORY, Fault::ReadOnlyFolder),
            (SQLITE_NOTADB, Fault::NotADatabase),
            (SQLITE_BUSY, Fault::Locked),
            (SQLITE_LOCKED, Fault::Locked),
            (SQLITE_READONLY, Fault::ReadOnly),
            (SQLITE_CANTOPEN, Fault::CannotOpen),
            (SQLITE_PERM, Fault::PermissionDenied),
            (SQLITE_CORRUPT, Fault::Damaged),
            (SQLITE_FULL, Fault::DiskFull),
        ];
        for (code, fault) in faults {
            assert_eq!(Fault::of(&sqlite(code)), Some(fault), "{code}");
            let (message, advice) = fault.advice("/x/store.db");
            assert!(message.contains("/x/store.db"), "{message}");
            let err = store_error(Path::new("/x/store.db"), sqlite(code));
            assert_eq!(err.to_string(), message);
            assert!(err.downcast_ref::<UserError>().is_some());
            // Unexplained, the same fault still gets its advice.
            let unexplained = anyhow::Error::new(sqlite(code)).context("reading");
            assert_eq!(super::advice(&unexplained), Some(advice));
        }
    }

    #[test]
    fn other_sqlite_errors_keep_their_words_and_get_no_advice() {
        let err = store_error(
            Path::new("/x/store.db"),
            sqlite(rusqlite::ffi::SQLITE_CONSTRAINT),
        );
        assert!(err.downcast_ref::<UserError>().is_none());
        assert_eq!(err.to_string(), "store /x/store.db");
        assert_eq!(super::advice(&err), None);
        assert!(is_refused_row(&sqlite(rusqlite::ffi::SQLITE_CONSTRAINT)));
        assert!(is_busy(&sqlite(rusqlite::ffi::SQLITE_BUSY)));
        assert!(!is_busy(&sqlite(rusqlite::ffi::SQLITE_LOCKED)));
    }
}
