//! The store: owner-only, self-protecting, and clear about files it cannot use.

use std::fs;

use crate::common::{Store, fixture, mode};

#[cfg(unix)]
#[test]
fn the_store_is_created_owner_only() {
    let store = Store::with_fixtures();
    assert_eq!(mode(&store.db), 0o600);
}

#[test]
fn the_store_refuses_to_edit_an_email_or_delete_an_account() {
    let store = Store::with_fixtures();
    let conn = rusqlite::Connection::open(&store.db).unwrap();
    let err = conn
        .execute(
            "UPDATE accounts SET email = 'x@nhs.net' WHERE account_id = 'U0000010'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("can never be edited"), "{err}");
    let err = conn
        .execute(
            "UPDATE account_emails SET email_key = 42 WHERE account_id = 'U0000010'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("can never be edited"), "{err}");
    let err = conn.execute("DELETE FROM accounts", []).unwrap_err();
    assert!(err.to_string().contains("never deleted"), "{err}");
    let err = conn.execute("DELETE FROM account_emails", []).unwrap_err();
    assert!(err.to_string().contains("never deleted"), "{err}");
    // Other columns may change.
    conn.execute(
        "UPDATE accounts SET status = 'disabled' WHERE account_id = 'U0000010'",
        [],
    )
    .unwrap();
}

#[test]
fn the_change_log_is_append_only() {
    let store = Store::with_fixtures();
    let conn = rusqlite::Connection::open(&store.db).unwrap();
    conn.execute(
        "INSERT INTO change_log (at, actor, action) VALUES ('2020-09-01T00:00:00Z', 't', 'test')",
        [],
    )
    .unwrap();
    let err = conn
        .execute("UPDATE change_log SET actor = 'x'", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn.execute("DELETE FROM change_log", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn the_schema_has_the_tables_and_columns_cli_md_names() {
    let store = Store::with_fixtures();
    let conn = rusqlite::Connection::open(&store.db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM accounts WHERE account_id LIKE 'U%' AND email <> ''",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 40);
    let n: i64 = conn
        .query_row("SELECT count(address) FROM directory", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 1);
}

#[test]
fn a_store_from_a_newer_version_is_refused_and_not_changed() {
    let store = Store::with_fixtures();
    {
        let conn = rusqlite::Connection::open(&store.db).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let before = fs::read(&store.db).unwrap();
    let run = store.run(&["audit"]).fails(1);
    assert!(
        run.stderr.contains("newer version of cqrs-admin"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(&store.db).unwrap(), before);
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let store = Store::new();
    fs::write(&store.db, "account_id,email\nnot,a database\n".repeat(200)).unwrap();
    let before = fs::read(&store.db).unwrap();
    let run = store.run(&["audit"]).fails(1);
    assert!(
        run.stderr.contains("not a cqrs-admin store"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read(&store.db).unwrap(), before);
}

#[test]
fn a_store_in_a_missing_folder_is_a_clear_error() {
    let store = Store::new();
    let db = store.dir.path().join("no/such/folder/x.db");
    let run = assert_cmd::Command::cargo_bin("cqrs-admin")
        .unwrap()
        .args(["--db", db.to_str().unwrap(), "cutover", "set", "2030-01-01"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!db.exists());
}

#[cfg(unix)]
#[test]
fn a_read_only_store_can_be_read_but_not_written() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::with_fixtures();
    // As root (which ignores permissions) the binary runs as another user.
    store.hand_to_unprivileged_user();
    fs::set_permissions(&store.db, fs::Permissions::from_mode(0o400)).unwrap();
    let before = fs::read(&store.db).unwrap();
    store.run_unprivileged(&["audit", "--format", "csv"]).ok();
    let organisations = crate::common::fixture("organisations.csv");
    for args in [
        vec!["cutover", "set", "2020-10-01"],
        vec!["import", "organisations", organisations.to_str().unwrap()],
    ] {
        let run = store.run_unprivileged(&args).fails(1);
        assert!(run.stderr.contains("read-only"), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("check the file's permissions"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fs::read(&store.db).unwrap(), before);
}

#[test]
fn the_db_flag_and_environment_variable_choose_the_store() {
    let store = Store::new();
    let other = store.dir.path().join("from-env.db");
    let run = store
        .cmd()
        .env("CQRS_ADMIN_DB", &other)
        .args(["cutover", "set", "2030-01-01"])
        .output()
        .unwrap();
    // --db (set by the builder) wins over the environment.
    assert!(run.status.success());
    assert!(store.db.exists());
    assert!(!other.exists());
}

/// A store written by an earlier version (schema 2, whose report cache was a
/// table of rows) is upgraded in place when opened: its data kept, the old
/// cache dropped, and the report the same as on a new store.
#[test]
fn a_store_from_schema_2_is_upgraded_in_place() {
    use cqrs_admin::store::sqlite::schema::MIGRATIONS;
    let fresh = Store::with_fixtures();
    let expected = fresh
        .run(&["report", "--format", "csv", "--today", "2020-09-01"])
        .ok()
        .stdout;

    let old = Store::new();
    {
        let conn = rusqlite::Connection::open(&old.db).unwrap();
        conn.pragma_update(
            None,
            "application_id",
            cqrs_admin::store::sqlite::APPLICATION_ID,
        )
        .unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO report_cache VALUES (0, 'contact-commissioner', 'X1', 'U9', 'e', 'g', 'f', 'ok', '');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    for kind in [
        "organisations",
        "accounts",
        "permissions",
        "directory",
        "activity",
    ] {
        let file = fixture(&format!("{kind}.csv"));
        old.run(&["import", kind, file.to_str().unwrap()]).ok();
    }
    let conn = rusqlite::Connection::open(&old.db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len() as i64);
    let report = old
        .run(&["report", "--format", "csv", "--today", "2020-09-01"])
        .ok()
        .stdout;
    assert_eq!(report, expected);
    assert!(!report.contains("U9"));
    // And once more from what the audit keeps.
    old.run(&["audit"]).ok();
    let kept: i64 = conn
        .query_row("SELECT sum(length(rows)) FROM report_cache", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(kept > 0);
    let report = old
        .run(&["report", "--format", "csv", "--today", "2020-09-01"])
        .ok()
        .stdout;
    assert_eq!(report, expected);
}

/// The audit starts its three reads together (one state of the store), and
/// never holds a committing writer up: audits and writes interleave, and
/// every one of them succeeds.
#[test]
fn audits_and_committing_writers_interleave() {
    let store = Store::with_fixtures();
    let db = store.db.clone();
    let writer = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        for _ in 0..30 {
            conn.execute_batch(
                "BEGIN IMMEDIATE;
                 UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
                 WHERE key = 'generation';
                 COMMIT;",
            )
            .unwrap();
        }
    });
    let first = store.run(&["audit", "--format", "csv"]).ok().stdout;
    for _ in 0..5 {
        assert_eq!(store.run(&["audit", "--format", "csv"]).ok().stdout, first);
    }
    writer.join().unwrap();
}

/// What `signin` says of an address the fixtures' directory holds.
fn signin_of_a_held_address(store: &Store) -> serde_json::Value {
    store
        .run(&["signin", "sarah.jones@nhs.net", "--format", "json"])
        .ok()
        .json()
}

/// The directory's look-ups by address point at its entries by number.
/// `VACUUM` (what an administrator runs to give back the space re-imported
/// directories leave) renumbers a table's implicit rowids, so the entry's
/// number is a column of its own: after a vacuum, `signin` and `replace`
/// still find every address the directory holds.
#[test]
fn a_vacuumed_store_still_finds_its_directory_entries() {
    let store = Store::with_fixtures();
    let before = signin_of_a_held_address(&store);
    assert_eq!(before["outcome"], "message-centre");
    rusqlite::Connection::open(&store.db)
        .unwrap()
        .execute_batch("VACUUM")
        .unwrap();
    assert_eq!(signin_of_a_held_address(&store), before);
    // replace looks the new address up in the directory too.
    store.replace("U0000011", "claire.thompson@nhs.net").ok();
}

/// A store of schema 11 that was vacuumed had look-ups pointing at
/// renumbered entries; opening it with this version builds them again.
#[test]
fn a_store_vacuumed_before_schema_12_is_mended_when_opened() {
    use cqrs_admin::store::sqlite::schema::MIGRATIONS;
    assert_eq!(MIGRATIONS.len(), 12, "this test upgrades from schema 11");
    let store = Store::with_fixtures();
    let expected = signin_of_a_held_address(&store);
    // What a vacuum left behind: every look-up pointing at another number.
    rusqlite::Connection::open(&store.db)
        .unwrap()
        .execute_batch(
            "UPDATE directory_keys SET entry = entry + 1000;
             PRAGMA user_version = 11;",
        )
        .unwrap();
    assert_eq!(signin_of_a_held_address(&store), expected);
    let version: i64 = rusqlite::Connection::open(&store.db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 12);
}
