//! Notes and follow-up states on accounts: shown by `accounts show`,
//! recorded in the change log, the follow-up a column and a filter of
//! `report`; notes never edited or deleted, whoever runs the SQL.

use rusqlite::Connection;

use crate::common::Store;

fn log(store: &Store) -> Vec<std::collections::BTreeMap<String, String>> {
    store.run(&["log", "--format", "csv"]).ok().csv()
}

#[test]
fn a_note_shows_in_accounts_show_and_in_the_change_log() {
    let store = Store::with_fixtures();
    let run = store
        .run(&[
            "--today",
            "2026-11-30",
            "accounts",
            "note",
            "U0000010",
            "phoned: waiting for their NHSmail address",
        ])
        .ok();
    assert!(
        run.stderr.contains("note added to U0000010"),
        "{}",
        run.stderr
    );
    store
        .run(&[
            "--today",
            "2026-12-01",
            "accounts",
            "note",
            " U0000010 ",
            "  second call  ",
        ])
        .ok();

    let shown = store.run(&["accounts", "show", "U0000010"]).ok().stdout;
    assert!(
        shown.contains(
            "  note (2026-11-30, test-operator): phoned: waiting for their NHSmail address\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("  note (2026-12-01, test-operator): second call\n"),
        "{shown}"
    );
    let json = store
        .run(&["--format", "json", "accounts", "show", "U0000010"])
        .ok()
        .json();
    let notes = json[0]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(
        notes[0]["text"],
        "phoned: waiting for their NHSmail address"
    );
    assert_eq!(notes[0]["actor"], "test-operator");
    assert_eq!(notes[0]["date"], "2026-11-30");
    assert_eq!(notes[1]["text"], "second call");

    let entries: Vec<_> = log(&store)
        .into_iter()
        .filter(|e| e["action"] == "note")
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["old_account_id"], "U0000010");
    assert_eq!(entries[0]["actor"], "test-operator");
    assert_eq!(
        entries[0]["reason"],
        "phoned: waiting for their NHSmail address"
    );
    // The chain holds with the notes in it.
    store.run(&["verify"]).ok();
    // `log --account` finds them.
    let about = store
        .run(&["log", "--format", "csv", "--account", "U0000010"])
        .ok()
        .csv();
    assert_eq!(about.len(), 2);
}

