//! The PostgreSQL store behind the store's boundary: each [`Backend`]
//! method is the inherent method of the same name in this folder's modules
//! (read.rs, lookups.rs, audit_inputs.rs, report_cache.rs and mod.rs for
//! reading; the write side's modules for writing and importing).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use chrono::NaiveDate;

use super::PgStore;
use crate::model::{
    Account, Activity, DirectoryEntry, FileKind, OrgKind, Organisation, RoleGrant, Status,
};
use crate::store::copy::{CopyCounts, CopySource, CopyVisit};
use crate::store::{
    Actor, AuditInputs, Backend, BackgroundSync, ExportAccount, Holdings, Import, KeptReport,
    KeptRow, LogEntry, LogFilter, NewAccount, OutsideArea, RegisteredOperator, ReplacementLookup,
    ReplacementPair, Stamp, Tampering,
};
use crate::store::{ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, SnapshotRow};

impl Backend for PgStore {
    fn file(&self) -> Option<&Path> {
        None
    }
    fn name(&self) -> String {
        self.shown().to_string()
    }
    fn second_connection(&self) -> Result<Box<dyn Backend>> {
        Ok(Box::new(PgStore::second_connection(self)?))
    }
    fn writes_can_lose(&self) -> bool {
        true
    }
    fn tampering(&self) -> Result<Vec<Tampering>> {
        self.tampering()
    }
    fn change_log_head(&self) -> Result<Option<(i64, String)>> {
        self.change_log_head()
    }
    fn cutover(&self) -> Result<NaiveDate> {
        self.cutover()
    }
    fn set_cutover(&mut self, date: NaiveDate, at: &str, actor: Actor<'_>) -> Result<NaiveDate> {
        self.set_cutover(date, at, actor)
    }
    fn generation(&self) -> Result<u64> {
        self.generation()
    }

    fn organisations(&self) -> Result<Vec<Organisation>> {
        self.organisations()
    }
    fn organisation_parents(&self) -> Result<Vec<(String, String)>> {
        self.organisation_parents()
    }
    fn organisation_kinds(&self) -> Result<HashMap<String, (OrgKind, Option<String>)>> {
        self.organisation_kinds()
    }
    fn account_keys(&self) -> Result<Vec<(String, String, String)>> {
        self.account_keys()
    }
    fn has_accounts(&self) -> Result<bool> {
        self.has_accounts()
    }
    // Only the tests' plain oracle (the audit reads `audit_inputs`).
    #[cfg(test)]
    fn duplicate_live_emails(&self) -> Result<HashSet<String>> {
        self.duplicate_live_emails()
    }
    // Only the tests' plain oracle (the audit reads `audit_inputs`).
    #[cfg(test)]
    fn for_each_account_with_roles(
        &self,
        visit: &mut dyn FnMut(
            crate::store::AccountView<'_>,
            &[crate::store::RoleView<'_>],
        ) -> Result<()>,
    ) -> Result<()> {
        self.for_each_account_with_roles(visit)
    }
    fn account_count_hint(&self) -> Result<usize> {
        self.account_count_hint()
    }
    fn account(&self, account_id: &str) -> Result<Option<Account>> {
        self.account(account_id)
    }
    fn accounts_by_email_key(&self, email_key: &str) -> Result<Vec<Account>> {
        self.accounts_by_email_key(email_key)
    }
    fn replaced_account_of(&self, account_id: &str) -> Result<Option<String>> {
        self.replaced_account_of(account_id)
    }
    fn roles(&self, account_id: &str) -> Result<Vec<RoleGrant>> {
        self.roles(account_id)
    }
    fn directory_entry(&self, address_key: &str) -> Result<Option<DirectoryEntry>> {
        self.directory_entry(address_key)
    }
    fn directory_entries_named(&self, given: &str, family: &str) -> Result<Vec<DirectoryEntry>> {
        self.directory_entries_named(given, family)
    }
    fn activity_at(&self, ods_codes: &[String]) -> Result<Vec<Activity>> {
        self.activity_at(ods_codes)
    }
    fn holdings(&self) -> Result<Holdings> {
        self.holdings()
    }
    fn knows_ods_code(&self, code: &str) -> Result<bool> {
        self.knows_ods_code(code)
    }
    fn ods_codes(&self) -> Result<Vec<String>> {
        self.ods_codes()
    }
    fn audit_inputs(&self) -> Result<AuditInputs> {
        self.audit_inputs()
    }

    fn replacement_lookup(&self, keys: &[(&str, &str)]) -> Result<ReplacementLookup> {
        self.replacement_lookup(keys)
    }
    fn taken_account_ids(&self, ids: &[&str]) -> Result<HashSet<String>> {
        self.taken_account_ids(ids)
    }
    fn addresses_in_use(&self, keys: &[&str]) -> Result<(HashSet<String>, HashSet<String>)> {
        self.addresses_in_use(keys)
    }
    fn replacement_account(
        &self,
        account_id: &str,
    ) -> Result<Option<(Option<String>, Status, String)>> {
        self.replacement_account(account_id)
    }
    fn disabled_with_replacement(&self, old: &str, new: &str) -> Result<bool> {
        self.disabled_with_replacement(old, new)
    }
    fn change_log(
        &self,
        filter: &LogFilter,
        visit: &mut dyn FnMut(LogEntry) -> Result<()>,
    ) -> Result<()> {
        self.change_log(filter, visit)
    }
    fn replacement_pairs(&self) -> Result<Vec<ReplacementPair>> {
        self.replacement_pairs()
    }
    fn replacement_roles(&self) -> Result<HashMap<String, Vec<RoleGrant>>> {
        self.replacement_roles()
    }
    fn organisations_with_activity(&self) -> Result<HashSet<String>> {
        self.organisations_with_activity()
    }
    fn export_accounts(
        &self,
        all: bool,
        visit: &mut dyn FnMut(ExportAccount) -> Result<()>,
    ) -> Result<()> {
        self.export_accounts(all, visit)
    }
    fn export_permissions(
        &self,
        all: bool,
        visit: &mut dyn FnMut(&str, RoleGrant) -> Result<()>,
    ) -> Result<()> {
        self.export_permissions(all, visit)
    }

    fn begin_write(&self) -> Result<()> {
        self.begin_write()
    }
    fn prepare_for_bulk(&self) -> Result<()> {
        self.prepare_for_bulk()
    }
    fn create_replacements(
        &self,
        batch: &[NewAccount<'_>],
        disable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        self.create_replacements(batch, disable_old, stamp)
    }
    fn revert_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        reenable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        self.revert_replacement(
            old_account_id,
            new_account_id,
            email,
            reason,
            reenable_old,
            stamp,
        )
    }
    fn reinstate_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        self.reinstate_replacement(old_account_id, new_account_id, email, reason, stamp)
    }
    fn commit_write(&self) -> Result<()> {
        self.commit_write()
    }
    fn rollback_write(&self) {
        self.rollback_write();
    }

