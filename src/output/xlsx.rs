//! Excel workbooks out (`--format xlsx --out FILE`): the audit, the report
//! and the plan as files people open in Excel and pass on, and the report
//! as one file per contact (`report --split-by contact --out DIR`).
//!
//! - Every cell is written as text (`write_string`), never as a number or
//!   a formula: a value such as `=HYPERLINK(...)` stays the text it is, so
//!   no cell a spreadsheet would run can be smuggled in through a name or
//!   an address, and codes (`00K`) and ids keep their zeros. CSV needs the
//!   `'` mark for this (crate::spreadsheet); a text cell does not, so a
//!   workbook holds the values exactly.
//! - Each sheet has its header row bold and frozen, filters on, and each
//!   column as wide as its longest value (within bounds).
//! - Sheets are written in constant-memory mode: rows go to a temporary
//!   file (owner-only, removed when done) as they come, so a national audit
//!   streams into its sheet as it streams into CSV. A sheet holds at most
//!   1,048,576 rows and a cell 32,767 characters (Excel's limits): past
//!   them the command fails saying to use CSV, never a cut-short file.
//! - The file itself is written by the one safe writer (crate::files): a
//!   new owner-only file renamed into place, never a link, a device or the
//!   store, an existing file only with `--force`. `--out -` writes the
//!   bytes to standard output only when that is not a terminal.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};
use unicode_width::UnicodeWidthStr;

use crate::cli::{Format, OutputFormat};
use crate::commands::report::{self, Report, ReportRow};
use crate::error::UserError;
use crate::files::{FileTarget, Guarded, PendingFile, Target, prepare_folder};
use crate::reporting::{JsonRecord, RowSink};
use crate::rules::Contact;

/// Rows a sheet holds, its header included (Excel's limit).
const MAX_ROWS: u32 = 1_048_576;
/// Characters a cell holds (Excel's limit).
const MAX_CELL_CHARS: usize = 32_767;
/// Column widths, in characters: never narrower than the header, never
/// wider than this (a long address wraps in Excel's own way).
const MAX_WIDTH: usize = 60;

/// What the records of a command with `--out` are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Csv,
    Json,
    Xlsx,
}

impl Written {
    /// A file name's extension for this form.
    pub fn extension(self) -> &'static str {
        match self {
            Written::Csv => "csv",
            Written::Json => "json",
            Written::Xlsx => "xlsx",
        }
    }

    /// The printed format of a text form.
    pub fn text_format(self) -> Option<Format> {
        match self {
            Written::Csv => Some(Format::Csv),
            Written::Json => Some(Format::Json),
            Written::Xlsx => None,
        }
    }

    /// The form `--out FILE` chooses by its extension when `--format` is
    /// left at `table`: a table is for a terminal, not a file.
    fn by_extension(path: &Path) -> Written {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("xlsx") => Written::Xlsx,
            Some("json") => Written::Json,
            _ => Written::Csv,
        }
    }
}

/// Where a command's records go.
#[derive(Debug)]
pub enum Destination {
    /// Printed on standard output as before.
    Print(Format),
    /// Written in this form to a file, or (a workbook) to a pipe.
    Write(Written, Target),
}

/// Where `what` ("the audit") goes, given `--format` and `--out`, checked
/// before any work: `--format xlsx` needs `--out FILE` (or `--out -` into a
/// pipe); `--out FILE` with the default `table` takes its form from the
/// file's extension.
pub fn destination(
    format: OutputFormat,
    out: Option<&Path>,
    force: bool,
    guarded: &Guarded,
    what: &str,
) -> Result<Destination, UserError> {
    let Some(path) = out else {
        return format
            .printed()
            .map(Destination::Print)
            .ok_or_else(needs_out);
    };
    let written = match format {
        OutputFormat::Xlsx => Written::Xlsx,
        OutputFormat::Csv => Written::Csv,
        OutputFormat::Json => Written::Json,
        // `--out -` is standard output, where a table is what it always was.
        OutputFormat::Table if path.as_os_str() == "-" => {
            return Ok(Destination::Print(Format::Table));
        }
        OutputFormat::Table => Written::by_extension(path),
    };
    let target = Target::check(path, force, guarded, what)?;
    match (&target, written.text_format()) {
        (Target::Stdout, Some(text)) => Ok(Destination::Print(text)),
        (Target::Stdout, None) => {
            refuse_terminal()?;
            Ok(Destination::Write(written, target))
        }
        _ => Ok(Destination::Write(written, target)),
    }
}

