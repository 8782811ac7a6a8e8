//! The one way the SQLite store opens and ends a transaction.
//!
//! Every write takes the write lock when it begins ([`Lock::Write`]:
//! `BEGIN IMMEDIATE`), so two operators are serialised (the second waits up
//! to the busy timeout) rather than one failing at its commit after doing
//! the work; the audit's scans take a read snapshot ([`Lock::Read`]). A
//! write that lives across calls (an import, a batch of replacements) keeps
//! its own "done" flag and ends with [`commit`] or [`rollback`]; one inside
//! a single function holds a [`Tx`], which rolls back when dropped
//! uncommitted, so an early return or a `?` never leaves it open.
//! Triggers a bulk write drops for its own transaction are dropped and put
//! back here too ([`drop_triggers`], [`put_back_triggers`]).

use std::ops::Deref;

use rusqlite::Connection;

/// What a transaction holds from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lock {
    /// A consistent snapshot for reading (SQLite's shared lock, taken at
    /// the first read).
    Read,
    /// The store's write lock, taken now.
    Write,
}

/// Begins a transaction on `conn`.
pub(super) fn begin(conn: &Connection, lock: Lock) -> rusqlite::Result<()> {
    conn.execute_batch(match lock {
        Lock::Read => "BEGIN",
        Lock::Write => "BEGIN IMMEDIATE",
    })
}

/// Commits the transaction open on `conn`.
pub(super) fn commit(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("COMMIT")
}

/// Undoes the transaction open on `conn`, if there is one. A failure
/// means there was none (SQLite rolls back by itself on some errors).
pub(super) fn rollback(conn: &Connection) {
    let _ = conn.execute_batch("ROLLBACK");
}

/// A transaction inside one function: reads and writes go through it (it
/// derefs to the connection); dropped without [`Tx::commit`], it rolls back.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
    done: bool,
}

impl<'c> Tx<'c> {
    pub(super) fn begin(conn: &'c Connection, lock: Lock) -> rusqlite::Result<Tx<'c>> {
        begin(conn, lock)?;
        Ok(Tx { conn, done: false })
    }

    pub(super) fn commit(mut self) -> rusqlite::Result<()> {
        commit(self.conn)?;
        self.done = true;
        Ok(())
    }
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            rollback(self.conn);
        }
    }
}

/// Drops, inside the open write, each of these triggers the store has,
/// and gives back their text exactly as stored, for [`put_back_triggers`]
/// to create them again before the commit. A rollback keeps them (the
/// drop is part of the transaction), so no other connection ever sees the
/// store without them. The import and a write of replacements both drop
/// their guards against REPLACE this way (each says why).
pub(super) fn drop_triggers<'a>(
    conn: &Connection,
    names: impl IntoIterator<Item = &'a str>,
) -> rusqlite::Result<Vec<String>> {
    use rusqlite::OptionalExtension;
    let mut dropped = Vec::new();
    for name in names {
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sql) = sql {
            conn.execute_batch(&format!("DROP TRIGGER {name}"))?;
            dropped.push(sql);
        }
    }
    Ok(dropped)
}

/// Creates again, in the open write, the triggers [`drop_triggers`] gave
/// the text of.
pub(super) fn put_back_triggers(conn: &Connection, dropped: &[String]) -> rusqlite::Result<()> {
    for sql in dropped {
        conn.execute_batch(sql)?;
    }
    Ok(())
}
