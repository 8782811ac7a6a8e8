//! Where an import's bytes come from: a file (mapped), or standard input
//! (read whole when it is a workbook), and how problems name a column read
//! through `--map`.

use std::path::Path;

use anyhow::Result;

use crate::error::{FileProblem, UserError};
use crate::input::{Column, Data, Mapping, is_workbook};

pub(super) fn open_input(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| {
        UserError::Refused(format!(
            "cannot read {}: {e}; check the path and that the file is readable",
            path.display()
        ))
        .into()
    })
}

/// Standard input, read whole if it is a workbook (which cannot be read
/// in pieces), else in checked chunks as any input of unknown size.
pub(crate) fn read_stdin() -> Result<Data> {
    use std::io::Read;
    let mut stdin = std::io::stdin().lock();
    let mut head = Vec::with_capacity(8);
    (&mut stdin).take(8).read_to_end(&mut head)?;
    if !is_workbook(&head) {
        return Ok(Data::from_reader(std::io::Cursor::new(head).chain(stdin))?);
    }
    let limit = crate::input::MAX_UNSIZED_INPUT_BYTES as u64;
    (&mut stdin).take(limit).read_to_end(&mut head)?;
    if head.len() as u64 > limit {
        return Err(UserError::Refused(format!(
            "the workbook on standard input goes on past {limit} bytes (256 MiB), the most read \
             from standard input: save it to a file and give the file's path"
        ))
        .into());
    }
    Ok(Data::whole(head))
}

/// Problems name a column read through `--map` by the file's own header
/// and the column it is read as (`AccountEnabled (status)`).
pub(super) fn relabel(
    mut problems: Vec<FileProblem>,
    columns: &[Column],
    mapping: &Mapping,
) -> Vec<FileProblem> {
    if mapping.is_empty() {
        return problems;
    }
    for problem in &mut problems {
        if let Some(label) = problem
            .column
            .as_deref()
            .and_then(|c| mapping.label(columns, c))
        {
            problem.column = Some(label);
        }
    }
    problems
}
