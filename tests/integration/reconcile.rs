//! The next CQRS export (issue 13 item 7; rules.md, "Replaced in CQRS
//! itself"): CQRS's own replacement accounts, under CQRS's ids, reconcile
//! with the accounts here instead of being refused or counted as
//! duplicates. Each case on a small store built here, on SQLite, and the
//! whole story on PostgreSQL too, where it must say what SQLite says.

use std::collections::BTreeMap;
use std::path::Path;

use super::common::{Run, Store};
use super::pg_server;

const TODAY: &str = "2020-09-01";

const ORGANISATIONS: &str = "\
ods_code,name,kind,parent_code,contact_email
Y58,South West,region,,sw@nhs.net
15N,Devon CCG,commissioner,Y58,devon@nhs.net
L83001,Practice One,practice,15N,
L83002,Practice Two,practice,15N,
";

/// The first export: five people, none at their NHSmail address.
const ACCOUNTS: &str = "\
account_id,username,email,given_name,family_name,status,created_at,last_login_at
U1,ann1,ann.lee@practice.nhs.uk,Ann,Lee,active,,
U2,bob2,bob.roe@gmail.com,Bob,Roe,active,,
U3,cat3,cat.day@practice.nhs.uk,Cat,Day,active,,
U4,dan4,dan.fox@practice.nhs.uk,Dan,Fox,active,,
U5,eve5,eve.kim@practice.nhs.uk,Eve,Kim,active,,
";

const PERMISSIONS: &str = "\
account_id,ods_code,role,payment_types
U1,L83001,service-management,QOF;DES
U1,L83001,view,
U2,L83001,view,
U3,L83002,achievement-entry,
U4,L83001,view,
U4,L83002,view,
U5,L83001,view,
";

const DIRECTORY: &str = "\
address,given_name,family_name,ods_code,status,mailbox_type
ann.lee@nhs.net,Ann,Lee,L83001,active,personal
bob.roe@nhs.net,Bob,Roe,L83001,active,personal
cat.day@nhs.net,Cat,Day,L83002,active,personal
dan.fox@nhs.net,Dan,Fox,L83001,active,personal
eve.kim@nhs.net,Eve,Kim,L83001,active,personal
";

const ACTIVITY: &str = "\
activity_id,ods_code,account_id,kind,occurred_at,detail
A1,L83001,U1,offer-made,2019-04-01,QOF
A2,L83002,U3,offer-accepted,2019-04-02,QOF
";

/// The next export: the same accounts, and CQRS's new ones under its own
/// ids. C1 is the account CQRS made for the address a replacement was made
/// for here (R1-U1), with that address as its username too; C2 one for a
/// person never replaced here (U2, at U2's confident match); C3 has the
/// address of U3's match under other names; C4 the address of R1-U4 with
/// fewer roles than U4; C5 the address of U5's match with a role more.
const NEXT_ACCOUNTS: &str = "\
C1,ann.lee@nhs.net,ann.lee@nhs.net,Ann,Lee,active,2020-08-01,
C2,bob.roe@nhs.net,bob.roe@nhs.net,Bob,Roe,active,2020-08-01,
C3,cat.day@nhs.net,cat.day@nhs.net,Catherine,Day,active,2020-08-01,
C4,dan.fox@nhs.net,dan.fox@nhs.net,Dan,Fox,active,2020-08-01,
C5,eve.kim@nhs.net,eve.kim@nhs.net,Eve,Kim,active,2020-08-01,
";

/// Their roles: C1's restrictions in another order (still the same).
const NEXT_PERMISSIONS: &str = "\
C1,L83001,service-management,DES;QOF
C1,L83001,view,
C2,L83001,view,
C3,L83002,achievement-entry,
C4,L83001,view,
C5,L83001,view,
C5,L83002,view,
";

/// Runs the binary on one back end, with the operator and today fixed.
type Runner<'a> = &'a dyn Fn(&[&str]) -> Run;

