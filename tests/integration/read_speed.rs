//! The read paths made faster for the benchmark's look-ups (`signin`,
//! `history`, `report`, CSV output) give exactly what the slower ones gave:
//! each answer is checked against one worked out here from other output or
//! from the test's own data.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{Store, write};

/// `found_for` as the report says it: the report's accounts whose match is
/// `address` (in normal form), in the report's order, each with the
/// contacts of its rows, in order.
fn found_for_in_report(report: &[BTreeMap<String, String>], address: &str) -> serde_json::Value {
    let key = address.trim().to_ascii_lowercase();
    let mut out: Vec<(String, serde_json::Value)> = Vec::new();
    for row in report {
        if !row["match"].contains('@') || row["match"].trim().to_ascii_lowercase() != key {
            continue;
        }
        let contact = serde_json::json!({
            "contact_code": row["contact_code"],
            "contact_name": row["contact_name"],
            "contact_email": row["contact_email"],
        });
        match out.iter_mut().find(|(id, _)| id == &row["account_id"]) {
            Some((_, found)) => found["contacts"].as_array_mut().unwrap().push(contact),
            None => out.push((
                row["account_id"].clone(),
                serde_json::json!({
                    "account_id": row["account_id"],
                    "email": row["email"],
                    "given_name": row["given_name"],
                    "family_name": row["family_name"],
                    "contacts": [contact],
                }),
            )),
        }
    }
    serde_json::Value::Array(out.into_iter().map(|(_, v)| v).collect())
}

fn found_for(store: &Store, address: &str) -> serde_json::Value {
    let json = store
        .run(&["signin", address, "--format", "json"])
        .ok()
        .json();
    json["found_for"].clone()
}

#[test]
fn signin_names_the_accounts_whose_match_the_address_is_with_or_without_a_kept_report() {
    // Worked out from a store's report, then asked of a fresh store that
    // has kept no report yet (signin computes it) and again once kept.
    let reference = Store::with_fixtures();
    let report = reference.run(&["report", "--format", "csv"]).ok().csv();
    let mut addresses: Vec<String> = report
        .iter()
        .map(|r| r["match"].clone())
        .filter(|m| m.contains('@'))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(addresses.len() >= 3, "the fixtures have confident matches");
    // The one with the most rows first: asked with no report kept.
    addresses
        .sort_by_key(|a| std::cmp::Reverse(report.iter().filter(|r| &r["match"] == a).count()));
    let fresh = Store::with_fixtures();
    for (i, address) in addresses.iter().enumerate() {
        let expected = found_for_in_report(&report, address);
        assert!(!expected.as_array().unwrap().is_empty());
        assert_eq!(found_for(&fresh, address), expected, "{address} (ask {i})");
        // Spelt as a person might type it: case and spaces ignored.
        let typed = format!("  {}  ", address.to_uppercase());
        assert_eq!(found_for(&fresh, &typed), expected, "{typed}");
    }
    // The first address had more than one row (contacts) to gather.
    let most = found_for_in_report(&report, &addresses[0]);
    let rows: usize = most
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contacts"].as_array().unwrap().len())
        .sum();
    assert!(rows >= 1);
    // An address no account's match is: nobody.
    assert_eq!(
        found_for(&fresh, "nobody.at.all@nhs.net"),
        serde_json::json!([])
    );
    // After a write the kept report is stale: the answer is computed again,
    // and still the report's.
    let row = report
        .iter()
        .find(|r| r["section"] == "contact-commissioner" && r["match"].contains('@'))
        .expect("a replaceable account");
    fresh
        .run(&[
            "replace",
            &row["account_id"],
            "--email",
            &row["match"],
            "--yes",
            "--allow-admin",
        ])
        .ok();
    let report = fresh.run(&["report", "--format", "csv"]).ok().csv();
    for address in &addresses {
        assert_eq!(
            found_for(&fresh, address),
            found_for_in_report(&report, address),
            "{address} after a replacement"
        );
    }
}

/// A tree big enough that a region's user sees hundreds of organisations:
/// region R11 with commissioners C01..C03 and 240 practices under them;
/// region R22 with one commissioner and a few practices.
struct Tree {
    /// (code, kind, parent)
    orgs: Vec<(String, &'static str, Option<String>)>,
}

impl Tree {
    fn new() -> Tree {
        let mut orgs = vec![
            ("R11".to_string(), "region", None),
            ("R22".to_string(), "region", None),
        ];
        for c in 1..=3 {
            orgs.push((format!("C0{c}"), "commissioner", Some("R11".to_string())));
        }
        orgs.push(("C09".to_string(), "commissioner", Some("R22".to_string())));
        for p in 0..240 {
            orgs.push((
                format!("P{p:03}"),
                "practice",
                Some(format!("C0{}", p % 3 + 1)),
            ));
        }
        for p in 0..5 {
            orgs.push((format!("Q0{p}"), "practice", Some("C09".to_string())));
        }
        Tree { orgs }
    }

