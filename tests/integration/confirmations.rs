//! Changes that need confirming are two steps (the command proposes, the
//! caller shows and asks, the command commits): the checks come first, a
//! change that cannot be confirmed (no terminal, no `--yes`) is refused with
//! the message that names `--yes`, and `--dry-run` shows the proposal. In
//! each case nothing is changed.

use crate::common::{Run, Store};

const NO_TERMINAL: &str = "not running at a terminal, so this change cannot be confirmed: \
     nothing was changed. Check it with --dry-run, then run the command again with --yes to \
     confirm";

/// The change log's entries, as `log` gives them.
fn log(store: &Store) -> Vec<String> {
    store
        .run(&["log", "--format", "csv"])
        .ok()
        .csv()
        .iter()
        .map(|r| format!("{} {}", r["action"], r["new_account_id"]))
        .collect()
}

#[track_caller]
fn refused_without_a_terminal(store: &Store, args: &[&str]) {
    let before = log(store);
    let run: Run = store.run(args).fails(1);
    assert!(run.stderr.contains(NO_TERMINAL), "{args:?}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    assert_eq!(log(store), before, "{args:?} changed the store");
}

#[track_caller]
fn dry_run_changes_nothing(store: &Store, args: &[&str]) -> Run {
    let before = log(store);
    let run = store.run(args).ok();
    assert!(
        run.stderr.contains("nothing was changed (--dry-run)"),
        "{args:?}: {}",
        run.stderr
    );
    assert_eq!(log(store), before, "{args:?} changed the store");
    run
}

#[test]
fn every_change_is_refused_without_a_terminal_and_changes_nothing() {
    let store = Store::with_fixtures();
    let plan = store.dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        "account_id,new_email,reason\nU0000011,claire.thompson@nhs.net,\n",
    )
    .unwrap();
    refused_without_a_terminal(
        &store,
        &["replace", "U0000011", "--email", "claire.thompson@nhs.net"],
    );
    refused_without_a_terminal(&store, &["replace", "--plan", plan.to_str().unwrap()]);
    store
        .run(&["replace", "--plan", plan.to_str().unwrap(), "--yes"])
        .ok();
    assert_eq!(log(&store), ["replace R1-U0000011"]);
    refused_without_a_terminal(&store, &["revert", "R1-U0000011"]);
    store.run(&["revert", "R1-U0000011", "--yes"]).ok();
    refused_without_a_terminal(&store, &["reinstate", "R1-U0000011"]);
    store.run(&["reinstate", "R1-U0000011", "--yes"]).ok();
    assert_eq!(
        log(&store),
        [
            "replace R1-U0000011",
            "revert R1-U0000011",
            "reinstate R1-U0000011"
        ]
    );
}

/// The proposal is checked before anyone is asked: a change that fails a
/// check says why, not that it cannot be confirmed.
#[test]
fn the_checks_come_before_the_confirmation() {
    let store = Store::with_fixtures();
    for args in [
        &["replace", "U0000011", "--email", "nobody.known@nhs.net"][..],
        &["revert", "U0000011"],
        &["reinstate", "U0000011"],
    ] {
        let run = store.run(args).fails(1);
        assert!(
            !run.stderr.contains(NO_TERMINAL),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("nothing was changed"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(log(&store).is_empty());
}

#[test]
fn dry_runs_show_the_proposal_and_change_nothing() {
    let store = Store::with_fixtures();
    let run = dry_run_changes_nothing(
        &store,
        &[
            "replace",
            "U0000011",
            "--email",
            "claire.thompson@nhs.net",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        run.json()["replacements"][0]["new_account_id"],
        "R1-U0000011",
        "{}",
        run.stdout
    );
    store.replace("U0000011", "claire.thompson@nhs.net");
    let run = dry_run_changes_nothing(
        &store,
        &["revert", "R1-U0000011", "--dry-run", "--format", "json"],
    );
    assert_eq!(run.json()["dry_run"], true);
    store.run(&["revert", "R1-U0000011", "--yes"]).ok();
    let run = dry_run_changes_nothing(
        &store,
        &["reinstate", "R1-U0000011", "--dry-run", "--format", "json"],
    );
    assert_eq!(run.json()["dry_run"], true);
    // --dry-run wins over --yes.
    dry_run_changes_nothing(&store, &["reinstate", "R1-U0000011", "--dry-run", "--yes"]);
}
