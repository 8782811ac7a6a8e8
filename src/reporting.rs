//! The handle through which the layers below the output layer report to the
//! person at the terminal (as cargo's `Shell` is passed down), and the trait
//! through which a command streams its records: both defined here, outside
//! `output`, so that `commands` and `store` never depend on the output layer.
//! `output::Shell` implements [`Reporter`] and `output::Sink` implements
//! [`RowSink`]; `lib.rs` passes them down (to the commands, and to
//! `Store::open_reporting` for what opening the store finds).

use std::io;
use std::sync::Arc;

/// What the layers below may tell the person running the command.
pub trait Reporter {
    /// A warning on standard error (never data).
    fn warn(&self, text: &str);
    /// A progress indicator for `work`; it draws nothing unless the work is
    /// long enough to wait for and standard error is a terminal.
    fn progress(&self, work: Work) -> Progress;
    /// Writes a CSV file (the import formats, a plan): `headers`, then the
    /// rows `rows` streams into the sink it is given, to `out` (standard
    /// output when `None`). Cells a spreadsheet would run are neutralised as
    /// in every CSV the tool writes. Gives back how many rows were written.
    fn write_csv(
        &self,
        out: Option<&mut dyn io::Write>,
        headers: &[&'static str],
        rows: &mut dyn FnMut(&mut dyn RowSink) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize>;
}

/// What a progress indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A spinner with a message; `long`: the work is long enough to wait for.
    Spinner { long: bool },
    /// A bar over `total` bytes of a file being read.
    Bytes { total: u64, long: bool },
}

/// What the output layer draws a progress indicator with.
pub trait Bar: Send + Sync {
    fn set_message(&self, message: String);
    /// From now on, shows `position/total` steps.
    fn count(&self, total: u64);
    fn set_position(&self, position: u64);
    fn inc(&self, steps: u64);
    fn tick(&self);
    fn finish_and_clear(&self);
}

/// A progress indicator: shared by the threads of one piece of work (clone
/// it), and doing nothing at all when nothing is shown.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Bar>>);

impl Progress {
    /// An indicator that shows nothing.
    pub fn hidden() -> Progress {
        Progress(None)
    }

    pub fn new(bar: Arc<dyn Bar>) -> Progress {
        Progress(Some(bar))
    }

    /// Whether nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.0.is_none()
    }

    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.into());
        }
    }

    pub fn count(&self, total: u64) {
        if let Some(bar) = &self.0 {
            bar.count(total);
        }
    }

    pub fn set_position(&self, position: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(position);
        }
    }

    pub fn inc(&self, steps: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(steps);
        }
    }

    pub fn tick(&self) {
        if let Some(bar) = &self.0 {
            bar.tick();
        }
    }

    pub fn finish_and_clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Where a command streams its records, so that a million-row audit is never
/// held in memory. Each record comes as its cells (for tables and CSV, in the
/// order of the columns the sink was made with) and as itself (for JSON,
/// serialised by serde, so its numbers and booleans keep their types).
pub trait RowSink {
    fn record(&mut self, cells: &[&str], record: &dyn JsonRecord) -> io::Result<()>;
    /// A row of a stream that is only ever CSV (a file the tool writes).
    fn row(&mut self, cells: &[&str]) -> io::Result<()>;
}

/// A record's JSON shape: any `Serialize` value, written by serde. A trait
/// object, so that a command can stream through `&mut dyn RowSink`.
pub trait JsonRecord {
    fn write_json(&self, out: &mut dyn io::Write) -> serde_json::Result<()>;
}

impl<T: serde::Serialize> JsonRecord for T {
    fn write_json(&self, out: &mut dyn io::Write) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
}
