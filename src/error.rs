//! The program's error type, whose variants carry their exit status (cli.md,
//! "Exit status"), and the last-resort advice for errors it did not explain.
//! SQLite's error codes are decoded in the store (`store::advice`), never
//! here: the store builds this module's errors, so this module does not
//! call the store.

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

/// One problem found in a sheet of a workbook, located as a spreadsheet
/// names a place: a cell (`accounts!F4`, with the column's name) or a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    /// The sheet's row (1 for the first), for ordering.
    pub row: u64,
    /// Where: `accounts!F4, column status` or `sheet accounts, row 4`.
    pub place: String,
    pub message: String,
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// The errors the program explains itself: each says what was wrong and what
/// to do, changes nothing, and carries its exit status ([`UserError::code`]).
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
    /// A sheet of a workbook was refused whole.
    #[error("{file}: refused, nothing was imported ({count} problem{plural}):\n{list}\n{hint}",
        count = problems.len(),
        plural = if problems.len() == 1 { "" } else { "s" },
        list = format_problems(problems),
        hint = "Fix the workbook and import it again.")]
    BadSheet {
        file: String,
        problems: Vec<CellProblem>,
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
    /// A replacement plan saved as a workbook was refused whole: no account
    /// was created; each problem is named by its cell.
    #[error("{file}: refused, no replacement account was created ({count} problem{plural}):\n{list}\n{hint}",
        count = problems.len(),
        plural = if problems.len() == 1 { "" } else { "s" },
        list = format_problems(problems),
        hint = "Fix the plan and run it again.")]
    BadPlanSheet {
        file: String,
        problems: Vec<CellProblem>,
    },
    /// A rule said no; the message says which and what to do.
    #[error("{0}")]
    Refused(String),
    /// The store cannot be used as it is.
    #[error("{0}")]
    Store(String),
    /// `audit --check` / `report --check` found this many accounts needing action.
    #[error("{0} account(s) need action before cutover")]
    ActionNeeded(usize),
}

impl UserError {
    /// The exit status (cli.md): 3 for a failed check, 1 for the rest.
    /// Command-line mistakes (2) are handled by clap before a command runs.
    pub fn code(&self) -> i32 {
        match self {
            UserError::ActionNeeded(_) => 3,
            UserError::BadFile { .. }
            | UserError::BadSheet { .. }
            | UserError::BadPlan { .. }
            | UserError::BadPlanSheet { .. }
            | UserError::Refused(_)
            | UserError::Store(_) => 1,
        }
    }
}

/// The exit status for an error chain (what `main` exits with): the
/// explained error's [`UserError::code`], or 1 for an error nothing explained.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<UserError>())
        .map_or(1, UserError::code)
}

/// How many problems are listed before the rest are only counted: a file with a
/// systematic fault would otherwise print a million lines.
pub const MAX_LISTED_PROBLEMS: usize = 50;

fn format_problems<P: fmt::Display>(problems: &[P]) -> String {
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

/// What to do about an error that reached `main` with only the operating
/// system's words for it ("Is a directory (os error 21)"): a last resort for
/// errors that no command explained. Errors the program explained itself
/// ([`UserError`]) already say what to do. (SQLite's words, "attempt to
/// write a readonly database", are the store's to explain: `crate::hint`
/// asks it first.)
pub fn hint(err: &anyhow::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    if err.downcast_ref::<UserError>().is_some() {
        return None;
    }
    let io = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())?;
    Some(match io.kind() {
        ErrorKind::IsADirectory => {
            "a folder was given where a file is needed: give the path of the file"
        }
        ErrorKind::NotADirectory => "part of the path is a file, not a folder: check the path",
        ErrorKind::NotFound => "check the path and that the file exists",
        ErrorKind::PermissionDenied => "check the file's permissions, or give another path",
        ErrorKind::InvalidData => {
            "the file could not be read as text: save it as CSV UTF-8 (in Excel: \"CSV UTF-8\") and try again"
        }
        ErrorKind::StorageFull => "the disk is full: free some space and try again",
        _ => return None,
    })
}
