//! Reading the input CSV files by the common rules of data-formats.md: UTF-8
//! with or without a byte-order mark, a header matched case-insensitively,
//! trimmed values, blank lines skipped, RFC 4180 quoting.
//!
//! The reader never stops at the first problem: it records each one with its
//! line and column and carries on, so a user fixes a file in one pass.

use std::io::{BufRead, BufReader, Read};

use csv::ByteRecord;

use crate::error::FileProblem;

/// The longest value accepted in any field. Real values are far shorter; a
/// megabyte-long cell is a broken export, and refusing it keeps memory bounded.
pub const MAX_FIELD_BYTES: usize = 10_000;

/// A column of an input file.
pub struct Column {
    pub name: &'static str,
    pub required: bool,
}

/// A CSV file being read, with its header resolved to the expected columns.
pub struct CsvFile<R: Read> {
    reader: csv::Reader<R>,
    record: ByteRecord,
    /// For each expected column, its position in the file (if present).
    positions: Vec<Option<usize>>,
    columns: &'static [Column],
    width: usize,
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<String>,
    line: u64,
    lines: LineCounter,
}

/// Counts lines as a person sees them in an editor. The csv crate's own line
/// numbers start a record at any blank lines skipped before it and leave out
/// line breaks inside quoted values, so they drift after either.
#[derive(Debug, Default)]
struct LineCounter {
    /// The reader's own count after the previous record.
    csv_after: u64,
    /// The true line the previous record ended on.
    end: u64,
}

impl LineCounter {
    /// The true line a record just read starts on. The reader's count moves by
    /// one for the record plus one for each blank line skipped before it.
    fn record<R: Read>(&mut self, reader: &csv::Reader<R>, record: &ByteRecord) -> u64 {
        let after = reader.position().line();
        let before = if self.csv_after == 0 {
            1
        } else {
            self.csv_after
        };
        let moved = after.saturating_sub(before).max(1);
        let first = self.end + moved;
        let embedded: u64 = record
            .iter()
            .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
            .sum();
        self.csv_after = after;
        self.end = first + embedded;
        first
    }
}

/// Skips a UTF-8 byte-order mark (Excel writes one) at the start of `input`.
fn skip_bom<R: Read>(input: R) -> std::io::Result<BufReader<R>> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let bom = {
        let head = buffered.fill_buf()?;
        head.starts_with(b"\xEF\xBB\xBF")
    };
    if bom {
        buffered.consume(3);
    }
    Ok(buffered)
}

impl<R: Read> CsvFile<R> {
    /// Opens the file and reads its header. Problems with the header (empty
    /// file, missing or repeated columns) are returned as problems; `None`
    /// means no rows can be read.
    pub fn open(
        input: R,
        columns: &'static [Column],
    ) -> std::io::Result<Result<CsvFile<BufReader<R>>, Vec<FileProblem>>> {
        let buffered = skip_bom(input)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(buffered);
        let mut header = ByteRecord::new();
        let expected: Vec<&str> = columns.iter().map(|c| c.name).collect();
        // The header is the first row that is not blank.
        let mut lines = LineCounter::default();
        let header_line = loop {
            match reader.read_byte_record(&mut header) {
                Ok(false) => {
                    return Ok(Err(vec![FileProblem {
                        line: 1,
                        column: None,
                        message: format!(
                            "the file is empty: it needs a header row naming the columns ({})",
                            expected.join(",")
                        ),
                    }]));
                }
                Ok(true) => {
                    let line = lines.record(&reader, &header);
                    if header.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                        continue;
                    }
                    break line;
                }
                Err(e) => return Ok(Err(vec![csv_problem(&e)])),
            }
        };
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut names = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(name) => names.push(name.trim().to_ascii_lowercase()),
                Err(_) => {
                    problems.push(FileProblem {
                        line: header_line,
                        column: Some(format!("{}", i + 1)),
                        message: "the header is not valid UTF-8: save the file as UTF-8 (in Excel: \"CSV UTF-8\")".into(),
                    });
                    names.push(String::new());
                }
            }
        }
        let mut positions = vec![None; columns.len()];
        for (i, name) in names.iter().enumerate() {
            match columns.iter().position(|c| c.name == name) {
                Some(c) if positions[c].is_some() => problems.push(FileProblem {
                    line: header_line,
                    column: Some(name.clone()),
                    message: format!("the column `{name}` appears twice in the header: remove one"),
                }),
                Some(c) => positions[c] = Some(i),
                None if name.is_empty() => {}
                None => warnings.push(format!(
                    "line {header_line}: unknown column `{name}` is ignored (expected columns: {})",
                    expected.join(", ")
                )),
            }
        }
        for (column, position) in columns.iter().zip(&positions) {
            if column.required && position.is_none() {
                problems.push(FileProblem {
                    line: header_line,
                    column: Some(column.name.into()),
                    message: format!(
                        "the required column `{}` is missing from the header (found: {})",
                        column.name,
                        names.join(", ")
                    ),
                });
            }
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        Ok(Ok(CsvFile {
            reader,
            record: ByteRecord::new(),
            positions,
            columns,
            width: header.len(),
            problems: Vec::new(),
            warnings,
            line: header_line,
            lines,
        }))
    }
}

