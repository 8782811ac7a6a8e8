//! Reading the input CSV files by the common rules of data-formats.md: UTF-8
//! with or without a byte-order mark, a header matched case-insensitively,
//! trimmed values, blank lines skipped, RFC 4180 quoting.
//!
//! The reader never stops at the first problem: it records each one with its
//! line and column and carries on, so a user fixes a file in one pass. The
//! exception is a problem that makes the rest unreadable (a NUL byte: not a
//! text file; a line too long to be a row): reading stops there, at once,
//! so that `/dev/zero` or a binary file is refused in a moment rather than
//! read until memory runs out. Input of unknown size (standard input, a
//! pipe, a device) is read in chunks, checked as it comes, and held only up
//! to [`MAX_UNSIZED_INPUT_BYTES`].

use std::io::Read;

mod header;
pub mod sheet;

pub use header::{Delimiter, Mapping};
use header::{Header, is_powershell_type_line};

use csv::ByteRecord;

use crate::error::FileProblem;

/// The longest value accepted in any field. Real values are far shorter; a
/// megabyte-long cell is a broken export, and refusing it keeps memory bounded.
pub const MAX_FIELD_BYTES: usize = 10_000;

/// The longest line read: a row has a handful of values of at most
/// [`MAX_FIELD_BYTES`] each, so a line longer than this is not a row (a
/// binary file, or a file without line breaks), and nothing after it could be
/// read as one. It is far above a row's length so that a row with one
/// over-long value (a broken export) is still reported by its column.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// The most held of an input whose size is not known beforehand (standard
/// input, a pipe, a device). A national export is under 100 MB; a regular
/// file is mapped, not held, and has no such limit.
pub const MAX_UNSIZED_INPUT_BYTES: usize = 256 << 20;

/// Why reading stopped before the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Nul,
    LongLine,
    TooLarge,
}

/// Where reading stops, and why: `at` is the start of the line that cannot
/// be read (the rows before it are read as usual).
#[derive(Debug, Clone, Copy)]
struct Unreadable {
    at: usize,
    line: u64,
    why: Why,
}

impl Unreadable {
    fn new(data: &[u8], at: usize, why: Why) -> Unreadable {
        let at = at.min(data.len());
        let line = 1 + data[..at].iter().filter(|b| **b == b'\n').count() as u64;
        Unreadable { at, line, why }
    }

    fn problem(&self) -> FileProblem {
        let message = match self.why {
            Why::Nul => "this line holds a NUL byte (0x00), which a CSV file in UTF-8 never has \
                         (a binary file has them, and so does text saved as UTF-16 or \"Unicode \
                         text\"), so nothing after it can be read: check that this is the right \
                         file, saved as UTF-8 (in Excel: \"CSV UTF-8\")"
                .to_string(),
            Why::LongLine => format!(
                "this line goes on for more than {MAX_LINE_BYTES} bytes without a line break, so \
                 it is not a row of a CSV export and nothing after it can be read; check that \
                 this is the right file, saved as CSV"
            ),
            Why::TooLarge => format!(
                "the input goes on past {MAX_UNSIZED_INPUT_BYTES} bytes (256 MiB), the most read \
                 from standard input, a pipe or a device: save it to a file and give the file's \
                 path"
            ),
        };
        FileProblem {
            line: self.line,
            column: None,
            message,
        }
    }
}

/// Finds, as the bytes go by, what makes an input unreadable (see
/// [`Unreadable`]). Costs one `memchr` pass for the NUL byte and a look at
/// each chunk's first and last line break.
#[derive(Debug, Default)]
struct Scan {
    /// Bytes looked at so far.
    offset: usize,
    /// Where the line being read starts.
    line_start: usize,
}

