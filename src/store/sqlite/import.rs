//! Writing an imported file: one transaction per file, committed only when the
//! whole file was valid.
//!
//! Speed matters here (a national extract is millions of rows), so a file
//! going into an empty table is written in key order: the tables are
//! clustered `WITHOUT ROWID` B-trees, and appending keys in order is several
//! times cheaper than inserting them at random. Files that arrive sorted (most
//! exports are) stream straight in while the next rows are parsed; others are
//! held, sorted in memory and then written. Sorting also finds repeated keys.
//! The directory, which arrives in no order, is the exception: its entries
//! are appended as read, and its look-up table (`directory_keys`) is written
//! sorted at the end, as is `account_emails` for accounts.

use std::cmp::Ordering;

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Statement};

use super::raw::{BulkInsert, Value};

use super::{SqliteStore, schema, store_error, tx};
use crate::error::FileProblem;
use crate::model::FileKind;
use crate::store::chunk::{MAX_FIELDS, key_len, key_order, nullable, sort_by_key};
use crate::store::{
    BackgroundSync, Chunk, EmailKeys, ImportCounts, RowRef, columns, written_in_key_order,
};

fn table(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Organisations => "organisations",
        FileKind::Accounts => "accounts",
        FileKind::Permissions => "permissions",
        FileKind::Directory => "directory",
        FileKind::Activity => "activity",
    }
}

/// The statement for `rows` rows into an empty table: a plain insert. A
/// directory entry also gets its line as its `entry` (bound first, see
/// `SqliteImport::bind`).
fn insert_sql(kind: FileKind, rows: usize) -> String {
    let (head, per_row) = if kind == FileKind::Directory {
        (
            format!(
                "INSERT INTO directory (entry, {})",
                columns(kind).join(", ")
            ),
            columns(kind).len() + 1,
        )
    } else {
        (
            format!("INSERT INTO {} ({})", table(kind), columns(kind).join(", ")),
            columns(kind).len(),
        )
    };
    let one = format!("({})", vec!["?"; per_row].join(", "));
    format!("{head} VALUES {}", vec![one; rows].join(", "))
}

/// How many rows a fresh import writes per statement: each execution of a
/// statement costs about as much again as a small row.
const ROWS_PER_INSERT: usize = 128;

/// The statement for one row into a table that already has rows: a re-import
/// updates rows by their key and leaves identical rows alone (the `WHERE`
/// makes `changes()` count only real updates). An account's email is not in
/// its update list: the import refuses a changed email before it gets here,
/// and the store's trigger would refuse it anyway.
fn upsert_sql(kind: FileKind) -> String {
    let cols = columns(kind);
    let key: Vec<&str> = cols[..key_len(kind)].to_vec();
    let rest: Vec<&str> = cols[key_len(kind)..]
        .iter()
        .copied()
        .filter(|c| !(kind == FileKind::Accounts && *c == "email"))
        .collect();
    if rest.is_empty() {
        return format!("{} ON CONFLICT DO NOTHING", insert_sql(kind, 1));
    }
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let old: Vec<&str> = rest.clone();
    let new: Vec<String> = rest.iter().map(|c| format!("excluded.{c}")).collect();
    format!(
        "{} ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS NOT ({})",
        insert_sql(kind, 1),
        key.join(", "),
        set.join(", "),
        old.join(", "),
        new.join(", ")
    )
}

