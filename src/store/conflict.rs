//! A write that lost to another transaction: a serialization failure or a
//! deadlock (issue 12, item 5). The store undid all of it, so running the
//! whole write again from its first check is safe; [`retrying`] does so a
//! bounded number of times.

use anyhow::Result;

use crate::error::UserError;

/// A write the store undid because another transaction won (PostgreSQL's
/// SQLSTATE 40001 or 40P01). The message is the store's explanation.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Conflict(pub String);

/// How many times a write is tried before its conflict is reported.
pub const WRITE_ATTEMPTS: u32 = 8;

/// Whether `err` is a [`Conflict`].
pub fn is_conflict(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.downcast_ref::<Conflict>().is_some())
}

/// Runs `write` (a whole write: take the lock, check again, write, commit)
/// again after a conflict, up to [`WRITE_ATTEMPTS`] times in all, waiting
/// a little longer each time so that the transactions that collided do
/// not collide again. Any other error, and the last conflict, end it: the
/// last as a store error saying how often it was tried and what to do.
pub fn retrying<R>(what: &str, mut write: impl FnMut() -> Result<R>) -> Result<R> {
    let mut attempt = 1;
    loop {
        match write() {
            Err(e) if is_conflict(&e) => {
                if attempt >= WRITE_ATTEMPTS {
                    return Err(UserError::Store(format!(
                        "{e}. {what} was tried {attempt} times and each time another \
                         transaction on the store won (a serialization failure or a deadlock): \
                         nothing was changed. Run the command again; if it keeps failing, look \
                         for a long-running transaction on the server (pg_stat_activity)"
                    ))
                    .into());
                }
                tracing::info!(attempt, "write retried after a conflict");
                std::thread::sleep(std::time::Duration::from_millis(
                    20 * u64::from(attempt * attempt),
                ));
                attempt += 1;
            }
            other => return other,
        }
    }
}