    fn report_cache_is_current(&self, generation: u64) -> Result<bool> {
        self.report_cache_is_current(generation)
    }
    fn for_each_cached_report_row(
        &self,
        generation: u64,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        self.for_each_cached_report_row(generation, visit)
    }
    fn save_report_cache(&mut self, generation: u64, report: &KeptReport) -> Result<()> {
        self.save_report_cache(generation, report)
    }

    fn import_is_fresh(&self, kind: FileKind) -> Result<bool> {
        self.import_is_fresh(kind)
    }
    fn begin_import(&mut self, kind: FileKind) -> Result<Box<dyn Import + '_>> {
        self.begin_import(kind)
    }
    fn early_sync(&self) -> Box<dyn BackgroundSync> {
        self.early_sync()
    }

    fn outside_area(&self, account_ids: &[&str]) -> Result<Vec<OutsideArea>> {
        self.outside_area(account_ids)
    }
    fn operators(&self) -> Result<Vec<RegisteredOperator>> {
        self.operators()
    }
    fn add_operator(
        &mut self,
        login: &str,
        ods_code: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<RegisteredOperator> {
        self.add_operator(login, ods_code, actor)
    }
    fn remove_operator(&mut self, login: &str, actor: Actor<'_>) -> Result<RegisteredOperator> {
        self.remove_operator(login, actor)
    }

    // --- Notifications ---
    fn sent_notifications(&self) -> Result<HashSet<crate::store::SentKey>> {
        self.sent_notifications()
    }
    fn record_notification(&self, record: &crate::store::NotificationRecord) -> Result<()> {
        self.record_notification(record)
    }
    fn check_notify_writable(&self) -> Result<()> {
        self.check_notify_writable()
    }
    fn record_notify_run(&self, run: &crate::store::NotifyRun<'_>) -> Result<()> {
        self.record_notify_run(run)
    }
    fn notify_lock(&self) -> Result<Option<Box<dyn std::any::Any + Send>>> {
        self.notify_lock()
    }

    // --- Progress toward cutover (sqlite/progress.rs) ---
    fn save_snapshot(
        &mut self,
        day: NaiveDate,
        recorded_at: &str,
        snapshot: NewSnapshot,
    ) -> Result<u64> {
        self.save_snapshot(day, recorded_at, snapshot)
    }
    fn snapshots(&self) -> Result<Vec<SnapshotRow>> {
        self.snapshots()
    }
    fn contact_progress(&self, contact: Option<&str>) -> Result<Vec<ContactProgressRow>> {
        self.contact_progress(contact)
    }
    fn add_note(&mut self, account_id: &str, note: &Note) -> Result<()> {
        self.add_note(account_id, note)
    }
    fn set_follow_up(
        &mut self,
        account_id: &str,
        state: Option<FollowUp>,
        date: NaiveDate,
        at: &str,
        actor: Actor<'_>,
    ) -> Result<Option<FollowUp>> {
        self.set_follow_up(account_id, state, date, at, actor)
    }
    fn notes(&self, account_id: &str) -> Result<Vec<Note>> {
        self.notes(account_id)
    }
    fn follow_up(&self, account_id: &str) -> Result<Option<FollowUpState>> {
        self.follow_up(account_id)
    }
    fn follow_ups(&self) -> Result<HashMap<String, FollowUp>> {
        self.follow_ups()
    }

    // --- Copying a whole store ---
    fn copy_out(&self, visit: &mut CopyVisit<'_>) -> Result<()> {
        self.copy_out(visit)
    }
    fn copy_in(&mut self, source: &mut CopySource<'_>) -> Result<CopyCounts> {
        self.copy_in(source)
    }

    // --- Progress on a shared store (progress.rs) ---
    fn keeps_progress_by_organisations(&self) -> bool {
        true
    }

    // --- Kept report look-up (report_cache.rs) ---
    fn for_each_kept_match(
        &self,
        generation: u64,
        key: &str,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        self.for_each_kept_match(generation, key, visit)
    }

    // --- Replacing while checking (a reader connection sees only commits) ---
    fn checks_beside_writes(&self) -> bool {
        true
    }
    fn keeps_snapshot_beside_report(&self) -> bool {
        true
    }
}