fn count_rows(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

/// An import in progress. `finish` commits; dropping it without `finish` rolls
/// everything back, so a file with any problem (or a killed process) leaves the
/// store as it was.
pub struct SqliteImport<'a> {
    conn: &'a Connection,
    /// The store's path, for errors about the file itself (read-only, full).
    path: std::path::PathBuf,
    kind: FileKind,
    insert: BulkInsert<'a>,
    /// For a fresh import: the insert of [`ROWS_PER_INSERT`] rows at once.
    insert_many: Option<BulkInsert<'a>>,
    /// The look-up of an account by id, once prepared (a million look-ups
    /// would otherwise each find it in the statement cache by its text).
    account_lookup: std::cell::RefCell<Option<Statement<'a>>>,
    rows_before: u64,
    changed: u64,
    seen: u64,
    /// The table was empty: rows are written in key order and the indexes
    /// built once at the end.
    fresh: bool,
    /// Chunks held back because the file is not in key order (with the rows
    /// of each that passed the caller's checks).
    held: Vec<(Chunk, Vec<u32>)>,
    /// The last row written while streaming in key order.
    last: Option<Chunk>,
    /// Rows that arrived out of key order and were written anyway.
    disordered: u64,
    replaced: Option<u64>,
    /// The triggers dropped for a fresh import, to put back before commit.
    suspended: Vec<String>,
    done: bool,
}

/// Syncing a large import's rows to disk before its commit, on a thread that
/// has nothing else to do while the writer writes the look-up tables: the
/// commit's own sync then has only the last pages to write.
///
/// The descriptor used is kept until this value is dropped, which the caller
/// does only after the import's transaction is over: closing any descriptor
/// of the store would drop the locks SQLite holds on it (POSIX locks belong
/// to the process, not the descriptor). A failed sync only means the commit
/// does it all.
pub struct EarlySync {
    path: std::path::PathBuf,
    file: std::sync::Mutex<Option<std::fs::File>>,
}

impl BackgroundSync for EarlySync {
    /// Syncs the rows written so far (call it on a thread of its own).
    fn sync(&self) {
        if let Ok(file) = std::fs::File::open(&self.path) {
            let _ = file.sync_data();
            tracing::info!("rows synced");
            if let Ok(mut slot) = self.file.lock() {
                *slot = Some(file);
            }
        }
    }
}

impl SqliteStore {
    /// An [`EarlySync`] of this store, for a large import.
    pub fn early_sync(&self) -> EarlySync {
        EarlySync {
            path: self.path.clone(),
            file: std::sync::Mutex::new(None),
        }
    }
}

impl SqliteStore {
    /// Whether a file of `kind` would go into an empty table (the fast path).
    /// The directory is always replaced whole, so it always does.
    pub fn import_is_fresh(&self, kind: FileKind) -> Result<bool> {
        Ok(kind == FileKind::Directory || count_rows(&self.conn, table(kind))? == 0)
    }

    /// Starts importing a file of `kind`. Takes the write lock now.
    pub fn begin_import(&mut self, kind: FileKind) -> Result<SqliteImport<'_>> {
        let path = self.path.clone();
        let conn = &self.conn;
        // The ordinary 16 MB page cache: a bulk load into an empty table only
        // ever changes the last pages of each tree, and full pages are
        // written out (spilled) as it goes. Keeping every new page in memory
        // until the commit (256 MB) cost more time, in the kernel zeroing
        // that memory, than it saved.
        tx::begin(conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        if let Err(e) = super::refuse_if_tampered(conn, &path) {
            tx::rollback(conn);
            return Err(e);
        }
        let started = (|| -> rusqlite::Result<SqliteImport<'_>> {
            let name = table(kind);
            let mut rows_before = count_rows(conn, name)?;
            let mut replaced = None;
            if kind == FileKind::Directory {
                // A new extract replaces the old one as a whole.
                conn.execute("DELETE FROM directory", [])?;
                conn.execute("DELETE FROM directory_keys", [])?;
                replaced = Some(rows_before);
                rows_before = 0;
            }
            let fresh = rows_before == 0;
            // The guards against REPLACE (a BEFORE INSERT trigger that looks
            // up the row being inserted) cost a look-up per row: 47% more
            // CPU for a million accounts. The import's own statements can
            // replace nothing (a plain INSERT, or an upsert whose update
            // leaves the email out and whose activity updates the
            // BEFORE UPDATE triggers still refuse), so the guards are
            // dropped for this transaction only and put back, in the text
            // checked at its start, before it commits. No other connection
            // ever sees the store without them; a killed or refused import
            // rolls back with them in place.
            let suspended = tx::drop_triggers(
                conn,
                schema::SUSPENDED_IN_BULK
                    .iter()
                    .filter(|(t, _)| *t == name)
                    .map(|(_, trigger)| *trigger),
            )?;
            if fresh {
                for index in schema::INDEXES
                    .iter()
                    .filter(|i| i.table == name && !i.kept_in_bulk)
                {
                    conn.execute_batch(&format!("DROP INDEX IF EXISTS {}", index.name))?;
                }
            }
            let sql = if fresh {
                insert_sql(kind, 1)
            } else {
                upsert_sql(kind)
            };
            let insert = BulkInsert::prepare(conn, &sql)?;
            let insert_many = if fresh {
                Some(BulkInsert::prepare(
                    conn,
                    &insert_sql(kind, ROWS_PER_INSERT),
                )?)
            } else {
                None
            };
            Ok(SqliteImport {
                conn,
                path: path.clone(),
                kind,
                insert,
                insert_many,
                account_lookup: std::cell::RefCell::new(None),
                rows_before,
                changed: 0,
                seen: 0,
                fresh,
                held: Vec::new(),
                last: None,
                disordered: 0,
                replaced,
                suspended,
                done: false,
            })
        })();
        match started {
            Ok(importer) => Ok(importer),
            Err(e) => {
                tx::rollback(conn);
                Err(store_error(&path, e))
            }
        }
    }
}

