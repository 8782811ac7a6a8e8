//! Writes other than imports: replacements, reverts and the change log.

use anyhow::Result;

use super::Store;

impl Store {
    /// Keeps the report's rows for the generation they were computed at.
    /// A store that cannot be written (read-only) simply keeps no cache.
    pub fn save_report_cache<'a>(
        &mut self,
        generation: u64,
        rows: impl Iterator<Item = (i64, [&'a str; 8])>,
    ) -> Result<()> {
        let tx = self.write_tx()?;
        if super::Store::generation_in(&tx)? != generation {
            // Something was written since the report was computed.
            return Ok(());
        }
        tx.execute("DELETE FROM report_cache", [])?;
        {
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO report_cache (section_rank, section, contact_code, account_id,
                     email, given_name, family_name, category, match)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (rank, row) in rows {
                insert.execute(rusqlite::params![
                    rank, row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
                ])?;
            }
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('report_cache.generation', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [generation.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }
}
