//! `audit`: the exact category, match and section of every fixture account.

use crate::common::{Store, fixture};

/// fixtures/expected.csv was written by hand from rules.md, independently of the code.
fn expected() -> Vec<(String, String, String, String)> {
    let mut reader = csv::Reader::from_path(fixture("expected.csv")).expect("expected.csv");
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_fixture_account_gets_its_expected_category_match_and_section() {
    let store = Store::with_fixtures();
    let audit = store.audit();
    let expected = expected();
    assert_eq!(audit.len(), expected.len(), "one row per account");
    for (id, category, m, section) in expected {
        let got = audit
            .get(&id)
            .unwrap_or_else(|| panic!("{id} missing from the audit"));
        assert_eq!(got, &(category, m, section), "account {id}");
    }
}

#[test]
fn every_category_and_section_appears_in_the_fixtures() {
    let store = Store::with_fixtures();
    let audit = store.audit();
    for category in [
        "disabled",
        "invalid-email",
        "duplicate-email",
        "ok",
        "shared-mailbox",
        "nhsmail-disabled",
        "not-in-directory",
        "nhs-uk-domain",
        "other-domain",
    ] {
        assert!(
            audit.values().any(|(c, _, _)| c == category),
            "no fixture account is {category}"
        );
    }
    for section in ["contact-commissioner", "no-nhsmail", "administrator"] {
        assert!(audit.values().any(|(_, _, s)| s == section), "no {section}");
    }
}

#[test]
fn disabled_accounts_are_left_out_unless_asked_for() {
    let store = Store::with_fixtures();
    let rows = store.run(&["audit", "--format", "csv"]).ok().csv();
    assert!(rows.iter().all(|r| r["category"] != "disabled"));
    assert!(!rows.iter().any(|r| r["account_id"] == "U0000025"));
    let all = store
        .run(&["audit", "--format", "csv", "--include-disabled"])
        .ok()
        .csv();
    assert_eq!(all.len(), rows.len() + 2, "two disabled fixture accounts");
}

#[test]
fn csv_has_the_columns_cli_md_fixes_and_keeps_emails_as_given() {
    let store = Store::with_fixtures();
    let run = store.run(&["audit", "--format", "csv"]).ok();
    let header = run.stdout.lines().next().unwrap();
    assert_eq!(
        header,
        "account_id,email,given_name,family_name,category,match,section"
    );
    let rows = run.csv();
    let brown = rows.iter().find(|r| r["account_id"] == "U0000002").unwrap();
    // Mixed case is kept exactly; only the padding was trimmed on import.
    assert_eq!(brown["email"], "David.Brown@NHS.NET");
    assert_eq!(brown["category"], "ok");
}

#[test]
fn json_has_the_same_keys() {
    let store = Store::with_fixtures();
    let json = store.run(&["audit", "--format", "json"]).ok().json();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 38);
    let first = rows[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    for key in [
        "account_id",
        "email",
        "given_name",
        "family_name",
        "category",
        "match",
        "section",
    ] {
        assert!(keys.contains(&key), "missing key {key}");
    }
    let ambiguous = rows.iter().find(|r| r["account_id"] == "U0000013").unwrap();
    assert_eq!(ambiguous["match"], "ambiguous");
}

#[test]
fn filters_by_category_section_organisation_and_contact() {
    let store = Store::with_fixtures();
    let rows = store
        .run(&["audit", "--format", "csv", "--category", "shared-mailbox"])
        .ok()
        .csv();
    let ids: Vec<&str> = rows.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(ids, ["U0000018", "U0000019"]);

    let rows = store
        .run(&["audit", "--format", "csv", "--section", "administrator"])
        .ok()
        .csv();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["section"] == "administrator"));

    let by_org = store
        .run(&["audit", "--format", "csv", "--org", "f82001"])
        .ok()
        .csv();
    assert!(by_org.iter().any(|r| r["account_id"] == "U0000001"));
    assert!(!by_org.iter().any(|r| r["account_id"] == "U0000034"));

    let by_contact = store
        .run(&["audit", "--format", "csv", "--contact", "Y58"])
        .ok()
        .csv();
    assert!(by_contact.iter().any(|r| r["account_id"] == "U0000034"));
    assert!(!by_contact.iter().any(|r| r["account_id"] == "U0000001"));
}

#[test]
fn counts_per_category() {
    let store = Store::with_fixtures();
    let rows = store
        .run(&["audit", "--counts", "--format", "csv", "--include-disabled"])
        .ok()
        .csv();
    let count = |c: &str| {
        rows.iter()
            .find(|r| r["category"] == c)
            .map(|r| r["accounts"].clone())
            .unwrap()
    };
    assert_eq!(count("invalid-email"), "4");
    assert_eq!(count("duplicate-email"), "2");
    assert_eq!(count("disabled"), "2");
    assert_eq!(count("superseded"), "0");
    assert_eq!(rows.len(), 10, "one row per category");
}

#[test]
fn check_exits_3_when_accounts_need_action_and_0_when_none_do() {
    let store = Store::with_fixtures();
    let run = store.run(&["audit", "--check", "--format", "csv"]).fails(3);
    // A verdict, not a failure: the count alone, with no `error:` or `hint:`.
    assert!(
        run.stderr
            .lines()
            .any(|l| l.ends_with("account(s) need action before cutover")
                && l.split(' ')
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok())),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("error:") && !run.stderr.contains("hint:"),
        "{}",
        run.stderr
    );
    // Only ok accounts shown: nothing needs action.
    store
        .run(&["audit", "--check", "--format", "csv", "--category", "ok"])
        .ok();
}

#[test]
fn table_output_prints_counts_to_standard_error_only() {
    let store = Store::with_fixtures();
    let run = store.run(&["audit"]).ok();
    assert!(run.stdout.contains("U0000013"));
    assert!(!run.stdout.contains("need action"));
    assert!(run.stderr.contains("38 accounts"), "{}", run.stderr);
}

#[test]
fn audit_of_an_empty_store_prints_just_the_header() {
    // A store with nothing imported yet (`cutover set` creates one): the
    // header only, and a warning that nothing was checked.
    let store = Store::new();
    store.run(&["cutover", "set", "2030-01-01"]).ok();
    let run = store.run(&["audit", "--format", "csv"]).ok();
    assert_eq!(
        run.stdout.trim(),
        "account_id,email,given_name,family_name,category,match,section"
    );
}
