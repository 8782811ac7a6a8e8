//! Operators and their areas on a real PostgreSQL server (issue 12, item
//! 4): two area operators (the commissioners 07L and 15N) and a national
//! one, registered by the store's owner. Each sees, in the tool and in
//! psql, exactly the accounts holding a role in its area (worked out here
//! from the fixture files, independently of the store); is refused outside
//! it, by the tool (exit 1, naming the other areas and who can act) and by
//! the database itself (row-level security); and is named in the change
//! log whatever --actor says.

use std::collections::{BTreeSet, HashMap};

use super::common::{FIXTURE_FILES, Run, fixture};
use super::pg_server::{self, Db};

const TODAY: &str = "2020-09-01";

/// The logins of the test: (login, password, --org).
const AREA_07L: (&str, &str, &str) = ("ops07l", "pw-07l", "07L");
const AREA_15N: (&str, &str, &str) = ("ops15n", "pw-15n", "15n");
const NATIONAL: (&str, &str) = ("opsnat", "pw-nat");

/// A login's name on this test's database (logins are the server's, not
/// the database's: each test has its own).
fn n(db: &Db, login: &str) -> String {
    format!("{}_{login}", db.name)
}

/// A store with the fixtures imported by its owner and the three operators
/// registered; None when the PostgreSQL tests are skipped.
fn store() -> Option<Db> {
    let db = pg_server::database()?;
    for kind in FIXTURE_FILES {
        let path = fixture(&format!("{kind}.csv"));
        db.run(&["import", kind, path.to_str().unwrap()]).ok();
    }
    for (login, password) in [
        (&n(&db, AREA_07L.0), AREA_07L.1),
        (&n(&db, AREA_15N.0), AREA_15N.1),
        (&n(&db, NATIONAL.0), NATIONAL.1),
    ] {
        db.login(login, password);
    }
    db.run(&["operators", "add", &n(&db, AREA_07L.0), "--org", AREA_07L.2])
        .ok();
    db.run(&["operators", "add", &n(&db, AREA_15N.0), "--org", AREA_15N.2])
        .ok();
    db.run(&["operators", "add", &n(&db, NATIONAL.0)]).ok();
    Some(db)
}

/// The binary as `login` on the store.
fn run_as(db: &Db, login: &str, password: &str, args: &[&str]) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", password)
        .arg("--db")
        .arg(db.url_for(login))
        .arg("--today")
        .arg(TODAY)
        .args(args);
    pg_server::run(c)
}

/// The rows of a fixture file after its header, as trimmed fields.
fn fixture_rows(kind: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(fixture(&format!("{kind}.csv")))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.trim().to_string()).collect())
        .collect()
}

/// The accounts holding a role in the area of `org` (it and everything
/// below it), from the fixture files alone; every account for None.
fn expected_accounts(org: Option<&str>) -> BTreeSet<String> {
    let Some(org) = org else {
        return fixture_rows("accounts")
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
    };
    let parents: HashMap<String, String> = fixture_rows("organisations")
        .into_iter()
        .map(|r| (r[0].to_uppercase(), r[3].to_uppercase()))
        .collect();
    let in_area = |code: &str| {
        let mut at = code.to_uppercase();
        loop {
            if at == org.to_uppercase() {
                return true;
            }
            match parents.get(&at) {
                Some(p) if !p.is_empty() => at = p.clone(),
                _ => return false,
            }
        }
    };
    fixture_rows("permissions")
        .into_iter()
        .filter(|r| in_area(&r[1]))
        .map(|r| r[0].clone())
        .collect()
}

