//! Asking before a change (cli.md, "Confirmations and scripts"), and who is
//! making it.

use std::io::IsTerminal;

use anyhow::Result;
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::error::UserError;

/// Who is making a change and when: recorded in the change log.
#[derive(Debug, Clone)]
pub struct Operator {
    pub actor: String,
    /// Today's date (pinned by `--today`): a new account's `created_at`.
    pub today: NaiveDate,
}

impl Operator {
    /// The change log's time: now, UTC, RFC 3339 to the second.
    pub fn now() -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    pub fn created_at(&self) -> String {
        self.today.format("%Y-%m-%d").to_string()
    }
}

/// Whether a person can be asked: dialoguer prompts on standard error and
/// reads the terminal, and fails without one, so both must be terminals.
pub fn at_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// What to do after the checks passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// `--dry-run`: show what would happen and change nothing.
    Preview,
    /// `--yes`, or a person answered yes.
    Proceed,
}

/// How a change is confirmed: `--dry-run` only shows; `--yes` answers yes; at
/// a terminal the person is shown `preview` and asked; otherwise the command
/// stops, changing nothing, with a message that names `--yes`.
pub fn confirm(
    yes: bool,
    dry_run: bool,
    question: &str,
    preview: impl FnOnce() -> Result<()>,
) -> Result<Go> {
    if dry_run {
        return Ok(Go::Preview);
    }
    if yes {
        return Ok(Go::Proceed);
    }
    if !at_terminal() {
        return Err(UserError::Refused(
            "not running at a terminal, so this change cannot be confirmed: nothing was changed. \
             Check it with --dry-run, then run the command again with --yes to confirm"
                .into(),
        )
        .into());
    }
    preview()?;
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| UserError::Refused(format!("no answer ({e}): nothing was changed")))?;
    if answer {
        Ok(Go::Proceed)
    } else {
        Err(UserError::Refused("not confirmed: nothing was changed".into()).into())
    }
}
