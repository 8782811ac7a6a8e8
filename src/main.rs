//! The thin binary: parse the command line, run, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;

use cqrs_admin::cli::Cli;
use cqrs_admin::error::exit_code;
use cqrs_admin::hint;

fn main() -> ExitCode {
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
            if code == 3 {
                eprintln!("{err}");
            } else {
                // Errors quote values from files and the store: never raw.
                let text = format!("{err:#}");
                eprintln!("error: {}", cqrs_admin::text::escape_invisible(&text));
                if let Some(hint) = hint(&err) {
                    eprintln!("hint: {hint}");
                }
            }
            ExitCode::from(code as u8)
        }
    }
}

// The system allocator. mimalloc was tried (0.1) for the import's millions of
// small rows; once the import stopped allocating per row it no longer gained
// there, and it kept freed memory resident: the audit peaked at 270-300 MB
// with it and about 210 MB without (docs/decisions.md).
