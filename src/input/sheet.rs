//! Reading a sheet of a workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`,
//! through `calamine`) as the rows of an input file: the same header
//! matching (`--map` included) and the same checks as a CSV file, each cell
//! turned into the text the CSV checks expect, and every problem named by
//! sheet, row and cell (`accounts!F4`), as a spreadsheet names a place.
//!
//! A cell is read as text whatever its type: a number as its digits (an id
//! typed as `12` is `12`, never `12.0`), a date cell as an ISO 8601 date
//! (`2020-09-23`, or with its time `2020-09-23T10:00:00`), a true/false cell
//! as `TRUE`/`FALSE`. A text cell is kept as it is, so a code typed as text
//! (`00K`) keeps its zeros. A cell holding an error (`#N/A`) refuses its row.
//!
//! The sheet is read whole into memory first (a workbook is a zip of XML
//! and cannot be read as a stream the way a CSV file is); the rows then go
//! through the checks one at a time, as a CSV file's do.

use calamine::{Data as Cell, Range, Reader};
use csv::ByteRecord;

use super::{Column, Header, MAX_FIELD_BYTES, Mapping, Row};
use crate::error::{CellProblem, FileProblem};

/// Why a workbook cannot be read at all: its own problems (each named by
/// its place), or one message (not a workbook, no such sheet).
#[derive(Debug)]
pub enum Refusal {
    Problems(Vec<CellProblem>),
    Message(String),
}

/// A sheet being read, with its header resolved to the expected columns.
pub struct SheetFile {
    range: Range<Cell>,
    /// The next row of `range` to read.
    next: usize,
    /// For each expected column, its column in `range` (if present).
    sheet_columns: Vec<Option<usize>>,
    /// For each expected column, its place in `record` (if present).
    positions: Vec<Option<usize>>,
    columns: &'static [Column],
    record: ByteRecord,
    place: Places,
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<String>,
}

impl SheetFile {
    /// Opens the sheet `sheet` (or the first) of the workbook in `bytes`
    /// and reads its header. `file` names the workbook in messages.
    pub fn open(
        bytes: &[u8],
        file: &str,
        columns: &'static [Column],
        mapping: &Mapping,
        sheet: Option<&str>,
    ) -> Result<SheetFile, Refusal> {
        let mut workbook =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| {
                Refusal::Message(format!(
                    "{file} looks like a workbook but cannot be read as one ({e}): check that it \
                     opens in Excel or LibreOffice, or save the sheet as \"CSV UTF-8\" and import that"
                ))
            })?;
        let names = workbook.sheet_names();
        let listed = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let name = match sheet {
            Some(wanted) => names
                .iter()
                .find(|n| n.as_str() == wanted)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(wanted)))
                .cloned()
                .ok_or_else(|| {
                    Refusal::Message(format!(
                        "{file} has no sheet `{wanted}`; its sheets are {listed}: give one of them with --sheet"
                    ))
                })?,
            None => names.first().cloned().ok_or_else(|| {
                Refusal::Message(format!(
                    "{file} has no sheets: check that this is the right file"
                ))
            })?,
        };
        let mut warnings = Vec::new();
        if sheet.is_none() && names.len() > 1 {
            warnings.push(format!(
                "{file} has {} sheets ({listed}); the first, `{name}`, was read: choose another with --sheet NAME",
                names.len()
            ));
        }
        let range = workbook.worksheet_range(&name).map_err(|e| {
            Refusal::Message(format!(
                "the sheet `{name}` of {file} cannot be read ({e}): check that it opens in Excel or \
                 LibreOffice, or save it as \"CSV UTF-8\" and import that"
            ))
        })?;
        let (first_row, first_column) = range.start().unwrap_or((0, 0));
        let mut place = Places {
            sheet: name.clone(),
            first_row: u64::from(first_row) + 1,
            first_column: first_column as usize,
            columns,
            sheet_columns: Vec::new(),
            labels: (0..columns.len())
                .map(|i| mapping.label(columns, columns[i].name))
                .collect(),
        };
        let expected: Vec<&str> = columns.iter().map(|c| c.name).collect();
        // The header is the first row that is not blank.
        let Some((header_index, header)) = range
            .rows()
            .enumerate()
            .find(|(_, row)| !row.iter().all(is_blank))
        else {
            return Err(Refusal::Message(format!(
                "the sheet `{name}` of {file} is empty: it needs a header row naming the columns ({})",
                expected.join(",")
            )));
        };
        let header_line = place.first_row + header_index as u64;
        let names: Vec<String> = header
            .iter()
            .map(|cell| text(cell).unwrap_or_default().trim_ascii().to_string())
            .collect();
        let resolved = Header::resolve(&names, columns, mapping, header_line, None);
        place.sheet_columns = resolved.positions.clone();
        if !resolved.problems.is_empty() {
            return Err(Refusal::Problems(
                resolved.problems.iter().map(|p| place.locate(p)).collect(),
            ));
        }
        warnings.extend(resolved.warnings);
        let mut at = 0;
        let positions = resolved
            .positions
            .iter()
            .map(|p| {
                p.map(|_| {
                    at += 1;
                    at - 1
                })
            })
            .collect();
        Ok(SheetFile {
            range,
            next: header_index + 1,
            sheet_columns: resolved.positions,
            positions,
            columns,
            record: ByteRecord::new(),
            place,
            problems: Vec::new(),
            warnings,
        })
    }

    /// Where problems are in this sheet: hand it over before the rows.
    pub fn places(&self) -> Places {
        self.place.clone()
    }

    /// Reads the next non-blank row. A row with a cell holding an error, or
    /// a value too long, is recorded as a problem and skipped.
    pub fn next_row(&mut self) -> Option<Row<'_>> {
        let (height, width) = (self.range.height(), self.range.width());
        'rows: while self.next < height {
            let index = self.next;
            self.next += 1;
            let line = self.place.first_row + index as u64;
            if (0..width).all(|c| self.range.get((index, c)).is_none_or(is_blank)) {
                continue;
            }
            self.record.clear();
            for (c, sheet_column) in self.sheet_columns.iter().enumerate() {
                let Some(sc) = *sheet_column else { continue };
                let cell = self.range.get((index, sc)).unwrap_or(&Cell::Empty);
                let value = match text(cell) {
                    Ok(value) => value,
                    Err(error) => {
                        self.problems.push(FileProblem {
                            line,
                            column: Some(self.columns[c].name.to_string()),
                            message: format!(
                                "the cell holds the error {error} (a formula that failed), not a \
                                 value: put the value itself in the cell"
                            ),
                        });
                        continue 'rows;
                    }
                };
                if value.len() > MAX_FIELD_BYTES {
                    self.problems.push(FileProblem {
                        line,
                        column: Some(self.columns[c].name.to_string()),
                        message: format!(
                            "the value is {} bytes long; the longest accepted is {MAX_FIELD_BYTES}: check the sheet",
                            value.len()
                        ),
                    });
                    continue 'rows;
                }
                self.record.push_field(value.as_bytes());
            }
            // Every field was pushed from a `String`: the record is UTF-8
            // throughout, and each field starts and ends between characters.
            let text = std::str::from_utf8(self.record.as_slice()).ok()?;
            return Some(Row {
                text,
                record: &self.record,
                positions: &self.positions,
                columns: self.columns,
                line,
            });
        }
        None
    }

    /// How many rows have been read, and how many there are.
    pub fn progress(&self) -> (u64, u64) {
        (self.next as u64, self.range.height() as u64)
    }
}

