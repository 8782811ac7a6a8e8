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

/// What to do about an error that reached `main` with only the operating
/// system's or SQLite's words for it ("Is a directory (os error 21)",
/// "attempt to write a readonly database"): a last resort for errors that no
/// command explained. Errors the program explained itself ([`UserError`])
/// already say what to do.
pub fn hint(err: &anyhow::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    if err.downcast_ref::<UserError>().is_some() {
        return None;
    }
    if let Some(code) = err
        .chain()
        .find_map(|e| e.downcast_ref::<rusqlite::Error>())
        .and_then(rusqlite::Error::sqlite_error_code)
    {
        use rusqlite::ErrorCode::*;
        let hint = match code {
            ReadOnly => Some(
                "the store is read-only: this command needs to write to it; check the file's permissions (and its folder's)",
            ),
            DatabaseBusy | DatabaseLocked => Some(
                "the store is locked by another command that is still running: try again when it has finished",
            ),
            DiskFull => Some("the disk holding the store is full: free some space and try again"),
            DatabaseCorrupt | NotADatabase => {
                Some("the store is damaged or is not a cqrs-admin store: restore it from a backup")
            }
            PermissionDenied | CannotOpen => {
                Some("the store cannot be opened: check the file's and its folder's permissions")
            }
            _ => None,
        };
        if hint.is_some() {
            return hint;
        }
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
