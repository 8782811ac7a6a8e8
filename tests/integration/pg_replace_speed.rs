//! `replace --plan` at speed on PostgreSQL (issue 12's bar), on a real
//! server (pg_server.rs): cqrs-admin's writes send complete change-log
//! entries, which the database checks all at once instead of rewriting
//! them row by row (schema migration 6), while an entry that comes without
//! its hash (psql) is still written by the database; a long plan is
//! checked on a second connection while its earlier batches are written,
//! with the same outcome as SQLite's, a problem in a late batch refusing
//! the whole plan; and a store made at migration 5 is upgraded in place,
//! its operators still able to replace.

use cqrs_admin::store::postgres::schema::{OPERATOR_GRANTS, current_version};

use super::common::{FIXTURE_FILES, Run, Store, fixture, plan_of_matches};
use super::pg_server::{self, Db};

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}

fn said(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

fn import_fixtures(db: &Db) {
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
}

fn count(db: &Db, sql: &str) -> usize {
    db.psql_owner(sql).ok().stdout.trim().parse().unwrap()
}

/// An SQLite store and a PostgreSQL store holding the same fixtures plus
/// `extra` confidently matched accounts, and the plan of every match (more
/// than one batch of 10,000 rows when `extra` is large).
fn both_with_a_long_plan(extra: usize) -> Option<(Db, Store, String)> {
    let db = pg_server::database()?;
    let (sqlite, plan, _) = plan_of_matches(extra);
    import_fixtures(&db);
    for kind in ["accounts", "permissions", "directory"] {
        let file = sqlite.dir.path().join(format!("matched-{kind}.csv"));
        db.run(&["import", kind, &path(&file)]).ok();
    }
    Some((db, sqlite, plan))
}

#[test]
fn a_plan_of_several_batches_is_written_as_sqlite_writes_it_with_an_unbroken_chain() {
    let Some((db, sqlite, plan)) = both_with_a_long_plan(25_000) else {
        return;
    };
    let rows = std::fs::read_to_string(&plan).unwrap().lines().count() - 1;
    assert!(rows > 20_000, "{rows} rows: three batches");
    let args = ["replace", "--plan", &plan, "--yes", "--disable-old"];
    let on_pg = db.run(&args).ok();
    let on_sqlite = sqlite.run(&args).ok();
    assert_eq!(on_pg.stdout, on_sqlite.stdout);
    assert!(
        on_pg
            .stdout
            .contains(&format!("{rows} replacement accounts created")),
        "{}",
        on_pg.stdout
    );
    // Every account once, each with a replace and a disable entry, in plan
    // order, all numbered, timed and signed by the login.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"
        ),
        rows
    );
    assert_eq!(
        db.psql_owner(
            "SELECT count(*), min(seq), max(seq), bool_and(at IS NOT NULL),
                    bool_and(actor = session_user), bool_and(actor_claim IS NULL)
             FROM change_log"
        )
        .ok()
        .stdout
        .trim(),
        format!("{}|1|{}|t|t|t", 2 * rows, 2 * rows)
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains(&format!("unbroken chain of {} entries", 2 * rows)),
        "{}",
        said(&out)
    );
    // The log reads as SQLite's, but for who acted (the login there, USER
    // here) and when.
    let log = |run: Run| -> Vec<String> {
        run.csv()
            .into_iter()
            .map(|r| {
                format!(
                    "{}|{}|{}|{}|{}|{}",
                    r["seq"],
                    r["action"],
                    r["old_account_id"],
                    r["new_account_id"],
                    r["email"],
                    r["reason"]
                )
            })
            .collect()
    };
    let pg_log = log(db.run(&["--format", "csv", "log"]).ok());
    assert_eq!(pg_log.len(), 2 * rows);
    assert_eq!(pg_log, log(sqlite.run(&["--format", "csv", "log"]).ok()));
    // Run again: every row already done, nothing written.
    let again = db.run(&["replace", "--plan", &plan, "--yes"]).ok();
    assert_eq!(
        again.stdout,
        sqlite
            .run(&["replace", "--plan", &plan, "--yes"])
            .ok()
            .stdout
    );
    assert_eq!(count(&db, "SELECT count(*) FROM change_log"), 2 * rows);
}

