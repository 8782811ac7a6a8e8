//! The store's boundary: what every back end does, in the domain's words.
//!
//! A command never sees SQL: it asks a [`Backend`] (through
//! [`super::Store`]) for the audit's inputs, an account and its roles, what a
//! replacement needs to know, and to write replacements and append to the
//! change log. The embedded SQLite store (`sqlite/`) implements it; a
//! PostgreSQL store implements the same methods beside it, so that a second
//! back end is an addition, not a rewrite.
//!
//! Methods take `&self` (a back end keeps its connection's state inside);
//! the writes that need the caller to hold nothing else (`set_cutover`,
//! imports, keeping the report) take `&mut self`. A write of replacements is
//! bracketed by [`Backend::begin_write`] and [`Backend::commit_write`] (or
//! [`Backend::rollback_write`]): `super::WriteTx` makes sure one of the two
//! ends it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;

use super::areas::{OutsideArea, RegisteredOperator};
use super::chain::Tampering;
use super::chunk::{Chunk, EmailKeys, RowRef};
use super::copy::{CopyCounts, CopySource, CopyVisit};
use super::kept_report::{KeptReport, KeptRow};
use super::progress::{
    ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, SnapshotRow,
};
use super::records::{
    AccountBytes, Actor, DirectoryBytes, ExportAccount, Holdings, ImportCounts, LogEntry,
    LogFilter, NewAccount, ReplacementLookup, ReplacementPair, Stamp,
};
use crate::error::FileProblem;
use crate::model::{
    Account, Activity, DirectoryEntry, FileKind, OrgKind, Organisation, Role, RoleGrant, Status,
};

/// Everything a store does for the commands.
pub trait Backend: Send {
    // --- What the store is -------------------------------------------------

    /// The store's file, for a back end that keeps one (the output files'
    /// guard refuses to write over it).
    fn file(&self) -> Option<&Path>;

    /// How the store is named in messages (a path, or a server address
    /// without its password).
    fn name(&self) -> String;

    /// A second connection to the same store, for look-ups made beside this
    /// one (checking half of a long plan while this one checks the other).
    fn second_connection(&self) -> Result<Box<dyn Backend>>;

    /// Whether a write can be undone by the database because another
    /// transaction won (a serialization failure or deadlock), so that the
    /// caller must be able to run it again (`store::retrying`). An embedded
    /// store's writer holds the file's lock and never loses.
    fn writes_can_lose(&self) -> bool {
        false
    }

    /// Everything found changed past cqrs-admin: missing, altered or added
    /// protections, and every break in the change log's hash chain.
    fn tampering(&self) -> Result<Vec<Tampering>>;

    /// The change log's newest entry's seq and hash.
    fn change_log_head(&self) -> Result<Option<(i64, String)>>;

    /// The cutover date kept in the store.
    fn cutover(&self) -> Result<NaiveDate>;