impl Scan {
    /// Looks at the next `chunk`; returns the problem found, where its line
    /// starts, if any (the position is in bytes from the start of the scan).
    fn feed(&mut self, chunk: &[u8]) -> Option<(usize, Why)> {
        let base = self.offset;
        if let Some(i) = memchr::memchr(0, chunk) {
            let start =
                memchr::memrchr(b'\n', &chunk[..i]).map_or(self.line_start, |j| base + j + 1);
            return Some((start, Why::Nul));
        }
        let mut rest = chunk;
        let mut at = base;
        loop {
            match memchr::memchr(b'\n', rest) {
                None => {
                    if at + rest.len() - self.line_start > MAX_LINE_BYTES {
                        return Some((self.line_start, Why::LongLine));
                    }
                    break;
                }
                Some(i) => {
                    if at + i - self.line_start > MAX_LINE_BYTES {
                        return Some((self.line_start, Why::LongLine));
                    }
                    at += i + 1;
                    self.line_start = at;
                    rest = &rest[i + 1..];
                    // What is left is shorter than a line may be: only
                    // where its last line starts matters.
                    if rest.len() <= MAX_LINE_BYTES {
                        if let Some(j) = memchr::memrchr(b'\n', rest) {
                            self.line_start = at + j + 1;
                        }
                        break;
                    }
                }
            }
        }
        self.offset = base + chunk.len();
        None
    }
}

/// The input as the csv reader reads it: a mapped file checked chunk by
/// chunk as it is handed over, or read input already checked; either way
/// the reader gets nothing past the first unreadable line.
pub struct Data {
    input: Input,
    /// How much has been handed to the reader.
    pos: usize,
    /// Checks what is handed over (a mapped file); `None` once checked.
    scan: Option<Scan>,
    stop: Option<Unreadable>,
}

impl Data {
    fn bytes(&self) -> &[u8] {
        self.input.as_ref()
    }

    /// A regular file mapped into memory (see [`Input::map`]), anything
    /// else read.
    pub fn from_file(file: &std::fs::File) -> std::io::Result<Data> {
        Input::map(file)
    }

    /// Input of unknown size, read in checked chunks (see [`Input::read`]).
    pub fn from_reader<R: Read>(input: R) -> std::io::Result<Data> {
        Input::read(input)
    }

    /// The bytes as a workbook (Excel or OpenDocument), if they start as
    /// one: a zip archive (`.xlsx`, `.xlsm`, `.xlsb`, `.ods`) or an OLE
    /// compound file (`.xls`). Told by content, not by the file's name, so
    /// a workbook named `.csv` is read too.
    pub fn workbook(&self) -> Option<&[u8]> {
        let bytes = self.input.as_ref();
        is_workbook(bytes).then_some(bytes)
    }
}

impl Data {
    /// Bytes already read whole (a workbook from standard input), handed
    /// over unchecked: only a workbook reader reads them.
    pub fn whole(bytes: Vec<u8>) -> Data {
        Data {
            input: Input::new(Bytes::Read(bytes)),
            pos: 0,
            scan: None,
            stop: None,
        }
    }
}

/// An input file's rows, from a CSV file or from a sheet of a workbook:
/// the import checks both the same way.
pub enum Source {
    Csv(CsvFile<Data>),
    Sheet(sheet::SheetFile),
}

impl Source {
    /// The next non-blank row (see [`CsvFile::next_row`]).
    #[inline]
    pub fn next_row(&mut self) -> Option<Row<'_>> {
        match self {
            Source::Csv(file) => file.next_row(),
            Source::Sheet(sheet) => sheet.next_row(),
        }
    }

    /// How much has been read, and how much there is (bytes of a CSV
    /// file, rows of a sheet).
    pub fn progress(&self) -> (u64, u64) {
        match self {
            Source::Csv(file) => file.progress(),
            Source::Sheet(sheet) => sheet.progress(),
        }
    }

    /// The problems found while reading (beside those the checks find).
    pub fn take_problems(&mut self) -> Vec<FileProblem> {
        match self {
            Source::Csv(file) => std::mem::take(&mut file.problems),
            Source::Sheet(sheet) => std::mem::take(&mut sheet.problems),
        }
    }

    pub fn take_warnings(&mut self) -> Vec<String> {
        match self {
            Source::Csv(file) => std::mem::take(&mut file.warnings),
            Source::Sheet(sheet) => std::mem::take(&mut sheet.warnings),
        }
    }
}