fn run(on: Runner<'_>, args: &[&str]) -> Run {
    let mut all = vec!["--actor", "test-operator", "--today", TODAY];
    all.extend_from_slice(args);
    on(&all)
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// The first export imported, and replacements made here for U1 and U4.
fn first_export(on: Runner<'_>, dir: &Path) {
    for (kind, content) in [
        ("organisations", ORGANISATIONS),
        ("accounts", ACCOUNTS),
        ("permissions", PERMISSIONS),
        ("directory", DIRECTORY),
        ("activity", ACTIVITY),
    ] {
        let file = write(dir, &format!("{kind}.csv"), content);
        run(on, &["import", kind, &file]).ok();
    }
    run(
        on,
        &["replace", "U1", "--email", "ann.lee@nhs.net", "--yes"],
    )
    .ok();
    run(
        on,
        &["replace", "U4", "--email", "dan.fox@nhs.net", "--yes"],
    )
    .ok();
}

/// The next export imported: every account again, and CQRS's own.
fn next_export(on: Runner<'_>, dir: &Path) -> (Run, Run) {
    let accounts = write(
        dir,
        "next-accounts.csv",
        &format!("{ACCOUNTS}{NEXT_ACCOUNTS}"),
    );
    let permissions = write(
        dir,
        "next-permissions.csv",
        &format!("{PERMISSIONS}{NEXT_PERMISSIONS}"),
    );
    let a = run(on, &["import", "accounts", &accounts]);
    let p = run(on, &["import", "permissions", &permissions]);
    (a, p)
}

/// The audit as account_id -> (category, match, section).
fn audit(on: Runner<'_>) -> BTreeMap<String, (String, String, String)> {
    run(on, &["audit", "--include-disabled", "--format", "csv"])
        .ok()
        .csv()
        .into_iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                (
                    r["category"].clone(),
                    r["match"].clone(),
                    r["section"].clone(),
                ),
            )
        })
        .collect()
}

fn category(audit: &BTreeMap<String, (String, String, String)>, id: &str) -> String {
    audit.get(id).map(|r| r.0.clone()).unwrap_or_default()
}

/// verify's rows as (old, new) -> (checked, roles_equal, history_equal, detail).
fn verify_rows(run: &Run) -> BTreeMap<(String, String), (String, String, String, String)> {
    run.csv()
        .into_iter()
        .map(|r| {
            (
                (r["old_account_id"].clone(), r["new_account_id"].clone()),
                (
                    r["checked"].clone(),
                    r["roles_equal"].clone(),
                    r["history_equal"].clone(),
                    r["detail"].clone(),
                ),
            )
        })
        .collect()
}

