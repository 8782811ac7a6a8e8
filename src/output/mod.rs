//! Rendering records as a table, CSV or JSON, and the messages and errors
//! around them. The only place that writes to the terminal.
//!
//! Records are written as they come (a sink), so a million-row audit streams
//! to CSV or JSON without being held in memory; tables are collected, since a
//! table must know its column widths before it can print.

use std::io::{self, IsTerminal, Write};

use comfy_table::{Attribute, Cell, ContentArrangement, Table, presets};

use crate::cli::Format;
use crate::reporting::JsonRecord;
pub use crate::spreadsheet::{neutralise, unneutralise};
use csv_rows::CsvRows;

/// Where records go.
pub struct Sink<W: Write> {
    headers: Vec<&'static str>,
    csv: Option<CsvRows<W>>,
    json: Option<W>,
    rows: usize,
    table: Vec<Vec<String>>,
    out: Option<W>,
}

impl Sink<io::BufWriter<io::Stdout>> {
    /// A sink writing to standard output.
    pub fn stdout(format: Format, headers: &[&'static str]) -> io::Result<Self> {
        Sink::new(
            io::BufWriter::with_capacity(1 << 16, io::stdout()),
            format,
            headers,
        )
    }
}

impl<W: Write> Sink<W> {
    pub fn new(out: W, format: Format, headers: &[&'static str]) -> io::Result<Self> {
        let mut sink = Sink {
            headers: headers.to_vec(),
            csv: None,
            json: None,
            rows: 0,
            table: Vec::new(),
            out: None,
        };
        match format {
            Format::Csv => {
                let mut w = CsvRows::new(out);
                w.write_record(headers)?;
                sink.csv = Some(w);
            }
            Format::Json => {
                let mut out = out;
                out.write_all(b"[")?;
                sink.json = Some(out);
            }
            Format::Table => sink.out = Some(out),
        }
        Ok(sink)
    }

    /// Writes one record: `values` (lining up with the headers) in a table
    /// or CSV, `record` serialised in JSON.
    pub fn record<S: AsRef<str>>(
        &mut self,
        values: &[S],
        record: &(impl JsonRecord + ?Sized),
    ) -> io::Result<()> {
        if let Some(w) = &mut self.csv {
            w.write_record(values.iter().map(|v| neutralise(v.as_ref())))?;
        } else if let Some(w) = &mut self.json {
            w.write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
            record.write_json(w)?;
        } else {
            self.table
                .push(values.iter().map(|v| v.as_ref().to_string()).collect());
        }
        self.rows += 1;
        Ok(())
    }

    /// Whether records go out as CSV, where [`Sink::csv_pieces`] may write
    /// them.
    pub fn is_csv(&self) -> bool {
        self.csv.is_some()
    }

    /// Writes one CSV record of pieces (`csv_rows::render_cells` renders
    /// the repeated ones): the bytes [`Sink::record`] writes for the same
    /// cells.
    pub fn csv_pieces(&mut self, pieces: &[csv_rows::Piece<'_>]) -> io::Result<()> {
        let Some(w) = &mut self.csv else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pieces of a record are only written as CSV",
            ));
        };
        w.write_pieces(pieces)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes one row of a table or CSV that has no JSON form (a CSV file
    /// the tool writes, the CSV of a record whose JSON is one object).
    pub fn row<S: AsRef<str>>(&mut self, values: &[S]) -> io::Result<()> {
        if self.json.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "these rows have no JSON form",
            ));
        }
        self.record(values, &())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Finishes the output (closes the JSON array, prints the table).
    pub fn finish(self) -> io::Result<()> {
        self.into_inner().map(drop)
    }

    /// Finishes the output and gives back what it was written to (a file
    /// still to be committed).
    pub fn into_inner(mut self) -> io::Result<W> {
        let mut w = if let Some(w) = self.csv.take() {
            w.into_inner()?
        } else if let Some(mut w) = self.json.take() {
            w.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
            w
        } else if let Some(mut w) = self.out.take() {
            if !self.table.is_empty() {
                let table = render_table(&self.headers, &self.table);
                writeln!(w, "{table}")?;
            }
            w
        } else {
            unreachable!("a sink has one writer until it is finished")
        };
        w.flush()?;
        Ok(w)
    }
}

