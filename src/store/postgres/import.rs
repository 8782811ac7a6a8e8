//! Importing a checked file into PostgreSQL: one transaction under the
//! store's write lock (write.rs), committed only when the whole file was
//! valid.
//!
//! Every check a row can fail on its own, and its reference to an account,
//! is made here on the client while the rows stream, as the SQLite store
//! makes them: the account ids the store holds are read once, at the start,
//! in one row (known_accounts.rs: on a second connection while a load into
//! an empty table starts), and each chunk's ids are looked up among them
//! ([`PgImport::unknown_accounts`]).
//!
//! A file going into an empty table (every first import, and the directory,
//! which is always replaced whole) travels by `COPY … FROM STDIN (FORMAT
//! binary)` straight into the real table, its indexes and keys set aside
//! and built again from the loaded rows when the file has been read. A key
//! repeated within the file fails the build of the primary key; the
//! repeated keys are then read back from the table, and the lines they came
//! from found in the (hash of the key, line) of every row, kept as the rows
//! went by (see [`KeyLines`]), giving the same problems on the same lines as
//! SQLite. Staging the rows in a temporary table first and moving them with
//! `INSERT … SELECT` cost more than the load itself (the accounts file: 6.7
//! s of staging, 5.5 s of move, against the copy's own cost).
//!
//! Such a table is first truncated (TRUNCATE of an empty table deletes
//! nothing; the directory's old extract goes the same way instead of a
//! `DELETE` that left 1.4M dead rows for vacuum), which lets the `COPY`
//! load it `FREEZE`: rows frozen on pages marked all-visible. Loaded plain,
//! the first command to read the rows after the import (the audit) set
//! every row's hint bits, dirtying every page, which its scans' small ring
//! of buffers then had to write back (a million accounts, 2M roles and
//! 1.4M directory entries: the audit's scans dirtied 32,000 pages, now
//! none; the server wrote 36,000 to 39,000 buffers during that audit, now
//! 7,000 to 9,000, the import's own), and autovacuum rewrote them all
//! again to mark them all-visible.
//! The truncation holds the table's exclusive lock to the commit, as the
//! set-aside indexes do; a frozen row is visible to every snapshot, even
//! one older than the import, so the readers that take one snapshot for
//! several tables lock them before they take it (audit_inputs.rs, copy.rs).
//! The statistics are gathered straight after the commit
//! ([`PgStore::analyze_loaded`]).
//!
//! A re-import into a table that holds rows still goes through a temporary
//! staging table (`import_rows`: the file's line, then the table's columns
//! as text): `INSERT … ON CONFLICT DO UPDATE … WHERE` (only rows that
//! changed) moves it, and an activity the store holds with other details is
//! found by a join, on its line. Any problem, and nothing is kept: dropping
//! the import rolls the transaction back.

use std::cell::RefMut;
use std::hash::{DefaultHasher, Hasher};
use std::io::Write as _;

use anyhow::{Context as _, Result};
use ouroboros::self_referencing;
use postgres::error::SqlState;

use super::known_accounts::{Deferred, Known, KnownAccounts};
use super::{PgStore, lookup_key};
use crate::error::FileProblem;
use crate::model::FileKind;
use crate::store::chunk::{key_len, nullable, unknown_account};
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