/// The story on one back end, checked case by case; gives what each
/// command printed, for comparing the back ends.
fn story(on: Runner<'_>, dir: &Path) -> Vec<String> {
    let mut said = Vec::new();
    first_export(on, dir);
    let before = audit(on);
    assert_eq!(category(&before, "U2"), "other-domain");
    assert_eq!(before["U2"].1, "bob.roe@nhs.net");
    assert_eq!(category(&before, "R1-U1"), "ok");

    // The import succeeds, the old accounts unchanged, the new ones added.
    let (a, p) = next_export(on, dir);
    let (a, p) = (a.ok(), p.ok());
    said.push(a.stdout.clone() + &a.stderr);
    said.push(p.stdout.clone() + &p.stderr);
    let shown = run(on, &["accounts", "show", "U1", "--format", "json"])
        .ok()
        .json();
    assert_eq!(shown[0]["email"], "ann.lee@practice.nhs.uk");
    assert_eq!(shown[0]["replaced_by"], "R1-U1");

    let after = audit(on);
    said.push(format!("{after:?}"));
    // A replacement made here, realised by CQRS's account: superseded by
    // it, and no duplicate of it.
    assert_eq!(category(&after, "U1"), "superseded");
    assert_eq!(category(&after, "R1-U1"), "superseded");
    assert_eq!(category(&after, "C1"), "ok");
    // A person never replaced here, replaced in CQRS.
    assert_eq!(category(&after, "U2"), "superseded");
    assert_eq!(after["U2"].2, "", "it leaves the report");
    assert_eq!(category(&after, "C2"), "ok");
    // Other names, or other roles: not a replacement.
    assert_eq!(category(&after, "U3"), "nhs-uk-domain");
    assert_eq!(after["U3"].1, "cat.day@nhs.net");
    assert_eq!(after["U3"].2, "contact-commissioner");
    assert_eq!(category(&after, "U5"), "nhs-uk-domain");
    assert_eq!(category(&after, "R1-U4"), "duplicate-email");
    assert_eq!(category(&after, "C4"), "duplicate-email");
    assert_eq!(category(&after, "U4"), "superseded");

    // The report: U2 has left it, U3 and U5 are still there, R1-U4 and C4
    // are the administrator's.
    let report = run(on, &["report", "--format", "csv"]).ok();
    said.push(report.stdout.clone());
    let rows = report.csv();
    let listed = |id: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["account_id"] == id)
            .map(|r| r["section"].clone())
            .collect()
    };
    assert!(listed("U1").is_empty() && listed("R1-U1").is_empty() && listed("C1").is_empty());
    assert!(listed("U2").is_empty(), "{rows:?}");
    assert_eq!(listed("U3"), ["contact-commissioner"]);
    assert_eq!(listed("U5"), ["contact-commissioner"]);
    assert_eq!(listed("R1-U4"), ["administrator"]);
    assert_eq!(listed("C4"), ["administrator"]);
    // ... and says what differs where CQRS's account is not a replacement.
    let differs = |id: &str| -> String {
        rows.iter()
            .find(|r| r["account_id"] == id)
            .map(|r| r["not_a_replacement"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        differs("U3"),
        "account C3: names differ (`Cat Day` here, `Catherine Day` in CQRS's account)"
    );
    assert_eq!(differs("U5"), "account C5: roles extra: L83002 view");
    assert_eq!(differs("R1-U4"), "account C4: roles missing: L83002 view");
    assert_eq!(differs("C4"), "");
    let json = run(on, &["report", "--format", "json"]).ok().json();
    let u3 = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account_id"] == "U3")
        .unwrap();
    assert_eq!(u3["not_a_replacement"], differs("U3").as_str());
    let table = run(on, &["report"]).ok().stdout;
    assert!(
        table.contains("Not replacements (accounts that hold the address"),
        "{table}"
    );
    assert!(table.contains("account C5: roles extra"), "{table}");

    // Sign-in reaches CQRS's account alone.
    let signin = run(on, &["signin", "ann.lee@nhs.net", "--format", "json"]).ok();
    said.push(signin.stdout.clone());
    let signin = signin.json();
    assert_eq!(signin["outcome"], "message-centre", "{signin}");
    assert_eq!(signin["account_id"], "C1");
    assert_eq!(signin["unusable_accounts"][0]["account_id"], "R1-U1");
    assert_eq!(signin["unusable_accounts"][0]["realised_by"], "C1");
    let table = run(on, &["signin", "ann.lee@nhs.net"]).ok();
    assert!(
        table.stdout.contains(
            "R1-U1, the replacement made here for this address, is realised by CQRS's account C1"
        ),
        "{}",
        table.stdout
    );
    // Not a replacement: two live accounts, as before.
    let dan = run(on, &["signin", "dan.fox@nhs.net", "--format", "json"])
        .ok()
        .json();
    assert_eq!(dan["outcome"], "ambiguous");

    // verify checks CQRS's accounts against the old ones, and passes.
    let verify = run(on, &["verify", "--format", "csv"]).ok();
    said.push(verify.stdout.clone());
    let rows = verify_rows(&verify);
    let row = |old: &str, new: &str| rows[&(old.to_string(), new.to_string())].clone();
    assert_eq!(
        row("U1", "C1"),
        (
            "realised-in-cqrs".into(),
            "true".into(),
            "true".into(),
            "replacement made here: R1-U1".into()
        )
    );
    assert!(
        !rows.contains_key(&("U1".into(), "R1-U1".into())),
        "the realised replacement is checked as CQRS's account: {rows:?}"
    );
    assert_eq!(
        row("U2", "C2"),
        (
            "replaced-in-cqrs".into(),
            "true".into(),
            "true".into(),
            String::new()
        )
    );
    assert_eq!(row("U4", "R1-U4").0, "replacement");
    assert_eq!(row("U4", "R1-U4").1, "true");
    let c3 = row("U3", "C3");
    assert_eq!(c3.0, "not-a-replacement");
    assert!(
        c3.3.contains("names differ (`Cat Day` here, `Catherine Day` in CQRS's account)"),
        "{c3:?}"
    );
    let c4 = row("U4", "C4");
    assert_eq!(
        (c4.0.as_str(), c4.1.as_str()),
        ("not-a-replacement", "false")
    );
    assert!(c4.3.contains("roles missing: L83002 view"), "{c4:?}");
    assert!(c4.3.contains("replacement made here: R1-U4"), "{c4:?}");
    let c5 = row("U5", "C5");
    assert!(c5.3.contains("roles extra: L83002 view"), "{c5:?}");
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        verify.stderr.contains(
            "3 other accounts with the address of an account here are not its replacement"
        ),
        "{}",
        verify.stderr
    );

    // accounts show says it, each path agreeing with the audit.
    for id in [
        "U1", "R1-U1", "C1", "U2", "C2", "U3", "C3", "U4", "R1-U4", "C4", "U5", "C5",
    ] {
        let shown = run(on, &["accounts", "show", id, "--format", "json"])
            .ok()
            .json();
        assert_eq!(
            shown[0]["category"].as_str().unwrap(),
            category(&after, id),
            "accounts show {id}"
        );
    }
    let r1 = run(on, &["accounts", "show", "R1-U1"]).ok();
    said.push(r1.stdout.clone());
    assert!(
        r1.stdout.contains(
            "in CQRS: realised in CQRS by account C1: sign-in with this address reaches that account"
        ),
        "{}",
        r1.stdout
    );
    let u2 = run(on, &["accounts", "show", "U2", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        u2[0]["cqrs"][0],
        "replaced in CQRS by account C2 (same names, exactly the same roles)"
    );
    let u3 = run(on, &["accounts", "show", "U3"]).ok();
    assert!(
        u3.stdout.contains(
            "in CQRS: CQRS's account C3 has the address but is not its replacement: names differ"
        ),
        "{}",
        u3.stdout
    );
    // CQRS's account sees the old account's history.
    let old = run(on, &["history", "U1", "--format", "csv"]).ok().stdout;
    let new = run(on, &["history", "C1", "--format", "csv"]).ok().stdout;
    assert_eq!(old, new);
    assert!(old.contains("A1"));
    said
}

#[test]
fn the_next_cqrs_export_reconciles_on_sqlite() {
    let store = Store::new();
    story(&|args| store.run(args), store.dir.path());
}

#[test]
fn the_next_cqrs_export_reconciles_on_postgresql_as_on_sqlite() {
    let Some(pg) = pg_server::database() else {
        return;
    };
    let store = Store::new();
    let on_sqlite = story(&|args| store.run(args), store.dir.path());
    let pg_dir = tempfile::tempdir().unwrap();
    let on_pg = story(&|args| pg.run(args), pg_dir.path());
    // What each said, with each store's name and folder made the same.
    let same = |text: &str, db: &str, dir: &Path| {
        text.replace(db, "STORE")
            .replace(&dir.display().to_string(), "DIR")
    };
    for (pg_said, sqlite_said) in on_pg.iter().zip(&on_sqlite) {
        assert_eq!(
            same(pg_said, &pg.url(), pg_dir.path()),
            same(
                sqlite_said,
                &store.db.display().to_string(),
                store.dir.path()
            )
        );
    }
}

/// Computed from the data at every audit: revert the replacement made here
/// and CQRS's account still replaces the old one (now at its confident
/// match); disable CQRS's account and the old account needs action again.
#[test]
fn a_revert_or_a_later_export_keeps_it_right() {
    let store = Store::new();
    let on: Runner<'_> = &|args| store.run(args);
    first_export(on, store.dir.path());
    next_export(on, store.dir.path()).0.ok();
    run(
        on,
        &["revert", "R1-U1", "--reason", "made in CQRS", "--yes"],
    )
    .ok();
    let after = audit(on);
    assert_eq!(category(&after, "R1-U1"), "disabled");
    assert_eq!(
        category(&after, "U1"),
        "superseded",
        "replaced in CQRS: {after:?}"
    );
    assert_eq!(category(&after, "C1"), "ok");
    let verify = verify_rows(&run(on, &["verify", "--format", "csv"]).ok());
    assert_eq!(verify[&("U1".into(), "C1".into())].0, "replaced-in-cqrs");

    // A later export with C2 disabled: U2 is back in the report.
    let later = NEXT_ACCOUNTS.replace(
        "C2,bob.roe@nhs.net,bob.roe@nhs.net,Bob,Roe,active",
        "C2,bob.roe@nhs.net,bob.roe@nhs.net,Bob,Roe,disabled",
    );
    let file = write(store.dir.path(), "later.csv", &format!("{ACCOUNTS}{later}"));
    run(on, &["import", "accounts", &file]).ok();
    let later = audit(on);
    assert_eq!(category(&later, "U2"), "other-domain");
    assert_eq!(later["U2"].2, "contact-commissioner");
}

/// Before the import accepted them, CQRS's accounts with a replacement's
/// username were refused; one whose email is not that replacement's
/// address still is, with its line and what to do, and nothing changes.
#[test]
fn an_account_with_a_replacements_username_but_another_address_is_refused() {
    let store = Store::new();
    let on: Runner<'_> = &|args| store.run(args);
    first_export(on, store.dir.path());
    let before = store.snapshot();
    let file = write(
        store.dir.path(),
        "bad.csv",
        &format!("{ACCOUNTS}C9,ann.lee@nhs.net,someone.else@nhs.net,Sam,Else,active,,\n"),
    );
    let refused = run(on, &["import", "accounts", &file]).fails(1);
    assert!(refused.stderr.contains("line 7"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "the username `ann.lee@nhs.net` belongs to the replacement account R1-U1 made here for `ann.lee@nhs.net`"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("this row's email is `someone.else@nhs.net`")
    );
    assert_eq!(store.snapshot(), before);
    // The username of an account from CQRS stays CQRS's own.
    let file = write(
        store.dir.path(),
        "taken.csv",
        &format!("{ACCOUNTS}C9,bob2,bob.roe@nhs.net,Bob,Roe,active,,\n"),
    );
    let refused = run(on, &["import", "accounts", &file]).fails(1);
    assert!(
        refused
            .stderr
            .contains("the username `bob2` already belongs to account U2"),
        "{}",
        refused.stderr
    );
    assert_eq!(store.snapshot(), before);
}

/// A replacement made here that fails its check still makes verify exit 1;
/// an account of CQRS's that is not a replacement never does.
#[test]
fn verify_fails_only_for_a_replacement_that_differs() {
    let store = Store::new();
    let on: Runner<'_> = &|args| store.run(args);
    first_export(on, store.dir.path());
    next_export(on, store.dir.path()).0.ok();
    next_export(on, store.dir.path()).1.ok();
    run(on, &["verify"]).ok();
    // A role more for the replacement made here, as a later import of
    // permissions could give it.
    let file = write(
        store.dir.path(),
        "more.csv",
        "account_id,ods_code,role,payment_types\nR1-U4,Y58,view,\n",
    );
    run(on, &["import", "permissions", &file]).ok();
    let failed = run(on, &["verify"]).fails(1);
    assert!(
        failed
            .stderr
            .contains("1 replacement(s) differ from the account they replaced: R1-U4"),
        "{}",
        failed.stderr
    );
}
