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
