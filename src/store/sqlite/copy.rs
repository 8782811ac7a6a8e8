//! Copying a whole store out of and into an SQLite file (`store copy`;
//! `crate::store::copy` names the tables and columns). Out: every copied
//! table read in one read transaction, so the copy is of one moment. In:
//! one write transaction on a store that must hold nothing, the change log
//! written verbatim and each entry checked to continue the chain, and the
//! look-up tables, the directory's size, the head and the generation built
//! from what was copied.

use anyhow::Result;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ToSql};

use super::chain::{check_triggers, set_head};
use super::{SqliteStore, refuse_if_tampered, store_error, tx};
use crate::store::copy::{
    COPIED_SETTINGS, CopiedTable, CopyCounts, CopySource, CopyVisit, bytes_of, not_an_integer,
    not_empty,
};
use crate::store::{EntryContent, GENESIS, entry_hash};

/// The SELECT reading `table` in its copy order.
fn select_sql(table: CopiedTable) -> String {
    let columns: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
    let filter = if table == CopiedTable::Settings {
        let keys: Vec<String> = COPIED_SETTINGS.iter().map(|k| format!("'{k}'")).collect();
        format!(" WHERE key IN ({})", keys.join(", "))
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        columns.join(", "),
        table.name(),
        table.order_by()
    )
}

