//! Importing a checked file into PostgreSQL: one transaction under the
//! store's write lock (write.rs), committed only when the whole file was
//! valid.
//!
//! The rows travel by `COPY … FROM STDIN (FORMAT binary)` into a temporary
//! staging table (`import_rows`: the file's line, then the table's columns
//! as text), chunk by chunk as the parsing thread hands them over. When the
//! file has been read ([`PgImport::flush`]) the staged rows are checked in
//! a few set-based statements, exactly as the SQLite store checks them row
//! by row, giving the same problems on the same lines: a row naming an
//! account the store does not hold, a key repeated within a file going
//! into an empty table, an activity the store holds with other details.
//! Then they are moved into the real table in one statement: a plain
//! `INSERT … SELECT` into an empty table, `INSERT … ON CONFLICT DO UPDATE …
//! WHERE` (only rows that changed) for a re-import, the directory replaced
//! whole. Any problem, and nothing is moved: dropping the import rolls the
//! transaction back (the staging table is dropped with it).

use anyhow::Result;
use postgres::error::SqlState;

use super::PgStore;
use crate::error::FileProblem;
use crate::model::FileKind;
use crate::store::chunk::{key_len, nullable};
use crate::store::{BackgroundSync, Chunk, EmailKeys, Import, ImportCounts, RowRef, columns};

fn table(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Organisations => "organisations",
        FileKind::Accounts => "accounts",
        FileKind::Permissions => "permissions",
        FileKind::Directory => "directory",
        FileKind::Activity => "activity",
    }
}

/// The column of a row that names an account, for the files that refer to
/// accounts.
fn account_column(kind: FileKind) -> Option<&'static str> {
    match kind {
        FileKind::Permissions | FileKind::Activity => Some("account_id"),
        _ => None,
    }
}

/// The start of every binary COPY stream: the signature, no flags, no
/// header extension (PostgreSQL's "Binary Format" of COPY).
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// A PostgreSQL import in progress. `finish` commits; dropping it without
/// `finish` rolls everything back.
pub struct PgImport<'a> {
    store: &'a PgStore,
    kind: FileKind,
    /// The table was empty (the directory: is always replaced whole).
    fresh: bool,
    /// For an empty table: the statements that build again the indexes
    /// and keys set aside for the load (see [`PgStore::set_aside_indexes`]).
    rebuild: Vec<String>,
    rows_before: u64,
    /// For the directory: the entries it replaced.
    replaced: Option<u64>,
    /// Rows staged.
    staged: u64,
    /// Rows the move into the real table inserted or changed.
    changed: u64,
    /// The `COPY` statement into the staging table.
    copy_sql: String,
    /// One chunk's rows in COPY's binary format, reused.
    buffer: Vec<u8>,
    done: bool,
}

/// Nothing to do early on PostgreSQL: the server writes its WAL as the rows
/// arrive.
pub struct NoSync;

impl BackgroundSync for NoSync {
    fn sync(&self) {}
}

impl PgStore {
    /// Nothing to run on a spare thread (see [`NoSync`]).
    pub(super) fn early_sync(&self) -> Box<dyn BackgroundSync> {
        Box::new(NoSync)
    }

    fn count_rows(&self, kind: FileKind) -> Result<u64> {
        let n: i64 = self
            .query(&format!("SELECT count(*) FROM {}", table(kind)), &[], |r| {
                r.try_get(0)
            })?
            .pop()
            .unwrap_or(0);
        Ok(n as u64)
    }

    /// Whether a file of `kind` would go into an empty table. The directory
    /// is always replaced whole, so it always does.
    pub(super) fn import_is_fresh(&self, kind: FileKind) -> Result<bool> {
        Ok(kind == FileKind::Directory || self.count_rows(kind)? == 0)
    }

