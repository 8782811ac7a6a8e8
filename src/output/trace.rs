//! Where the phase timings go (`crate::trace`, turned on by setting
//! `CQRS_ADMIN_TRACE`): a `tracing` subscriber writing each event's line, as
//! it is, to standard error. Nothing is installed (and nothing is written)
//! without the variable.

/// The target of the phase-timing events.
pub const TARGET: &str = "cqrs_admin::trace";

/// Installs the subscriber once, if `CQRS_ADMIN_TRACE` is set; a second call
/// (or another subscriber already installed) changes nothing.
pub fn install() {
    if std::env::var_os("CQRS_ADMIN_TRACE").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .try_init();
}