impl SqliteImport<'_> {
    /// Whether the table was empty when the import started.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Adds a chunk of checked rows; `check` may refuse a row (a reference to
    /// an account that does not exist). Problems (refused or repeated keys)
    /// are pushed to `problems`. Returns the chunk to be refilled, unless it
    /// is held back for sorting.
    pub fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        mut check: impl FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>> {
        let kind = self.kind;
        let in_key_order = written_in_key_order(kind, self.fresh);
        let mut chunk = chunk;
        if in_key_order {
            // Usually done already, by the parsing thread.
            chunk.sort(kind);
        }
        let mut rows: Vec<u32> = Vec::with_capacity(chunk.len());
        for i in 0..chunk.len() {
            match check(chunk.row(i)) {
                Some(p) => problems.push(p),
                None => rows.push(i as u32),
            }
        }
        if !in_key_order {
            let mut pending: Vec<RowRef<'_>> =
                rows.iter().map(|&i| chunk.row(i as usize)).collect();
            self.write_all(&mut pending, problems)?;
            drop(pending);
            return Ok(Some(chunk));
        }
        if !self.held.is_empty() {
            self.held.push((chunk, rows));
            return Ok(None);
        }
        // The chunk is sorted, so its rows that passed the checks are too.
        let order = rows;
        let mut keep: Vec<u32> = Vec::new();
        let mut pending: Vec<RowRef<'_>> = Vec::with_capacity(order.len());
        // The greatest key written so far, and whether it is in this chunk.
        let mut greatest: Option<RowRef<'_>> = self.last.as_ref().and_then(Chunk::last);
        let mut greatest_here = None;
        for i in order {
            let row = chunk.row(i as usize);
            if !keep.is_empty() {
                keep.push(i);
                continue;
            }
            match greatest.map(|last| (key_order(kind, &last, &row), last.line())) {
                Some((Ordering::Equal, first)) => problems.push(self.repeated(row, first)),
                // A few rows out of order are written where they belong; a
                // file that is mostly out of order is held and sorted.
                Some((Ordering::Greater, _))
                    if self.disordered * 20 < self.seen + pending.len() as u64 + 1000 =>
                {
                    self.disordered += 1;
                    pending.push(row);
                }
                Some((Ordering::Greater, _)) => keep.push(i),
                _ => {
                    pending.push(row);
                    greatest = Some(row);
                    greatest_here = Some(i);
                }
            }
        }
        if let Some(i) = greatest_here {
            // Kept apart from the chunk, which goes back to be refilled.
            let row = chunk.row(i as usize);
            let last = self.last.get_or_insert_with(Chunk::default);
            last.clear();
            let n = columns(kind).len();
            let mut fields = [""; MAX_FIELDS];
            for (f, value) in fields.iter_mut().enumerate().take(n) {
                *value = row.field(f);
            }
            last.push(row.line(), &fields[..n]);
        }
        self.write_all(&mut pending, problems)?;
        drop(pending);
        if keep.is_empty() {
            return Ok(Some(chunk));
        }
        // Out of order: hold the rest of the file and sort it at the end.
        self.held.push((chunk, keep));
        Ok(None)
    }

    /// Which of `ids` (sorted, without repeats) the store holds no account
    /// for. Asked on the importing connection: a second connection could not
    /// read once the import has written pages to the file (it holds the
    /// exclusive lock).
    ///
    /// Files list an account's rows together and mostly in id order, so the
    /// ids of a chunk of rows are usually a run of neighbouring accounts:
    /// one walk along the accounts from the first id answers for all of them,
    /// far cheaper than a search from the top of the table for each. Where
    /// the ids are scattered (activity, in date order), each walk is cut
    /// short to one step, which is a plain look-up.
    pub fn unknown_accounts<'i>(&self, ids: &[&'i str]) -> Result<Vec<&'i str>> {
        let mut lookup = self.account_lookup.borrow_mut();
        let stmt = match lookup.as_mut() {
            Some(stmt) => stmt,
            None => lookup.insert(self.conn.prepare(
                "SELECT account_id FROM accounts WHERE account_id >= ?1 ORDER BY account_id LIMIT ?2",
            )?),
        };
        let mut unknown = Vec::new();
        let mut next = 0;
        // How many accounts one walk may read: a walk that answers for few
        // of the ids it passes makes the next one shorter.
        let mut walk = 2 * ids.len() + 16;
        while next < ids.len() {
            let first = next;
            let mut read = 0usize;
            let mut rows = stmt.query(rusqlite::params![ids[next], walk as i64])?;
            while let Some(row) = rows.next()? {
                read += 1;
                let held = row.get_ref(0)?.as_str()?;
                while next < ids.len() && ids[next] < held {
                    unknown.push(ids[next]);
                    next += 1;
                }
                if next < ids.len() && ids[next] == held {
                    next += 1;
                }
                if next == ids.len() {
                    break;
                }
            }
            if read < walk {
                // The walk reached the end of the table.
                unknown.extend_from_slice(&ids[next..]);
                break;
            }
            let answered = next - first;
            if answered * 4 < read {
                walk = 1;
            }
        }
        Ok(unknown)
    }

    fn repeated(&self, row: RowRef<'_>, first_line: u64) -> FileProblem {
        let cols = columns(self.kind);
        let n = key_len(self.kind);
        let key: Vec<&str> = (0..n).map(|i| row.field(i)).collect();
        let what = if n == 1 {
            cols[0].to_string()
        } else {
            format!("({})", cols[..n].join(", "))
        };
        FileProblem {
            line: row.line(),
            column: Some(cols[0].to_string()),
            message: format!(
                "{what} {} is also on line {first_line}: each {what} may appear only once",
                key.join(", ")
            ),
        }
    }

    /// One row's values, in the statement's parameter order. A directory
    /// entry's line comes first: it is the entry's number.
    fn values<'r>(kind: FileKind, row: RowRef<'r>) -> impl Iterator<Item = Value<'r>> {
        let line = (kind == FileKind::Directory)
            .then(|| Value::Integer(i64::try_from(row.line()).unwrap_or(i64::MAX)));
        let fields = (0..columns(kind).len()).map(move |i| {
            let value = row.field(i);
            if value.is_empty() && nullable(kind, i) {
                Value::Null
            } else {
                Value::Text(value)
            }
        });
        line.into_iter().chain(fields)
    }

    /// Writes rows of a fresh import, [`ROWS_PER_INSERT`] per statement where
    /// there are that many, and empties `rows`. If the store refuses a
    /// statement, its rows are written again one by one so each refusal
    /// names its row.
    fn write_all(
        &mut self,
        rows: &mut Vec<RowRef<'_>>,
        problems: &mut Vec<FileProblem>,
    ) -> Result<()> {
        let kind = self.kind;
        let mut at = 0;
        while self.insert_many.is_some() && rows.len() - at >= ROWS_PER_INSERT {
            let batch = &rows[at..at + ROWS_PER_INSERT];
            at += ROWS_PER_INSERT;
            let written = match self.insert_many.as_mut() {
                Some(many) => many.execute(batch.iter().flat_map(|row| Self::values(kind, *row))),
                None => continue,
            };
            match written {
                Ok(n) => {
                    self.seen += ROWS_PER_INSERT as u64;
                    self.changed += n as u64;
                }
                Err(e) if super::fault::is_refused_row(&e) => {
                    // The statement wrote nothing: find the row(s) one by one.
                    for row in batch {
                        if let Some(p) = self.write(*row)? {
                            problems.push(p);
                        }
                    }
                }
                Err(e) => return Err(store_error(&self.path, e)),
            }
        }
        for row in &rows[at..] {
            if let Some(p) = self.write(*row)? {
                problems.push(p);
            }
        }
        rows.clear();
        Ok(())
    }

    fn write(&mut self, row: RowRef<'_>) -> Result<Option<FileProblem>> {
        match self.insert.execute(Self::values(self.kind, row)) {
            Ok(n) => {
                self.seen += 1;
                self.changed += n as u64;
                Ok(None)
            }
            Err(e) if super::fault::is_refused_row(&e) => Ok(Some(FileProblem {
                line: row.line(),
                column: Some(columns(self.kind)[0].to_string()),
                message: format!("the store refused this row: {e}"),
            })),
            Err(e) => Err(store_error(&self.path, e)),
        }
    }

    /// Writes the rows held back, in key order; returns any repeated keys.
    pub fn flush(&mut self) -> Result<Vec<FileProblem>> {
        let mut problems = Vec::new();
        let held = std::mem::take(&mut self.held);
        let kind = self.kind;
        let row = |(c, r): (u32, u32)| held[c as usize].0.row(r as usize);
        let order = sort_by_key(
            kind,
            held.iter().enumerate().flat_map(|(c, (chunk, rows))| {
                rows.iter()
                    .map(move |&r| ((c as u32, r), chunk.row(r as usize)))
            }),
        );
        tracing::info!("held rows sorted");
        let last = self.last.take();
        let mut previous: Option<RowRef<'_>> = last.as_ref().and_then(Chunk::last);
        let mut pending: Vec<RowRef<'_>> = Vec::with_capacity(4096);
        for at in order {
            let current = row(at);
            if let Some(prev) = previous
                && key_order(kind, &prev, &current) == Ordering::Equal
            {
                problems.push(self.repeated(current, prev.line()));
                continue;
            }
            pending.push(current);
            if pending.len() == pending.capacity() {
                self.write_all(&mut pending, &mut problems)?;
            }
            previous = Some(current);
        }
        self.write_all(&mut pending, &mut problems)?;
        Ok(problems)
    }

    /// The directory entries written from these lines (key, first, later)
    /// share a look-up key: those whose addresses are equal ignoring case are
    /// repeated addresses.
    pub fn repeated_addresses(&self, pairs: &[(i64, u64, u64)]) -> Result<Vec<FileProblem>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address FROM directory WHERE entry = ?1")?;
        crate::store::chunk::repeated_addresses(pairs, |line| {
            let line = i64::try_from(line).unwrap_or(i64::MAX);
            Ok(stmt.query_row([line], |r| r.get(0)).optional()?)
        })
    }

    /// `emails` are (address normal form, account_id) of the accounts
    /// imported, sorted: the rows of `account_emails`.
    ///
    /// `address_keys` are (look-up key, line) of the directory entries
    /// imported, sorted: the rows of `directory_keys`.
    pub fn finish(
        mut self,
        commit: bool,
        emails: &EmailKeys,
        address_keys: &[(i64, u64)],
    ) -> Result<ImportCounts> {
        let name = table(self.kind);
        tracing::info!("rows written");
        if self.kind == FileKind::Accounts {
            let sql = if self.fresh {
                "INSERT INTO account_emails (email_key, account_id)"
            } else {
                "INSERT OR IGNORE INTO account_emails (email_key, account_id)"
            };
            insert_pairs(
                self.conn,
                sql,
                emails.iter().map(|(key, id)| (key, Value::Text(id))),
            )?;
        }
        if self.kind == FileKind::Directory {
            insert_pairs(
                self.conn,
                "INSERT INTO directory_keys (address_key, entry)",
                address_keys.iter().map(|&(key, line)| {
                    (key, Value::Integer(i64::try_from(line).unwrap_or(i64::MAX)))
                }),
            )?;
            // Lets the audit size its in-memory index once, up front.
            self.conn.execute(
                "INSERT INTO settings (key, value) VALUES ('directory.entries', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [self.seen.to_string()],
            )?;
        }
        tracing::info!("account_emails written");
        for index in schema::INDEXES.iter().filter(|i| i.table == name) {
            self.conn.execute_batch(&index.create_sql())?;
        }
        tracing::info!("indexes built");
        let rows_after = if self.fresh {
            self.seen
        } else {
            count_rows(self.conn, name)?
        };
        let added = rows_after.saturating_sub(self.rows_before);
        let counts = ImportCounts {
            added,
            updated: self.changed.saturating_sub(added),
            unchanged: self.seen.saturating_sub(self.changed),
            replaced: self.replaced,
        };
        if commit {
            // Anything that can change an audit result makes cached results stale.
            if counts.added + counts.updated > 0 || self.kind == FileKind::Directory {
                super::bump_generation(self.conn)?;
            }
            tx::put_back_triggers(self.conn, &self.suspended)?;
            tx::commit(self.conn)?;
            self.done = true;
            tracing::info!("committed");
        }
        Ok(counts)
    }
}

