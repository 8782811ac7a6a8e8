//! `report`: who must do what, grouped by whom they contact.

use crate::common::Store;

#[test]
fn report_table_snapshot_with_the_date_pinned() {
    let store = Store::with_fixtures();
    let run = store.run(&["report", "--today", "2020-09-09"]).ok();
    insta::assert_snapshot!("report_table", run.stdout);
}

#[test]
fn report_csv_snapshot() {
    let store = Store::with_fixtures();
    let run = store
        .run(&["report", "--today", "2020-09-09", "--format", "csv"])
        .ok();
    insta::assert_snapshot!("report_csv", run.stdout);
}

#[test]
fn audit_table_snapshot() {
    let store = Store::with_fixtures();
    let run = store.run(&["audit"]).ok();
    insta::assert_snapshot!("audit_table", run.stdout);
}

#[test]
fn csv_columns_are_the_ones_cli_md_fixes() {
    let store = Store::with_fixtures();
    let run = store
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok();
    let header = run.stdout.lines().next().unwrap();
    assert!(
        header.starts_with(
            "section,contact_code,contact_name,contact_email,account_id,email,given_name,family_name,category,match"
        ),
        "{header}"
    );
}

#[test]
fn an_account_appears_once_under_each_distinct_contact() {
    let store = Store::with_fixtures();
    let rows = store.run(&["report", "--format", "csv"]).ok().csv();
    // Aisha Begum holds roles at practices under 07L and 15N.
    let mut contacts: Vec<&str> = rows
        .iter()
        .filter(|r| r["account_id"] == "U0000035")
        .map(|r| r["contact_code"].as_str())
        .collect();
    contacts.sort();
    assert_eq!(contacts, ["07L", "15N"]);
    // Fiona Campbell: a practice under 00K, and a role at the region Y63 itself?
    // Whatever her roles, each contact appears once.
    let fiona: Vec<&str> = rows
        .iter()
        .filter(|r| r["account_id"] == "U0000037")
        .map(|r| r["contact_code"].as_str())
        .collect();
    let mut unique = fiona.clone();
    unique.dedup();
    assert_eq!(fiona, unique);
}

#[test]
fn a_commissioner_user_contacts_the_region_and_a_user_with_no_roles_the_administrator() {
    let store = Store::with_fixtures();
    let rows = store.run(&["report", "--format", "csv"]).ok().csv();
    let contact_of = |id: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["account_id"] == id)
            .map(|r| r["contact_code"].clone())
            .collect()
    };
    // Stephen Morgan works at the CCG 15N, in the South West region.
    assert_eq!(contact_of("U0000034"), ["Y58"]);
    let region = rows.iter().find(|r| r["contact_code"] == "Y58").unwrap();
    assert_eq!(region["contact_name"], "South West");
    assert_eq!(region["contact_email"], "england.southwest-cqrs@nhs.net");
    // A user with no roles at all goes to the CQRS administrator.
    let no_roles: Vec<_> = rows
        .iter()
        .filter(|r| r["contact_code"] == "cqrs-administrator")
        .map(|r| r["account_id"].clone())
        .collect();
    assert!(!no_roles.is_empty());
}

#[test]
fn only_accounts_needing_action_appear_in_their_sections() {
    let store = Store::with_fixtures();
    let rows = store.run(&["report", "--format", "csv"]).ok().csv();
    let audit = store.audit();
    for r in &rows {
        let (category, _, section) = &audit[&r["account_id"]];
        assert_eq!(&r["section"], section);
        assert_eq!(&r["category"], category);
    }
    for (id, (_, _, section)) in &audit {
        if !section.is_empty() {
            assert!(rows.iter().any(|r| &r["account_id"] == id), "{id} missing");
        }
    }
}

#[test]
fn days_until_cutover_follow_today_and_the_cutover_date() {
    let store = Store::with_fixtures();
    let run = store.run(&["report", "--today", "2020-09-09"]).ok();
    assert!(run.stdout.contains("14 days left"), "{}", run.stdout);
    let run = store
        .run(&["report", "--today", "2020-09-09", "--cutover", "2020-09-10"])
        .ok();
    assert!(run.stdout.contains("1 day left"), "{}", run.stdout);
    store.run(&["cutover", "set", "2020-10-01"]).ok();
    let json = store
        .run(&[
            "cutover",
            "show",
            "--today",
            "2020-09-30",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(json["cutover"], "2020-10-01");
    assert_eq!(json["days_until_cutover"], 1);
    let run = store.run(&["report", "--today", "2020-10-04"]).ok();
    assert!(run.stdout.contains("3 days ago"), "{}", run.stdout);
}

#[test]
fn filters_and_check() {
    let store = Store::with_fixtures();
    let rows = store
        .run(&[
            "report",
            "--format",
            "csv",
            "--section",
            "no-nhsmail",
            "--contact",
            "00k",
        ])
        .ok()
        .csv();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["section"] == "no-nhsmail" && r["contact_code"] == "00K")
    );
    store
        .run(&["report", "--check", "--format", "csv"])
        .fails(3);
}

/// The report's rows are kept until the next write: a second report reads
/// them back, and an import makes the next report see the change.
#[test]
fn the_kept_report_is_the_same_and_follows_every_import() {
    let store = Store::with_fixtures();
    let first = store
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok();
    let second = store
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok();
    assert_eq!(first.stdout, second.stdout);
    let filtered = store
        .run(&[
            "report",
            "--format",
            "csv",
            "--today",
            "2020-09-09",
            "--contact",
            "Y58",
        ])
        .ok()
        .csv();
    assert!(filtered.iter().all(|r| r["contact_code"] == "Y58"));
    assert!(!filtered.is_empty());
    // Sarah Jones's mailbox leaves the directory: she now needs action.
    let directory = std::fs::read_to_string(crate::common::fixture("directory.csv")).unwrap();
    let without: String = directory
        .lines()
        .filter(|l| !l.starts_with("sarah.jones@"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = store.dir.path().join("directory.csv");
    std::fs::write(&path, without).unwrap();
    store
        .run(&["import", "directory", path.to_str().unwrap()])
        .ok();
    let rows = store.run(&["report", "--format", "csv"]).ok().csv();
    assert!(
        rows.iter()
            .any(|r| r["account_id"] == "U0000001" && r["category"] == "not-in-directory")
    );
}

/// A whole-store audit keeps the report's rows; the report that follows is
/// the same as one computed afresh, and a filtered audit keeps nothing wrong.
#[test]
fn a_report_after_an_audit_is_the_same_as_a_fresh_one() {
    let fresh = Store::with_fixtures();
    let expected = fresh
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok();
    let store = Store::with_fixtures();
    store
        .run(&["audit", "--format", "csv", "--category", "ok"])
        .ok();
    store.run(&["audit", "--format", "csv"]).ok();
    let after_audit = store
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok();
    assert_eq!(after_audit.stdout, expected.stdout);
}
