//! Replacement accounts end to end: `plan`, `replace` (single and plan),
//! `revert`, `history`, `verify`, `log` and `export`, run as the real binary
//! against a temporary store built from small CSVs written here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::common::{Run, binary, mode};

const ORGANISATIONS: &str = "\
ods_code,name,kind,parent_code,contact_email
Y56,London,region,,london@nhs.net
00K,NHS Test CCG,commissioner,Y56,ccg00k@nhs.net
07L,NHS Other CCG,commissioner,Y56,ccg07l@nhs.net
A81001,Practice One,practice,00K,
A81002,Practice Two,practice,00K,
B82001,Practice Three,practice,07L,
";

// U1, U2: confident matches for the plan. U3: an administrator. U4, U5: two
// accounts matched to one address. U6: disabled. U7: ok, holds an address.
// U8: matched to an address a disabled account (U9) holds. U10: the directory
// has a new family name (a name change). U11: a region-level account.
const ACCOUNTS: &str = "\
account_id,username,email,given_name,family_name,status,created_at,last_login_at
U1,jbloggs,jo.bloggs@gp.nhs.uk,Jo,Bloggs,active,2015-01-01,2020-08-01
U2,asmith,anne.smith@nhs.net,Anne,Smith,active,,
U3,badmin,bob.admin@gp.nhs.uk,Bob,Admin,active,,
U4,ctwin,chris.twin@gp.nhs.uk,Chris,Twin,active,,
U5,ctwin2,c.twin@other.org,Chris,Twin,active,,
U6,dold,dave.old@gp.nhs.uk,Dave,Old,disabled,,
U7,eok,emma.ok@nhs.net,Emma,Ok,active,,
U8,ftaken,fay.taken@gp.nhs.uk,Fay,Taken,active,,
U9,fold,fay.taken@nhs.net,Fay,Taken,disabled,,
U10,grename,gina.old@gp.nhs.uk,Gina,Old,active,,
U11,hregion,hal.region@nhs.net,Hal,Region,active,,
";

const PERMISSIONS: &str = "\
account_id,ods_code,role,payment_types
U1,A81001,view,
U1,A81001,finance-view,QOF;DES
U1,00K,view,
U2,A81002,achievement-entry,
U3,A81001,user-administrator,
U3,A81001,view,
U4,A81001,view,
U5,A81001,view,
U6,A81001,view,
U7,A81001,view,
U8,B82001,view,
U9,B82001,view,
U10,B82001,declaration-management,QOF
U11,Y56,view,
";

const DIRECTORY: &str = "\
address,given_name,family_name,ods_code,status,mailbox_type
jo.bloggs@nhs.net,Jo,Bloggs,A81001,active,personal
anne.smith2@nhs.net,Anne,Smith,A81002,active,personal
bob.admin@nhs.net,Bob,Admin,A81001,active,personal
chris.twin@nhs.net,Chris,Twin,A81001,active,personal
emma.ok@nhs.net,Emma,Ok,A81001,active,personal
fay.taken@nhs.net,Fay,Taken,B82001,active,personal
gina.new@nhs.net,Gina,New,B82001,active,personal
shared.box@nhs.net,Shared,Box,A81001,active,shared
off.line@nhs.net,Off,Line,A81001,disabled,personal
hal.region@nhs.net,Hal,Region,Y56,active,personal
";

const ACTIVITY: &str = "\
activity_id,ods_code,account_id,kind,occurred_at,detail
ACT1,A81001,U1,offer-accepted,2019-04-10,QOF 2019/20
ACT2,00K,U11,offer-made,2019-04-01,QOF offered
ACT3,A81002,U2,achievement-declared,2020-03-31T17:20:00Z,531.2 points
ACT4,B82001,U8,offer-accepted,2019-05-01,
ACT5,Y56,U11,payment-approved,2020-04-01,
";

const FILES: &[(&str, &str)] = &[
    ("organisations", ORGANISATIONS),
    ("accounts", ACCOUNTS),
    ("permissions", PERMISSIONS),
    ("directory", DIRECTORY),
    ("activity", ACTIVITY),
];

struct Env {
    dir: TempDir,
    db: PathBuf,
}

