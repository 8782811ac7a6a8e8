//! `store copy FROM TO`: a whole store copied into a new or empty one with
//! nothing lost, SQLite to SQLite and SQLite to PostgreSQL and back (a real
//! server, pg_server.rs): the copy gives the same audit, report, change log
//! and `verify` (the same chain, the same newest hash); a copy into a store
//! that holds anything, or of a store changed past cqrs-admin, is refused
//! and changes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::common::{FIXTURE_FILES, Run, binary, fixture};
use super::pg_server::{self, Db};

/// Today, pinned, so that both stores are read on the same day.
const TODAY: &str = "2020-09-01";

/// The binary with the same environment whichever store it is given.
fn command(dir: &Path) -> Command {
    let mut c = Command::new(binary());
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("USER", "tester")
        .env("NO_COLOR", "1")
        .env("CQRS_ADMIN_ACTOR", "test-operator")
        .current_dir(dir);
    c
}

fn output(mut c: Command) -> Run {
    let out = c.stdin(Stdio::null()).output().expect("run the binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Where a store is: a file, or a PostgreSQL database (run as its owner).
enum At<'a> {
    File(&'a Path),
    Pg(&'a Db),
}

impl At<'_> {
    fn name(&self) -> String {
        match self {
            At::File(p) => p.display().to_string(),
            At::Pg(db) => db.url(),
        }
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let mut c = command(dir);
        if let At::Pg(db) = self {
            c.env("PGPASSWORD", &db.owner_password);
        }
        c.arg("--db")
            .arg(self.name())
            .arg("--today")
            .arg(TODAY)
            .args(args);
        output(c)
    }
}

/// `store copy FROM TO`, with the owner's password for whichever is on
/// PostgreSQL.
fn copy(dir: &Path, from: &At<'_>, to: &At<'_>, extra: &[&str]) -> Run {
    let mut c = command(dir);
    for at in [from, to] {
        if let At::Pg(db) = at {
            c.env("PGPASSWORD", &db.owner_password);
        }
    }
    c.args(["store", "copy"])
        .arg(from.name())
        .arg(to.name())
        .args(extra);
    output(c)
}

/// An SQLite store with the fixtures imported, a plan of replacements
/// applied, one reverted and reinstated, another reverted, the cutover
/// date set, and the report kept.
fn busy_store(dir: &Path) -> PathBuf {
    let db = dir.join("source.db");
    let at = At::File(&db);
    for kind in FIXTURE_FILES {
        let file = fixture(&format!("{kind}.csv"));
        at.run(dir, &["import", kind, file.to_str().unwrap()]).ok();
    }
    at.run(dir, &["cutover", "set", "2020-10-01"]).ok();
    at.run(dir, &["plan", "--out", "plan.csv"]).ok();
    at.run(dir, &["replace", "--plan", "plan.csv", "--yes"])
        .ok();
    let new = replacement_ids(&db);
    assert!(new.len() >= 2, "the plan made too few replacements");
    at.run(
        dir,
        &["revert", &new[0], "--reason", "wrong person", "--yes"],
    )
    .ok();
    at.run(
        dir,
        &["reinstate", &new[0], "--reason", "right after all", "--yes"],
    )
    .ok();
    at.run(
        dir,
        &["revert", &new[1], "--reason", "left the practice", "--yes"],
    )
    .ok();
    at.run(dir, &["report"]).ok();
    db
}

/// Every replacement account's id.
fn replacement_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare("SELECT account_id FROM accounts WHERE replaces IS NOT NULL ORDER BY 1")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every row of `table` in an SQLite store, `columns` as text, in order.
fn rows(db: &Path, table: &str, columns: &str, order: &str) -> Vec<Vec<Option<String>>> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut stmt = conn
        .prepare(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))
        .expect("prepare");
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => None,
                    rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    other => Some(format!("{other:?}")),
                })
            })
            .collect::<Result<Vec<_>, rusqlite::Error>>()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Every table of an SQLite store that a copy must carry or rebuild,
