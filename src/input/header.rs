//! The header of an input file: which delimiter separates its values, and
//! which of its columns each expected column is read from (by its own name,
//! or by the header `--map` gives it). Worked out once, before the rows:
//! the rows are then read through the same positions whichever way the
//! file names its columns, so neither costs anything per row.

use csv::ByteRecord;

use super::{Column, listed, shown};
use crate::error::FileProblem;

/// Windows PowerShell's `Export-Csv` (before version 7, unless told
/// `-NoTypeInformation`) writes a line such as `#TYPE
/// Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox` above
/// the header; it names no column, so it is passed over.
pub(super) fn is_powershell_type_line(record: &ByteRecord) -> bool {
    record
        .get(0)
        .is_some_and(|first| first.trim_ascii_start().starts_with(b"#TYPE"))
}

/// What separates the values of a file: a comma, or (as Excel writes "CSV"
/// where a comma is the decimal mark) a semicolon, or a tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
}

impl Delimiter {
    const ALL: [Delimiter; 3] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab];

    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Delimiter::Comma => "comma",
            Delimiter::Semicolon => "semicolon",
            Delimiter::Tab => "tab",
        }
    }

    /// How the file was read, for a message about its header ("" for
    /// commas, the usual).
    pub(super) fn read_as(self) -> &'static str {
        match self {
            Delimiter::Comma => "",
            Delimiter::Semicolon => " (the file was read as separated by semicolons)",
            Delimiter::Tab => " (the file was read as separated by tabs)",
        }
    }

    /// The delimiter of the header line: the one that splits it into the
    /// most of the expected columns (commas first when they tie), or, when
    /// none names any, the one the line holds most of. Looked at once, on
    /// the first lines only.
    pub(super) fn of(data: &[u8], columns: &[Column], mapping: &Mapping) -> Delimiter {
        let Some(line) = header_line(data) else {
            return Delimiter::Comma;
        };
        let wanted: Vec<String> = (0..columns.len())
            .map(|i| {
                mapping
                    .header(i)
                    .unwrap_or(columns[i].name)
                    .to_ascii_lowercase()
            })
            .collect();
        let score = |d: Delimiter| {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(d.byte())
                .from_reader(line);
            let mut record = csv::StringRecord::new();
            if !matches!(reader.read_record(&mut record), Ok(true)) {
                return 0;
            }
            record
                .iter()
                .filter(|f| {
                    wanted
                        .iter()
                        .any(|w| *w == f.trim_ascii().to_ascii_lowercase())
                })
                .count()
        };
        let mut best = (0, Delimiter::Comma);
        for d in Delimiter::ALL {
            let s = score(d);
            if s > best.0 {
                best = (s, d);
            }
        }
        if best.0 > 0 {
            return best.1;
        }
        let count = |d: Delimiter| line.iter().filter(|b| **b == d.byte()).count();
        let mut most = (count(Delimiter::Comma), Delimiter::Comma);
        for d in [Delimiter::Semicolon, Delimiter::Tab] {
            if count(d) > most.0 {
                most = (count(d), d);
            }
        }
        most.1
    }
}

/// The first line that is not blank and not PowerShell's type line, as
/// bytes (without its line end), looked for in the first 64 KiB.
fn header_line(data: &[u8]) -> Option<&[u8]> {
    let head = &data[..data.len().min(1 << 16)];
    head.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| {
            !l.iter().all(u8::is_ascii_whitespace) && !l.trim_ascii_start().starts_with(b"#TYPE")
        })
}

/// `--map FIELD=HEADER`: the header a column is read from instead of its
/// own name, matched as names are (trimmed, without regard to case).
/// Resolved once, with the header: rows are read through the same
/// positions either way, so a mapping costs nothing per row.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// (the column's place in the file kind's columns, the header as given).
    headers: Vec<(usize, String)>,
}