#[test]
fn a_problem_in_a_late_batch_refuses_the_whole_plan_as_sqlite_does_and_changes_nothing() {
    let Some((db, sqlite, plan)) = both_with_a_long_plan(25_000) else {
        return;
    };
    // Two rows of the last batch go wrong: one names an address that is no
    // NHSmail address, one an account that does not exist.
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len();
    let late: Vec<usize> = (1..n)
        .rev()
        .filter(|&i| lines[i].starts_with('L'))
        .take(2)
        .collect();
    assert!(
        late.iter().all(|&i| i > 20_000),
        "{late:?}: in the last batch"
    );
    lines[late[0]] = lines[late[0]].replacen("@nhs.net", "@example.com", 1);
    lines[late[1]] = format!("NOBODY-{}", lines[late[1]]);
    let bad = sqlite.dir.path().join("bad-plan.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let bad = path(&bad);
    let args = ["replace", "--plan", &bad, "--yes"];
    let on_pg = db.run(&args).fails(1);
    let on_sqlite = sqlite.run(&args).fails(1);
    assert_eq!(on_pg.stderr, on_sqlite.stderr);
    for i in late {
        // Index i is the file's line i + 1.
        let line = format!("line {}", i + 1);
        assert!(on_pg.stderr.contains(&line), "{line}: {}", on_pg.stderr);
    }
    // The earlier batches, written while the last was checked, were undone.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaced_by IS NOT NULL"
        ),
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM change_log"), 0);
    // And the plan as made still goes through whole.
    db.run(&["replace", "--plan", &plan, "--yes"]).ok();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"
        ),
        n - 1
    );
}

/// An INSERT as the owner in psql of one entry given whole: `seq`, its
/// `prev_hash` (`prev`, SQL), time (`at`, SQL), and the hash its content
/// gives unless `hash` (SQL) says otherwise.
fn insert_whole(db: &Db, seq: i64, prev: &str, at: &str, hash: Option<&str>) -> Run {
    let computed = "cqrs_entry_hash(x.prev, x.seq, x.at, session_user::text, 'cutover', NULL, \
                    NULL, NULL, 'given whole', NULL)";
    db.psql_owner(&format!(
        "INSERT INTO change_log (seq, at, actor, action, reason, prev_hash, hash)
         SELECT x.seq, x.at, session_user, 'cutover', 'given whole', x.prev, {}
         FROM (SELECT {seq}::bigint AS seq, {at} AS at, {prev} AS prev) x",
        hash.unwrap_or(computed)
    ))
}

const NOW: &str =
    "to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
const GENESIS: &str = "repeat('0', 64)";
const HEAD_HASH: &str = "(SELECT hash FROM change_log ORDER BY seq DESC LIMIT 1)";

#[test]
fn an_entry_given_whole_is_kept_only_when_it_is_what_the_database_would_write() {
    let Some(db) = pg_server::database() else {
        return;
    };
    db.run(&["verify"]).ok();
    // Given whole and right, as cqrs-admin's writes give it: kept as given.
    insert_whole(&db, 1, GENESIS, NOW, None).ok();
    // Without its hash (psql), the database writes it, as before.
    db.psql_owner("INSERT INTO change_log (action, reason) VALUES ('cutover', 'written for me')")
        .ok();
    // Given whole, but wrong: refused whole, nothing appended.
    let refusals = [
        (
            insert_whole(&db, 3, HEAD_HASH, NOW, Some("repeat('f', 64)")),
            "the change log entry 3 does not carry the hash its content gives",
        ),
        (
            insert_whole(&db, 3, HEAD_HASH, "'1999-01-01T00:00:00Z'", None),
            "a time outside this transaction",
        ),
        (
            insert_whole(&db, 7, HEAD_HASH, NOW, None),
            "do not continue the chain",
        ),
        (
            insert_whole(&db, 3, GENESIS, NOW, None),
            "do not continue the chain",
        ),
    ];
    for (out, refusal) in refusals {
        assert_ne!(out.code, 0, "{refusal}: allowed");
        assert!(out.stderr.contains(refusal), "{refusal}: {}", out.stderr);
    }
    assert_eq!(
        db.psql_owner("SELECT seq, actor = session_user, reason FROM change_log ORDER BY seq")
            .ok()
            .stdout,
        "1|t|given whole\n2|t|written for me\n"
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains("unbroken chain of 2 entries"),
        "{}",
        said(&out)
    );
    // Another login's name given whole is still rewritten to the login,
    // and kept as the claim.
    db.psql_owner(&format!(
        "INSERT INTO change_log (seq, at, actor, action, prev_hash, hash)
         VALUES (3, {NOW}, 'someone-else', 'cutover', 'forged', 'forged')"
    ))
    .ok();
    assert_eq!(
        db.psql_owner("SELECT actor = session_user, actor_claim FROM change_log WHERE seq = 3")
            .ok()
            .stdout,
        "t|someone-else\n"
    );
    db.run(&["verify"]).ok();
}