/// each row as text: the tables, the directory with its rowids, the
/// look-up tables, and the settings that are not a counter.
fn contents(db: &Path) -> Vec<(String, Vec<Vec<Option<String>>>)> {
    [
        ("organisations", "*", "ods_code"),
        ("accounts", "*", "account_id"),
        ("permissions", "*", "account_id, ods_code, role"),
        ("directory", "rowid, *", "rowid"),
        ("activity", "*", "activity_id"),
        ("change_log", "*", "seq"),
        ("account_emails", "*", "email_key, account_id"),
        ("directory_keys", "*", "address_key, entry"),
    ]
    .iter()
    .map(|(t, c, o)| (t.to_string(), rows(db, t, c, o)))
    .chain(std::iter::once((
        "settings".to_string(),
        rows(
            db,
            "settings WHERE key NOT IN ('generation', 'report_cache.generation')",
            "*",
            "key",
        ),
    )))
    .collect()
}

/// The reading commands whose output two stores with the same contents
/// must give alike (the store's name aside).
const READINGS: &[&[&str]] = &[
    &["audit", "--include-disabled", "--format", "csv"],
    &["report", "--format", "csv"],
    &["report", "--format", "json"],
    &["log", "--format", "csv"],
    &["log"],
    &["verify"],
    &["verify", "--format", "json"],
    &["cutover", "show", "--format", "json"],
];

/// How the two stores' answers to [`READINGS`] differ, if they do.
fn differences(dir: &Path, a: &At<'_>, b: &At<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for args in READINGS {
        let (ra, rb) = (a.run(dir, args), b.run(dir, args));
        let scrub = |text: &str, at: &At<'_>| text.replace(&at.name(), "<store>");
        if ra.code != 0 {
            out.push(format!("`{}` failed: {}", args.join(" "), ra.stderr));
        }
        if (ra.code, scrub(&ra.stdout, a), scrub(&ra.stderr, a))
            != (rb.code, scrub(&rb.stdout, b), scrub(&rb.stderr, b))
        {
            out.push(format!(
                "`{}`:\n--- {}\n{}{}\n--- {}\n{}{}",
                args.join(" "),
                a.name(),
                ra.stdout,
                ra.stderr,
                b.name(),
                rb.stdout,
                rb.stderr
            ));
        }
    }
    out
}

/// The newest entry's hash `verify` names.
fn verified_head(run: &Run) -> String {
    let at = run
        .stderr
        .find("newest hash ")
        .expect("verify names the head")
        + 12;
    run.stderr[at..at + 64].to_string()
}

#[test]
fn a_copy_into_a_new_sqlite_file_holds_everything_and_answers_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    let target = dir.path().join("copy.db");
    let run = copy(
        dir.path(),
        &At::File(&source),
        &At::File(&target),
        &["--format", "json"],
    )
    .ok();
    // The counts are what the source holds.
    let copied = run.json();
    for table in copied["tables"].as_array().expect("tables") {
        let name = table["table"].as_str().expect("name");
        let held = if name == "settings" {
            rows(&source, "settings WHERE key = 'cutover'", "key", "key").len()
        } else {
            rows(&source, name, "1", "1").len()
        };
        assert_eq!(table["rows"].as_u64(), Some(held as u64), "{name}");
    }
    assert!(rows(&source, "change_log", "1", "1").len() > 5);
    assert!(
        run.stderr.contains("its change log is the same chain of"),
        "{}",
        run.stderr
    );
    // Every table, the look-up tables rebuilt and the directory's order
    // (rowids) included, is as the source holds it.
    assert_eq!(contents(&source), contents(&target));
    let problems = differences(dir.path(), &At::File(&source), &At::File(&target));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let verify = At::File(&target).run(dir.path(), &["verify"]).ok();
    assert_eq!(
        verified_head(&verify),
        copied["head_hash"].as_str().expect("head")
    );
    // The copy is a store like any other: it takes the next change.
    let new = replacement_ids(&target);
    At::File(&target)
        .run(dir.path(), &["revert", &new[0], "--yes"])
        .ok();
    At::File(&target).run(dir.path(), &["verify"]).ok();
}