impl Mapping {
    /// The mapping of `FIELD=HEADER` pairs onto `columns`; a message when a
    /// field is not one of them, or is mapped twice.
    /// `file` names the kind of file in a message ("accounts").
    pub fn new(
        columns: &[Column],
        pairs: &[(String, String)],
        file: &str,
    ) -> Result<Mapping, String> {
        let mut headers: Vec<(usize, String)> = Vec::with_capacity(pairs.len());
        for (field, header) in pairs {
            let wanted = field.trim_ascii().to_ascii_lowercase();
            let Some(i) = columns.iter().position(|c| c.name == wanted) else {
                return Err(format!(
                    "`--map {field}={header}`: `{field}` is not a column of the {file} file; its columns are {}",
                    columns
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if let Some((_, earlier)) = headers.iter().find(|(c, _)| *c == i) {
                return Err(format!(
                    "`--map {field}=...` is given twice (`{earlier}` and `{header}`): give each column one header"
                ));
            }
            if columns[i].name == "status" && says_disabled(header) {
                return Err(format!(
                    "`--map {field}={header}`: `{header}` is True for an account that is disabled, \
                     the opposite of a status (True read as active): map a column that is True \
                     for an enabled account, such as Entra's `accountEnabled`, or one that says \
                     active or disabled"
                ));
            }
            headers.push((i, header.trim_ascii().to_string()));
        }
        Ok(Mapping { headers })
    }

    /// The header column `index` is read from, if mapped.
    pub fn header(&self, index: usize) -> Option<&str> {
        self.headers
            .iter()
            .find(|(c, _)| *c == index)
            .map(|(_, h)| h.as_str())
    }

    /// How a problem names a column: a mapped one by the file's header and
    /// the column it is read as (`AccountEnabled (status)`).
    pub fn label(&self, columns: &[Column], name: &str) -> Option<String> {
        let index = columns.iter().position(|c| c.name == name)?;
        self.header(index).map(|h| format!("{h} ({name})"))
    }

    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

/// Whether a header names a flag that is true for a disabled account
/// (Exchange's `AccountDisabled`, the Microsoft 365 admin centre's `Block
/// credential`): read as a status, True would be taken for active.
fn says_disabled(header: &str) -> bool {
    let squeezed: String = header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    matches!(
        squeezed.as_str(),
        "accountdisabled" | "blockcredential" | "disabled" | "isdisabled" | "blocked"
    )
}

/// The punctuation a text holds most of (not `_`, `-` or `.`, which names
/// hold), and how many: what a one-column header is likely separated by.
fn most_common_punctuation(text: &str) -> Option<(char, usize)> {
    let mut counts: Vec<(char, usize)> = Vec::new();
    for c in text.chars() {
        if c.is_ascii_punctuation() && !"_-.".contains(c) {
            match counts.iter_mut().find(|(k, _)| *k == c) {
                Some((_, n)) => *n += 1,
                None => counts.push((c, 1)),
            }
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n)
}

/// A header's names matched to the expected columns.
pub(crate) struct Header {
    /// For each expected column, its position among the names (if there).
    pub positions: Vec<Option<usize>>,
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<String>,
}

impl Header {
    /// Matches `names` (trimmed, as found) to `columns` through `mapping`.
    /// `read_as` is how a delimited file was split, added to a message
    /// listing what was found; `None` for a sheet, which has no delimiter.
    pub(crate) fn resolve(
        names: &[String],
        columns: &'static [Column],
        mapping: &Mapping,
        header_line: u64,
        read_as: Option<&str>,
    ) -> Header {
        let delimited = read_as.is_some();
        let read_as = read_as.unwrap_or("");
        let wanted: Vec<String> = (0..columns.len())
            .map(|i| {
                mapping
                    .header(i)
                    .unwrap_or(columns[i].name)
                    .to_ascii_lowercase()
            })
            .collect();
        let shown_wanted: Vec<&str> = (0..columns.len())
            .map(|i| mapping.header(i).unwrap_or(columns[i].name))
            .collect();
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut positions = vec![None; columns.len()];
        let mut unknown = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let lower = name.to_ascii_lowercase();
            let mut known = false;
            for (c, w) in wanted.iter().enumerate() {
                if *w != lower {
                    continue;
                }
                known = true;
                if positions[c].is_some() {
                    problems.push(FileProblem {
                        line: header_line,
                        column: Some(name.clone()),
                        message: format!(
                            "the column `{}` appears twice in the header: remove one",
                            shown(name)
                        ),
                    });
                } else {
                    positions[c] = Some(i);
                }
            }
            if !known && !name.is_empty() {
                unknown.push(name.clone());
            }
        }
        if !unknown.is_empty() {
            warnings.push(format!(
                "line {header_line}: unknown column{} {} ignored (expected columns: {})",
                if unknown.len() == 1 { "" } else { "s" },
                listed(&unknown),
                shown_wanted.join(", ")
            ));
        }
        let missing: Vec<&str> = columns
            .iter()
            .zip(&positions)
            .filter(|(c, p)| c.required && p.is_none())
            .map(|(c, _)| c.name)
            .collect();
        if delimited && names.len() == 1 && !missing.is_empty() && mapping.is_empty() {
            // One long header: the file is separated by something else.
            // Said once, with what was found, rather than once a column.
            let found = &names[0];
            let separator = most_common_punctuation(found)
                .map(|(c, n)| format!(", with {n} `{c}` in it that may separate the values"))
                .unwrap_or_default();
            problems.push(FileProblem {
                line: header_line,
                column: None,
                message: format!(
                    "the header is read as one column, `{}`{separator}, so the required columns \
                     ({}) are not found: save the file separated by commas (in Excel: \"CSV \
                     UTF-8\"), semicolons or tabs",
                    shown(found),
                    missing.join(", ")
                ),
            });
            return Header {
                positions,
                problems,
                warnings: Vec::new(),
            };
        }
        for (c, (column, position)) in columns.iter().zip(&positions).enumerate() {
            if position.is_some() {
                continue;
            }
            let message = match mapping.header(c) {
                Some(header) => format!(
                    "the header `{}` given by `--map {}={}` is not in the file (found: {}){read_as}",
                    shown(header),
                    column.name,
                    shown(header),
                    listed(names)
                ),
                None if column.required => format!(
                    "the required column `{}` is missing from the header (found: {}){read_as}{}",
                    column.name,
                    listed(names),
                    if mapping.is_empty() {
                        "; if the file names it otherwise, say which with `--map FIELD=HEADER`"
                    } else {
                        ""
                    }
                ),
                None => continue,
            };
            problems.push(FileProblem {
                line: header_line,
                column: Some(column.name.into()),
                message,
            });
        }
        Header {
            positions,
            problems,
            warnings,
        }
    }
}
