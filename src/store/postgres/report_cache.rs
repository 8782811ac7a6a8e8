//! The kept report on PostgreSQL, read back: the same table
//! (`report_cache(part, rows bytea)`) and the same settings value
//! (`report_cache.generation`: the generation, the row count and the
//! encoding's version) as the
//! SQLite store's `report_cache.rs`, encoded by `crate::store::kept_report`.
//! Rows that cannot be read back in full are never shown in part: the
//! report is computed afresh instead.

use anyhow::Result;

use super::PgStore;
use crate::store::{KeptReport, KeptRow, parse_settings_value};

/// The settings key holding the generation the kept rows were computed
/// at, and how many rows were kept.
pub(super) const GENERATION_KEY: &str = "report_cache.generation";

impl PgStore {
    /// The generation and row count the kept report was saved with, if one
    /// was kept and its settings value reads as both.
    pub(super) fn kept_at(&self) -> Result<Option<(u64, u64)>> {
        Ok(self
            .setting(GENERATION_KEY)?
            .as_deref()
            .and_then(parse_settings_value))
    }

    /// Whether the kept report rows were computed at this generation.
    pub(crate) fn report_cache_is_current(&self, generation: u64) -> Result<bool> {
        // The kept report is the whole store's: an area's report is
        // computed afresh (and its rows are hidden from it, schema.rs).
        if self.area()?.is_some() {
            return Ok(false);
        }
        Ok(self.kept_at()?.is_some_and(|(kept, _)| kept == generation))
    }

    /// Visits the kept rows in the report's order if they were computed at
    /// this generation and read back in full; false (nothing visited)
    /// otherwise. The settings value and the parts are read in one
    /// snapshot, so a report kept at this moment by another command is
    /// seen whole or not at all.
    pub(crate) fn for_each_cached_report_row(
        &self,
        generation: u64,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        if self.area()?.is_some() {
            return Ok(false);
        }
        let (value, parts) = self.transaction(postgres::IsolationLevel::RepeatableRead, |tx| {
            let value: Option<String> = tx
                .query_opt(
                    "SELECT value FROM settings WHERE key = $1",
                    &[&GENERATION_KEY],
                )?
                .map(|r| r.get(0));
            let parts = tx
                .query("SELECT rows FROM report_cache ORDER BY part", &[])?
                .iter()
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((value, parts))
        })?;
        let Some((kept, count)) = value.as_deref().and_then(parse_settings_value) else {
            return Ok(false);
        };
        if kept != generation {
            return Ok(false);
        }
        // Decode everything before visiting anything: a damaged value must
        // fall back to computing the report, not show part of it.
        let report = KeptReport { parts, count };
        let decoded = match report.rows() {
            Ok(decoded) if decoded.len() as u64 == count => decoded,
            Ok(decoded) => {
                tracing::info!(
                    "kept report unreadable ({} rows where {count} were kept): computing it",
                    decoded.len()
                );
                return Ok(false);
            }
            Err(e) => {
                tracing::info!("kept report unreadable ({e}): computing it");
                return Ok(false);
            }
        };
        for row in &decoded {
            visit(row);
        }
        Ok(true)
    }
}
