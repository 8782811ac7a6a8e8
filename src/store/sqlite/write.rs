//! Writes other than imports, in SQLite: replacements, reverts and the change
//! log.
//!
//! Every write happens between [`SqliteStore::begin_write`] and its commit
//! (`crate::store::WriteTx` holds it): `BEGIN IMMEDIATE` takes the store's
//! write lock before anything is read, so the caller can re-check the rules
//! against the store as it is now (a second operator may have acted since the
//! first look) and nobody can change it between that check and the commit.

use anyhow::{Result, bail};
use rusqlite::params;

use super::chain::{NewEntry, append};
use super::many_rows::insert_rows;
use super::raw::Value;
use super::{SqliteStore, store_error, tx};
use crate::store::address_key::address_key;
use crate::store::{DISABLE_OLD_REASON, NewAccount, REENABLE_OLD_REASON, Stamp};

/// The most replacements queued before they are written
/// ([`SqliteStore::create_replacements`]): the queue is a temporary table
/// held in memory, about 150 bytes a row.
const QUEUED_AT_MOST: usize = 200_000;

/// Replacements queued in `temp.new_replacements`, not yet written, and the
/// settings of the write they belong to.
#[derive(Debug, Clone)]
pub(super) struct Queued {
    rows: usize,
    disable_old: bool,
    created_at: String,
}

/// The guards against REPLACE that a write of replacements drops for its
/// transaction ([`SqliteStore::suspend_guards`]).
const GUARDS_SUSPENDED_FOR_REPLACEMENTS: &[&str] =
    &["accounts_email_never_replaced", "change_log_no_replace"];

