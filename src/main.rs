//! The thin binary: parse the command line, run, map the result to an exit status.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cqrs_admin::cli::{COMPLETE_VAR, Cli};
use cqrs_admin::error::exit_code;

fn main() -> ExitCode {
    // A shell asking for completions (the scripts `completions` prints set
    // CQRS_ADMIN_COMPLETE): answered from the command line alone, before
    // anything else runs, and the process exits.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_VAR)
        .completer(cqrs_admin::commands::completions::COMPLETER)
        .complete();
    // No arguments at all: what to do first, and success (as cargo, gh and
    // kubectl do), since asking what the tool does is not a mistake.
    if std::env::args_os().len() <= 1 {
        return match cqrs_admin::output::start_here() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let cli = Cli::parse();
    match cqrs_admin::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`cqrs-admin audit | head`) is not a failure.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let code = exit_code(&err);
            cqrs_admin::output::error(&err, code);
            ExitCode::from(code as u8)
        }
    }
}

// The system allocator. mimalloc was tried (0.1) for the import's millions of
// small rows; once the import stopped allocating per row it no longer gained
// there, and it kept freed memory resident: the audit peaked at 270-300 MB
// with it and about 210 MB without (docs/decisions.md).