/// The look-up key column of `kind`'s table and the trigger that keeps it
/// (migration 7, lookup_key.rs).
fn key_column(kind: FileKind) -> Option<(&'static str, &'static str)> {
    match kind {
        FileKind::Accounts => Some(("email_key", "accounts_email_key")),
        FileKind::Directory => Some(("address_key", "directory_address_key")),
        _ => None,
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

/// How many bytes of encoded rows are gathered before they go down the
/// open `COPY` (a chunk of rows is a few hundred kilobytes): the server
/// takes them while the next are parsed and encoded.
const SEND_BYTES: usize = 256 << 10;

/// One `COPY … FROM STDIN` kept open on the store's connection for the
/// whole file, written to chunk by chunk (see [`PgImport::add_chunk`]).
/// A `COPY` per 16 MB of rows, as before, left the server idle while the
/// client parsed the next 16 MB and the client idle while the server took
/// them: the accounts file's seven `COPY`s ran one after the other with
/// the parsing, not beside it.
#[self_referencing]
struct CopyStream<'a> {
    client: RefMut<'a, postgres::Client>,
    /// `None` once finished.
    #[borrows(mut client)]
    #[not_covariant]
    writer: Option<postgres::CopyInWriter<'this>>,
}

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
    /// The rows go straight into the real table (an empty table: see the
    /// module's comment), not into the staging table.
    direct: bool,
    /// Each row carries its look-up key (see [`key_column`]).
    with_key: bool,
    /// For a direct load whose key must be unique: each row's key hash and
    /// line, to name the lines of a repeated key.
    key_lines: KeyLines,
    /// For the files that name accounts: the account ids the store holds.
    known: Option<Known>,
    /// The rows sent while the known ids were still being read, and the
    /// lines of those then found to name an unknown account (loaded, but
    /// refused: see known_accounts.rs).
    deferred: Deferred,
    late_refused: Vec<u64>,
    /// Rows copied (into the staging table, or straight into the table).
    staged: u64,
    /// Rows the move into the real table inserted or changed.
    changed: u64,
    /// The `COPY` statement (into the staging table, or the real one).
    copy_sql: String,
    /// The `COPY` under way, from the first row to `flush`.
    stream: Option<CopyStream<'a>>,
    /// Rows in COPY's binary format not yet sent (see [`SEND_BYTES`]), and
    /// how many rows have gone into the `COPY` under way.
    buffer: Vec<u8>,
    pending: u64,
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

    /// Whether the server computes `kind`'s look-up keys as
    /// [`lookup_key`] does (a big-endian server's hash differs): asked
    /// once an import, for a few texts that take every path of the hash.
    fn computes_our_keys(&self, kind: FileKind) -> Result<bool> {
        let probes = lookup_key::probes();
        let (sql, ours): (&str, fn(&str) -> i64) = match kind {
            FileKind::Accounts => (
                "SELECT hashtextextended(lower(btrim(p COLLATE \"C\")), 0)
                 FROM unnest($1::text[]) WITH ORDINALITY AS x(p, n) ORDER BY n",
                lookup_key::email_key,
            ),
            _ => (
                "SELECT hashtextextended(lower(p COLLATE \"C\"), 0)
                 FROM unnest($1::text[]) WITH ORDINALITY AS x(p, n) ORDER BY n",
                lookup_key::address_key,
            ),
        };
        let theirs: Vec<i64> = self.query(sql, &[&probes], |r| r.try_get(0))?;
        let same =
            theirs.len() == probes.len() && probes.iter().zip(&theirs).all(|(p, &k)| ours(p) == k);
        if !same {
            tracing::info!("the server's look-up keys differ from ours: it computes them");
        }
        Ok(same)
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
        // A partial index none of whose columns the file loads takes no
        // row of it (`accounts_by_replaces`: a file never names a
        // replacement), so it stays, and costs the load nothing, where its
        // build was a scan of the whole table (a million accounts: 0.27 s
        // of the server's time to build, 0.07 s to keep).
        let loaded = columns(kind);
        let found: Vec<_> = found
            .into_iter()
            .filter(|(_, constraint, build)| {
                let Some((_, over)) = build.split_once(" USING ") else {
                    return true;
                };
                let stays = over.contains(" WHERE ") && !loaded.iter().any(|c| names_word(over, c));
                constraint.is_some() || !stays
            })
            .collect();
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
                replaced = Some(rows_before);
                rows_before = 0;
            }
            let fresh = rows_before == 0;
            if fresh {
                // An empty table is truncated (the directory: emptied) so
                // that its load may be frozen (see the module's comment);
                // migration 11 lets accounts and activity be truncated
                // only while they hold no row, which is checked again
                // under the table's exclusive lock.
                store.execute(&format!("TRUNCATE {}", table(kind)), &[])?;
            }
            let mut rebuild = if fresh {
                store.set_aside_indexes(kind)?
            } else {
                Vec::new()
            };
            // A load straight into the table sends each row's look-up key
            // (lookup_key.rs), its trigger set aside until the indexes are
            // built, if this server computes the keys as we do.
            let key_column = match key_column(kind) {
                Some((column, trigger)) if fresh && store.computes_our_keys(kind)? => {
                    // Dropped and made again from its own definition, not
                    // disabled: a disabled row trigger still turns COPY's
                    // batched inserts into one insert a row.
                    let definition: String = store
                        .query(
                            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
                             WHERE t.tgrelid = ('public.' || $1)::regclass AND t.tgname = $2",
                            &[&table(kind), &trigger],
                            |r| r.try_get(0),
                        )?
                        .pop()
                        .with_context(|| format!("the store has no trigger {trigger}"))?;
                    store.execute(&format!("DROP TRIGGER {trigger} ON {}", table(kind)), &[])?;
                    rebuild.push(definition);
                    Some(column)
                }
                _ => None,
            };
            let cols = columns(kind);
            // Read beside the load when the rows go straight into the
            // table; a re-import's staged rows are checked before they are
            // sent (see known_accounts.rs).
            let known = match account_column(kind) {
                Some(_) if fresh => Some(Known::start(store)),
                Some(_) => Some(Known::Ready(KnownAccounts::read(store)?)),
                None => None,
            };
            let copy_sql = if fresh {
                // The directory's `entry` is the line the entry came from.
                let entry = if kind == FileKind::Directory {
                    "entry, "
                } else {
                    ""
                };
                let key = key_column.map(|c| format!(", {c}")).unwrap_or_default();
                format!(
                    "COPY {} ({entry}{}{key}) FROM STDIN (FORMAT binary, FREEZE)",
                    table(kind),
                    cols.join(", ")
                )
            } else {
                let defs: Vec<String> = cols
                    .iter()
                    .map(|c| format!("{c} text COLLATE \"C\""))
                    .collect();
                // The staging table lives in the session's own buffers: 8 MB
                // by default, so a million rows went to temporary files and
                // back. Settable only before the session's first temporary
                // table.
                store.execute("SET temp_buffers = '512MB'", &[])?;
                store.execute(
                    &format!(
                        "CREATE TEMP TABLE import_rows (line bigint NOT NULL, {}) ON COMMIT DROP",
                        defs.join(", ")
                    ),
                    &[],
                )?;
                format!(
                    "COPY import_rows (line, {}) FROM STDIN (FORMAT binary)",
                    cols.join(", ")
                )
            };
            Ok(PgImport {
                store,
                kind,
                fresh,
                rebuild,
                rows_before,
                replaced,
                direct: fresh,
                with_key: key_column.is_some(),
                key_lines: KeyLines::default(),
                known,
                deferred: Deferred::default(),
                late_refused: Vec::new(),
                staged: 0,
                changed: 0,
                copy_sql,
                stream: None,
                buffer: Vec::with_capacity(SEND_BYTES + (1 << 20)),
                pending: 0,
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

    /// Adds a chunk's rows (those `check` does not object to) to the rows
    /// the next `COPY` carries, sent once they reach [`COPY_BYTES`]; gives
    /// the chunk back to be refilled.
    pub fn add_chunk(
        &mut self,
        chunk: Chunk,
        problems: &mut Vec<FileProblem>,
        mut check: impl FnMut(RowRef<'_>) -> Option<FileProblem>,
    ) -> Result<Option<Chunk>> {
        let kind = self.kind;
        let n = columns(kind).len();
        // The line travels first into the staging table, and as the
        // directory's `entry`; a direct load of another file has no line.
        let with_line = !self.direct || kind == FileKind::Directory;
        let fields = n + usize::from(with_line) + usize::from(self.with_key);
        let with_key = self.with_key;
        // The text the look-up key is of: the email, or the address.
        let key_text = columns(kind)
            .iter()
            .position(|c| *c == "email" || *c == "address")
            .unwrap_or(0);
        // Repeated keys are named from these (see KeyLines).
        let keyed = self.direct && self.repeats_matter();
        let key = key_len(kind);
        // The known ids still being read (as when `unknown_accounts` passed
        // this chunk's ids): its rows are remembered, to be checked later.
        let deferring = self.known.as_ref().is_some_and(Known::is_reading);
        let account = account_column(kind)
            .and_then(|c| columns(kind).iter().position(|name| *name == c))
            .unwrap_or(0);
        if self.stream.is_none() && self.buffer.is_empty() {
            self.buffer.extend_from_slice(COPY_HEADER);
        }
        let buffer = &mut self.buffer;
        let mut rows = 0u64;
        for i in 0..chunk.len() {
            let row = chunk.row(i);
            if let Some(p) = check(row) {
                problems.push(p);
                continue;
            }
            rows += 1;
            if deferring {
                self.deferred.push(row.field(account), row.line());
            }
            // A tuple: its field count, then each field's length (-1 for
            // NULL) and bytes; text travels as its UTF-8, a bigint as 8
            // bytes big-endian.
            buffer.extend_from_slice(&(fields as i16).to_be_bytes());
            if with_line {
                buffer.extend_from_slice(&8i32.to_be_bytes());
                let line = i64::try_from(row.line()).unwrap_or(i64::MAX);
                buffer.extend_from_slice(&line.to_be_bytes());
            }
            if keyed {
                self.key_lines
                    .push((0..key).map(|f| row.field(f)), row.line());
            }
            for f in 0..n {
                let value = row.field(f);
                if value.is_empty() && nullable(kind, f) {
                    buffer.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    buffer.extend_from_slice(&(value.len() as i32).to_be_bytes());
                    buffer.extend_from_slice(value.as_bytes());
                }
            }
            if with_key {
                let text = row.field(key_text);
                let key = match kind {
                    FileKind::Accounts => lookup_key::email_key(text),
                    _ => lookup_key::address_key(text),
                };
                buffer.extend_from_slice(&8i32.to_be_bytes());
                buffer.extend_from_slice(&key.to_be_bytes());
            }
        }
        self.pending += rows;
        if self.buffer.len() >= SEND_BYTES {
            self.write_buffer()?;
        }
        self.check_deferred(problems, false)?;
        Ok(Some(chunk))
    }

    /// Checks the accounts of the rows sent before the known ids were in,
    /// once they are (waiting for them when `wait`).
    fn check_deferred(&mut self, problems: &mut Vec<FileProblem>, wait: bool) -> Result<()> {
        let Some(known) = self.known.as_mut() else {
            return Ok(());
        };
        let Some(known) = known.ready(wait)? else {
            return Ok(());
        };
        for (line, id) in self.deferred.take_unknown(known) {
            problems.push(unknown_account(line, &id));
            self.late_refused.push(line);
        }
        self.late_refused.sort_unstable();
        Ok(())
    }

    /// Sends the encoded rows down the `COPY` under way, opening it first
    /// if need be. Returns once the connection has taken them (the socket
    /// holds the rest), so the server works on them while the next chunk
    /// is parsed; it waits only when the server is behind.
    fn write_buffer(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        if self.stream.is_none() {
            let sql = self.copy_sql.as_str();
            let stream = CopyStreamTryBuilder {
                client: self.store.conn()?,
                writer_builder: |client| client.copy_in(sql).map(Some),
            }
            .try_build()
            .map_err(|e| self.store.explain(e))?;
            self.stream = Some(stream);
        }
        let buffer = &self.buffer;
        let written = self.stream.as_mut().map(|stream| {
            stream.with_writer_mut(|writer| match writer {
                Some(w) => w.write_all(buffer).and_then(|()| w.flush()).is_ok(),
                None => false,
            })
        });
        self.buffer.clear();
        if written != Some(true) {
            // A failed write is the connection's or the server's failure,
            // which finishing the COPY reports as a database error.
            return self.finish_stream().map(|_| ());
        }
        Ok(())
    }

    /// Ends the `COPY` under way (the rows still buffered, then its
    /// trailer) and counts the rows the server took.
    fn finish_stream(&mut self) -> Result<u64> {
        let Some(mut stream) = self.stream.take() else {
            return Ok(0);
        };
        let copied = stream.with_writer_mut(|writer| -> Result<u64, postgres::Error> {
            match writer.take() {
                Some(w) => w.finish(),
                None => Ok(0),
            }
        });
        drop(stream);
        let copied = copied.map_err(|e| self.store.explain(e))?;
        self.staged += copied;
        self.pending = 0;
        Ok(copied)
    }

    /// Sends the rows not yet sent and ends their `COPY`.
    fn send(&mut self) -> Result<()> {
        if self.pending > 0 {
            self.buffer.extend_from_slice(&(-1i16).to_be_bytes());
            self.write_buffer()?;
            self.finish_stream()?;
        }
        self.buffer.clear();
        self.pending = 0;
        Ok(())
    }

    /// Of these account ids, those the store does not hold,
    /// looked up among the ids read at the start of the import.
    pub fn unknown_accounts<'i>(&self, ids: &[&'i str]) -> Result<Vec<&'i str>> {
        Ok(match &self.known {
            Some(Known::Ready(known)) => known.missing(ids),
            // Checked once the ids are in (`check_deferred`).
            Some(Known::Reading(_)) | None => Vec::new(),
        })
    }

    /// Ends the load: a direct load has its indexes and keys built again
    /// (a repeated key fails the primary key's build, and is named on its
    /// lines); staged rows are checked and, if there is no problem, moved
    /// into the real table. Returns the problems found.
    pub fn flush(&mut self) -> Result<Vec<FileProblem>> {
        self.send()?;
        let mut problems = Vec::new();
        self.check_deferred(&mut problems, true)?;
        if self.direct {
            problems.extend(self.build_indexes()?);
            return Ok(problems);
        }
        if self.kind == FileKind::Activity {
            problems.extend(self.changed_activity()?);
        }
        if !problems.is_empty() {
            // The import is refused: nothing is moved.
            return Ok(problems);
        }
        let changed = self.store.execute(&upsert_sql(self.kind), &[])?;
        self.changed = changed;
        Ok(problems)
    }

    /// Builds the indexes and keys set aside for a direct load, in a
    /// savepoint: a key repeated within the file fails its build, and the
    /// repeats are then found and named.
    fn build_indexes(&mut self) -> Result<Vec<FileProblem>> {
        self.changed = self.staged;
        self.store.execute("SAVEPOINT building", &[])?;
        let built = (|| -> Result<Result<(), postgres::Error>> {
            let mut client = self.store.conn()?;
            for build in &self.rebuild {
                if let Err(e) = client.batch_execute(build) {
                    return Ok(Err(e));
                }
            }
            Ok(Ok(()))
        })()?;
        match built {
            Ok(()) => {
                self.store.execute("RELEASE SAVEPOINT building", &[])?;
                Ok(Vec::new())
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && self.repeats_matter() => {
                self.store.execute("ROLLBACK TO SAVEPOINT building", &[])?;
                let problems = self.repeated_keys()?;
                // Repeats only among rows refused on their own: the file
                // is refused for those.
                if problems.is_empty() && self.late_refused.is_empty() {
                    return Err(self.store.explain(e));
                }
                Ok(problems)
            }
            Err(e) => Err(self.store.explain(e)),
        }
    }

    /// Whether the store finds repeated keys of this kind: into an empty
    /// table, as on SQLite (elsewhere the caller's checks find them).
    fn repeats_matter(&self) -> bool {
        crate::store::written_in_key_order(self.kind, self.fresh)
    }

    /// Activity the store already holds under the same id with other
    /// details: history is never changed (as the SQLite store's trigger
    /// refuses each such row).
    fn changed_activity(&self) -> Result<Vec<FileProblem>> {
        self.store.query(
            "SELECT s.line FROM import_rows s JOIN activity a USING (activity_id)
             WHERE (a.ods_code, a.account_id, a.kind, a.occurred_at, a.detail)
                   IS DISTINCT FROM (s.ods_code, s.account_id, s.kind, s.occurred_at, s.detail)
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
    /// its first line, as the SQLite store names them: the repeated keys
    /// are read back from the loaded table, and their lines found among
    /// the rows' (key hash, line). Rows refused on their own (an unknown
    /// account) are not counted: they were never loaded, or were found to
    /// be refused once loaded (`late_refused`).
    fn repeated_keys(&mut self) -> Result<Vec<FileProblem>> {
        let kind = self.kind;
        let cols = columns(kind);
        let n = key_len(kind);
        let key = cols[..n].join(", ");
        let what = if n == 1 {
            cols[0].to_string()
        } else {
            format!("({key})")
        };
        let repeated: Vec<Vec<String>> = self.store.query(
            &format!(
                "SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1",
                table = table(kind)
            ),
            &[],
            |r| (0..n).map(|i| r.try_get::<_, String>(i)).collect(),
        )?;
        let mut problems = Vec::new();
        for (values, mut lines) in self.key_lines.lines_of(repeated) {
            lines.retain(|line| self.late_refused.binary_search(line).is_err());
            let Some((&first, later)) = lines.split_first() else {
                continue;
            };
            for &line in later {
                problems.push(FileProblem {
                    line,
                    column: Some(cols[0].to_string()),
                    message: format!(
                        "{what} {} is also on line {first}: each {what} may appear only once",
                        values.join(", ")
                    ),
                });
            }
        }
        problems.sort_by_key(|p| p.line);
        Ok(problems)
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
                "SELECT entry, address FROM directory WHERE entry = ANY($1)",
                &[&lines],
                |r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?)),
            )?
            .into_iter()
            .collect();
        crate::store::chunk::repeated_addresses(pairs, |line| Ok(found.get(&line).cloned()))
    }

    /// Ends the import: the counts, and the commit when `commit` (else the
    /// rollback). The look-up tables SQLite writes from `emails` and
    /// `address_keys` are key columns here (lookup_key.rs), sent with the rows.
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
            let loaded = counts.added + counts.updated > 0 || self.kind == FileKind::Directory;
            if loaded {
                store.bump_generation()?;
            }
            store.commit_write()?;
            self.done = true;
            tracing::info!("committed");
            if loaded {
                store.analyze_loaded(self.kind);
            }
        }
        Ok(counts)
    }
}