impl SqliteStore {
    /// Starts a write: takes the write lock now (waiting for another
    /// operator's write to finish, up to the busy timeout), and refuses a
    /// store changed past cqrs-admin.
    pub(super) fn begin_write(&self) -> Result<()> {
        self.suspended.replace(None);
        self.queued.replace(None);
        tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&self.path, e))?;
        if let Err(e) = super::refuse_if_tampered(&self.conn, &self.path) {
            self.rollback_write();
            return Err(e);
        }
        Ok(())
    }

    /// Readies the connection for writing a long plan, for this process only
    /// (nothing is stored): a bounded page cache (32 MB), which SQLite may
    /// spill to the file before the commit once it is full. A spill takes the
    /// exclusive lock, which is why `replace` checks every row before it
    /// writes the first one (no connection of ours reads while this one
    /// writes); the rollback journal keeps the transaction all-or-nothing.
    /// Holding every changed page until the commit instead
    /// (`cache_spill = OFF`) cost a 177,000-row plan 651 MB.
    pub(super) fn prepare_for_bulk(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA cache_size = -32768;")?;
        Ok(())
    }

    /// Undoes everything written since [`SqliteStore::begin_write`].
    pub(super) fn rollback_write(&self) {
        tx::rollback(&self.conn);
        // The rollback put back any guard the write had dropped, and undid
        // what was queued.
        self.suspended.replace(None);
        self.queued.replace(None);
    }

    /// Drops, for the open write only, the guards against REPLACE on the
    /// tables replacements insert into (a `BEFORE INSERT` trigger that looks
    /// up the row being inserted: a look-up and a trigger program per new
    /// account and per change-log entry). The replacements' own statements
    /// can replace nothing (`INSERT OR ROLLBACK`: a row already there ends
    /// the transaction), and the write lock is held, so no other connection
    /// can write meanwhile; [`SqliteStore::commit_write`] puts them back, in
    /// the text they had, before it commits, and a rollback keeps them. As
    /// the import does (import.rs).
    fn suspend_guards(&self) -> Result<()> {
        if self.suspended.borrow().is_some() {
            return Ok(());
        }
        let put_back = tx::drop_triggers(
            &self.conn,
            GUARDS_SUSPENDED_FOR_REPLACEMENTS.iter().copied(),
        )?;
        self.suspended.replace(Some(put_back));
        Ok(())
    }

    /// Creates these replacement accounts: each new account with exactly the
    /// old account's roles (copied row for row in SQL), the old account marked
    /// as replaced (and, with `disable_old`, disabled), and the change log
    /// rows. The caller has checked every rule inside this transaction.
    ///
    /// The change log is appended here, batch by batch, in the plan's order;
    /// the accounts, addresses and roles are only queued (a temporary
    /// table) and written by [`SqliteStore::write_queued_replacements`] at
    /// the commit, or once [`QUEUED_AT_MOST`] are queued: a few set-based
    /// statements for the whole plan, each walking its table in key order.
    /// Written batch by batch, every batch's addresses fell on most pages of
    /// `account_emails` again and the old accounts' and roles' pages were
    /// read again once the cache had let them go; each of those pages was
    /// read, spilled and written once per batch instead of once.
    pub(super) fn create_replacements(
        &self,
        batch: &[NewAccount<'_>],
        disable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.suspend_guards()?;
        let conn = &self.conn;
        let queued = self.queued.borrow().clone();
        match queued {
            Some(q) if q.disable_old == disable_old && q.created_at == stamp.created_at => {}
            Some(_) => {
                // Another write's settings: what is queued goes first.
                self.write_queued_replacements()?;
                self.start_queue(disable_old, stamp.created_at)?;
            }
            None => self.start_queue(disable_old, stamp.created_at)?,
        }
        {
            // The address's look-up key is computed here, once.
            let mut values = Vec::with_capacity(batch.len() * 7);
            for n in batch {
                values.extend([
                    Value::Text(n.old_account_id),
                    Value::Text(n.new_account_id),
                    Value::Text(n.email),
                    Value::Text(n.given_name),
                    Value::Text(n.family_name),
                    n.reason.map_or(Value::Null, Value::Text),
                    Value::Integer(address_key(n.email_key)),
                ]);
            }
            insert_rows(
                conn,
                "INSERT INTO temp.new_replacements
                    (old_id, new_id, email, given_name, family_name, reason, address_key)
                 VALUES",
                7,
                &values,
            )?;
        }
        let rows = {
            let mut queued = self.queued.borrow_mut();
            let q = queued.as_mut().expect("a queue was started above");
            q.rows += batch.len();
            q.rows
        };

        // The log entries, chained (src/store/chain.rs): each replacement,
        // then its `disable` step with --disable-old.
        let mut entries = Vec::with_capacity(batch.len() * if disable_old { 2 } else { 1 });
        for n in batch {
            entries.push(NewEntry {
                at: stamp.at,
                actor: stamp.actor.name,
                action: "replace",
                old_account_id: Some(n.old_account_id),
                new_account_id: Some(n.new_account_id),
                email: Some(n.email),
                reason: n.reason,
            });
            if disable_old {
                entries.push(NewEntry {
                    at: stamp.at,
                    actor: stamp.actor.name,
                    action: "disable",
                    old_account_id: Some(n.old_account_id),
                    new_account_id: Some(n.new_account_id),
                    email: None,
                    reason: Some(DISABLE_OLD_REASON),
                });
            }
        }
        append(conn, &entries)?;
        // Categories changed: the report's cache is stale.
        super::bump_generation(conn)?;
        if rows >= QUEUED_AT_MOST {
            self.write_queued_replacements()?;
        }
        Ok(())
    }

    /// An empty queue of replacements to write with these settings.
    fn start_queue(&self, disable_old: bool, created_at: &str) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS new_replacements (
                old_id TEXT NOT NULL, new_id TEXT NOT NULL, email TEXT NOT NULL,
                given_name TEXT NOT NULL, family_name TEXT NOT NULL, reason TEXT,
                address_key INTEGER NOT NULL);
             DELETE FROM temp.new_replacements;",
        )?;
        self.queued.replace(Some(Queued {
            rows: 0,
            disable_old,
            created_at: created_at.to_string(),
        }));
        Ok(())
    }

    /// Writes the queued replacements ([`SqliteStore::create_replacements`]):
    /// the new accounts, their addresses' look-up rows, their roles, and the
    /// old accounts marked. Each statement takes the queue in the key order
    /// of the table it writes (or, for the roles, reads and writes), so each
    /// page of that table is read, changed and written once however the
    /// plan is ordered.
    fn write_queued_replacements(&self) -> Result<()> {
        let Some(queued) = self.queued.take() else {
            return Ok(());
        };
        let expected = queued.rows;
        let conn = &self.conn;

        // `OR ROLLBACK`: a constraint failure (which the checks make impossible)
        // ends the whole transaction, so nothing of the plan is kept. It also
        // spares SQLite a statement journal per statement (a copy of every page
        // touched, kept to undo one statement alone), which roughly halves the
        // cost of these multi-row writes.

        let created = conn
            .prepare_cached(
                "INSERT OR ROLLBACK INTO accounts (account_id, username, email, given_name,
                                       family_name, status, created_at, last_login_at,
                                       replaced_by, replaces)
                 SELECT new_id, email, email, given_name, family_name, 'active', ?1,
                        NULL, NULL, old_id
                 FROM temp.new_replacements ORDER BY new_id",
            )?
            .execute([&queued.created_at])?;
        if created != expected {
            bail!("created {created} of {expected} replacement accounts: nothing was changed");
        }

        // The look-up by address (the store keeps it as a table).
        conn.prepare_cached(
            "INSERT OR ROLLBACK INTO account_emails (email_key, account_id)
             SELECT address_key, new_id FROM temp.new_replacements ORDER BY 1, 2",
        )?
        .execute([])?;

        // Exactly the old account's roles: organisation, role and payment-type
        // restrictions, nothing more and nothing less. In the old accounts'
        // order, the order of their roles and (`R{n}-{old}`) of the new ones.
        conn.prepare_cached(
            "INSERT OR ROLLBACK INTO permissions (account_id, ods_code, role, payment_types)
             SELECT r.new_id, p.ods_code, p.role, p.payment_types
             FROM (SELECT old_id, new_id FROM temp.new_replacements ORDER BY old_id) r
             CROSS JOIN permissions p ON p.account_id = r.old_id",
        )?
        .execute([])?;

        // The old account keeps its email and history; it records which account
        // replaced it. The WHERE re-states the rules as a last guard. One
        // statement per account, in key order: a single statement for them
        // all (`UPDATE ... FROM`) first gathered every row to change, reading
        // every page of the table, and then read each page again to change
        // it.
        let mut mark = conn.prepare_cached(
            "UPDATE OR ROLLBACK accounts
             SET replaced_by = ?2,
                 status = CASE WHEN ?3 THEN 'disabled' ELSE status END
             WHERE account_id = ?1 AND replaced_by IS NULL AND status = 'active'",
        )?;
        let mut queue = conn
            .prepare_cached("SELECT old_id, new_id FROM temp.new_replacements ORDER BY old_id")?;
        let mut rows = queue.query([])?;
        let mut marked = 0;
        while let Some(r) = rows.next()? {
            marked += mark.execute(params![
                r.get_ref(0)?.as_str()?,
                r.get_ref(1)?.as_str()?,
                queued.disable_old
            ])?;
        }
        drop(rows);
        if marked != expected {
            bail!(
                "only {marked} of {expected} old accounts could be marked as replaced: nothing was changed"
            );
        }
        conn.execute_batch("DELETE FROM temp.new_replacements")?;
        tracing::info!("queued replacements written");
        Ok(())
    }

    /// Reverts a replacement: disables the replacement account (never deletes
    /// it), clears the old account's `replaced_by` and, with `reenable_old`,
    /// makes the old account active again; the change log records `revert`
    /// (and `enable`).
    pub(super) fn revert_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        reenable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        // Queued replacements go first, as if written when asked.
        self.write_queued_replacements()?;
        let conn = &self.conn;
        let disabled = conn
            .prepare_cached(
                "UPDATE accounts SET status = 'disabled'
                 WHERE account_id = ?1 AND replaces = ?2",
            )?
            .execute([new_account_id, old_account_id])?;
        let restored = conn
            .prepare_cached(
                "UPDATE accounts
                 SET replaced_by = NULL,
                     status = CASE WHEN ?3 THEN 'active' ELSE status END
                 WHERE account_id = ?1 AND replaced_by = ?2",
            )?
            .execute(params![old_account_id, new_account_id, reenable_old])?;
        if disabled != 1 || restored != 1 {
            bail!(
                "the store changed while reverting {new_account_id} (is it still the \
                 replacement of {old_account_id}?): nothing was changed"
            );
        }
        let mut entries = vec![NewEntry {
            at: stamp.at,
            actor: stamp.actor.name,
            action: "revert",
            old_account_id: Some(old_account_id),
            new_account_id: Some(new_account_id),
            email: Some(email),
            reason,
        }];
        if reenable_old {
            entries.push(NewEntry {
                at: stamp.at,
                actor: stamp.actor.name,
                action: "enable",
                old_account_id: Some(old_account_id),
                new_account_id: Some(new_account_id),
                email: None,
                reason: Some(REENABLE_OLD_REASON),
            });
        }
        append(conn, &entries)?;
        super::bump_generation(conn)?;
        Ok(())
    }

    /// Reinstates a reverted replacement: the replacement account is active
    /// again and the old account is marked as replaced by it again; the
    /// change log records `reinstate`. The caller has checked the rules
    /// inside this transaction.
    pub(super) fn reinstate_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        // Queued replacements go first, as if written when asked.
        self.write_queued_replacements()?;
        let conn = &self.conn;
        let enabled = conn
            .prepare_cached(
                "UPDATE accounts SET status = 'active'
                 WHERE account_id = ?1 AND replaces = ?2 AND status = 'disabled'",
            )?
            .execute([new_account_id, old_account_id])?;
        let marked = conn
            .prepare_cached(
                "UPDATE accounts SET replaced_by = ?2
                 WHERE account_id = ?1 AND replaced_by IS NULL AND status = 'active'",
            )?
            .execute([old_account_id, new_account_id])?;
        if enabled != 1 || marked != 1 {
            bail!(
                "the store changed while reinstating {new_account_id} (is it still a reverted \
                 replacement of {old_account_id}?): nothing was changed"
            );
        }
        append(
            conn,
            &[NewEntry {
                at: stamp.at,
                actor: stamp.actor.name,
                action: "reinstate",
                old_account_id: Some(old_account_id),
                new_account_id: Some(new_account_id),
                email: Some(email),
                reason,
            }],
        )?;
        super::bump_generation(conn)?;
        Ok(())
    }

    /// Commits everything written since [`SqliteStore::begin_write`].
    pub(super) fn commit_write(&self) -> Result<()> {
        self.write_queued_replacements()?;
        if let Some(put_back) = self.suspended.take() {
            tx::put_back_triggers(&self.conn, &put_back)?;
        }
        tx::commit(&self.conn).map_err(|e| store_error(&self.path, e))?;
        Ok(())
    }
}
