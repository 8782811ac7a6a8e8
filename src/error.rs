//! Typed errors that carry their exit status (cli.md, "Exit status").

use std::fmt;

/// One problem found in an input file, located to the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub line: u64,
    /// The column's header name, when the problem belongs to one column.
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {}: {}", self.line, column, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Errors a user can cause. Each maps to exit status 1 and changes nothing.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// An input file was refused whole.
    #[error("{file}: refused, nothing was imported ({count} problem{plural}):\n{list}\n{hint}",
        count = problems.len(),
        plural = if problems.len() == 1 { "" } else { "s" },
        list = format_problems(problems),
        hint = "Fix the file and import it again.")]
    BadFile {
        file: String,
        problems: Vec<FileProblem>,
    },
    /// A replacement plan was refused whole: no account was created.
    #[error("{file}: refused, no replacement account was created ({count} problem{plural}):\n{list}\n{hint}",
        count = problems.len(),
        plural = if problems.len() == 1 { "" } else { "s" },
        list = format_problems(problems),
        hint = "Fix the plan and run it again.")]
    BadPlan {
        file: String,
        problems: Vec<FileProblem>,
    },
    /// A rule said no; the message says which and what to do.
    #[error("{0}")]
    Refused(String),
    /// The store cannot be used as it is.
    #[error("{0}")]
    Store(String),
}

/// How many problems are listed before the rest are only counted: a file with a
/// systematic fault would otherwise print a million lines.
pub const MAX_LISTED_PROBLEMS: usize = 50;

fn format_problems(problems: &[FileProblem]) -> String {
    let mut out: Vec<String> = problems
        .iter()
        .take(MAX_LISTED_PROBLEMS)
        .map(|p| format!("  {p}"))
        .collect();
    if problems.len() > MAX_LISTED_PROBLEMS {
        out.push(format!(
            "  ... and {} more problems",
            problems.len() - MAX_LISTED_PROBLEMS
        ));
    }
    out.join("\n")
}

/// `audit --check` / `report --check` found accounts needing action: exit 3.
#[derive(Debug, thiserror::Error)]
#[error("{0} account(s) need action before cutover")]
pub struct ActionNeeded(pub usize);

/// The exit status for an error chain (cli.md): 3 for a failed check, 1 for the rest.
/// Command-line mistakes (2) are handled by clap before we get here.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.downcast_ref::<ActionNeeded>().is_some() {
        3
    } else {
        1
    }
}
