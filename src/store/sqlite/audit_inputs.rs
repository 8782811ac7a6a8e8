//! The audit's inputs: the directory, the roles and the accounts, read as one
//! consistent snapshot of the store, each by a scan that can run on a thread
//! of its own.
//!
//! The audit engine (`crate::audit`) asks for `SqliteStore::audit_inputs` and
//! gets three scans; how they are kept consistent is the store's business.
//! Here (SQLite) each scan is a connection of its own, with a small page
//! cache, whose read transaction starts together with the others' (see
//! [`start_together`]); a scan reads its table front to back, handing each
//! row over as bytes, unchecked and uncopied (see `raw.rs`), and the audit
//! checks in bulk that what it keeps is UTF-8. Another back end fills the
//! same three scans with its own snapshot (a repeatable-read transaction
//! exported to three sessions, say).

use std::time::Duration;

use anyhow::Result;

use super::raw::Scan;
use super::{SqliteStore, store_error, tx};
use crate::model::{MailboxType, Role, Status};
use crate::store::{
    AccountBytes, AuditInputs, DirectoryBytes, ReadAccounts, ReadDirectory, ReadRoles, RoleVisit,
};

/// The directory's scan: a connection of its own.
pub(super) struct DirectoryScan(SqliteStore);

/// The roles' scan: a connection of its own.
pub(super) struct RoleScan(SqliteStore);

/// The accounts' scan: a connection of its own.
pub(super) struct AccountScan(SqliteStore);

impl SqliteStore {
    /// The audit's inputs as one consistent snapshot (see [`AuditInputs`]).
    pub(super) fn audit_inputs(&self) -> Result<AuditInputs> {
        let directory = self.bulk_reader()?;
        let roles = self.bulk_reader()?;
        let accounts = self.bulk_reader()?;
        start_together(&[&directory, &roles, &accounts])?;
        Ok(AuditInputs::new(
            Box::new(DirectoryScan(directory)),
            Box::new(RoleScan(roles)),
            Box::new(AccountScan(accounts)),
        ))
    }

    /// A second connection for one long front-to-back scan. A scan reads
    /// each page once, so a small page cache serves it as well as the
    /// default one and keeps the audit's memory down.
    fn bulk_reader(&self) -> Result<SqliteStore> {
        let store = SqliteStore::open(&self.path)?;
        store
            .conn
            .execute_batch("PRAGMA cache_size = -1024")
            .map_err(|e| store_error(&self.path, e))?;
        Ok(store)
    }
}

