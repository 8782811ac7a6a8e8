//! The committed completion scripts match what the binary generates.

use std::path::Path;

use crate::common::Store;

#[test]
fn committed_completions_are_up_to_date() {
    let store = Store::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "cqrs-admin.bash"),
        ("zsh", "_cqrs-admin"),
        ("fish", "cqrs-admin.fish"),
        ("elvish", "cqrs-admin.elv"),
        ("powershell", "_cqrs-admin.ps1"),
    ] {
        let run = store.run(&["completions", shell]).ok();
        let path = dir.join(file);
        if std::env::var_os("CQRS_ADMIN_UPDATE_COMPLETIONS").is_some() {
            std::fs::write(&path, &run.stdout).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "completions/{file} is stale: run `CQRS_ADMIN_UPDATE_COMPLETIONS=1 cargo test completions` and commit it"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let store = Store::new();
    store.run(&["completions", "tcsh"]).fails(2);
}
