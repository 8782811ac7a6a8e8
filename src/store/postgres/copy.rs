//! Copying a whole store out of and into a PostgreSQL database (`store
//! copy`; `crate::store::copy` names the tables and columns).
//!
//! Out: every copied table read in one REPEATABLE READ, READ ONLY
//! transaction, so the copy is of one moment while operators go on
//! writing; each table streamed (`query_raw`), every value as text.
//!
//! In: one write under the store's write lock (write.rs), on a store that
//! must hold nothing; rows written by binary COPY, [`BATCH`] rows at a time.
//! The change log is written verbatim with `cqrs_admin.copy_log = 'on'`
//! for the transaction: the database's own trigger (schema.rs) then keeps
//! each entry's seq, time, operator, claim and hashes as given, and checks
//! that each continues the chain exactly, refusing the copy otherwise;
//! only the store's owner may do it. The head is moved by the database;
//! the directory's size and the generation are set here.

use anyhow::Result;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};

use super::PgStore;
use crate::store::copy::{
    COPIED_SETTINGS, CopiedTable, CopyCounts, CopySource, CopyVisit, bytes_of, not_an_integer,
    not_empty,
};
use crate::store::progress::group_codes;

/// Rows per binary COPY: few statements (each a round trip and, on the
/// change log, one move of the head), and a bounded buffer.
const BATCH: usize = 20_000;

/// The SELECT reading `table` in its copy order, every column as text.
fn select_sql(table: CopiedTable) -> String {
    let columns: Vec<String> = table
        .columns()
        .iter()
        .map(|c| {
            if c.integer {
                format!("{}::text", c.name)
            } else if c.bytes {
                format!("encode({}, 'hex')", c.name)
            } else if c.codes {
                format!("array_to_string({}, chr(31))", c.name)
            } else {
                c.name.to_string()
            }
        })
        .collect();
    let filter = if table == CopiedTable::Settings {
        " WHERE key = ANY($1)"
    } else {
        ""
    };
    // Ordered by the table's own columns, named with the table: a bare
    // `seq` would name the text output column and sort 10 before 2.
    let order: Vec<String> = table
        .order_by()
        .split(", ")
        .map(|c| format!("{}.{c}", table.name()))
        .collect();
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        columns.join(", "),
        table.name(),
        order.join(", ")
    )
}

/// The COPY writing the copied columns of `table`.
fn copy_sql(table: CopiedTable) -> String {
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        table.name(),
        table.column_list()
    )
}

/// The binary COPY types of `table`'s columns, in order.
fn copy_types(table: CopiedTable) -> Vec<Type> {
    table
        .columns()
        .iter()
        .map(|c| {
            if c.integer {
                Type::INT8
            } else if c.bytes {
                Type::BYTEA
            } else if c.codes {
                Type::TEXT_ARRAY
            } else {
                Type::TEXT
            }
        })
        .collect()
}

