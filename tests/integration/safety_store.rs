//! A store that cannot be forged, and changes that can be undone (issue 10,
//! items 6, 7, 13, 14 and 15).

use rusqlite::Connection;

use crate::common::Store;

/// A store with the fixtures and a little history: U0000011 replaced, the
/// cutover moved, U0000034 replaced and reverted.
fn store_with_history() -> Store {
    let store = Store::with_fixtures();
    store.replace("U0000011", "claire.thompson@nhs.net");
    store.run(&["cutover", "set", "2021-03-31"]).ok();
    store.replace("U0000034", "stephen.morgan@nhs.net");
    store.run(&["revert", "R1-U0000034", "--yes"]).ok();
    store
}

fn open(store: &Store) -> Connection {
    Connection::open(&store.db).unwrap()
}

fn log_actions(store: &Store) -> Vec<(String, String, String)> {
    store
        .run(&["log", "--format", "csv"])
        .ok()
        .csv()
        .into_iter()
        .map(|r| {
            (
                r["action"].clone(),
                r["new_account_id"].clone(),
                r["actor"].clone(),
            )
        })
        .collect()
}

/// Statements that would forge the store, each of which must be refused.
const FORGERIES: &[&str] = &[
    // A changed email by REPLACE (which deletes the old row without firing
    // DELETE triggers) and by an upsert.
    "INSERT OR REPLACE INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U0000001', 'sjones01', 'mallory@nhs.net', 'Sarah', 'Jones', 'active')",
    "REPLACE INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U0000001', 'sjones01', 'mallory@nhs.net', 'Sarah', 'Jones', 'active')",
    "INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U0000001', 'sjones01', 'mallory@nhs.net', 'Sarah', 'Jones', 'active')
     ON CONFLICT (account_id) DO UPDATE SET email = excluded.email",
    "UPDATE accounts SET email = 'mallory@nhs.net' WHERE account_id = 'U0000001'",
    // Renaming an account.
    "UPDATE accounts SET account_id = 'U9999999' WHERE account_id = 'U0000001'",
    "INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U0000001', 'sjones01', 'sarah.jones@nhs.net', 'Sarah', 'Jones', 'active')
     ON CONFLICT (account_id) DO UPDATE SET account_id = 'U9999999'",
    "DELETE FROM accounts WHERE account_id = 'U0000001'",
    // History removed, moved or rewritten.
    "DELETE FROM activity",
    "DELETE FROM activity WHERE activity_id = 'ACT000003'",
    "REPLACE INTO activity (activity_id, ods_code, account_id, kind, occurred_at)
     SELECT activity_id, 'Y56', account_id, kind, occurred_at FROM activity WHERE activity_id = 'ACT000003'",
    "INSERT OR REPLACE INTO activity (activity_id, ods_code, account_id, kind, occurred_at, detail)
     SELECT activity_id, ods_code, account_id, kind, occurred_at, 'forged' FROM activity WHERE activity_id = 'ACT000003'",
    "UPDATE activity SET ods_code = 'Y56' WHERE activity_id = 'ACT000003'",
    // The log rewritten.
    "REPLACE INTO change_log (seq, at, actor, action) VALUES (1, '2020-01-01T00:00:00Z', 'mallory', 'replace')",
    "INSERT OR REPLACE INTO change_log (seq, at, actor, action, prev_hash, hash)
     SELECT seq, at, 'mallory', action, prev_hash, hash FROM change_log WHERE seq = 2",
    "UPDATE change_log SET actor = 'mallory' WHERE seq = 1",
    "DELETE FROM change_log WHERE seq = 1",
];

#[test]
fn forging_sql_is_refused_through_rusqlite_and_the_sqlite3_shell() {
    let store = store_with_history();
    let before = store.snapshot();
    let conn = open(&store);
    for sql in FORGERIES {
        let result = conn.execute(sql, []);
        assert!(result.is_err(), "the store accepted: {sql}");
    }
    drop(conn);
    // The sqlite3 shell (recursive_triggers off, as by default), if installed.
    if let Ok(out) = std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        && out.status.success()
    {
        for sql in FORGERIES {
            let out = std::process::Command::new("sqlite3")
                .arg(&store.db)
                .arg(format!("PRAGMA recursive_triggers = OFF; {sql};"))
                .output()
                .unwrap();
            assert!(
                !out.status.success() || !out.stderr.is_empty(),
                "the sqlite3 shell was allowed: {sql}"
            );
        }
    }
    assert_eq!(store.snapshot(), before, "a forgery changed the store");
    store.run(&["verify"]).ok();
}

