//! Issue 10, items 5, 8, 10, 11, 12, 16 and 17: no false all-clear, no raw
//! control characters, values that are what they say.

use crate::common::{Store, fixture, mode, write};

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
fn a_plan_from_a_store_with_nothing_to_match_says_so() {
    let no_directory = store_without(&["directory", "activity"]);
    let run = no_directory.run(&["plan", "--out", "-"]).ok();
    assert!(
        run.stderr
            .contains("warning: the plan proposes nothing that was checked")
            && run.stderr.contains("no NHSmail directory extract"),
        "{}",
        run.stderr
    );
    let full = Store::with_fixtures();
    let run = full.run(&["plan", "--out", "-"]).ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
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

// ---------------------------------------------------------------------------
// A small store for replacements (as tests/replace.rs builds it).
// ---------------------------------------------------------------------------

const ORGANISATIONS: &str = "\
ods_code,name,kind,parent_code,contact_email
Y56,London,region,,london@nhs.net
00K,NHS Test CCG,commissioner,Y56,ccg00k@nhs.net
A81001,Practice One,practice,00K,
";

// U1: a confident match. U2: a name change (needs a reason). U3: disabled.
const ACCOUNTS: &str = "\
account_id,username,email,given_name,family_name,status,created_at,last_login_at
U1,jbloggs,jo.bloggs@gp.nhs.uk,Jo,Bloggs,active,2015-01-01,2020-08-01
U2,grename,gina.old@gp.nhs.uk,Gina,Old,active,,
U3,dold,dave.old@gp.nhs.uk,Dave,Old,disabled,,
";

const PERMISSIONS: &str = "\
account_id,ods_code,role,payment_types
U1,A81001,view,
U2,A81001,view,
U3,A81001,view,
";

const DIRECTORY: &str = "\
address,given_name,family_name,ods_code,status,mailbox_type
jo.bloggs@nhs.net,Jo,Bloggs,A81001,active,personal
gina.new@nhs.net,Gina,New,A81001,active,personal
shared.box@nhs.net,Shared,Box,A81001,active,shared
";

pub(super) fn replacement_store() -> Store {
    let store = Store::new();
    for (kind, text) in [
        ("organisations", ORGANISATIONS),
        ("accounts", ACCOUNTS),
        ("permissions", PERMISSIONS),
        ("directory", DIRECTORY),
    ] {
        let file = write(&store, &format!("{kind}.csv"), text);
        store.run(&["import", kind, &file]).ok();
    }
    store
}

// ---------------------------------------------------------------------------
// Item 8: control characters refused on the command line and in plans;
// invisible characters escaped in tables.
// ---------------------------------------------------------------------------

#[test]
fn control_characters_in_actor_and_reason_are_refused() {
    let store = replacement_store();
    let before = store.snapshot();
    let replace = ["replace", "U2", "--email", "gina.new@nhs.net", "--yes"];
    let with = |extra: &[&str]| -> Vec<String> {
        replace
            .iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };
    for (args, expected) in [
        (
            [replace.as_slice(), &["--reason", "name\u{1b}[2J change"]].concat(),
            "--reason contains a control character (U+001B ESCAPE) at character 5",
        ),
        (
            [replace.as_slice(), &["--reason", "two\nlines"]].concat(),
            "--reason contains a control character (U+000A LINE FEED) at character 4",
        ),
        (
            [replace.as_slice(), &["--reason", "ok", "--dry-run"]]
                .concat()
                .into_iter()
                .chain(["--actor", "ev\u{9b}il"])
                .collect(),
            "--actor contains a control character (U+009B CONTROL SEQUENCE INTRODUCER) at character 3",
        ),
        (
            vec!["revert", "R1-U1", "--yes", "--reason", "oops\r"],
            "--reason contains a control character (U+000D CARRIAGE RETURN) at character 5",
        ),
    ] {
        let run = store.run(&args).fails(1);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    }
    // From the environment, as --actor.
    let out = store
        .cmd()
        .env("CQRS_ADMIN_ACTOR", "\u{7}bell")
        .args(with(&["--reason", "name change"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--actor contains a control character (U+0007 BELL) at character 1"),
        "{stderr}"
    );
    assert_eq!(store.snapshot(), before);
    // Printable text, accents and all, is fine.
    store
        .run(&[replace.as_slice(), &["--reason", "Mariée: nom changé"]].concat())
        .ok();
}

#[test]
fn a_plan_reason_with_a_control_character_is_refused_with_its_line() {
    let store = replacement_store();
    let before = store.snapshot();
    let plan = write(
        &store,
        "plan.csv",
        "account_id,new_email,reason\n\
         U1,jo.bloggs@nhs.net,fine\n\
         U2,gina.new@nhs.net,\"married\u{1b}]0;owned\u{7}\"\n\
         U2x,x@nhs.net,\"two\nlines\"\n",
    );
    let run = store.run(&["replace", "--plan", &plan, "--yes"]).fails(1);
    assert!(
        run.stderr.contains(
            "line 3, column reason: the value contains a control character (U+001B ESCAPE) at character 8"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("line 4, column reason: the value contains a control character (U+000A LINE FEED) at character 4"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'));
    assert_eq!(store.snapshot(), before);
}

#[test]
fn tables_show_invisible_characters_escaped_and_csv_keeps_them() {
    let store = replacement_store();
    // Imports allow format characters (they are not control characters),
    // and line breaks and tabs in an activity's detail.
    let activity = write(
        &store,
        "activity.csv",
        "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
         ACT1,A81001,U1,offer-accepted,2019-04-10,\"QOF\u{202e}fdp.exe\r\tover\"\n",
    );
    store.run(&["import", "activity", &activity]).ok();
    let accounts = write(
        &store,
        "accounts2.csv",
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         U9,zw,zero.width@gp.nhs.uk,Ze\u{200b}ro,Wi\u{2066}dth\u{feff},active,,\n",
    );
    store.run(&["import", "accounts", &accounts]).ok();

    let history = store.run(&["history", "U1"]).ok();
    assert!(
        history
            .stdout
            .contains("QOF\\u{202e}fdp.exe\\u{d}\\u{9}over"),
        "{}",
        history.stdout
    );
    let csv = store.run(&["history", "U1", "--format", "csv"]).ok();
    assert!(
        csv.stdout.contains("QOF\u{202e}fdp.exe\r\tover"),
        "{}",
        csv.stdout
    );

    for args in [&["accounts", "show", "U9"][..], &["audit"], &["report"]] {
        let table = store.run(args).ok();
        assert!(
            table.stdout.contains("Ze\\u{200b}ro")
                && table.stdout.contains("Wi\\u{2066}dth\\u{feff}"),
            "{args:?}: {}",
            table.stdout
        );
        for raw in ['\u{200b}', '\u{2066}', '\u{feff}', '\u{202e}'] {
            assert!(!table.stdout.contains(raw), "{args:?}: {raw:?}");
        }
    }
    let json = store
        .run(&["accounts", "show", "U9", "--format", "json"])
        .ok();
    assert!(json.stdout.contains("Ze\u{200b}ro"), "{}", json.stdout);
}

#[test]
fn control_characters_already_in_a_store_are_shown_escaped() {
    let store = replacement_store();
    // A store written before control characters were refused.
    let conn = rusqlite::Connection::open(&store.db).unwrap();
    conn.execute(
        "UPDATE accounts SET given_name = 'J\u{1b}[31mo' WHERE account_id = 'U1'",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO activity (activity_id, ods_code, account_id, kind, occurred_at, detail)
         VALUES ('ACT9', 'A81001', 'U1', 'offer-made', '2019-04-01', 'ok\u{1b}]0;pwned\u{7}')",
        [],
    )
    .unwrap();
    drop(conn);
    // history's table (written directly when piped) escapes it too.
    let run = store.run(&["history", "U1"]).ok();
    assert!(
        run.stdout.contains("ok\\u{1b}]0;pwned\\u{7}"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'));
    let run = store.run(&["accounts", "show", "U1"]).ok();
    assert!(run.stdout.contains("J\\u{1b}[31mo"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'));
    let run = store.run(&["audit"]).ok();
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// Item 16: a refused plan names every problem of every line.
// ---------------------------------------------------------------------------

#[test]
fn a_refused_plan_names_every_problem_of_every_line() {
    let store = replacement_store();
    let before = store.snapshot();
    let plan = write(
        &store,
        "plan.csv",
        "account_id,new_email,reason\n\
         U1,jo.bloggs@nhs.net,\n\
         NOPE,jo.bloggs@nhs.net,\n\
         U1,shared.box@nhs.net,\n\
         U3,not-an-address,\n\
         ,gina.new@nhs.net,\n",
    );
    let run = store.run(&["replace", "--plan", &plan, "--yes"]).fails(1);
    let problems: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("line "))
        .collect();
    let on = |line: u32, column: &str, words: &str| {
        assert!(
            problems
                .iter()
                .any(|p| p.contains(&format!("line {line}, column {column}:")) && p.contains(words)),
            "line {line} {column} {words:?} not in:\n{}",
            run.stderr
        );
    };
    // Line 3: a repeated address and an unknown account.
    on(3, "new_email", "is also on line 2");
    on(3, "account_id", "there is no account NOPE");
    // Line 4: a repeated account, and an address that is a shared mailbox.
    on(4, "account_id", "is also on line 2");
    on(4, "new_email", "shared mailbox");
    // Line 5: a disabled account and an address that is not one.
    on(5, "account_id", "disabled");
    on(5, "new_email", "not a valid email address");
    on(5, "new_email", "not an nhs.net address");
    // Line 6: a blank account id, and the address is still checked: it is
    // the right person's, so nothing more is said about it.
    on(6, "account_id", "a value is required here");
    assert!(
        !problems
            .iter()
            .any(|p| p.contains("line 6, column account_id: there is no account")),
        "{}",
        run.stderr
    );
    assert_eq!(store.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Item 17: numbers are numbers and booleans booleans in JSON; a plain
// negative number in CSV is written as it is.
// ---------------------------------------------------------------------------

const NUMBER_FIELDS: &[&str] = &[
    "accounts",
    "created",
    "days_until_cutover",
    "line",
    "permissions",
    "seq",
];
const BOOLEAN_FIELDS: &[&str] = &[
    "all",
    "disable_old",
    "dry_run",
    "history_equal",
    "old_reenabled",
    "roles_equal",
];

/// Checks every object in `value`: the number fields are numbers (a plan
/// line may be null), the boolean fields booleans, and no text is a number
/// or a boolean spelled as a string. Returns how many typed fields it saw.
fn check_json_types(what: &str, value: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut seen = 0;
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if NUMBER_FIELDS.contains(&key.as_str()) {
                    assert!(
                        v.is_i64() || v.is_u64() || (key == "line" && v.is_null()),
                        "{what}: {key} is {v}"
                    );
                    seen += 1;
                } else if BOOLEAN_FIELDS.contains(&key.as_str()) {
                    assert!(v.is_boolean(), "{what}: {key} is {v}");
                    seen += 1;
                } else if let Value::String(s) = v {
                    assert!(
                        s != "true" && s != "false",
                        "{what}: {key} is the string {s:?}"
                    );
                }
                seen += check_json_types(what, v);
            }
        }
        Value::Array(list) => {
            for v in list {
                seen += check_json_types(what, v);
            }
        }
        _ => {}
    }
    seen
}

#[test]
fn every_json_output_carries_numbers_and_booleans_typed() {
    let store = replacement_store();
    let activity = write(
        &store,
        "activity.csv",
        "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
         ACT1,A81001,U1,offer-accepted,2019-04-10,QOF\n",
    );
    store.run(&["import", "activity", &activity]).ok();
    let json = |args: &[&str]| -> serde_json::Value {
        let run = store.run(&[args, &["--format", "json"]].concat());
        assert!(run.code == 0 || run.code == 3, "{args:?}: {}", run.stderr);
        run.json()
    };
    let mut typed = 0;
    // Before the replacements, while accounts still need action.
    let report = json(&["report", "--today", "2026-12-01"]);
    let replaced = json(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"]);
    assert_eq!(replaced["dry_run"], false);
    assert_eq!(replaced["created"], 1);
    assert!(replaced["replacements"][0]["line"].is_null());
    let dry = json(&[
        "replace",
        "U2",
        "--email",
        "gina.new@nhs.net",
        "--reason",
        "married",
        "--dry-run",
    ]);
    assert_eq!(dry["dry_run"], true);
    let plan = write(
        &store,
        "plan.csv",
        "account_id,new_email,reason\nU2,gina.new@nhs.net,married\n",
    );
    let from_plan = json(&["replace", "--plan", &plan, "--yes"]);
    assert_eq!(from_plan["replacements"][0]["line"], 2);

    let counts = json(&["audit", "--counts"]);
    assert!(
        counts
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["accounts"].is_u64())
    );
    let days = report[0]["days_until_cutover"].as_i64().unwrap();
    assert!(days < 0, "{report}");
    let cutover = json(&["cutover", "show", "--today", "2026-12-01"]);
    assert_eq!(cutover["days_until_cutover"], days);
    let log = json(&["log"]);
    assert_eq!(log[0]["seq"], 1);
    let verify = json(&["verify"]);
    assert_eq!(verify[0]["roles_equal"], true);
    assert_eq!(verify[0]["history_equal"], true);
    let revert = json(&["revert", "R1-U1", "--reason", "mistake", "--dry-run"]);
    assert_eq!(revert["dry_run"], true);
    assert!(revert["old_reenabled"].is_boolean());
    let export = json(&["export", "--out", "exported", "--all"]);
    assert!(export["accounts"].is_u64() && export["all"] == true);

    for (what, value) in [
        ("replace", replaced),
        ("replace --dry-run", dry),
        ("replace --plan", from_plan),
        ("audit --counts", counts),
        ("report", report),
        ("cutover show", cutover),
        ("log", log),
        ("verify", verify),
        ("revert", revert),
        ("export", export),
    ] {
        let n = check_json_types(what, &value);
        assert!(n > 0, "{what}: no typed field in {value}");
        typed += n;
    }
    // Outputs with no number or boolean still spell none as a string.
    for args in [
        &["audit"][..],
        &["history", "U1"],
        &["accounts", "show", "U1"],
        &["signin", "jo.bloggs@nhs.net"],
    ] {
        check_json_types(&format!("{args:?}"), &json(args));
    }
    assert!(typed > 10);
}

#[test]
fn a_negative_number_in_csv_is_written_as_it_is() {
    let store = Store::with_fixtures();
    let run = store
        .run(&["report", "--format", "csv", "--today", "2026-12-01"])
        .ok();
    let rows = run.csv();
    assert!(!rows.is_empty());
    for row in &rows {
        let days = &row["days_until_cutover"];
        assert!(
            days.starts_with('-') && days[1..].bytes().all(|b| b.is_ascii_digit()),
            "{days}"
        );
    }
    let days = &rows[0]["days_until_cutover"];
    // Then the follow_up and not_a_replacement columns, empty here.
    assert!(
        run.stdout.contains(&format!(",{days},,\n")),
        "{}",
        run.stdout
    );
    let cutover = store
        .run(&[
            "cutover",
            "show",
            "--format",
            "csv",
            "--today",
            "2026-12-01",
        ])
        .ok();
    assert_eq!(cutover.csv()[0]["days_until_cutover"], *days);
    // A formula that starts like a number is still neutralised: see
    // hostile::every_csv_the_tool_writes_neutralises_formulas.
}