    /// Sets the cutover date, with its change-log entry; returns the date it
    /// replaced.
    fn set_cutover(&mut self, date: NaiveDate, at: &str, actor: Actor<'_>) -> Result<NaiveDate>;

    /// Increased by every write that can change an audit result.
    fn generation(&self) -> Result<u64>;

    // --- Reading -------------------------------------------------------------

    fn organisations(&self) -> Result<Vec<Organisation>>;
    /// Every organisation that has a parent, as (ods_code, parent_code):
    /// the tree `history` walks, without the names and addresses it does
    /// not show.
    fn organisation_parents(&self) -> Result<Vec<(String, String)>>;
    fn organisation_kinds(&self) -> Result<HashMap<String, (OrgKind, Option<String>)>>;
    /// Every account's (account_id, email, username).
    fn account_keys(&self) -> Result<Vec<(String, String, String)>>;
    fn has_accounts(&self) -> Result<bool>;
    // Only the tests' plain oracle (the audit reads `audit_inputs`).
    #[cfg(test)]
    /// The normal forms held by more than one live account.
    fn duplicate_live_emails(&self) -> Result<HashSet<String>>;
    // Only the tests' plain oracle (the audit reads `audit_inputs`).
    #[cfg(test)]
    /// Every account with its roles, in account_id order.
    fn for_each_account_with_roles(
        &self,
        visit: &mut dyn FnMut(
            crate::store::AccountView<'_>,
            &[crate::store::RoleView<'_>],
        ) -> Result<()>,
    ) -> Result<()>;
    /// About how many accounts there are, to reserve room.
    fn account_count_hint(&self) -> Result<usize>;
    fn account(&self, account_id: &str) -> Result<Option<Account>>;
    fn accounts_by_email_key(&self, email_key: &str) -> Result<Vec<Account>>;
    fn replaced_account_of(&self, account_id: &str) -> Result<Option<String>>;
    fn roles(&self, account_id: &str) -> Result<Vec<RoleGrant>>;
    fn directory_entry(&self, address_key: &str) -> Result<Option<DirectoryEntry>>;
    fn directory_entries_named(&self, given: &str, family: &str) -> Result<Vec<DirectoryEntry>>;
    fn activity_at(&self, ods_codes: &[String]) -> Result<Vec<Activity>>;
    fn holdings(&self) -> Result<Holdings>;
    fn knows_ods_code(&self, code: &str) -> Result<bool>;
    fn ods_codes(&self) -> Result<Vec<String>>;

    /// The audit's three inputs, from one consistent snapshot.
    fn audit_inputs(&self) -> Result<AuditInputs>;

    // --- Look-ups for replacements, history, verify, the log, export ---------

    /// What the replacement checks need about these (account, address) pairs.
    fn replacement_lookup(&self, keys: &[(&str, &str)]) -> Result<ReplacementLookup>;
    fn taken_account_ids(&self, ids: &[&str]) -> Result<HashSet<String>>;
    /// Of these normal forms: those some account's email holds, and those
    /// some account's username holds.
    fn addresses_in_use(&self, keys: &[&str]) -> Result<(HashSet<String>, HashSet<String>)>;
    /// A replacement account's (replaces, status, email).
    fn replacement_account(
        &self,
        account_id: &str,
    ) -> Result<Option<(Option<String>, Status, String)>>;
    fn disabled_with_replacement(&self, old: &str, new: &str) -> Result<bool>;
    fn change_log(
        &self,
        filter: &LogFilter,
        visit: &mut dyn FnMut(LogEntry) -> Result<()>,
    ) -> Result<()>;
    fn replacement_pairs(&self) -> Result<Vec<ReplacementPair>>;
    fn replacement_roles(&self) -> Result<HashMap<String, Vec<RoleGrant>>>;
    fn organisations_with_activity(&self) -> Result<HashSet<String>>;
    fn export_accounts(
        &self,
        all: bool,
        visit: &mut dyn FnMut(ExportAccount) -> Result<()>,
    ) -> Result<()>;
    fn export_permissions(
        &self,
        all: bool,
        visit: &mut dyn FnMut(&str, RoleGrant) -> Result<()>,
    ) -> Result<()>;

    // --- Writing replacements ------------------------------------------------

    /// Starts a write, holding off other writers until it ends; refuses a
    /// store changed past cqrs-admin.
    fn begin_write(&self) -> Result<()>;
    /// Readies this connection for a write of many thousands of rows.
    fn prepare_for_bulk(&self) -> Result<()>;
    fn create_replacements(
        &self,
        batch: &[NewAccount<'_>],
        disable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()>;
    fn revert_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        reenable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()>;
    fn reinstate_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        stamp: Stamp<'_>,
    ) -> Result<()>;
    fn commit_write(&self) -> Result<()>;
    fn rollback_write(&self);

    // --- The kept report -----------------------------------------------------

    fn report_cache_is_current(&self, generation: u64) -> Result<bool>;
    /// Visits the kept rows if they are of this generation and readable in
    /// full; says whether they were. False: any rows visited (a back end
    /// that streams them finds damage only on its way) are to be dropped.
    fn for_each_cached_report_row(
        &self,
        generation: u64,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool>;
    fn save_report_cache(&mut self, generation: u64, report: &KeptReport) -> Result<()>;

    // --- Imports -------------------------------------------------------------

    /// Whether a file of `kind` would go into an empty table.
    fn import_is_fresh(&self, kind: FileKind) -> Result<bool>;
    /// Starts importing a file of `kind`, holding off other writers.
    fn begin_import(&mut self, kind: FileKind) -> Result<Box<dyn Import + '_>>;
    /// Something a large import can run on a spare thread to make its commit
    /// quicker (nothing, for a back end that has no use for it).
    fn early_sync(&self) -> Box<dyn BackgroundSync>;

    // --- Notifications ---------------------------------------------------------

    /// Every message a relay accepted (or an outbox holds), by what
    /// identifies it: a message to the same recipient saying the same thing
    /// is never sent again.
    fn sent_notifications(&self) -> Result<HashSet<super::SentKey>>;
    /// Records one message as the relay answered it (sent or refused), in a
    /// transaction of its own, so that a run killed after it still knows.
    fn record_notification(&self, record: &super::NotificationRecord) -> Result<()>;
    /// Refuses, before anything is sent, a store that cannot record what is
    /// sent (changed past cqrs-admin).
    fn check_notify_writable(&self) -> Result<()>;
    /// The change-log entry of one `notify` run, with its counts.
    fn record_notify_run(&self, run: &super::NotifyRun<'_>) -> Result<()>;
    /// Holds the store's notify lock for one run (released when the value
    /// is dropped, or when the process dies, however it dies), so that two
    /// operators running `notify` at once never both send a message. None
    /// when another run holds it.
    fn notify_lock(&self) -> Result<Option<Box<dyn std::any::Any + Send>>>;

    // --- Progress toward cutover -------------------------------------------

    /// Keeps the snapshot a whole-store audit made for `day`, replacing one
    /// kept earlier that day; the snapshot after it (if an audit was given an
    /// earlier day) is compared with it afresh. Returns the size in bytes of
    /// its accounts needing action. Not a change to any account: nothing is
    /// added to the change log, as for the kept report.
    fn save_snapshot(
        &mut self,
        day: NaiveDate,
        recorded_at: &str,
        snapshot: NewSnapshot,
    ) -> Result<u64>;
    /// Every snapshot, oldest first.
    fn snapshots(&self) -> Result<Vec<SnapshotRow>>;
    /// Every snapshot's rows by contact (only this contact's, given one,
    /// compared ignoring ASCII case), oldest first, then by contact code.
    fn contact_progress(&self, contact: Option<&str>) -> Result<Vec<ContactProgressRow>>;
    /// Adds a note to an account, with its change-log entry.
    fn add_note(&mut self, account_id: &str, note: &Note) -> Result<()>;
    /// Sets (None: clears) an account's follow-up state, with its change-log
    /// entry; returns the state it replaced.
    fn set_follow_up(
        &mut self,
        account_id: &str,
        state: Option<FollowUp>,
        date: NaiveDate,
        at: &str,
        actor: Actor<'_>,
    ) -> Result<Option<FollowUp>>;
    /// An account's notes, oldest first.
    fn notes(&self, account_id: &str) -> Result<Vec<Note>>;
    /// An account's follow-up state, if one is set.
    fn follow_up(&self, account_id: &str) -> Result<Option<FollowUpState>>;
    /// Every follow-up state that is set, by account id.
    fn follow_ups(&self) -> Result<HashMap<String, FollowUp>>;

    // --- Areas ---------------------------------------------------------------

    /// Of these accounts, those this operator may not replace, revert or
    /// reinstate because a role of theirs lies outside its area, each with
    /// the other areas and who can act. Empty on a store without areas
    /// (SQLite), and for the owner or a national operator.
    fn outside_area(&self, account_ids: &[&str]) -> Result<Vec<OutsideArea>>;
    /// The registered operators, by login (the store's owner only; a store
    /// without areas refuses).
    fn operators(&self) -> Result<Vec<RegisteredOperator>>;
    /// Registers an existing database login as an operator, national
    /// (`ods_code` None) or for the area of an organisation, logged; the
    /// store's owner only. Returns the registration.
    fn add_operator(
        &mut self,
        login: &str,
        ods_code: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<RegisteredOperator>;
    /// Takes a login's registration back, logged; the owner only. Returns
    /// the registration it was.
    fn remove_operator(&mut self, login: &str, actor: Actor<'_>) -> Result<RegisteredOperator>;

    // --- Copying a whole store ---------------------------------------------

    /// Every row of every table a copy carries (`copy::CopiedTable::ALL`,
    /// in that order; each table's rows in key order, the directory in its
    /// own order, the change log oldest first), all from one snapshot.
    fn copy_out(&self, visit: &mut CopyVisit<'_>) -> Result<()>;
    /// Fills this store, which must hold nothing (else refused, nothing
    /// changed), with every row `source` hands the writer it is given, in
    /// one transaction: the change log verbatim, each entry checked to
    /// continue the chain (else refused whole); what is derived (look-up
    /// tables, the directory's size, the head) built from the copied rows,
    /// and the generation moved on. The rows written, per table.
    fn copy_in(&mut self, source: &mut CopySource<'_>) -> Result<CopyCounts>;

    // --- Progress on a shared store -----------------------------------------

    /// Whether a snapshot is also to count accounts by the organisations
    /// they hold roles at ([`NewSnapshot::by_organisations`]): a store with
    /// areas shows each area its own progress from those counts. False for
    /// a store without areas, which spares its audit the work.
    fn keeps_progress_by_organisations(&self) -> bool {
        false
    }

    // --- Kept report look-up --------------------------------------------------

    /// Visits, in the report's order, the kept rows whose confident match
    /// is `key` (a normal form: [`super::is_match_of`]) if rows of this
    /// generation are kept and readable; says whether they were (false:
    /// nothing visited, the report is to be computed). By default a walk
    /// over every kept row (SQLite's, 0.09 s for a national report); a back
    /// end that keeps the rows by match too reads only the address's bucket
    /// ([`super::match_bucket`]).
    fn for_each_kept_match(
        &self,
        generation: u64,
        key: &str,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        self.for_each_cached_report_row(generation, &mut |row| {
            if super::is_match_of(row.nhsmail_match, key) {
                visit(row);
            }
        })
    }

    // --- Replacing while checking ------------------------------------------

    /// Whether a second connection ([`Backend::second_connection`]) may go
    /// on checking a plan's later rows while this one writes its earlier
    /// ones in the same write: it then sees the store as the write found
    /// it, and neither waits for the other. False for an embedded store,
    /// whose reader would hold off the writer's spills and commit.
    fn checks_beside_writes(&self) -> bool {
        false
    }

    /// Whether an audit may keep its progress snapshot on a second
    /// connection while this one keeps the report's rows, each in a
    /// transaction of its own: they then take one wait instead of two.
    /// False for an embedded store, which has one writer at a time.
    fn keeps_snapshot_beside_report(&self) -> bool {
        false
    }
}

/// An import in progress: rows are added chunk by chunk, checked against
/// the store as they go, and `finish` commits (or, with `commit` false,
/// rolls back). Dropping it without `finish` rolls everything back.
pub trait Import {
    /// Whether the rows go into an empty table.
    fn is_fresh(&self) -> bool;
    /// Writes a chunk of checked rows; `check` is asked about each row
    /// against what the store holds (a row it objects to is not written and
    /// its problem is kept). Gives back a chunk to refill.
    fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        check: &mut dyn FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>>;
    /// Of these account ids, those the store does not hold.
    fn unknown_accounts<'i>(&self, ids: &[&'i str]) -> Result<Vec<&'i str>>;
    /// Writes what is still buffered; the problems found doing it.
    fn flush(&mut self) -> Result<Vec<FileProblem>>;
    /// Problems with addresses repeated in the file: `pairs` are (key, line,
    /// earlier line) of rows whose look-up keys are equal.
    fn repeated_addresses(&self, pairs: &[(i64, u64, u64)]) -> Result<Vec<FileProblem>>;
    /// Ends the import: commits when `commit`, else rolls back.
    fn finish(
        self: Box<Self>,
        commit: bool,
        emails: &EmailKeys,
        address_keys: &[(i64, u64)],
    ) -> Result<ImportCounts>;
}

/// Work a large import can do on a spare thread (see [`Backend::early_sync`]).
pub trait BackgroundSync: Send + Sync {
    fn sync(&self);
}

/// The directory's scan (see [`AuditInputs`]).
pub trait ReadDirectory: Send {
    /// How many entries there are (0 if unknown), to reserve room.
    fn expected_entries(&self) -> Result<usize>;
    /// Every directory entry, as bytes, in no particular order.
    fn read(self: Box<Self>, visit: &mut dyn FnMut(DirectoryBytes<'_>)) -> Result<()>;
}

/// What a roles' scan hands each role to: the account_id and ods_code as
/// bytes, the role, and its payment-type restrictions as stored (`QOF;DES`,
/// empty for none: only compared for replacements made in CQRS).
pub type RoleVisit<'v> = dyn FnMut(&[u8], &[u8], Role, &[u8]) -> Result<()> + 'v;

/// The roles' scan (see [`AuditInputs`]).
pub trait ReadRoles: Send {
    /// How many accounts there are, to reserve room for their roles.
    fn expected_accounts(&self) -> Result<usize>;
    /// Every role as (account_id, ods_code) bytes and the role, in
    /// account_id order (the accounts' order, so the two can be merged).
    fn read(self: Box<Self>, visit: &mut RoleVisit<'_>) -> Result<()>;
}

/// The accounts' scan (see [`AuditInputs`]).
pub trait ReadAccounts: Send {
    /// How many accounts there are, to reserve room.
    fn expected_accounts(&self) -> Result<usize>;
    /// Every account, as bytes, in account_id order.
    fn read(self: Box<Self>, visit: &mut dyn FnMut(AccountBytes<'_>) -> Result<()>) -> Result<()>;
}

/// The audit's three inputs, all seeing the same state of the store: an
/// account is never read before a replacement and its roles after it. Each
/// scan may be moved to a thread of its own; each lets go of its snapshot
/// when it has been read (or dropped).
pub struct AuditInputs {
    pub directory: DirectoryScan,
    pub roles: RoleScan,
    pub accounts: AccountScan,
}

impl AuditInputs {
    pub(crate) fn new(
        directory: Box<dyn ReadDirectory>,
        roles: Box<dyn ReadRoles>,
        accounts: Box<dyn ReadAccounts>,
    ) -> AuditInputs {
        AuditInputs {
            directory: DirectoryScan(directory),
            roles: RoleScan(roles),
            accounts: AccountScan(accounts),
        }
    }
}

/// Every directory entry, in no particular order.
pub struct DirectoryScan(Box<dyn ReadDirectory>);

/// Every role, grouped by account in account_id order.
pub struct RoleScan(Box<dyn ReadRoles>);

/// Every account, in account_id order.
pub struct AccountScan(Box<dyn ReadAccounts>);

impl DirectoryScan {
    /// How many entries there are (0 if unknown), to reserve room.
    pub(crate) fn expected_entries(&self) -> Result<usize> {
        self.0.expected_entries()
    }

    /// Streams every directory entry as bytes (see [`DirectoryBytes`]).
    pub(crate) fn read(self, mut visit: impl FnMut(DirectoryBytes<'_>)) -> Result<()> {
        self.0.read(&mut visit)
    }
}

impl RoleScan {
    /// How many accounts there are, to reserve room for their roles.
    pub(crate) fn expected_accounts(&self) -> Result<usize> {
        self.0.expected_accounts()
    }

    /// Streams every role in account_id order (see [`ReadRoles::read`]).
    pub(crate) fn read(
        self,
        mut visit: impl FnMut(&[u8], &[u8], Role, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.0.read(&mut visit)
    }
}

impl AccountScan {
    /// How many accounts there are, to reserve room.
    pub(crate) fn expected_accounts(&self) -> Result<usize> {
        self.0.expected_accounts()
    }

    /// Streams every account in account_id order as bytes (see
    /// [`AccountBytes`]).
    pub(crate) fn read(self, mut visit: impl FnMut(AccountBytes<'_>) -> Result<()>) -> Result<()> {
        self.0.read(&mut visit)
    }
}