#[test]
fn the_table_and_csv_forms_list_rows_per_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    let csv = copy(
        dir.path(),
        &At::File(&source),
        &At::File(&dir.path().join("a.db")),
        &["--format", "csv"],
    )
    .ok();
    let listed: Vec<(String, String)> = csv
        .csv()
        .into_iter()
        .map(|r| (r["table"].clone(), r["rows"].clone()))
        .collect();
    let tables: Vec<&str> = listed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tables,
        [
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
            "change_log",
            "settings",
            "notifications",
            "progress_snapshots",
            "progress_categories",
            "progress_contacts",
            "progress_groups",
            "account_notes",
            "follow_ups"
        ]
    );
    let accounts = rows(&source, "accounts", "1", "1").len().to_string();
    assert!(listed.contains(&("accounts".to_string(), accounts.clone())));
    let table = copy(
        dir.path(),
        &At::File(&source),
        &At::File(&dir.path().join("b.db")),
        &[],
    )
    .ok();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains("accounts") && l.contains(&accounts)),
        "{}",
        table.stdout
    );
}

#[test]
fn a_copy_into_a_store_that_holds_anything_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    let target = dir.path().join("target.db");
    let at = At::File(&target);
    let file = fixture("organisations.csv");
    at.run(
        dir.path(),
        &["import", "organisations", file.to_str().unwrap()],
    )
    .ok();
    let before = contents(&target);
    let bytes = std::fs::read(&target).expect("read");
    let run = copy(dir.path(), &At::File(&source), &at, &[]).fails(1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert!(
        run.stderr.contains("rows in organisations"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was changed"), "{}", run.stderr);
    assert_eq!(contents(&target), before);
    assert_eq!(std::fs::read(&target).expect("read"), bytes);
    // Nor is a store copied onto itself, by any name.
    let same = dir.path().join(".").join("source.db");
    let before = std::fs::read(&source).expect("read");
    let run = copy(dir.path(), &At::File(&source), &At::File(&same), &[]).fails(1);
    assert!(
        run.stderr.contains("both the store to copy"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&source).expect("read"), before);
}

#[test]
fn a_store_changed_past_cqrs_admin_is_not_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    {
        let conn = rusqlite::Connection::open(&source).expect("open");
        conn.execute_batch(
            "DROP TRIGGER change_log_no_update;
             UPDATE change_log SET reason = 'nothing to see' WHERE seq = 2;",
        )
        .expect("tamper");
    }
    let target = dir.path().join("copy.db");
    let run = copy(dir.path(), &At::File(&source), &At::File(&target), &[]).fails(1);
    assert!(
        run.stderr
            .contains("changed outside cqrs-admin, so it is not copied"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("entry 2 was edited"), "{}", run.stderr);
    assert!(!target.exists(), "a refused copy left {}", target.display());
    // An empty store given as the destination stays as it was.
    let empty = dir.path().join("empty.db");
    At::File(&empty)
        .run(dir.path(), &["cutover", "set", "2020-10-01"])
        .ok();
    let before = std::fs::read(&empty).expect("read");
    copy(dir.path(), &At::File(&source), &At::File(&empty), &[]).fails(1);
    assert_eq!(std::fs::read(&empty).expect("read"), before);
}

/// Every change-log entry of a PostgreSQL store, as psql prints them
/// (`|`-separated, NULL as `<null>`), and whether the database's own hash
/// function gives each its hash and each names the one before.
fn pg_change_log(db: &Db) -> Vec<String> {
    let run = db
        .psql_owner(
            "SELECT seq, at, actor, action, coalesce(old_account_id, '<null>'), \
                    coalesce(new_account_id, '<null>'), coalesce(email, '<null>'), \
                    coalesce(reason, '<null>'), prev_hash, hash, coalesce(actor_claim, '<null>'), \
                    hash = cqrs_entry_hash(prev_hash, seq, at, actor, action, old_account_id, \
                        new_account_id, email, reason, actor_claim) \
                    AND prev_hash = coalesce(lag(hash) OVER (ORDER BY seq), repeat('0', 64)) \
             FROM change_log ORDER BY seq;",
        )
        .ok();
    run.stdout
        .lines()
        .filter(|l| !l.is_empty() && l.contains('|'))
        .map(str::to_string)
        .collect()
}

/// The SQLite store's change log as psql would print it.
fn sqlite_change_log(db: &Path) -> Vec<String> {
    rows(
        db,
        "change_log",
        "seq, at, actor, action, old_account_id, new_account_id, email, reason, prev_hash, \
         hash, actor_claim",
        "seq",
    )
    .into_iter()
    .map(|r| {
        let mut fields: Vec<String> = r
            .into_iter()
            .map(|v| v.unwrap_or_else(|| "<null>".to_string()))
            .collect();
        fields.push("t".to_string());
        fields.join("|")
    })
    .collect()
}

#[test]
fn sqlite_to_postgresql_and_back_keeps_the_audit_report_log_and_chain() {
    let Some(pg) = pg_server::database() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    let (src, on_pg) = (At::File(&source), At::Pg(&pg));
    let there = copy(dir.path(), &src, &on_pg, &["--format", "json"]).ok();
    // On the server: the same rows, and the same chain, checked there by
    // the database's own hash function.
    assert_eq!(pg_change_log(&pg), sqlite_change_log(&source));
    let problems = differences(dir.path(), &src, &on_pg);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And back again.
    let back = dir.path().join("back.db");
    let again = copy(dir.path(), &on_pg, &At::File(&back), &["--format", "json"]).ok();
    // The same rows of every table, but the snapshots: the audits of
    // `differences` on the server recorded one there.
    let without_snapshots = |run: &Run| -> Vec<serde_json::Value> {
        run.json()["tables"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["table"].as_str().unwrap().starts_with("progress_"))
            .cloned()
            .collect()
    };
    assert_eq!(without_snapshots(&there), without_snapshots(&again));
    assert_eq!(there.json()["head_hash"], again.json()["head_hash"]);
    assert_eq!(contents(&source), contents(&back));
    let problems = differences(dir.path(), &src, &At::File(&back));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let head = verified_head(&At::File(&back).run(dir.path(), &["verify"]).ok());
    assert_eq!(
        head,
        verified_head(&At::File(&source).run(dir.path(), &["verify"]).ok())
    );

    // An entry written on the server (the login as the operator, the
    // --actor as its claim) crosses too, claim and hash intact.
    on_pg
        .run(dir.path(), &["cutover", "set", "2020-11-01"])
        .ok();
    let back2 = dir.path().join("back2.db");
    copy(dir.path(), &on_pg, &At::File(&back2), &[]).ok();
    assert_eq!(pg_change_log(&pg), sqlite_change_log(&back2));
    let last = sqlite_change_log(&back2).pop().expect("an entry");
    assert!(
        last.contains(&format!("|{}|cutover|", pg.owner)) && last.ends_with("|test-operator|t"),
        "{last}"
    );
    At::File(&back2).run(dir.path(), &["verify"]).ok();
}

#[test]
fn a_copy_into_a_postgresql_store_that_holds_anything_is_refused_and_changes_nothing() {
    let Some(pg) = pg_server::database() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let source = busy_store(dir.path());
    let on_pg = At::Pg(&pg);
    let file = fixture("organisations.csv");
    on_pg
        .run(
            dir.path(),
            &["import", "organisations", file.to_str().unwrap()],
        )
        .ok();
    let count = |table: &str| {
        pg.psql_owner(&format!("SELECT count(*) FROM {table};"))
            .ok()
            .stdout
    };
    let before: Vec<String> = ["organisations", "accounts", "change_log", "settings"]
        .iter()
        .map(|t| count(t))
        .collect();
    let run = copy(dir.path(), &At::File(&source), &on_pg, &[]).fails(1);
    assert!(run.stderr.contains("is not empty"), "{}", run.stderr);
    assert!(
        run.stderr.contains("rows in organisations"),
        "{}",
        run.stderr
    );
    let after: Vec<String> = ["organisations", "accounts", "change_log", "settings"]
        .iter()
        .map(|t| count(t))
        .collect();
    assert_eq!(before, after);
}