    /// Drops the indexes and keys of `kind`'s table, empty and inside the
    /// import's transaction, and returns the statements that build them
    /// again (read from the catalogue, so every index the migrations made
    /// comes back exactly as it was). Kept up row by row, they made a fresh
    /// load of a million rows cost ten times its insert (the directory:
    /// 14.7 s of server CPU against 1.6 s for the rows and 4.7 s for the
    /// two builds from sorted rows). The drop takes the table's exclusive
    /// lock until the commit: readers wait for the import instead of seeing
    /// the table as it was, and nobody ever sees it without its indexes.
    fn set_aside_indexes(&self, kind: FileKind) -> Result<Vec<String>> {
        let t = table(kind);
        let found: Vec<(String, Option<String>, String)> = self.query(
            "SELECT i.indexrelid::regclass::text, c.conname::text,
                    coalesce('ALTER TABLE ' || i.indrelid::regclass::text || ' ADD CONSTRAINT '
                             || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),
                             pg_get_indexdef(i.indexrelid))
             FROM pg_index i
             LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
             WHERE i.indrelid = ('public.' || $1)::regclass
             ORDER BY c.conname IS NULL, 1",
            &[&t],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )?;
        for (index, constraint, _) in &found {
            match constraint {
                Some(name) => self.execute(
                    &format!(
                        "ALTER TABLE {t} DROP CONSTRAINT {}",
                        super::quote_ident(name)
                    ),
                    &[],
                )?,
                None => self.execute(&format!("DROP INDEX {index}"), &[])?,
            };
        }
        // The builds sort in memory rather than in temporary files.
        self.execute("SET LOCAL maintenance_work_mem = '512MB'", &[])?;
        Ok(found.into_iter().map(|(_, _, build)| build).collect())
    }

    /// Starts importing a file of `kind`: takes the write lock (waiting for
    /// another operator's write to end), refuses a store changed past
    /// cqrs-admin, and makes the staging table.
    pub(super) fn begin_import(&mut self, kind: FileKind) -> Result<Box<dyn Import + '_>> {
        self.refuse_unless_owner("import files")?;
        self.begin_write()?;
        let store: &PgStore = self;
        let started = (|| -> Result<PgImport<'_>> {
            let mut rows_before = store.count_rows(kind)?;
            let mut replaced = None;
            if kind == FileKind::Directory {
                // A new extract replaces the old one as a whole.
                store.execute("DELETE FROM directory", &[])?;
                replaced = Some(rows_before);
                rows_before = 0;
            }
            let rebuild = if rows_before == 0 {
                store.set_aside_indexes(kind)?
            } else {
                Vec::new()
            };
            let cols = columns(kind);
            let defs: Vec<String> = cols
                .iter()
                .map(|c| format!("{c} text COLLATE \"C\""))
                .collect();
            // The staging table lives in the session's own buffers: 8 MB by
            // default, so a million rows went to temporary files and back.
            // Settable only before the session's first temporary table.
            store.execute("SET temp_buffers = '512MB'", &[])?;
            store.execute(
                &format!(
                    "CREATE TEMP TABLE import_rows (line bigint NOT NULL, {}) ON COMMIT DROP",
                    defs.join(", ")
                ),
                &[],
            )?;
            Ok(PgImport {
                store,
                kind,
                fresh: rows_before == 0,
                rebuild,
                rows_before,
                replaced,
                staged: 0,
                changed: 0,
                copy_sql: format!(
                    "COPY import_rows (line, {}) FROM STDIN (FORMAT binary)",
                    cols.join(", ")
                ),
                buffer: Vec::with_capacity(1 << 20),
                done: false,
            })
        })();
        match started {
            Ok(import) => Ok(Box::new(import)),
            Err(e) => {
                store.rollback_write();
                Err(e)
            }
        }
    }
}

