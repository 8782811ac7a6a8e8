//! The PostgreSQL audit's progress snapshot after migration 8 (its counts by
//! organisations without a key on (day, organisations)), on a real server
//! (pg_server.rs): the day after an earlier audit has its groups updated,
//! never doubled; a store made before the migration is upgraded in place,
//! its rows kept; and `store copy` carries the counts by organisations to
//! SQLite and back, so that an area operator sees the same progress in the
//! copy.

use std::collections::BTreeMap;
use std::path::Path;

use cqrs_admin::store::postgres::schema::MIGRATIONS;

use super::common::{FIXTURE_FILES, Run, fixture};
use super::pg_server::{self, Db};

const DAY1: &str = "2026-11-02";
const DAY2: &str = "2026-11-09";

/// The area operator's login (with the database's name before it: logins
/// are the server's), its password and its organisation.
const AREA: (&str, &str, &str) = ("ops07l", "pw-07l", "07L");

fn area_login(db: &Db) -> String {
    format!("{}_{}", db.name, AREA.0)
}

fn import_fixtures(db: &Db) {
    for kind in FIXTURE_FILES {
        let path = fixture(&format!("{kind}.csv"));
        db.run(&["import", kind, path.to_str().unwrap()]).ok();
    }
}

/// A store with the fixtures and the area operator registered (its login
/// made unless `login` is false: a second store reuses the first's).
fn store_with_area(login: bool) -> Option<Db> {
    let db = pg_server::database()?;
    import_fixtures(&db);
    if login {
        db.login(&area_login(&db), AREA.1);
    }
    db.run(&["operators", "add", &area_login(&db), "--org", AREA.2])
        .ok();
    Some(db)
}

/// The binary as `login` on `db`.
fn run_as(db: &Db, login: &str, args: &[&str]) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", AREA.1)
        .arg("--db")
        .arg(db.url_for(login))
        .args(args);
    pg_server::run(c)
}

/// Every replacement a plan proposes, made by the owner.
fn replace_planned(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.csv");
    db.run(&["--today", DAY1, "plan", "--out", plan.to_str().unwrap()])
        .ok();
    db.run(&["replace", "--plan", plan.to_str().unwrap(), "--yes"])
        .ok();
}

fn lines(run: Run) -> Vec<String> {
    run.ok().stdout.lines().map(str::to_string).collect()
}

/// Every group row, as psql prints it (organisations joined by commas).
const GROUPS: &str = "SELECT day, array_to_string(organisations, ','), accounts, ok, \
     contact_commissioner, no_nhsmail, administrator, fixed, new \
     FROM progress_groups ORDER BY day, organisations";

fn groups(db: &Db) -> Vec<String> {
    lines(db.psql_owner(GROUPS))
}

/// The same rows of an SQLite store (its organisations are the group's
/// key, codes joined by U+001F).
fn sqlite_groups(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT day, replace(organisations, char(31), ','), accounts, ok,
                    contact_commissioner, no_nhsmail, administrator, fixed, new
             FROM progress_groups ORDER BY day, organisations",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let mut fields = Vec::new();
        for i in 0..9 {
            fields.push(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                v => v.as_str().unwrap().to_string(),
            });
        }
        Ok(fields.join("|"))
    })
    .unwrap()
    .collect::<rusqlite::Result<Vec<_>>>()
    .unwrap()
}

/// `progress --format csv` as the area operator, one map a row.
fn area_progress(db: &Db) -> Vec<BTreeMap<String, String>> {
    run_as(db, &area_login(db), &["--format", "csv", "progress"])
        .ok()
        .csv()
}

/// Each day's national fixed and new, and the sums of its groups' (as
/// psql prints them: empty for NULL).
fn fixed_and_new_by_day(db: &Db) -> (Vec<String>, Vec<String>) {
    let national =
        lines(db.psql_owner("SELECT day, fixed, new FROM progress_snapshots ORDER BY day"));
    let summed = lines(db.psql_owner(
        "SELECT day, sum(fixed), sum(new) FROM progress_groups GROUP BY day ORDER BY day",
    ));
    (national, summed)
}

/// The rows of a day's groups that share their organisations with another.
fn doubled(db: &Db) -> Vec<String> {
    lines(db.psql_owner(
        "SELECT day, organisations FROM progress_groups GROUP BY day, organisations \
         HAVING count(*) > 1",
    ))
}

/// An audit of an earlier day, after replacements, compares the day after
/// it afresh: that day's groups get their fixed and new counts (updated in
/// place, a group it lacks added), so that each day's groups add up to the
/// national row, with no group twice.
#[test]
fn an_earlier_days_audit_updates_the_day_after_its_groups_without_doubling_them() {
    let Some(db) = store_with_area(true) else {
        return;
    };
    db.run(&["--today", DAY2, "audit", "--counts"]).ok();
    replace_planned(&db);
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    let (national, summed) = fixed_and_new_by_day(&db);
    assert_eq!(national.len(), 2, "{national:?}");
    assert_eq!(summed, national);
    // Day 2 is compared with day 1, which the replacements changed.
    let day2: Vec<&str> = national[1].split('|').collect();
    assert_eq!(day2[0], DAY2);
    assert!(day2[1] != "0" || day2[2] != "0", "{national:?}");
    assert!(doubled(&db).is_empty(), "{:?}", doubled(&db));
    // The same day again replaces its groups: still none twice, the same
    // sums.
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    assert!(doubled(&db).is_empty(), "{:?}", doubled(&db));
    assert_eq!(fixed_and_new_by_day(&db), (national.clone(), national));
}

