//! The PostgreSQL store's fast write paths, on a real server (pg_server.rs):
//! a first import goes by binary COPY straight into its table, with its
//! indexes and keys set aside and built again, and its references checked
//! on the client. Judged against the SQLite store given the same files: the
//! same problems on the same lines for keys repeated chunks apart (the
//! import hands the store 4,096 rows at a time) and for unknown accounts,
//! and the schema exactly as the migrations made it afterwards.

use super::common::{FIXTURE_FILES, Run, Store, fixture, write};
use super::pg_server::{self, Db};

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// What a run said, with the store's name made the same.
pub(super) fn said(run: &Run, names: &[&str]) -> String {
    let mut text = format!("exit {}\n{}{}", run.code, run.stdout, run.stderr);
    for name in names {
        text = text.replace(name, "STORE");
    }
    text
}

/// Imports `file` as `kind` into both stores; what each said.
fn import_both(pg: &Db, sqlite: &Store, kind: &str, file: &str) -> (String, String) {
    let args = ["import", kind, file];
    let url = pg.url();
    let db = sqlite.db.display().to_string();
    (
        said(&pg.run(&args), &[&url, &db]),
        said(&sqlite.run(&args), &[&url, &db]),
    )
}

/// A new PostgreSQL store (its schema made by the owner's first command)
/// and an SQLite store, each with the fixture organisations imported, as
/// both said the same.
fn both_with_organisations() -> Option<(Db, Store)> {
    let pg = pg_server::database()?;
    pg.run(&["verify"]).ok();
    let sqlite = Store::new();
    let organisations = path(&fixture("organisations.csv"));
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "organisations", &organisations);
    assert_eq!(pg_said, sqlite_said);
    Some((pg, sqlite))
}

/// The lines a refusal names, in order.
fn lines_named(said: &str) -> Vec<String> {
    said.lines()
        .filter_map(|l| l.trim_start().strip_prefix("line "))
        .map(|l| l.split([',', ':']).next().unwrap_or("").to_string())
        .collect()
}

/// Every index, key and trigger of the store's tables, as the catalogue
/// gives them back.
fn schema_objects(db: &Db) -> String {
    db.psql_owner(
        "SELECT string_agg(d, E'\\n' ORDER BY d) FROM (
             SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index
              WHERE indrelid::regclass::text IN
                    ('accounts', 'permissions', 'directory', 'activity', 'organisations')
             UNION ALL
             SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
               FROM pg_constraint
              WHERE conrelid::regclass::text IN
                    ('accounts', 'permissions', 'directory', 'activity', 'organisations')
             UNION ALL
             SELECT pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
              WHERE NOT tgisinternal) x",
    )
    .ok()
    .stdout
}

/// `n` accounts U5000000.., each with one role at F82001, as CSV files.
fn big_files(n: usize) -> (String, String) {
    let mut accounts = String::from(
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n",
    );
    let mut permissions = String::from("account_id,ods_code,role,payment_types\n");
    for i in 0..n {
        let id = 5_000_000 + i;
        accounts.push_str(&format!(
            "U{id},user{id},user{id}@nhs.net,Given{i},Family{i},active,2020-01-01,\n"
        ));
        permissions.push_str(&format!("U{id},F82001,view,\n"));
    }
    (accounts, permissions)
}

#[test]
fn keys_repeated_chunks_apart_and_unknown_accounts_are_named_on_the_lines_sqlite_names() {
    let Some((pg, sqlite)) = both_with_organisations() else {
        return;
    };
    let write = |name: &str, text: &str| write(&sqlite, name, text);
    let before = schema_objects(&pg);

    let (accounts, permissions) = big_files(10_000);
    // Accounts: line 9,001's id is line 2's, line 9,501's is line 5,001's:
    // three chunks apart, each refused on its later line naming the first.
    let mut lines: Vec<String> = accounts.lines().map(str::to_string).collect();
    lines[9000] = lines[9000].replacen("U5008999,", "U5000000,", 1);
    lines[9500] = lines[9500].replacen("U5009499,", "U5004999,", 1);
    let repeated = write("accounts-repeated.csv", &(lines.join("\n") + "\n"));
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "accounts", &repeated);
    // The same lines; SQLite's writer, meeting the repeat in another
    // chunk, gives its constraint's words, PostgreSQL the first line.
    assert_eq!(lines_named(&pg_said), lines_named(&sqlite_said));
    assert_eq!(pg_said.lines().next(), Some("exit 1"), "{pg_said}");
    for (line, id, first) in [(9001, "U5000000", 2), (9501, "U5004999", 5001)] {
        assert!(
            pg_said.contains(&format!(
                "line {line}, column account_id: account_id {id} is also on line {first}: \
                 each account_id may appear only once"
            )),
            "{pg_said}"
        );
    }
    // Refused whole: nothing kept, every index and key back as it was.
    assert_eq!(
        pg.psql_owner("SELECT count(*) FROM accounts")
            .ok()
            .stdout
            .trim(),
        "0"
    );
    assert_eq!(schema_objects(&pg), before);

    let good = write("accounts.csv", &accounts);
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "accounts", &good);
    assert_eq!(pg_said, sqlite_said);
    assert!(pg_said.starts_with("exit 0"), "{pg_said}");

    // Roles: a key repeated (with other payment types) chunks apart, a
    // key repeated three times, and roles of accounts the store does not
    // hold (never counted as repeats), one of them in the last chunk.
    let mut lines: Vec<String> = permissions.lines().map(str::to_string).collect();
    lines[8000] = "U5000001,F82001,view,QOF".to_string();
    lines[8500] = "U5000001,F82001,view,".to_string();
    lines[3000] = "U9999999,F82001,view,".to_string();
    lines[3001] = "U9999999,F82001,view,".to_string();
    lines[9999] = "U8888888,F82001,view,".to_string();
    let repeated = write("permissions-repeated.csv", &(lines.join("\n") + "\n"));
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "permissions", &repeated);
    assert_eq!(lines_named(&pg_said), lines_named(&sqlite_said));
    assert_eq!(
        lines_named(&pg_said),
        ["3001", "3002", "8001", "8501", "10000"],
        "{pg_said}"
    );
    for (line, said) in [
        (
            3001,
            "there is no account U9999999: import it in accounts.csv first",
        ),
        (
            3002,
            "there is no account U9999999: import it in accounts.csv first",
        ),
        (
            8001,
            "(account_id, ods_code, role) U5000001, F82001, view is also on line 3: \
             each (account_id, ods_code, role) may appear only once",
        ),
        (
            8501,
            "(account_id, ods_code, role) U5000001, F82001, view is also on line 3: \
             each (account_id, ods_code, role) may appear only once",
        ),
        (
            10000,
            "there is no account U8888888: import it in accounts.csv first",
        ),
    ] {
        assert!(
            pg_said.contains(&format!("line {line}, column account_id: {said}")),
            "{pg_said}"
        );
    }
    assert_eq!(
        pg.psql_owner("SELECT count(*) FROM permissions")
            .ok()
            .stdout
            .trim(),
        "0"
    );
    assert_eq!(schema_objects(&pg), before);

    let good = write("permissions.csv", &permissions);
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "permissions", &good);
    assert_eq!(pg_said, sqlite_said);
    assert!(pg_said.starts_with("exit 0"), "{pg_said}");
    assert_eq!(schema_objects(&pg), before);
    // And the store is as cqrs-admin left it.
    let verified = pg.run(&["verify"]);
    assert!(
        !format!("{}{}", verified.stdout, verified.stderr).contains("changed outside"),
        "{}{}",
        verified.stdout,
        verified.stderr
    );
}

