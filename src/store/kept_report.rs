//! The kept report: the rows a whole-store audit computed, saved as one
//! value so the `report` that follows needs no second audit.
//!
//! A few thousand blobs, not a table of rows: a national report has about
//! 200,000 rows, which cost an audit about 0.25 s to insert and cost a few
//! milliseconds as one blob per section and contact; the report only ever
//! reads them all. The rows are in the
//! report's order, each as: its section (one byte, the section's place in
//! rules.md's table), its category (one byte, its place in rules.md's list),
//! then seven texts (contact code, account id, email, given name, family
//! name, match, and what an account of CQRS's at the match differs in), each
//! its length in bytes (LEB128) and its UTF-8. Compact, because the audit
//! that keeps them is measured with them: every byte is held in memory,
//! written and synced once.
//!
//! The settings value that says which generation the rows belong to also
//! holds how many rows were kept: a row lost from the table (a part deleted,
//! a blob cut at a row's end) decodes cleanly, and only the count shows it.
//! It ends with the encoding's version ([`FORMAT`]): rows kept by a version
//! of the tool that encoded them otherwise are computed afresh, never
//! misread, and an older tool reads a value of three words as no kept
//! report at all.
//! Rows that cannot be read back in full are never shown in part: the store
//! says the kept report is unreadable and the report computes it afresh.

use crate::rules::{Category, Section};

/// The version of the row encoding, the last word of the settings value.
/// Version 1 (no version word) had six texts; version 2 added the
/// `not_a_replacement` text.
pub const FORMAT: u32 = 2;

/// The settings value kept beside the rows: "GENERATION COUNT FORMAT".
pub fn settings_value(generation: u64, count: u64) -> String {
    format!("{generation} {count} {FORMAT}")
}

/// The generation and row count of a settings value written by
/// [`settings_value`] in this version's encoding; `None` for a value of any
/// other shape or version (its rows are computed afresh).
pub fn parse_settings_value(value: &str) -> Option<(u64, u64)> {
    let mut words = value.split(' ');
    let (Some(generation), Some(count), Some(format), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return None;
    };
    if format.parse() != Ok(FORMAT) {
        return None;
    }
    generation.parse().ok().zip(count.parse().ok())
}

/// One kept report row, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptRow<'a> {
    pub section: Section,
    pub category: Category,
    pub contact_code: &'a str,
    pub account_id: &'a str,
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    /// The NHSmail address matched, or empty.
    pub nhsmail_match: &'a str,
    /// What the account of CQRS's that holds the address differs in (it is
    /// not the account's replacement), or empty.
    pub not_a_replacement: &'a str,
}