/// The form of a plan written to `target`: a workbook with `--format xlsx`
/// or a file name ending `.xlsx`, else CSV (as plans always were). A
/// workbook to standard output only into a pipe.
pub fn plan_form(format: OutputFormat, target: &Target) -> Result<Written, UserError> {
    let workbook = match (format, target) {
        (OutputFormat::Xlsx, _) => true,
        (OutputFormat::Table, Target::File(f)) => Written::by_extension(f.path()) == Written::Xlsx,
        _ => false,
    };
    if !workbook {
        return Ok(Written::Csv);
    }
    if target.is_stdout() {
        refuse_terminal()?;
    }
    Ok(Written::Xlsx)
}

fn needs_out() -> UserError {
    UserError::Refused(
        "--format xlsx writes an Excel workbook, not text to show: give --out FILE (e.g. \
         --out report.xlsx), or `--out -` to pipe it to another program"
            .into(),
    )
}

fn refuse_terminal() -> Result<(), UserError> {
    if io::stdout().is_terminal() {
        return Err(UserError::Refused(
            "--out - would write the workbook's bytes to the terminal: give --out FILE (e.g. \
             --out report.xlsx), or pipe the output into a program or a file"
                .into(),
        ));
    }
    Ok(())
}

/// A workbook being written, one sheet after another, each row as it comes.
pub struct Book {
    book: Workbook,
    bold: CellFormat,
    sheets: usize,
    open: Option<OpenSheet>,
}

/// The sheet rows are going to now.
struct OpenSheet {
    index: usize,
    name: String,
    headers: Vec<String>,
    /// The next row to write (0 is the header).
    next: u32,
    /// The widest value of each column so far, in characters.
    widths: Vec<usize>,
}

impl Default for Book {
    fn default() -> Self {
        Book::new()
    }
}

impl Book {
    pub fn new() -> Book {
        Book {
            book: Workbook::new(),
            bold: CellFormat::new().set_bold(),
            sheets: 0,
            open: None,
        }
    }