/// Whether bytes start as a workbook does (see [`Data::workbook`]).
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
}

impl Read for Data {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let data = self.input.as_ref();
        let end = self.stop.map_or(data.len(), |u| u.at);
        let mut n = buf.len().min(end.saturating_sub(self.pos));
        if n > 0
            && let Some(scan) = &mut self.scan
            && let Some((at, why)) = scan.feed(&data[self.pos..self.pos + n])
        {
            self.stop = Some(Unreadable::new(data, at, why));
            self.scan = None;
            n = at.saturating_sub(self.pos).min(n);
        }
        if n == 0 {
            return match self.stop {
                Some(_) => Err(std::io::Error::other(
                    "the input cannot be read past this line",
                )),
                None => Ok(0),
            };
        }
        buf[..n].copy_from_slice(&data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A file's bytes, without a UTF-8 byte-order mark (Excel writes one): read
/// into memory, or mapped.
pub struct Input {
    bytes: Bytes,
    /// Bytes of the byte-order mark skipped at the start.
    skip: usize,
}

enum Bytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl AsRef<[u8]> for Input {
    fn as_ref(&self) -> &[u8] {
        let all: &[u8] = match &self.bytes {
            Bytes::Read(data) => data,
            Bytes::Mapped(map) => map,
        };
        all.get(self.skip..).unwrap_or_default()
    }
}

impl Input {
    fn new(bytes: Bytes) -> Input {
        let mut input = Input { bytes, skip: 0 };
        if input.as_ref().starts_with(b"\xEF\xBB\xBF") {
            input.skip = 3;
        }
        input
    }

    /// Reads an input of unknown size (standard input, a pipe, a device)
    /// in chunks, checking each as it comes: reading stops at the first
    /// unreadable line, or at [`MAX_UNSIZED_INPUT_BYTES`].
    fn read<R: Read>(mut input: R) -> std::io::Result<Data> {
        let mut data = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        let mut scan = Scan::default();
        let mut stop = None;
        loop {
            let n = match input.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let got = &chunk[..n];
            if data.len() + n > MAX_UNSIZED_INPUT_BYTES {
                // Nothing of it is read: the line is counted, then the
                // bytes are let go.
                let line = Unreadable::new(&data, scan.line_start, Why::TooLarge).line;
                return Ok(Data {
                    input: Input::new(Bytes::Read(Vec::new())),
                    pos: 0,
                    scan: None,
                    stop: Some(Unreadable {
                        at: 0,
                        line,
                        why: Why::TooLarge,
                    }),
                });
            }
            let found = scan.feed(got);
            data.extend_from_slice(got);
            if let Some((at, why)) = found {
                stop = Some((at, why));
                break;
            }
        }
        let input = Input::new(Bytes::Read(data));
        let skip = input.skip;
        let stop = stop.map(|(at, why)| {
            // Positions are in the bytes as read; the data handed over
            // starts after any byte-order mark.
            Unreadable::new(input.as_ref(), at.saturating_sub(skip), why)
        });
        Ok(Data {
            input,
            pos: 0,
            scan: None,
            stop,
        })
    }

    /// Maps a regular file into memory rather than copying it: the parser
    /// then starts at once and reads the kernel's own copy (a national
    /// accounts file is about 90 MB; copying it cost about 0.04 s before
    /// the first row). Anything else (a pipe, a device, an empty file) is
    /// read. As with any tool that maps its input (ripgrep does), a file
    /// cut short by another program while it is read stops this one.
    fn map(file: &std::fs::File) -> std::io::Result<Data> {
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to this process;
            // what it cannot guard against is another program truncating
            // the file while it is read (see above).
            #[allow(unsafe_code)]
            let map = unsafe { memmap2::Mmap::map(file)? };
            #[cfg(unix)]
            let _ = map.advise(memmap2::Advice::Sequential);
            return Ok(Data {
                input: Input::new(Bytes::Mapped(map)),
                pos: 0,
                scan: Some(Scan::default()),
                stop: None,
            });
        }
        Input::read(file)
    }
}

/// A column of an input file.
#[derive(Debug)]
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
    delimiter: Delimiter,
    pub problems: Vec<FileProblem>,
    pub warnings: Vec<String>,
    line: u64,
    lines: LineCounter,
    /// Where the last record read started (for the unterminated-quote check).
    last_start: Option<(usize, u64)>,
}

