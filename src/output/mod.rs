//! Rendering records as a table, CSV or JSON. The only place (with `main.rs`
//! for errors) that writes to the terminal.
//!
//! Records are written as they come (a sink), so a million-row audit streams
//! to CSV or JSON without being held in memory; tables are collected, since a
//! table must know its column widths before it can print.

use std::io::{self, IsTerminal, Write};

use comfy_table::{Attribute, Cell, ContentArrangement, Table, presets};
use serde_json::{Map, Value};

use crate::cli::Format;
pub use crate::spreadsheet::{neutralise, unneutralise};

/// What a column holds, for JSON: numbers and yes/no values are written as
/// JSON numbers and booleans, everything else as text. CSV and tables show
/// every value as text either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Boolean,
}

/// The columns that hold numbers or yes/no values, wherever they appear
/// (cli.md's column names mean the same in every command).
const TYPED_COLUMNS: &[(&str, Kind)] = &[
    ("accounts", Kind::Integer),
    ("days_until_cutover", Kind::Integer),
    ("line", Kind::Integer),
    ("permissions", Kind::Integer),
    ("seq", Kind::Integer),
    ("all", Kind::Boolean),
    ("disable_old", Kind::Boolean),
    ("dry_run", Kind::Boolean),
    ("history_equal", Kind::Boolean),
    ("old_reenabled", Kind::Boolean),
    ("roles_equal", Kind::Boolean),
];

fn column_kind(header: &str) -> Kind {
    TYPED_COLUMNS
        .iter()
        .find(|(name, _)| *name == header)
        .map_or(Kind::Text, |(_, kind)| *kind)
}

/// A cell as a JSON value of its column's kind. A blank number or yes/no
/// (a single replacement has no plan line) is `null`; a value that is not
/// of the column's kind stays text rather than being lost.
fn json_value(kind: Kind, cell: &str) -> Value {
    match kind {
        Kind::Text => Value::String(cell.to_string()),
        _ if cell.is_empty() => Value::Null,
        Kind::Integer => cell
            .parse::<i64>()
            .map_or_else(|_| Value::String(cell.to_string()), Value::from),
        Kind::Boolean => match cell {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(cell.to_string()),
        },
    }
}

/// Where records go.
pub struct Sink<W: Write> {
    headers: Vec<&'static str>,
    /// Each column's kind, for JSON.
    kinds: Vec<Kind>,
    csv: Option<csv::Writer<W>>,
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
            kinds: headers.iter().map(|h| column_kind(h)).collect(),
            csv: None,
            json: None,
            rows: 0,
            table: Vec::new(),
            out: None,
        };
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
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

    /// Writes one record; `values` line up with the headers.
    pub fn row<S: AsRef<str>>(&mut self, values: &[S]) -> io::Result<()> {
        if let Some(w) = &mut self.csv {
            for v in values {
                w.write_field(neutralise(v.as_ref()).as_bytes())?;
            }
            w.write_record(std::iter::empty::<&[u8]>())?;
        } else if let Some(w) = &mut self.json {
            let mut object = Map::with_capacity(values.len());
            for ((h, kind), v) in self.headers.iter().zip(&self.kinds).zip(values) {
                object.insert((*h).to_string(), json_value(*kind, v.as_ref()));
            }
            w.write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(&mut *w, &object)?;
        } else {
            self.table
                .push(values.iter().map(|v| v.as_ref().to_string()).collect());
        }
        self.rows += 1;
        Ok(())
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
            w.into_inner()
                .map_err(|e| io::Error::new(e.error().kind(), e.error().to_string()))?
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
    fn row(&mut self, values: &[&str]) -> io::Result<()> {
        Sink::row(self, values)
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
    if io::stdout().is_terminal() {
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
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
    for row in rows {
        table.add_row(row.iter().map(|v| shown(v.as_ref())));
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

mod json;
pub mod progress;
pub use shell::{Go, Shell};
pub mod replacements;
pub mod shell;
pub mod trace;
pub mod views;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_take_their_column_kind() {
        assert_eq!(json_value(column_kind("seq"), "12"), Value::from(12));
        assert_eq!(
            json_value(column_kind("days_until_cutover"), "-2260"),
            Value::from(-2260)
        );
        assert_eq!(
            json_value(column_kind("roles_equal"), "true"),
            Value::Bool(true)
        );
        assert_eq!(json_value(column_kind("line"), ""), Value::Null);
        assert_eq!(json_value(column_kind("email"), "12"), Value::from("12"));
    }
}