/// Runs `insert` (an `INSERT INTO table (a, b)` without its values) for
/// every pair, 500 rows per statement: each execution of a statement costs
/// about as much again as the row it writes, and journals the page it
/// starts on (100 rows a statement cost 0.02 s more per million pairs; 2,000
/// no less than 500).
fn insert_pairs<'v>(
    conn: &Connection,
    insert: &str,
    pairs: impl Iterator<Item = (i64, Value<'v>)>,
) -> rusqlite::Result<()> {
    const ROWS: usize = 500;
    let mut many = BulkInsert::prepare(
        conn,
        &format!("{insert} VALUES {}", ["(?, ?)"; ROWS].join(", ")),
    )?;
    let mut one = BulkInsert::prepare(conn, &format!("{insert} VALUES (?, ?)"))?;
    let mut batch: Vec<(i64, Value<'v>)> = Vec::with_capacity(ROWS);
    for pair in pairs {
        batch.push(pair);
        if batch.len() == ROWS {
            many.execute(pair_values(&batch))?;
            batch.clear();
        }
    }
    for pair in &batch {
        one.execute(pair_values(std::slice::from_ref(pair)))?;
    }
    Ok(())
}

/// The values of (key, value) pairs, in parameter order.
fn pair_values<'a, 'v>(pairs: &'a [(i64, Value<'v>)]) -> impl Iterator<Item = Value<'v>> + 'a {
    pairs
        .iter()
        .flat_map(|&(key, value)| [Value::Integer(key), value])
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of a refused file is kept.
            tx::rollback(self.conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two entries whose addresses share a look-up key are a repeated address
    /// only if the addresses are equal ignoring case: a real 64-bit collision
    /// (made up here by pairing unrelated lines) is not.
    #[test]
    fn lines_sharing_a_key_are_repeats_only_if_the_addresses_match() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open_as(&dir.path().join("s.db"), true, &mut Vec::new()).unwrap();
        let mut importer = store.begin_import(FileKind::Directory).unwrap();
        let mut chunk = Chunk::with_capacity(3);
        let row = |a: &'static str| [a, "A", "B", "A81001", "active", "personal"];
        chunk.push(2, &row("a.b@nhs.net"));
        chunk.push(3, &row("c.d@nhs.net"));
        chunk.push(4, &row("A.B@NHS.NET"));
        let mut problems = Vec::new();
        importer.add_chunk(chunk, &mut problems, |_| None).unwrap();
        assert!(problems.is_empty());
        let found = importer
            .repeated_addresses(&[(7, 2, 3), (7, 2, 4)])
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].line, 4);
        assert_eq!(found[0].column.as_deref(), Some("address"));
        assert!(
            found[0].message.contains("also on line 2"),
            "{}",
            found[0].message
        );
    }

    /// The accounts a chunk refers to are found by walking along the table,
    /// whether the ids are neighbours, scattered, before the first account
    /// or after the last; and every id that is not there is named.
    #[test]
    fn unknown_accounts_are_found_however_the_ids_lie() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open_as(&dir.path().join("s.db"), true, &mut Vec::new()).unwrap();
        store
            .conn
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                 INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
                 SELECT printf('U%05d', i * 2), 'u' || i, 'u' || i || '@nhs.net', 'A', 'B', 'active' FROM n;",
            )
            .unwrap();
        let importer = store.begin_import(FileKind::Permissions).unwrap();
        let id = |n: u32| format!("U{n:05}");
        // Neighbours, with gaps (odd numbers are not accounts).
        let near: Vec<String> = (100..400).map(id).collect();
        let near: Vec<&str> = near.iter().map(String::as_str).collect();
        let expected: Vec<&str> = near
            .iter()
            .copied()
            .filter(|i| i.ends_with(['1', '3', '5', '7', '9']))
            .collect();
        assert_eq!(importer.unknown_accounts(&near).unwrap(), expected);
        // Scattered over the whole table, with ids before the first account
        // and after the last.
        let far: Vec<String> = [0, 1, 2, 777, 1500, 2001, 4000, 5998, 6000, 6001, 9999]
            .into_iter()
            .map(id)
            .collect();
        let far: Vec<&str> = far.iter().map(String::as_str).collect();
        assert_eq!(
            importer.unknown_accounts(&far).unwrap(),
            vec!["U00000", "U00001", "U00777", "U02001", "U06001", "U09999"]
        );
        assert!(importer.unknown_accounts(&[]).unwrap().is_empty());
        assert_eq!(importer.unknown_accounts(&["A"]).unwrap(), vec!["A"]);
        assert_eq!(importer.unknown_accounts(&["Z"]).unwrap(), vec!["Z"]);
    }

    /// A fresh import writes many rows per statement; when the store refuses
    /// one of those statements (a repeated key that arrived too late to be
    /// caught in order), its rows are written one by one, so the refusal
    /// names the row and the others are still written.
    #[test]
    fn a_refused_batch_is_retried_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            SqliteStore::open_as(&dir.path().join("s.db"), true, &mut Vec::new()).unwrap();
        let mut importer = store.begin_import(FileKind::Activity).unwrap();
        let ids: Vec<String> = (1..=80).map(|n| format!("A{n:04}")).collect();
        let mut problems = Vec::new();
        for (chunk_no, range) in [(0, 0..40), (1, 40..80)] {
            let mut chunk = Chunk::with_capacity(40);
            for (n, id) in ids[range].iter().enumerate() {
                // The second chunk repeats A0005 (line 45) among new ids.
                let id = if chunk_no == 1 && n == 3 {
                    "A0005"
                } else {
                    id.as_str()
                };
                let line = (chunk_no * 40 + n + 2) as u64;
                chunk.push(
                    line,
                    &[id, "A81001", "U1", "offer-accepted", "2020-01-01", ""],
                );
            }
            importer.add_chunk(chunk, &mut problems, |_| None).unwrap();
        }
        problems.extend(importer.flush().unwrap());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 45);
        assert!(
            problems[0].message.contains("refused"),
            "{}",
            problems[0].message
        );
        let written: i64 = importer
            .conn
            .query_row("SELECT count(*) FROM activity", [], |r| r.get(0))
            .unwrap();
        assert_eq!(written, 79);
    }
}
