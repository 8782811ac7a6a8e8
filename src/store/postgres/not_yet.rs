//! What a PostgreSQL store does not keep yet: the record of messages sent
//! (`notify`), progress snapshots, notes and follow-up states. Writing them
//! is refused, saying so; reading them finds none, so that every other
//! command (audit, report, accounts show) answers as it does without them.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use chrono::NaiveDate;

use super::PgStore;
use crate::error::UserError;
use crate::store::{
    ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, NotificationRecord, NotifyRun,
    SentKey, SnapshotRow,
};

fn not_yet(what: &str) -> anyhow::Error {
    UserError::Refused(format!(
        "{what} is not kept on a PostgreSQL store yet: nothing was changed. \
         Use an SQLite store (--db FILE) for it, or `cqrs-admin store copy` one"
    ))
    .into()
}

impl PgStore {
    pub(super) fn sent_notifications(&self) -> Result<HashSet<SentKey>> {
        Err(not_yet("the record of messages sent (notify)"))
    }
    pub(super) fn record_notification(&self, _record: &NotificationRecord) -> Result<()> {
        Err(not_yet("the record of messages sent (notify)"))
    }
    pub(super) fn check_notify_writable(&self) -> Result<()> {
        Err(not_yet("the record of messages sent (notify)"))
    }
    pub(super) fn record_notify_run(&self, _run: &NotifyRun<'_>) -> Result<()> {
        Err(not_yet("the record of messages sent (notify)"))
    }
    pub(super) fn notify_lock(&self) -> Result<Option<Box<dyn std::any::Any + Send>>> {
        Err(not_yet("the record of messages sent (notify)"))
    }
    /// Keeps nothing (see the module's documentation): `progress` on a
    /// PostgreSQL store finds no snapshots and says so.
    pub(super) fn save_snapshot(
        &mut self,
        _day: NaiveDate,
        _recorded_at: &str,
        _snapshot: NewSnapshot,
    ) -> Result<u64> {
        Ok(0)
    }
    pub(super) fn snapshots(&self) -> Result<Vec<SnapshotRow>> {
        Ok(Vec::new())
    }
    pub(super) fn contact_progress(
        &self,
        _contact: Option<&str>,
    ) -> Result<Vec<ContactProgressRow>> {
        Ok(Vec::new())
    }
    pub(super) fn add_note(&mut self, _account_id: &str, _note: &Note) -> Result<()> {
        Err(not_yet("a note on an account"))
    }
    pub(super) fn set_follow_up(
        &mut self,
        _account_id: &str,
        _state: Option<FollowUp>,
        _date: NaiveDate,
        _at: &str,
        _actor: &str,
    ) -> Result<Option<FollowUp>> {
        Err(not_yet("a follow-up state"))
    }
    pub(super) fn notes(&self, _account_id: &str) -> Result<Vec<Note>> {
        Ok(Vec::new())
    }
    pub(super) fn follow_up(&self, _account_id: &str) -> Result<Option<FollowUpState>> {
        Ok(None)
    }
    pub(super) fn follow_ups(&self) -> Result<HashMap<String, FollowUp>> {
        Ok(HashMap::new())
    }
}
