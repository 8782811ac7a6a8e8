//! Progress on standard error for work that takes more than a moment
//! (importing a large file, checking or applying a long plan): shown only when
//! standard error is a terminal, so scripts and logs see nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress would be seen at all.
fn shown() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with a message, ticking on its own; hidden unless `long` (the
/// work is long enough to wait for) and standard error is a terminal.
pub fn spinner(long: bool) -> ProgressBar {
    if !long || !shown() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over `total` bytes of a file being read; hidden like [`spinner`].
pub fn bytes(total: u64, long: bool) -> ProgressBar {
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
    }
}
