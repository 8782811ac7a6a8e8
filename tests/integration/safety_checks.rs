//! Issue 10, items 5, 8, 10, 11, 12, 16 and 17: no false all-clear, no raw
//! control characters, values that are what they say.

use crate::common::{Store, fixture};

/// Every command that only reads the store, with the arguments it needs.
const READING_COMMANDS: &[&[&str]] = &[
    &["audit"],
    &["audit", "--check"],
    &["report"],
    &["report", "--check"],
    &["signin", "sarah.jones@nhs.net"],
    &["accounts", "show", "X1"],
    &["cutover", "show"],
    &["plan", "--out", "plan.csv"],
    &["history", "X1"],
    &["verify"],
    &["log"],
    &["export", "--out", "exported"],
    &["replace", "X1", "--email", "a@nhs.net", "--yes"],
    &["revert", "X1", "--yes"],
];

#[test]
fn a_reading_command_never_creates_a_store() {
    let store = Store::new();
    for args in READING_COMMANDS {
        let run = store.run(args).fails(1);
        assert!(
            run.stderr.contains(&store.db.display().to_string())
                && run.stderr.contains("import")
                && run.stderr.contains("--db")
                && run.stderr.contains("CQRS_ADMIN_DB"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!store.db.exists(), "{args:?} created the store");
        let left: Vec<_> = std::fs::read_dir(store.dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

#[test]
fn a_dry_run_import_does_not_create_a_store_but_still_checks_the_file() {
    let store = Store::new();
    let file = fixture("organisations.csv");
    let run = store
        .run(&["import", "organisations", file.to_str().unwrap(), "--dry-run"])
        .ok();
    assert!(!store.db.exists(), "{}", run.stdout);
    // The same file imported for real creates the store.
    store
        .run(&["import", "organisations", file.to_str().unwrap()])
        .ok();
    assert!(store.db.exists());
}

#[test]
fn the_commands_that_write_create_the_store() {
    let store = Store::new();
    store.run(&["cutover", "set", "2030-01-01"]).ok();
    assert!(store.db.exists());
    store.run(&["cutover", "show"]).ok();
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_store_opened_through_a_symlink_is_made_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::new();
    let real = store.dir.path().join("real.db");
    let file = fixture("organisations.csv");
    let at_real = Store {
        dir: tempfile::tempdir().unwrap(),
        db: real.clone(),
    };
    at_real
        .run(&["import", "organisations", file.to_str().unwrap()])
        .ok();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&real, &store.db).unwrap();
    let run = store.run(&["audit"]).ok();
    assert_eq!(mode(&real), 0o600, "{}", run.stderr);
    assert!(run.stderr.contains("owner-only"), "{}", run.stderr);
    // The symlink is left a symlink, and the store is usable through it.
    assert!(
        std::fs::symlink_metadata(&store.db)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // SQLite's journal is kept next to the real file, not the link.
    store.run(&["cutover", "set", "2030-01-01"]).ok();
    assert!(!store.dir.path().join("cqrs-admin.db-journal").exists());
}

#[cfg(unix)]
#[test]
fn a_store_created_through_a_dangling_symlink_is_owner_only() {
    let store = Store::new();
    let target = store.dir.path().join("sub-target.db");
    // A relative target, resolved from the link's folder.
    std::os::unix::fs::symlink("sub-target.db", &store.db).unwrap();
    let file = fixture("organisations.csv");
    store
        .run(&["import", "organisations", file.to_str().unwrap()])
        .ok();
    assert!(target.is_file());
    assert_eq!(mode(&target), 0o600);
    // A reading command through a dangling symlink is refused like a
    // missing store.
    let other = Store::new();
    std::os::unix::fs::symlink("nowhere.db", &other.db).unwrap();
    other.run(&["audit"]).fails(1);
    assert!(!other.dir.path().join("nowhere.db").exists());
}