/// The account ids the audit lists (every account, disabled included).
fn audited(run: Run) -> BTreeSet<String> {
    run.ok()
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

fn psql_ids(db: &Db, login: &str, password: &str) -> BTreeSet<String> {
    db.psql(login, password, "SELECT account_id FROM accounts")
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn each_operator_sees_exactly_its_area_in_the_tool_and_in_psql() {
    let Some(db) = store() else { return };
    let all = expected_accounts(None);
    for (login, password, org) in [
        (&n(&db, AREA_07L.0), AREA_07L.1, Some(AREA_07L.2)),
        (&n(&db, AREA_15N.0), AREA_15N.1, Some(AREA_15N.2)),
        (&n(&db, NATIONAL.0), NATIONAL.1, None),
    ] {
        let expected = expected_accounts(org);
        assert!(!expected.is_empty() && (org.is_none() || expected.len() < all.len()));
        let seen = audited(run_as(
            &db,
            login,
            password,
            &["--format", "csv", "audit", "--include-disabled"],
        ));
        assert_eq!(seen, expected, "{login}: audit");
        assert_eq!(psql_ids(&db, login, password), expected, "{login}: psql");
        // Roles: those of the accounts it sees (all of their roles).
        let roles = db
            .psql(
                login,
                password,
                "SELECT DISTINCT account_id FROM permissions",
            )
            .ok()
            .stdout;
        let roles: BTreeSet<String> = roles.lines().map(str::to_string).collect();
        let holding: BTreeSet<String> = fixture_rows("permissions")
            .into_iter()
            .map(|r| r[0].clone())
            .filter(|id| expected.contains(id))
            .collect();
        assert_eq!(roles, holding, "{login}: permissions");
        // One account of its area, and one outside it, in `accounts show`.
        let inside = expected.iter().next().unwrap();
        run_as(&db, login, password, &["accounts", "show", inside]).ok();
        if let Some(outside) = all.difference(&expected).next() {
            let r = run_as(&db, login, password, &["accounts", "show", outside]);
            assert_eq!(r.code, 1, "{login} sees {outside}: {}", r.stdout);
            // The report names no account outside the area.
            let report = run_as(&db, login, password, &["--format", "csv", "report"]).ok();
            for id in all.difference(&expected) {
                assert!(
                    !report.stdout.contains(id.as_str()),
                    "{login}: report names {id}"
                );
            }
        }
    }
    // The owner sees everything, and the two areas do not overlap but for
    // the account with roles in both.
    assert_eq!(psql_ids(&db, &db.owner, &db.owner_password), all);
    let both: Vec<String> = expected_accounts(Some("07L"))
        .intersection(&expected_accounts(Some("15N")))
        .cloned()
        .collect();
    assert_eq!(both, ["U0000035"]);
}

#[test]
fn an_area_operator_is_refused_outside_its_area_by_the_tool_and_by_the_database() {
    let Some(db) = store() else { return };
    let (login, password) = (&n(&db, AREA_07L.0), AREA_07L.1);
    // U0000035 holds roles at F82002 (07L) and L83003 (15N): 07L sees it
    // but may not replace it; only the national operator can.
    let r = run_as(
        &db,
        login,
        password,
        &["replace", "U0000035", "--email", "someone@nhs.net", "--yes"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("U0000035")
            && r.stderr.contains("L83003")
            && r.stderr.contains(&n(&db, NATIONAL.0))
            && r.stderr.contains("Nothing was changed"),
        "{}",
        r.stderr
    );
    // U0000004 lies wholly in 15N: its area operator can act on it.
    let r = run_as(
        &db,
        login,
        password,
        &["replace", "U0000004", "--email", "someone@nhs.net", "--yes"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("L83001") && r.stderr.contains(&format!("{} (15N)", n(&db, AREA_15N.0))),
        "{}",
        r.stderr
    );
    // psql under the same login: the account it sees but may not change
    // is refused by row-level security; the one it cannot see is not there.
    let r = db.psql(
        login,
        password,
        "UPDATE accounts SET status = 'disabled' WHERE account_id = 'U0000035'",
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("row-level security"), "{}", r.stderr);
    let r = db.psql(
        login,
        password,
        "UPDATE accounts SET status = 'disabled' WHERE account_id = 'U0000004' RETURNING 1",
    );
    assert_eq!(r.ok().stdout.trim(), "");
    let r = db.psql(
        login,
        password,
        "INSERT INTO accounts (account_id, username, email, given_name, family_name, status, replaces)
         VALUES ('X1', 'x@nhs.net', 'x@nhs.net', 'X', 'Y', 'active', 'U0000004')",
    );
    assert!(r.stderr.contains("row-level security"), "{}", r.stderr);
    // Not even a replacement of its own area's account may be given a
    // role the old account does not hold, nor an account no replacement.
    let r = db.psql(
        login,
        password,
        "INSERT INTO permissions (account_id, ods_code, role) VALUES ('U0000001', 'F82001', 'view')",
    );
    assert!(r.stderr.contains("row-level security"), "{}", r.stderr);
    // Columns other than status and the replacement link are not its to change.
    let r = db.psql(
        login,
        password,
        "UPDATE accounts SET given_name = 'Z' WHERE account_id = 'U0000001'",
    );
    assert!(r.stderr.contains("permission denied"), "{}", r.stderr);
    // Imports and the cutover date are not an area operator's.
    let r = run_as(
        &db,
        login,
        password,
        &[
            "import",
            "activity",
            fixture("activity.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains(&db.owner), "{}", r.stderr);
    let r = run_as(&db, login, password, &["cutover", "set", "2031-01-01"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("national operator"), "{}", r.stderr);
    let r = db.psql(
        login,
        password,
        "UPDATE settings SET value = '2031-01-01' WHERE key = 'cutover'",
    );
    assert!(r.stderr.contains("row-level security") || r.ok().stdout.is_empty());
    run_as(
        &db,
        &n(&db, NATIONAL.0),
        NATIONAL.1,
        &["cutover", "set", "2031-01-01"],
    )
    .ok();
    // Nothing of all this was written.
    let log = db
        .psql_owner("SELECT count(*) FROM change_log WHERE old_account_id IS NOT NULL")
        .ok()
        .stdout;
    assert_eq!(log.trim(), "0");
}

#[test]
fn each_operator_replaces_its_own_area_and_the_change_log_names_its_login() {
    let Some(db) = store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut replaced: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (login, password, org) in [
        (n(&db, AREA_07L.0), AREA_07L.1, AREA_07L.2),
        (n(&db, AREA_15N.0), AREA_15N.1, AREA_15N.2),
    ] {
        let login = login.as_str();
        let plan = dir.path().join(format!("{login}.csv"));
        run_as(
            &db,
            login,
            password,
            &["plan", "--out", plan.to_str().unwrap()],
        )
        .ok();
        let rows: BTreeSet<String> = std::fs::read_to_string(&plan)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        assert!(!rows.is_empty(), "{login}: an empty plan");
        assert!(
            rows.is_subset(&expected_accounts(Some(org))),
            "{login}: {rows:?}"
        );
        // U0000035 holds roles in both areas: neither area operator may
        // replace it, so its plan leaves it out, saying who can act, and
        // the plan as written applies whole.
        assert!(!rows.contains("U0000035"), "{login}: {rows:?}");
        let json = run_as(
            &db,
            login,
            password,
            &[
                "--format",
                "json",
                "plan",
                "--force",
                "--out",
                plan.to_str().unwrap(),
            ],
        )
        .ok();
        let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let left_out = v["left_out"].as_array().unwrap();
        let it = left_out
            .iter()
            .find(|l| l["account_id"] == "U0000035")
            .unwrap_or_else(|| panic!("{login}: {}", json.stdout));
        assert_eq!(it["why"], "outside-area");
        let who = it["who_can_act"].as_str().unwrap();
        assert!(who.contains(&n(&db, NATIONAL.0)), "{who}");
        assert!(
            json.stderr
                .contains("1 account with a role outside your area"),
            "{}",
            json.stderr
        );
        run_as(
            &db,
            login,
            password,
            &[
                "--actor",
                "someone-else",
                "replace",
                "--plan",
                plan.to_str().unwrap(),
                "--yes",
            ],
        )
        .ok();
        replaced.insert(login.to_string(), rows);
    }
    // The log names the login, the claim beside it.
    let log = db
        .psql_owner(
            "SELECT actor, actor_claim, old_account_id FROM change_log
             WHERE action = 'replace' ORDER BY seq",
        )
        .ok()
        .stdout;
    let mut by_login: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in log.lines() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[1], "someone-else", "{line}");
        by_login
            .entry(f[0].to_string())
            .or_default()
            .insert(f[2].to_string());
    }
    for (login, rows) in &replaced {
        assert_eq!(by_login.get(login), Some(rows), "{login}");
    }
    // Each sees its own replacements, in the log, and not the other's.
    let mine = run_as(
        &db,
        &n(&db, AREA_07L.0),
        AREA_07L.1,
        &["--format", "csv", "log"],
    )
    .ok();
    for id in &replaced[n(&db, AREA_15N.0).as_str()] {
        assert!(!mine.stdout.contains(id.as_str()), "07L sees {id}");
    }
    for id in &replaced[n(&db, AREA_07L.0).as_str()] {
        assert!(mine.stdout.contains(id.as_str()), "07L misses {id}");
    }
    // A replacement of the other area's account cannot be reverted here;
    // the tool names who can.
    let theirs = db
        .psql_owner(&format!(
            "SELECT account_id FROM accounts WHERE replaces = '{}'",
            replaced[n(&db, AREA_15N.0).as_str()].iter().next().unwrap()
        ))
        .ok()
        .stdout;
    let r = run_as(
        &db,
        &n(&db, AREA_07L.0),
        AREA_07L.1,
        &["revert", theirs.trim(), "--yes"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!("{} (15N)", n(&db, AREA_15N.0)))
            && r.stderr.contains(&n(&db, NATIONAL.0)),
        "{}",
        r.stderr
    );
    // Its own it can, and the national operator anyone's; an area
    // operator's writes leave the whole chain intact.
    let own = db
        .psql_owner(&format!(
            "SELECT account_id FROM accounts WHERE replaces = '{}'",
            replaced[n(&db, AREA_07L.0).as_str()].iter().next().unwrap()
        ))
        .ok()
        .stdout;
    run_as(
        &db,
        &n(&db, AREA_07L.0),
        AREA_07L.1,
        &["revert", own.trim(), "--yes"],
    )
    .ok();
    run_as(
        &db,
        &n(&db, NATIONAL.0),
        NATIONAL.1,
        &["revert", theirs.trim(), "--yes"],
    )
    .ok();
    let log = db
        .psql_owner("SELECT actor FROM change_log WHERE action = 'revert' ORDER BY seq")
        .ok()
        .stdout;
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [&n(&db, AREA_07L.0), &n(&db, NATIONAL.0)]
    );
    db.run(&["verify"]).ok();
    run_as(&db, &n(&db, AREA_15N.0), AREA_15N.1, &["verify"]).ok();
}

#[test]
fn only_the_owner_registers_lists_and_removes_operators() {
    let Some(db) = store() else { return };
    let list = db
        .run(&["--format", "csv", "operators", "list"])
        .ok()
        .stdout;
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let logins: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[3])).collect();
    assert_eq!(
        logins,
        [
            (n(&db, AREA_07L.0).as_str(), "07L", db.owner.as_str()),
            (n(&db, AREA_15N.0).as_str(), "15N", db.owner.as_str()),
            (n(&db, NATIONAL.0).as_str(), "national", db.owner.as_str()),
        ]
    );
    for args in [
        &["operators", "list"][..],
        &["operators", "add", "someone"],
        &["operators", "remove", &n(&db, AREA_15N.0)],
    ] {
        for (login, password) in [
            (&n(&db, AREA_07L.0), AREA_07L.1),
            (&n(&db, NATIONAL.0), NATIONAL.1),
        ] {
            let r = run_as(&db, login, password, args);
            assert_eq!(r.code, 1, "{login} {args:?}");
            assert!(r.stderr.contains(&db.owner), "{}", r.stderr);
        }
    }
    // Refusals that say what to do.
    let r = db.run(&["operators", "add", "nobody_here"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("createuser"), "{}", r.stderr);
    let r = db.run(&["operators", "add", &n(&db, AREA_07L.0)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already an operator"), "{}", r.stderr);
    db.login("opsnew", "pw-new");
    let r = db.run(&["operators", "add", "opsnew", "--org", "NOPE"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no organisation NOPE"), "{}", r.stderr);
    // Removed: its grants are gone, in psql too, and the log says so.
    db.run(&["operators", "remove", &n(&db, AREA_15N.0)]).ok();
    let r = db.psql(
        &n(&db, AREA_15N.0),
        AREA_15N.1,
        "SELECT count(*) FROM accounts",
    );
    assert!(r.stderr.contains("permission denied"), "{}", r.stderr);
    let r = run_as(&db, &n(&db, AREA_15N.0), AREA_15N.1, &["audit"]);
    assert_eq!(r.code, 1);
    let log = db
        .psql_owner("SELECT action, actor, reason FROM change_log WHERE action LIKE 'operator%' ORDER BY seq")
        .ok()
        .stdout;
    let last = log.lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "operator remove|{}|{}",
            db.owner,
            &n(&db, AREA_15N.0)
        )),
        "{log}"
    );
    assert_eq!(log.lines().count(), 4);
}

#[test]
fn an_sqlite_store_has_no_operators() {
    let store = super::common::Store::with_fixtures();
    for args in [
        &["operators", "list"][..],
        &["operators", "add", "someone", "--org", "07L"],
        &["operators", "remove", "someone"],
    ] {
        let r = store.run(args);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains("shared PostgreSQL store"), "{}", r.stderr);
    }
}
