//! A plan written fast (`replace --plan`): its change-log entries inserted
//! many to a statement, and the guards against REPLACE dropped for the
//! write's transaction only. The chain must verify, every entry must be
//! there in plan order, and the guards must be back after a plan that was
//! made and after one that was refused.

use rusqlite::Connection;

use crate::common::{Store, plan_of_matches, write};

/// More rows than two of the store's multi-row statements hold (100 rows
/// each), so that full statements and a shorter last one are both written.
const EXTRA: usize = 250;

/// Forgeries the guards that a write of replacements drops and puts back
/// must refuse: a REPLACE of an account (changing its email) and of a
/// change-log entry.
const FORGERIES: &[&str] = &[
    "REPLACE INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U0000001', 'sjones01', 'mallory@nhs.net', 'Sarah', 'Jones', 'active')",
    "INSERT OR REPLACE INTO change_log (seq, at, actor, action, prev_hash, hash)
     SELECT seq, at, 'mallory', action, prev_hash, hash FROM change_log WHERE seq = 1",
];

fn guards_hold(store: &Store) {
    let before = store.snapshot();
    let conn = Connection::open(&store.db).unwrap();
    for sql in FORGERIES {
        assert!(conn.execute(sql, []).is_err(), "the store accepted: {sql}");
    }
    drop(conn);
    assert_eq!(store.snapshot(), before, "a forgery changed the store");
    store.run(&["verify"]).ok();
}

/// Every row made, each with its `replace` and `disable` entries in plan
/// order, the chain unbroken, and the guards back in place.
#[test]
fn a_plan_of_many_statements_logs_every_entry_in_order_and_keeps_the_guards() {
    let (store, plan, lines) = plan_of_matches(EXTRA);
    store
        .run(&["replace", "--plan", &plan, "--yes", "--disable-old"])
        .ok();
    let planned: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let log = store.run(&["log", "--format", "csv"]).ok().csv();
    let mut expected = Vec::new();
    for id in &planned {
        expected.push(("replace".to_string(), id.clone()));
        expected.push(("disable".to_string(), id.clone()));
    }
    let found: Vec<(String, String)> = log
        .iter()
        .map(|r| (r["action"].clone(), r["old_account_id"].clone()))
        .collect();
    assert_eq!(found, expected);
    let seqs: Vec<i64> = log.iter().map(|r| r["seq"].parse().unwrap()).collect();
    assert_eq!(seqs, (1..=expected.len() as i64).collect::<Vec<_>>());
    guards_hold(&store);
    // A revert afterwards continues the chain.
    store.run(&["revert", "R1-L00000", "--yes"]).ok();
    guards_hold(&store);
}

/// A plan refused at its check writes nothing and leaves the guards as
/// they were; run again once fixed, it is made whole.
#[test]
fn a_refused_plan_leaves_the_guards_and_the_log_as_they_were() {
    let (store, plan, mut lines) = plan_of_matches(EXTRA);
    // One entry in the log, so that the guard on it has something to guard.
    store.run(&["cutover", "set", "2021-03-31"]).ok();
    let before = store.snapshot();
    let last = lines.len();
    lines[last - 1] = lines[last - 1].replacen("@nhs.net", "@nhs.uk", 1);
    let bad = write(&store, "bad-plan.csv", lines.join("\n") + "\n");
    let run = store.run(&["replace", "--plan", &bad, "--yes"]).fails(1);
    assert!(
        run.stderr.contains(&format!("line {last}")),
        "{}",
        run.stderr
    );
    assert_eq!(store.snapshot(), before);
    guards_hold(&store);
    store.run(&["replace", "--plan", &plan, "--yes"]).ok();
    let log = store.run(&["log", "--format", "csv"]).ok().csv();
    assert_eq!(log.len(), 1 + lines.len() - 1);
    guards_hold(&store);
}
