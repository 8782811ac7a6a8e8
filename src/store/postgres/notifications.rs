//! `notify`'s records in a PostgreSQL store: the messages already sent, one
//! row per message as the relay answers it, the run's change-log entry, and
//! the lock that lets one run send at a time.
//!
//! Two operators running `notify` at once on the shared store: each run
//! holds a session-level advisory lock ([`NOTIFY_LOCK`], taken without
//! waiting) on a connection of its own for as long as it sends. The second
//! run is refused while the first sends, saying so; a run that starts after
//! reads again, under the lock, what was sent, and sends only the rest. The
//! lock is the connection's: it goes when the run ends, however it ends
//! (the server lets go of a killed process's session when its socket
//! closes). A claim per message (an INSERT that a unique key lets win once)
//! was the other way: it would let two runs share the sending, but a
//! message claimed and then refused by the relay would need its claim
//! taken back, which an append-only record cannot do.
//!
//! The round is the whole store's: the record is read and written only by
//! the owner or a national operator (row-level security, schema.rs
//! migration 3). An area operator's report holds only its area's accounts,
//! so its digests to contacts above the area would list only some of
//! theirs; it is refused before anything is composed.

use std::collections::HashSet;

use anyhow::Result;

use super::PgStore;
use crate::store::{NotificationRecord, NotifyRun, SentKey};

/// The advisory lock a notify run holds while it sends: "CQRN".
pub(super) const NOTIFY_LOCK: i64 = 0x4351_524e;

/// What only the whole store's operators may do, in words.
const ROUND: &str = "send notify's messages (an area's report lists only its own accounts, so \
     its digests would leave out the rest of each contact's)";

impl PgStore {
    /// Every message the relays accepted, by what identifies it.
    pub(super) fn sent_notifications(&self) -> Result<HashSet<SentKey>> {
        self.refuse_unless_national(ROUND)?;
        let rows = self.query(
            "SELECT DISTINCT message_key, recipient_key, content_hash
             FROM notifications WHERE outcome = 'sent'",
            &[],
            |r| {
                Ok(SentKey {
                    message_key: r.try_get(0)?,
                    recipient: r.try_get(1)?,
                    content_hash: r.try_get(2)?,
                })
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Records one message, in a transaction of its own (a statement
    /// outside a transaction block commits at once): once this returns, a
    /// killed run still knows the message went. The database writes the
    /// operator (the login) and the time.
    pub(super) fn record_notification(&self, n: &NotificationRecord) -> Result<()> {
        // The database writes the login; only an explicit --actor is kept
        // beside it as a claim.
        let operator = n.claimed.then_some(n.operator.as_str());
        let recipient_key = crate::rules::normal_form(&n.recipient);
        self.execute(
            "INSERT INTO notifications (message_key, kind, recipient, recipient_key, accounts,
                                        content_hash, message_id, at, operator, channel,
                                        outcome, relay_answer)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &n.message_key,
                &n.kind,
                &n.recipient,
                &recipient_key,
                &n.accounts,
                &n.content_hash,
                &n.message_id,
                &n.at,
                &operator,
                &n.channel,
                &n.outcome,
                &n.relay_answer,
            ],
        )?;
        Ok(())
    }

    /// Checks, before a run sends anything, that it may record what it
    /// sends: the whole store's operators only, on a store not changed past
    /// cqrs-admin (checked as every write checks it).
    pub(super) fn check_notify_writable(&self) -> Result<()> {
        self.refuse_unless_national(ROUND)?;
        self.begin_write()?;
        self.rollback_write();
        Ok(())
    }

    /// The run's one change-log entry (action `notify`, the counts as its
    /// reason), written as every write is (write.rs): under the write lock,
    /// on a store not changed past cqrs-admin.
    pub(super) fn record_notify_run(&self, run: &NotifyRun<'_>) -> Result<()> {
        self.in_write(|| {
            self.execute(
                "INSERT INTO change_log (action, reason, actor) VALUES ('notify', $1, $2)",
                &[&run.summary, &run.operator.claim()],
            )?;
            Ok(())
        })
    }

    /// The notify lock: a session-level advisory lock on a connection of
    /// its own, held as long as the value returned is (see the module's
    /// documentation). None when another run holds it.
    pub(super) fn notify_lock(&self) -> Result<Option<Box<dyn std::any::Any + Send>>> {
        let holder = self.second_connection()?;
        let taken = holder
            .query("SELECT pg_try_advisory_lock($1)", &[&NOTIFY_LOCK], |r| {
                r.try_get::<_, bool>(0)
            })?
            .pop()
            .unwrap_or(false);
        Ok(taken.then(|| Box::new(holder) as Box<dyn std::any::Any + Send>))
    }
}