impl PgImport<'_> {
    /// Whether the table was empty when the import started.
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Stages a chunk's rows (those `check` does not object to) with one
    /// `COPY`; gives the chunk back to be refilled.
    pub fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        mut check: impl FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>> {
        let kind = self.kind;
        let n = columns(kind).len();
        let buffer = &mut self.buffer;
        buffer.clear();
        buffer.extend_from_slice(COPY_HEADER);
        let mut rows = 0u64;
        for i in 0..chunk.len() {
            let row = chunk.row(i);
            if let Some(p) = check(row) {
                problems.push(p);
                continue;
            }
            rows += 1;
            // A tuple: its field count, then each field's length (-1 for
            // NULL) and bytes; text travels as its UTF-8, a bigint as 8
            // bytes big-endian.
            buffer.extend_from_slice(&((n + 1) as i16).to_be_bytes());
            buffer.extend_from_slice(&8i32.to_be_bytes());
            let line = i64::try_from(row.line()).unwrap_or(i64::MAX);
            buffer.extend_from_slice(&line.to_be_bytes());
            for f in 0..n {
                let value = row.field(f);
                if value.is_empty() && nullable(kind, f) {
                    buffer.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    buffer.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    buffer.extend_from_slice(value.as_bytes());
                }
            }
        }
        buffer.extend_from_slice(&(-1i16).to_be_bytes());
        if rows > 0 {
            let mut client = self.store.conn()?;
            let copied = (|| -> Result<u64, postgres::Error> {
                use std::io::Write as _;
                let mut sink = client.copy_in(self.copy_sql.as_str())?;
                // A failed write is the connection's failure, which
                // finish() reports as a database error.
                let _ = sink.write_all(buffer);
                sink.finish()
            })();
            drop(client);
            let copied = copied.map_err(|e| self.store.explain(e))?;
            self.staged += copied;
        }
        Ok(Some(chunk))
    }

    /// Of these account ids, those the store does not hold: none here. On
    /// PostgreSQL every staged row's account is looked up at once, in one
    /// anti-join when the file has been read ([`PgImport::flush`]), which
    /// names each such row as the caller would have: a query per chunk of
    /// 4,096 rows would cost a round trip and an index search per account.
    pub fn unknown_accounts<'i>(&self, _ids: &[&'i str]) -> Result<Vec<&'i str>> {
        Ok(Vec::new())
    }

    /// Checks the staged rows and, if there is no problem, moves them into
    /// the real table. Returns the problems found.
    pub fn flush(&mut self) -> Result<Vec<FileProblem>> {
        let mut problems = self.unknown_account_rows()?;
        if self.kind == FileKind::Activity && !self.fresh {
            problems.extend(self.changed_activity()?);
        }
        if !problems.is_empty() {
            // The import is refused: every other problem is still named,
            // but nothing is moved.
            if self.fresh && self.repeats_matter() {
                problems.extend(self.repeated_keys()?);
            }
            problems.sort_by_key(|p| p.line);
            return Ok(problems);
        }
        self.store.execute("SAVEPOINT moving", &[])?;
        match self.move_rows()? {
            Ok(changed) => {
                self.changed = changed;
                self.store.execute("RELEASE SAVEPOINT moving", &[])?;
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && self.fresh => {
                // A key repeated within the file: find every one.
                self.store.execute("ROLLBACK TO SAVEPOINT moving", &[])?;
                problems.extend(self.repeated_keys()?);
                if problems.is_empty() {
                    return Err(self.store.explain(e));
                }
            }
            Err(e) => return Err(self.store.explain(e)),
        }
        Ok(problems)
    }

    /// Whether the store finds repeated keys of this kind: into an empty
    /// table, as on SQLite (elsewhere the caller's checks find them).
    fn repeats_matter(&self) -> bool {
        crate::store::written_in_key_order(self.kind, self.fresh)
    }

    /// Rows naming an account the store does not hold, as the import's
    /// own check names them (commands/import.rs).
    fn unknown_account_rows(&self) -> Result<Vec<FileProblem>> {
        let Some(column) = account_column(self.kind) else {
            return Ok(Vec::new());
        };
        self.store.query(
            &format!(
                "SELECT s.line, s.{column} FROM import_rows s
                 WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.{column})
                 ORDER BY s.line"
            ),
            &[],
            |r| {
                let line: i64 = r.try_get(0)?;
                let id: String = r.try_get(1)?;
                Ok(FileProblem {
                    line: line as u64,
                    column: Some(column.to_string()),
                    message: format!("there is no account {id}: import it in accounts.csv first"),
                })
            },
        )
    }

    /// Activity the store already holds under the same id with other
    /// details: history is never changed (as the SQLite store's trigger
    /// refuses each such row).
    fn changed_activity(&self) -> Result<Vec<FileProblem>> {
        self.store.query(
            "SELECT s.line FROM import_rows s JOIN activity a USING (activity_id)
             WHERE (a.ods_code, a.account_id, a.kind, a.occurred_at, a.detail)
                   IS DISTINCT FROM (s.ods_code, s.account_id, s.kind, s.occurred_at, s.detail)
               AND EXISTS (SELECT 1 FROM accounts c WHERE c.account_id = s.account_id)
             ORDER BY s.line",
            &[],
            |r| {
                let line: i64 = r.try_get(0)?;
                Ok(FileProblem {
                    line: line as u64,
                    column: Some("activity_id".to_string()),
                    message: "the store refused this row: activity is history: it is never \
                              moved, changed or deleted; this activity_id is already in the \
                              store with other details"
                        .to_string(),
                })
            },
        )
    }

    /// Keys repeated within the file, each named on its later lines with
    /// its first line, as the SQLite store names them; rows already refused
    /// for an unknown account are not counted (they would not be written).
    fn repeated_keys(&self) -> Result<Vec<FileProblem>> {
        let kind = self.kind;
        let cols = columns(kind);
        let n = key_len(kind);
        let key = cols[..n].join(", ");
        let known = match account_column(kind) {
            Some(c) => {
                format!("WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.{c})")
            }
            None => String::new(),
        };
        let what = if n == 1 {
            cols[0].to_string()
        } else {
            format!("({key})")
        };
        let shown: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let aliased: Vec<String> = cols[..n]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} AS k{i}"))
            .collect();
        self.store.query(
            &format!(
                "SELECT line, first, {shown} FROM (
                     SELECT line, {aliased}, min(line) OVER (PARTITION BY {key}) AS first
                     FROM import_rows s {known}) r
                 WHERE line <> first ORDER BY line",
                shown = shown.join(", "),
                aliased = aliased.join(", "),
            ),
            &[],
            |r| {
                let line: i64 = r.try_get(0)?;
                let first: i64 = r.try_get(1)?;
                let mut values = Vec::with_capacity(n);
                for i in 0..n {
                    values.push(r.try_get::<_, String>(2 + i)?);
                }
                Ok(FileProblem {
                    line: line as u64,
                    column: Some(cols[0].to_string()),
                    message: format!(
                        "{what} {} is also on line {first}: each {what} may appear only once",
                        values.join(", ")
                    ),
                })
            },
        )
    }

    /// Moves the staged rows into the real table; the rows inserted or
    /// changed.
    fn move_rows(&self) -> Result<Result<u64, postgres::Error>> {
        let kind = self.kind;
        let cols = columns(kind);
        let list = cols.join(", ");
        let sql = if kind == FileKind::Directory {
            format!("INSERT INTO directory (entry, {list}) SELECT line, {list} FROM import_rows")
        } else if self.fresh {
            format!(
                "INSERT INTO {table} ({list}) SELECT {list} FROM import_rows",
                table = table(kind)
            )
        } else {
            upsert_sql(kind)
        };
        let mut client = self.store.conn()?;
        let moved = client.execute(sql.as_str(), &[]);
        if moved.is_ok() {
            // A key repeated within the file fails its build here, as it
            // would have failed the insert.
            for build in &self.rebuild {
                if let Err(e) = client.batch_execute(build) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(moved)
    }

    /// The directory entries on these lines (key, first, later) share a
    /// look-up key: those whose addresses are equal ignoring case are
    /// repeated addresses.
    pub fn repeated_addresses(&self, pairs: &[(i64, u64, u64)]) -> Result<Vec<FileProblem>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let lines: Vec<i64> = pairs
            .iter()
            .flat_map(|&(_, a, b)| [a, b])
            .map(|l| i64::try_from(l).unwrap_or(i64::MAX))
            .collect();
        let found: std::collections::HashMap<u64, String> = self
            .store
            .query(
                "SELECT line, address FROM import_rows WHERE line = ANY($1)",
                &[&lines],
                |r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?)),
            )?
            .into_iter()
            .collect();
        crate::store::chunk::repeated_addresses(pairs, |line| Ok(found.get(&line).cloned()))
    }

    /// Ends the import: the counts, and the commit when `commit` (else the
    /// rollback). The look-up tables SQLite writes from `emails` and
    /// `address_keys` are expression indexes here, kept by the database.
    pub fn finish(
        mut self,
        commit: bool,
        _emails: &EmailKeys,
        _address_keys: &[(i64, u64)],
    ) -> Result<ImportCounts> {
        let store = self.store;
        if self.kind == FileKind::Directory {
            // Lets the audit size its in-memory index once, up front.
            store.execute(
                "INSERT INTO settings (key, value) VALUES ('directory.entries', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&self.staged.to_string()],
            )?;
        }
        let rows_after = if self.fresh {
            self.staged
        } else {
            store.count_rows(self.kind)?
        };
        let added = rows_after.saturating_sub(self.rows_before);
        let counts = ImportCounts {
            added,
            updated: self.changed.saturating_sub(added),
            unchanged: self.staged.saturating_sub(self.changed),
            replaced: self.replaced,
        };
        if commit {
            if counts.added + counts.updated > 0 || self.kind == FileKind::Directory {
                // Statistics for the rows just loaded, in the same
                // transaction: a plan made before autovacuum gets round to
                // the table (a `replace --plan` straight after an import)
                // otherwise took the table for nearly empty and scanned it
                // once per key, for minutes instead of seconds.
                store.execute(&format!("ANALYZE {}", table(self.kind)), &[])?;
                store.bump_generation()?;
            }
            store.commit_write()?;
            self.done = true;
            tracing::info!("committed");
        }
        Ok(counts)
    }
}

