//! A long plan on SQLite is checked and written a batch (10,000 rows) at a
//! time inside its one transaction (`replace::check_and_write`): a problem
//! in any batch, after earlier batches were written, must still refuse the
//! whole plan with exactly the problems the whole-plan check names (the
//! `--dry-run` look checks the plan whole), and leave the store as it was;
//! a plan made this way must leave every new account findable by its
//! address (`account_emails` is written once, at the commit).

use crate::common::{Store, plan_of_matches, write};

/// Rows enough for three batches, the last one short.
const EXTRA: usize = 20_500;

/// `lines` with the account id of each line numbered in `ids` (1 = the
/// header) set to the id given, written as a plan next to the store.
fn edited_plan(store: &Store, name: &str, lines: &[String], ids: &[(usize, &str)]) -> String {
    let mut lines = lines.to_vec();
    for (line, id) in ids {
        let row = &mut lines[line - 1];
        let rest = row.split_once(',').expect("a plan row").1.to_string();
        *row = format!("{id},{rest}");
    }
    write(store, name, lines.join("\n") + "\n")
}

/// The refusal of `--yes` is the refusal of the whole-plan check, byte for
/// byte, and neither changes anything.
fn refused_as_a_whole(store: &Store, plan: &str) -> String {
    let before = store.snapshot();
    let whole = store
        .run(&["replace", "--plan", plan, "--dry-run"])
        .fails(1);
    let made = store
        .run(&["replace", "--plan", plan, "--yes", "--disable-old"])
        .fails(1);
    assert_eq!(made.stderr, whole.stderr);
    assert_eq!(made.stdout, whole.stdout);
    assert_eq!(store.snapshot(), before, "a refused plan changed the store");
    store.run(&["verify"]).ok();
    made.stderr
}

#[test]
fn problems_in_the_first_and_a_later_batch_refuse_the_plan_with_every_problem() {
    let (store, _, lines) = plan_of_matches(EXTRA);
    let last = lines.len();
    let plan = edited_plan(
        &store,
        "two-problems.csv",
        &lines,
        &[(3, "NOPE-FIRST"), (last - 1, "NOPE-LAST")],
    );
    let err = refused_as_a_whole(&store, &plan);
    assert!(err.contains("(2 problems)"), "{err}");
    assert!(
        err.contains("line 3, column account_id: there is no account NOPE-FIRST"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "line {}, column account_id: there is no account NOPE-LAST",
            last - 1
        )),
        "{err}"
    );
}

#[test]
fn a_problem_only_in_the_last_batch_undoes_the_batches_already_written() {
    let (store, _, lines) = plan_of_matches(EXTRA);
    let last = lines.len();
    let plan = edited_plan(&store, "late-problem.csv", &lines, &[(last, "NOPE")]);
    let err = refused_as_a_whole(&store, &plan);
    assert!(err.contains("(1 problem)"), "{err}");
    assert!(
        err.contains(&format!(
            "line {last}, column account_id: there is no account NOPE"
        )),
        "{err}"
    );
}

/// A later batch naming the account an earlier batch creates: the store
/// did not hold it when the plan began, so the row is refused as naming no
/// account, as the whole-plan check refuses it.
#[test]
fn a_plan_naming_an_account_it_creates_itself_is_refused() {
    let (store, _, lines) = plan_of_matches(EXTRA);
    let first_id = lines[1].split(',').next().unwrap().to_string();
    let created = format!("R1-{first_id}");
    let last = lines.len();
    let plan = edited_plan(&store, "own-account.csv", &lines, &[(last, &created)]);
    let err = refused_as_a_whole(&store, &plan);
    assert!(
        err.contains(&format!(
            "line {last}, column account_id: there is no account {created}"
        )),
        "{err}"
    );
}

#[test]
fn every_account_a_long_plan_makes_is_found_by_its_address() {
    let (store, plan, lines) = plan_of_matches(EXTRA);
    let rows = lines.len() - 1;
    let made = store.run(&["replace", "--plan", &plan, "--yes"]).ok();
    assert!(
        made.stderr.contains(&format!(
            "created {rows} replacement accounts, 0 already done"
        )),
        "{}",
        made.stderr
    );
    let conn = rusqlite::Connection::open(&store.db).unwrap();
    // Every new account's address is in the look-up by address, with the
    // account's id, and nothing else was added to it.
    let (accounts, looked_up, missing): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM accounts),
                    (SELECT count(*) FROM account_emails),
                    (SELECT count(*) FROM accounts a WHERE a.replaces IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM account_emails e
                                       WHERE e.account_id = a.account_id))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(looked_up, accounts);
    assert_eq!(missing, 0);
    drop(conn);
    // So a plan giving a new account's address to another account is
    // refused for it, in the first batch and in the last.
    let again = store.run(&["replace", "--plan", &plan, "--yes"]).ok();
    assert!(
        again.stderr.contains(&format!(
            "created 0 replacement accounts, {rows} already done"
        )),
        "{}",
        again.stderr
    );
    store.run(&["verify"]).ok();
    for row in [&lines[1], &lines[rows]] {
        let email = row.split(',').nth(1).unwrap();
        let id = row.split(',').next().unwrap();
        let taken = store.run(&["signin", email]).ok();
        assert!(
            taken.stdout.contains(&format!("R1-{id}")),
            "signin {email}:\n{}",
            taken.stdout
        );
    }
}