impl PgStore {
    /// Statistics for the rows an import committed, gathered straight
    /// after its commit: a plan made before autovacuum gets round to the
    /// table (a `replace --plan` straight after an import) otherwise took
    /// it for nearly empty and scanned it once per key, for minutes
    /// instead of seconds. Inside the import's transaction (as before) the
    /// commit then counted its rows as changed since that ANALYZE, and
    /// autovacuum analysed every loaded table again within the next minute,
    /// beside the next command (a million accounts, 2M roles, 1.4M
    /// directory entries: seen in the audit straight after the import).
    /// The commit's counts reach the server's statistics only when the
    /// connection next flushes them (at most once a second), so they are
    /// flushed first and ANALYZE's reset covers them. A failure here
    /// leaves the import committed, and autovacuum to gather them.
    fn analyze_loaded(&self, kind: FileKind) {
        let analyzed = self
            .execute("SELECT pg_stat_force_next_flush()", &[])
            .and_then(|_| self.execute(&format!("ANALYZE {}", table(kind)), &[]));
        if let Err(e) = analyzed {
            tracing::warn!("gathering statistics for the imported rows failed: {e:#}");
        }
    }
}

/// Whether `text` names `word` as a whole word (an SQL identifier).
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
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
        // A `COPY` left open is abandoned (the connection cancels it), and
        // gives the connection back for the rollback.
        self.stream = None;
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