/// The move of a re-import: updates rows by their key and leaves identical
/// rows alone (the `WHERE` makes the count only real changes). An account's
/// email is not in the update list: the import refuses a changed email
/// before it gets here, and the store's trigger would refuse it anyway.
fn upsert_sql(kind: FileKind) -> String {
    let cols = columns(kind);
    let list = cols.join(", ");
    let key: Vec<&str> = cols[..key_len(kind)].to_vec();
    let rest: Vec<&str> = cols[key_len(kind)..]
        .iter()
        .copied()
        .filter(|c| !(kind == FileKind::Accounts && *c == "email"))
        .collect();
    let insert = format!(
        "INSERT INTO {table} AS t ({list}) SELECT {list} FROM import_rows",
        table = table(kind)
    );
    if rest.is_empty() {
        return format!("{insert} ON CONFLICT DO NOTHING");
    }
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let old: Vec<String> = rest.iter().map(|c| format!("t.{c}")).collect();
    let new: Vec<String> = rest.iter().map(|c| format!("excluded.{c}")).collect();
    format!(
        "{insert} ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
        key.join(", "),
        set.join(", "),
        old.join(", "),
        new.join(", ")
    )
}

impl Drop for PgImport<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of a refused file is kept.
            self.store.rollback_write();
        }
    }
}

impl Import for PgImport<'_> {
    fn is_fresh(&self) -> bool {
        self.is_fresh()
    }
    fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        check: &mut dyn FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>> {
        self.add_chunk(chunk, problems, check)
    }
    fn unknown_accounts<'i>(&self, ids: &[&'i str]) -> Result<Vec<&'i str>> {
        self.unknown_accounts(ids)
    }
    fn flush(&mut self) -> Result<Vec<FileProblem>> {
        self.flush()
    }
    fn repeated_addresses(&self, pairs: &[(i64, u64, u64)]) -> Result<Vec<FileProblem>> {
        self.repeated_addresses(pairs)
    }
    fn finish(
        self: Box<Self>,
        commit: bool,
        emails: &EmailKeys,
        address_keys: &[(i64, u64)],
    ) -> Result<ImportCounts> {
        (*self).finish(commit, emails, address_keys)
    }
}