impl<'a> KeptRow<'a> {
    /// A row from its seven texts, in the order a kept row holds them:
    /// contact code, account id, email, given name, family name, match,
    /// not-a-replacement.
    pub fn from_texts(section: Section, category: Category, texts: [&'a str; 7]) -> KeptRow<'a> {
        KeptRow {
            section,
            category,
            contact_code: texts[0],
            account_id: texts[1],
            email: texts[2],
            given_name: texts[3],
            family_name: texts[4],
            nhsmail_match: texts[5],
            not_a_replacement: texts[6],
        }
    }

    /// The row's seven texts, in the order [`KeptRow::from_texts`] takes them.
    pub fn texts(&self) -> [&'a str; 7] {
        [
            self.contact_code,
            self.account_id,
            self.email,
            self.given_name,
            self.family_name,
            self.nhsmail_match,
            self.not_a_replacement,
        ]
    }

    /// The account's texts, in the order a report row holds them: account
    /// id, email, given name, family name, match, not-a-replacement.
    pub fn account_texts(&self) -> [&'a str; 6] {
        let [_contact_code, account @ ..] = self.texts();
        account
    }
}

/// Why kept report rows cannot be read back: where the damage is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("part {part}, byte {offset}: {what}")]
pub struct Unreadable {
    pub part: usize,
    pub offset: usize,
    pub what: &'static str,
}

/// Report rows encoded for keeping (see the module's documentation), in
/// parts: kept as the audit grouped them (one part per section and contact),
/// so nothing is copied into one large value at the audit's peak memory.
#[derive(Debug, Default)]
pub struct KeptReport {
    pub(super) parts: Vec<Vec<u8>>,
    /// How many rows the parts hold.
    pub(super) count: u64,
}

impl KeptReport {
    /// Parts of rows encoded by [`encode_row`], in the report's order, and
    /// how many rows were encoded into them.
    pub fn from_parts(parts: Vec<Vec<u8>>, count: u64) -> KeptReport {
        KeptReport { parts, count }
    }

    /// The rows, every one of them, or where the first damage is: never
    /// some of them.
    pub fn rows(&self) -> Result<Vec<KeptRow<'_>>, Unreadable> {
        let mut rows = Vec::new();
        for (part, blob) in self.parts.iter().enumerate() {
            decode(blob, &mut rows).map_err(|(offset, what)| Unreadable { part, offset, what })?;
        }
        Ok(rows)
    }
}

/// The kept rows looked up by their match, for the sign-in check (whose
/// confident match is this address?): the rows with a confident match, in
/// this many buckets by their match's normal form. A back end that keeps
/// them beside the rows (PostgreSQL) reads one bucket, a few kilobytes,
/// instead of every row (14 MB for a national report).
pub const MATCH_BUCKETS: u32 = 1024;

/// Whether a report row's `match` column is a confident match whose normal
/// form is `key` (itself a normal form: trimmed, ASCII lower case), without
/// building the normal form of every row's match.
pub fn is_match_of(nhsmail_match: &str, key: &str) -> bool {
    nhsmail_match.contains('@')
        && crate::rules::address::trim_ascii_whitespace(nhsmail_match).eq_ignore_ascii_case(key)
}

/// The bucket of a confident match (or of an address asked about): FNV-1a
/// over its normal form's bytes, so that a match and every spelling of it
/// that [`is_match_of`] accepts fall in the same bucket. Fixed forever for
/// [`MATCH_BUCKETS`]: the buckets are kept with their count, and buckets
/// kept with another count are not read.
pub fn match_bucket(address: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in crate::rules::address::trim_ascii_whitespace(address).bytes() {
        hash ^= u64::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(MATCH_BUCKETS)) as u32
}

impl KeptReport {
    /// The rows with a confident match, encoded again into
    /// [`MATCH_BUCKETS`] values by [`match_bucket`], each in the report's
    /// order and led by its row count (4 bytes, big-endian), so a value cut
    /// at a row's end is seen as damaged, as the whole report's count shows
    /// it. Every bucket is there, empty or not: a missing one is damage,
    /// never "no match".
    pub fn match_buckets(&self) -> Result<Vec<Vec<u8>>, Unreadable> {
        let mut buckets: Vec<(u32, Vec<u8>)> = (0..MATCH_BUCKETS)
            .map(|_| (0, 0u32.to_be_bytes().to_vec()))
            .collect();
        for row in self.rows()? {
            if !row.nhsmail_match.contains('@') {
                continue;
            }
            let (count, out) = &mut buckets[match_bucket(row.nhsmail_match) as usize];
            *count += 1;
            encode_row(out, row.section, row.category, row.texts());
        }
        Ok(buckets
            .into_iter()
            .map(|(count, mut out)| {
                out[..4].copy_from_slice(&count.to_be_bytes());
                out
            })
            .collect())
    }
}

/// The rows of one bucket of [`KeptReport::match_buckets`], every one of
/// them (as many as its count says), or where the damage is.
pub fn bucket_rows(blob: &[u8]) -> Result<Vec<KeptRow<'_>>, Unreadable> {
    let damaged = |offset, what| Unreadable {
        part: 0,
        offset,
        what,
    };
    let (count, rows_blob) = blob
        .split_first_chunk::<4>()
        .ok_or(damaged(0, "cut short"))?;
    let mut rows = Vec::new();
    decode(rows_blob, &mut rows).map_err(|(offset, what)| damaged(offset + 4, what))?;
    if rows.len() as u64 != u64::from(u32::from_be_bytes(*count)) {
        return Err(damaged(blob.len(), "rows missing"));
    }
    Ok(rows)
}

/// Appends one report row to `out`. `texts` are the contact code, account
/// id, email, given name, family name, match and not-a-replacement.
pub fn encode_row(out: &mut Vec<u8>, section: Section, category: Category, texts: [&str; 7]) {
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

/// Visits the rows of one kept part, the `part`th, as they decode, and says
/// how many there were, or where the part is damaged: then the rows before
/// the damage have been visited, and the caller must drop them with every
/// other row it was given (a back end that streams the parts,
/// PostgreSQL's, visits each as it arrives and checks the row count only
/// after the last).
pub fn visit_part_rows<'a>(
    part: usize,
    blob: &'a [u8],
    visit: &mut dyn FnMut(&KeptRow<'a>),
) -> Result<u64, Unreadable> {
    let mut count = 0;
    decode_each(blob, |row| {
        count += 1;
        visit(&row);
    })
    .map_err(|(offset, what)| Unreadable { part, offset, what })?;
    Ok(count)
}

/// Appends the rows of an encoded value to `rows`, or says at which byte
/// and how it is damaged.
fn decode<'a>(whole: &'a [u8], rows: &mut Vec<KeptRow<'a>>) -> Result<(), (usize, &'static str)> {
    decode_each(whole, |row| rows.push(row))
}