    /// Starts a sheet `name` with its header row (bold, frozen); the sheet
    /// before it is finished.
    pub fn sheet(&mut self, name: &str, headers: &[&str]) -> io::Result<()> {
        self.close()?;
        let sheet = self
            .book
            .add_worksheet_with_constant_memory()
            .map_err(failed)?;
        sheet.set_name(name).map_err(failed)?;
        for (c, header) in headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, column(c)?, *header, &self.bold)
                .map_err(failed)?;
        }
        // The header stays in sight as the rows scroll.
        sheet.set_freeze_panes(1, 0).map_err(failed)?;
        self.open = Some(OpenSheet {
            index: self.sheets,
            name: name.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            next: 1,
            widths: headers.iter().map(|h| h.width()).collect(),
        });
        self.sheets += 1;
        Ok(())
    }

    /// Writes one row of the open sheet, every cell as text.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> io::Result<()> {
        let Some(open) = &mut self.open else {
            return Err(io::Error::other("a row was written before any sheet"));
        };
        if open.next >= MAX_ROWS {
            return Err(io::Error::other(UserError::Refused(format!(
                "the sheet `{}` would have more than {} rows, the most an Excel sheet holds: \
                 narrow it down (--contact, --section, --category) or use --format csv; \
                 nothing was written",
                open.name,
                MAX_ROWS - 1
            ))));
        }
        let sheet = self.book.worksheet_from_index(open.index).map_err(failed)?;
        for (c, cell) in cells.iter().enumerate() {
            let cell = cell.as_ref();
            if cell.is_empty() {
                continue;
            }
            if cell.chars().count() > MAX_CELL_CHARS {
                return Err(io::Error::other(UserError::Refused(format!(
                    "{}!{}{}, column {}: the value is {} characters long, more than an Excel \
                     cell holds ({MAX_CELL_CHARS}): use --format csv; nothing was written",
                    open.name,
                    crate::input::sheet::column_letters(c),
                    open.next + 1,
                    open.headers.get(c).map_or("", String::as_str),
                    cell.chars().count()
                ))));
            }
            sheet
                .write_string(open.next, column(c)?, cell)
                .map_err(failed)?;
            if let Some(w) = open.widths.get_mut(c) {
                *w = (*w).max(cell.width());
            }
        }
        open.next += 1;
        Ok(())
    }

    /// Finishes the open sheet: filters over its rows, its columns' widths.
    fn close(&mut self) -> io::Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let sheet = self.book.worksheet_from_index(open.index).map_err(failed)?;
        let last = column(open.headers.len().saturating_sub(1))?;
        sheet
            .autofilter(0, 0, open.next.saturating_sub(1), last)
            .map_err(failed)?;
        for (c, width) in open.widths.iter().enumerate() {
            // Two characters beside the value, for the filter's button.
            let chars = (*width).clamp(4, MAX_WIDTH) + 3;
            sheet
                .set_column_width(column(c)?, chars as f64)
                .map_err(failed)?;
        }
        Ok(())
    }

    /// Writes the workbook to a new file for `target` (renamed into place
    /// only by [`PendingFile::commit`]).
    pub fn pending(mut self, target: &FileTarget, what: &str) -> anyhow::Result<PendingFile> {
        self.close()?;
        let mut out = target.create(what)?;
        self.book
            .save_to_writer(&mut out)
            .map_err(|e| anyhow::anyhow!("writing {what} to {}: {e}", target.path().display()))?;
        Ok(out)
    }

    /// Writes the workbook to `target`: a file, replaced whole, or (a pipe)
    /// standard output.
    pub fn save(mut self, target: &Target, guarded: &Guarded, what: &str) -> anyhow::Result<()> {
        match target {
            Target::Stdout => {
                self.close()?;
                let bytes = self.book.save_to_buffer()?;
                let mut out = io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()?;
            }
            Target::File(file) => self.pending(file, what)?.commit(guarded, what)?,
        }
        Ok(())
    }
}

impl RowSink for Book {
    fn record(&mut self, cells: &[&str], _record: &dyn JsonRecord) -> io::Result<()> {
        Book::row(self, cells)
    }

    fn row(&mut self, cells: &[&str]) -> io::Result<()> {
        Book::row(self, cells)
    }
}

fn column(c: usize) -> io::Result<u16> {
    u16::try_from(c).map_err(|_| io::Error::other("too many columns for a sheet"))
}

fn failed(e: XlsxError) -> io::Error {
    io::Error::other(format!("writing the workbook: {e}"))
}

/// The report as a workbook: one sheet per section (those asked for),
/// named by the section, with the report's CSV columns and rows.
pub fn report_book(report: &Report, rows: &[&ReportRow]) -> io::Result<Book> {
    let mut book = Book::new();
    let cutover = report.dates.cutover.to_string();
    let days = report.dates.days_left().to_string();
    for section in &report.sections {
        book.sheet(section.as_str(), report::COLUMNS)?;
        for r in rows.iter().filter(|r| r.section == *section) {
            book.row(&super::views::report_values(r, &cutover, &days))?;
        }
    }
    Ok(book)
}

/// Tells the person where `what` ("the audit") was written.
pub fn wrote(what: &str, target: &Target) {
    super::message(&format!("{what} was written to {}", target.describe()));
}

/// What the report is called in messages about its files.
pub const REPORT: &str = "the report";