impl Env {
    /// A store with the CSVs above imported.
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        let env = Env { dir, db };
        for (kind, text) in FILES {
            let path = env.write(&format!("{kind}.csv"), text);
            env.run(&["import", kind, path.to_str().expect("path")])
                .ok();
        }
        env
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("path")
            .to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("CQRS_ADMIN_DB")
            .env_remove("CQRS_ADMIN_TODAY")
            .env("CQRS_ADMIN_ACTOR", "test-operator")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the binary with no terminal (standard input is empty).
    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run binary");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).expect("open store")
    }

    /// Every row of every table, to prove a refusal changed nothing.
    fn snapshot(&self) -> Vec<String> {
        let conn = self.conn();
        let mut out = Vec::new();
        for table in [
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
            "change_log",
        ] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table}"))
                .expect("prepare");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = table.to_string();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        row.push_str(&format!("|{v:?}"));
                    }
                    Ok(row)
                })
                .expect("query");
            for row in rows {
                out.push(row.expect("row"));
            }
        }
        out.sort();
        out
    }

    /// (category, match) of every account, disabled ones included.
    fn audit(&self) -> BTreeMap<String, (String, String)> {
        self.run(&["audit", "--include-disabled", "--format", "csv"])
            .ok()
            .csv()
            .into_iter()
            .map(|r| {
                (
                    r["account_id"].clone(),
                    (r["category"].clone(), r["match"].clone()),
                )
            })
            .collect()
    }

    fn roles(&self, account: &str) -> serde_json::Value {
        let shown = self
            .run(&["accounts", "show", account, "--format", "json"])
            .ok()
            .json();
        shown[0]["roles"].clone()
    }

    fn count(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, [], |r| r.get(0))
            .expect("count query")
    }

    fn account_row(&self, id: &str) -> (String, String, String, Option<String>, Option<String>) {
        self.conn()
            .query_row(
                "SELECT username, email, status, replaced_by, replaces FROM accounts WHERE account_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .expect("account row")
    }
}