/// Gives each row of an encoded value to `visit` as it decodes, or says at
/// which byte and how it is damaged (the rows before it given already).
fn decode_each<'a>(
    whole: &'a [u8],
    mut visit: impl FnMut(KeptRow<'a>),
) -> Result<(), (usize, &'static str)> {
    // A part whose every text is under 128 bytes is itself valid UTF-8 (its
    // section, category and length bytes are ASCII): one check of the part
    // then replaces one per text, which was a sixth of a national `report
    // --format csv`, and a text is taken from it where it starts and ends on
    // a character boundary (checked; a damaged part fails the check). Any
    // other text is checked by itself.
    let valid = std::str::from_utf8(whole).ok();
    let mut blob = whole;
    let at = |blob: &[u8]| whole.len() - blob.len();
    while let [section, category, rest @ ..] = blob {
        let section = *Section::ALL
            .get(usize::from(*section))
            .ok_or((at(blob), "no such section"))?;
        let category = *Category::ALL
            .get(usize::from(*category))
            .ok_or((at(blob) + 1, "no such category"))?;
        blob = rest;
        let mut texts = [""; 7];
        for text in &mut texts {
            let mut len = 0usize;
            let mut shift = 0;
            loop {
                let (&byte, rest) = blob.split_first().ok_or((at(blob), "cut short"))?;
                if shift > 28 {
                    return Err((at(blob), "a length too long"));
                }
                blob = rest;
                len |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            if blob.len() < len {
                return Err((at(blob), "cut short"));
            }
            let start = at(blob);
            let (bytes, rest) = blob.split_at(len);
            *text = match valid.and_then(|valid| valid.get(start..start + len)) {
                Some(text) => text,
                None => std::str::from_utf8(bytes).map_err(|_| (start, "not UTF-8"))?,
            };
            blob = rest;
        }
        visit(KeptRow::from_texts(section, category, texts));
    }
    if blob.is_empty() {
        Ok(())
    } else {
        Err((at(blob), "cut short"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(rows: &[(Section, Category, [&str; 7])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (section, category, texts) in rows {
            encode_row(&mut out, *section, *category, *texts);
        }
        out
    }

    fn decoded(blob: &[u8]) -> Result<Vec<KeptRow<'_>>, (usize, &'static str)> {
        let mut rows = Vec::new();
        decode(blob, &mut rows).map(|()| rows)
    }

    #[test]
    fn rows_come_back_exactly_and_in_order() {
        let long = "x".repeat(300); // a length over one LEB128 byte
        let rows = [
            (
                Section::ContactCommissioner,
                Category::NhsUkDomain,
                [
                    "00T",
                    "U1",
                    "a@nhs.net",
                    "Ann",
                    "Lee",
                    "ann.lee@nhs.net",
                    "CQRS's account U9 has the address: roles missing: 00T Submitter",
                ],
            ),
            (
                Section::Administrator,
                Category::Ok,
                ["cqrs-administrator", "U2", "", "Ōla", long.as_str(), "", ""],
            ),
        ];
        let blob = encoded(&rows);
        let back = decoded(&blob).expect("decodes");
        assert_eq!(
            back,
            rows.iter()
                .map(|(section, category, t)| KeptRow {
                    section: *section,
                    category: *category,
                    contact_code: t[0],
                    account_id: t[1],
                    email: t[2],
                    given_name: t[3],
                    family_name: t[4],
                    nhsmail_match: t[5],
                    not_a_replacement: t[6],
                })
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn short_texts_come_back_from_the_part_checked_whole() {
        let rows = [(
            Section::NoNhsmail,
            Category::NotInDirectory,
            ["00T", "U1", "zoë@nhs.net", "Ōla", "Nguyễn", "", "ñ"],
        )];
        let blob = encoded(&rows);
        assert!(std::str::from_utf8(&blob).is_ok(), "the shortcut is taken");
        let back = decoded(&blob).expect("decodes");
        assert_eq!(back[0].email, "zoë@nhs.net");
        assert_eq!(back[0].family_name, "Nguyễn");
        assert_eq!(back[0].not_a_replacement, "ñ");
    }

    #[test]
    fn a_text_cut_inside_a_character_is_refused_even_if_the_part_reads_as_utf8() {
        // A text of one byte 0xC3, then a length of 128 (0x80 0x01): the
        // part is valid UTF-8 (0xC3 0x80 is "À"), the text is not.
        let mut blob = vec![0, 0, 1, 0xC3, 0x80, 0x01];
        blob.extend_from_slice(&[b'x'; 128]);
        blob.extend_from_slice(&[0; 5]);
        assert!(std::str::from_utf8(&blob).is_ok());
        assert_eq!(decoded(&blob), Err((3, "not UTF-8")));
    }

    #[test]
    fn a_damaged_value_is_refused_not_half_read() {
        let blob = encoded(&[(
            Section::NoNhsmail,
            Category::NotInDirectory,
            ["a", "b", "c", "d", "e", "f", "g"],
        )]);
        for cut in 1..blob.len() {
            assert!(decoded(&blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[3] = 0xff; // the contact code's one byte: not UTF-8
        assert_eq!(decoded(&bad), Err((3, "not UTF-8")));
        let mut bad = blob.clone();
        bad[0] = 200; // no such section
        assert_eq!(decoded(&bad), Err((0, "no such section")));
        assert_eq!(decoded(&[]), Ok(vec![]));
        // In a report of several parts, the damaged part is named and no
        // row of the others is given.
        let report = KeptReport::from_parts(vec![blob.clone(), blob[..5].to_vec()], 2);
        assert_eq!(report.rows().map(|r| r.len()).unwrap_err().part, 1);
    }

    #[test]
    fn the_match_buckets_hold_each_matched_row_once_in_order() {
        let texts = |id: &'static str, m: &'static str| ["00T", id, "", "Ann", "Lee", m, ""];
        let rows = [
            texts("U1", "ann.lee@nhs.net"),
            texts("U2", ""),
            texts("U3", "review: 2 people"),
            texts("U4", " ANN.LEE@nhs.net"),
            texts("U5", "bob.ray@nhs.net"),
        ];
        let mut part = Vec::new();
        for t in rows {
            encode_row(&mut part, Section::NoNhsmail, Category::NotInDirectory, t);
        }
        let report = KeptReport::from_parts(vec![part.clone(), part], 10);
        let buckets = report.match_buckets().expect("readable");
        assert_eq!(buckets.len(), MATCH_BUCKETS as usize);
        // Every spelling of a match falls in its normal form's bucket.
        let bucket = match_bucket("ann.lee@nhs.net");
        assert_eq!(match_bucket("  Ann.Lee@NHS.net\t"), bucket);
        let ids = |b: u32| -> Vec<String> {
            bucket_rows(&buckets[b as usize])
                .expect("readable")
                .iter()
                .map(|r| r.account_id.to_string())
                .collect()
        };
        // Both parts' rows, in the report's order; no row without a match.
        assert_eq!(ids(bucket), ["U1", "U4", "U1", "U4"]);
        assert_eq!(ids(match_bucket("bob.ray@nhs.net")), ["U5", "U5"]);
        let total: usize = (0..MATCH_BUCKETS).map(|b| ids(b).len()).sum();
        assert_eq!(total, 6);
        // A bucket cut at a row's end, or with no count, is damage.
        let whole = &buckets[bucket as usize];
        let one_row = 4 + (whole.len() - 4) / 4;
        assert_eq!(
            bucket_rows(&whole[..one_row]).unwrap_err().what,
            "rows missing"
        );
        assert!(bucket_rows(&whole[..3]).is_err());
    }

    #[test]
    fn only_this_encodings_settings_value_is_read() {
        assert_eq!(parse_settings_value(&settings_value(7, 12)), Some((7, 12)));
        // Version 1 wrote "GENERATION COUNT": its six-text rows must be
        // computed afresh, not decoded as seven-text ones.
        assert_eq!(parse_settings_value("7 12"), None);
        assert_eq!(parse_settings_value("7 12 1"), None);
        assert_eq!(parse_settings_value("7 12 2 x"), None);
        assert_eq!(parse_settings_value("seven 12 2"), None);
    }
}
