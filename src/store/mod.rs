//! The store: the only module that knows SQL and the databases.
//!
//! [`Store`] is what the commands hold. It speaks the domain (the audit's
//! inputs, an account and its roles, what a replacement needs, writing
//! replacements, the change log, the kept report) through the [`Backend`]
//! trait, which each back end implements: the embedded SQLite store in
//! `sqlite/` (its C-interface readers, pragmas, fsync and locks stay
//! there). What every back end shares is here: the records handed over
//! (`records`), the checked rows of an import (`chunk`), the change log's
//! hash chain (`chain`), the kept report's encoding (`kept_report`) and the
//! address look-up key (`address_key`).

pub mod activity_order;
pub mod address_key;
mod areas;
mod backend;
mod chain;
mod chunk;
mod conflict;
pub mod copy;
mod kept_report;
pub mod postgres;
// Named `pg` here: layers.rs keeps the word for the postgres crate.
use self::postgres as pg;
mod notifications;
pub mod progress;
mod records;
pub mod sqlite;

use std::ops::{Deref, DerefMut};
use std::path::Path;

use anyhow::Result;

pub use areas::{NO_AREAS, OutsideArea, RegisteredOperator};
pub use backend::{
    AccountScan, AuditInputs, Backend, BackgroundSync, DirectoryScan, Import, ReadAccounts,
    ReadDirectory, ReadRoles, RoleScan, RoleVisit,
};
pub use chain::{EntryContent, GENESIS, HEAD_KEY, Tampering, entry_hash};
pub use chunk::{Chunk, EmailKeys, RowRef, columns, unknown_account, written_in_key_order};
pub use conflict::{Conflict, WRITE_ATTEMPTS, is_conflict, retrying};
pub use kept_report::{
    KeptReport, KeptRow, MATCH_BUCKETS, Unreadable, bucket_rows, encode_row, is_match_of,
    match_bucket, parse_settings_value, settings_value, visit_part_rows,
};
pub use notifications::{NotificationRecord, NotifyRun, SentKey};
pub use progress::{
    ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, SnapshotNotRecorded,
    SnapshotRow,
};
pub use records::*;
pub use sqlite::advice;

use crate::error::FileProblem;
use crate::model::{FileKind, RoleGrant};
use crate::reporting::Reporter;

/// Formerly the way to `verify` a PostgreSQL store before the [`Backend`]
/// trait reached it: every command now runs on PostgreSQL through
/// [`Store::open_reporting`], so this answers None for every store (kept
/// only so that its caller in lib.rs still builds; to be removed with it).
pub fn beyond_the_boundary(_location: &Path, _verifying: bool) -> Option<Result<String>> {
    None
}

/// The PostgreSQL URL `location` is (`postgres://…` or `postgresql://…`),
/// if it is one.
fn postgres_url(location: &Path) -> Option<&str> {
    location.to_str().filter(|l| pg::is_url(l))
}

/// The cutover date of the original bulletin, used until one is set.
pub const DEFAULT_CUTOVER: &str = "2020-09-23";

/// How to recover a store that was changed past cqrs-admin.
pub const TAMPERED_RECOVERY: &str = "restore the store from a backup taken before the change, or \
     `cqrs-admin export` its data and import it into a new store";

/// An open store, whichever back end holds it. Its methods are the
/// [`Backend`]'s (through `Deref`), with a few generic conveniences below.
pub struct Store {
    backend: Box<dyn Backend>,
}

impl Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.backend
    }
}

impl DerefMut for Store {
    fn deref_mut(&mut self) -> &mut (dyn Backend + 'static) {
        &mut *self.backend
    }
}

impl Store {
    /// Opens the store named by `location`, creating it if it does not
    /// exist: for the commands that write (import, cutover set). Tells no
    /// one what opening found (second connections, tests): the commands open
    /// with [`Store::open_reporting`].
    pub fn open(location: &Path) -> Result<Store> {
        Store::open_as(location, true, &mut Vec::new())
    }

    /// Opens the store named by `location`, which must exist: for the
    /// commands that read, so that a mistyped `--db` is an error rather than
    /// an empty store that reports nothing to do.
    pub fn open_existing(location: &Path) -> Result<Store> {
        Store::open_as(location, false, &mut Vec::new())
    }

    /// Opens the store as [`Store::open`] (`may_create`) or
    /// [`Store::open_existing`] do, telling `reporter` what opening found
    /// (a store narrowed to owner-only, protections changed past
    /// cqrs-admin), whether or not opening then succeeds: the store itself
    /// never prints.
    pub fn open_reporting(
        location: &Path,
        may_create: bool,
        reporter: &dyn Reporter,
    ) -> Result<Store> {
        let mut warnings = Vec::new();
        let opened = Store::open_as(location, may_create, &mut warnings);
        for warning in &warnings {
            reporter.warn(warning);
        }
        opened
    }