    /// The organisations file of the tree.
    fn organisations_csv(&self) -> String {
        let mut out = String::from("ods_code,name,kind,parent_code,contact_email\n");
        for (code, kind, parent) in &self.orgs {
            out.push_str(&format!(
                "{code},Organisation {code},{kind},{},\n",
                parent.as_deref().unwrap_or("")
            ));
        }
        out
    }

    fn parent(&self, code: &str) -> Option<&str> {
        self.orgs
            .iter()
            .find(|(c, _, _)| c == code)
            .and_then(|(_, _, p)| p.as_deref())
    }

    /// rules.md, "History": a record is visible through a role at its
    /// organisation, its parent or its parent's parent.
    fn visible(&self, record_org: &str, role_orgs: &[&str]) -> bool {
        let parent = self.parent(record_org);
        let grandparent = parent.and_then(|p| self.parent(p));
        role_orgs
            .iter()
            .any(|r| *r == record_org || Some(*r) == parent || Some(*r) == grandparent)
    }
}

#[test]
fn history_of_a_region_user_is_every_record_below_it_and_nothing_else() {
    let tree = Tree::new();
    let store = Store::new();
    let organisations = tree.organisations_csv();
    // (account, its role organisations)
    let users: Vec<(&str, Vec<&str>)> = vec![
        ("U1", vec!["R11"]),         // a region: hundreds of organisations
        ("U2", vec!["C02"]),         // a commissioner: a few dozen
        ("U3", vec!["P007"]),        // a practice
        ("U4", vec!["R11", "C09"]),  // a region and another's commissioner
        ("U5", vec!["R22", "P100"]), // a small region and a practice in the big one
    ];
    let mut accounts = String::from(
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n",
    );
    let mut permissions = String::from("account_id,ods_code,role,payment_types\n");
    for (id, orgs) in &users {
        accounts.push_str(&format!(
            "{id},user{id},user.{id}@nhs.net,Given{id},Family{id},active,2015-01-01,\n"
        ));
        for org in orgs {
            permissions.push_str(&format!("{id},{org},view,\n"));
        }
    }
    // Activity at every kind of organisation, in no order, some on the
    // same day (ordered by id then), one with a comma and quotes.
    let codes: Vec<&str> = tree.orgs.iter().map(|(c, _, _)| c.as_str()).collect();
    let mut activity = String::from("activity_id,ods_code,account_id,kind,occurred_at,detail\n");
    let mut records: Vec<(String, String, String)> = Vec::new(); // (occurred_at, id, org)
    for i in 0..2000u32 {
        let org = codes[(i as usize * 7919) % codes.len()];
        let id = format!("A{:05}", (i * 4001) % 2000);
        let day = format!("2019-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
        let detail = if i == 5 {
            "\"QOF, 2019\"\"20\"\"\""
        } else {
            "offered"
        };
        activity.push_str(&format!("{id},{org},U1,offer-made,{day},{detail}\n"));
        records.push((day, id, org.to_string()));
    }
    for (kind, text) in [
        ("organisations", organisations),
        ("accounts", accounts),
        ("permissions", permissions),
        ("activity", activity),
    ] {
        let file = write(&store, &format!("{kind}.csv"), text);
        store.run(&["import", kind, &file]).ok();
    }
    records.sort();
    for (id, orgs) in &users {
        let expected: Vec<&str> = records
            .iter()
            .filter(|(_, _, org)| tree.visible(org, orgs))
            .map(|(_, id, _)| id.as_str())
            .collect();
        let rows = store.run(&["history", id, "--format", "csv"]).ok().csv();
        let got: Vec<&str> = rows.iter().map(|r| r["activity_id"].as_str()).collect();
        assert_eq!(got, expected, "{id} with roles at {orgs:?}");
        // Every field as imported (the detail with its comma and quotes).
        for row in &rows {
            let (day, _, org) = records
                .iter()
                .find(|(_, i, _)| i == &row["activity_id"])
                .unwrap();
            assert_eq!((&row["occurred_at"], &row["ods_code"]), (day, org));
            let detail = if row["activity_id"] == format!("A{:05}", (5 * 4001) % 2000) {
                "QOF, 2019\"20\""
            } else {
                "offered"
            };
            assert_eq!(row["detail"], detail);
        }
        // The table piped (written directly, padded by hand) has the same
        // records, in the same order, each cell padded to its column.
        let table = store.run(&["history", id]).ok().stdout;
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), expected.len() + 2, "{id}: header, rule, rows");
        let width = lines[0].len();
        for (line, want) in lines[2..].iter().zip(&expected) {
            assert_eq!(line.len(), width, "{line}");
            assert_eq!(line.split('|').nth(1).unwrap().trim(), *want);
        }
    }
    // The region's user really is the case of hundreds of organisations.
    let region_sees = codes.iter().filter(|c| tree.visible(c, &["R11"])).count();
    assert!(region_sees > 200, "{region_sees}");
}

