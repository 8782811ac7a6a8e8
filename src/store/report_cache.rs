//! The kept report: the rows a whole-store audit computed, saved as one
//! value so the `report` that follows needs no second audit.
//!
//! The rows are written in the report's order, each as its section's rank (one
//! byte) then eight fields (section, contact code, account id, email, given
//! name, family name, category, match), each a little-endian `u32` length and
//! that many bytes of UTF-8. One blob, not a table of rows: a national report
//! has about 200,000 rows, which cost an audit about 0.25 s to insert and
//! cost a few milliseconds as one value; the report only ever reads them all.

use anyhow::Result;

use super::{Store, setting};

/// The settings key holding the generation the kept rows were computed at.
const GENERATION_KEY: &str = "report_cache.generation";

impl Store {
    /// Whether the kept report rows were computed at this generation.
    pub fn report_cache_is_current(&self, generation: u64) -> Result<bool> {
        let cached = setting(&self.conn, GENERATION_KEY)?;
        Ok(cached.and_then(|v| v.parse::<u64>().ok()) == Some(generation))
    }

    /// Visits the kept report rows in the report's order, if they were
    /// computed at this generation: (section, contact_code, account_id, email,
    /// given_name, family_name, category, match). Returns false when there is
    /// no valid cache (none kept, stale, or unreadable), so the caller
    /// computes the report instead.
    pub fn for_each_cached_report_row(
        &self,
        generation: u64,
        mut visit: impl FnMut([&str; 8]),
    ) -> Result<bool> {
        if !self.report_cache_is_current(generation)? {
            return Ok(false);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rows FROM report_cache WHERE id = 1")?;
        let mut rows = stmt.query([])?;
        let Some(row) = rows.next()? else {
            return Ok(false);
        };
        let blob = row.get_ref(0)?.as_blob()?;
        // Decode everything before visiting anything: a damaged value must
        // fall back to computing the report, not print half of it.
        let Some(decoded) = decode(blob) else {
            crate::trace("kept report unreadable: computing it");
            return Ok(false);
        };
        for fields in decoded {
            visit(fields);
        }
        Ok(true)
    }

    /// Keeps the report's rows for the generation they were computed at.
    /// Nothing is kept if something was written since.
    pub fn save_report_cache(&mut self, generation: u64, report: &KeptReport) -> Result<()> {
        let tx = self.write_tx()?;
        if Store::generation_in(&tx)? != generation {
            // Something was written since the report was computed.
            return Ok(());
        }
        // Written in place through a blob handle: binding the value would
        // copy all of it once more, at the audit's peak memory.
        tx.execute(
            "INSERT INTO report_cache (id, rows) VALUES (1, zeroblob(?1))
             ON CONFLICT (id) DO UPDATE SET rows = excluded.rows",
            [report.0.len() as i64],
        )?;
        {
            let mut blob = tx.blob_open("main", "report_cache", "rows", 1, false)?;
            blob.write_all_at(&report.0, 0)?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [GENERATION_KEY, &generation.to_string()],
        )?;
        crate::trace("report rows written");
        tx.commit()?;
        Ok(())
    }
}

/// Report rows encoded for keeping, so the rows they came from can be freed
/// before the store writes them.
pub struct KeptReport(Vec<u8>);

impl KeptReport {
    /// Encodes rows given in the report's order.
    pub fn encode<'a>(rows: impl Iterator<Item = (i64, [&'a str; 8])>) -> KeptReport {
        KeptReport(encode(rows))
    }
}

fn encode<'a>(rows: impl Iterator<Item = (i64, [&'a str; 8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (rank, fields) in rows {
        out.push(u8::try_from(rank).unwrap_or(u8::MAX));
        for field in fields {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&field.as_bytes()[..len as usize]);
        }
    }
    out
}

/// The rows of an encoded value, or None if it is damaged in any way.
fn decode(mut blob: &[u8]) -> Option<Vec<[&str; 8]>> {
    let mut rows = Vec::new();
    while let Some((_rank, rest)) = blob.split_first() {
        blob = rest;
        let mut fields = [""; 8];
        for field in &mut fields {
            let (len, rest) = blob.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            if rest.len() < len {
                return None;
            }
            let (text, rest) = rest.split_at(len);
            *field = std::str::from_utf8(text).ok()?;
            blob = rest;
        }
        rows.push(fields);
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_exactly_and_in_order() {
        let rows = [
            (
                0,
                [
                    "contact-commissioner",
                    "00T",
                    "U1",
                    "a@nhs.net",
                    "Ann",
                    "Lee",
                    "nhs-uk-domain",
                    "ann.lee@nhs.net",
                ],
            ),
            (
                2,
                [
                    "administrator",
                    "cqrs-administrator",
                    "U2",
                    "",
                    "Ōla",
                    "",
                    "ok",
                    "",
                ],
            ),
        ];
        let blob = encode(rows.iter().copied());
        let back = decode(&blob).expect("decodes");
        assert_eq!(back, rows.iter().map(|(_, f)| *f).collect::<Vec<_>>());
    }

    #[test]
    fn a_damaged_value_is_refused_not_half_read() {
        let blob = encode([(0, ["a", "b", "c", "d", "e", "f", "g", "h"])].into_iter());
        for cut in 1..blob.len() {
            assert_eq!(decode(&blob[..cut]), None, "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[5] = 0xff; // the first byte of the first field: not UTF-8
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&[]), Some(vec![]));
    }
}
