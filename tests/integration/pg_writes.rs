//! The PostgreSQL store's write side, on a real server (pg_server.rs),
//! each judged against the SQLite store given the same commands: imports
//! (their messages and, for a bad file, every problem with its line),
//! replacements, reverts, reinstatements and the cutover date (the same
//! store contents and change log, apart from who and when); several
//! operators replacing at once (each account replaced once, every one
//! exits 0); and the change log naming the database login whatever
//! `--actor` says.

use std::process::Stdio;

use super::common::{FIXTURE_FILES, Run, Store, fixture};
use super::pg_server::{self, Db};

const TODAY: &str = "2026-12-01";

/// What a run said, with the store's name (a file, a URL) made the same.
fn said(run: &Run, names: &[&str]) -> String {
    let mut text = format!("exit {}\n{}{}", run.code, run.stdout, run.stderr);
    for name in names {
        text = text.replace(name, "STORE");
    }
    text
}

/// The two stores, given the same commands.
struct Pair {
    pg: Db,
    sqlite: Store,
}

impl Pair {
    fn new() -> Option<Pair> {
        let pg = pg_server::database()?;
        // The owner's first command creates the schema, and says so.
        pg.run(&["verify"]).ok();
        Some(Pair {
            pg,
            sqlite: Store::new(),
        })
    }

    /// Runs `args` on both; what each said, the store names made the same.
    fn both(&self, args: &[&str]) -> (String, String) {
        let url = self.pg.url();
        let db = self.sqlite.db.display().to_string();
        let mut with_actor = vec!["--actor", "test-operator", "--today", TODAY];
        with_actor.extend_from_slice(args);
        let pg = self.pg.run(&with_actor);
        let sqlite = self.sqlite.run(&with_actor);
        (said(&pg, &[&url, &db]), said(&sqlite, &[&url, &db]))
    }

    /// Runs `args` on both and expects them to say the same; gives it.
    #[track_caller]
    fn same(&self, args: &[&str]) -> String {
        let (pg, sqlite) = self.both(args);
        assert_eq!(pg, sqlite, "PostgreSQL and SQLite differ on {args:?}");
        pg
    }

    /// `replace ACCOUNT --email ADDRESS --yes` on both, expected to say
    /// the same; gives it.
    #[track_caller]
    fn replace_one(&self, account: &str, address: &str) -> String {
        self.same(&["replace", account, "--email", address, "--yes"])
    }

    fn import(&self, kind: &str, file: &str) -> String {
        self.same(&["import", kind, file])
    }

    /// Every row of the data tables, table by table, as text, on
    /// PostgreSQL (psql) and on SQLite, in the same order and spelling.
    fn contents(&self) -> Vec<(String, String)> {
        let queries = [
            "SELECT account_id, username, email, given_name, family_name, status,
                    coalesce(created_at, ''), coalesce(last_login_at, ''),
                    coalesce(replaced_by, ''), coalesce(replaces, '')
             FROM accounts ORDER BY account_id",
            "SELECT account_id, ods_code, role, payment_types FROM permissions
             ORDER BY account_id, ods_code, role",
            "SELECT ods_code, name, kind, coalesce(parent_code, ''), coalesce(contact_email, '')
             FROM organisations ORDER BY ods_code",
            "SELECT address, given_name, family_name, ods_code, status, mailbox_type
             FROM directory ORDER BY lower(address), given_name",
            "SELECT activity_id, ods_code, account_id, kind, occurred_at, coalesce(detail, '')
             FROM activity ORDER BY activity_id",
            // Who and when are the database's own on PostgreSQL.
            "SELECT seq, action, coalesce(old_account_id, ''), coalesce(new_account_id, ''),
                    coalesce(email, ''), coalesce(reason, '')
             FROM change_log ORDER BY seq",
            "SELECT value FROM settings WHERE key = 'cutover'",
        ];
        let mut out = Vec::new();
        let conn = rusqlite::Connection::open(&self.sqlite.db).unwrap();
        for q in queries {
            let pg = self.pg.psql_owner(q).ok().stdout;
            let mut sqlite = String::new();
            let mut stmt = conn.prepare(q).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut fields = Vec::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        fields.push(match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        });
                    }
                    Ok(fields.join("|"))
                })
                .unwrap();
            for row in rows {
                sqlite.push_str(&row.unwrap());
                sqlite.push('\n');
            }
            out.push((pg, sqlite));
        }
        out
    }

    #[track_caller]
    fn same_contents(&self) {
        for (pg, sqlite) in self.contents() {
            assert_eq!(pg, sqlite);
        }
    }

    /// How many entries the SQLite store's change log has.
    fn sqlite_log_entries(&self) -> i64 {
        rusqlite::Connection::open(&self.sqlite.db)
            .unwrap()
            .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))
            .unwrap()
    }
}

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// The bad fixture files of `kind`.
fn bad_files(kind: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(fixture("bad"))
        .unwrap()
        .flatten()
        .map(|e| path(&e.path()))
        .filter(|p| {
            p.ends_with(".csv")
                && std::path::Path::new(p)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{kind}-")))
        })
        .collect();
    files.sort();
    files
}