#[test]
fn a_bad_note_is_refused_and_changes_nothing() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    for (args, says) in [
        (
            &["accounts", "note", "U0000010", "rang \u{1b}[2Jthem"][..],
            "U+001B ESCAPE",
        ),
        (
            &["accounts", "note", "U0000010", "   "],
            "the note is empty",
        ),
        (
            &["accounts", "note", "U9999999", "phoned"],
            "no account has the id `U9999999`",
        ),
        (
            &["accounts", "note", "sarah.jones@nhs.net", "phoned"],
            "that is the email of U0000001: give the account id",
        ),
        (
            &["accounts", "follow-up", "U9999999", "contacted"],
            "no account has the id `U9999999`",
        ),
    ] {
        let run = store.run(args).fails(1);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("nothing was changed") || run.stderr.contains("nothing"));
    }
    let run = store
        .run(&["accounts", "follow-up", "U0000010", "phoned"])
        .fails(2);
    assert!(run.stderr.contains("contacted"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
    assert!(log(&store).is_empty());
}

#[test]
fn follow_up_is_shown_logged_a_report_column_and_a_filter() {
    let store = Store::with_fixtures();
    store
        .run(&[
            "--today",
            "2026-11-30",
            "accounts",
            "follow-up",
            "U0000010",
            "contacted",
        ])
        .ok();
    store
        .run(&["accounts", "follow-up", "U0000010", "awaiting-user"])
        .ok();
    store
        .run(&["accounts", "follow-up", "U0000017", "done-in-cqrs"])
        .ok();
    let shown = store.run(&["accounts", "show", "U0000010"]).ok().stdout;
    assert!(
        shown.contains("  follow-up: awaiting-user (set "),
        "{shown}"
    );
    assert!(shown.contains(" by test-operator)"), "{shown}");

    let run = store.run(&["--format", "csv", "report"]).ok();
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .ends_with(",days_until_cutover,follow_up,not_a_replacement"),
        "follow_up comes after the dates, before not_a_replacement"
    );
    let report = run.csv();
    let state = |id: &str| {
        report
            .iter()
            .filter(|r| r["account_id"] == id)
            .map(|r| r["follow_up"].clone())
            .collect::<Vec<_>>()
    };
    assert!(state("U0000010").iter().all(|s| s == "awaiting-user"));
    assert!(!state("U0000010").is_empty());
    assert!(state("U0000017").iter().all(|s| s == "done-in-cqrs"));
    let untouched = report.iter().filter(|r| r["follow_up"].is_empty()).count();
    assert!(untouched > 0);

    let only = store
        .run(&["--format", "csv", "report", "--follow-up", "awaiting-user"])
        .ok()
        .csv();
    assert!(!only.is_empty());
    assert!(only.iter().all(|r| r["account_id"] == "U0000010"));
    let none = store
        .run(&["--format", "csv", "report", "--follow-up", "none"])
        .ok()
        .csv();
    assert_eq!(none.len(), untouched);
    let two = store
        .run(&[
            "--format",
            "csv",
            "report",
            "--follow-up",
            "awaiting-user",
            "--follow-up",
            "done-in-cqrs",
        ])
        .ok()
        .csv();
    assert_eq!(two.len(), report.len() - untouched);
    // The JSON report has it too (null where none is set).
    let json = store.run(&["--format", "json", "report"]).ok().json();
    let rows = json.as_array().unwrap();
    assert!(rows.iter().any(|r| r["follow_up"] == "awaiting-user"));
    assert!(rows.iter().any(|r| r["follow_up"].is_null()));

    // Cleared: gone from show and the report, and logged.
    store
        .run(&["accounts", "follow-up", "U0000010", "clear"])
        .ok();
    let shown = store.run(&["accounts", "show", "U0000010"]).ok().stdout;
    assert!(!shown.contains("follow-up:"), "{shown}");
    let entries: Vec<String> = log(&store)
        .into_iter()
        .filter(|e| e["action"] == "follow-up" && e["old_account_id"] == "U0000010")
        .map(|e| e["reason"].clone())
        .collect();
    assert_eq!(
        entries,
        [
            "contacted (was none)",
            "awaiting-user (was contacted)",
            "clear (was awaiting-user)"
        ]
    );
}

#[test]
fn notes_cannot_be_edited_or_deleted_and_the_triggers_are_checked() {
    let store = Store::with_fixtures();
    store.run(&["accounts", "note", "U0000010", "phoned"]).ok();
    let conn = Connection::open(&store.db).unwrap();
    for sql in [
        "UPDATE account_notes SET note = 'never phoned'",
        "DELETE FROM account_notes",
        "INSERT OR REPLACE INTO account_notes (seq, account_id, day, at, actor, note)
         VALUES (1, 'U0000010', '2026-01-01', 'x', 'y', 'z')",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(
            err.contains("notes are never edited or deleted"),
            "{sql}: {err}"
        );
    }
    // A dropped trigger is found on open, and every write is refused.
    conn.execute_batch("DROP TRIGGER account_notes_no_delete")
        .unwrap();
    let run = store.run(&["accounts", "show", "U0000010"]).ok();
    assert!(
        run.stderr.contains("account_notes_no_delete is missing"),
        "{}",
        run.stderr
    );
    let run = store
        .run(&["accounts", "note", "U0000010", "again"])
        .fails(1);
    assert!(
        run.stderr.contains("was changed outside cqrs-admin"),
        "{}",
        run.stderr
    );
    let run = store
        .run(&["accounts", "follow-up", "U0000010", "contacted"])
        .fails(1);
    assert!(
        run.stderr.contains("was changed outside cqrs-admin"),
        "{}",
        run.stderr
    );
}

/// At a terminal-less table, the report's follow_up column appears once a
/// state is set, at the end of each contact's table.
#[test]
fn the_report_table_shows_follow_up_once_one_is_set() {
    let store = Store::with_fixtures();
    let plain = store.run(&["report"]).ok().stdout;
    assert!(!plain.contains("follow_up"), "{plain}");
    store
        .run(&["accounts", "follow-up", "U0000010", "contacted"])
        .ok();
    let table = store.run(&["report"]).ok().stdout;
    let row = table.lines().find(|l| l.contains("| U0000010 ")).unwrap();
    assert!(row.trim_end().ends_with("| contacted |"), "{row}");
    assert!(
        table.contains("| match                | follow_up |"),
        "{table}"
    );
}
