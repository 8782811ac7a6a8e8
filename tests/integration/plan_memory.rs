//! A long plan (`replace --plan`, more than one batch of 10,000 rows) is
//! checked row by row before anything is written, its later half on a second
//! connection, and then written in one transaction: every problem of every
//! row is named and nothing is made, or every row is made, in plan order.

use crate::common::{Store, plan_of_matches, write};

/// More accounts than one batch holds, each with a confident match.
const EXTRA: usize = 10_050;

/// The fixtures plus `EXTRA` accounts that a plan replaces, and its plan.
fn long_plan() -> (Store, String, Vec<String>) {
    plan_of_matches(EXTRA)
}

/// A problem in the first batch (checked on the writing connection) and one
/// in the last (checked on the second connection): both named, by line,
/// and nothing made.
#[test]
fn a_long_plan_with_problems_in_both_halves_names_both_and_makes_nothing() {
    let (store, _, mut lines) = long_plan();
    let last = lines.len();
    for line in [2, last] {
        lines[line - 1] = lines[line - 1].replacen("@nhs.net", "@nhs.uk", 1);
    }
    let bad = write(&store, "bad-plan.csv", lines.join("\n") + "\n");
    let before = store.snapshot();
    let run = store.run(&["replace", "--plan", &bad, "--yes"]).fails(1);
    for line in [2, last] {
        assert!(
            run.stderr
                .contains(&format!("line {line}, column new_email: the address")),
            "line {line}: {}",
            run.stderr
        );
    }
    assert_eq!(store.snapshot(), before, "nothing was made");
}

/// Every row made, listed in the plan's order (the two halves checked apart
/// are put back together in order), each old account disabled as its own
/// step of the change log, and the chain intact.
#[test]
fn a_long_plan_makes_every_row_in_plan_order() {
    let (store, plan, lines) = long_plan();
    let rows = lines.len() - 1;
    let run = store
        .run(&[
            "replace",
            "--plan",
            &plan,
            "--yes",
            "--disable-old",
            "--format",
            "csv",
        ])
        .ok();
    let made = run.csv();
    assert_eq!(made.len(), rows);
    let order: Vec<u64> = made
        .iter()
        .map(|r| r["line"].parse().expect("line number"))
        .collect();
    let expected: Vec<u64> = (2..=lines.len() as u64).collect();
    assert_eq!(order, expected, "rows in plan order");
    assert!(made.iter().all(|r| r["outcome"] == "created"));
    let conn = rusqlite::Connection::open(&store.db).expect("open");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count("SELECT count(*) FROM accounts WHERE replaces IS NOT NULL") as usize,
        rows
    );
    assert_eq!(
        count("SELECT count(*) FROM accounts WHERE replaced_by IS NOT NULL AND status = 'disabled'")
            as usize,
        rows
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM permissions WHERE account_id LIKE 'R1-L%' AND payment_types = 'QOF'"
        ) as usize,
        EXTRA
    );
    assert_eq!(count("SELECT count(*) FROM change_log") as usize, 2 * rows);
    store.run(&["verify"]).ok();
}

/// A long plan in no particular order (here the reverse of the accounts'):
/// the new accounts, their roles and the marks on the old accounts are
/// written for the whole plan at once, in each table's own order, yet the
/// change log follows the plan line by line, every new account holds
/// exactly its old account's roles and every old account names its own
/// replacement.
#[test]
fn a_long_plan_in_no_particular_order_is_made_whole_and_logged_in_plan_order() {
    let (store, _, lines) = long_plan();
    let mut rows: Vec<String> = lines[1..].to_vec();
    rows.reverse();
    let plan_ids: Vec<String> = rows
        .iter()
        .map(|l| l.split(',').next().expect("account id").to_string())
        .collect();
    let reversed = write(
        &store,
        "reversed-plan.csv",
        format!("{}\n{}\n", lines[0], rows.join("\n")),
    );
    store.run(&["replace", "--plan", &reversed, "--yes"]).ok();
    let logged: Vec<String> = store
        .run(&["log", "--format", "csv"])
        .ok()
        .csv()
        .iter()
        .map(|r| r["old_account_id"].clone())
        .collect();
    assert_eq!(logged, plan_ids, "the change log follows the plan");
    let conn = rusqlite::Connection::open(&store.db).expect("open");
    let count = |sql: &str| -> usize {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql) as usize
    };
    assert_eq!(
        count(
            "SELECT count(*) FROM accounts o JOIN accounts n ON n.account_id = o.replaced_by
             WHERE n.replaces = o.account_id AND n.account_id = 'R1-' || o.account_id
               AND n.email = n.username AND n.status = 'active' AND o.status = 'active'"
        ),
        rows.len(),
        "each old account names its own replacement"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM accounts n JOIN permissions p ON p.account_id = n.account_id
             JOIN permissions o ON o.account_id = n.replaces AND o.ods_code = p.ods_code
                               AND o.role = p.role AND o.payment_types = p.payment_types
             WHERE n.replaces IS NOT NULL"
        ),
        count(
            "SELECT count(*) FROM permissions p JOIN accounts o ON o.account_id = p.account_id
             WHERE o.replaced_by IS NOT NULL"
        ),
        "every new account holds exactly its old account's roles"
    );
    assert_eq!(
        count("SELECT count(*) FROM permissions WHERE account_id LIKE 'R%'"),
        count(
            "SELECT count(*) FROM permissions p JOIN accounts o ON o.account_id = p.account_id
             WHERE o.replaced_by IS NOT NULL"
        ),
    );
    store.run(&["verify"]).ok();
}