/// Counts lines as a person sees them in an editor, from the bytes
/// themselves: the csv crate's own line numbers start a record at any blank
/// lines skipped before it, and a CRLF line end moves its count only with the
/// next record, so they drift.
#[derive(Debug)]
struct LineCounter {
    /// A byte offset in the data, and the line it is on.
    byte: usize,
    line: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { byte: 0, line: 1 }
    }
}

impl LineCounter {
    /// The line a record starting at byte `start` (as the csv crate reports
    /// it, before any blank lines) really starts on.
    fn record(&mut self, data: &[u8], start: usize) -> u64 {
        let start = start.min(data.len());
        if start >= self.byte {
            self.line += data[self.byte..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.byte = start;
        }
        let mut at = self.byte;
        while at < data.len() && (data[at] == b'\n' || data[at] == b'\r') {
            if data[at] == b'\n' {
                self.line += 1;
            }
            at += 1;
        }
        self.byte = at;
        self.line
    }
}

/// A header name as it may be shown: escaped, and cut short.
fn shown(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(40)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if name.chars().count() > 40 {
        out.push_str("...");
    }
    out
}

/// Lists names for a message, at most ten.
fn listed(names: &[String]) -> String {
    let mut out: Vec<String> = names
        .iter()
        .take(10)
        .map(|n| format!("`{}`", shown(n)))
        .collect();
    if names.len() > 10 {
        out.push(format!("and {} more", names.len() - 10));
    }
    out.join(", ")
}

/// ASCII spaces and tabs around a value. Other white space (a no-break space)
/// is kept, so an address with one is seen as the invalid address it is.
pub fn trim_ascii(value: &str) -> &str {
    value.trim_ascii()
}

impl CsvFile<Data> {
    /// Opens the file and reads its header. Problems with the header (empty
    /// file, missing or repeated columns) are returned as problems; `None`
    /// means no rows can be read.
    ///
    /// The whole input is held (read, or mapped by [`CsvFile::open_file`])
    /// so that line numbers can be counted from the bytes, and an
    /// unterminated quote found.
    pub fn open<R: Read>(
        input: R,
        columns: &'static [Column],
    ) -> std::io::Result<Result<CsvFile<Data>, Vec<FileProblem>>> {
        Self::open_input(Input::read(input)?, columns)
    }

    /// Opens a file (see [`CsvFile::open`]), mapping it into memory where
    /// it can.
    pub fn open_file(
        file: &std::fs::File,
        columns: &'static [Column],
    ) -> std::io::Result<Result<CsvFile<Data>, Vec<FileProblem>>> {
        Self::open_input(Input::map(file)?, columns)
    }

    fn open_input(
        input: Data,
        columns: &'static [Column],
    ) -> std::io::Result<Result<CsvFile<Data>, Vec<FileProblem>>> {
        Self::open_mapped(input, columns, &Mapping::default())
    }

