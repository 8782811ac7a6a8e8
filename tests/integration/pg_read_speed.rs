//! The PostgreSQL store's quick reads (issue 12's read bars), on a real
//! server (pg_server.rs): the sign-in check reads the kept rows of its
//! address's match bucket (report_cache.rs) and says what the SQLite store
//! says; a bucket damaged, missing or kept by an older tool is never
//! trusted (every kept row is read instead); and migration 5 (lz4 for the
//! kept values) upgrades a store made before it in place.

use std::collections::BTreeSet;

use cqrs_admin::store::match_bucket;
use cqrs_admin::store::postgres::schema::current_version;

use super::common::{FIXTURE_FILES, Store, fixture};
use super::pg_server::{self, Db};

const TODAY: &str = "2026-12-01";

fn import_fixtures(db: &Db) {
    for kind in FIXTURE_FILES {
        let file = fixture(&format!("{kind}.csv"));
        db.run(&["import", kind, file.to_str().expect("a UTF-8 path")])
            .ok();
    }
}

/// The confident matches of the report (the addresses whose sign-in check
/// names accounts found for them).
fn matches_in_report(db: &Db) -> BTreeSet<String> {
    db.run(&["--today", TODAY, "report", "--format", "csv"])
        .ok()
        .csv()
        .into_iter()
        .map(|row| row["match"].clone())
        .filter(|m| m.contains('@'))
        .collect()
}

/// The sign-in check of `address` as JSON, on SQLite and on PostgreSQL.
fn signin_both(sqlite: &Store, db: &Db, address: &str) -> (String, String) {
    let args = ["--today", TODAY, "signin", address, "--format", "json"];
    (sqlite.run(&args).ok().stdout, db.run(&args).ok().stdout)
}

/// The part of report_cache that holds `address`'s bucket.
fn bucket_part(address: &str) -> i64 {
    -2 - i64::from(match_bucket(address))
}

/// Both stores with the fixtures, audited (so both keep the report).
fn audited() -> Option<(Store, Db)> {
    let db = pg_server::database()?;
    import_fixtures(&db);
    db.run(&["--today", TODAY, "audit"]).ok();
    let sqlite = Store::with_fixtures();
    sqlite.run(&["--today", TODAY, "audit"]).ok();
    Some((sqlite, db))
}

#[test]
fn signin_reads_its_addresses_bucket_and_says_what_sqlite_says() {
    let Some((sqlite, db)) = audited() else {
        return;
    };
    // Every bucket is kept beside the report's rows, and their count.
    assert_eq!(
        db.psql_owner("SELECT count(*) FROM report_cache WHERE part < 0")
            .ok()
            .stdout
            .trim(),
        (cqrs_admin::store::MATCH_BUCKETS + 1).to_string()
    );
    let matches = matches_in_report(&db);
    assert!(matches.len() >= 3, "{matches:?}");
    let mut asked = 0;
    for m in &matches {
        // The match as the report shows it, and as a person might type it.
        for address in [m.clone(), m.to_uppercase(), format!("  {m} ")] {
            let (on_sqlite, on_pg) = signin_both(&sqlite, &db, &address);
            assert_eq!(on_pg, on_sqlite, "signin {address}");
            let found = &serde_json::from_str::<serde_json::Value>(&on_pg).unwrap()["found_for"];
            assert!(
                found.as_array().is_some_and(|a| !a.is_empty()),
                "{address}: {on_pg}"
            );
            asked += 1;
        }
    }
    // An address nobody's match is: found for nobody, on both.
    let (on_sqlite, on_pg) = signin_both(&sqlite, &db, "nobody.at.all@nhs.net");
    assert_eq!(on_pg, on_sqlite);
    assert!(asked > 0);

    // The bucket is what is read: emptied (a count of 0 rows), the check
    // finds nobody for the address, though every report row is still kept.
    let first = matches.iter().next().unwrap();
    db.psql_owner(&format!(
        "UPDATE report_cache SET rows = '\\x00000000'::bytea WHERE part = {}",
        bucket_part(first)
    ))
    .ok();
    let emptied = db
        .run(&["--today", TODAY, "signin", first, "--format", "json"])
        .ok();
    let found = &serde_json::from_str::<serde_json::Value>(&emptied.stdout).unwrap()["found_for"];
    assert_eq!(found, &serde_json::json!([]), "{}", emptied.stdout);
}