/// Starts a read transaction on each of these connections, all seeing the
/// same state of the store.
///
/// With a rollback journal, no write can be committed while any connection
/// holds a read lock, so once the first has one the others see what it
/// sees. The others ask without waiting: if a writer is about to commit, it
/// is waiting for the first connection's lock, and waiting for it would
/// deadlock both until the busy timeout. Then every lock is let go, and the
/// whole start is tried again shortly after (the writer commits in between).
fn start_together(connections: &[&SqliteStore]) -> Result<()> {
    let mut attempt = 0u32;
    loop {
        let mut held = 0;
        let mut busy = false;
        for (i, store) in connections.iter().enumerate() {
            if i > 0 {
                store.conn.busy_timeout(Duration::ZERO)?;
            }
            let started = tx::begin(&store.conn, tx::Lock::Read).and_then(|()| {
                store
                    .conn
                    .query_row("SELECT count(*) FROM settings", [], |_| Ok(()))
            });
            if i > 0 {
                store
                    .conn
                    .busy_timeout(Duration::from_millis(super::busy_timeout_ms()?))?;
            }
            match started {
                Ok(()) => held += 1,
                Err(e) if i > 0 && super::fault::is_busy(&e) => {
                    tx::rollback(&store.conn);
                    busy = true;
                    break;
                }
                Err(e) => {
                    for store in &connections[..held] {
                        tx::rollback(&store.conn);
                    }
                    tx::rollback(&store.conn);
                    return Err(store_error(&store.path, e));
                }
            }
        }
        if !busy {
            return Ok(());
        }
        for store in &connections[..held] {
            tx::rollback(&store.conn);
        }
        attempt += 1;
        if attempt > 200 {
            anyhow::bail!(
                "the store stayed busy with another operator's changes: run the command again when they are done"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Status and a second flag as the scans select them: one small number
/// rather than two texts.
fn status_of(flags: i64) -> Status {
    if flags & 1 != 0 {
        Status::Disabled
    } else {
        Status::Active
    }
}

fn role_bytes(bytes: &[u8]) -> rusqlite::Result<Role> {
    std::str::from_utf8(bytes)
        .map(super::read::role)
        .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)).into())
}

impl ReadDirectory for DirectoryScan {
    /// How many entries the last import wrote (0 if unknown), to reserve
    /// room for them.
    fn expected_entries(&self) -> Result<usize> {
        Ok(super::setting(&self.0.conn, "directory.entries")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Streams every directory entry as bytes (see [`DirectoryBytes`]).
    fn read(self: Box<Self>, visit: &mut dyn FnMut(DirectoryBytes<'_>)) -> Result<()> {
        let mut scan = Scan::prepare(
            &self.0.conn,
            "SELECT address, given_name, family_name, ods_code,
                    (status = 'disabled') | ((mailbox_type = 'shared') << 1)
             FROM directory",
        )?;
        scan.for_each(|r| -> Result<()> {
            let flags = r.int(4);
            visit(DirectoryBytes {
                address: r.bytes(0),
                given_name: r.bytes(1),
                family_name: r.bytes(2),
                ods_code: r.bytes(3),
                status: status_of(flags),
                mailbox_type: if flags & 2 != 0 {
                    MailboxType::Shared
                } else {
                    MailboxType::Personal
                },
            });
            Ok(())
        })
    }
}

impl ReadRoles for RoleScan {
    /// How many accounts the store holds, to reserve room for their roles.
    fn expected_accounts(&self) -> Result<usize> {
        self.0.account_count_hint()
    }

    /// Streams every role as (account_id, ods_code) bytes and the role, in
    /// account_id order (the order of [`AccountScan::read`], so the two
    /// streams can be merged) and, within an account, in the table's key
    /// order, as [`SqliteStore::for_each_account_with_roles`] reads them.
    fn read(self: Box<Self>, visit: &mut RoleVisit<'_>) -> Result<()> {
        let mut scan = Scan::prepare(
            &self.0.conn,
            "SELECT account_id, ods_code, role, payment_types FROM permissions ORDER BY account_id",
        )?;
        scan.for_each(|p| visit(p.bytes(0), p.bytes(1), role_bytes(p.bytes(2))?, p.bytes(3)))
    }
}

impl ReadAccounts for AccountScan {
    /// How many accounts the store holds, to reserve room for them.
    fn expected_accounts(&self) -> Result<usize> {
        self.0.account_count_hint()
    }

    /// Streams every account in account_id order as bytes (see
    /// [`AccountBytes`]).
    fn read(self: Box<Self>, visit: &mut dyn FnMut(AccountBytes<'_>) -> Result<()>) -> Result<()> {
        let mut scan = Scan::prepare(
            &self.0.conn,
            "SELECT account_id, email, given_name, family_name,
                    (status = 'disabled') | ((replaced_by IS NOT NULL) << 1)
                    | ((replaces IS NOT NULL) << 2)
             FROM accounts ORDER BY account_id",
        )?;
        scan.for_each(|a| {
            let flags = a.int(4);
            visit(AccountBytes {
                account_id: a.bytes(0),
                email: a.bytes(1),
                given_name: a.bytes(2),
                family_name: a.bytes(3),
                status: status_of(flags),
                superseded: flags & 2 != 0,
                made_here: flags & 4 != 0,
            })
        })
    }
}