/// Files whose problems the store itself finds (a key repeated within a
/// file going into an empty table, a reference to an unknown account, an
/// activity the store holds with other details), written into `dir`.
fn store_checked_files(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        path(&p)
    };
    vec![
        (
            "permissions",
            write(
                "permissions-repeats.csv",
                "account_id,ods_code,role,payment_types\n\
                 U0000001,F82001,view,\n\
                 U0000002,F82001,view,\n\
                 U0000001,F82001,view,QOF\n\
                 U9999999,F82001,view,\n\
                 U9999999,F82001,view,\n\
                 U0000001,F82001,view,\n",
            ),
        ),
        (
            "activity",
            write(
                "activity-repeats.csv",
                "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
                 ACT900001,Y58,U0000007,offer-made,2019-04-01,first\n\
                 ACT900002,Y58,U0000404,offer-made,2019-04-01,nobody\n\
                 ACT900001,Y58,U0000007,offer-made,2019-04-01,again\n\
                 ACT000001,Y58,U0000007,offer-made,2019-04-01,other details than stored\n",
            ),
        ),
        (
            "accounts",
            write(
                "accounts-repeats.csv",
                "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
                 U7000001,rep1,rep1@nhs.net,Rep,One,active,,\n\
                 U7000002,rep2,rep2@nhs.net,Rep,Two,active,,\n\
                 U7000001,rep3,rep1@nhs.net,Rep,Three,active,,\n",
            ),
        ),
    ]
}

#[test]
fn imports_say_what_sqlite_says_fresh_and_again_and_refuse_the_same_lines() {
    let Some(fresh) = Pair::new() else { return };
    let Some(full) = Pair::new() else { return };
    let extra = tempfile::tempdir().unwrap();
    let extra = store_checked_files(extra.path());
    // Each bad file into an empty table (its prerequisites imported), then
    // the good file.
    for kind in FIXTURE_FILES {
        let mut files = bad_files(kind);
        files.extend(
            extra
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, f)| f.clone()),
        );
        // A dry run: some of these files are good for an empty table
        // (an email "changed" from nothing), and would fill it.
        for file in &files {
            fresh.same(&["import", kind, file, "--dry-run"]);
        }
        let said = fresh.import(kind, path(&fixture(&format!("{kind}.csv"))).as_str());
        assert!(said.starts_with("exit 0"), "{said}");
        full.import(kind, path(&fixture(&format!("{kind}.csv"))).as_str());
    }
    fresh.same_contents();
    // A re-import of every file: the same counts (all unchanged), and each
    // bad file refused with the same problems on a full store.
    for kind in FIXTURE_FILES {
        let said = full.import(kind, path(&fixture(&format!("{kind}.csv"))).as_str());
        // The directory is replaced whole: its entries count as added.
        assert!(
            said.contains("0 added, 0 updated") || said.contains("previous extract of 45"),
            "{said}"
        );
        for file in bad_files(kind)
            .iter()
            .chain(extra.iter().filter(|(k, _)| k == kind).map(|(_, f)| f))
        {
            full.import(kind, file);
        }
    }
    full.same_contents();
    // The store-checked files name every line the SQLite store names.
    let refused = full.import("permissions", &extra[0].1);
    for line in ["line 4", "line 5", "line 6"] {
        assert!(refused.contains(line), "{refused}");
    }
}

#[test]
fn a_reimport_counts_added_updated_and_unchanged_as_sqlite_does() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    let dir = tempfile::tempdir().unwrap();
    let accounts = std::fs::read_to_string(fixture("accounts.csv")).unwrap();
    // One account's name changed, one added; the rest unchanged.
    let changed = accounts.replacen(",Sarah,Jones,", ",Sara,Jones,", 1)
        + "U0000999,newbie,new.bie@nhs.net,New,Bie,active,2020-01-01,\n";
    let file = dir.path().join("accounts.csv");
    std::fs::write(&file, changed).unwrap();
    let said = pair.import("accounts", &path(&file));
    assert!(
        said.contains("(1 added, 1 updated, 39 unchanged)"),
        "{said}"
    );
    let perms =
        std::fs::read_to_string(fixture("permissions.csv")).unwrap() + "U0000999,F82001,view,QOF\n";
    let file = dir.path().join("permissions.csv");
    std::fs::write(&file, perms.replacen("QOF;DES", "QOF", 1)).unwrap();
    let said = pair.import("permissions", &path(&file));
    assert!(
        said.contains("(1 added, 1 updated, 56 unchanged)"),
        "{said}"
    );
    pair.same_contents();
}

