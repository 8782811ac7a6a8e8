//! The PostgreSQL import's speed work (issue 12's import bar), on a real
//! server (pg_server.rs): the look-up keys of migration 7
//! (`accounts.email_key`, `directory.address_key`) are the server's own
//! hash of each text's normal form however the row was written (a first
//! import sends keys computed by the client, every other write has the
//! trigger compute them), the look-ups by address find what SQLite finds,
//! and a store made before migration 7 is upgraded in place.

use std::io::Write as _;

use cqrs_admin::store::postgres::schema::current_version;

use super::common::{FIXTURE_FILES, Store, fixture, write};
use super::pg_server::{self, Db};
use super::pg_write_speed::said;

const TODAY: &str = "2026-12-01";

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Rows whose stored key is not the server's hash of the text's normal form.
fn wrong_keys(db: &Db) -> String {
    db.psql_owner(
        "SELECT (SELECT count(*) FROM accounts
                 WHERE email_key IS DISTINCT FROM hashtextextended(lower(btrim(email)), 0))
             || ' ' ||
                (SELECT count(*) FROM directory
                 WHERE address_key IS DISTINCT FROM hashtextextended(lower(address), 0))",
    )
    .ok()
    .stdout
    .trim()
    .to_string()
}

fn accounts_show(db: &Db, sqlite: &Store, address: &str) -> (String, String) {
    let args = ["--today", TODAY, "accounts", "show", address];
    let pg = db.run(&args);
    let lite = sqlite.run(&args);
    (
        format!("{} {}{}", pg.code, pg.stdout, pg.stderr),
        format!("{} {}{}", lite.code, lite.stdout, lite.stderr),
    )
}

/// Accounts and directory entries with addresses of every length from 1
/// to 40 bytes, in capitals and small letters, with spaces around and
/// characters of several bytes: every path of the hash.
fn files_of_every_length() -> (String, String) {
    let mut accounts = String::from(
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n",
    );
    let mut directory =
        String::from("address,given_name,family_name,ods_code,status,mailbox_type\n");
    for n in 1..=40usize {
        let local: String = "Ab.Cdé-Fghij€Klmnopqrstuvwxyz0123456789"
            .chars()
            .cycle()
            .take(n)
            .collect();
        let email = format!("{local}@NHS.net");
        let spaced = if n % 3 == 0 {
            format!("  {email} ")
        } else {
            email.clone()
        };
        accounts.push_str(&format!(
            "U7{n:06},user{n},{spaced},Given,Family,active,2020-01-01,\n"
        ));
        // Directory addresses are checked (ASCII only); accounts' are not.
        let ascii: String = "AbCdeFghijKlmnopqrstuvwxyz0123456789xyz"
            .chars()
            .cycle()
            .take(n)
            .collect();
        directory.push_str(&format!(
            "{ascii}@NHS.net,Given,Family,F82001,active,personal\n"
        ));
    }
    (accounts, directory)
}

