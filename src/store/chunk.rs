//! Checked rows of an input file on their way into the store, and the
//! addresses' look-up keys: the same for every back end.

use std::cmp::Ordering;

use super::address_key::normal_form_key;
use crate::model::FileKind;

/// The most fields a row of any input file has.
pub(super) const MAX_FIELDS: usize = 8;

/// Checked rows, their values owned in one buffer per chunk (not one per row:
/// a national import has millions of rows, and per-row allocations cost more
/// than parsing them). Values are in the column order of the table they go
/// into (see [`columns`]); an empty value is stored as NULL where the column
/// is optional. The writer hands chunks back to be refilled.
#[derive(Debug, Default)]
pub struct Chunk {
    text: String,
    rows: Vec<RowMeta>,
    /// The rows are in the table's key order (then by line): see
    /// [`Chunk::sort`].
    sorted: bool,
}

#[derive(Debug, Clone, Copy)]
struct RowMeta {
    line: u64,
    start: u32,
    ends: [u32; MAX_FIELDS],
    len: u8,
}

/// One row of a chunk.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    text: &'a str,
    meta: &'a RowMeta,
}

impl Chunk {
    pub fn with_capacity(rows: usize) -> Chunk {
        Chunk {
            text: String::with_capacity(rows * 96),
            rows: Vec::with_capacity(rows),
            sorted: false,
        }
    }

    pub fn push(&mut self, line: u64, fields: &[&str]) {
        let start = self.text.len() as u32;
        let mut ends = [0u32; MAX_FIELDS];
        for (i, f) in fields.iter().take(MAX_FIELDS).enumerate() {
            self.text.push_str(f);
            ends[i] = self.text.len() as u32 - start;
        }
        self.rows.push(RowMeta {
            line,
            start,
            ends,
            len: fields.len().min(MAX_FIELDS) as u8,
        });
        self.sorted = false;
    }

    /// Puts the rows in the order `kind`'s table keeps them (then by line),
    /// so the writer need not. Done on the parsing thread, which has time to
    /// spare while the writer is busy.
    pub fn sort(&mut self, kind: FileKind) {
        if !self.sorted {
            let order = sort_by_key(kind, (0..self.len()).map(|i| (i, self.row(i))));
            self.rows = order.into_iter().map(|i| self.rows[i]).collect();
            self.sorted = true;
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
        self.sorted = false;
    }

    pub fn row(&self, i: usize) -> RowRef<'_> {
        RowRef {
            text: &self.text,
            meta: &self.rows[i],
        }
    }

    pub fn last(&self) -> Option<RowRef<'_>> {
        self.len().checked_sub(1).map(|i| self.row(i))
    }
}

impl<'a> RowRef<'a> {
    pub fn line(&self) -> u64 {
        self.meta.line
    }

    pub fn field(&self, i: usize) -> &'a str {
        if i >= self.meta.len as usize {
            return "";
        }
        let base = self.meta.start as usize;
        let start = if i == 0 {
            0
        } else {
            self.meta.ends[i - 1] as usize
        };
        &self.text[base + start..base + self.meta.ends[i] as usize]
    }
}

/// The look-up key of every imported account's address (its normal form's
/// `cqrs_address_key`) with its account id, the ids in one buffer, sorted
/// for writing `account_emails` in key order.
#[derive(Debug, Default)]
pub struct EmailKeys {
    ids: String,
    entries: Vec<EmailEntry>,
}

/// One (key, id) in [`EmailKeys`]: the key, and where the id is in its buffer.
#[derive(Debug, Clone, Copy)]
struct EmailEntry {
    key: i64,
    start: u32,
    end: u32,
}

impl EmailKeys {
    /// Adds an account's address and id.
    pub fn push(&mut self, email: &str, account_id: &str) {
        let start = self.ids.len() as u32;
        self.ids.push_str(account_id);
        self.entries.push(EmailEntry {
            key: normal_form_key(email),
            start,
            end: self.ids.len() as u32,
        });
    }

    fn id(&self, e: &EmailEntry) -> &str {
        &self.ids[e.start as usize..e.end as usize]
    }

    /// Sorts by (key, id), the table's order.
    pub fn sort(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key).then_with(|| self.id(a).cmp(self.id(b))));
        self.entries = entries;
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (i64, &str)> {
        self.entries.iter().map(|e| (e.key, self.id(e)))
    }
}

