//! `notify`'s records in an SQLite store: the messages already sent, one
//! row per message as the relay answers it, and the run's change-log entry.

use std::collections::HashSet;

use anyhow::Result;
use rusqlite::params;

use super::{SqliteStore, chain, refuse_if_tampered, store_error, tx};
use crate::rules::normal_form;
use crate::store::{NotificationRecord, NotifyRun, SentKey};

impl SqliteStore {
    /// Every message the relays accepted, by what identifies it.
    pub fn sent_notifications(&self) -> Result<HashSet<SentKey>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT message_key, recipient_key, content_hash
                 FROM notifications WHERE outcome = 'sent'",
            )
            .map_err(|e| store_error(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SentKey {
                    message_key: r.get(0)?,
                    recipient: r.get(1)?,
                    content_hash: r.get(2)?,
                })
            })
            .map_err(|e| store_error(&self.path, e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| store_error(&self.path, e))
    }

    /// Records one message, in a transaction of its own: once this returns,
    /// a killed run still knows the message went.
    pub fn record_notification(&self, n: &NotificationRecord) -> Result<()> {
        let path = &self.path;
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(path, e))?;
        tx.prepare_cached(
            "INSERT INTO notifications (message_key, kind, recipient, recipient_key, accounts,
                                        content_hash, message_id, at, operator, channel,
                                        outcome, relay_answer)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                n.message_key,
                n.kind,
                n.recipient,
                normal_form(&n.recipient),
                n.accounts,
                n.content_hash,
                n.message_id,
                n.at,
                n.operator,
                n.channel,
                n.outcome,
                n.relay_answer
            ])
        })
        .map_err(|e| store_error(path, e))?;
        tx.commit().map_err(|e| store_error(path, e))
    }

    /// Checks, before a run sends anything, that the store can be written:
    /// a store changed past cqrs-admin is refused, as every write is.
    pub fn check_notify_writable(&self) -> Result<()> {
        let tx =
            tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&self.path, e))?;
        refuse_if_tampered(&tx, &self.path)
    }

    /// The run's one change-log entry (action `notify`).
    pub fn record_notify_run(&self, run: &NotifyRun<'_>) -> Result<()> {
        let path = &self.path;
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(path, e))?;
        refuse_if_tampered(&tx, path)?;
        chain::append(
            &tx,
            &[chain::NewEntry {
                at: run.at,
                actor: run.operator.name,
                action: "notify",
                old_account_id: None,
                new_account_id: None,
                email: None,
                reason: Some(run.summary),
            }],
        )
        .map_err(|e| store_error(path, e))?;
        tx.commit().map_err(|e| store_error(path, e))
    }

    /// The notify lock: an exclusive `flock` on `STORE-notify.lock`, a file
    /// beside the store (created owner-only, never through a link). The
    /// operating system releases it when the process ends, so a killed run
    /// never leaves it held.
    pub fn notify_lock(&self) -> Result<Option<Box<dyn std::any::Any + Send>>> {
        let mut name = self.path.clone().into_os_string();
        name.push("-notify.lock");
        let path = std::path::PathBuf::from(name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(nix::libc::O_NOFOLLOW);
        }
        let file = options.open(&path).map_err(|e| {
            crate::error::UserError::Refused(format!(
                "cannot open the notify lock {}: {e}; check that it is a file (not a link) \
                 and that the store's folder can be written; nothing was sent",
                path.display()
            ))
        })?;
        #[cfg(unix)]
        {
            use nix::fcntl::{Flock, FlockArg};
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Ok(Some(Box::new(lock))),
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
                Err((_, e)) => Err(anyhow::anyhow!(
                    "cannot lock {} for notify: {e}",
                    path.display()
                )),
            }
        }
        #[cfg(not(unix))]
        {
            Ok(Some(Box::new(file)))
        }
    }
}