#[test]
fn look_up_keys_are_the_servers_own_however_the_rows_were_written() {
    let Some(db) = pg_server::database() else {
        return;
    };
    let sqlite = Store::with_fixtures();
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    let (accounts, directory) = files_of_every_length();
    let accounts = write(&sqlite, "more-accounts.csv", &accounts);
    let directory = write(&sqlite, "directory-every-length.csv", &directory);
    // A second accounts file goes through the staging table (the trigger
    // computes its keys); a new directory replaces the old one whole (the
    // client sends them).
    for args in [
        ["import", "accounts", &accounts],
        ["import", "directory", &directory],
    ] {
        db.run(&args).ok();
        sqlite.run(&args).ok();
    }
    assert_eq!(wrong_keys(&db), "0 0");
    assert_eq!(
        db.psql_owner("SELECT count(*) FROM accounts WHERE account_id LIKE 'U7%'")
            .ok()
            .stdout
            .trim(),
        "40"
    );

    // Look-ups by address, in another case and with spaces, find what
    // SQLite finds (an account's address and the directory entry for it).
    for n in [1usize, 11, 12, 13, 24, 40] {
        let local: String = "Ab.Cdé-Fghij€Klmnopqrstuvwxyz0123456789"
            .chars()
            .cycle()
            .take(n)
            .collect();
        let asked = format!("{}@nhs.NET", local.to_ascii_uppercase());
        let (pg, lite) = accounts_show(&db, &sqlite, &asked);
        assert_eq!(pg, lite, "{asked}");
    }
    for n in [1usize, 12, 40] {
        let ascii: String = "AbCdeFghijKlmnopqrstuvwxyz0123456789xyz"
            .chars()
            .cycle()
            .take(n)
            .collect();
        let (pg, lite) = accounts_show(&db, &sqlite, &format!("{ascii}@nhs.net"));
        assert_eq!(pg, lite, "{ascii}");
    }
    let (pg, lite) = accounts_show(&db, &sqlite, "DAVID.BROWN@nhs.net");
    assert_eq!(pg, lite);
    assert!(pg.starts_with("0 "), "{pg}");

    // Rows written by psql get their keys from the trigger, whatever key
    // was given, and keep them right when the key is changed by hand.
    db.psql_owner(
        "INSERT INTO accounts (account_id, username, email, given_name, family_name, status, email_key)
         VALUES ('U9000001', 'psql1', ' Psql.Person@NHS.net', 'P', 'P', 'active', 42);
         INSERT INTO directory (entry, address, given_name, family_name, ods_code, status, mailbox_type)
         VALUES (900001, 'Psql.Person@nhs.net', 'P', 'P', 'F82001', 'active', 'personal');
         UPDATE accounts SET email_key = 7 WHERE account_id = 'U9000001';
         UPDATE directory SET address_key = 7 WHERE entry = 900001;",
    )
    .ok();
    assert_eq!(wrong_keys(&db), "0 0");
    let shown = db
        .run(&["--today", TODAY, "accounts", "show", "psql.person@nhs.net"])
        .ok()
        .stdout;
    assert!(shown.contains("U9000001"), "{shown}");

    // A replacement's new account has its key: the look-up by its address
    // finds it.
    let replace = [
        "--today",
        TODAY,
        "replace",
        "U0000001",
        "--email",
        "Sarah.Jones@nhs.net",
        "--yes",
    ];
    let replaced = db.run(&replace);
    let on_sqlite = sqlite.run(&replace);
    assert_eq!(replaced.code, on_sqlite.code, "{}", replaced.stderr);
    assert_eq!(wrong_keys(&db), "0 0");
    // And the store is as cqrs-admin left it (the key triggers are
    // among the protective triggers checked).
    let verified = db.run(&["verify"]);
    assert!(
        !format!("{}{}", verified.stdout, verified.stderr).contains("changed outside"),
        "{}{}",
        verified.stdout,
        verified.stderr
    );
}

#[test]
fn a_first_import_drops_the_key_trigger_only_for_its_load() {
    let Some(db) = pg_server::database() else {
        return;
    };
    db.run(&["verify"]).ok();
    let triggers = |db: &Db| {
        db.psql_owner(
            "SELECT string_agg(pg_get_triggerdef(oid) || ' ' || tgenabled::text, E'\\n' ORDER BY tgname)
             FROM pg_trigger WHERE tgname IN ('accounts_email_key', 'directory_address_key')",
        )
        .ok()
        .stdout
    };
    let before = triggers(&db);
    assert!(before.contains("accounts_email_key"), "{before}");
    assert!(before.contains("directory_address_key"), "{before}");
    // A refused first import (a repeated account id) leaves it as it was.
    let scratch = Store::new();
    let bad = write(
        &scratch,
        "accounts.csv",
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         U1,u1,a@nhs.net,A,A,active,2020-01-01,\n\
         U1,u2,b@nhs.net,B,B,active,2020-01-01,\n",
    );
    let refused = db.run(&["import", "accounts", &bad]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("line 3"), "{}", refused.stderr);
    assert_eq!(triggers(&db), before);
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    assert_eq!(triggers(&db), before);
    assert_eq!(wrong_keys(&db), "0 0");
}

#[test]
fn a_store_made_before_migration_7_is_upgraded_in_place_and_keeps_finding_addresses() {
    let Some(db) = pg_server::database() else {
        return;
    };
    // The store as the previous version made it, with rows in it.
    let mut before = pg_server::schema_of_first_migrations(6);
    before.push_str(
        "INSERT INTO organisations (ods_code, name, kind, parent_code) VALUES
             ('Y56', 'London', 'region', NULL), ('F82001', 'A practice', 'practice', NULL);
         INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
         VALUES ('U0000001', 'sjones01', 'sarah.jones@nhs.net', 'Sarah', 'Jones', 'active'),
                ('U0000002', 'dbrown02', '  David.Brown@NHS.NET ', 'David', 'Brown', 'active');
         INSERT INTO directory (entry, address, given_name, family_name, ods_code, status, mailbox_type)
         VALUES (2, 'David.Brown@nhs.net', 'David', 'Brown', 'F82001', 'active', 'personal');",
    );
    db.psql_owner(&before).ok();
    assert!(
        !db.psql_owner("SELECT email_key FROM accounts")
            .stderr
            .is_empty(),
        "no key column before the upgrade"
    );
    // Any command by the owner upgrades it.
    db.run(&["verify"]);
    assert_eq!(
        db.psql_owner("SELECT max(version) FROM schema_migrations")
            .ok()
            .stdout
            .trim(),
        current_version().to_string()
    );
    assert_eq!(wrong_keys(&db), "0 0");
    let indexes = db
        .psql_owner(
            "SELECT string_agg(pg_get_indexdef(indexrelid), E'\\n' ORDER BY 1)
             FROM pg_index WHERE indexrelid::regclass::text IN ('accounts_by_email', 'directory_by_address')",
        )
        .ok()
        .stdout;
    assert!(
        indexes.contains("accounts USING btree (email_key)"),
        "{indexes}"
    );
    assert!(
        indexes.contains("directory USING btree (address_key)"),
        "{indexes}"
    );
    // And it keeps working: the account and its directory entry are found
    // by address, in any case.
    let shown = db.run(&["--today", TODAY, "accounts", "show", "DAVID.brown@nhs.net"]);
    let out = shown.ok().stdout;
    assert!(out.contains("U0000002"), "{out}");
}