#[test]
fn re_imports_still_update_rows_by_key_but_never_an_email() {
    let store = Store::with_fixtures();
    let accounts = crate::common::fixture("accounts.csv");
    let text = std::fs::read_to_string(&accounts).unwrap();
    // Same file again: nothing changes; one last_login_at changed: updated.
    store
        .run(&["import", "accounts", accounts.to_str().unwrap()])
        .ok();
    let changed = text.replacen("2020-09-01T08:12:44Z", "2020-09-02T08:00:00Z", 1);
    assert_ne!(changed, text);
    let path = store.dir.path().join("accounts2.csv");
    std::fs::write(&path, &changed).unwrap();
    let run = store
        .run(&["import", "accounts", path.to_str().unwrap()])
        .ok();
    assert!(run.stderr.contains("1 updated"), "{}", run.stderr);
    // Activity re-imported unchanged is accepted; a record with other
    // details is refused, naming its line.
    let activity = crate::common::fixture("activity.csv");
    store
        .run(&["import", "activity", activity.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&activity).unwrap();
    let first = text.lines().nth(1).unwrap();
    let mut fields: Vec<&str> = first.split(',').collect();
    fields[1] = "Y56";
    let moved = format!("{}\n{}\n", text.lines().next().unwrap(), fields.join(","));
    let path = store.dir.path().join("activity2.csv");
    std::fs::write(&path, moved).unwrap();
    let before = store.snapshot();
    let run = store
        .run(&["import", "activity", path.to_str().unwrap()])
        .fails(1);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(run.stderr.contains("activity is history"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
    // The guards an import drops for its own transaction are back.
    let conn = open(&store);
    for sql in FORGERIES.iter().filter(|sql| !sql.contains("change_log")) {
        assert!(
            conn.execute(sql, []).is_err(),
            "accepted after imports: {sql}"
        );
    }
    assert_eq!(store.snapshot(), before);
    store.run(&["verify"]).ok();
}

/// Every write command, each of which must refuse a tampered store.
fn writes() -> Vec<Vec<String>> {
    let accounts = crate::common::fixture("accounts.csv");
    let accounts = accounts.to_str().unwrap();
    [
        vec!["import", "accounts", accounts],
        vec![
            "replace",
            "U0000035",
            "--email",
            "aisha.begum@nhs.net",
            "--yes",
        ],
        vec!["revert", "R1-U0000011", "--yes"],
        vec!["reinstate", "R1-U0000034", "--yes"],
        vec!["cutover", "set", "2022-01-01"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_string).collect())
    .collect()
}

/// `verify` exits 1 naming `what`, every write refuses with the way to
/// recover and changes nothing, and reading commands still run.
#[track_caller]
fn refused_everywhere(store: &Store, what: &str) {
    let run = store.run(&["verify"]).fails(1);
    assert!(run.stderr.contains(what), "verify: {}", run.stderr);
    let before = store.snapshot();
    for args in writes() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = store.run(&args).fails(1);
        assert!(
            run.stderr.contains("changed outside cqrs-admin") && run.stderr.contains(what),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("restore the store from a backup") && run.stderr.contains("export"),
            "{args:?} says how to recover: {}",
            run.stderr
        );
        assert_eq!(store.snapshot(), before, "{args:?} wrote to the store");
    }
    store.run(&["log"]).ok();
    store.run(&["report"]).ok();
}

#[test]
fn a_dropped_trigger_is_named_by_verify_and_stops_every_write() {
    let store = store_with_history();
    store.run(&["verify"]).ok();
    open(&store)
        .execute_batch("DROP TRIGGER accounts_email_never_replaced")
        .unwrap();
    // Reading commands warn (the trigger check runs on every open).
    let run = store.run(&["log"]).ok();
    assert!(
        run.stderr
            .contains("accounts_email_never_replaced is missing"),
        "{}",
        run.stderr
    );
    refused_everywhere(&store, "accounts_email_never_replaced is missing");
}

#[test]
fn an_altered_trigger_is_named() {
    let store = store_with_history();
    open(&store)
        .execute_batch(
            "DROP TRIGGER activity_never_deleted;
             CREATE TRIGGER activity_never_deleted BEFORE DELETE ON activity
             WHEN 0 BEGIN SELECT RAISE(ABORT, 'no'); END;",
        )
        .unwrap();
    refused_everywhere(&store, "activity_never_deleted was altered");
}

/// Runs `sql` with the log's triggers dropped, then puts them back exactly
/// as they were, so only the chain can tell.
fn behind_the_triggers(store: &Store, sql: &str) {
    let conn = open(store);
    let triggers: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'change_log'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(triggers.len() >= 3, "{triggers:?}");
    for (name, _) in &triggers {
        conn.execute_batch(&format!("DROP TRIGGER {name}")).unwrap();
    }
    conn.execute_batch(sql).unwrap();
    for (_, sql) in &triggers {
        conn.execute_batch(sql).unwrap();
    }
}

#[test]
fn an_edited_log_entry_is_named_by_its_seq() {
    let store = store_with_history();
    behind_the_triggers(
        &store,
        "UPDATE change_log SET actor = 'someone-else' WHERE seq = 2",
    );
    let run = store.run(&["verify"]).fails(1);
    assert!(!run.stderr.contains("trigger"), "{}", run.stderr);
    // `log` reads the whole log, and warns.
    let run = store.run(&["log"]).ok();
    assert!(run.stderr.contains("entry 2 was edited"), "{}", run.stderr);
    refused_everywhere(&store, "change log entry 2 was edited");
}

#[test]
fn a_deleted_log_entry_breaks_the_chain_at_the_next() {
    let store = store_with_history();
    behind_the_triggers(&store, "DELETE FROM change_log WHERE seq = 2");
    refused_everywhere(&store, "the change log is broken at entry 3");
}

#[test]
fn the_newest_log_entry_removed_is_found() {
    let store = store_with_history();
    let last: i64 = open(&store)
        .query_row("SELECT max(seq) FROM change_log", [], |r| r.get(0))
        .unwrap();
    behind_the_triggers(
        &store,
        &format!("DELETE FROM change_log WHERE seq = {last}"),
    );
    refused_everywhere(&store, &format!("ended at entry {last}"));
}

#[test]
fn an_inserted_or_reordered_log_entry_is_found() {
    let store = store_with_history();
    // An entry copied in between, hashes and all.
    behind_the_triggers(
        &store,
        "CREATE TEMP TABLE t AS SELECT * FROM change_log;
         DELETE FROM change_log WHERE seq >= 2;
         INSERT INTO change_log (seq, at, actor, action, old_account_id, new_account_id, email, reason, prev_hash, hash)
           SELECT 2, at, actor, action, old_account_id, new_account_id, email, reason, prev_hash, hash FROM t WHERE seq = 1;
         INSERT INTO change_log (seq, at, actor, action, old_account_id, new_account_id, email, reason, prev_hash, hash)
           SELECT seq + 1, at, actor, action, old_account_id, new_account_id, email, reason, prev_hash, hash FROM t WHERE seq >= 2;",
    );
    refused_everywhere(&store, "the change log is broken at entry 2");

    let store = store_with_history();
    // Two entries' contents swapped.
    behind_the_triggers(
        &store,
        "CREATE TEMP TABLE t AS SELECT * FROM change_log;
         UPDATE change_log SET action = (SELECT action FROM t WHERE seq = 3),
                               new_account_id = (SELECT new_account_id FROM t WHERE seq = 3)
         WHERE seq = 2;
         UPDATE change_log SET action = (SELECT action FROM t WHERE seq = 2),
                               new_account_id = (SELECT new_account_id FROM t WHERE seq = 2)
         WHERE seq = 3;",
    );
    refused_everywhere(&store, "change log entry 2 was edited");
}

#[test]
fn an_older_store_has_its_log_chained_by_the_migration() {
    use cqrs_admin::store::sqlite::schema::MIGRATIONS;
    let store = Store::new();
    {
        let conn = open(&store);
        cqrs_admin::store::sqlite::register(&conn).unwrap();
        for sql in &MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA application_id = 1129402963;
             PRAGMA user_version = 5;
             INSERT INTO change_log (at, actor, action, old_account_id, new_account_id, email)
             VALUES ('2020-09-01T10:00:00Z', 'alice', 'replace', 'U1', 'R1-U1', 'a@nhs.net'),
                    ('2020-09-02T10:00:00Z', 'bob', 'revert', 'U1', 'R1-U1', 'a@nhs.net');",
        )
        .unwrap();
    }
    let run = store.run(&["verify"]).ok();
    assert!(run.stderr.contains("unbroken chain"), "{}", run.stderr);
    let conn = open(&store);
    let (prev, hash): (String, String) = conn
        .query_row(
            "SELECT prev_hash, hash FROM change_log WHERE seq = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let first: String = conn
        .query_row("SELECT hash FROM change_log WHERE seq = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(prev, first);
    // The encoding documented in src/store/chain.rs, computed here apart.
    let expected = cqrs_admin::store::entry_hash(
        &first,
        &cqrs_admin::store::EntryContent {
            seq: 2,
            at: "2020-09-02T10:00:00Z",
            actor: "bob",
            action: "revert",
            old_account_id: Some("U1"),
            new_account_id: Some("R1-U1"),
            email: Some("a@nhs.net"),
            reason: None,
        },
    );
    assert_eq!(hash, expected);
    assert_eq!(
        hash,
        sha256_hex(&encoding(
            &first,
            &[
                Some("2"),
                Some("2020-09-02T10:00:00Z"),
                Some("bob"),
                Some("revert"),
                Some("U1"),
                Some("R1-U1"),
                Some("a@nhs.net"),
                None
            ]
        ))
    );
}

/// The canonical encoding, written out from the module documentation.
fn encoding(prev: &str, fields: &[Option<&str>]) -> Vec<u8> {
    let mut out = b"cqrs-admin change_log v1".to_vec();
    for f in std::iter::once(Some(prev)).chain(fields.iter().copied()) {
        match f {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u64).to_be_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    // The sha256sum tool, so the test does not share the code under test.
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn the_operator_is_the_real_login_when_user_and_logname_are_unset() {
    let store = Store::with_fixtures();
    let out = store
        .cmd()
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("CQRS_ADMIN_ACTOR")
        .args(["cutover", "set", "2021-03-31"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let login = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let login = String::from_utf8(login.stdout).unwrap().trim().to_string();
    assert!(!login.is_empty());
    let entries = store.run(&["log", "--format", "csv"]).ok().csv();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor"], login);
    assert_ne!(entries[0]["actor"], "unknown");
}

#[test]
fn cutover_set_is_logged_with_both_dates_and_the_operator() {
    let store = Store::with_fixtures();
    store.run(&["cutover", "set", "2021-03-31"]).ok();
    store.run(&["cutover", "set", "2021-06-30"]).ok();
    let entries = store.run(&["log", "--format", "csv"]).ok().csv();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "cutover");
    assert_eq!(entries[0]["actor"], "test-operator");
    assert!(entries[0]["reason"].contains("from 2020-09-23 to 2021-03-31"));
    assert!(entries[1]["reason"].contains("from 2021-03-31 to 2021-06-30"));
    assert!(!entries[1]["at"].is_empty());
    store.run(&["verify"]).ok();
}

#[test]
fn a_mistaken_revert_is_undone_by_reinstate() {
    let store = Store::with_fixtures();
    store.replace("U0000011", "claire.thompson@nhs.net");
    store.run(&["revert", "R1-U0000011", "--yes"]).ok();
    // The same address again is refused, pointing at reinstate.
    let run = store
        .run(&[
            "replace",
            "U0000011",
            "--email",
            "claire.thompson@nhs.net",
            "--yes",
        ])
        .fails(1);
    assert!(
        run.stderr.contains("cqrs-admin reinstate R1-U0000011"),
        "{}",
        run.stderr
    );
    let before = store.snapshot();
    store.run(&["reinstate", "R1-U0000011", "--dry-run"]).ok();
    assert_eq!(store.snapshot(), before, "--dry-run changed nothing");
    store
        .run(&[
            "reinstate",
            "R1-U0000011",
            "--yes",
            "--reason",
            "reverted by mistake",
        ])
        .ok();
    let conn = open(&store);
    let (status, replaced_by): (String, Option<String>) = conn
        .query_row(
            "SELECT (SELECT status FROM accounts WHERE account_id = 'R1-U0000011'),
                    (SELECT replaced_by FROM accounts WHERE account_id = 'U0000011')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "active");
    assert_eq!(replaced_by.as_deref(), Some("R1-U0000011"));
    assert_eq!(
        store.audit()["U0000011"].0,
        "superseded",
        "the old account is superseded again"
    );
    store.run(&["verify"]).ok();
    let actions: Vec<String> = log_actions(&store).into_iter().map(|a| a.0).collect();
    assert_eq!(actions, ["replace", "revert", "reinstate"]);
    // Twice is refused: it is active.
    let run = store.run(&["reinstate", "R1-U0000011", "--yes"]).fails(1);
    assert!(run.stderr.contains("is active"), "{}", run.stderr);
    // And it can be reverted again.
    store.run(&["revert", "R1-U0000011", "--yes"]).ok();
}

#[test]
fn reinstate_refuses_when_the_roles_differ_or_the_account_was_replaced_again() {
    let store = Store::with_fixtures();
    store.replace("U0000011", "claire.thompson@nhs.net");
    store.run(&["revert", "R1-U0000011", "--yes"]).ok();
    // The old account's roles changed in CQRS since.
    let path = store.dir.path().join("more-roles.csv");
    std::fs::write(
        &path,
        "account_id,ods_code,role,payment_types\nU0000011,F82001,view,\n",
    )
    .unwrap();
    store
        .run(&["import", "permissions", path.to_str().unwrap()])
        .ok();
    let before = store.snapshot();
    let run = store.run(&["reinstate", "R1-U0000011", "--yes"]).fails(1);
    assert!(run.stderr.contains("roles differ"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
    // Not a replacement at all.
    let run = store.run(&["reinstate", "U0000011", "--yes"]).fails(1);
    assert!(run.stderr.contains("not a replacement"), "{}", run.stderr);
}

#[test]
fn a_replacement_disabled_by_an_import_can_still_be_reverted() {
    let store = Store::with_fixtures();
    store.replace("U0000011", "claire.thompson@nhs.net");
    // CQRS disabled the new account; its export comes back in.
    let row: String = open(&store)
        .query_row(
            "SELECT account_id || ',' || username || ',' || email || ',' || given_name || ',' ||
                    family_name || ',disabled,' || coalesce(created_at, '') || ','
             FROM accounts WHERE account_id = 'R1-U0000011'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let path = store.dir.path().join("disabled.csv");
    std::fs::write(
        &path,
        format!("account_id,username,email,given_name,family_name,status,created_at,last_login_at\n{row}\n"),
    )
    .unwrap();
    store
        .run(&["import", "accounts", path.to_str().unwrap()])
        .ok();
    // Replace is refused (still superseded); revert is what unsticks it.
    store
        .run(&[
            "replace",
            "U0000011",
            "--email",
            "claire.thompson@nhs.net",
            "--yes",
        ])
        .fails(1);
    let run = store.run(&["revert", "R1-U0000011", "--yes"]).ok();
    assert!(run.stderr.contains("reverted"), "{}", run.stderr);
    let replaced_by: Option<String> = open(&store)
        .query_row(
            "SELECT replaced_by FROM accounts WHERE account_id = 'U0000011'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replaced_by, None, "no longer superseded");
    assert_ne!(store.audit()["U0000011"].0, "superseded");
    let actions: Vec<String> = log_actions(&store).into_iter().map(|a| a.0).collect();
    assert_eq!(actions, ["replace", "revert"]);
    // A second revert is refused: it is reverted already.
    let run = store.run(&["revert", "R1-U0000011", "--yes"]).fails(1);
    assert!(run.stderr.contains("reverted already"), "{}", run.stderr);
    store.run(&["verify"]).ok();
}