/// Where a problem found in a sheet is, by its row and column name: the
/// sheet's cell (`accounts!F4`) for a column of a row, or the row.
#[derive(Debug, Clone)]
pub struct Places {
    sheet: String,
    /// The sheet's row number of the range's first row.
    first_row: u64,
    /// The sheet's column (0 for A) of the range's first column.
    first_column: usize,
    columns: &'static [Column],
    /// For each expected column, its column in the range (if present).
    sheet_columns: Vec<Option<usize>>,
    /// For each expected column read through `--map`, how it is named.
    labels: Vec<Option<String>>,
}

impl Places {
    /// The problem, named by its place in the sheet.
    pub fn locate(&self, problem: &FileProblem) -> CellProblem {
        let row = problem.line;
        let sheet = sheet_reference(&self.sheet);
        let field = problem
            .column
            .as_deref()
            .and_then(|name| self.columns.iter().position(|c| c.name == name));
        let place = match (&problem.column, field) {
            (Some(_), Some(c)) => {
                let label = self.labels[c]
                    .clone()
                    .unwrap_or_else(|| self.columns[c].name.to_string());
                match self.sheet_columns.get(c).copied().flatten() {
                    Some(sc) => format!(
                        "{sheet}!{}{row}, column {label}",
                        column_letters(self.first_column + sc)
                    ),
                    None => format!("sheet {}, row {row}, column {label}", self.sheet),
                }
            }
            (Some(name), None) => format!("sheet {}, row {row}, column {name}", self.sheet),
            (None, _) => format!("sheet {}, row {row}", self.sheet),
        };
        CellProblem {
            row,
            place,
            message: problem.message.clone(),
        }
    }
}

/// A sheet's name as a cell reference writes it: quoted when it holds
/// anything but letters, digits and `_` (`'GP list'!F4`).
fn sheet_reference(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// A column's letters: 0 is `A`, 25 `Z`, 26 `AA`.
pub fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

fn is_blank(cell: &Cell) -> bool {
    match cell {
        Cell::Empty => true,
        Cell::String(s) => s.trim_ascii().is_empty(),
        _ => false,
    }
}

/// A cell as the text the checks expect, or the error it holds.
fn text(cell: &Cell) -> Result<String, String> {
    Ok(match cell {
        Cell::Empty => String::new(),
        Cell::String(s) => s.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => number(*f),
        Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Cell::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            if dt.as_f64() < 1.0 {
                // A time of day alone: no date to give.
                format!("{h:02}:{mi:02}:{s:02}")
            } else if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        // A duration (`[h]:mm`) is no date: its number, which the date
        // checks refuse by name.
        Cell::DateTime(dt) => number(dt.as_f64()),
        Cell::DateTimeIso(s) | Cell::DurationIso(s) => s.clone(),
        Cell::Error(e) => return Err(format!("{e}")),
    })
}

/// A number as it is written: whole numbers without a decimal point (ids
/// and codes typed into a cell are stored as numbers).
fn number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_as_a_spreadsheet_does() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(5), "F");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn numbers_read_as_their_digits() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(1234567890123.0), "1234567890123");
    }

    #[test]
    fn a_sheet_name_is_quoted_when_it_must_be() {
        assert_eq!(sheet_reference("accounts"), "accounts");
        assert_eq!(sheet_reference("GP list"), "'GP list'");
        assert_eq!(sheet_reference("Ann's"), "'Ann''s'");
    }
}