impl<R: Read> CsvFile<R> {
    /// Reads the next non-blank row. Rows with the wrong number of fields or
    /// bytes that are not UTF-8 are recorded as problems and skipped.
    pub fn next_row(&mut self) -> Option<Row<'_>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    self.problems.push(csv_problem(&e));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return None;
                    }
                    continue;
                }
            }
            self.line = self.lines.record(&self.reader, &self.record);
            let record = &self.record;
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            if record.len() != self.width {
                self.problems.push(FileProblem {
                    line: self.line,
                    column: None,
                    message: format!(
                        "this row has {} field{} but the header has {}: check for a missing or extra comma, or an unquoted comma inside a value",
                        record.len(),
                        if record.len() == 1 { "" } else { "s" },
                        self.width
                    ),
                });
                continue;
            }
            let mut bad = false;
            let mut newlines_before = 0u64;
            for (i, field) in record.iter().enumerate() {
                if let Err(e) = std::str::from_utf8(field) {
                    let at = e.valid_up_to();
                    let line = self.line
                        + newlines_before
                        + field[..at].iter().filter(|b| **b == b'\n').count() as u64;
                    self.problems.push(FileProblem {
                        line,
                        column: Some(self.header_name(i)),
                        message: format!(
                            "byte 0x{:02X} is not valid UTF-8: save the file as UTF-8 (in Excel: \"CSV UTF-8\")",
                            field[at]
                        ),
                    });
                    bad = true;
                    break;
                }
                if field.len() > MAX_FIELD_BYTES {
                    self.problems.push(FileProblem {
                        line: self.line,
                        column: Some(self.header_name(i)),
                        message: format!(
                            "the value is {} bytes long; the longest accepted is {MAX_FIELD_BYTES}: check the export",
                            field.len()
                        ),
                    });
                    bad = true;
                }
                newlines_before += field.iter().filter(|b| **b == b'\n').count() as u64;
            }
            if bad {
                continue;
            }
            return Some(Row {
                record: &self.record,
                positions: &self.positions,
                columns: self.columns,
                line: self.line,
            });
        }
    }

    fn header_name(&self, index: usize) -> String {
        self.positions
            .iter()
            .position(|p| *p == Some(index))
            .map(|c| self.columns[c].name.to_string())
            .unwrap_or_else(|| format!("{}", index + 1))
    }

    /// Records a problem found while checking the current row's values.
    pub fn problem(&mut self, line: u64, column: &str, message: String) {
        self.problems.push(FileProblem {
            line,
            column: Some(column.to_string()),
            message,
        });
    }
}

fn csv_problem(e: &csv::Error) -> FileProblem {
    let line = e.position().map_or(0, |p| p.line());
    FileProblem {
        line,
        column: None,
        message: format!("the file cannot be read as CSV: {e}"),
    }
}

/// One row of an input file, its values trimmed.
pub struct Row<'a> {
    record: &'a ByteRecord,
    positions: &'a [Option<usize>],
    columns: &'static [Column],
    pub line: u64,
}

impl<'a> Row<'a> {
    /// The trimmed value of the expected column `index` ("" when absent).
    pub fn get(&self, index: usize) -> &'a str {
        match self.positions[index] {
            // Validated as UTF-8 by `next_row`.
            Some(p) => std::str::from_utf8(&self.record[p]).unwrap_or("").trim(),
            None => "",
        }
    }

    pub fn column_name(&self, index: usize) -> &'static str {
        self.columns[index].name
    }
}