/// Writes the report to `target` as `written` says (the caller has
/// checked the target), and tells the person where it went.
pub fn report_file(
    report: &Report,
    written: Written,
    target: &Target,
    guarded: &Guarded,
) -> anyhow::Result<()> {
    if let Some(why) = &report.unchecked {
        super::warning(&format!("the accounts were not checked: {why}"));
    }
    let rows: Vec<&ReportRow> = report.rows.iter().collect();
    write_report_rows(report, &rows, written, target, guarded)?.commit_or_done(guarded)?;
    let accounts = report.accounts();
    super::message(&format!(
        "report: {} row{} ({} account{}) written to {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        accounts,
        if accounts == 1 { "" } else { "s" },
        target.describe()
    ));
    Ok(())
}

/// A file written but not yet renamed into place, or one already done
/// (standard output).
enum Pending {
    File(PendingFile),
    Done,
}

impl Pending {
    fn commit_or_done(self, guarded: &Guarded) -> anyhow::Result<()> {
        match self {
            Pending::File(file) => file.commit(guarded, REPORT),
            Pending::Done => Ok(()),
        }
    }
}

/// Writes report rows in the form asked for: a workbook, or the CSV or
/// JSON that `report --format csv|json` prints.
fn write_report_rows(
    report: &Report,
    rows: &[&ReportRow],
    written: Written,
    target: &Target,
    guarded: &Guarded,
) -> anyhow::Result<Pending> {
    if written == Written::Xlsx {
        let book = report_book(report, rows)?;
        return Ok(match target {
            Target::File(file) => Pending::File(book.pending(file, REPORT)?),
            Target::Stdout => {
                book.save(target, guarded, REPORT)?;
                Pending::Done
            }
        });
    }
    let format = written.text_format().unwrap_or(Format::Csv);
    let Target::File(file) = target else {
        // `destination` prints text meant for standard output itself.
        return Err(anyhow::anyhow!(
            "report text to standard output is printed, not written"
        ));
    };
    let mut sink = super::Sink::new(file.create(REPORT)?, format, report::COLUMNS)?;
    super::views::report_records(report, rows, &mut sink)?;
    Ok(Pending::File(sink.into_inner()?))
}

/// One file of a split report.
#[derive(Debug, serde::Serialize)]
pub struct SplitFile {
    pub file: String,
    pub contact_code: String,
    pub contact_name: String,
    pub rows: usize,
    pub accounts: usize,
}

/// The form of a split report's files: `--format xlsx` or `csv`.
pub fn split_form(format: OutputFormat) -> Result<Written, UserError> {
    match format {
        OutputFormat::Xlsx => Ok(Written::Xlsx),
        OutputFormat::Csv => Ok(Written::Csv),
        OutputFormat::Table | OutputFormat::Json => Err(UserError::Refused(
            "--split-by contact writes one file per contact: add --format xlsx (a workbook per \
             contact) or --format csv"
                .into(),
        )),
    }
}

/// Checks the folder a split report goes into, before any work: a real
/// folder (created owner-only if missing), never a link to one.
pub fn split_folder(dir: &Path) -> Result<(), UserError> {
    if dir.as_os_str() == "-" {
        return Err(UserError::Refused(
            "--split-by contact writes one file per contact into a folder: give --out DIR".into(),
        ));
    }
    prepare_folder(dir, "the report's files")
}

