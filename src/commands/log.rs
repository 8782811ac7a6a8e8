//! `log`: the change log, every replacement and revert, oldest first.

use std::io::Write;

use anyhow::Result;

use crate::cli::LogArgs;
use crate::output::Sink;
use crate::store::{LogFilter, Store};

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

/// Writes the entries to `sink`; returns how many.
pub fn run<W: Write>(store: &Store, args: &LogArgs, sink: &mut Sink<W>) -> Result<usize> {
    let mut n = 0;
    store.change_log(&filter(args), |e| {
        n += 1;
        sink.row(&[
            e.seq.to_string(),
            e.at,
            e.actor,
            e.action,
            e.old_account_id.unwrap_or_default(),
            e.new_account_id.unwrap_or_default(),
            e.email.unwrap_or_default(),
            e.reason.unwrap_or_default(),
        ])?;
        Ok(())
    })?;
    Ok(n)
}
