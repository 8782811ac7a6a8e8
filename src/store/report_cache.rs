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

use anyhow::Result;

use super::{Store, setting};
use crate::rules::{Category, Section};

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
            .prepare_cached("SELECT rows FROM report_cache ORDER BY part")?;
        let mut rows = stmt.query([])?;
        let mut parts = Vec::new();
        while let Some(row) = rows.next()? {
            parts.push(row.get_ref(0)?.as_blob()?.to_vec());
        }
        // Decode everything before visiting anything: a damaged value must
        // fall back to computing the report, not print half of it.
        let report = KeptReport { parts };
        let Some(decoded) = report.rows() else {
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
        tx.execute("DELETE FROM report_cache", [])?;
        {
            let mut insert = tx.prepare("INSERT INTO report_cache (part, rows) VALUES (?1, ?2)")?;
            for (part, rows) in report.parts.iter().enumerate() {
                insert.execute(rusqlite::params![part as i64, rows])?;
            }
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

/// Report rows encoded for keeping (see the module's documentation), in
/// parts: kept as the audit grouped them (one part per section and contact),
/// so nothing is copied into one large value at the audit's peak memory.
#[derive(Debug, Default)]
pub struct KeptReport {
    parts: Vec<Vec<u8>>,
}

impl KeptReport {
    /// Parts of rows encoded by [`encode_row`], in the report's order.
    pub fn from_parts(parts: Vec<Vec<u8>>) -> KeptReport {
        KeptReport { parts }
    }

    /// The rows: (section, contact_code, account_id, email, given_name,
    /// family_name, category, match).
    pub fn rows(&self) -> Option<Vec<[&str; 8]>> {
        let mut rows = Vec::new();
        for part in &self.parts {
            rows.append(&mut decode(part)?);
        }
        Some(rows)
    }
}

/// Appends one report row to `out`. `texts` are the contact code, account
/// id, email, given name, family name and match.
pub fn encode_row(out: &mut Vec<u8>, section: Section, category: Category, texts: [&str; 6]) {
    out.push(Section::ALL.iter().position(|s| *s == section).unwrap_or(0) as u8);
    out.push(
        Category::ALL
            .iter()
            .position(|c| *c == category)
            .unwrap_or(0) as u8,
    );
    for text in texts {
        let mut len = text.len();
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(text.as_bytes());
    }
}

/// The rows of an encoded value, or None if it is damaged in any way.
fn decode(mut blob: &[u8]) -> Option<Vec<[&str; 8]>> {
    let mut rows = Vec::new();
    while let [section, category, rest @ ..] = blob {
        let section = Section::ALL.get(usize::from(*section))?.as_str();
        let category = Category::ALL.get(usize::from(*category))?.as_str();
        blob = rest;
        let mut texts = [""; 6];
        for text in &mut texts {
            let mut len = 0usize;
            let mut shift = 0;
            loop {
                let (&byte, rest) = blob.split_first()?;
                blob = rest;
                if shift > 28 {
                    return None;
                }
                len |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            if blob.len() < len {
                return None;
            }
            let (bytes, rest) = blob.split_at(len);
            *text = std::str::from_utf8(bytes).ok()?;
            blob = rest;
        }
        let [contact, id, email, given, family, nhsmail_match] = texts;
        rows.push([
            section,
            contact,
            id,
            email,
            given,
            family,
            category,
            nhsmail_match,
        ]);
    }
    blob.is_empty().then_some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(rows: &[(Section, Category, [&str; 6])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (section, category, texts) in rows {
            encode_row(&mut out, *section, *category, *texts);
        }
        out
    }

    #[test]
    fn rows_come_back_exactly_and_in_order() {
        let long = "x".repeat(300); // a length over one LEB128 byte
        let rows = [
            (
                Section::ContactCommissioner,
                Category::NhsUkDomain,
                ["00T", "U1", "a@nhs.net", "Ann", "Lee", "ann.lee@nhs.net"],
            ),
            (
                Section::Administrator,
                Category::Ok,
                ["cqrs-administrator", "U2", "", "Ōla", long.as_str(), ""],
            ),
        ];
        let blob = encoded(&rows);
        let back = decode(&blob).expect("decodes");
        assert_eq!(
            back,
            rows.iter()
                .map(|(s, c, t)| [s.as_str(), t[0], t[1], t[2], t[3], t[4], c.as_str(), t[5]])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_damaged_value_is_refused_not_half_read() {
        let blob = encoded(&[(
            Section::NoNhsmail,
            Category::NotInDirectory,
            ["a", "b", "c", "d", "e", "f"],
        )]);
        for cut in 1..blob.len() {
            assert_eq!(decode(&blob[..cut]), None, "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[3] = 0xff; // the contact code's one byte: not UTF-8
        assert_eq!(decode(&bad), None);
        let mut bad = blob.clone();
        bad[0] = 200; // no such section
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&[]), Some(vec![]));
    }
}