#[test]
fn replace_revert_reinstate_and_cutover_leave_the_store_as_sqlite_does() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    let plan = pair.sqlite.dir.path().join("plan.csv");
    pair.sqlite
        .run(&["--today", TODAY, "plan", "--out", plan.to_str().unwrap()])
        .ok();
    let plan = path(&plan);
    // A dry run changes nothing; the plan, then the same plan again (all
    // of it already done).
    pair.same(&["replace", "--plan", &plan, "--dry-run"]);
    pair.same_contents();
    // One of the plan's rows done by hand first: the plan counts it done.
    pair.same(&[
        "replace",
        "U0000011",
        "--email",
        "claire.thompson@nhs.net",
        "--yes",
        "--reason",
        "asked for it",
    ]);
    let made = pair.same(&["replace", "--plan", &plan, "--yes", "--disable-old"]);
    assert!(
        made.contains("created 8 replacement accounts, 1 already done"),
        "{made}"
    );
    let again = pair.same(&["replace", "--plan", &plan, "--yes"]);
    assert!(again.contains("9 already done"), "{again}");
    pair.same(&["revert", "R1-U0000035", "--reason", "wrong person", "--yes"]);
    pair.same(&[
        "reinstate",
        "R1-U0000035",
        "--reason",
        "right after all",
        "--yes",
    ]);
    pair.same(&["revert", "R1-U0000039", "--yes"]);
    // A refusal changes nothing, on either.
    let refused = pair.same(&["revert", "R1-U0000039", "--yes"]);
    assert!(refused.starts_with("exit 1"), "{refused}");
    pair.same(&["cutover", "set", "2026-06-01"]);
    pair.same_contents();
    // What the commands read back agrees too: the audit, the report (kept
    // by the audit before it), what replace left (verify).
    pair.same(&["audit", "--include-disabled", "--format", "csv"]);
    pair.same(&["report", "--format", "csv"]);
    let kept = pair
        .pg
        .psql_owner("SELECT value FROM settings WHERE key = 'report_cache.generation'")
        .ok()
        .stdout;
    let generation = pair
        .pg
        .psql_owner("SELECT value FROM settings WHERE key = 'generation'")
        .ok()
        .stdout;
    assert!(
        kept.starts_with(&format!("{} ", generation.trim())),
        "{kept} {generation}"
    );
    let entries = pair.sqlite_log_entries();
    assert!(entries > 20, "{entries}");
    let verified = said(&pair.pg.run(&["verify"]).ok(), &[]);
    assert!(
        verified.contains(&format!("unbroken chain of {entries} entries")),
        "{verified}"
    );
}

#[test]
fn the_change_log_names_the_login_whatever_actor_says() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    pair.pg
        .run(&[
            "--actor",
            "someone-else",
            "replace",
            "U0000011",
            "--email",
            "claire.thompson@nhs.net",
            "--yes",
        ])
        .ok();
    pair.pg
        .run(&["--actor", &pair.pg.owner, "cutover", "set", "2026-06-01"])
        .ok();
    assert_eq!(
        pair.pg
            .psql_owner(
                "SELECT actor, coalesce(actor_claim, '-'), action FROM change_log ORDER BY seq"
            )
            .ok()
            .stdout,
        format!(
            "{o}|someone-else|replace\n{o}|-|cutover\n",
            o = pair.pg.owner
        )
    );
}

#[test]
fn a_write_to_a_store_changed_past_cqrs_admin_is_refused() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    // The trigger that keeps the chain's head, dropped by the owner.
    pair.pg
        .psql_owner("DROP TRIGGER change_log_move_head ON change_log")
        .ok();
    let refused = pair
        .pg
        .run(&[
            "replace",
            "U0000011",
            "--email",
            "claire.thompson@nhs.net",
            "--yes",
        ])
        .fails(1);
    assert!(
        refused.stderr.contains("was changed outside cqrs-admin")
            && refused.stderr.contains("change_log_move_head"),
        "{}",
        refused.stderr
    );
    let refused = pair
        .pg
        .run(&["import", "activity", &path(&fixture("activity.csv"))])
        .fails(1);
    assert!(
        refused.stderr.contains("change_log_move_head"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        pair.pg
            .psql_owner("SELECT count(*) FROM accounts WHERE replaces IS NOT NULL")
            .ok()
            .stdout,
        "0\n"
    );
}

