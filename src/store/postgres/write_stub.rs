//! The PostgreSQL store's writes, until the write side (write.rs, import.rs)
//! is merged: each refuses with "… is not yet supported on PostgreSQL",
//! changing nothing. The signatures are exactly the `Backend` trait's, so
//! that boundary.rs forwards to the real ones unchanged. Deleted at that
//! merge.

use anyhow::Result;
use chrono::NaiveDate;

use super::PgStore;
use crate::error::UserError;
use crate::model::FileKind;
use crate::store::{BackgroundSync, Import, KeptReport, NewAccount, Stamp};

fn not_yet(what: &str) -> anyhow::Error {
    UserError::Store(format!(
        "{what} is not yet supported on PostgreSQL: nothing was changed. Use an SQLite store \
         (--db FILE) for it"
    ))
    .into()
}

/// Nothing to do on a spare thread.
struct NoSync;

impl BackgroundSync for NoSync {
    fn sync(&self) {}
}

impl PgStore {
    pub(crate) fn set_cutover(
        &mut self,
        _date: NaiveDate,
        _at: &str,
        _actor: &str,
    ) -> Result<NaiveDate> {
        Err(not_yet("setting the cutover date"))
    }
    pub(crate) fn begin_write(&self) -> Result<()> {
        Err(not_yet("writing replacements"))
    }
    pub(crate) fn prepare_for_bulk(&self) -> Result<()> {
        Err(not_yet("writing replacements"))
    }
    pub(crate) fn create_replacements(
        &self,
        _batch: &[NewAccount<'_>],
        _disable_old: bool,
        _stamp: Stamp<'_>,
    ) -> Result<()> {
        Err(not_yet("creating replacement accounts"))
    }
    pub(crate) fn revert_replacement(
        &self,
        _old_account_id: &str,
        _new_account_id: &str,
        _email: &str,
        _reason: Option<&str>,
        _reenable_old: bool,
        _stamp: Stamp<'_>,
    ) -> Result<()> {
        Err(not_yet("reverting a replacement"))
    }
    pub(crate) fn reinstate_replacement(
        &self,
        _old_account_id: &str,
        _new_account_id: &str,
        _email: &str,
        _reason: Option<&str>,
        _stamp: Stamp<'_>,
    ) -> Result<()> {
        Err(not_yet("reinstating a replacement"))
    }
    pub(crate) fn commit_write(&self) -> Result<()> {
        Err(not_yet("writing replacements"))
    }
    pub(crate) fn rollback_write(&self) {}
    pub(crate) fn save_report_cache(
        &mut self,
        _generation: u64,
        _report: &KeptReport,
    ) -> Result<()> {
        Err(not_yet("keeping the report"))
    }
    pub(crate) fn import_is_fresh(&self, _kind: FileKind) -> Result<bool> {
        Err(not_yet("importing"))
    }
    pub(crate) fn begin_import(&mut self, _kind: FileKind) -> Result<Box<dyn Import + '_>> {
        Err(not_yet("importing"))
    }
    pub(crate) fn early_sync(&self) -> Box<dyn BackgroundSync> {
        Box::new(NoSync)
    }
}
