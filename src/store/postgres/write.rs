//! Writes other than imports, on PostgreSQL: replacements, reverts,
//! reinstatements and the cutover date (the kept report: report_cache.rs).
//!
//! Many operators write at once (issue 12, item 5). Every write holds the
//! store's write lock, a transaction-level advisory lock
//! (`pg_advisory_xact_lock`, [`WRITE_LOCK`]), from its first statement to
//! its commit, so writers are serialised as SQLite's `BEGIN IMMEDIATE`
//! serialises them; a second operator waits for the first to commit.
//! The transaction is READ COMMITTED on purpose: each statement then sees
//! everything committed before it, so the caller's re-check of the rules
//! after [`PgStore::begin_write`] sees every replacement made by whoever
//! held the lock before (under REPEATABLE READ the snapshot would be taken
//! by the lock's own statement, before the wait, and a second operator
//! would re-check against the store as it was before the first committed).
//! Under the lock no two cqrs-admin writers can deadlock or conflict; a
//! deadlock or serialization failure met while taking it (another
//! program's transaction) is retried, from the start, up to 20 times.
//!
//! The change log's entries are sent complete and checked by the database
//! (schema migration 6): numbered from the head this write locks, timed by
//! the database's clock, the login (`session_user`) as the operator, an
//! explicit `--actor` (or `CQRS_ADMIN_ACTOR`) as the entry's `actor_claim`
//! when it differs from the login, beside it, never instead, and each hash
//! computed here with the chain's one definition; the database refuses the
//! INSERT whole if any entry differs from what it would have written. A
//! name taken from `USER` is no claim and is not sent.

use anyhow::{Result, bail};
use chrono::NaiveDate;
use postgres::types::ToSql;

use super::{PgStore, chain};
use crate::error::UserError;
use crate::store::{
    Actor, DEFAULT_CUTOVER, DISABLE_OLD_REASON, NewAccount, REENABLE_OLD_REASON, Stamp,
    TAMPERED_RECOVERY,
};

/// The advisory lock every write holds until it commits or rolls back:
/// "CQRW" (migrations hold another, schema::MIGRATION_LOCK).
pub(super) const WRITE_LOCK: i64 = 0x4351_5257;

/// The advisory lock a progress snapshot is kept under ("CQRP"): two audits
/// keeping the same day do so one after the other, never interleaved. It
/// is not the write lock, so that an audit keeps its snapshot on a second
/// connection while the first keeps the report's rows (which needs the
/// write lock); the snapshot's tables are written by nothing else but a
/// store copy, which holds both.
pub(super) const SNAPSHOT_LOCK: i64 = 0x4351_5250;

/// SQLSTATEs after which taking the lock is worth trying again.
const RETRIED: &[&str] = &["40001", "40P01"];

/// How many times taking the lock is tried.
const ATTEMPTS: usize = 20;

/// One change-log entry to append in a write.
struct Entry<'a> {
    action: &'a str,
    old_account_id: Option<&'a str>,
    new_account_id: Option<&'a str>,
    email: Option<&'a str>,
    reason: Option<&'a str>,
}

impl PgStore {
    /// Starts a write: begins a READ COMMITTED transaction holding the
    /// store's write lock (waiting for another operator's write to end),
    /// and refuses a store changed past cqrs-admin.
    pub(super) fn begin_write(&self) -> Result<()> {
        self.begin_locked()?;
        if let Err(e) = self.refuse_if_tampered() {
            self.rollback_write();
            return Err(e);
        }
        Ok(())
    }

    /// Begins a transaction and takes the write lock, retrying a deadlock
    /// or serialization failure met on the way.
    pub(super) fn begin_locked(&self) -> Result<()> {
        self.begin_locked_on(WRITE_LOCK)
    }