impl SqliteStore {
    /// Every row of every copied table, from one read transaction.
    pub fn copy_out(&self, visit: &mut CopyVisit<'_>) -> Result<()> {
        let path = self.path.clone();
        let err = |e| store_error(&path, e);
        let read = tx::Tx::begin(&self.conn, tx::Lock::Read).map_err(err)?;
        for table in CopiedTable::ALL {
            let mut stmt = read.prepare(&select_sql(table)).map_err(err)?;
            let width = table.columns().len();
            let mut rows = stmt.query([]).map_err(err)?;
            let mut owned: Vec<Option<String>> = Vec::with_capacity(width);
            let columns = table.columns();
            while let Some(row) = rows.next().map_err(err)? {
                owned.clear();
                for (i, column) in columns.iter().enumerate().take(width) {
                    owned.push(match row.get_ref(i).map_err(err)? {
                        ValueRef::Null => None,
                        ValueRef::Blob(b) | ValueRef::Text(b) if column.bytes => {
                            Some(hex::encode(b))
                        }
                        ValueRef::Integer(n) => Some(n.to_string()),
                        ValueRef::Real(x) => Some(x.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                    });
                }
                let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
                visit(table, &values)?;
            }
        }
        Ok(())
    }

    /// Fills this store, which must hold nothing, with every row `source`
    /// gives, in one transaction: see `Backend::copy_in`.
    pub fn copy_in(&mut self, source: &mut CopySource<'_>) -> Result<CopyCounts> {
        let path = self.path.clone();
        let err = |e| store_error(&path, e);
        let write = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(err)?;
        refuse_if_tampered(&write, &path)?;
        let held = held_rows(&write).map_err(err)?;
        if !held.is_empty() {
            return Err(not_empty(&path.display().to_string(), &held));
        }
        let mut counts = CopyCounts::default();
        let mut chain = Chain::default();
        {
            let conn: &Connection = &write;
            let inserts: Vec<String> = CopiedTable::ALL.iter().map(|&t| insert_sql(t)).collect();
            let mut visit = |table: CopiedTable, values: &[Option<&str>]| -> Result<()> {
                if table == CopiedTable::ChangeLog {
                    chain.follow(values)?;
                }
                insert_row(conn, &inserts[table as usize], table, values).map_err(|e| match e {
                    Insert::Sql(e) => store_error(&path, e),
                    Insert::Value(e) => e,
                })?;
                counts.add(table);
                Ok(())
            };
            source(&mut visit)?;
        }
        rebuild_derived(&write, &chain).map_err(err)?;
        // The triggers are checked again: a copy leaves them as it found them.
        let found = check_triggers(&write).map_err(err)?;
        if !found.is_empty() {
            anyhow::bail!("the copy changed the store's protective triggers: {found:?}");
        }
        write.commit().map_err(err)?;
        Ok(counts)
    }
}

/// The copied tables (settings aside) that hold rows, with their counts.
fn held_rows(conn: &Connection) -> rusqlite::Result<Vec<(CopiedTable, u64)>> {
    let mut held = Vec::new();
    for table in CopiedTable::ALL {
        if table == CopiedTable::Settings {
            continue;
        }
        let n: i64 =
            conn.query_row(&format!("SELECT count(*) FROM {}", table.name()), [], |r| {
                r.get(0)
            })?;
        if n > 0 {
            held.push((table, n as u64));
        }
    }
    Ok(held)
}

/// The INSERT of one row of `table`.
fn insert_sql(table: CopiedTable) -> String {
    let names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table.name(),
        names.join(", "),
        (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Writes one copied row as it came (`sql`: [`insert_sql`]). Integer
/// columns are bound as integers (SQLite's STRICT tables would refuse
/// their text).
fn insert_row(
    conn: &Connection,
    sql: &str,
    table: CopiedTable,
    values: &[Option<&str>],
) -> Result<(), Insert> {
    let columns = table.columns();
    let mut integers: Vec<Option<i64>> = Vec::with_capacity(columns.len());
    let mut bytes: Vec<Option<Vec<u8>>> = Vec::with_capacity(columns.len());
    for (column, value) in columns.iter().zip(values) {
        integers.push(match (column.integer, value) {
            (true, Some(v)) => Some(
                v.parse()
                    .map_err(|_| Insert::Value(not_an_integer(table, column.name, v)))?,
            ),
            _ => None,
        });
        bytes.push(match (column.bytes, value) {
            (true, Some(v)) => Some(bytes_of(table, column.name, v).map_err(Insert::Value)?),
            _ => None,
        });
    }
    let params: Vec<&dyn ToSql> = columns
        .iter()
        .zip(values)
        .zip(integers.iter().zip(&bytes))
        .map(|((column, value), (integer, bytes))| -> &dyn ToSql {
            if column.integer {
                integer
            } else if column.bytes {
                bytes
            } else {
                value
            }
        })
        .collect();
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params.as_slice()))
        .map_err(Insert::Sql)?;
    Ok(())
}

/// Why a copied row was not written.
enum Insert {
    Sql(rusqlite::Error),
    Value(anyhow::Error),
}

/// The change log's chain as the copy writes it: each entry must follow
/// the one before exactly, as the PostgreSQL store's database checks.
#[derive(Default)]
struct Chain {
    last: Option<(i64, String)>,
}

impl Chain {
    /// Checks that this change-log row continues the chain.
    fn follow(&mut self, v: &[Option<&str>]) -> Result<()> {
        let text = |i: usize| v.get(i).copied().flatten();
        let seq_text = text(0).unwrap_or("");
        let seq: i64 = seq_text
            .parse()
            .map_err(|_| not_an_integer(CopiedTable::ChangeLog, "seq", seq_text))?;
        let (want_seq, want_prev) = match &self.last {
            Some((s, h)) => (s + 1, h.as_str()),
            None => (1, GENESIS),
        };
        let content = EntryContent {
            seq,
            at: text(1).unwrap_or(""),
            actor: text(2).unwrap_or(""),
            action: text(3).unwrap_or(""),
            old_account_id: text(4),
            new_account_id: text(5),
            email: text(6),
            reason: text(7),
            actor_claim: text(10),
        };
        let prev = text(8).unwrap_or("");
        let hash = text(9).unwrap_or("");
        if seq != want_seq || prev != want_prev || hash != entry_hash(prev, &content) {
            return Err(crate::error::UserError::Refused(format!(
                "the copied change log entry {seq} does not continue this store's chain: \
                 nothing was changed. Run `cqrs-admin verify` on the store copied from"
            ))
            .into());
        }
        self.last = Some((seq, hash.to_string()));
        Ok(())
    }
}

/// What the store derives from the copied rows, built in the copy's
/// transaction: the look-up tables in key order, as an import writes them,
/// the directory's size, the change log's head, and a new generation.
fn rebuild_derived(conn: &Connection, chain: &Chain) -> rusqlite::Result<()> {
    conn.execute_batch(
        "INSERT INTO account_emails (email_key, account_id)
         SELECT cqrs_address_key(cqrs_normal_form(email)), account_id FROM accounts ORDER BY 1, 2;
         INSERT INTO directory_keys (address_key, entry)
         SELECT cqrs_address_key(address), entry FROM directory ORDER BY 1, 2;
         INSERT INTO settings (key, value)
         SELECT 'directory.entries', CAST(count(*) AS TEXT) FROM directory WHERE EXISTS (SELECT 1 FROM directory)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
    )?;
    if let Some((seq, hash)) = &chain.last {
        set_head(conn, *seq, hash)?;
    }
    super::bump_generation(conn)
}
