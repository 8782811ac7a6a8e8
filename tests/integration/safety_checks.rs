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
        .run(&[
            "import",
            "organisations",
            file.to_str().unwrap(),
            "--dry-run",
        ])
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

// ---------------------------------------------------------------------------
// Item 10: a check that cannot be made is a failure, never an all-clear.
// ---------------------------------------------------------------------------

/// A store with every fixture imported except those named.
fn store_without(left_out: &[&str]) -> Store {
    let store = Store::new();
    // `cutover set` creates the store even when nothing is imported.
    store.run(&["cutover", "set", "2020-09-23"]).ok();
    for kind in crate::common::FIXTURE_FILES {
        if left_out.contains(kind) {
            continue;
        }
        let file = fixture(&format!("{kind}.csv"));
        store.run(&["import", kind, file.to_str().unwrap()]).ok();
    }
    store
}

#[test]
fn a_check_of_a_store_without_accounts_fails_saying_what_to_import() {
    for store in [
        store_without(crate::common::FIXTURE_FILES),
        store_without(&["accounts", "permissions", "activity"]),
    ] {
        for command in ["report", "audit"] {
            let run = store.run(&[command, "--check"]).fails(1);
            assert!(
                run.stderr.contains("no CQRS accounts")
                    && run.stderr.contains("cqrs-admin import accounts FILE"),
                "{command}: {}",
                run.stderr
            );
            assert!(!run.stdout.contains("No account needs action"));
        }
    }
}

#[test]
fn a_check_of_a_store_without_a_directory_extract_fails_saying_what_to_import() {
    let store = store_without(&["directory", "activity"]);
    for command in ["report", "audit"] {
        for format in ["table", "csv", "json"] {
            let run = store
                .run(&[command, "--check", "--format", format])
                .fails(1);
            assert!(
                run.stderr
                    .contains("the store has no NHSmail directory extract: import it first with `cqrs-admin import directory FILE`"),
                "{command}: {}",
                run.stderr
            );
            assert!(run.stdout.is_empty(), "{}", run.stdout);
        }
    }
}

#[test]
fn without_check_an_unchecked_store_is_warned_about_and_never_called_clear() {
    let empty = store_without(crate::common::FIXTURE_FILES);
    let run = empty.run(&["report"]).ok();
    assert!(
        !run.stdout.contains("No account needs action"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was checked"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("warning: the accounts were not checked"),
        "{}",
        run.stderr
    );
    for args in [
        &["audit"][..],
        &["audit", "--counts"],
        &["report", "--format", "csv"],
    ] {
        let run = empty.run(args).ok();
        assert!(
            run.stderr
                .contains("warning: the accounts were not checked")
                && run.stderr.contains("no CQRS accounts"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let no_directory = store_without(&["directory", "activity"]);
    let run = no_directory.run(&["audit", "--counts"]).ok();
    assert!(
        run.stderr.contains("no NHSmail directory extract"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_check_of_a_full_store_still_reports_the_accounts_needing_action() {
    let store = Store::with_fixtures();
    let run = store.run(&["report", "--check"]).fails(3);
    assert!(!run.stderr.contains("not checked"), "{}", run.stderr);
    store.run(&["audit", "--check"]).fails(3);
}

// ---------------------------------------------------------------------------
// Item 11: an unknown ODS code is an error naming the nearest known codes.
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_ods_code_is_refused_naming_the_nearest_known_codes() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    for (args, flag) in [
        (&["report", "--contact", "15M"][..], "--contact"),
        (&["report", "--check", "--contact", "15M"], "--contact"),
        (&["audit", "--contact", "15M"], "--contact"),
        (&["audit", "--org", "15M"], "--org"),
        (
            &["plan", "--out", "plan.csv", "--contact", "15M"],
            "--contact",
        ),
    ] {
        let run = store.run(args).fails(1);
        assert!(
            run.stderr
                .contains(&format!("{flag} `15M` is not an ODS code in the store")),
            "{args:?}: {}",
            run.stderr
        );
        let nearest = run
            .stderr
            .split("the nearest known codes are ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_else(|| panic!("{args:?}: {}", run.stderr));
        assert!(nearest.split(", ").any(|c| c == "15N"), "{nearest}");
        assert!(!run.stdout.contains("No account needs action"));
    }
    assert!(!store.dir.path().join("plan.csv").exists());
    assert_eq!(store.snapshot(), before);
}

#[test]
fn a_known_ods_code_with_nothing_to_report_is_still_fine() {
    let store = Store::with_fixtures();
    // A practice is never a contact, and matching ignores case and spaces.
    let run = store.run(&["report", "--contact", " f82001 "]).ok();
    assert!(
        run.stdout.contains("No account needs action"),
        "{}",
        run.stdout
    );
    store.run(&["report", "--contact", "15n"]).ok();
    store
        .run(&["audit", "--contact", "cqrs-administrator"])
        .ok();
    store.run(&["audit", "--org", "F82001"]).ok();
    store.run(&["plan", "--out", "-", "--contact", "07L"]).ok();
}