    /// Begins a transaction and takes the advisory lock `lock`
    /// ([`WRITE_LOCK`] or [`SNAPSHOT_LOCK`]), retrying a deadlock or
    /// serialization failure met on the way.
    pub(super) fn begin_locked_on(&self, lock: i64) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // No JIT in a write: its statements are many short look-ups
            // whose row estimates (a join to 10,000 keys) are far off, and
            // compiling them took 0.6 s a batch for nothing.
            let taken = self.conn()?.batch_execute(&format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL jit = off;
                 SELECT pg_advisory_xact_lock({lock})"
            ));
            match taken {
                Ok(()) => return Ok(()),
                Err(e)
                    if attempt < ATTEMPTS
                        && e.code().is_some_and(|c| RETRIED.contains(&c.code())) =>
                {
                    self.rollback_write();
                    tracing::info!(attempt, "taking the write lock retried after a conflict");
                }
                Err(e) => {
                    self.rollback_write();
                    return Err(self.explain(e));
                }
            }
        }
    }

    /// Refuses to write to a store changed past cqrs-admin (a protective
    /// trigger or function changed, a break in the chain), inside the
    /// write's transaction: under the write lock, nobody appends between
    /// reading the log and reading its head.
    fn refuse_if_tampered(&self) -> Result<()> {
        let mut found = self.trigger_tampering()?;
        // An area operator sees only its area's entries: it checks the
        // links of all of them (chain::breaks).
        let whole = self.area()?.is_none();
        let breaks = chain::breaks(&mut *self.conn()?, whole).map_err(|e| self.explain(e))?;
        found.extend(breaks);
        if found.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = found.iter().map(|t| format!("  {t}")).collect();
        Err(UserError::Store(format!(
            "{} was changed outside cqrs-admin, so nothing will be written to it:\n{}\n\
             To recover, {TAMPERED_RECOVERY}; `cqrs-admin verify` lists what was changed. \
             Nothing was changed.",
            self.shown(),
            list.join("\n")
        ))
        .into())
    }

    /// Nothing to do: the server keeps a long write's changes in its own
    /// buffers and WAL, and other connections never see them before the
    /// commit.
    pub(super) fn prepare_for_bulk(&self) -> Result<()> {
        Ok(())
    }

    /// Undoes everything written since [`PgStore::begin_write`] (and lets go
    /// of the write lock). A failure means there was nothing to undo, or
    /// the connection is gone, which undoes it too.
    pub(super) fn rollback_write(&self) {
        if let Ok(mut client) = self.conn() {
            let _ = client.batch_execute("ROLLBACK");
        }
    }

    /// Commits everything written since [`PgStore::begin_write`].
    pub(super) fn commit_write(&self) -> Result<()> {
        self.conn()?
            .batch_execute("COMMIT")
            .map_err(|e| self.explain(e))
    }

    /// Runs `sql` inside the write; the rows it changed.
    fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// Appends `entries` in order, in one statement. The entries come
    /// complete: numbered from the head, which this transaction locks
    /// first (`cqrs_change_log_next`, schema migration 6), timed by the
    /// database's clock, the login as the operator, `actor` as the claim
    /// when it differs from the login, and each hash computed here with
    /// the chain's one definition (`chain::entry_hash_with_claim`). The
    /// database checks them all in one set-based query at the statement's
    /// end and refuses the INSERT whole if any differs from what it would
    /// have written itself; computing them row by row in a PL/pgSQL trigger
    /// cost 54 µs an entry on a loaded machine.
    fn append_entries(&self, entries: &[Entry<'_>], actor: Actor<'_>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let next = self.query(
            "SELECT seq, hash, operator, at FROM cqrs_change_log_next()",
            &[],
            |r| {
                Ok((
                    r.try_get::<_, i64>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    r.try_get::<_, String>(3)?,
                ))
            },
        )?;
        let Some((mut seq, mut prev, operator, at)) = next.into_iter().next() else {
            bail!("the store did not say where its change log ends: nothing was changed");
        };
        // Only an explicit --actor is a claim, and only when it is not the
        // login itself (the database keeps the same, for an entry it writes).
        let claim = actor.claim().filter(|c| *c != operator);
        let mut seqs = Vec::with_capacity(entries.len());
        let mut prevs = Vec::with_capacity(entries.len());
        let mut hashes = Vec::with_capacity(entries.len());
        for e in entries {
            seq += 1;
            let content = crate::store::EntryContent {
                seq,
                at: &at,
                actor: &operator,
                action: e.action,
                old_account_id: e.old_account_id,
                new_account_id: e.new_account_id,
                email: e.email,
                reason: e.reason,
                actor_claim: claim,
            };
            let hash = chain::entry_hash_with_claim(&prev, &content, claim);
            seqs.push(seq);
            prevs.push(std::mem::replace(&mut prev, hash.clone()));
            hashes.push(hash);
        }
        let action: Vec<&str> = entries.iter().map(|e| e.action).collect();
        let old: Vec<Option<&str>> = entries.iter().map(|e| e.old_account_id).collect();
        let new: Vec<Option<&str>> = entries.iter().map(|e| e.new_account_id).collect();
        let email: Vec<Option<&str>> = entries.iter().map(|e| e.email).collect();
        let reason: Vec<Option<&str>> = entries.iter().map(|e| e.reason).collect();
        let written = self.run(
            "INSERT INTO change_log (seq, at, actor, action, old_account_id, new_account_id,
                                     email, reason, prev_hash, hash, actor_claim)
             SELECT e.seq, $8, $9, e.action, e.old_id, e.new_id, e.email, e.reason, e.prev,
                    e.hash, $10
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $11::text[])
                  AS e(seq, action, old_id, new_id, email, reason, prev, hash)
             ORDER BY e.seq",
            &[
                &seqs, &action, &old, &new, &email, &reason, &prevs, &at, &operator, &claim,
                &hashes,
            ],
        )?;
        if written != entries.len() as u64 {
            bail!(
                "wrote {written} of {} change-log entries: nothing was changed",
                entries.len()
            );
        }
        Ok(())
    }

    /// Creates these replacement accounts: each new account with exactly
    /// the old account's roles (copied row for row in SQL), the old account
    /// marked as replaced (and, with `disable_old`, disabled), and the
    /// change-log entries. The caller has checked every rule inside this
    /// transaction. Set-based, as on SQLite: the batch travels as arrays,
    /// and four statements do the work for all of it.
    pub(super) fn create_replacements(
        &self,
        batch: &[NewAccount<'_>],
        disable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let expected = batch.len() as u64;
        let old: Vec<&str> = batch.iter().map(|n| n.old_account_id).collect();
        let new: Vec<&str> = batch.iter().map(|n| n.new_account_id).collect();
        let email: Vec<&str> = batch.iter().map(|n| n.email).collect();
        let given: Vec<&str> = batch.iter().map(|n| n.given_name).collect();
        let family: Vec<&str> = batch.iter().map(|n| n.family_name).collect();

        // The email's look-up key is computed here, by the server, with the
        // row: its trigger then has nothing to correct and does not fire
        // (schema migration 9), where its PL/pgSQL call cost a sixth of
        // each new account.
        let created = self.run(
            "INSERT INTO accounts (account_id, username, email, given_name, family_name, status,
                                   created_at, last_login_at, replaced_by, replaces, email_key)
             SELECT r.new_id, r.email, r.email, r.given_name, r.family_name, 'active', $6,
                    NULL, NULL, r.old_id, hashtextextended(lower(btrim(r.email)), 0)
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                  WITH ORDINALITY AS r(old_id, new_id, email, given_name, family_name, n)
             ORDER BY r.n",
            &[&old, &new, &email, &given, &family, &stamp.created_at],
        )?;
        if created != expected {
            bail!("created {created} of {expected} replacement accounts: nothing was changed");
        }

        // Exactly the old account's roles: organisation, role and
        // payment-type restrictions, nothing more and nothing less. Each old
        // account's roles are found through the key (LATERAL, kept apart by
        // OFFSET 0): joined to the batch, the planner chose a merge join
        // along the whole permissions table.
        self.run(
            "INSERT INTO permissions (account_id, ods_code, role, payment_types)
             SELECT r.new_id, p.ods_code, p.role, p.payment_types
             FROM unnest($1::text[], $2::text[]) AS r(old_id, new_id)
             CROSS JOIN LATERAL (SELECT * FROM permissions p
                                 WHERE p.account_id = r.old_id OFFSET 0) p",
            &[&old, &new],
        )?;

        // The old account keeps its email and history; it records which
        // account replaced it. The WHERE re-states the rules as a last guard.
        // Each old account is found through its key: a hash join would read
        // the whole accounts table for each batch, which the planner chose
        // for 10,000 keys (an UPDATE's join cannot be kept apart as a
        // LATERAL subquery can, so the other join methods are turned off
        // for this one statement).
        self.conn()?
            .batch_execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
            .map_err(|e| self.explain(e))?;
        let marked = self.run(
            "UPDATE accounts
             SET replaced_by = r.new_id,
                 status = CASE WHEN $3 THEN 'disabled' ELSE accounts.status END
             FROM unnest($1::text[], $2::text[]) AS r(old_id, new_id)
             WHERE accounts.account_id = r.old_id
               AND accounts.replaced_by IS NULL AND accounts.status = 'active'",
            &[&old, &new, &disable_old],
        )?;
        // (After a failure the transaction is undone whole, settings too.)
        self.conn()?
            .batch_execute(
                "SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT",
            )
            .map_err(|e| self.explain(e))?;
        if marked != expected {
            bail!(
                "only {marked} of {expected} old accounts could be marked as replaced: nothing was changed"
            );
        }

        // Each replacement, then its `disable` step with --disable-old.
        let mut entries = Vec::with_capacity(batch.len() * if disable_old { 2 } else { 1 });
        for n in batch {
            entries.push(Entry {
                action: "replace",
                old_account_id: Some(n.old_account_id),
                new_account_id: Some(n.new_account_id),
                email: Some(n.email),
                reason: n.reason,
            });
            if disable_old {
                entries.push(Entry {
                    action: "disable",
                    old_account_id: Some(n.old_account_id),
                    new_account_id: Some(n.new_account_id),
                    email: None,
                    reason: Some(DISABLE_OLD_REASON),
                });
            }
        }
        self.append_entries(&entries, stamp.actor)?;
        // Categories changed: the kept report is stale.
        self.bump_generation()
    }

    /// Reverts a replacement: disables the replacement account (never
    /// deletes it), clears the old account's `replaced_by` and, with
    /// `reenable_old`, makes the old account active again; the change log
    /// records `revert` (and `enable`).
    pub(super) fn revert_replacement(
        &self,
        old_account_id: &str,
        new_account_id: &str,
        email: &str,
        reason: Option<&str>,
        reenable_old: bool,
        stamp: Stamp<'_>,
    ) -> Result<()> {
        let disabled = self.run(
            "UPDATE accounts SET status = 'disabled' WHERE account_id = $1 AND replaces = $2",
            &[&new_account_id, &old_account_id],
        )?;
        let restored = self.run(
            "UPDATE accounts
             SET replaced_by = NULL,
                 status = CASE WHEN $3 THEN 'active' ELSE status END
             WHERE account_id = $1 AND replaced_by = $2",
            &[&old_account_id, &new_account_id, &reenable_old],
        )?;
        if disabled != 1 || restored != 1 {
            bail!(
                "the store changed while reverting {new_account_id} (is it still the \
                 replacement of {old_account_id}?): nothing was changed"
            );
        }
        let mut entries = vec![Entry {
            action: "revert",
            old_account_id: Some(old_account_id),
            new_account_id: Some(new_account_id),
            email: Some(email),
            reason,
        }];
        if reenable_old {
            entries.push(Entry {
                action: "enable",
                old_account_id: Some(old_account_id),
                new_account_id: Some(new_account_id),
                email: None,
                reason: Some(REENABLE_OLD_REASON),
            });
        }
        self.append_entries(&entries, stamp.actor)?;
        self.bump_generation()
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
        let enabled = self.run(
            "UPDATE accounts SET status = 'active'
             WHERE account_id = $1 AND replaces = $2 AND status = 'disabled'",
            &[&new_account_id, &old_account_id],
        )?;
        let marked = self.run(
            "UPDATE accounts SET replaced_by = $2
             WHERE account_id = $1 AND replaced_by IS NULL AND status = 'active'",
            &[&old_account_id, &new_account_id],
        )?;
        if enabled != 1 || marked != 1 {
            bail!(
                "the store changed while reinstating {new_account_id} (is it still a reverted \
                 replacement of {old_account_id}?): nothing was changed"
            );
        }
        self.append_entries(
            &[Entry {
                action: "reinstate",
                old_account_id: Some(old_account_id),
                new_account_id: Some(new_account_id),
                email: Some(email),
                reason,
            }],
            stamp.actor,
        )?;
        self.bump_generation()
    }

    /// Increases the store's generation, inside the caller's write.
    pub(super) fn bump_generation(&self) -> Result<()> {
        self.run(
            "INSERT INTO settings (key, value) VALUES ('generation', '1')
             ON CONFLICT (key) DO UPDATE SET value = (settings.value::bigint + 1)::text",
            &[],
        )?;
        Ok(())
    }

    /// Runs `work` as one write under the write lock: committed if it
    /// succeeds, else rolled back.
    pub(super) fn in_write<R>(&self, work: impl FnOnce() -> Result<R>) -> Result<R> {
        self.begin_write()?;
        match work() {
            Ok(value) => {
                self.commit_write()?;
                Ok(value)
            }
            Err(e) => {
                self.rollback_write();
                Err(e)
            }
        }
    }

    /// Sets the cutover date and records the change in the change log
    /// (action `cutover`, the old and new dates in its reason), as the
    /// SQLite store does. Returns the date it replaced.
    pub(super) fn set_cutover(
        &mut self,
        date: NaiveDate,
        _at: &str,
        actor: Actor<'_>,
    ) -> Result<NaiveDate> {
        self.refuse_unless_national("set the cutover date")?;
        let old = self.in_write(|| {
            // Read under the write lock: the date this change replaces.
            let old = self
                .query(
                    "SELECT value FROM settings WHERE key = 'cutover'",
                    &[],
                    |r| r.try_get::<_, String>(0),
                )?
                .pop()
                .unwrap_or_else(|| DEFAULT_CUTOVER.to_string());
            let new_text = date.format("%Y-%m-%d").to_string();
            self.run(
                "INSERT INTO settings (key, value) VALUES ('cutover', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&new_text],
            )?;
            let reason = format!("cutover date changed from {old} to {new_text}");
            self.append_entries(
                &[Entry {
                    action: "cutover",
                    old_account_id: None,
                    new_account_id: None,
                    email: None,
                    reason: Some(&reason),
                }],
                actor,
            )?;
            Ok(old)
        })?;
        NaiveDate::parse_from_str(&old, "%Y-%m-%d").map_err(|_| {
            anyhow::anyhow!("the stored cutover date `{old}` is not a date: nothing was changed")
        })
    }
}