impl PgStore {
    /// Every row of every copied table, from one snapshot.
    pub(crate) fn copy_out(&self, visit: &mut CopyVisit<'_>) -> Result<()> {
        let mut client = self.conn()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| self.explain(e))?;
        // The tables a first import truncates (import.rs) are locked before
        // the snapshot is taken (a LOCK takes none), as the audit's are
        // (audit_inputs.rs): else an import committed before this copy got
        // to its table would be read through the older snapshot, truncated.
        tx.batch_execute(
            "LOCK TABLE organisations, accounts, permissions, directory, activity \
             IN ACCESS SHARE MODE",
        )
        .map_err(|e| self.explain(e))?;
        let settings: Vec<String> = COPIED_SETTINGS.iter().map(|s| s.to_string()).collect();
        for table in CopiedTable::ALL {
            let sql = select_sql(table);
            let params: Vec<&(dyn ToSql + Sync)> = if table == CopiedTable::Settings {
                vec![&settings]
            } else {
                Vec::new()
            };
            let width = table.columns().len();
            let mut rows = tx
                .query_raw(sql.as_str(), params.iter().copied())
                .map_err(|e| self.explain(e))?;
            while let Some(row) = rows.next().map_err(|e| self.explain(e))? {
                let mut owned: Vec<Option<String>> = Vec::with_capacity(width);
                for i in 0..width {
                    owned.push(row.try_get(i).map_err(|e| self.explain(e))?);
                }
                let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
                visit(table, &values)?;
            }
        }
        tx.commit().map_err(|e| self.explain(e))?;
        Ok(())
    }

    /// Fills this store, which must hold nothing, with every row `source`
    /// gives, in one transaction: see `Backend::copy_in`.
    pub(crate) fn copy_in(&mut self, source: &mut CopySource<'_>) -> Result<CopyCounts> {
        self.begin_write()?;
        // The snapshots' tables too: an audit keeps its snapshot under
        // their own lock, not the write lock (write.rs, SNAPSHOT_LOCK).
        let copied = self
            .execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&super::write::SNAPSHOT_LOCK],
            )
            .and_then(|_| self.copy_in_write(source));
        match copied {
            Ok(counts) => {
                self.commit_write()?;
                Ok(counts)
            }
            Err(e) => {
                self.rollback_write();
                Err(e)
            }
        }
    }

    /// The work of [`PgStore::copy_in`], inside its write.
    fn copy_in_write(&self, source: &mut CopySource<'_>) -> Result<CopyCounts> {
        self.execute("SET LOCAL cqrs_admin.copy_log = 'on'", &[])?;
        let mut held = Vec::new();
        for table in CopiedTable::ALL {
            if table == CopiedTable::Settings {
                continue;
            }
            let n: i64 = self
                .query(
                    &format!("SELECT count(*) FROM {}", table.name()),
                    &[],
                    |r| r.try_get(0),
                )?
                .pop()
                .unwrap_or(0);
            if n > 0 {
                held.push((table, n as u64));
            }
        }
        if !held.is_empty() {
            return Err(not_empty(self.shown(), &held));
        }
        let mut counts = CopyCounts::default();
        let mut pending: Option<CopiedTable> = None;
        let mut batch: Vec<Option<String>> = Vec::new();
        {
            let mut visit = |table: CopiedTable, values: &[Option<&str>]| -> Result<()> {
                if pending.is_some_and(|p| p != table) {
                    self.write_batch(pending.take(), &mut batch)?;
                }
                pending = Some(table);
                batch.extend(values.iter().map(|v| v.map(str::to_string)));
                counts.add(table);
                if batch.len() >= BATCH * table.columns().len() {
                    self.write_batch(pending, &mut batch)?;
                }
                Ok(())
            };
            source(&mut visit)?;
        }
        self.write_batch(pending, &mut batch)?;
        if counts.of(CopiedTable::Directory) > 0 {
            self.execute(
                "INSERT INTO settings (key, value) VALUES ('directory.entries', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&counts.of(CopiedTable::Directory).to_string()],
            )?;
        }
        // Rows copied with their seq: the next note or message numbered
        // after them.
        for table in ["notifications", "account_notes"] {
            self.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), max(seq))
                     FROM {table} HAVING count(*) > 0"
                ),
                &[],
            )?;
        }
        self.bump_generation()?;
        Ok(counts)
    }

    /// Writes the buffered rows of `table` (their values one after
    /// another) in one binary COPY, and empties the buffer.
    fn write_batch(
        &self,
        table: Option<CopiedTable>,
        batch: &mut Vec<Option<String>>,
    ) -> Result<()> {
        let Some(table) = table else {
            return Ok(());
        };
        if batch.is_empty() {
            return Ok(());
        }
        let columns = table.columns();
        let types = copy_types(table);
        let mut client = self.conn()?;
        let sink = client
            .copy_in(copy_sql(table).as_str())
            .map_err(|e| self.explain(e))?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        let mut integers: Vec<Option<i64>> = vec![None; columns.len()];
        let mut bytes: Vec<Option<Vec<u8>>> = vec![None; columns.len()];
        let mut codes: Vec<Option<Vec<String>>> = vec![None; columns.len()];
        for row in batch.chunks(columns.len()) {
            for (((column, value), integer), bytes) in columns
                .iter()
                .zip(row)
                .zip(integers.iter_mut())
                .zip(bytes.iter_mut())
            {
                *integer = match (column.integer, value) {
                    (true, Some(v)) => Some(
                        v.parse()
                            .map_err(|_| not_an_integer(table, column.name, v))?,
                    ),
                    _ => None,
                };
                *bytes = match (column.bytes, value) {
                    (true, Some(v)) => Some(bytes_of(table, column.name, v)?),
                    _ => None,
                };
            }
            for ((column, value), codes) in columns.iter().zip(row).zip(codes.iter_mut()) {
                *codes = match (column.codes, value) {
                    (true, Some(v)) => Some(group_codes(v)),
                    _ => None,
                };
            }
            let values: Vec<&(dyn ToSql + Sync)> = columns
                .iter()
                .zip(row)
                .zip(integers.iter().zip(&bytes))
                .zip(&codes)
                .map(
                    |(((column, value), (integer, bytes)), codes)| -> &(dyn ToSql + Sync) {
                        if column.integer {
                            integer
                        } else if column.bytes {
                            bytes
                        } else if column.codes {
                            codes
                        } else {
                            value
                        }
                    },
                )
                .collect();
            writer.write(&values).map_err(|e| self.explain(e))?;
        }
        writer.finish().map_err(|e| self.explain(e))?;
        batch.clear();
        Ok(())
    }
}
