//! The kept report: the rows a whole-store audit computed, saved as one
//! value so the `report` that follows needs no second audit.
//!
//! A few thousand blobs, not a table of rows: a national report has about
//! 200,000 rows, which cost an audit about 0.25 s to insert and cost a few
//! milliseconds as one blob per section and contact; the report only ever
//! reads them all. The rows are in the
//! report's order, each as: its section (one byte, the section's place in
//! rules.md's table), its category (one byte, its place in rules.md's list),
//! then six texts (contact code, account id, email, given name, family name,
//! match), each its length in bytes (LEB128) and its UTF-8. Compact, because
//! the audit that keeps them is measured with them: every byte is held in
//! memory, written and synced once.
//!
//! The settings value that says which generation the rows belong to also
//! holds how many rows were kept: a row lost from the table (a part deleted,
//! a blob cut at a row's end) decodes cleanly, and only the count shows it.
//! Rows that cannot be read back in full are never shown in part: the store
//! says the kept report is unreadable and the report computes it afresh.

use anyhow::Result;

use super::{SqliteStore, setting, tx};
use crate::store::{KeptReport, KeptRow, parse_settings_value, settings_value};

/// The settings key holding the generation the kept rows were computed at.
const GENERATION_KEY: &str = "report_cache.generation";

impl SqliteStore {
    /// Whether the kept report rows were computed at this generation.
    pub fn report_cache_is_current(&self, generation: u64) -> Result<bool> {
        Ok(kept_at(&self.conn)?.is_some_and(|(kept, _)| kept == generation))
    }

    /// Visits the kept report rows in the report's order, if they were
    /// computed at this generation. Returns false when there is no usable
    /// kept report (none kept, stale, or unreadable: damaged, or fewer or
    /// more rows than were kept), so the caller computes the report instead;
    /// nothing is visited then.
    pub fn for_each_cached_report_row(
        &self,
        generation: u64,
        mut visit: impl FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        let Some((kept, count)) = kept_at(&self.conn)? else {
            return Ok(false);
        };
        if kept != generation {
            return Ok(false);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rows FROM report_cache ORDER BY part")?;
        let mut rows = stmt.query([])?;
        let mut parts = Vec::new();
        while let Some(row) = rows.next()? {
            match row.get_ref(0)?.as_blob() {
                Ok(blob) => parts.push(blob.to_vec()),
                Err(_) => {
                    tracing::info!("kept report unreadable (a part is not a blob): computing it");
                    return Ok(false);
                }
            }
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

    /// Keeps the report's rows for the generation they were computed at.
    /// Nothing is kept if something was written since.
    pub fn save_report_cache(&mut self, generation: u64, report: &KeptReport) -> Result<()> {
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write)
            .map_err(|e| super::store_error(&self.path, e))?;
        if SqliteStore::generation_in(&tx)? != generation {
            // Something was written since the report was computed.
            return Ok(());
        }
        tx.execute("DELETE FROM report_cache", [])?;
        {
            let mut insert = tx.prepare("INSERT INTO report_cache (part, rows) VALUES (?1, ?2)")?;
            for (part, rows) in report.parts.iter().enumerate() {
                insert.execute(rusqlite::params![part as i64, rows])?;
            }
        }
        // Counted as they were encoded: decoding them all again here would
        // cost the audit that keeps them time and memory at its peak.
        let count = report.count;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [GENERATION_KEY, &settings_value(generation, count)],
        )?;
        tracing::info!("report rows written");
        tx.commit()?;
        Ok(())
    }
}

/// The generation and row count the kept report was saved with, if one was
/// kept in this version's encoding (a store kept by an earlier version is
/// computed afresh: `kept_report::parse_settings_value`).
fn kept_at(conn: &rusqlite::Connection) -> Result<Option<(u64, u64)>> {
    Ok(setting(conn, GENERATION_KEY)?
        .as_deref()
        .and_then(parse_settings_value))
}
