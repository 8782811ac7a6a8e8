//! Reading a reviewed plan: a CSV file, or a workbook (`.xlsx`, `.xls`,
//! `.ods`) as `plan --format xlsx` writes it and a reviewer saves it from
//! Excel or LibreOffice. One reader of plan rows for both: the same
//! columns, the same checks, and every problem named by its line (CSV) or
//! its cell (`plan!B3`, workbooks, read through crate::input::sheet).
//!
//! A workbook is told by its content, not its name. Its first sheet is
//! read; a cell Excel saved as a number (an id typed as `1042`) is read as
//! its digits, never `1042.0`. Cells are taken as they are: a text cell
//! needs no `'` mark against formulas, so only CSV cells are unneutralised.

use std::path::Path;

use anyhow::{Context, Result};

use super::Request;
use crate::error::{FileProblem, UserError};
use crate::input::sheet::{Places, Refusal, SheetFile};
use crate::input::{Column, CsvFile, Data, Mapping, Source};
use crate::spreadsheet::unneutralise;

/// The columns a plan is read by; any others (the reviewer's columns) are
/// ignored.
const PLAN_COLUMNS: &[Column] = &[
    Column {
        name: "account_id",
        required: true,
    },
    Column {
        name: "new_email",
        required: true,
    },
    Column {
        name: "reason",
        required: false,
    },
];

/// A plan file: its name in messages, and for a workbook where each row
/// and column is in its sheet.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub name: String,
    pub places: Option<Places>,
}

impl PlanFile {
    /// The plan refused with these problems: no replacement account was
    /// created. A workbook's problems are named by cell.
    pub fn refused(&self, mut problems: Vec<FileProblem>) -> anyhow::Error {
        problems.sort_by_key(|p| p.line);
        match &self.places {
            Some(places) => UserError::BadPlanSheet {
                file: self.name.clone(),
                problems: problems.iter().map(|p| places.locate(p)).collect(),
            },
            None => UserError::BadPlan {
                file: self.name.clone(),
                problems,
            },
        }
        .into()
    }
}

/// Reads a plan: its rows, and the problems that stop a row being read.
/// Cells that our own CSV writer neutralised (`'=...`) are read back as they
/// were.
pub fn read_plan(path: &Path) -> Result<(PlanFile, Vec<Request>, Vec<FileProblem>)> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    // A regular file is mapped; standard input, a pipe or a device is read
    // in checked chunks and held only up to a bound (crate::input), or
    // whole if it is a workbook.
    let data = if stdin {
        crate::commands::import::source::read_stdin()?
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            UserError::Refused(format!(
                "cannot read the plan {name}: {e}; check the path and that the file is readable"
            ))
        })?;
        Data::from_file(&file).with_context(|| format!("reading the plan {name}"))?
    };
    let mapping = Mapping::default();
    let (mut source, places, csv) = if let Some(bytes) = data.workbook() {
        match SheetFile::open(bytes, &name, PLAN_COLUMNS, &mapping, None) {
            Ok(sheet) => {
                let places = sheet.places();
                (Source::Sheet(sheet), Some(places), false)
            }
            Err(Refusal::Problems(problems)) => {
                return Err(UserError::BadPlanSheet {
                    file: name,
                    problems,
                }
                .into());
            }
            Err(Refusal::Message(message)) => return Err(UserError::Refused(message).into()),
        }
    } else {
        match CsvFile::open_mapped(data, PLAN_COLUMNS, &mapping)
            .with_context(|| format!("reading the plan {name}"))?
        {
            Ok(file) => (Source::Csv(file), None, true),
            Err(problems) => {
                return Ok((PlanFile { name, places: None }, Vec::new(), problems));
            }
        }
    };
    let unmark = |cell: &str| -> String {
        if csv {
            unneutralise(cell).to_string()
        } else {
            cell.to_string()
        }
    };
    let mut requests = Vec::new();
    let mut problems = Vec::new();
    while let Some(row) = source.next_row() {
        let line = row.line;
        let id = unmark(row.get(0));
        let email = unmark(row.get(1));
        let reason = unmark(row.get(2));
        let (id, email) = (id.trim(), email.trim());
        for (column, value) in [("account_id", id), ("new_email", email)] {
            if value.is_empty() {
                problems.push(FileProblem {
                    line,
                    column: Some(column.into()),
                    message: "a value is required here".into(),
                });
            }
        }
        for (column, value) in [
            ("account_id", id),
            ("new_email", email),
            ("reason", &reason),
        ] {
            if let Some((at, c)) = crate::text::control_character(value, false) {
                problems.push(FileProblem {
                    line,
                    column: Some(column.into()),
                    message: format!(
                        "the value contains a control character ({}) at character {at}: remove it",
                        crate::text::describe_control(c)
                    ),
                });
            }
        }
        // A row with a problem here is still checked against the store (the
        // plan is refused anyway), so that every problem of the line is
        // named at once; see `request`.
        requests.push(Request::new(Some(line), id, email, Some(&reason)));
    }
    problems.append(&mut source.take_problems());
    for warning in source.take_warnings() {
        tracing::info!("plan: {warning}");
    }
    Ok((PlanFile { name, places }, requests, problems))
}