#[test]
fn operators_replacing_at_once_replace_each_account_once_and_all_succeed() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    let plan = pair.sqlite.dir.path().join("plan.csv");
    pair.sqlite
        .run(&["--today", TODAY, "plan", "--out", plan.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 9);
    // Four plans of six rows each, overlapping, together all nine.
    let plans: Vec<String> = (0..4)
        .map(|i| {
            let mine: Vec<&str> = (0..6).map(|k| rows[(i * 2 + k) % rows.len()]).collect();
            let p = pair.sqlite.dir.path().join(format!("plan-{i}.csv"));
            std::fs::write(&p, format!("{header}\n{}\n", mine.join("\n"))).unwrap();
            path(&p)
        })
        .collect();
    let children: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut c = pair.pg.cqrs();
            c.env("PGPASSWORD", &pair.pg.owner_password)
                .args(["--db", &pair.pg.url(), "--today", TODAY])
                .args(["--actor", &format!("operator-{i}")])
                .args(["replace", "--plan", p, "--yes"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        let n: usize = text
            .split("created ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{text}"));
        created += n;
    }
    assert_eq!(created, 9);
    assert_eq!(
        pair.pg
            .psql_owner(
                "SELECT count(*), count(DISTINCT replaces) FROM accounts WHERE replaces IS NOT NULL"
            )
            .ok()
            .stdout,
        "9|9\n"
    );
    assert_eq!(
        pair.pg
            .psql_owner("SELECT count(*), count(DISTINCT old_account_id) FROM change_log WHERE action = 'replace'")
            .ok()
            .stdout,
        "9|9\n"
    );
    // The same store as one operator applying the whole plan.
    pair.sqlite
        .run(&["--today", TODAY, "replace", "--plan", &path(&plan), "--yes"])
        .ok();
    // Accounts and roles alike (the log's order is whoever came first).
    for (pg, sqlite) in pair.contents().into_iter().take(2) {
        assert_eq!(pg, sqlite);
    }
    let verified = said(&pair.pg.run(&["verify"]).ok(), &[]);
    assert!(
        verified.contains("unbroken chain of 9 entries"),
        "{verified}"
    );
}

/// Schema migration 9: the index on a username that is an address leaves
/// out the accounts whose username is their email (every replacement), and
/// the email's look-up key is sent with each replacement, its trigger
/// firing only for a row whose key is wrong or missing. An address that is
/// a username, the account's email or not, is still refused as SQLite
/// refuses it, every key is still the one its email gives, and a psql
/// INSERT that leaves the key out still gets it.
#[test]
fn usernames_that_are_addresses_and_email_keys_are_found_as_before_migration_9() {
    let Some(pair) = Pair::new() else { return };
    for kind in FIXTURE_FILES {
        pair.import(kind, &path(&fixture(&format!("{kind}.csv"))));
    }
    let accounts = std::fs::read_to_string(fixture("accounts.csv")).unwrap();
    let more = pair.sqlite.dir.path().join("more-accounts.csv");
    std::fs::write(
        &more,
        format!(
            "{accounts}U0000090,Named.Person@nhs.net,Named.Person@nhs.net,Named,Person,active,,\n\
             U0000091,other.person@nhs.net,someone@gmail.com,Other,Person,active,,\n"
        ),
    )
    .unwrap();
    pair.import("accounts", &path(&more));
    let refused = pair.replace_one("U0000001", "NAMED.person@nhs.net");
    assert!(
        refused.starts_with("exit 1") && refused.contains("U0000090"),
        "{refused}"
    );
    let refused = pair.replace_one("U0000001", "Other.Person@nhs.net");
    assert!(
        refused.contains("already the username of account U0000091"),
        "{refused}"
    );
    // A replacement's username is its address: a second one for it is
    // refused the same way on both.
    pair.replace_one("U0000011", "claire.thompson@nhs.net");
    let refused = pair.replace_one("U0000012", "Claire.Thompson@nhs.net");
    assert!(refused.starts_with("exit 1"), "{refused}");
    pair.same_contents();
    // The keys: right for every row, a psql INSERT without one given it.
    pair.pg
        .psql_owner(
            "INSERT INTO accounts (account_id, username, email, given_name, family_name, status)
             VALUES ('U9000002', 'psql2', 'Psql.Two@NHS.net ', 'P', 'T', 'active')",
        )
        .ok();
    let wrong = pair
        .pg
        .psql_owner(
            "SELECT count(*) FROM accounts
             WHERE email_key IS DISTINCT FROM hashtextextended(lower(btrim(email)), 0)",
        )
        .ok()
        .stdout;
    assert_eq!(wrong.trim(), "0");
    let shown = pair
        .pg
        .run(&["--today", TODAY, "accounts", "show", "psql.two@nhs.net"])
        .ok()
        .stdout;
    assert!(shown.contains("U9000002"), "{shown}");
}
