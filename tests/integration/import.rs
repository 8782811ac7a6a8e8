//! `import`: whole files or nothing, every problem located.

use std::fs;

use crate::common::{FIXTURE_FILES, Store, fixture, write};

#[test]
fn every_broken_fixture_file_is_refused_whole_with_its_line_and_changes_nothing() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    let mut tried = 0;
    for entry in fs::read_dir(fixture("bad")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".csv") {
            continue;
        }
        let kind = name.split('-').next().unwrap();
        assert!(
            FIXTURE_FILES.contains(&kind),
            "{name}: name it after its kind"
        );
        let run = store.run(&["import", kind, path.to_str().unwrap()]);
        if name.contains("header-only") {
            // A header with no rows is a valid, empty file.
            run.ok();
            continue;
        }
        let run = run.fails(1);
        assert!(
            run.stderr.contains("line "),
            "{name}: no line number in\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("nothing was imported"),
            "{name}:\n{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{name}: data on stdout");
        assert_eq!(store.snapshot(), before, "{name} changed the store");
        tried += 1;
    }
    assert!(tried >= 15, "only {tried} broken files tried");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "accounts.csv",
        b"account_id,username,email,given_name,family_name,status\n\
          N1,new1,new1@nhs.net,New,One,active\n\
          N2,new2,new2@nhs.net,New,Two,on\n\
          N3,new3,new3@nhs.net,,Three,active\n\
          N4,new1,new4@nhs.net,New,Four,active\n",
    );
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(
        run.stderr.contains("line 3, column status"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`on`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("line 4, column given_name"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 5, column username"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("3 problems"), "{}", run.stderr);
    let audit = store.audit();
    assert!(
        !audit.contains_key("N1"),
        "the good row was not imported either"
    );
}

#[test]
fn spreadsheet_quirks_are_accepted() {
    let store = Store::new();
    store
        .run(&[
            "import",
            "organisations",
            fixture("organisations.csv").to_str().unwrap(),
        ])
        .ok();
    // BOM, CRLF, headers in another order and case with padding, blank lines,
    // quoted fields with commas and newlines, trailing spaces, an unknown column.
    let file = write(
        &store,
        "accounts.csv",
        b"\xEF\xBB\xBF Email ,ACCOUNT_ID,Given_Name,family_name,status,username,notes\r\n\
          \r\n\
          a.person@nhs.net  ,A1,\"Anne, Marie\",Person,active,aperson,\"line one\r\nline two\"\r\n\
          \r\n\
          b.person@nhs.net,A2,Bob,Person ,Active,bperson,\r\n",
    );
    let run = store.run(&["import", "accounts", &file]).ok();
    assert!(
        run.stderr.contains("unknown column `notes`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("2 rows"), "{}", run.stderr);
    let json = store
        .run(&["accounts", "show", "A1", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json[0]["given_name"], "Anne, Marie");
    assert_eq!(json[0]["email"], "a.person@nhs.net");
    let json = store
        .run(&["accounts", "show", "A2", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json[0]["family_name"], "Person");
    assert_eq!(json[0]["status"], "active");
}

#[test]
fn the_awkward_fixture_files_are_accepted() {
    for entry in fs::read_dir(fixture("awkward")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".csv") {
            continue;
        }
        let store = Store::new();
        let kind = name.split('-').next().unwrap().to_string();
        // Import what the file depends on from the fixtures first.
        for dep in FIXTURE_FILES.iter().take_while(|k| **k != kind) {
            store
                .run(&[
                    "import",
                    dep,
                    fixture(&format!("{dep}.csv")).to_str().unwrap(),
                ])
                .ok();
        }
        store.run(&["import", &kind, path.to_str().unwrap()]).ok();
    }
}

#[test]
fn reimporting_the_same_file_changes_nothing() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    for kind in FIXTURE_FILES {
        let run = store
            .run(&[
                "import",
                kind,
                fixture(&format!("{kind}.csv")).to_str().unwrap(),
            ])
            .ok();
        if *kind != "directory" {
            assert!(
                run.stderr.contains("0 added, 0 updated"),
                "{kind}: {}",
                run.stderr
            );
        }
    }
    assert_eq!(store.snapshot(), before);
}

#[test]
fn a_reimport_updates_rows_by_key() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "accounts.csv",
        b"account_id,username,email,given_name,family_name,status\n\
          U0000001,sjones01,sarah.jones@nhs.net,Sarah,Jones,disabled\n\
          N9,newbie,newbie@nhs.net,New,Bie,active\n",
    );
    let run = store.run(&["import", "accounts", &file]).ok();
    assert!(
        run.stderr.contains("1 added, 1 updated, 0 unchanged"),
        "{}",
        run.stderr
    );
    assert_eq!(store.audit()["U0000001"].0, "disabled");
    // Nothing is deleted: accounts not in the file are still there.
    assert!(store.audit().contains_key("U0000040"));
}

#[test]
fn an_import_that_changes_an_email_is_refused_naming_the_account() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    let file = write(
        &store,
        "accounts.csv",
        b"account_id,username,email,given_name,family_name,status\n\
          U0000010,gwalker10,gary.walker@nhs.net,Gary,Walker,active\n",
    );
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(run.stderr.contains("account U0000010"), "{}", run.stderr);
    assert!(run.stderr.contains("replacement account"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
}

#[test]
fn importing_in_the_wrong_order_says_so() {
    let store = Store::new();
    let run = store
        .run(&[
            "import",
            "permissions",
            fixture("permissions.csv").to_str().unwrap(),
        ])
        .fails(1);
    assert!(
        run.stderr.contains("import organisations"),
        "{}",
        run.stderr
    );
    store
        .run(&[
            "import",
            "organisations",
            fixture("organisations.csv").to_str().unwrap(),
        ])
        .ok();
    let run = store
        .run(&[
            "import",
            "permissions",
            fixture("permissions.csv").to_str().unwrap(),
        ])
        .fails(1);
    assert!(
        run.stderr.contains("import accounts before permissions"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_role_at_the_wrong_kind_of_organisation_is_refused() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "permissions.csv",
        b"account_id,ods_code,role\nU0000001,15N,achievement-entry\n",
    );
    let run = store.run(&["import", "permissions", &file]).fails(1);
    assert!(run.stderr.contains("line 2, column role"), "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot be held at a commissioner"),
        "{}",
        run.stderr
    );
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let store = Store::new();
    let orgs = fs::read_to_string(fixture("organisations.csv")).unwrap();
    let run = store
        .run_with_stdin(&["import", "organisations", "-"], &orgs)
        .ok();
    assert!(run.stderr.contains("standard input"), "{}", run.stderr);
}

#[test]
fn the_directory_import_replaces_the_previous_extract() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "directory.csv",
        b"address,given_name,family_name,ods_code,status\n\
          gary.walker@nhs.net,Gary,Walker,A81001,active\n",
    );
    let run = store.run(&["import", "directory", &file]).ok();
    assert!(
        run.stderr.contains("replaced the previous extract"),
        "{}",
        run.stderr
    );
    // Sarah's mailbox is gone with the old extract.
    assert_eq!(store.audit()["U0000001"].0, "not-in-directory");
}

#[test]
fn duplicate_directory_addresses_differing_only_in_case_are_refused() {
    let store = Store::new();
    let file = write(
        &store,
        "directory.csv",
        b"address,given_name,family_name,ods_code,status\n\
          a.b@nhs.net,A,B,A81001,active\n\
          A.B@NHS.NET,A,B,A81001,active\n",
    );
    let run = store.run(&["import", "directory", &file]).fails(1);
    assert!(
        run.stderr.contains("line 3, column address"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let store = Store::new();
    let run = store
        .run(&[
            "import",
            "organisations",
            fixture("organisations.csv").to_str().unwrap(),
            "--dry-run",
        ])
        .ok();
    assert!(run.stderr.contains("would import"), "{}", run.stderr);
    let run = store
        .run(&[
            "import",
            "accounts",
            fixture("accounts.csv").to_str().unwrap(),
        ])
        .ok();
    assert!(run.stderr.contains("40 added"), "{}", run.stderr);
    // The organisations were not imported by the dry run: 15N is unknown.
    let run = store
        .run(&["audit", "--format", "csv", "--contact", "15N"])
        .fails(1);
    assert!(
        run.stderr.contains("not an ODS code in the store"),
        "organisations were imported by the dry run: {}",
        run.stderr
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let store = Store::new();
    let run = store
        .run(&["import", "accounts", "no-such-file.csv"])
        .fails(1);
    assert!(
        run.stderr.contains("cannot read no-such-file.csv"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_summary_goes_to_standard_error() {
    let store = Store::new();
    let run = store
        .run(&[
            "import",
            "organisations",
            fixture("organisations.csv").to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("imported organisations: 14 rows"),
        "{}",
        run.stderr
    );
}

/// Rows out of key order are sorted before writing; repeated keys are still
/// found, whether they are next to each other or far apart.
#[test]
fn repeated_keys_are_found_in_files_in_any_order() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    let mut directory = String::from("address,given_name,family_name,ods_code,status\n");
    for i in (0..3000).rev() {
        directory.push_str(&format!("person{i}@nhs.net,P,{i},A81001,active\n"));
    }
    directory.push_str("PERSON17@nhs.net,P,17,A81001,active\n");
    let file = write(&store, "directory.csv", directory.as_bytes());
    let run = store.run(&["import", "directory", &file]).fails(1);
    assert!(
        run.stderr.contains("line 3002, column address"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is also on line 2984"),
        "{}",
        run.stderr
    );
    assert_eq!(store.snapshot(), before);

    // The same file without the repeat is accepted, in any order.
    let ok = directory.lines().take(3001).collect::<Vec<_>>().join("\n");
    let file = write(&store, "directory.csv", ok.as_bytes());
    store.run(&["import", "directory", &file]).ok();
    assert_eq!(
        store
            .run(&["signin", "Person2999@nhs.net", "--format", "json"])
            .ok()
            .json()["outcome"],
        "authentication-error"
    );
}

#[test]
fn permissions_with_roles_in_any_order_are_imported_and_repeats_refused() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "permissions.csv",
        b"account_id,ods_code,role\n\
          U0000040,F82001,view\n\
          U0000040,F82001,achievement-entry\n\
          U0000001,F82001,view\n\
          U0000040,f82001,VIEW\n",
    );
    let run = store.run(&["import", "permissions", &file]).fails(1);
    assert!(run.stderr.contains("line 5"), "{}", run.stderr);
    assert!(run.stderr.contains("also on line 2"), "{}", run.stderr);
}

/// Line numbers are the ones an editor shows, after blank lines and after
/// quoted values that span lines, with or without a final line break.
#[test]
fn problems_name_the_line_an_editor_shows() {
    let store = Store::with_fixtures();
    let file = write(
        &store,
        "accounts.csv",
        b"\n\naccount_id,username,email,given_name,family_name,status\n\
          \n\
          N1,n1,n1@nhs.net,A,B,bad\n\
          \n\
          \n\
          N2,n2,n2@nhs.net,\"Anne\r\nMarie\",B,bad\r\n\
          N3,n3,n3@nhs.net,A,B,bad",
    );
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(
        run.stderr.contains("line 5, column status"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 8, column status"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("line 10, column status"),
        "{}",
        run.stderr
    );
}

/// Free text may hold line breaks and tabs, but not terminal escapes or NUL.
#[test]
fn control_characters_in_free_text_are_refused() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    let file = write(
        &store,
        "activity.csv",
        b"activity_id,ods_code,account_id,kind,occurred_at,detail\n\
          X1,F82001,U0000001,offer-made,2020-04-14,\"two\nlines\tand a tab\"\n\
          X2,F82001,U0000001,offer-made,2020-04-15,a\x1b[2Jb\n",
    );
    let run = store.run(&["import", "activity", &file]).fails(1);
    assert!(
        run.stderr.contains("line 4, column detail"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("U+001B"), "{}", run.stderr);
    assert!(!run.stderr.contains("line 2"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
}

/// An extract with no entries would empty the directory: it is refused.
#[test]
fn an_empty_directory_extract_is_refused() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    let file = write(
        &store,
        "directory.csv",
        b"address,given_name,family_name,ods_code,status\n",
    );
    let run = store.run(&["import", "directory", &file]).fails(1);
    assert!(
        run.stderr.contains("would empty the directory"),
        "{}",
        run.stderr
    );
    assert_eq!(store.snapshot(), before);
}

/// An accounts file large enough (about 12 MB) for its import to show
/// progress at a terminal.
fn large_accounts_file(store: &Store) -> String {
    let mut content = String::from("account_id,username,email,given_name,family_name,status\n");
    for i in 0..200_000 {
        content.push_str(&format!(
            "P{i:07},puser{i:07},first{i}.last@nhs.net,First{i},Last,active\n"
        ));
    }
    write(store, "large-accounts.csv", content.as_bytes())
}

#[test]
fn a_large_import_without_a_terminal_prints_only_its_summary() {
    let store = Store::with_fixtures();
    let file = large_accounts_file(&store);
    let run = store.run(&["import", "accounts", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        vec![format!(
            "imported accounts: 200000 rows from {file} (200000 added, 0 updated, 0 unchanged)"
        )],
        "no progress drawn without a terminal"
    );
    assert!(!run.stderr.contains('\u{1b}'), "no escape codes");
}

/// At a terminal (util-linux `script` gives the command one), a large
/// import shows its progress on standard error. Skipped where `script` is
/// missing.
#[test]
fn a_large_import_at_a_terminal_shows_progress() {
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        eprintln!("skipped: no `script` command to give the import a terminal");
        return;
    }
    let store = Store::with_fixtures();
    let file = large_accounts_file(&store);
    let bin = assert_cmd::cargo::cargo_bin("cqrs-admin");
    let command = format!(
        "{} --db {} import accounts {}",
        bin.display(),
        store.db.display(),
        file
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("CQRS_ADMIN_ACTOR", "test-operator")
        .current_dir(store.dir.path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("importing accounts"), "{shown}");
    assert!(shown.contains("imported accounts: 200000 rows"), "{shown}");
}

/// Accounts are found by address through `account_emails`, which a fresh
/// import writes 500 rows a statement: an account in the middle of a
/// 2,000-account file (past the first statement) is found by its address,
/// ignoring case.
#[test]
fn every_imported_account_is_found_by_its_address() {
    let store = Store::with_fixtures();
    let mut content = String::from("account_id,username,email,given_name,family_name,status\n");
    for i in 0..2_000 {
        content.push_str(&format!(
            "P{i:07},puser{i:07},first{i}.last@nhs.net,First{i},Last,active\n"
        ));
    }
    let file = write(&store, "more-accounts.csv", content.as_bytes());
    let run = store.run(&["import", "accounts", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (address, owner) in [
        ("First1234.Last@nhs.net", "P0001234"),
        ("first1999.last@nhs.net", "P0001999"),
        ("first0.last@nhs.net", "P0000000"),
    ] {
        let run = store.run(&["replace", "U0000001", "--email", address, "--dry-run"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("is already on account {owner}")),
            "{address}: {}",
            run.stderr
        );
    }
}

/// Payment types are stored trimmed, without empty entries, joined by `;`,
/// however the file spelled them; already tidy ones are stored as they came.
#[test]
fn payment_types_are_stored_tidied() {
    let store = Store::with_fixture_files(&["organisations", "accounts"]);
    let file = write(
        &store,
        "permissions.csv",
        "account_id,ods_code,role,payment_types\n\
         U0000001,L83001,view, QOF ; ;DES \n\
         U0000001,L83002,view,QOF;DES\n\
         U0000002,L83001,view,;QOF;\n\
         U0000002,L83002,view,\n",
    );
    store.run(&["import", "permissions", &file]).ok();
    let exported = store
        .run(&["export", "--all", "--out", "-", "--only", "permissions"])
        .ok()
        .csv();
    let types = |id: &str, code: &str| {
        exported
            .iter()
            .find(|r| r["account_id"] == id && r["ods_code"] == code)
            .map(|r| r["payment_types"].clone())
            .unwrap_or_else(|| panic!("{id} at {code} exported: {exported:?}"))
    };
    assert_eq!(types("U0000001", "L83001"), "QOF;DES");
    assert_eq!(types("U0000001", "L83002"), "QOF;DES");
    assert_eq!(types("U0000002", "L83001"), "QOF");
    assert_eq!(types("U0000002", "L83002"), "");
}