#[test]
fn rows_sent_before_the_known_accounts_are_in_are_refused_on_the_lines_sqlite_names() {
    // The account ids are read on a second connection while a first load
    // starts; here they are taken only at its end, so every row is checked
    // after it was sent, and must be refused exactly as SQLite refuses it.
    let Some(db) = pg_server::database() else {
        return;
    };
    db.run(&["verify"]).ok();
    let sqlite = Store::new();
    let late = [("CQRS_ADMIN_TEST_IDS_LATE", "1")];
    let url = db.url();
    let lite = sqlite.db.display().to_string();
    let both = |kind: &str, file: &str| {
        let args = ["import", kind, file];
        (
            said(&db.run_with(&late, &args), &[&url, &lite]),
            said(&sqlite.run(&args), &[&url, &lite]),
        )
    };
    for kind in ["organisations", "accounts"] {
        let (pg, lite) = both(kind, &path(&fixture(&format!("{kind}.csv"))));
        assert_eq!(pg, lite);
    }
    let count = |table: &str| {
        db.psql_owner(&format!("SELECT count(*) FROM {table}"))
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    // Roles: an unknown account twice with the same key (never a repeat),
    // a known key repeated, an unknown account on the last line.
    let permissions = write(
        &sqlite,
        "permissions.csv",
        "account_id,ods_code,role,payment_types\n\
         U0000001,F82001,service-management,QOF\n\
         U9999999,F82001,view,\n\
         U9999999,F82001,view,\n\
         U0000001,F82001,service-management,\n\
         U8888888,F82001,view,\n",
    );
    let (pg, lite) = both("permissions", &permissions);
    assert_eq!(pg, lite);
    assert!(pg.starts_with("exit 1"), "{pg}");
    for said in [
        "line 3, column account_id: there is no account U9999999",
        "line 4, column account_id: there is no account U9999999",
        "line 5, column account_id: (account_id, ods_code, role) U0000001, F82001, \
         service-management is also on line 2",
        "line 6, column account_id: there is no account U8888888",
    ] {
        assert!(pg.contains(said), "{said}\n{pg}");
    }
    assert_eq!(count("permissions"), "0");
    // Activity: an id first with an unknown account, then with a known one
    // (the known one is no repeat: the first was refused on its own).
    let activity = write(
        &sqlite,
        "activity.csv",
        "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
         ACT1,F82001,U9999999,offer-made,2019-04-01,\n\
         ACT1,F82001,U0000001,offer-made,2019-04-01,\n\
         ACT2,F82001,U0000001,offer-made,2019-04-02,\n",
    );
    let (pg, lite) = both("activity", &activity);
    assert_eq!(pg, lite);
    assert!(
        pg.contains("line 2, column account_id: there is no account U9999999"),
        "{pg}"
    );
    assert!(!pg.contains("line 3"), "{pg}");
    assert_eq!(count("activity"), "0");
    // Good files go in whole, the deferred rows with the rest.
    for kind in ["permissions", "activity"] {
        let (pg, lite) = both(kind, &path(&fixture(&format!("{kind}.csv"))));
        assert_eq!(pg, lite);
        assert!(pg.starts_with("exit 0"), "{pg}");
    }
    assert_eq!(count("permissions"), sqlite_count(&sqlite, "permissions"));
    assert_eq!(count("activity"), sqlite_count(&sqlite, "activity"));
    db.run(&["verify"]).ok();
}

/// The loaded tables whose pages are not all marked all-visible (rows not
/// loaded frozen), as each import's own ANALYZE counted them, and those
/// holding no page (so that the first list means something).
fn not_frozen(db: &Db) -> (String, String) {
    let list = |condition: &str| {
        db.psql_owner(&format!(
            "SELECT coalesce(string_agg(relname, ' ' ORDER BY relname), '-') FROM pg_class
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
               AND relname IN ('organisations', 'accounts', 'permissions', 'directory', 'activity')
               AND {condition}"
        ))
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    (list("relallvisible < relpages"), list("relpages = 0"))
}

#[test]
fn a_first_import_loads_its_rows_frozen_and_a_new_directory_replaces_the_old_one_frozen() {
    // Frozen rows on all-visible pages: the first command to read them
    // after the import has no hint bits to set (no page to write back),
    // and autovacuum nothing to do on them.
    let Some(db) = pg_server::database() else {
        return;
    };
    db.run(&["verify"]).ok();
    let sqlite = Store::new();
    let url = db.url();
    let lite = sqlite.db.display().to_string();
    for kind in FIXTURE_FILES {
        let file = path(&fixture(&format!("{kind}.csv")));
        let args = ["import", kind, file.as_str()];
        assert_eq!(
            said(&db.run(&args), &[&url, &lite]),
            said(&sqlite.run(&args), &[&url, &lite])
        );
    }
    assert_eq!(not_frozen(&db), ("-".to_string(), "-".to_string()));
    // Each table analysed after its import's commit, so that autovacuum
    // has no changed rows left to analyse again beside the next command.
    let unanalysed = || {
        db.psql_owner(
            "SELECT coalesce(string_agg(relname, ' ' ORDER BY relname), '-')
             FROM pg_stat_user_tables
             WHERE relname IN ('organisations', 'accounts', 'permissions', 'directory', 'activity')
               AND (n_mod_since_analyze > 0 OR last_analyze IS NULL)",
        )
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    assert_eq!(unanalysed(), "-");
    // A new extract: the old one truncated, not deleted row by row (which
    // left every old entry for vacuum), and the new one frozen too; the
    // same counts as SQLite's (the entries it replaced).
    let file = path(&fixture("directory.csv"));
    let args = ["import", "directory", file.as_str()];
    let again = said(&db.run(&args), &[&url, &lite]);
    assert_eq!(again, said(&sqlite.run(&args), &[&url, &lite]));
    assert_eq!(not_frozen(&db), ("-".to_string(), "-".to_string()));
    assert_eq!(unanalysed(), "-");
    // A re-import into a table that holds rows is no first import: the
    // rows are kept and upserted, never truncated.
    let file = path(&fixture("accounts.csv"));
    let args = ["import", "accounts", file.as_str()];
    assert_eq!(
        said(&db.run(&args), &[&url, &lite]),
        said(&sqlite.run(&args), &[&url, &lite])
    );
    assert_eq!(
        db.psql_owner("SELECT count(*) FROM accounts")
            .ok()
            .stdout
            .trim(),
        sqlite_count(&sqlite, "accounts")
    );
    db.run(&["verify"]).ok();
}

#[test]
fn an_audit_started_while_the_roles_are_replaced_reads_the_new_ones_whole() {
    // A first import truncates the empty table it loads and loads it in
    // the same transaction, holding the table's exclusive lock (and a new
    // directory truncates the old one). An audit that took its snapshot
    // meanwhile and only then waited for the table would read, once the
    // import commits, the truncated table with that older snapshot: empty
    // (or, loaded frozen, the new rows beside the other tables as they
    // were before). The audit locks its three tables before it takes its
    // snapshot, so it reads the committed table whole. Here psql replaces
    // the roles by hand, without FREEZE, in a table no check before the
    // audit's reads looks at: an audit on a snapshot older than the commit
    // would find no role at all.
    let Some(db) = pg_server::database() else {
        return;
    };
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    let before = db.run(&["audit", "--format", "csv"]).ok().stdout;
    let (mut psql, mut stdin) = db.psql_session();
    stdin
        .write_all(
            b"BEGIN;
              CREATE TEMP TABLE roles AS SELECT * FROM permissions;
              TRUNCATE permissions;
              INSERT INTO permissions SELECT * FROM roles;
              SET application_name = 'replacing';\n",
        )
        .expect("write to psql");
    let sessions = |condition: &str| {
        db.psql_owner(&format!(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND {condition}"
        ))
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    let until = |condition: &str| {
        for _ in 0..1200 {
            if sessions(condition) != "0" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no session came to {condition}");
    };
    until("application_name = 'replacing' AND state = 'idle in transaction'");
    let audit = db
        .cqrs()
        .env("PGPASSWORD", &db.owner_password)
        .args(["--db", &db.url(), "audit", "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the audit");
    // The audit waits for the table; then the replacement commits.
    until("wait_event_type = 'Lock'");
    stdin.write_all(b"COMMIT;\n").expect("write to psql");
    drop(stdin);
    assert!(psql.wait().expect("psql").success());
    let out = audit.wait_with_output().expect("the audit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), before);
}

fn sqlite_count(store: &Store, table: &str) -> String {
    rusqlite::Connection::open(&store.db)
        .expect("open store")
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .expect("count rows")
        .to_string()
}