#[test]
fn a_damaged_or_missing_bucket_is_never_trusted() {
    let Some((sqlite, db)) = audited() else {
        return;
    };
    let matches = matches_in_report(&db);
    let first = matches.iter().next().unwrap().clone();
    let traced = |address: &str| {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", &db.owner_password)
            .env("CQRS_ADMIN_TRACE", "1")
            .args(["--db", &db.url(), "--today", TODAY, "signin", address])
            .args(["--format", "json"]);
        pg_server::run(c).ok()
    };
    let expected = signin_both(&sqlite, &db, &first).0;
    let undamaged = traced(&first);
    assert_eq!(undamaged.stdout, expected);
    assert!(
        !undamaged.stderr.contains("reading every row"),
        "{}",
        undamaged.stderr
    );

    // Each damage: a bucket whose count says more rows than it holds, one
    // cut inside a row, and no bucket at all for the address.
    for (damage, sql) in [
        (
            "rows missing",
            format!(
                "UPDATE report_cache SET rows = '\\x00000009'::bytea WHERE part = {}",
                bucket_part(&first)
            ),
        ),
        (
            "cut short",
            format!(
                "UPDATE report_cache SET rows = '\\x000000010001'::bytea WHERE part = {}",
                bucket_part(&first)
            ),
        ),
        (
            "no match buckets",
            format!(
                "DELETE FROM report_cache WHERE part = {}",
                bucket_part(&first)
            ),
        ),
    ] {
        db.psql_owner(&sql).ok();
        let run = traced(&first);
        assert_eq!(run.stdout, expected, "after {damage}");
        assert!(
            run.stderr.contains("reading every row"),
            "{damage}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(damage), "{damage}: {}", run.stderr);
        // Each damage on its own: the report kept afresh (the kept one
        // made stale), whole again.
        db.psql_owner("UPDATE settings SET value = '0 0 2' WHERE key = 'report_cache.generation'")
            .ok();
        db.run(&["--today", TODAY, "audit"]).ok();
        let again = traced(&first);
        assert_eq!(again.stdout, expected);
        assert!(
            !again.stderr.contains("reading every row"),
            "{}",
            again.stderr
        );
    }

    // A kept report written by a tool that kept no buckets (before
    // migration 5): its rows are read, every one, and give the same answer.
    db.psql_owner("DELETE FROM report_cache WHERE part < 0")
        .ok();
    let old = traced(&first);
    assert_eq!(old.stdout, expected);
    assert!(old.stderr.contains("no match buckets"), "{}", old.stderr);
    // And `report` reads the report's own rows only, buckets or not.
    let report = |db: &Db| {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", &db.owner_password)
            .env("CQRS_ADMIN_TRACE", "1")
            .args([
                "--db",
                &db.url(),
                "--today",
                TODAY,
                "report",
                "--format",
                "csv",
            ]);
        pg_server::run(c).ok()
    };
    let sqlite_report = sqlite
        .run(&["--today", TODAY, "report", "--format", "csv"])
        .ok()
        .stdout;
    let without = report(&db);
    assert_eq!(without.stdout, sqlite_report);
    assert!(!without.stderr.contains("unreadable"), "{}", without.stderr);
}

/// The kept report's parts stream from the server and are decoded as they
/// come (report_cache.rs): damage found after earlier parts were read (the
/// last part's bytes not an encoding, or cut inside a row; a part deleted,
/// seen only by the count after the last) still gives the report computed
/// afresh, every row once, and `report --check` the same count, never a
/// report with the streamed rows shown as well, or rows missing.
#[test]
fn a_kept_report_damaged_after_its_first_parts_is_computed_afresh() {
    let Some((sqlite, db)) = audited() else {
        return;
    };
    let expected = sqlite
        .run(&["--today", TODAY, "report", "--format", "csv"])
        .ok()
        .stdout;
    let expected_check = db
        .run(&["--today", TODAY, "report", "--check"])
        .fails(3)
        .stderr;
    let parts = db
        .psql_owner("SELECT count(*) FROM report_cache WHERE part >= 0")
        .ok()
        .stdout;
    assert!(
        parts.trim().parse::<u32>().unwrap() > 2,
        "the fixtures' report has several parts: {parts}"
    );
    let traced = |args: &[&str]| {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", &db.owner_password)
            .env("CQRS_ADMIN_TRACE", "1")
            .args(["--db", &db.url(), "--today", TODAY])
            .args(args);
        pg_server::run(c)
    };
    let last = "(SELECT max(part) FROM report_cache WHERE part >= 0)";
    for (what, damage) in [
        (
            "no such section",
            format!("UPDATE report_cache SET rows = '\\xffff00'::bytea WHERE part = {last}"),
        ),
        (
            "cut short",
            format!(
                "UPDATE report_cache SET rows = substr(rows, 1, length(rows) - 3) \
                 WHERE part = {last}"
            ),
        ),
        (
            "rows where",
            format!("DELETE FROM report_cache WHERE part = {last}"),
        ),
        (
            "rows where",
            "DELETE FROM report_cache WHERE part = 1".to_string(),
        ),
    ] {
        // Each run computes the report afresh and keeps it whole again.
        db.psql_owner(&damage).ok();
        let check = traced(&["report", "--check"]).fails(3);
        assert!(
            check.stderr.contains("unreadable"),
            "{what}: {}",
            check.stderr
        );
        assert!(check.stderr.contains(what), "{what}: {}", check.stderr);
        assert!(
            check.stderr.contains(&expected_check),
            "{what}: {}",
            check.stderr
        );
        db.psql_owner(&damage).ok();
        let report = traced(&["report", "--format", "csv"]).ok();
        assert!(
            report.stderr.contains("unreadable"),
            "{what}: {}",
            report.stderr
        );
        assert_eq!(report.stdout, expected, "{what}");
    }
    let whole = traced(&["report", "--format", "csv"]).ok();
    assert!(!whole.stderr.contains("unreadable"), "{}", whole.stderr);
    assert_eq!(whole.stdout, expected);
}

#[test]
fn a_store_made_before_migration_5_is_upgraded_in_place() {
    let Some(db) = pg_server::database() else {
        return;
    };
    // The store as the previous version made it: migrations 1 to 4.
    let before = pg_server::schema_of_first_migrations(4);
    db.psql_owner(&before).ok();
    let compression = |db: &Db| {
        db.psql_owner(
            "SELECT string_agg(a.attname || '=' || a.attcompression::text || a.attstorage::text, ','
                               ORDER BY a.attname)
             FROM pg_attribute a
             WHERE (a.attrelid, a.attname) IN (('report_cache'::regclass, 'rows'),
                                               ('progress_snapshots'::regclass, 'needing'))",
        )
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    // pglz (the default, no method named), compressible in place.
    assert_eq!(compression(&db), "needing=x,rows=x");

    // Any command by the owner upgrades it, in place.
    import_fixtures(&db);
    assert_eq!(
        db.psql_owner("SELECT max(version) FROM schema_migrations")
            .ok()
            .stdout
            .trim(),
        current_version().to_string()
    );
    // lz4 where the server has it; else kept uncompressed.
    let now = compression(&db);
    assert!(
        now == "needing=lx,rows=lx" || now == "needing=e,rows=e",
        "{now}"
    );
    // And it keeps working: the audit keeps its report and snapshot (their
    // values compressed by the new method), read back by report and signin.
    let sqlite = Store::with_fixtures();
    db.run(&["--today", TODAY, "audit"]).ok();
    sqlite.run(&["--today", TODAY, "audit"]).ok();
    let args = ["--today", TODAY, "report", "--format", "csv"];
    assert_eq!(db.run(&args).ok().stdout, sqlite.run(&args).ok().stdout);
    for m in matches_in_report(&db) {
        let (on_sqlite, on_pg) = signin_both(&sqlite, &db, &m);
        assert_eq!(on_pg, on_sqlite, "signin {m}");
    }
    let args = ["--today", TODAY, "progress", "--format", "csv"];
    assert_eq!(db.run(&args).ok().stdout, sqlite.run(&args).ok().stdout);
    // A value large enough to compress is compressed with lz4.
    if now.starts_with("needing=l") {
        assert_eq!(
            db.psql_owner(
                "BEGIN;
                 INSERT INTO report_cache VALUES (1000000, convert_to(repeat('row', 10000), 'UTF8'));
                 SELECT pg_column_compression(rows) FROM report_cache WHERE part = 1000000;
                 ROLLBACK;"
            )
            .ok()
            .stdout
            .trim(),
            "lz4"
        );
    }
}