impl<W: Write> crate::reporting::RowSink for Sink<W> {
    fn record(&mut self, cells: &[&str], record: &dyn JsonRecord) -> io::Result<()> {
        Sink::record(self, cells, record)
    }

    fn row(&mut self, cells: &[&str]) -> io::Result<()> {
        Sink::row(self, cells)
    }
}

/// Whether to style output: a terminal, and no `NO_COLOR` (comfy-table does not
/// look at `NO_COLOR` by itself).
pub fn styled() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A table for people: boxed at a terminal, plain ASCII when piped.
pub fn render_table<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    let mut table = Table::new();
    let mut cells: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|v| shown(v.as_ref())).collect())
        .collect();
    let mut headers: Vec<std::borrow::Cow<'_, str>> = headers.iter().map(|&h| h.into()).collect();
    if io::stdout().is_terminal() {
        // Wrapped here, at the places an address may break (fit.rs), and
        // laid out as wrapped.
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        let names: Vec<&str> = headers.iter().map(|h| h.as_ref()).collect();
        let widths = fit::widths(&names, &cells, fit::terminal_width());
        for (header, &width) in headers.iter_mut().zip(&widths) {
            *header = fit::wrap(header, width).into();
        }
        for row in &mut cells {
            for (cell, &width) in row.iter_mut().zip(&widths) {
                *cell = fit::wrap(cell, width).into();
            }
        }
    } else {
        table.load_style(presets::ASCII_MARKDOWN).force_no_tty();
    }
    let bold = styled();
    table.set_header(headers.iter().map(|h| {
        let cell = Cell::new(h);
        if bold {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for row in &cells {
        table.add_row(row);
    }
    table.to_string()
}

/// Stored text as a person should see it at a terminal: any invisible or
/// bidirectional-control character escaped (`\u{202e}`), never raw
/// ([`crate::text::escape_invisible`]). Applied to every table cell and to
/// every line of text for people that holds stored values; CSV and JSON
/// carry values exactly.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::escape_invisible(text)
}

/// Prints a JSON value (pretty) to standard output.
pub fn print_json(value: &impl serde::Serialize) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// Prints text to standard output.
pub fn print_text(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    out.flush()
}

/// What `cqrs-admin` run with no arguments prints: what the tool is, how it
/// is used, and what to do first.
pub fn start_here() -> io::Result<()> {
    use clap::CommandFactory;
    let mut cmd = crate::cli::Cli::command();
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let usage = cmd.render_usage();
    print_text(&format!(
        "cqrs-admin {}: {about}\n\n{usage}\n\n{}",
        env!("CARGO_PKG_VERSION"),
        crate::cli::START_HERE
    ))
}

/// The error a command ended with, on standard error: `error: …` with its
/// causes (values from files and the store shown escaped, never raw) and a
/// `hint: …` line where the advice table has one. Exit code 3 is a
/// verdict, not a failure (`audit --check` found accounts needing action):
/// its text alone, `12 account(s) need action before cutover`.
pub fn error(err: &anyhow::Error, code: i32) {
    let mut out = io::stderr().lock();
    // Nothing more can be done if standard error itself is closed.
    let _ = if code == 3 {
        writeln!(out, "{err}")
    } else {
        let text = format!("{err:#}");
        writeln!(out, "error: {}", crate::text::escape_invisible(&text)).and_then(|()| {
            match crate::hint(err) {
                Some(hint) => writeln!(out, "hint: {hint}"),
                None => Ok(()),
            }
        })
    };
}

/// A message for the person at the terminal: standard error, never data.
pub fn message(text: &str) {
    let mut err = io::stderr().lock();
    // Messages name accounts, addresses and reasons from the store.
    let _ = writeln!(err, "{}", shown(text));
}

/// A warning on standard error.
pub fn warning(text: &str) {
    message(&format!("warning: {text}"));
}

pub(crate) mod burndown;
pub(super) mod csv_rows;
mod fit;
mod json;
pub mod notify;
pub(crate) mod progress;
pub use shell::{Go, Shell};
pub(crate) mod replacements;
pub(crate) mod shell;
pub(crate) mod trace;
pub(crate) mod views;
pub(crate) mod xlsx;
