//! Progress on standard error for work that takes more than a moment
//! (importing a large file, checking or applying a long plan): shown only when
//! standard error is a terminal, so scripts and logs see nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::reporting::{Bar, Progress, Work};

/// The indicator for `work`: hidden (drawing nothing, costing nothing) unless
/// it is long and standard error is a terminal.
pub fn start(work: Work) -> Progress {
    let bar = match work {
        Work::Spinner { long } => spinner(long),
        Work::Bytes { total, long } => bytes(total, long),
    };
    if bar.is_hidden() {
        Progress::hidden()
    } else {
        Progress::new(std::sync::Arc::new(bar))
    }
}

impl Bar for ProgressBar {
    fn set_message(&self, message: String) {
        ProgressBar::set_message(self, message);
    }

    fn count(&self, total: u64) {
        self.set_style(
            ProgressStyle::with_template("{spinner} {msg} {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        self.set_length(total);
    }

    fn set_position(&self, position: u64) {
        ProgressBar::set_position(self, position);
    }

    fn inc(&self, steps: u64) {
        ProgressBar::inc(self, steps);
    }

    fn tick(&self) {
        ProgressBar::tick(self);
    }

    fn finish_and_clear(&self) {
        ProgressBar::finish_and_clear(self);
    }
}

/// Whether progress would be seen at all.
fn shown() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with a message, ticking on its own; hidden unless `long` (the
/// work is long enough to wait for) and standard error is a terminal.
fn spinner(long: bool) -> ProgressBar {
    if !long || !shown() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over `total` bytes of a file being read; hidden like [`spinner`].
fn bytes(total: u64, long: bool) -> ProgressBar {
    let bar = spinner(long);
    if !bar.is_hidden() {
        bar.set_length(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests run without a terminal: every bar is hidden, so nothing is
    /// drawn on standard error whatever is asked of it.
    #[test]
    fn nothing_is_shown_without_a_terminal() {
        if std::io::stderr().is_terminal() {
            return;
        }
        assert!(spinner(true).is_hidden());
        assert!(bytes(1 << 30, true).is_hidden());
        assert!(spinner(false).is_hidden());
        assert!(start(Work::Spinner { long: true }).is_hidden());
    }
}
