//! Where the phase timings go (`tracing` events at the end of each phase of
//! a long command, turned on by setting `CQRS_ADMIN_TRACE`): a
//! `tracing-subscriber` formatter writing each event to standard error,
//! stamped with the time since the start and the memory held then and at its
//! peak, for the benchmark and for finding slow or large steps:
//!
//! ```text
//! trace:    1.234s  120 MB (peak  130) rows written
//! ```
//!
//! Without the variable nothing is installed and nothing is written: an
//! event then costs one relaxed atomic load that finds no one listening.

/// The environment variable that turns the phase timings on.
pub const TRACE_ENV: &str = "CQRS_ADMIN_TRACE";

/// Installs the subscriber once, if [`TRACE_ENV`] is set; a second call
/// (or another subscriber already installed) changes nothing.
pub fn install() {
    if std::env::var_os(TRACE_ENV).is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_level(false)
        .with_target(false)
        .with_timer(PhaseClock(std::time::Instant::now()))
        .try_init();
}

/// Stamps each event: `trace:    1.234s  120 MB (peak  130)`.
struct PhaseClock(std::time::Instant);

impl tracing_subscriber::fmt::time::FormatTime for PhaseClock {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        // Resident memory now and at its peak (Linux only), to see which
        // phase holds it.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        let memory = match (kb("VmRSS:"), kb("VmHWM:")) {
            (Some(now), Some(peak)) => format!(" {:>4} MB (peak {:>4})", now >> 10, peak >> 10),
            _ => String::new(),
        };
        write!(w, "trace: {:>8.3}s{memory}", self.0.elapsed().as_secs_f64())
    }
}
