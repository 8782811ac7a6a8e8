//! The thin binary: parse the command line, run, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;

use cqrs_admin::cli::Cli;
use cqrs_admin::error::{exit_code, hint};

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
                eprintln!("error: {err:#}");
                if let Some(hint) = hint(&err) {
                    eprintln!("hint: {hint}");
                }
            }
            ExitCode::from(code as u8)
        }
    }
}

// mimalloc: the import parses on one thread and frees on another, millions of
// small rows; glibc's allocator spends much of an import consolidating and
// unlinking chunks there, mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