#[test]
fn report_csv_quotes_what_needs_quoting_and_nothing_else() {
    // Names with a comma, a quote and a line break, a formula-like name:
    // read back by a CSV reader they are what `accounts show` says.
    let store = Store::with_fixtures();
    let accounts = "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         U9000001,odd1,odd.one@example.com,\"Ann, Marie\",\"O\"\"Neil\",active,2015-01-01,\n\
         U9000002,odd2,odd.two@example.com,=SUM(A1),Smith,active,2015-01-01,\n";
    let file = write(&store, "more-accounts.csv", accounts);
    store.run(&["import", "accounts", &file]).ok();
    let report = store.run(&["report", "--format", "csv"]).ok();
    let rows = report.csv();
    for id in ["U9000001", "U9000002"] {
        let shown = store
            .run(&["accounts", "show", id, "--format", "json"])
            .ok()
            .json();
        let account = &shown[0];
        let row = rows
            .iter()
            .find(|r| r["account_id"] == id)
            .expect("in the report (no roles: the administrator's)");
        let given = account["given_name"].as_str().unwrap();
        // A formula is neutralised with a leading apostrophe.
        let expected_given = if given.starts_with('=') {
            format!("'{given}")
        } else {
            given.to_string()
        };
        assert_eq!(row["given_name"], expected_given);
        assert_eq!(row["family_name"], account["family_name"].as_str().unwrap());
    }
    // Only fields that need it are quoted: a plain row has no quote at all.
    let plain = report
        .stdout
        .lines()
        .find(|l| l.contains("U0000010"))
        .expect("a fixture row");
    assert!(!plain.contains('"'), "{plain}");
    assert!(report.stdout.contains("\"Ann, Marie\",\"O\"\"Neil\""));
}

/// A region's user's history is read by a scan of the whole activity table
/// (SQLite), a practice user's through the index: the records both see
/// (one without a detail) come back exactly the same either way, and the
/// region's user sees none of another region's.
#[test]
fn a_region_scan_and_an_index_read_give_the_same_records() {
    let tree = Tree::new();
    let store = Store::new();
    let organisations = tree.organisations_csv();
    let accounts = "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
                    U1,u1,u1@nhs.net,A,B,active,2015-01-01,\n\
                    U2,u2,u2@nhs.net,C,D,active,2015-01-01,\n";
    let permissions = "account_id,ods_code,role,payment_types\nU1,R11,view,\nU2,P004,view,\n";
    let activity = "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
                    A3,P004,U2,offer-made,2019-01-02,\n\
                    A1,P004,U2,offer-accepted,2019-01-02,QOF\n\
                    A2,P005,U2,offer-made,2018-12-31,elsewhere\n\
                    A0,Q01,U2,offer-made,2018-01-01,another region\n";
    for (kind, text) in [
        ("organisations", organisations.as_str()),
        ("accounts", accounts),
        ("permissions", permissions),
        ("activity", activity),
    ] {
        let file = write(&store, &format!("{kind}.csv"), text);
        store.run(&["import", kind, &file]).ok();
    }
    let region = store
        .run(&["history", "U1", "--format", "json"])
        .ok()
        .json();
    let practice = store
        .run(&["history", "U2", "--format", "json"])
        .ok()
        .json();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["activity_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&region), ["A2", "A1", "A3"]);
    assert_eq!(ids(&practice), ["A1", "A3"]);
    // The practice's two records, each the same whichever way it was read.
    for record in practice.as_array().unwrap() {
        let same = region
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["activity_id"] == record["activity_id"])
            .unwrap();
        assert_eq!(same, record);
    }
}