/// Timestamps in the change log vary: replace them with a fixed text of the
/// same width so tables keep their shape.
fn redact_times(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &bytes[i..];
        let is_time = rest.len() >= 20
            && rest[..4].iter().all(u8::is_ascii_digit)
            && rest[4] == b'-'
            && rest[10] == b'T'
            && rest[13] == b':'
            && rest[19] == b'Z';
        if is_time {
            out.push_str("YYYY-MM-DDTHH:MM:SSZ");
            i += 20;
        } else {
            let c = text[i..].chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

// ---------------------------------------------------------------- refusals

#[test]
fn every_refusal_exits_1_names_the_reason_and_changes_nothing() {
    let env = Env::new();
    let before = env.snapshot();
    let cases: &[(&[&str], &str)] = &[
        (
            &["replace", "U99", "--email", "jo.bloggs@nhs.net"],
            "there is no account U99",
        ),
        (
            &["replace", "U6", "--email", "jo.bloggs@nhs.net"],
            "the account is disabled",
        ),
        (
            &["replace", "U1", "--email", "jo bloggs@nhs.net"],
            "is not a valid email address",
        ),
        (
            &["replace", "U1", "--email", "jo.blоggs@nhs.net"],
            "is not a valid email address",
        ),
        (
            &["replace", "U1", "--email", "jo.bloggs@gp.nhs.uk"],
            "is not an nhs.net address",
        ),
        (
            &["replace", "U1", "--email", "nobody@nhs.net"],
            "it is not in the directory",
        ),
        (
            &["replace", "U1", "--email", "shared.box@nhs.net"],
            "it is a shared mailbox",
        ),
        (
            &["replace", "U1", "--email", "off.line@nhs.net"],
            "the mailbox is disabled",
        ),
        // On an active account, compared by normal form.
        (
            &["replace", "U1", "--email", " EMMA.OK@NHS.NET "],
            "is already on account U7",
        ),
        // On a disabled account too.
        (
            &["replace", "U8", "--email", "fay.taken@nhs.net"],
            "is already on account U9",
        ),
        (
            &["replace", "U10", "--email", "gina.new@nhs.net"],
            "give --reason to record a name change",
        ),
        (
            &[
                "replace",
                "U10",
                "--email",
                "gina.new@nhs.net",
                "--reason",
                "  ",
            ],
            "give --reason",
        ),
        (
            &["replace", "U3", "--email", "bob.admin@nhs.net"],
            "--allow-admin",
        ),
    ];
    for (args, expected) in cases {
        let mut args = args.to_vec();
        args.push("--yes");
        let run = env.run(&args).fails(1);
        assert!(
            run.stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{}",
            run.stderr
        );
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        assert_eq!(env.snapshot(), before, "{args:?} changed the store");
    }
}

#[test]
fn an_account_already_replaced_cannot_be_replaced_again() {
    let env = Env::new();
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .ok();
    let before = env.snapshot();
    let run = env
        .run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .fails(1);
    assert!(
        run.stderr.contains("already superseded by account R1-U1"),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn without_a_terminal_and_without_yes_nothing_changes_and_yes_is_named() {
    let env = Env::new();
    let before = env.snapshot();
    let run = env
        .run(&["replace", "U1", "--email", "jo.bloggs@nhs.net"])
        .fails(1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    let plan = env.write("plan.csv", "account_id,new_email\nU1,jo.bloggs@nhs.net\n");
    let run = env
        .run(&["replace", "--plan", plan.to_str().expect("path")])
        .fails(1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    env.run(&["revert", "R1-U1"]).fails(1);
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .ok();
    let before = env.snapshot();
    let run = env.run(&["revert", "R1-U1"]).fails(1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn dry_run_shows_what_would_happen_and_changes_nothing() {
    let env = Env::new();
    let before = env.snapshot();
    let run = env
        .run(&[
            "replace",
            "U1",
            "--email",
            "Jo.Bloggs@nhs.net",
            "--disable-old",
            "--dry-run",
            "--today",
            "2020-09-01",
        ])
        .ok();
    assert_eq!(env.snapshot(), before);
    assert!(run.stderr.contains("nothing was changed (--dry-run)"));
    insta::assert_snapshot!("dry_run_single", run.stdout);

    let run = env
        .run(&[
            "replace",
            "U1",
            "--email",
            "jo.bloggs@nhs.net",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok();
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["created"], 0);
    assert_eq!(json["replacements"][0]["new_account_id"], "R1-U1");
    assert_eq!(env.snapshot(), before);
}

// ------------------------------------------------------------ replacing one

#[test]
fn a_replacement_copies_exactly_the_roles_and_supersedes_the_old_account() {
    let env = Env::new();
    let old_roles = env.roles("U1");
    assert_eq!(old_roles.as_array().map(Vec::len), Some(3));
    let run = env
        .run(&[
            "replace",
            "U1",
            "--email",
            "Jo.Bloggs@NHS.net",
            "--yes",
            "--today",
            "2020-09-01",
            "--format",
            "json",
        ])
        .ok();
    let json = run.json();
    let r = &json["replacements"][0];
    assert_eq!(r["old_account_id"], "U1");
    assert_eq!(r["new_account_id"], "R1-U1");
    // The directory's spelling of the address.
    assert_eq!(r["email"], "jo.bloggs@nhs.net");
    assert_eq!(r["roles"], old_roles);
    assert_eq!(
        r["roles"][1],
        serde_json::json!({"ods_code": "A81001", "role": "finance-view", "payment_types": ["QOF", "DES"]})
    );

    assert_eq!(env.roles("R1-U1"), old_roles);
    assert_eq!(
        env.roles("U1"),
        old_roles,
        "the old account keeps its roles"
    );
    let new = env.account_row("R1-U1");
    assert_eq!(
        new,
        (
            "jo.bloggs@nhs.net".into(),
            "jo.bloggs@nhs.net".into(),
            "active".into(),
            None,
            Some("U1".into())
        )
    );
    let old = env.account_row("U1");
    assert_eq!(old.1, "jo.bloggs@gp.nhs.uk", "the old email is kept");
    assert_eq!(old.2, "active", "disabling is a separate choice");
    assert_eq!(old.3.as_deref(), Some("R1-U1"));
    let created: String = env
        .conn()
        .query_row(
            "SELECT created_at FROM accounts WHERE account_id = 'R1-U1'",
            [],
            |r| r.get(0),
        )
        .expect("created_at");
    assert_eq!(created, "2020-09-01");

    let audit = env.audit();
    assert_eq!(audit["U1"].0, "superseded");
    assert_eq!(audit["R1-U1"].0, "ok");
}

#[test]
fn disable_old_is_recorded_as_its_own_step() {
    let env = Env::new();
    env.run(&[
        "replace",
        "U2",
        "--email",
        "anne.smith2@nhs.net",
        "--disable-old",
        "--yes",
    ])
    .ok();
    assert_eq!(env.account_row("U2").2, "disabled");
    let log = env.run(&["log", "--format", "csv"]).ok().csv();
    let actions: Vec<&str> = log.iter().map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["replace", "disable"]);
    assert_eq!(env.audit()["U2"].0, "superseded");
}

#[test]
fn a_name_change_needs_a_reason_which_is_logged() {
    let env = Env::new();
    env.run(&[
        "replace",
        "U10",
        "--email",
        "gina.new@nhs.net",
        "--reason",
        "married",
        "--yes",
    ])
    .ok();
    let log = env.run(&["log", "--format", "csv"]).ok().csv();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["reason"], "married");
    assert_eq!(log[0]["email"], "gina.new@nhs.net");
    assert_eq!(log[0]["actor"], "test-operator");
    // The new account has the account's names, not the directory's.
    let shown = env
        .run(&["accounts", "show", "R1-U10", "--format", "json"])
        .ok()
        .json();
    assert_eq!(shown[0]["family_name"], "Old");
}

#[test]
fn an_administrator_needs_allow_admin() {
    let env = Env::new();
    env.run(&["replace", "U3", "--email", "bob.admin@nhs.net", "--yes"])
        .fails(1);
    env.run(&[
        "replace",
        "U3",
        "--email",
        "bob.admin@nhs.net",
        "--yes",
        "--allow-admin",
    ])
    .ok();
    assert_eq!(env.roles("R1-U3"), env.roles("U3"));
}

// ---------------------------------------------------------------- plans

fn plan_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("plan");
    let headers = reader.headers().expect("headers").clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.expect("record").iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn plan_holds_exactly_the_confident_matches_leaving_out_admins_and_shared_addresses() {
    let env = Env::new();
    let out = env.path("plan.csv");
    let run = env.run(&["plan", "--out", &out]).ok();
    assert_eq!(mode(Path::new(&out)), 0o600, "the plan is owner-only");
    let rows = plan_rows(Path::new(&out));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["account_id"].as_str(),
                r["new_email"].as_str(),
                r["reason"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("U1", "jo.bloggs@nhs.net", ""),
            ("U2", "anne.smith2@nhs.net", "")
        ]
    );
    assert_eq!(rows[0]["organisations"], "00K;A81001");
    assert_eq!(rows[0]["contacts"], "00K;Y56");
    assert_eq!(rows[0]["old_email"], "jo.bloggs@gp.nhs.uk");
    assert_eq!(rows[0]["category"], "nhs-uk-domain");
    assert!(
        run.stderr.contains("2 proposed")
            && run.stderr.contains("1 administrator account")
            && run
                .stderr
                .contains("2 accounts matched to a shared address")
            && run.stderr.contains("1 address already on an account"),
        "{}",
        run.stderr
    );
    // The accounts left out are data for the reviewer: on standard output,
    // never among the messages.
    assert!(
        run.stdout.contains("left out of the plan")
            && run.stdout.contains("U3")
            && run.stdout.contains("administrator"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("U3"), "{}", run.stderr);
    let piped = env.run(&["plan", "--out", "-"]).ok();
    assert!(!piped.stdout.contains("left out"), "{}", piped.stdout);
    assert!(piped.stderr.contains("--format json"), "{}", piped.stderr);

    let json = env
        .run(&["plan", "--out", &out, "--force", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["proposed"], 2);
    let left: Vec<(String, String)> = json["left_out"]
        .as_array()
        .expect("left_out")
        .iter()
        .map(|l| {
            (
                l["account_id"].as_str().unwrap_or("").to_string(),
                l["why"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("U3", "administrator"),
        ("U4", "shared-address"),
        ("U5", "shared-address"),
        ("U8", "address-on-account"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(left, expected);
    assert_eq!(
        json["left_out"][1]["accounts_matched"],
        serde_json::json!(["U4", "U5"])
    );
}

#[test]
fn plan_filters_by_contact_and_writes_to_standard_output() {
    let env = Env::new();
    let run = env.run(&["plan", "--out", "-", "--contact", "07L"]).ok();
    assert_eq!(run.csv().len(), 0, "{}", run.stdout);
    let run = env.run(&["plan", "--out", "-", "--contact", "00k"]).ok();
    let ids: Vec<String> = run.csv().iter().map(|r| r["account_id"].clone()).collect();
    assert_eq!(ids, ["U1", "U2"]);
    let run = env.run(&["plan", "--out", "-", "--contact", "Y56"]).ok();
    let ids: Vec<String> = run.csv().iter().map(|r| r["account_id"].clone()).collect();
    assert_eq!(ids, ["U1"], "U1 holds a role at 00K, whose contact is Y56");
    env.run(&["plan", "--out", "-", "--format", "json"])
        .fails(1);
}

#[test]
fn a_plan_runs_once_and_a_rerun_finds_it_already_done() {
    let env = Env::new();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    let run = env
        .run(&["replace", "--plan", &out, "--yes", "--format", "json"])
        .ok();
    let json = run.json();
    let created: Vec<&str> = json["replacements"]
        .as_array()
        .expect("replacements")
        .iter()
        .map(|r| r["new_account_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(created, ["R1-U1", "R1-U2"]);
    assert_eq!(
        json["replacements"][1]["roles"][0]["role"],
        "achievement-entry"
    );
    assert!(
        run.stderr.contains("created 2 replacement accounts"),
        "{}",
        run.stderr
    );

    let before = env.snapshot();
    let run = env
        .run(&["replace", "--plan", &out, "--yes", "--format", "json"])
        .ok();
    assert_eq!(env.snapshot(), before, "a re-run creates nothing");
    let json = run.json();
    assert_eq!(json["replacements"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["already_done"].as_array().map(Vec::len), Some(2));
    assert!(run.stderr.contains("2 already done"), "{}", run.stderr);
    assert_eq!(
        env.count("SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"),
        2
    );

    // The plan re-made now leaves the new accounts' addresses out.
    let run = env.run(&["plan", "--out", "-"]).ok();
    assert_eq!(run.csv().len(), 0);
}

#[test]
fn a_plan_with_any_bad_row_creates_nothing_and_names_every_line() {
    let env = Env::new();
    let before = env.snapshot();
    let plan = env.write(
        "plan.csv",
        "\u{feff}Account_ID , New_Email,reason,notes\n\
         U1,jo.bloggs@nhs.net,,fine\n\
         U6,dave.old@nhs.net,,disabled\n\
         U2,anne.smith2@nhs.net,,fine\n\
         U2,anne.smith2@nhs.net,,repeated account\n\
         U11,JO.BLOGGS@nhs.net,,repeated address\n\
         U10,gina.new@nhs.net,,no reason\n\
         U3,bob.admin@nhs.net,,administrator\n\
         ,x@nhs.net,,blank\n\
         \n",
    );
    let run = env
        .run(&["replace", "--plan", plan.to_str().expect("path"), "--yes"])
        .fails(1);
    assert_eq!(env.snapshot(), before);
    let e = &run.stderr;
    assert!(e.contains("no replacement account was created"), "{e}");
    for needle in [
        "line 3, column account_id: account U6: the account is disabled",
        "line 3, column new_email: the address \"dave.old@nhs.net\" is not held by the NHSmail directory",
        "line 5, column account_id: the account U2 is also on line 4",
        "line 6, column new_email: the address JO.BLOGGS@nhs.net is also on line 2",
        "line 7, column reason: the directory entry's names (Gina New) differ from the account's (Gina Old): fill in the plan's reason column",
        "line 8, column account_id: the account U3 holds an administrator role (user-administrator at A81001)",
        "line 9, column account_id: a value is required here",
    ] {
        assert!(e.contains(needle), "expected {needle:?} in\n{e}");
    }
    assert!(!e.contains("line 2,"), "line 2 is fine: {e}");
}

#[test]
fn a_plan_may_give_reasons_and_needs_allow_admin_for_administrators() {
    let env = Env::new();
    let plan = env.write(
        "plan.csv",
        "account_id,new_email,reason\nU10,gina.new@nhs.net,married\nU3,bob.admin@nhs.net,\n",
    );
    let plan = plan.to_str().expect("path");
    let run = env.run(&["replace", "--plan", plan, "--yes"]).fails(1);
    assert!(run.stderr.contains("--allow-admin"), "{}", run.stderr);
    env.run(&["replace", "--plan", plan, "--yes", "--allow-admin"])
        .ok();
    let log = env.run(&["log", "--format", "csv"]).ok().csv();
    let reasons: Vec<(&str, &str)> = log
        .iter()
        .map(|r| (r["old_account_id"].as_str(), r["reason"].as_str()))
        .collect();
    assert_eq!(reasons, [("U10", "married"), ("U3", "")]);
}

#[test]
fn plan_cells_neutralised_by_our_csv_writer_are_read_back() {
    let env = Env::new();
    let accounts = env.write(
        "more-accounts.csv",
        "account_id,username,email,given_name,family_name,status\n-U12,idash,ivy.dash@gp.nhs.uk,Ivy,Dash,active\n",
    );
    let permissions = env.write(
        "more-permissions.csv",
        "account_id,ods_code,role\n-U12,B82001,view\n",
    );
    let directory = env.write(
        "directory.csv",
        &format!("{DIRECTORY}ivy.dash@nhs.net,Ivy,Dash,B82001,active,personal\n"),
    );
    env.run(&["import", "accounts", accounts.to_str().expect("path")])
        .ok();
    env.run(&["import", "permissions", permissions.to_str().expect("path")])
        .ok();
    env.run(&["import", "directory", directory.to_str().expect("path")])
        .ok();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    let text = std::fs::read_to_string(&out).expect("plan");
    assert!(text.contains("\n'-U12,ivy.dash@nhs.net,"), "{text}");
    env.run(&["replace", "--plan", &out, "--yes"]).ok();
    assert_eq!(env.account_row("R1--U12").4.as_deref(), Some("-U12"));
}

#[test]
fn two_operators_running_one_plan_at_once_never_create_duplicates() {
    let env = Env::new();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    let args = [
        "replace",
        "--plan",
        out.as_str(),
        "--yes",
        "--format",
        "json",
    ];
    let first = env.command(&args).spawn().expect("spawn");
    let second = env.command(&args).spawn().expect("spawn");
    let mut created = 0;
    let mut done = 0;
    for child in [first, second] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        created += json["replacements"].as_array().map_or(0, Vec::len);
        done += json["already_done"].as_array().map_or(0, Vec::len);
    }
    assert_eq!((created, done), (2, 2));
    assert_eq!(
        env.count("SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"),
        2
    );
    assert_eq!(env.count("SELECT count(*) FROM change_log"), 2);
}

#[test]
fn dry_run_of_a_plan_lists_every_row() {
    let env = Env::new();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    let before = env.snapshot();
    let run = env.run(&["replace", "--plan", &out, "--dry-run"]).ok();
    assert_eq!(env.snapshot(), before);
    insta::assert_snapshot!("dry_run_plan", run.stdout.replace(&out, "plan.csv"));
    let run = env
        .run(&["replace", "--plan", &out, "--dry-run", "--format", "csv"])
        .ok();
    let outcomes: Vec<(String, String)> = run
        .csv()
        .iter()
        .map(|r| (r["new_account_id"].clone(), r["outcome"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("R1-U1".to_string(), "would-create".to_string()),
            ("R1-U2".to_string(), "would-create".to_string())
        ]
    );
}

// ---------------------------------------------------------------- revert

#[test]
fn revert_disables_the_replacement_and_restores_the_old_category() {
    let env = Env::new();
    let before = env.audit();
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .ok();
    assert_eq!(env.audit()["U1"].0, "superseded");
    let run = env
        .run(&["revert", "R1-U1", "--reason", "wrong address", "--yes"])
        .ok();
    assert!(run.stdout.contains("R1-U1 is disabled"), "{}", run.stdout);
    let after = env.audit();
    assert_eq!(
        after["U1"], before["U1"],
        "the old account audits as before"
    );
    assert_eq!(after["R1-U1"].0, "disabled");
    let new = env.account_row("R1-U1");
    assert_eq!((new.2.as_str(), new.4.as_deref()), ("disabled", Some("U1")));
    assert_eq!(env.account_row("U1").3, None);
    let log = env.run(&["log", "--format", "csv"]).ok().csv();
    let last = log.last().expect("log row");
    assert_eq!(
        (
            last["action"].as_str(),
            last["old_account_id"].as_str(),
            last["new_account_id"].as_str(),
            last["reason"].as_str()
        ),
        ("revert", "U1", "R1-U1", "wrong address")
    );

    // Not again, and not for an account that is no replacement.
    let snapshot = env.snapshot();
    let run = env.run(&["revert", "R1-U1", "--yes"]).fails(1);
    assert!(run.stderr.contains("already disabled"), "{}", run.stderr);
    let run = env.run(&["revert", "U7", "--yes"]).fails(1);
    assert!(
        run.stderr.contains("not a replacement account"),
        "{}",
        run.stderr
    );
    env.run(&["revert", "NOPE", "--yes"]).fails(1);
    assert_eq!(env.snapshot(), snapshot);

    // The old account can be replaced again; the reverted one keeps its id.
    let old_roles = env.roles("U1");
    let log_rows = env.count("SELECT count(*) FROM change_log");
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .fails(1); // the disabled replacement still holds the address
    assert_eq!(env.count("SELECT count(*) FROM change_log"), log_rows);
    assert_eq!(env.roles("U1"), old_roles);
}

#[test]
fn revert_reactivates_an_old_account_disabled_with_its_replacement() {
    let env = Env::new();
    env.run(&[
        "replace",
        "U2",
        "--email",
        "anne.smith2@nhs.net",
        "--disable-old",
        "--yes",
    ])
    .ok();
    env.run(&["revert", "R1-U2", "--yes"]).ok();
    assert_eq!(env.account_row("U2").2, "active");
    assert_eq!(env.audit()["U2"].0, "not-in-directory");
    let log = env.run(&["log", "--format", "csv"]).ok().csv();
    let actions: Vec<&str> = log.iter().map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["replace", "disable", "revert", "enable"]);
}

#[test]
fn revert_dry_run_changes_nothing() {
    let env = Env::new();
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .ok();
    let before = env.snapshot();
    let run = env
        .run(&["revert", "R1-U1", "--dry-run", "--format", "json"])
        .ok();
    assert_eq!(run.json()["dry_run"], true);
    assert_eq!(env.snapshot(), before);
}

// ------------------------------------------------------- history and verify

#[test]
fn history_shows_what_the_account_can_see() {
    let env = Env::new();
    let ids = |account: &str| -> Vec<String> {
        env.run(&["history", account, "--format", "csv"])
            .ok()
            .csv()
            .iter()
            .map(|r| r["activity_id"].clone())
            .collect()
    };
    // A practice and its commissioner: the commissioner's and both practices'.
    assert_eq!(ids("U1"), ["ACT2", "ACT1", "ACT3"]);
    assert_eq!(ids("U2"), ["ACT3"]);
    // A region sees its commissioners' and their practices' activity too.
    assert_eq!(ids("U11"), ["ACT2", "ACT1", "ACT4", "ACT3", "ACT5"]);
    let run = env.run(&["history", "U1", "--format", "csv"]).ok();
    assert!(
        run.stdout
            .starts_with("activity_id,ods_code,account_id,kind,occurred_at,detail\n")
    );
    let run = env.run(&["history", "NOPE"]).fails(1);
    assert!(
        run.stderr.contains("there is no account NOPE"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_proves_history_parity_and_fails_when_roles_drift() {
    let env = Env::new();
    let run = env.run(&["verify"]).ok();
    assert!(
        run.stderr.contains("no replacement accounts"),
        "{}",
        run.stderr
    );

    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    env.run(&["replace", "--plan", &out, "--yes"]).ok();
    env.run(&[
        "replace",
        "U10",
        "--email",
        "gina.new@nhs.net",
        "--reason",
        "married",
        "--yes",
    ])
    .ok();
    let history = |a: &str| env.run(&["history", a, "--format", "csv"]).ok().stdout;
    assert_eq!(history("U1"), history("R1-U1"));
    let run = env.run(&["verify", "--format", "csv"]).ok();
    let rows = run.csv();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["roles_equal"] == "true" && r["history_equal"] == "true")
    );

    // A role added to the old account afterwards breaks the parity.
    let extra = env.write(
        "extra.csv",
        "account_id,ods_code,role,payment_types\nU2,07L,view,\n",
    );
    env.run(&["import", "permissions", extra.to_str().expect("path")])
        .ok();
    let run = env.run(&["verify", "--format", "csv"]).fails(1);
    assert!(
        run.stderr.contains("1 replacement(s) differ"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("R1-U2"), "{}", run.stderr);
    let bad: Vec<BTreeMap<String, String>> = run
        .csv()
        .into_iter()
        .filter(|r| r["new_account_id"] == "R1-U2")
        .collect();
    assert_eq!(bad[0]["roles_equal"], "false");
    assert_eq!(bad[0]["history_equal"], "false");
    assert!(
        bad[0]["detail"].contains("missing roles: 07L view"),
        "{:?}",
        bad[0]
    );
    assert!(bad[0]["detail"].contains("B82001"), "{:?}", bad[0]);
}

// -------------------------------------------------------------------- log

#[test]
fn log_lists_every_change_and_filters() {
    let env = Env::new();
    env.run(&[
        "replace",
        "U1",
        "--email",
        "jo.bloggs@nhs.net",
        "--yes",
        "--actor",
        "alice",
    ])
    .ok();
    env.run(&[
        "replace",
        "U2",
        "--email",
        "anne.smith2@nhs.net",
        "--yes",
        "--actor",
        "bob",
        "--reason",
        "ticket 42",
    ])
    .ok();
    env.run(&[
        "revert", "R1-U1", "--yes", "--actor", "bob", "--reason", "wrong",
    ])
    .ok();

    let run = env.run(&["log"]).ok();
    insta::assert_snapshot!("log_table", redact_times(&run.stdout));

    let all = env.run(&["log", "--format", "csv"]).ok().csv();
    assert_eq!(all.len(), 3);
    let seqs: Vec<&str> = all.iter().map(|r| r["seq"].as_str()).collect();
    assert_eq!(seqs, ["1", "2", "3"]);
    for r in &all {
        let at = chrono::DateTime::parse_from_rfc3339(&r["at"]).expect("RFC 3339");
        assert_eq!(at.offset().local_minus_utc(), 0, "UTC");
        assert!(r["at"].ends_with('Z'));
    }
    let by_bob = env
        .run(&["log", "--by", "bob", "--format", "csv"])
        .ok()
        .csv();
    assert_eq!(by_bob.len(), 2);
    let about_u1 = env
        .run(&["log", "--account", "R1-U1", "--format", "csv"])
        .ok()
        .csv();
    let actions: Vec<&str> = about_u1.iter().map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["replace", "revert"]);

    let today = all[0]["at"][..10].to_string();
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("date");
    let yesterday = day.pred_opt().expect("day").to_string();
    let tomorrow = day.succ_opt().expect("day").to_string();
    let count = |args: &[&str]| {
        let mut all = vec!["log", "--format", "csv"];
        all.extend_from_slice(args);
        env.run(&all).ok().csv().len()
    };
    assert_eq!(
        count(&["--since", &today, "--until", &today]),
        3,
        "inclusive"
    );
    assert_eq!(count(&["--until", &yesterday]), 0);
    assert_eq!(count(&["--since", &tomorrow]), 0);
    assert_eq!(count(&["--since", &yesterday, "--by", "alice"]), 1);

    let json = env.run(&["log", "--format", "json"]).ok().json();
    assert_eq!(json[1]["reason"], "ticket 42");
    assert_eq!(json[2]["action"], "revert");
}

// ----------------------------------------------------------------- export

#[test]
fn export_writes_owner_only_files_that_import_again() {
    let env = Env::new();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    env.run(&["replace", "--plan", &out, "--yes", "--today", "2020-09-01"])
        .ok();
    let dir = env.dir.path().join("export");
    env.run(&["export", "--out", dir.to_str().expect("path")])
        .ok();
    assert_eq!(mode(&dir), 0o700);
    let accounts = dir.join("accounts.csv");
    let permissions = dir.join("permissions.csv");
    assert_eq!(mode(&accounts), 0o600);
    assert_eq!(mode(&permissions), 0o600);
    let text = std::fs::read_to_string(&accounts).expect("accounts.csv");
    assert_eq!(
        text,
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         R1-U1,jo.bloggs@nhs.net,jo.bloggs@nhs.net,Jo,Bloggs,active,2020-09-01,\n\
         R1-U2,anne.smith2@nhs.net,anne.smith2@nhs.net,Anne,Smith,active,2020-09-01,\n"
    );
    let text = std::fs::read_to_string(&permissions).expect("permissions.csv");
    assert_eq!(
        text,
        "account_id,ods_code,role,payment_types\n\
         R1-U1,00K,view,\n\
         R1-U1,A81001,finance-view,QOF;DES\n\
         R1-U1,A81001,view,\n\
         R1-U2,A81002,achievement-entry,\n"
    );

    // Into a new store (with the organisations), and back into this one.
    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_db = fresh.path().join("fresh.db");
    let organisations = env.write("organisations.csv", ORGANISATIONS);
    for (kind, file) in [
        ("organisations", organisations.as_path()),
        ("accounts", accounts.as_path()),
        ("permissions", permissions.as_path()),
    ] {
        let status = Command::new(binary())
            .args(["--db", fresh_db.to_str().expect("path"), "import", kind])
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .expect("import");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let run = env
        .run(&["import", "accounts", accounts.to_str().expect("path")])
        .ok();
    assert!(
        run.stderr.contains("(0 added, 0 updated, 2 unchanged)"),
        "{}",
        run.stderr
    );

    // --all: every account and role, re-importable into the same store.
    let all = env.dir.path().join("all");
    env.run(&["export", "--out", all.to_str().expect("path"), "--all"])
        .ok();
    let rows = csv::Reader::from_path(all.join("accounts.csv"))
        .expect("accounts")
        .records()
        .count();
    assert_eq!(rows, 13);
    let run = env
        .run(&[
            "import",
            "accounts",
            all.join("accounts.csv").to_str().expect("path"),
        ])
        .ok();
    assert!(
        run.stderr.contains("(0 added, 0 updated, 13 unchanged)"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&[
            "import",
            "permissions",
            all.join("permissions.csv").to_str().expect("path"),
        ])
        .ok();
    assert!(run.stderr.contains("0 added, 0 updated"), "{}", run.stderr);
}

// ------------------------------------------------------------ the store

#[test]
fn the_store_refuses_to_edit_an_email_or_the_change_log() {
    let env = Env::new();
    env.run(&["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"])
        .ok();
    let conn = env.conn();
    let err = conn
        .execute(
            "UPDATE accounts SET email = 'x@nhs.net' WHERE account_id = 'U1'",
            [],
        )
        .expect_err("email update refused");
    assert!(err.to_string().contains("can never be edited"), "{err}");
    let err = conn
        .execute("UPDATE change_log SET actor = 'someone else'", [])
        .expect_err("log update refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("DELETE FROM change_log", [])
        .expect_err("log delete refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("DELETE FROM accounts WHERE account_id = 'R1-U1'", [])
        .expect_err("account delete refused");
    assert!(err.to_string().contains("never deleted"), "{err}");
    assert_eq!(env.count("SELECT count(*) FROM change_log"), 1);
}

// ------------------------------------------------------------- long plans

/// A store with 10,050 more accounts, each with a confident match: enough for
/// a plan to be checked and written in more than one batch.
fn long_env() -> Env {
    let env = Env::new();
    let n = 10_050;
    let mut accounts = String::from("account_id,username,email,given_name,family_name,status\n");
    let mut permissions = String::from("account_id,ods_code,role,payment_types\n");
    let mut directory = String::from(DIRECTORY);
    for i in 0..n {
        accounts.push_str(&format!(
            "P{i:05},puser{i},p{i}@gp.nhs.uk,Given{i},Family{i},active\n"
        ));
        permissions.push_str(&format!("P{i:05},A81002,view,QOF\n"));
        directory.push_str(&format!(
            "given{i}.family{i}@nhs.net,Given{i},Family{i},A81002,active,personal\n"
        ));
    }
    for (kind, text) in [
        ("accounts", accounts),
        ("permissions", permissions),
        ("directory", directory),
    ] {
        let path = env.write(&format!("long-{kind}.csv"), &text);
        env.run(&["import", kind, path.to_str().expect("path")])
            .ok();
    }
    env
}

#[test]
fn a_long_plan_is_all_or_nothing_across_batches() {
    let env = long_env();
    let out = env.path("plan.csv");
    env.run(&["plan", "--out", &out]).ok();
    let plan = std::fs::read_to_string(&out).expect("plan");
    let lines = plan.lines().count();
    assert_eq!(lines, 1 + 2 + 10_050);

    // One bad row at the very end: nothing is created, and its line is named.
    let mut bad: Vec<&str> = plan.lines().collect();
    let last = bad.len();
    let broken = bad[last - 1].replacen("@nhs.net", "@nhs.uk", 1);
    bad[last - 1] = &broken;
    let bad_path = env.write("bad-plan.csv", &(bad.join("\n") + "\n"));
    let before = env.snapshot();
    let run = env
        .run(&[
            "replace",
            "--plan",
            bad_path.to_str().expect("path"),
            "--yes",
        ])
        .fails(1);
    assert!(
        run.stderr
            .contains(&format!("line {last}, column new_email: the address")),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before, "the first batch was rolled back");

    let run = env.run(&["replace", "--plan", &out, "--yes"]).ok();
    assert!(
        run.stderr
            .contains("created 10052 replacement accounts, 0 already done"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("... and 9052 more"),
        "the table is capped"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM accounts WHERE replaces IS NOT NULL"),
        10_052
    );
    assert_eq!(
        env.count("SELECT count(*) FROM permissions WHERE account_id LIKE 'R1-P%' AND payment_types = 'QOF'"),
        10_050
    );
    assert_eq!(env.count("SELECT count(*) FROM change_log"), 10_052);
    let run = env.run(&["verify", "--format", "csv"]).ok();
    assert_eq!(run.csv().len(), 10_052);
    let run = env.run(&["replace", "--plan", &out, "--yes"]).ok();
    assert!(run.stderr.contains("10052 already done"), "{}", run.stderr);
}