    /// Opens the back end `location` names, keeping what opening found in
    /// `warnings`.
    /// A PostgreSQL URL opens the PostgreSQL store (the database must
    /// exist; the owner's first command creates the schema, whatever
    /// `may_create` says); anything else is an SQLite store's file.
    fn open_as(location: &Path, may_create: bool, warnings: &mut Vec<String>) -> Result<Store> {
        let backend: Box<dyn Backend> = match postgres_url(location) {
            Some(url) => Box::new(pg::PgStore::open_as(url, warnings)?),
            None => Box::new(sqlite::SqliteStore::open_as(
                location, may_create, warnings,
            )?),
        };
        Ok(Store { backend })
    }

    /// Whether there is a store (or anything) at `location`. A PostgreSQL
    /// URL names a database a server keeps, which is taken to exist (a
    /// dry-run import then checks against it, never against a scratch
    /// store; connecting says if it does not).
    pub fn exists(location: &Path) -> bool {
        postgres_url(location).is_some() || sqlite::SqliteStore::exists(location)
    }

    /// A second connection to the same store, for reading (or, where the
    /// back end allows it, keeping a snapshot) beside this one (see
    /// [`Backend::second_connection`]).
    pub(crate) fn lookup_reader(&self) -> Result<Store> {
        Ok(Store {
            backend: self.backend.second_connection()?,
        })
    }

    /// Starts a write of replacements (see [`WriteTx`]).
    pub(crate) fn begin_write(&mut self) -> Result<WriteTx<'_>> {
        self.backend.begin_write()?;
        Ok(WriteTx {
            store: self,
            done: false,
        })
    }

    /// Starts importing a file of `kind` (see [`Importer`]).
    pub fn begin_import(&mut self, kind: FileKind) -> Result<Importer<'_>> {
        Ok(Importer(self.backend.begin_import(kind)?))
    }

    // Only the tests' plain oracle (the audit reads `audit_inputs`).
    #[cfg(test)]
    /// Every account with its roles, in account_id order.
    pub(crate) fn for_each_account_with_roles(
        &self,
        mut visit: impl FnMut(AccountView<'_>, &[RoleView<'_>]) -> Result<()>,
    ) -> Result<()> {
        self.backend.for_each_account_with_roles(&mut visit)
    }

    /// The change-log entries `filter` selects, oldest first.
    pub(crate) fn change_log(
        &self,
        filter: &LogFilter,
        mut visit: impl FnMut(LogEntry) -> Result<()>,
    ) -> Result<()> {
        self.backend.change_log(filter, &mut visit)
    }

    /// Every account (or, without `all`, every one but replacements made
    /// here), as accounts.csv holds them.
    pub(crate) fn export_accounts(
        &self,
        all: bool,
        mut visit: impl FnMut(ExportAccount) -> Result<()>,
    ) -> Result<()> {
        self.backend.export_accounts(all, &mut visit)
    }

    /// Every role, as permissions.csv holds them.
    pub(crate) fn export_permissions(
        &self,
        all: bool,
        mut visit: impl FnMut(&str, RoleGrant) -> Result<()>,
    ) -> Result<()> {
        self.backend.export_permissions(all, &mut visit)
    }

    /// Visits the kept report's rows if they are of this generation and
    /// readable in full; says whether they were (false: drop any rows
    /// visited, they are not the report).
    pub fn for_each_cached_report_row(
        &self,
        generation: u64,
        mut visit: impl FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        self.backend
            .for_each_cached_report_row(generation, &mut visit)
    }
}

/// A write of replacements in progress. Reads through it (it derefs to the
/// store) see the store as the write holds it; dropping it without
/// [`WriteTx::commit`] undoes everything written through it.
pub struct WriteTx<'a> {
    store: &'a Store,
    done: bool,
}

impl Deref for WriteTx<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
    }
}

impl WriteTx<'_> {
    /// Commits everything written through this transaction.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.store.backend.commit_write()?;
        self.done = true;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.store.backend.rollback_write();
        }
    }
}

/// An import in progress (see [`Import`]): `finish` commits; dropping it
/// without `finish` rolls everything back.
pub struct Importer<'a>(Box<dyn Import + 'a>);

impl Importer<'_> {
    /// Whether the rows go into an empty table.
    pub fn is_fresh(&self) -> bool {
        self.0.is_fresh()
    }

    /// See [`Import::add_chunk`].
    pub fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        mut check: impl FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>> {
        self.0.add_chunk(chunk, problems, &mut check)
    }

    /// Of these account ids, those the store does not hold.
    pub fn unknown_accounts<'i>(&self, ids: &[&'i str]) -> Result<Vec<&'i str>> {
        self.0.unknown_accounts(ids)
    }

    /// See [`Import::flush`].
    pub fn flush(&mut self) -> Result<Vec<FileProblem>> {
        self.0.flush()
    }

    /// See [`Import::repeated_addresses`].
    pub fn repeated_addresses(&self, pairs: &[(i64, u64, u64)]) -> Result<Vec<FileProblem>> {
        self.0.repeated_addresses(pairs)
    }

    /// See [`Import::finish`].
    pub fn finish(
        self,
        commit: bool,
        emails: &EmailKeys,
        address_keys: &[(i64, u64)],
    ) -> Result<ImportCounts> {
        self.0.finish(commit, emails, address_keys)
    }
}