/// A store whose schema is as the version before migration 8 made it, with
/// a day's counts by organisations kept then, is upgraded in place by the
/// first command: the key on (day, organisations) gone, a BRIN index on
/// the day instead, the GIN index kept, and the kept row still read by an
/// area operator's progress beside the days audited after.
#[test]
fn a_store_made_before_migration_8_is_upgraded_in_place() {
    let Some(db) = pg_server::database() else {
        return;
    };
    let mine = MIGRATIONS
        .iter()
        .position(|m| m.contains("progress_groups_by_day"))
        .expect("migration 8 is listed");
    let mut before = pg_server::schema_of_first_migrations(mine);
    // A day kept by the earlier version: one group, at the area's
    // commissioner.
    before.push_str(
        "INSERT INTO progress_groups (day, organisations, accounts, ok, contact_commissioner,
             no_nhsmail, administrator, fixed, new)
         VALUES ('2026-10-01', '{07L}', 7, 3, 2, 1, 1, NULL, NULL);",
    );
    db.psql_owner(&before).ok();
    let indexes = |db: &Db| {
        lines(db.psql_owner(
            "SELECT indexname || ' ' || split_part(indexdef, ' USING ', 2) FROM pg_indexes \
             WHERE tablename = 'progress_groups' ORDER BY indexname",
        ))
    };
    assert_eq!(
        indexes(&db),
        [
            "progress_groups_by_organisation gin (organisations)",
            "progress_groups_pkey btree (day, organisations)"
        ]
    );
    import_fixtures(&db);
    assert_eq!(
        indexes(&db),
        [
            "progress_groups_by_day brin (day)",
            // Migration 12: a pending list that holds a day's groups.
            "progress_groups_by_organisation gin (organisations) \
             WITH (gin_pending_list_limit='32768')"
        ]
    );
    assert_eq!(
        lines(
            db.psql_owner("SELECT max(version) = count(*) AND count(*) > 0 FROM schema_migrations")
        ),
        ["t"]
    );
    db.login(&area_login(&db), AREA.1);
    db.run(&["operators", "add", &area_login(&db), "--org", AREA.2])
        .ok();
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    let rows = area_progress(&db);
    let days: Vec<&str> = rows.iter().map(|r| r["date"].as_str()).collect();
    assert_eq!(days, ["2026-10-01", DAY1]);
    assert_eq!(rows[0]["accounts"], "7");
    assert_eq!(rows[0]["needing_action"], "4");
    // The area's day 1 is the sum of the groups meeting its area, as psql
    // under the owner adds them up.
    let want = lines(db.psql_owner(&format!(
        "SELECT sum(accounts) FROM progress_groups
         WHERE day = '{DAY1}' AND organisations && (SELECT array_agg(ods_code)
             FROM (WITH RECURSIVE area(ods_code) AS (SELECT '{}'::text COLLATE \"C\" UNION
                   SELECT o.ods_code FROM organisations o JOIN area a ON o.parent_code = a.ods_code)
                   SELECT ods_code FROM area) x)",
        AREA.2
    )));
    assert_eq!(want, [rows[1]["accounts"].clone()]);
}

fn copy(db: &Db, from: &str, to: &str) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", &db.owner_password)
        .args(["store", "copy", from, to]);
    pg_server::run(c)
}

/// Two days' counts by organisations are copied into SQLite as they are,
/// and back into a second PostgreSQL store, where the same area operator
/// sees the same progress of its area as in the first.
#[test]
fn store_copy_carries_the_counts_by_organisations_to_sqlite_and_back() {
    let Some(db) = store_with_area(true) else {
        return;
    };
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    replace_planned(&db);
    db.run(&["--today", DAY2, "audit", "--counts"]).ok();
    let original = groups(&db);
    assert!(original.iter().any(|r| r.starts_with(DAY1)), "{original:?}");
    assert!(original.iter().any(|r| r.starts_with(DAY2)), "{original:?}");
    // Groups of several organisations are among them.
    assert!(
        original
            .iter()
            .any(|r| r.split('|').nth(1).unwrap().contains(','))
    );
    let progress = area_progress(&db);
    assert_eq!(progress.len(), 2, "{progress:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copy.db");
    let out = copy(&db, &db.url(), file.to_str().unwrap()).ok();
    assert!(out.stdout.contains("progress_groups"), "{}", out.stdout);
    assert_eq!(sqlite_groups(&file), original);

    // Back into a second store on the same server, where the same login
    // is made the same area's operator.
    let Some(back) = pg_server::database() else {
        return;
    };
    let mut c = back.cqrs();
    c.env("PGPASSWORD", &back.owner_password).args([
        "store",
        "copy",
        file.to_str().unwrap(),
        &back.url(),
    ]);
    pg_server::run(c).ok();
    assert_eq!(groups(&back), original);
    back.run(&["operators", "add", &area_login(&db), "--org", AREA.2])
        .ok();
    let progress = ["--format", "csv", "progress"];
    let shown = run_as(&back, &area_login(&db), &progress).ok().stdout;
    assert_eq!(shown, run_as(&db, &area_login(&db), &progress).ok().stdout);

    // An SQLite audit of a copied day replaces the day whole: its groups
    // go with it (this store keeps none of its own).
    let mut c = db.cqrs();
    c.args([
        "--db",
        file.to_str().unwrap(),
        "--today",
        DAY2,
        "audit",
        "--counts",
    ]);
    pg_server::run(c).ok();
    let left = sqlite_groups(&file);
    assert!(
        !left.is_empty() && left.iter().all(|r| r.starts_with(DAY1)),
        "{left:?}"
    );
}