    /// Opens a file whose columns may be read from other headers
    /// (`--map`), separated by commas, semicolons or tabs (whichever the
    /// header is written with).
    pub fn open_mapped(
        input: Data,
        columns: &'static [Column],
        mapping: &Mapping,
    ) -> std::io::Result<Result<CsvFile<Data>, Vec<FileProblem>>> {
        let delimiter = Delimiter::of(Data::bytes(&input), columns, mapping);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter.byte())
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let mut header = ByteRecord::new();
        let expected: Vec<&str> = columns.iter().map(|c| c.name).collect();
        // The header is the first row that is not blank, after the line of
        // type information Windows PowerShell's Export-Csv writes first.
        let mut lines = LineCounter::default();
        let mut first = true;
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
                    let start = header.position().map_or(0, |p| p.byte() as usize);
                    let line = lines.record(reader.get_ref().bytes(), start);
                    if header.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                        continue;
                    }
                    if std::mem::take(&mut first) && is_powershell_type_line(&header) {
                        continue;
                    }
                    break line;
                }
                Err(e) => {
                    let problem = match reader.get_ref().stop {
                        Some(stop) if matches!(e.kind(), csv::ErrorKind::Io(_)) => stop.problem(),
                        _ => csv_problem(&e),
                    };
                    return Ok(Err(vec![problem]));
                }
            }
        };
        let mut problems = Vec::new();
        let mut names = Vec::with_capacity(header.len());
        for (i, field) in header.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(name) => names.push(trim_ascii(name).to_string()),
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
        let resolved = Header::resolve(
            &names,
            columns,
            mapping,
            header_line,
            Some(delimiter.read_as()),
        );
        problems.extend(resolved.problems);
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
        Ok(Ok(CsvFile {
            reader,
            record: ByteRecord::new(),
            positions: resolved.positions,
            columns,
            width: header.len(),
            delimiter,
            last_start: None,
            problems: Vec::new(),
            warnings: resolved.warnings,
            line: header_line,
            lines,
        }))
    }
}

