//! The handle passed down to the commands and the store (as cargo's `Shell`
//! is): progress, warnings and messages on standard error, and the
//! confirmation before a change (cli.md, "Confirmations and scripts").

use std::io::IsTerminal;

use anyhow::Result;

use super::Sink;
use crate::cli::Format;
use crate::error::UserError;
use crate::reporting::{Progress, Reporter, RowSink, Work};

/// The person at the terminal, as far as the tool talks to them.
#[derive(Debug, Default)]
pub struct Shell;

/// What to do after the checks passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// `--dry-run`: show what would happen and change nothing.
    Preview,
    /// `--yes`, or a person answered yes.
    Proceed,
}

impl Shell {
    pub fn new() -> Shell {
        Shell
    }

    /// A message on standard error, never data.
    pub fn message(&self, text: &str) {
        super::message(text);
    }

    /// A warning on standard error.
    pub fn warn(&self, text: &str) {
        super::warning(text);
    }

    /// Whether a person can be asked: dialoguer prompts on standard error and
    /// reads the terminal, and fails without one, so both must be terminals.
    pub fn at_terminal(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// How a change is confirmed: `--dry-run` only shows; `--yes` answers
    /// yes; at a terminal the person is shown `preview` and asked `question`;
    /// otherwise the command stops, changing nothing, with a message that
    /// names `--yes`.
    pub fn confirm(
        &self,
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
        if !self.at_terminal() {
            return Err(UserError::Refused(
                "not running at a terminal, so this change cannot be confirmed: nothing was \
                 changed. Check it with --dry-run, then run the command again with --yes to \
                 confirm"
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
}

impl Reporter for Shell {
    fn warn(&self, text: &str) {
        Shell::warn(self, text);
    }

    fn progress(&self, work: Work) -> Progress {
        super::progress::start(work)
    }

    fn write_csv(
        &self,
        out: Option<&mut dyn std::io::Write>,
        headers: &[&'static str],
        rows: &mut dyn FnMut(&mut dyn RowSink) -> Result<()>,
    ) -> Result<usize> {
        match out {
            None => {
                let mut sink = Sink::stdout(Format::Csv, headers)?;
                rows(&mut sink)?;
                let written = sink.rows();
                sink.finish()?;
                Ok(written)
            }
            Some(out) => {
                let mut sink = Sink::new(out, Format::Csv, headers)?;
                rows(&mut sink)?;
                let written = sink.rows();
                sink.finish()?;
                Ok(written)
            }
        }
    }
}
