//! The PostgreSQL store's foundation, on a real server (pg_server.rs):
//! the schema the owner's first use creates, the refusals the database
//! itself makes to any psql session, the operator and the hash chain it
//! writes, and connecting by libpq's conventions without ever showing a
//! password.

use std::process::Stdio;

use cqrs_admin::store::postgres::schema::current_version;
use cqrs_admin::store::{EntryContent, GENESIS};

use super::pg_server::{self, Db, private_file, run};

/// A fresh store whose schema the owner's `verify` created.
fn store() -> Option<Db> {
    let db = pg_server::database()?;
    let out = db.run(&["verify"]).ok();
    let created = format!("schema version {}, created now", current_version());
    assert!(
        out.stderr.contains(&created) || out.stdout.contains(&created),
        "{}{}",
        out.stdout,
        out.stderr
    );
    Some(db)
}

fn said(run: &super::common::Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn the_owners_first_use_creates_the_schema_and_later_uses_keep_it() {
    let Some(db) = store() else { return };
    assert_eq!(
        db.psql_owner("SELECT version, applied_by FROM schema_migrations ORDER BY version")
            .ok()
            .stdout,
        (1..=current_version())
            .map(|v| format!("{v}|{}\n", db.owner))
            .collect::<String>()
    );
    let again = db.run(&["verify"]).ok();
    let text = said(&again);
    // Said only by the command that created it.
    assert!(!text.contains("created now"), "{text}");
    assert!(text.contains("its change log is empty"), "{text}");
    // Every table belongs to the owner, who can upgrade it later.
    assert_eq!(
        db.psql_owner(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user"
        )
        .ok()
        .stdout,
        "0\n"
    );
}

#[test]
fn two_first_users_at_once_create_the_schema_once() {
    let Some(db) = pg_server::database() else {
        return;
    };
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut c = db.cqrs();
            c.env("PGPASSWORD", &db.owner_password)
                .args(["--db", &db.url(), "verify"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        created += usize::from(text.contains("created now"));
    }
    assert_eq!(created, 1);
    assert_eq!(
        db.psql_owner("SELECT count(*) FROM schema_migrations")
            .ok()
            .stdout,
        format!("{}\n", current_version())
    );
}

#[test]
fn a_superuser_creates_the_schema_as_the_databases_owner() {
    let Some(db) = pg_server::database() else {
        return;
    };
    // Through the superuser's password file: the URL names no password.
    let pgpass = private_file(
        db.home.path(),
        ".pgpass",
        &format!("*:*:*:{}:{}\n", pg_server::SUPERUSER, super_password(&db)),
    );
    let mut c = db.cqrs();
    c.env("PGPASSFILE", &pgpass)
        .args(["--db", &db.url_for(pg_server::SUPERUSER), "verify"]);
    let out = run(c).ok();
    assert!(said(&out).contains("created now"), "{}", said(&out));
    assert_eq!(
        db.psql_owner("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            .ok()
            .stdout,
        format!("{}\n", db.owner)
    );
}

/// The superuser's password, read back from the server's folder.
fn super_password(db: &Db) -> String {
    std::fs::read_to_string(db.server.dir.join("pwfile")).unwrap()
}

#[test]
fn a_login_that_does_not_own_the_database_is_told_to_ask_the_owner() {
    let Some(db) = pg_server::database() else {
        return;
    };
    db.login("bob", "bobs-password");
    let mut c = db.cqrs();
    c.env("PGPASSWORD", "bobs-password")
        .args(["--db", &db.url_for("bob"), "verify"]);
    let out = run(c).fails(1);
    assert!(
        out.stderr.contains("has no cqrs-admin store yet"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("only its owner ({})", db.owner)),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("you are logged in as bob"),
        "{}",
        out.stderr
    );
    // Nothing was created.
    assert_eq!(
        db.psql_owner("SELECT to_regclass('schema_migrations') IS NULL")
            .ok()
            .stdout,
        "t\n"
    );
}

#[test]
fn a_database_with_tables_of_its_own_is_not_taken_over() {
    let Some(db) = pg_server::database() else {
        return;
    };
    db.psql_owner("CREATE TABLE invoices (id int)").ok();
    let out = db.run(&["verify"]).fails(1);
    assert!(
        out.stderr.contains("is not a cqrs-admin store"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("invoices"), "{}", out.stderr);
    assert_eq!(
        db.psql_owner("SELECT to_regclass('settings') IS NULL")
            .ok()
            .stdout,
        "t\n"
    );
}

#[test]
fn a_schema_from_a_newer_version_is_refused_and_left_alone() {
    let Some(db) = store() else { return };
    db.psql_owner("INSERT INTO schema_migrations (version) VALUES (99)")
        .ok();
    let out = db.run(&["verify"]).fails(1);
    assert!(out.stderr.contains("schema version 99"), "{}", out.stderr);
    assert!(out.stderr.contains("newer"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("knows version {}", current_version())),
        "{}",
        out.stderr
    );
    assert_eq!(
        db.psql_owner(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"
        )
        .ok()
        .stdout,
        (1..=current_version())
            .map(|v| format!("{v},"))
            .collect::<String>()
            + "99\n"
    );
}

const ACCOUNT: &str =
    "INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
     VALUES ('U1', 'ann', 'ann@example.nhs.uk', 'Ann', 'Smith', 'active')";
const ACTIVITY: &str =
    "INSERT INTO activity (activity_id, ods_code, account_id, kind, occurred_at, detail)
     VALUES ('A1', 'P1', 'U1', 'login', '2020-01-01', NULL)";

#[test]
fn psql_as_the_owner_is_refused_every_forbidden_change() {
    let Some(db) = store() else { return };
    db.psql_owner(ACCOUNT).ok();
    db.psql_owner(ACTIVITY).ok();
    db.psql_owner("INSERT INTO change_log (action, reason) VALUES ('cutover', 'set')")
        .ok();
    let email = "an account's email can never be edited";
    let forbidden: &[(&str, &str)] = &[
        ("UPDATE accounts SET email = 'other@example.nhs.uk'", email),
        (
            "INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
             VALUES ('U1', 'ann', 'other@example.nhs.uk', 'Ann', 'Smith', 'active')
             ON CONFLICT (account_id) DO UPDATE SET email = excluded.email",
            email,
        ),
        (
            "UPDATE accounts SET account_id = 'U2'",
            "an account's id can never be changed",
        ),
        ("DELETE FROM accounts", "accounts are never deleted"),
        (
            "DELETE FROM accounts WHERE account_id = 'nobody'",
            "accounts are never deleted",
        ),
        ("TRUNCATE accounts", "accounts are never deleted"),
        ("UPDATE activity SET detail = 'x'", "activity is history"),
        (
            "INSERT INTO activity (activity_id, ods_code, account_id, kind, occurred_at)
             VALUES ('A1', 'P2', 'U1', 'login', '2020-01-01')
             ON CONFLICT (activity_id) DO UPDATE SET ods_code = excluded.ods_code",
            "activity is history",
        ),
        ("DELETE FROM activity", "activity is history"),
        ("TRUNCATE activity", "activity is history"),
        ("UPDATE change_log SET reason = 'edited'", "append-only"),
        ("DELETE FROM change_log", "append-only"),
        ("TRUNCATE change_log", "append-only"),
        (
            "INSERT INTO change_log (seq, action) VALUES (1, 'x')
             ON CONFLICT (seq) DO UPDATE SET reason = 'x'",
            "append-only",
        ),
    ];
    for (sql, refusal) in forbidden {
        let out = db.psql_owner(sql);
        assert_ne!(out.code, 0, "{sql} was allowed");
        assert!(out.stderr.contains(refusal), "{sql}: {}", out.stderr);
        assert!(
            out.stderr.contains("CQ001") || out.stderr.contains("ERROR"),
            "{}",
            out.stderr
        );
    }
    // Nothing changed.
    assert_eq!(
        db.psql_owner("SELECT account_id, email FROM accounts")
            .ok()
            .stdout,
        "U1|ann@example.nhs.uk\n"
    );
    assert_eq!(
        db.psql_owner("SELECT activity_id, ods_code, coalesce(detail, '-') FROM activity")
            .ok()
            .stdout,
        "A1|P1|-\n"
    );
    assert_eq!(
        db.psql_owner("SELECT seq, reason FROM change_log")
            .ok()
            .stdout,
        "1|set\n"
    );
    // What is allowed: other columns of an account, an upsert that keeps
    // the email (a re-import), and the same activity again.
    db.psql_owner("UPDATE accounts SET status = 'disabled', replaced_by = 'U9'")
        .ok();
    db.psql_owner(&format!(
        "{ACCOUNT} ON CONFLICT (account_id) DO UPDATE SET given_name = 'Anne', status = excluded.status"
    ))
    .ok();
    db.psql_owner(&format!(
        "{ACTIVITY} ON CONFLICT (activity_id) DO UPDATE SET ods_code = excluded.ods_code, \
         detail = excluded.detail"
    ))
    .ok();
    assert_eq!(
        db.psql_owner("SELECT given_name, status, email FROM accounts")
            .ok()
            .stdout,
        "Anne|active|ann@example.nhs.uk\n"
    );
}

#[test]
fn psql_as_the_owner_may_truncate_accounts_and_activity_only_while_they_hold_no_row() {
    // Migration 11: a first import truncates the empty table it loads, to
    // load it frozen; truncating an empty table deletes nothing.
    let Some(db) = store() else { return };
    for sql in [
        "TRUNCATE accounts",
        "TRUNCATE activity",
        "TRUNCATE accounts, activity",
    ] {
        db.psql_owner(sql).ok();
    }
    // A row rolled back leaves a page behind but no row: still allowed.
    db.psql_owner(&format!("BEGIN; {ACCOUNT}; ROLLBACK")).ok();
    db.psql_owner("TRUNCATE accounts").ok();
    // Under REPEATABLE READ a row committed after the snapshot would not
    // be seen: only a table with no page at all may be truncated there.
    db.psql_owner(&format!("BEGIN; {ACCOUNT}; ROLLBACK")).ok();
    let out = db.psql_owner("BEGIN ISOLATION LEVEL REPEATABLE READ; TRUNCATE accounts; COMMIT");
    assert_ne!(out.code, 0, "allowed under REPEATABLE READ with a page");
    assert!(
        out.stderr.contains("accounts are never deleted"),
        "{}",
        out.stderr
    );
    // A row of the truncating transaction's own counts.
    let out = db.psql_owner(&format!("BEGIN; {ACCOUNT}; TRUNCATE accounts; COMMIT"));
    assert_ne!(out.code, 0, "its own row truncated");
    // The change log stays append-only even while empty; DELETE stays
    // refused even when nothing matches.
    for (sql, refusal) in [
        ("TRUNCATE change_log", "append-only"),
        ("DELETE FROM accounts", "accounts are never deleted"),
        ("DELETE FROM activity", "activity is history"),
    ] {
        let out = db.psql_owner(sql);
        assert_ne!(out.code, 0, "{sql} was allowed");
        assert!(out.stderr.contains(refusal), "{sql}: {}", out.stderr);
    }
    // With a row, refused as before (and nothing deleted), whoever asks.
    db.psql_owner(ACCOUNT).ok();
    db.psql_owner(ACTIVITY).ok();
    for (sql, refusal) in [
        ("TRUNCATE accounts", "accounts are never deleted"),
        ("TRUNCATE activity", "activity is history"),
        (
            "TRUNCATE permissions, accounts",
            "accounts are never deleted",
        ),
    ] {
        let out = db.psql_owner(sql);
        assert_ne!(out.code, 0, "{sql} was allowed");
        assert!(out.stderr.contains(refusal), "{sql}: {}", out.stderr);
    }
    assert_eq!(
        db.psql_owner(
            "SELECT (SELECT count(*) FROM accounts) || ' ' || (SELECT count(*) FROM activity)"
        )
        .ok()
        .stdout,
        "1 1\n"
    );
    db.run(&["verify"]).ok();
}

#[test]
fn the_operator_is_the_login_whatever_the_client_inserts() {
    let Some(db) = store() else { return };
    db.login("alice", "alices-password");
    // A national operator: an unregistered login may not append at all.
    db.run(&["operators", "add", "alice"]).ok();
    // Everything the database writes itself is given, falsely.
    db.psql(
        "alice",
        "alices-password",
        "INSERT INTO change_log (seq, at, actor, action, prev_hash, hash, actor_claim)
         VALUES (42, '1999-01-01T00:00:00Z', 'the-owner', 'replace', 'forged', 'forged', 'mallory')",
    )
    .ok();
    // An actor alone is kept as the claim, never as the operator.
    db.psql(
        "alice",
        "alices-password",
        "INSERT INTO change_log (actor, action) VALUES ('bob', 'revert')",
    )
    .ok();
    db.psql_owner("INSERT INTO change_log (action) VALUES ('cutover')")
        .ok();
    let rows = db
        .psql_owner(
            "SELECT seq, actor, coalesce(actor_claim, '-'), at <> '1999-01-01T00:00:00Z',
                    prev_hash <> 'forged' AND hash <> 'forged'
             FROM change_log ORDER BY seq",
        )
        .ok()
        .stdout;
    assert_eq!(
        rows,
        format!(
            // 1: the owner registering alice (USER, tester, is no claim:
            // only an explicit --actor is).
            "1|{}|-|t|t\n2|alice|mallory|t|t\n3|alice|bob|t|t\n4|{}|-|t|t\n",
            db.owner, db.owner
        )
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains("unbroken chain of 4 entries"),
        "{}",
        said(&out)
    );
}

#[test]
fn the_chain_the_database_writes_is_the_one_entry_hash_computes() {
    let Some(db) = store() else { return };
    db.psql_owner(
        "INSERT INTO change_log (action, old_account_id, new_account_id, email, reason, actor_claim)
         VALUES ('replace', 'U1', 'U1-R', 'ann@example.nhs.uk', 'moved to NHSmail', NULL),
                ('revert', 'U1-R', NULL, NULL, '', 'Zoë Ødegård'),
                ('cutover', NULL, NULL, NULL, NULL, NULL)",
    )
    .ok();
    db.psql_owner("INSERT INTO change_log (action, reason) VALUES ('reinstate', 'a|b')")
        .ok();
    // Each field as hex, so NULL, '' and any character come back exactly.
    let rows = db
        .psql_owner(
            "SELECT seq, encode(convert_to(at, 'UTF8'), 'hex'), encode(convert_to(actor, 'UTF8'), 'hex'),
                    encode(convert_to(action, 'UTF8'), 'hex'),
                    coalesce(encode(convert_to(old_account_id, 'UTF8'), 'hex'), 'NULL'),
                    coalesce(encode(convert_to(new_account_id, 'UTF8'), 'hex'), 'NULL'),
                    coalesce(encode(convert_to(email, 'UTF8'), 'hex'), 'NULL'),
                    coalesce(encode(convert_to(reason, 'UTF8'), 'hex'), 'NULL'),
                    coalesce(encode(convert_to(actor_claim, 'UTF8'), 'hex'), 'NULL'),
                    prev_hash, hash
             FROM change_log ORDER BY seq",
        )
        .ok()
        .stdout;
    let unhex = |h: &str| -> Option<String> {
        (h != "NULL").then(|| {
            let bytes: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            String::from_utf8(bytes).unwrap()
        })
    };
    let mut prev = GENESIS.to_string();
    let mut seen = 0;
    for line in rows.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let seq: i64 = f[0].parse().unwrap();
        let [at, actor, action, old, new, email, reason, claim] =
            [1, 2, 3, 4, 5, 6, 7, 8].map(|i| unhex(f[i]));
        let (at, actor, action) = (at.unwrap(), actor.unwrap(), action.unwrap());
        let content = EntryContent {
            seq,
            at: &at,
            actor: &actor,
            action: &action,
            old_account_id: old.as_deref(),
            new_account_id: new.as_deref(),
            email: email.as_deref(),
            reason: reason.as_deref(),
            actor_claim: claim.as_deref(),
        };
        assert_eq!(f[9], prev, "entry {seq} names the previous entry's hash");
        // The one entry_hash of both back ends (version 2 with a claim).
        let expected = cqrs_admin::store::entry_hash(&prev, &content);
        assert_eq!(f[10], expected, "entry {seq}");
        prev = expected;
        seen += 1;
    }
    assert_eq!(seen, 4);
    assert_eq!(
        db.psql_owner("SELECT value FROM settings WHERE key = 'change_log.head'")
            .ok()
            .stdout,
        format!("4:{prev}\n")
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains(&format!("unbroken chain of 4 entries (newest hash {prev})")),
        "{}",
        said(&out)
    );
}

#[test]
fn verify_finds_an_entry_edited_past_a_dropped_trigger() {
    let Some(db) = store() else { return };
    db.psql_owner(
        "INSERT INTO change_log (action, reason) VALUES ('replace', 'one'), ('revert', 'two')",
    )
    .ok();
    db.psql_owner(
        "DROP TRIGGER change_log_no_update ON change_log;
         UPDATE change_log SET reason = 'rewritten' WHERE seq = 2",
    )
    .ok();
    let out = db.run(&["verify"]).fails(1);
    assert!(
        out.stderr.contains("change_log_no_update is missing"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("change log entry 2 was edited"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("entry 1 "), "{}", out.stderr);
}

#[test]
fn a_protective_function_replaced_is_found() {
    let Some(db) = store() else { return };
    db.psql_owner(
        "CREATE OR REPLACE FUNCTION cqrs_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RETURN NULL; END $$",
    )
    .ok();
    let out = db.run(&["verify"]).fails(1);
    assert!(
        out.stderr.contains("cqrs_refuse (function) was altered"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wrong_password_is_explained_and_never_shown() {
    let Some(db) = store() else { return };
    let secret = "not-the-Password-42";
    let url = format!(
        "postgres://{}:{secret}@{}/{}",
        db.owner,
        db.server.url_host(),
        db.name
    );
    let mut c = db.cqrs();
    c.env("CQRS_ADMIN_DB", &url).arg("verify");
    let out = run(c).fails(1);
    assert!(
        out.stderr.contains("refused the password"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&db.url()),
        "names the store: {}",
        out.stderr
    );
    assert!(!said(&out).contains(secret), "{}", said(&out));
    // With the right password in CQRS_ADMIN_DB it connects.
    let url = url.replace(secret, &db.owner_password);
    let mut c = db.cqrs();
    c.env("CQRS_ADMIN_DB", &url).arg("verify");
    run(c).ok();
    // The same URL on the command line is refused before connecting.
    let mut c = db.cqrs();
    c.args(["--db", &url, "verify"]);
    let out = run(c).fails(1);
    assert!(out.stderr.contains("visible to everyone"), "{}", out.stderr);
    assert!(out.stderr.contains("PGPASSWORD"), "{}", out.stderr);
    assert!(!said(&out).contains(&db.owner_password), "{}", said(&out));
}

#[test]
fn no_password_a_missing_database_and_a_missing_server_are_explained() {
    let Some(db) = pg_server::database() else {
        return;
    };
    let mut c = db.cqrs();
    c.args(["--db", &db.url(), "verify"]);
    let out = run(c).fails(1);
    assert!(out.stderr.contains("none was found"), "{}", out.stderr);
    assert!(out.stderr.contains("~/.pgpass"), "{}", out.stderr);

    let out = {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", &db.owner_password).args([
            "--db",
            &format!(
                "postgres://{}@{}/no_such_db",
                db.owner,
                db.server.url_host()
            ),
            "verify",
        ]);
        run(c).fails(1)
    };
    assert!(
        out.stderr.contains("there is no database no_such_db"),
        "{}",
        out.stderr
    );

    let missing = db.home.path().join("no-server");
    let out = {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", &db.owner_password).args([
            "--db",
            &format!(
                "postgres://{}@{}/{}",
                db.owner,
                missing.display().to_string().replace('/', "%2F"),
                db.name
            ),
            "verify",
        ]);
        run(c).fails(1)
    };
    assert!(
        out.stderr.contains("could not be reached"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("check that it is running"),
        "{}",
        out.stderr
    );
    assert!(!said(&out).contains(&db.owner_password), "{}", said(&out));
}

#[test]
fn the_password_file_is_honoured_only_when_private() {
    let Some(db) = store() else { return };
    // The socket folder as the host, its colons escaped if it had any.
    let line = format!(
        "{}:5432:{}:{}:{}\n",
        db.server.dir.display().to_string().replace(':', "\\:"),
        db.name,
        db.owner,
        db.owner_password
    );
    let pgpass = private_file(
        db.home.path(),
        ".pgpass",
        &format!("# cqrs\nother:*:*:*:wrong\n{line}"),
    );
    let mut c = db.cqrs();
    c.args(["--db", &db.url(), "verify"]);
    run(c).ok();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut c = db.cqrs();
    c.args(["--db", &db.url(), "verify"]);
    let out = run(c).fails(1);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    assert!(!said(&out).contains(&db.owner_password), "{}", said(&out));
}

#[test]
fn the_owner_copying_a_store_appends_its_entries_as_written_if_they_continue_the_chain() {
    let Some(db) = store() else { return };
    // An entry as the SQLite store wrote it (another operator, another
    // time), hashed there by entry_hash.
    let content = EntryContent {
        seq: 1,
        at: "2020-09-01T10:00:00Z",
        actor: "alice",
        action: "replace",
        old_account_id: Some("U1"),
        new_account_id: Some("U1-R"),
        email: Some("ann@nhs.net"),
        reason: None,
        actor_claim: None,
    };
    let hash = cqrs_admin::store::entry_hash(GENESIS, &content);
    let insert = |seq: i64, prev: &str, hash: &str| {
        format!(
            "SET cqrs_admin.copy_log = 'on';
             INSERT INTO change_log (seq, at, actor, action, old_account_id, new_account_id,
                                     email, reason, prev_hash, hash)
             VALUES ({seq}, '2020-09-01T10:00:00Z', 'alice', 'replace', 'U1', 'U1-R',
                     'ann@nhs.net', NULL, '{prev}', '{hash}')"
        )
    };
    // A hash its content does not give, or a link that skips, is refused.
    let forged = insert(1, GENESIS, &"f".repeat(64));
    let out = db.psql_owner(&forged);
    assert!(
        out.stderr.contains("does not continue this store's chain"),
        "{}",
        out.stderr
    );
    let out = db.psql_owner(&insert(2, GENESIS, &hash));
    assert!(out.stderr.contains("does not continue"), "{}", out.stderr);
    db.psql_owner(&insert(1, GENESIS, &hash)).ok();
    assert_eq!(
        db.psql_owner("SELECT seq, at, actor, hash FROM change_log")
            .ok()
            .stdout,
        format!("1|2020-09-01T10:00:00Z|alice|{hash}\n")
    );
    // Anyone but the owner is recorded as themselves, copying or not.
    db.login("carol", "carols-password");
    db.run(&["operators", "add", "carol"]).ok();
    db.psql(
        "carol",
        "carols-password",
        &insert(3, &hash, &"0".repeat(64)),
    )
    .ok();
    assert_eq!(
        // 2 is the owner registering carol.
        db.psql_owner("SELECT actor, actor_claim FROM change_log WHERE seq = 3")
            .ok()
            .stdout,
        "carol|alice\n"
    );
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains("unbroken chain of 3 entries"),
        "{}",
        said(&out)
    );
}

/// The store's Rust API as the owner, its password given as PGPASSWORD
/// would be (the test's own environment is never changed).
fn open(db: &Db) -> cqrs_admin::store::postgres::PgStore {
    use cqrs_admin::store::postgres::{PgStore, Target};
    let password = db.owner_password.clone();
    let home = db.home.path().display().to_string();
    let env = move |name: &str| match name {
        "PGPASSWORD" => Some(password.clone()),
        "HOME" => Some(home.clone()),
        _ => None,
    };
    PgStore::connect_to(Target::parse_with(&db.url(), &env).unwrap()).unwrap()
}

#[test]
fn appends_from_many_connections_at_once_make_one_unbroken_chain() {
    use cqrs_admin::store::postgres::NewEntry;
    let Some(db) = store() else { return };
    let writers: usize = 6;
    let each: usize = 15;
    std::thread::scope(|s| {
        for w in 0..writers {
            let db = &db;
            s.spawn(move || {
                let store = open(db);
                let claim = format!("writer {w}");
                for i in 0..each {
                    let reason = format!("{w}/{i}");
                    store
                        .append(&[NewEntry {
                            action: "replace",
                            old_account_id: Some("U1"),
                            new_account_id: None,
                            email: None,
                            reason: Some(&reason),
                            actor_claim: (i % 2 == 0).then_some(claim.as_str()),
                        }])
                        .unwrap();
                }
            });
        }
    });
    let store = open(&db);
    let log = store.change_log_entries().unwrap();
    let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=(writers * each) as i64).collect::<Vec<_>>());
    assert!(log.iter().all(|e| e.actor == db.owner));
    assert_eq!(
        log.iter().filter(|e| e.actor_claim.is_some()).count(),
        writers * each.div_ceil(2)
    );
    assert_eq!(store.tampering().unwrap(), []);
    let out = db.run(&["verify"]).ok();
    assert!(
        said(&out).contains(&format!("unbroken chain of {} entries", writers * each)),
        "{}",
        said(&out)
    );
}