/// The table's columns, in the order a [`Chunk`] row holds them: the
/// columns of the import files, as `crate::columns` defines them once (the
/// checks fill a chunk's rows from the same typed rows, and `export` writes
/// them).
pub fn columns(kind: FileKind) -> &'static [&'static str] {
    crate::columns::names(kind)
}

/// Columns stored as NULL when the file leaves them empty.
pub(super) fn nullable(kind: FileKind, column: usize) -> bool {
    crate::columns::nullable(kind)[column]
}

/// How many leading columns form the table's key.
pub(super) fn key_len(kind: FileKind) -> usize {
    match kind {
        FileKind::Permissions => 3,
        _ => 1,
    }
}

/// Compares two rows by the table's key, as SQLite orders it: column by
/// column, bytewise. (The directory, the one table with a `NOCASE` key
/// column, is written in the file's order and never sorted here.)
pub(super) fn key_order(kind: FileKind, a: &RowRef<'_>, b: &RowRef<'_>) -> Ordering {
    for i in 0..key_len(kind) {
        match a.field(i).cmp(b.field(i)) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// Sorts rows by the table's key, then by line (so of two rows with one key
/// the earlier comes first), returning their tags in that order. Each key is
/// written once into one buffer as bytes that compare in SQLite's order
/// (fields separated by NUL, which no checked value contains), with its first
/// eight bytes as a number: most comparisons are then one integer comparison.
pub(super) fn sort_by_key<'a, T: Copy>(
    kind: FileKind,
    rows: impl Iterator<Item = (T, RowRef<'a>)>,
) -> Vec<T> {
    let mut keys: Vec<u8> = Vec::new();
    let mut entries: Vec<(u64, u32, u32, u64, T)> = Vec::new();
    for (tag, row) in rows {
        let start = keys.len();
        for i in 0..key_len(kind) {
            if i > 0 {
                keys.push(0);
            }
            keys.extend_from_slice(row.field(i).as_bytes());
        }
        let mut prefix = [0u8; 8];
        for (slot, b) in prefix.iter_mut().zip(&keys[start..]) {
            *slot = *b;
        }
        entries.push((
            u64::from_be_bytes(prefix),
            start as u32,
            keys.len() as u32,
            row.line(),
            tag,
        ));
    }
    let key = |e: &(u64, u32, u32, u64, T)| &keys[e.1 as usize..e.2 as usize];
    entries.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| key(a).cmp(key(b)))
            .then_with(|| a.3.cmp(&b.3))
    });
    entries.into_iter().map(|e| e.4).collect()
}

/// Whether an import of `kind` writes its rows in the table's key order:
/// into an empty table, every kind but organisations (few) and the
/// directory (kept in the file's order). Files are often in order but for a
/// few rows (an account's roles in any order): each chunk is sorted first,
/// which puts those right.
pub fn written_in_key_order(kind: FileKind, fresh: bool) -> bool {
    fresh && !matches!(kind, FileKind::Organisations | FileKind::Directory)
}

/// Of the directory entries on these lines (key, first, later), which share
/// a look-up key, those whose addresses are equal ignoring case: the
/// repeated addresses, each a problem on its later line. `address` gives the
/// address written from a line (a back end reads it back however it can).
pub(super) fn repeated_addresses(
    pairs: &[(i64, u64, u64)],
    mut address: impl FnMut(u64) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<Vec<crate::error::FileProblem>> {
    let mut problems = Vec::new();
    for &(_, first, later) in pairs {
        if let (Some(a), Some(b)) = (address(first)?, address(later)?)
            && a.eq_ignore_ascii_case(&b)
        {
            problems.push(crate::error::FileProblem {
                line: later,
                column: Some("address".to_string()),
                message: format!(
                    "address {b} is also on line {first}: each address may appear only once"
                ),
            });
        }
    }
    Ok(problems)
}

/// The problem of a row naming an account the store does not hold.
pub fn unknown_account(line: u64, id: &str) -> crate::error::FileProblem {
    crate::error::FileProblem {
        line,
        column: Some("account_id".into()),
        message: format!("there is no account {id}: import it in accounts.csv first"),
    }
}