impl CsvFile<Data> {
    /// Reads the next non-blank row. Rows with the wrong number of fields or
    /// bytes that are not UTF-8 are recorded as problems and skipped.
    pub fn next_row(&mut self) -> Option<Row<'_>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => {
                    self.check_last_quote();
                    return None;
                }
                Ok(true) => {}
                Err(e) => {
                    let problem = match self.reader.get_ref().stop {
                        Some(stop) if matches!(e.kind(), csv::ErrorKind::Io(_)) => stop.problem(),
                        _ => csv_problem(&e),
                    };
                    self.problems.push(problem);
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return None;
                    }
                    continue;
                }
            }
            let start = self.record.position().map_or(0, |p| p.byte() as usize);
            self.line = self.lines.record(self.reader.get_ref().bytes(), start);
            self.last_start = Some((start, self.line));
            let record = &self.record;
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            if record.len() != self.width {
                self.problems.push(FileProblem {
                    line: self.line,
                    column: None,
                    message: format!(
                        "this row has {} field{} but the header has {}: check for a missing or extra {delimiter}, or an unquoted {delimiter} inside a value",
                        record.len(),
                        if record.len() == 1 { "" } else { "s" },
                        self.width,
                        delimiter = self.delimiter.name(),
                    ),
                });
                continue;
            }
            let end = self.reader.position().byte() as usize;
            if let Some(field) = self.text_after_closing_quote(start, end) {
                self.problems.push(FileProblem {
                    line: self.line,
                    column: Some(self.header_name(field)),
                    message: "a quoted value goes on after its closing quote (like `\"Ann\"x`): \
                              put the whole value in quotes and double any quote inside it"
                        .into(),
                });
                continue;
            }
            if let Some(i) = self.record.iter().position(|f| f.len() > MAX_FIELD_BYTES) {
                self.problems.push(FileProblem {
                    line: self.line,
                    column: Some(self.header_name(i)),
                    message: format!(
                        "the value is {} bytes long; the longest accepted is {MAX_FIELD_BYTES}: check the export",
                        self.record[i].len()
                    ),
                });
                continue;
            }
            // One check of the whole row (its values end to end), and that
            // each value starts and ends between characters; only a row that
            // fails is looked at value by value, to say where.
            if as_text(&self.record).is_none() {
                self.not_utf8();
                continue;
            }
            break;
        }
        // Checked just above; asked again because a value borrowed inside
        // the loop could not be returned from it.
        let text = as_text(&self.record)?;
        Some(Row {
            text,
            record: &self.record,
            positions: &self.positions,
            columns: self.columns,
            line: self.line,
        })
    }

    /// Records where the current row (which is not all UTF-8) first is not.
    fn not_utf8(&mut self) {
        let mut newlines_before = 0u64;
        for (i, field) in self.record.iter().enumerate() {
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
                return;
            }
            newlines_before += field.iter().filter(|b| **b == b'\n').count() as u64;
        }
    }

    /// The field (by position) of the record in `start..end` whose quoted
    /// value goes on after its closing quote: `"Ann"x` is read as `Annx` by
    /// the csv reader, so it must be found in the bytes. Only records with a
    /// quote in them are looked at.
    fn text_after_closing_quote(&self, start: usize, end: usize) -> Option<usize> {
        let data = self.reader.get_ref().bytes();
        let raw = data.get(start..end.min(data.len()))?;
        if !raw.contains(&b'"') {
            return None;
        }
        enum At {
            FieldStart,
            Unquoted,
            Quoted,
            AfterQuote,
        }
        let mut at = At::FieldStart;
        let mut field = 0;
        let delimiter = self.delimiter.byte();
        for &b in raw {
            at = match (at, b) {
                (At::FieldStart | At::Unquoted | At::AfterQuote, d) if d == delimiter => {
                    field += 1;
                    At::FieldStart
                }
                (At::FieldStart | At::Unquoted | At::AfterQuote, b'\r' | b'\n') => return None,
                (At::FieldStart, b'"') => At::Quoted,
                (At::FieldStart | At::Unquoted, _) => At::Unquoted,
                (At::Quoted, b'"') => At::AfterQuote,
                (At::Quoted, _) => At::Quoted,
                (At::AfterQuote, b'"') => At::Quoted,
                // Spaces before the comma are read into the value, which
                // imports trim: harmless.
                (At::AfterQuote, b' ' | b'\t') => At::AfterQuote,
                (At::AfterQuote, _) => return Some(field),
            };
        }
        None
    }

    /// A quote opened and never closed makes the rest of the file one value:
    /// the csv format cannot tell, so look at the last record's bytes. If it
    /// spans lines and holds an odd number of quotes, later rows were
    /// swallowed into it: refuse the file rather than lose them.
    fn check_last_quote(&mut self) {
        let Some((start, line)) = self.last_start.take() else {
            return;
        };
        let data = self.reader.get_ref().bytes();
        let tail = &data[start.min(data.len())..];
        let body = tail.strip_suffix(b"\n").unwrap_or(tail);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let quotes = body.iter().filter(|b| **b == b'"').count();
        if quotes % 2 == 1 && body.contains(&b'\n') {
            self.problems.push(FileProblem {
                line,
                column: None,
                message:
                    "a quoted value opened on this line is never closed (a `\"` without its pair), \
                          so every line after it was read as part of this row: close the quote"
                        .into(),
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

    /// How many bytes of the input have been read, and how many there are.
    pub fn progress(&self) -> (u64, u64) {
        let total = self.reader.get_ref().bytes().len() as u64;
        (self.reader.position().byte().min(total), total)
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

/// A row's values end to end as text, if they are UTF-8 and each value
/// starts and ends between characters.
fn as_text(record: &ByteRecord) -> Option<&str> {
    let text = std::str::from_utf8(record.as_slice()).ok()?;
    let whole = (0..record.len()).all(|i| {
        record
            .range(i)
            .is_some_and(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
    });
    whole.then_some(text)
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
    /// The row's values end to end, checked to be UTF-8.
    text: &'a str,
    record: &'a ByteRecord,
    positions: &'a [Option<usize>],
    columns: &'static [Column],
    pub line: u64,
}

impl<'a> Row<'a> {
    /// The trimmed value of the expected column `index` ("" when absent).
    pub fn get(&self, index: usize) -> &'a str {
        match self.positions[index] {
            Some(p) => self
                .record
                .range(p)
                .and_then(|r| self.text.get(r))
                .map_or("", trim_ascii),
            None => "",
        }
    }

    pub fn column_name(&self, index: usize) -> &'static str {
        self.columns[index].name
    }
}