/// A contact's file name: its code (`00K`, `cqrs-administrator` for
/// accounts whose contact is the CQRS administrator), with anything but a
/// letter, a digit, `-` or `_` made `_` so that a code can never name
/// another folder.
fn file_stem(contact: &Contact) -> String {
    contact
        .code()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes one file per contact into `dir` (checked by [`split_folder`]),
/// each with that contact's rows only, in the report's order. Every target
/// is checked before any file is written, and all are renamed into place
/// only once all are written: a refusal or a failure leaves the folder as
/// it was.
pub fn split_by_contact(
    report: &Report,
    written: Written,
    dir: &Path,
    force: bool,
    guarded: &Guarded,
) -> anyhow::Result<Vec<SplitFile>> {
    if let Some(why) = &report.unchecked {
        super::warning(&format!("the accounts were not checked: {why}"));
    }
    // Contacts in the order the report first names them.
    let mut groups: Vec<(std::rc::Rc<Contact>, Vec<&ReportRow>)> = Vec::new();
    let mut index: rustc_hash::FxHashMap<&str, usize> = Default::default();
    for row in &report.rows {
        let code = row.contact.code();
        let at = *index.entry(code).or_insert_with(|| {
            groups.push((row.contact.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(row);
    }
    groups.sort_by_key(|g| contact_order(&g.0));
    let mut names: rustc_hash::FxHashMap<String, String> = Default::default();
    let mut targets = Vec::new();
    for (contact, rows) in &groups {
        let name = format!("{}.{}", file_stem(contact), written.extension());
        if let Some(other) = names.insert(name.to_ascii_lowercase(), contact.code().to_string()) {
            return Err(UserError::Refused(format!(
                "the contacts {other} and {} would both be written to {name}: report them one \
                 at a time with --contact; nothing was written",
                contact.code()
            ))
            .into());
        }
        let path: PathBuf = dir.join(&name);
        let target = Target::check(&path, force, guarded, REPORT)?;
        targets.push((target, rows));
    }
    let mut pending = Vec::new();
    let mut files = Vec::new();
    for (target, rows) in &targets {
        pending.push(write_report_rows(report, rows, written, target, guarded)?);
        let first = rows[0];
        let accounts = rows
            .iter()
            .map(|r| r.account_id())
            .collect::<rustc_hash::FxHashSet<&str>>()
            .len();
        files.push(SplitFile {
            file: target.describe(),
            contact_code: first.contact.code().to_string(),
            contact_name: first.contact_name.to_string(),
            rows: rows.len(),
            accounts,
        });
    }
    for file in pending {
        file.commit_or_done(guarded)?;
    }
    Ok(files)
}

/// ODS codes in order, the CQRS administrator last (as the report orders
/// its contacts).
fn contact_order(contact: &Contact) -> (bool, String) {
    (
        matches!(contact, Contact::CqrsAdministrator),
        contact.code().to_string(),
    )
}

/// The files a split report wrote: a table (or CSV or JSON) of each file
/// with its contact and row count, and a line on standard error.
pub fn split_written(files: &[SplitFile], format: Format) -> io::Result<()> {
    const COLUMNS: &[&str] = &["file", "contact_code", "contact_name", "rows", "accounts"];
    if format == Format::Json {
        return super::print_json(&files);
    }
    let mut sink = super::Sink::stdout(format, COLUMNS)?;
    for f in files {
        sink.row(&[
            f.file.as_str(),
            &f.contact_code,
            &f.contact_name,
            &f.rows.to_string(),
            &f.accounts.to_string(),
        ])?;
    }
    sink.finish()?;
    super::message(&format!(
        "report: {} file{} written, one per contact",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// The plan's sheet: the plan's CSV columns and rows.
pub fn plan_book(plan: &crate::commands::plan::Plan) -> io::Result<Book> {
    let mut book = Book::new();
    book.sheet("plan", crate::commands::plan::COLUMNS)?;
    for r in &plan.rows {
        book.row(&r.values())?;
    }
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_excel_names() {
        for s in crate::rules::Section::ALL {
            let mut book = Workbook::new();
            assert!(book.add_worksheet().set_name(s.as_str()).is_ok());
        }
    }

    #[test]
    fn the_form_follows_the_extension_when_format_is_left_at_table() {
        assert_eq!(Written::by_extension(Path::new("r.XLSX")), Written::Xlsx);
        assert_eq!(Written::by_extension(Path::new("r.json")), Written::Json);
        assert_eq!(Written::by_extension(Path::new("r.csv")), Written::Csv);
        assert_eq!(Written::by_extension(Path::new("r")), Written::Csv);
    }

    #[test]
    fn a_code_never_names_another_folder() {
        let c = Contact::Organisation("../x".into());
        assert_eq!(file_stem(&c), "___x");
        assert_eq!(file_stem(&Contact::CqrsAdministrator), "cqrs-administrator");
    }
}
