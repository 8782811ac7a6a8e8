//! The PostgreSQL store's migration 4 (speed for many rows), on a real
//! server (pg_server.rs): a store made before it is upgraded in place by
//! the tool and keeps working, its chain continued; the chain's tail,
//! carried from row to row of one INSERT in a setting the client can also
//! change, can never be used to fork or break the chain; and the plans of
//! the whole-store and area look-ups give the same answers as before.

use cqrs_admin::store::postgres::schema::current_version;

use super::common::{FIXTURE_FILES, fixture};
use super::pg_server::{self, Db};

const TODAY: &str = "2026-12-01";

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}

/// The change log as (seq, prev_hash, hash), oldest first.
fn links(db: &Db) -> Vec<(i64, String, String)> {
    db.psql_owner("SELECT seq, prev_hash, hash FROM change_log ORDER BY seq")
        .ok()
        .stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// Every entry links to the one before it, from the genesis, numbered 1..n.
fn assert_chained(links: &[(i64, String, String)]) {
    let mut prev = "0".repeat(64);
    for (i, (seq, prev_hash, hash)) in links.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "{links:?}");
        assert_eq!(prev_hash, &prev, "entry {seq}");
        prev = hash.clone();
    }
}

fn import_fixtures(db: &Db) {
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
}

#[test]
fn a_store_made_before_migration_4_is_upgraded_in_place_and_keeps_working() {
    let Some(db) = pg_server::database() else {
        return;
    };
    // The store as the previous version made it: migrations 1 to 3, with
    // an entry its own trigger chained.
    let before = pg_server::schema_of_first_migrations(3);
    db.psql_owner(&before).ok();
    db.psql_owner(
        "INSERT INTO change_log (action, reason) VALUES ('cutover', 'made before migration 4')",
    )
    .ok();
    assert_eq!(links(&db).len(), 1);

    // Any command by the owner upgrades it, in place.
    let verified = db.run(&["verify"]).ok();
    let said = format!("{}{}", verified.stdout, verified.stderr);
    assert!(!said.contains("created now"), "{said}");
    assert_eq!(
        db.psql_owner(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"
        )
        .ok()
        .stdout
        .trim(),
        (1..=current_version())
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(current_version() >= 4);
    // Accounts now keep room for the update that marks them replaced.
    assert_eq!(
        db.psql_owner("SELECT reloptions::text FROM pg_class WHERE relname = 'accounts'")
            .ok()
            .stdout,
        "{fillfactor=90}\n"
    );

    // And it keeps working: imports, a plan replaced whole, the chain
    // continued from the entry made before the upgrade.
    import_fixtures(&db);
    let plan = db.home.path().join("plan.csv");
    db.run(&["--today", TODAY, "plan", "--out", &path(&plan)])
        .ok();
    let rows = std::fs::read_to_string(&plan).unwrap().lines().count() - 1;
    assert!(rows > 1);
    let replaced = db
        .run(&["--today", TODAY, "replace", "--plan", &path(&plan), "--yes"])
        .ok();
    assert!(
        replaced
            .stdout
            .contains(&format!("{rows} replacement accounts created")),
        "{}",
        replaced.stdout
    );
    let chain = links(&db);
    assert_eq!(chain.len(), 1 + rows);
    assert_chained(&chain);
    let verified = db.run(&["verify"]).ok();
    assert!(
        !format!("{}{}", verified.stdout, verified.stderr).contains("changed outside"),
        "{}",
        verified.stdout
    );
    // The head the database keeps is the newest entry.
    let (seq, _, hash) = chain.last().unwrap();
    assert_eq!(
        db.psql_owner("SELECT value FROM settings WHERE key = 'change_log.head'")
            .ok()
            .stdout
            .trim(),
        format!("{seq}:{hash}")
    );
}

#[test]
fn a_tail_changed_by_the_client_in_the_middle_of_an_insert_never_forks_the_chain() {
    let Some(db) = pg_server::database() else {
        return;
    };
    db.run(&["verify"]).ok();
    db.psql_owner(
        "INSERT INTO change_log (action, reason)
         SELECT 'cutover', 'entry ' || g FROM generate_series(1, 3) g",
    )
    .ok();
    let good = links(&db);
    assert_chained(&good);
    assert_eq!(good.len(), 3);

    // The tail pointed past the newest entry, at an older one, at the
    // newest with another hash, and moved between two rows: each INSERT
    // is refused whole, and the chain is as it was.
    let newest = &good[2].2;
    let older = &good[0].2;
    for (tail, on_row) in [
        (format!("7:{newest}"), 1),
        (format!("1:{older}"), 1),
        (format!("3:{}", "a".repeat(64)), 1),
        (format!("9:{newest}"), 2),
    ] {
        let refused = db.psql_owner(&format!(
            "INSERT INTO change_log (action, reason)
             SELECT 'cutover',
                    CASE WHEN g = {on_row} THEN set_config('cqrs_admin.chain_tail', '{tail}', true)
                         ELSE 'entry' END
             FROM generate_series(1, 2) g"
        ));
        assert_ne!(refused.code, 0, "{tail}: {}", refused.stdout);
        assert!(
            refused.stderr.contains("do not continue the chain")
                || refused.stderr.contains("duplicate key"),
            "{tail}: {}",
            refused.stderr
        );
        assert_eq!(links(&db), good, "{tail}");
    }

    // A tail that happens to be the true one changes nothing: the entries
    // are appended and chained.
    db.psql_owner(&format!(
        "INSERT INTO change_log (action, reason)
         SELECT 'cutover', set_config('cqrs_admin.chain_tail', '3:{newest}', true)
         FROM generate_series(1, 1) g"
    ))
    .ok();
    let after = links(&db);
    assert_eq!(after.len(), 4);
    assert_chained(&after);
    let verified = db.run(&["verify"]).ok();
    assert!(
        !format!("{}{}", verified.stdout, verified.stderr).contains("changed outside"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_replace_after_the_log_was_analysed_empty_chains_every_entry() {
    let Some(db) = pg_server::database() else {
        return;
    };
    import_fixtures(&db);
    // Analysed while empty, as autovacuum leaves a new store: the plan of
    // a look-up of the newest entry then scans the table.
    db.psql_owner("VACUUM ANALYZE change_log").ok();
    let plan = db.home.path().join("plan.csv");
    db.run(&["--today", TODAY, "plan", "--out", &path(&plan)])
        .ok();
    let rows = std::fs::read_to_string(&plan).unwrap().lines().count() - 1;
    db.run(&["--today", TODAY, "replace", "--plan", &path(&plan), "--yes"])
        .ok();
    let chain = links(&db);
    assert_eq!(chain.len(), rows);
    assert_chained(&chain);
}