#[test]
fn a_store_made_at_migration_5_is_upgraded_in_place_and_its_operators_still_replace() {
    let Some(db) = pg_server::database() else {
        return;
    };
    // The store as the previous version made it: migrations 1 to 5, a
    // national operator registered with the grants of then, and an entry
    // the old trigger wrote.
    let before = pg_server::schema_of_first_migrations(5);
    db.psql_owner(&before).ok();
    db.login("rs_alice", "alices-password");
    let mut register = String::from(
        "INSERT INTO operators (login, ods_code, added_at, added_by)
         VALUES ('rs_alice', NULL, '2026-11-30T10:00:00Z', session_user);\n",
    );
    for grant in OPERATOR_GRANTS
        .iter()
        .filter(|g| !g.contains("cqrs_change_log_next"))
    {
        register.push_str(&grant.replace("{login}", "rs_alice"));
        register.push_str(";\n");
    }
    db.psql_owner(&register).ok();
    db.psql_owner("INSERT INTO change_log (action, reason) VALUES ('cutover', 'before 6')")
        .ok();

    // Any command by the owner upgrades it, in place.
    import_fixtures(&db);
    assert_eq!(
        db.psql_owner("SELECT max(version) FROM schema_migrations")
            .ok()
            .stdout
            .trim(),
        current_version().to_string()
    );
    // The operator registered before may still hold the head and append.
    let plan = db.home.path().join("plan.csv");
    db.run(&["--today", "2026-12-01", "plan", "--out", &path(&plan)])
        .ok();
    let rows = std::fs::read_to_string(&plan).unwrap().lines().count() - 1;
    assert!(rows > 1);
    let mut c = db.cqrs();
    c.env("PGPASSWORD", "alices-password")
        .env("CQRS_ADMIN_ACTOR", "Alice Smith")
        .arg("--db")
        .arg(db.url_for("rs_alice"))
        .args([
            "--today",
            "2026-12-01",
            "replace",
            "--plan",
            &path(&plan),
            "--yes",
        ]);
    let done = pg_server::run(c).ok();
    assert!(
        done.stdout
            .contains(&format!("{rows} replacement accounts created")),
        "{}",
        done.stdout
    );
    assert_eq!(
        db.psql_owner(
            "SELECT count(*) FROM change_log
             WHERE actor = 'rs_alice' AND actor_claim = 'Alice Smith' AND action = 'replace'"
        )
        .ok()
        .stdout
        .trim(),
        rows.to_string()
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains(&format!("unbroken chain of {} entries", rows + 1)),
        "{}",
        said(&out)
    );
    // A login that is no operator may not hold the head.
    db.login("rs_mallory", "mallorys-password");
    let out = db.psql(
        "rs_mallory",
        "mallorys-password",
        "BEGIN; SELECT * FROM cqrs_change_log_next(); ROLLBACK;",
    );
    assert!(out.stderr.contains("permission denied"), "{}", out.stderr);
}
