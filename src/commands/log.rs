//! `log`: the change log, every replacement and revert, oldest first.

use anyhow::Result;

use crate::cli::LogArgs;
use crate::store::{LogEntry, LogFilter, Store};

pub const COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor",
    "action",
    "old_account_id",
    "new_account_id",
    "email",
    "reason",
];

/// The filter for these arguments. Dates are whole days in UTC, the log's
/// time zone, and both ends are inclusive.
pub fn filter(args: &LogArgs) -> LogFilter {
    LogFilter {
        from: args.since.map(|d| d.format("%Y-%m-%d").to_string()),
        before: args
            .until
            .and_then(|d| d.succ_opt())
            .map(|d| d.format("%Y-%m-%d").to_string()),
        actor: args.operator.clone(),
        account: args.account.as_ref().map(|a| a.trim().to_string()),
    }
}

/// The entries, oldest first.
pub fn run(store: &Store, args: &LogArgs) -> Result<Vec<LogEntry>> {
    let mut entries = Vec::new();
    store.change_log(&filter(args), |e| {
        entries.push(e);
        Ok(())
    })?;
    Ok(entries)
}