/// The hash of every loaded row's key, with its line, kept for naming the
/// lines of a key repeated within a file loaded straight into its table
/// (the table keeps no line): 16 bytes a row, sorted only if a repeat was
/// found. The repeated keys themselves come from the table, exactly; a
/// line is named for one of them when its key has the same 64-bit hash.
#[derive(Default)]
struct KeyLines {
    entries: Vec<(u64, u64)>,
}

impl KeyLines {
    fn hash<'f>(fields: impl Iterator<Item = &'f str>) -> u64 {
        // SipHash (fixed keys: the same on every run), not FxHash: a line
        // is named by its hash alone, so it must not collide on keys that
        // differ in a few characters.
        let mut hasher = DefaultHasher::new();
        for field in fields {
            // Length first: ("ab", "c") and ("a", "bc") differ.
            hasher.write_usize(field.len());
            hasher.write(field.as_bytes());
        }
        hasher.finish()
    }

    fn push<'f>(&mut self, key: impl Iterator<Item = &'f str>, line: u64) {
        self.entries.push((KeyLines::hash(key), line));
    }

    /// Each of these keys with the lines (in order) whose key has its hash.
    fn lines_of(&mut self, keys: Vec<Vec<String>>) -> Vec<(Vec<String>, Vec<u64>)> {
        self.entries.sort_unstable();
        let entries = &self.entries;
        keys.into_iter()
            .map(|key| {
                let hash = KeyLines::hash(key.iter().map(String::as_str));
                let start = entries.partition_point(|&(h, _)| h < hash);
                let lines = entries[start..]
                    .iter()
                    .take_while(|&&(h, _)| h == hash)
                    .map(|&(_, line)| line)
                    .collect();
                (key, lines)
            })
            .collect()
    }
}
