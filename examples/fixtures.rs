//! The main job on the bundled fixtures: import the five files into a fresh
//! store, then print the audit and the report.
//!
//! `cargo run --release --example fixtures` — the README's first command. It
//! runs the same code as the `cqrs-admin` binary, echoing each command first.

use std::path::Path;

use clap::Parser;
use cqrs_admin::cli::Cli;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The checkout's target/ folder, made if missing (it is when cargo
    // builds elsewhere, with CARGO_TARGET_DIR set).
    let folder = root.join("target");
    if let Err(e) = std::fs::create_dir_all(&folder) {
        eprintln!("error: cannot make {}: {e}", folder.display());
        std::process::exit(1);
    }
    let db = folder.join("fixtures.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let db = db.display().to_string();
    let fixtures = root.join("fixtures");
    let mut steps: Vec<Vec<String>> = [
        "organisations",
        "accounts",
        "permissions",
        "directory",
        "activity",
    ]
    .iter()
    .map(|kind| {
        vec![
            "import".to_string(),
            kind.to_string(),
            fixtures.join(format!("{kind}.csv")).display().to_string(),
        ]
    })
    .collect();
    steps.push(vec!["audit".into()]);
    // The fixtures are dated for the original cutover: pin today two weeks before it.
    steps.push(vec!["report".into(), "--today".into(), "2020-09-09".into()]);
    for step in steps {
        eprintln!("\n$ cqrs-admin --db {db} {}", step.join(" "));
        let args = ["cqrs-admin", "--db", db.as_str()]
            .into_iter()
            .map(String::from)
            .chain(step);
        if let Err(err) = cqrs_admin::run(Cli::parse_from(args)) {
            eprintln!("error: {err:#}");
            std::process::exit(cqrs_admin::error::exit_code(&err));
        }
    }
    eprintln!(
        "\nThe store is {db}: try `cargo run --release -- --db {db} signin sarah.jones@nhs.net`."
    );
}