#[test]
fn a_first_import_leaves_the_schema_as_the_migrations_made_it_with_statistics_for_plans() {
    let Some(pg) = pg_server::database() else {
        return;
    };
    pg.run(&["verify"]).ok();
    let before = schema_objects(&pg);
    assert!(before.contains("accounts_by_email"), "{before}");
    assert!(before.contains("accounts_email_never_changes"), "{before}");
    for kind in FIXTURE_FILES {
        pg.run(&["import", kind, &path(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    assert_eq!(schema_objects(&pg), before);
    // The planner knows what was loaded, without waiting for autovacuum:
    // the key columns a plan's look-ups join on have statistics.
    let stats = pg
        .psql_owner(
            "SELECT string_agg(tablename || '.' || attname, ' ' ORDER BY tablename, attname)
             FROM pg_stats WHERE schemaname = 'public'
              AND (tablename, attname) IN (('accounts', 'account_id'),
                   ('permissions', 'account_id'), ('directory', 'address'),
                   ('activity', 'account_id'))",
        )
        .ok()
        .stdout;
    assert_eq!(
        stats.trim(),
        "accounts.account_id activity.account_id directory.address permissions.account_id"
    );
    // The refusals still hold after the load.
    let refused =
        pg.psql_owner("UPDATE accounts SET email = 'x@nhs.net' WHERE account_id = 'U0000001'");
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("can never be edited"),
        "{}",
        refused.stderr
    );
    let refused = pg.psql_owner("DELETE FROM activity");
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("never moved, changed or deleted"),
        "{}",
        refused.stderr
    );
}

#[test]
fn account_ids_of_several_bytes_a_character_are_known_or_unknown_as_on_sqlite() {
    let Some((pg, sqlite)) = both_with_organisations() else {
        return;
    };
    let write = |name: &str, text: &str| write(&sqlite, name, text);
    // The ids the store holds are read back end to end with their lengths
    // in bytes: ids of two- and three-byte characters must split exactly.
    let accounts = write(
        "accounts.csv",
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         Ué1,ue1,ue1@nhs.net,Ué,One,active,,\n\
         U日本2,jp2,jp2@nhs.net,Jp,Two,active,,\n\
         U3,u3,u3@nhs.net,U,Three,active,,\n",
    );
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "accounts", &accounts);
    assert_eq!(pg_said, sqlite_said);
    assert!(pg_said.starts_with("exit 0"), "{pg_said}");
    let permissions = write(
        "permissions.csv",
        "account_id,ods_code,role,payment_types\n\
         Ué1,F82001,view,\n\
         U日本2,F82001,view,\n\
         U3,F82001,view,\n\
         Ué2,F82001,view,\n\
         U日本,F82001,view,\n",
    );
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "permissions", &permissions);
    assert_eq!(pg_said, sqlite_said);
    assert_eq!(lines_named(&pg_said), ["5", "6"], "{pg_said}");
    assert!(pg_said.contains("there is no account Ué2"), "{pg_said}");
    let good = write(
        "permissions-good.csv",
        "account_id,ods_code,role,payment_types\n\
         Ué1,F82001,view,\n\
         U日本2,F82001,view,\n\
         U3,F82001,view,\n",
    );
    let (pg_said, sqlite_said) = import_both(&pg, &sqlite, "permissions", &good);
    assert_eq!(pg_said, sqlite_said);
    assert!(pg_said.starts_with("exit 0"), "{pg_said}");
}
