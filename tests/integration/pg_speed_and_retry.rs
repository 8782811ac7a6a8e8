//! The PostgreSQL store (on a real server, pg_server.rs): a write that
//! loses to another transaction (a real SQLSTATE 40001 or 40P01 raised by
//! the server during the write) is run again and does its work once; the
//! retries are bounded and say so when they run out; and only an explicit
//! `--actor`/`CQRS_ADMIN_ACTOR` is kept as a claim beside the login.

use super::common::{FIXTURE_FILES, fixture};
use super::pg_server::{self, Db};

const TODAY: &str = "2026-12-01";

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}

/// A store holding the fixtures, and the plan of every confident match.
fn store_with_plan() -> Option<(Db, String, usize)> {
    let db = pg_server::database()?;
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    let plan = db.home.path().join("plan.csv");
    db.run(&["--today", TODAY, "plan", "--out", &path(&plan)])
        .ok();
    let rows = std::fs::read_to_string(&plan).unwrap().lines().count() - 1;
    assert!(rows > 1, "the fixtures give a plan of several rows");
    Some((db, path(&plan), rows))
}

/// Makes every insert into or update of `accounts` call a function that
/// raises `sqlstate` (a real error of the server) on its first `fails`
/// calls. The count is a sequence, which a rollback does not undo, so the
/// failures survive the write they undo. A check constraint rather than a
/// trigger, so that the store is not taken for one changed past
/// cqrs-admin (an added trigger is refused before any write).
fn fail_accounts_writes(db: &Db, sqlstate: &str, fails: i64) {
    db.psql_owner(&format!(
        "CREATE SEQUENCE conflict_calls;
         CREATE FUNCTION conflict_first() RETURNS boolean LANGUAGE plpgsql AS $$
         BEGIN
             IF nextval('conflict_calls') <= {fails} THEN
                 RAISE EXCEPTION 'forced by the test' USING ERRCODE = '{sqlstate}';
             END IF;
             RETURN true;
         END $$;
         ALTER TABLE accounts ADD CONSTRAINT conflict_first CHECK (conflict_first()) NOT VALID;"
    ))
    .ok();
}

/// How many times the function was called (the sequence's last value).
fn calls(db: &Db) -> i64 {
    db.psql_owner("SELECT last_value FROM conflict_calls")
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap()
}

fn count(db: &Db, sql: &str) -> usize {
    db.psql_owner(sql).ok().stdout.trim().parse().unwrap()
}

#[test]
fn a_serialization_failure_during_replace_is_retried_and_each_account_replaced_once() {
    let Some((db, plan, rows)) = store_with_plan() else {
        return;
    };
    fail_accounts_writes(&db, "40001", 1);
    let done = db
        .run(&["--today", TODAY, "replace", "--plan", &plan, "--yes"])
        .ok();
    assert!(
        done.stdout
            .contains(&format!("{rows} replacement accounts created")),
        "{}",
        done.stdout
    );
    // The first attempt met the failure: the function ran again after it.
    assert!(calls(&db) > 1, "the forced failure was met");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"
        ),
        rows
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT old_account_id) FROM change_log WHERE action = 'replace'"
        ),
        rows
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM change_log WHERE action = 'replace'"
        ),
        rows
    );
    db.run(&["verify"]).ok();
}

#[test]
fn a_deadlock_during_revert_is_retried_and_the_revert_done_once() {
    let Some((db, plan, _)) = store_with_plan() else {
        return;
    };
    db.run(&["--today", TODAY, "replace", "--plan", &plan, "--yes"])
        .ok();
    let new_id = db
        .psql_owner("SELECT account_id FROM accounts WHERE replaces IS NOT NULL ORDER BY 1 LIMIT 1")
        .ok()
        .stdout
        .trim()
        .to_string();
    fail_accounts_writes(&db, "40P01", 1);
    db.run(&["revert", &new_id, "--yes"]).ok();
    assert!(calls(&db) > 1, "the forced deadlock was met");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM change_log WHERE action = 'revert'"
        ),
        1
    );
    assert_eq!(
        db.psql_owner(&format!(
            "SELECT status FROM accounts WHERE account_id = '{new_id}'"
        ))
        .ok()
        .stdout
        .trim(),
        "disabled"
    );
}

#[test]
fn retries_are_bounded_and_say_so_when_they_run_out() {
    let Some((db, plan, _)) = store_with_plan() else {
        return;
    };
    fail_accounts_writes(&db, "40001", i64::MAX);
    let refused = db
        .run(&["--today", TODAY, "replace", "--plan", &plan, "--yes"])
        .fails(1);
    assert!(
        refused.stderr.contains("SQLSTATE 40001")
            && refused.stderr.contains("was tried 8 times")
            && refused.stderr.contains("nothing was changed")
            && refused.stderr.contains("Run the command again"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM change_log"), 0);
}

#[test]
fn only_an_explicit_actor_is_kept_as_a_claim_beside_the_login() {
    let Some((db, plan, _)) = store_with_plan() else {
        return;
    };
    let ids: Vec<String> = std::fs::read_to_string(&plan)
        .unwrap()
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let header = std::fs::read_to_string(&plan).unwrap();
    let mut lines = header.lines();
    let head = lines.next().unwrap().to_string();
    let rows: Vec<String> = lines.map(str::to_string).collect();
    let one = |i: usize| {
        let p = db.home.path().join(format!("one-{i}.csv"));
        std::fs::write(&p, format!("{head}\n{}\n", rows[i])).unwrap();
        path(&p)
    };
    // USER is "tester" (pg_server.rs): not a claim.
    db.run(&["--today", TODAY, "replace", "--plan", &one(0), "--yes"])
        .ok();
    // CQRS_ADMIN_ACTOR and --actor are.
    let mut c = db.cqrs();
    c.env("PGPASSWORD", &db.owner_password)
        .env("CQRS_ADMIN_ACTOR", "alice")
        .args(["--db", &db.url(), "--today", TODAY])
        .args(["replace", "--plan", &one(1), "--yes"]);
    pg_server::run(c).ok();
    db.run(&[
        "--actor",
        "bob",
        "--today",
        TODAY,
        "replace",
        "--plan",
        &one(2),
        "--yes",
    ])
    .ok();
    db.run(&["cutover", "set", "2026-06-01"]).ok();
    let o = &db.owner;
    assert_eq!(
        db.psql_owner(
            "SELECT old_account_id, actor, coalesce(actor_claim, '-'), action
             FROM change_log ORDER BY seq"
        )
        .ok()
        .stdout,
        format!(
            "{}|{o}|-|replace\n{}|{o}|alice|replace\n{}|{o}|bob|replace\n|{o}|-|cutover\n",
            ids[0], ids[1], ids[2]
        )
    );
    // The log shows the claim beside the login, and no claim without one.
    let log = db.run(&["log", "--format", "csv"]).ok().stdout;
    assert!(log.contains(&format!("{o} (--actor alice)")), "{log}");
    assert!(log.contains(&format!("{o} (--actor bob)")), "{log}");
    assert!(!log.contains("tester"), "{log}");
}
