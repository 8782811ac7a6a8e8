//! notify, progress snapshots, notes and follow-up states on a real
//! PostgreSQL server (pg_server.rs), with a real SMTP relay (aiosmtpd,
//! smtp_server.rs): the same round as on SQLite, sent once, also by two
//! operators at once; snapshots equal to each day's report; an area
//! operator's own progress, in the tool and in psql; notes kept by the
//! database whoever runs the SQL; and `store copy` carrying all of it both
//! ways.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::common::{FIXTURE_FILES, Run, Store, fixture};
use super::pg_server::{self, Db};
use super::progress::ReportCounts;
use super::smtp_server::{self, Fault, Server};

const TODAY: &str = "2020-09-10";
const FROM: &str = "cqrs.admin@nhs.net";
const DAY1: &str = "2026-11-02";
const DAY2: &str = "2026-11-09";

/// The area operator (07L, a commissioner) and the national one.
const AREA: (&str, &str, &str) = ("ops07l", "pw-07l", "07L");
const NATIONAL: (&str, &str) = ("opsnat", "pw-nat");

fn n(db: &Db, login: &str) -> String {
    format!("{}_{login}", db.name)
}

/// A store with the fixtures imported by its owner and the two operators
/// registered; None when the PostgreSQL tests are skipped.
fn pg_store() -> Option<Db> {
    let db = pg_server::database()?;
    for kind in FIXTURE_FILES {
        let path = fixture(&format!("{kind}.csv"));
        db.run(&["import", kind, path.to_str().unwrap()]).ok();
    }
    db.login(&n(&db, AREA.0), AREA.1);
    db.login(&n(&db, NATIONAL.0), NATIONAL.1);
    db.run(&["operators", "add", &n(&db, AREA.0), "--org", AREA.2])
        .ok();
    db.run(&["operators", "add", &n(&db, NATIONAL.0)]).ok();
    Some(db)
}

/// The binary as `login` on the store.
fn run_as(db: &Db, login: &str, password: &str, args: &[&str]) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", password)
        .arg("--db")
        .arg(db.url_for(login))
        .args(args);
    pg_server::run(c)
}

/// The owner's notify round, to an outbox.
fn notify_to_outbox(db: &Db, outbox: &Path) -> Run {
    db.run(&[
        "--today",
        TODAY,
        "notify",
        "--from",
        FROM,
        "--outbox",
        outbox.to_str().unwrap(),
        "--yes",
    ])
}

fn area(db: &Db, args: &[&str]) -> Run {
    run_as(db, &n(db, AREA.0), AREA.1, args)
}

fn area_psql(db: &Db, sql: &str) -> Run {
    db.psql(&n(db, AREA.0), AREA.1, sql)
}

/// psql's rows, one per line.
fn lines(run: Run) -> Vec<String> {
    run.ok().stdout.lines().map(str::to_string).collect()
}

// --- notify ------------------------------------------------------------

/// Every message a relay logged, as (recipient, subject, body), sorted.
fn messages(log: &Path) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = smtp_server::received(log)
        .iter()
        .map(|m| {
            (
                m["to"][0].as_str().unwrap().to_string(),
                m["headers"]["Subject"][0].as_str().unwrap().to_string(),
                m["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The round an SQLite store of the same fixtures sends: what the
/// PostgreSQL store must send too.
fn sqlite_round(dir: &Path) -> Vec<(String, String, String)> {
    let store = Store::with_fixtures();
    let log = dir.join("sqlite.jsonl");
    let server = Server::start(&log, Fault::None);
    store
        .run(&[
            "--today",
            TODAY,
            "notify",
            "--from",
            FROM,
            "--smtp",
            &server.url(),
            "--yes",
        ])
        .ok();
    let round = messages(&log);
    assert!(round.len() > 10, "{round:?}");
    round
}

fn notify_args(url: &str) -> Vec<&str> {
    vec![
        "--today", TODAY, "notify", "--from", FROM, "--smtp", url, "--yes",
    ]
}

#[test]
fn notify_on_postgresql_sends_the_sqlite_round_once_and_keeps_its_record() {
    if !smtp_server::available("notify_on_postgresql_sends_the_sqlite_round_once") {
        return;
    }
    let Some(db) = pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let want = sqlite_round(dir.path());
    let log = dir.path().join("pg.jsonl");
    let server = Server::start(&log, Fault::None);
    let url = server.url();
    let run = db.run(&notify_args(&url)).ok();
    assert!(
        run.stderr
            .contains(&format!("{} message(s) sent", want.len())),
        "{}",
        run.stderr
    );
    assert_eq!(messages(&log), want);
    // A second run sends nothing.
    let again = db.run(&notify_args(&url)).ok();
    assert!(again.stderr.contains("nothing to send"), "{}", again.stderr);
    assert_eq!(messages(&log).len(), want.len());
    // Both runs are in the change log, by the login.
    let entries = db.run(&["log", "--format", "csv"]).ok().csv();
    let runs: Vec<_> = entries.iter().filter(|r| r["action"] == "notify").collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["reason"].contains(&format!("{} sent", want.len())));
    assert!(runs[1]["reason"].contains("0 sent"));
    assert!(runs.iter().all(|r| r["actor"].starts_with(&db.owner)));
    // The record, written by the database with the login as the operator.
    let record = lines(db.psql_owner(
        "SELECT count(*), count(DISTINCT operator), min(operator) FROM notifications \
         WHERE outcome = 'sent'",
    ));
    assert_eq!(record, [format!("{}|1|{}", want.len(), db.owner)]);
    // Append-only, even for the owner in psql.
    for sql in [
        "UPDATE notifications SET outcome = 'refused'",
        "DELETE FROM notifications",
        "TRUNCATE notifications",
    ] {
        let refused = db.psql_owner(sql).fails(1);
        assert!(
            refused
                .stderr
                .contains("the record of messages sent is append-only"),
            "{sql}: {}",
            refused.stderr
        );
    }
    // An outbox run after it writes nothing: every message was sent.
    let outbox = dir.path().join("outbox");
    let out = notify_to_outbox(&db, &outbox).ok();
    assert!(out.stderr.contains("nothing to send"), "{}", out.stderr);
}

#[test]
fn the_outbox_on_postgresql_holds_each_message_once() {
    let Some(db) = pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    notify_to_outbox(&db, &outbox).ok();
    let count = || std::fs::read_dir(&outbox).unwrap().count();
    let first = count();
    let sent: i64 = lines(db.psql_owner("SELECT count(*) FROM notifications"))[0]
        .parse()
        .unwrap();
    assert!(first > 10);
    assert_eq!(first as i64, sent);
    notify_to_outbox(&db, &outbox).ok();
    assert_eq!(count(), first, "a second run wrote again");
}

/// Two operators (the owner and a national operator) run the same round
/// at the same moment: whichever order the two take, the relay receives
/// each message exactly once, and a third run finds nothing to send.
#[test]
fn two_operators_at_once_send_each_message_exactly_once() {
    if !smtp_server::available("two_operators_at_once_send_each_message_exactly_once") {
        return;
    }
    let Some(db) = pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let want = sqlite_round(dir.path());
    let log = dir.path().join("pg.jsonl");
    let server = Server::start(&log, Fault::None);
    let url = server.url();
    let national = n(&db, NATIONAL.0);
    let spawn = |login: &str, password: &str| {
        let mut c = db.cqrs();
        c.env("PGPASSWORD", password)
            .arg("--db")
            .arg(db.url_for(login))
            .args(notify_args(&url))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let first = spawn(&db.owner, &db.owner_password);
    let second = spawn(&national, NATIONAL.1);
    let mut sent = 0;
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(0) => {
                if let Some(n) = stderr
                    .split(" message(s) sent")
                    .next()
                    .and_then(|s| s.rsplit(' ').next())
                    .and_then(|s| s.parse::<usize>().ok())
                {
                    sent += n;
                }
            }
            Some(1) => assert!(
                stderr.contains("another `cqrs-admin notify` is sending from this store now"),
                "{stderr}"
            ),
            other => panic!("exit {other:?}: {stderr}"),
        }
    }
    assert_eq!(messages(&log), want, "each message exactly once");
    assert_eq!(sent, want.len());
    let third = db.run(&notify_args(&url)).ok();
    assert!(third.stderr.contains("nothing to send"), "{}", third.stderr);
    assert_eq!(messages(&log).len(), want.len());
}

#[test]
fn an_area_operator_cannot_send_the_round_nor_read_its_record() {
    let Some(db) = pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    for extra in [&["--yes"][..], &["--dry-run"]] {
        let mut args = vec![
            "--today",
            TODAY,
            "notify",
            "--from",
            FROM,
            "--outbox",
            outbox.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = area(&db, &args).fails(1);
        assert!(
            run.stderr
                .contains("only a national operator or the store's owner"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("send notify's messages"));
    }
    assert!(!outbox.exists());
    // The owner's run, then the area's login in psql sees none of it.
    notify_to_outbox(&db, &outbox).ok();
    assert_eq!(
        lines(area_psql(&db, "SELECT count(*) FROM notifications")),
        ["0"]
    );
    let refused = area_psql(
        &db,
        "INSERT INTO notifications (message_key, kind, recipient, recipient_key, accounts, \
         content_hash, message_id, at, operator, channel, outcome, relay_answer) VALUES \
         ('k', 'account', 'a@nhs.net', 'a@nhs.net', '', 'h', 'm', '', '', 'outbox:x', 'sent', '')",
    )
    .fails(1);
    assert!(
        refused.stderr.contains("row-level security"),
        "{}",
        refused.stderr
    );
}

// --- progress ----------------------------------------------------------

/// The owner's report of `day`, kept to `only` accounts if given.
fn report_counts(db: &Db, day: &str, only: Option<&BTreeSet<String>>) -> ReportCounts {
    let rows = db
        .run(&["--today", day, "--format", "csv", "report"])
        .ok()
        .csv();
    ReportCounts::of(rows, only)
}

/// The owner's audit of `day` (which also records its snapshot): the
/// accounts audited and those `ok`, kept to `only` if given.
fn audit_counts(db: &Db, day: &str, only: Option<&BTreeSet<String>>) -> (usize, usize) {
    let rows = db
        .run(&["--today", day, "--format", "csv", "audit"])
        .ok()
        .csv();
    let kept: Vec<_> = rows
        .iter()
        .filter(|r| only.is_none_or(|o| o.contains(&r["account_id"])))
        .collect();
    let ok = kept.iter().filter(|r| r["category"] == "ok").count();
    (kept.len(), ok)
}

fn progress_of(run: Run) -> Vec<BTreeMap<String, String>> {
    run.ok().csv()
}

fn progress(db: &Db, extra: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["--format", "csv", "progress"];
    args.extend_from_slice(extra);
    progress_of(db.run(&args))
}

fn area_progress(db: &Db, extra: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["--format", "csv", "progress"];
    args.extend_from_slice(extra);
    progress_of(area(db, &args))
}

/// Every replacement a plan proposes, made by the owner.
fn replace_planned(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.csv");
    db.run(&["--today", DAY1, "plan", "--out", plan.to_str().unwrap()])
        .ok();
    db.run(&["replace", "--plan", plan.to_str().unwrap(), "--yes"])
        .ok();
}

/// Checks progress rows against each day's counts.
fn check_days(rows: &[BTreeMap<String, String>], days: [(&str, &ReportCounts, (usize, usize)); 2]) {
    assert_eq!(
        rows.iter().map(|r| r["date"].as_str()).collect::<Vec<_>>(),
        [days[0].0, days[1].0]
    );
    for (row, (_, report, (audited, ok))) in rows.iter().zip(&days) {
        assert_eq!(row["accounts"], audited.to_string(), "{row:?}");
        assert_eq!(row["ok"], ok.to_string(), "{row:?}");
        assert_eq!(row["needing_action"], report.accounts.len().to_string());
        for section in ["contact-commissioner", "no-nhsmail", "administrator"] {
            let n = report.by_section.get(section).map_or(0, BTreeSet::len);
            assert_eq!(row[section], n.to_string(), "{section} on {}", row["date"]);
        }
    }
    assert_eq!(
        (rows[0]["fixed"].as_str(), rows[0]["new"].as_str()),
        ("", "")
    );
    let (before, after) = (&days[0].1.accounts, &days[1].1.accounts);
    let fixed = before.difference(after).count();
    assert!(fixed > 0, "nothing was fixed between the days");
    assert_eq!(rows[1]["fixed"], fixed.to_string());
    assert_eq!(rows[1]["new"], after.difference(before).count().to_string());
}

/// Checks `--by contact` rows against each day's report by contact.
fn check_contacts(rows: &[BTreeMap<String, String>], days: [(&str, &ReportCounts); 2]) {
    for (i, (day, report)) in days.iter().enumerate() {
        let shown: BTreeMap<&str, &BTreeMap<String, String>> = rows
            .iter()
            .filter(|r| r["date"] == *day)
            .map(|r| (r["contact_code"].as_str(), r))
            .collect();
        for (code, accounts) in &report.by_contact {
            let row = shown.get(code.as_str()).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(row["needing_action"], accounts.len().to_string(), "{code}");
            if i == 1 {
                let before = days[0].1.by_contact.get(code).cloned().unwrap_or_default();
                assert_eq!(
                    row["fixed"],
                    before.difference(accounts).count().to_string()
                );
                assert_eq!(row["new"], accounts.difference(&before).count().to_string());
            }
        }
        for (code, row) in &shown {
            if !report.by_contact.contains_key(*code) {
                assert_eq!(row["needing_action"], "0", "{code}");
            }
        }
    }
}

/// Two days' whole-store audits by the owner with replacements between:
/// two snapshots equal to each day's report; `--by contact` equal to the
/// report's rows by contact; a same-day audit adds no row, nor does a
/// filtered one.
#[test]
fn snapshots_on_postgresql_equal_each_days_report() {
    let Some(db) = pg_store() else { return };
    let audit1 = audit_counts(&db, DAY1, None);
    let report1 = report_counts(&db, DAY1, None);
    replace_planned(&db);
    let audit2 = audit_counts(&db, DAY2, None);
    let report2 = report_counts(&db, DAY2, None);
    let rows = progress(&db, &[]);
    check_days(&rows, [(DAY1, &report1, audit1), (DAY2, &report2, audit2)]);
    check_contacts(
        &progress(&db, &["--by", "contact"]),
        [(DAY1, &report1), (DAY2, &report2)],
    );
    // The same day again, and filtered audits: no new row, same counts.
    db.run(&["--today", DAY2, "audit", "--counts"]).ok();
    for filter in [&["--category", "ok"][..], &["--contact", "00K"]] {
        let mut args = vec!["--today", "2026-11-10", "audit"];
        args.extend_from_slice(filter);
        db.run(&args).ok();
    }
    assert_eq!(progress(&db, &[]), rows);
    assert_eq!(
        lines(db.psql_owner("SELECT count(*) FROM progress_snapshots")),
        ["2"]
    );
    // A national operator's whole-store audit records the store's snapshot.
    run_as(
        &db,
        &n(&db, NATIONAL.0),
        NATIONAL.1,
        &["--today", "2026-11-16", "audit", "--counts"],
    )
    .ok();
    assert_eq!(progress(&db, &[]).len(), 3);
}

/// The store's write lock (write.rs: `pg_advisory_xact_lock` of "CQRW"),
/// as a number psql can take.
const WRITE_LOCK: i64 = 0x4351_5257;

/// A whole-store audit while another session holds the store's write lock
/// (a long replacement, say) keeps its progress snapshot without waiting
/// for that write: the snapshot is kept under a lock of its own, on a
/// second connection beside the report's. The report's rows are not kept
/// (that takes the write lock, and an audit does not wait for it): the
/// next `report` computes them, the same.
#[test]
fn an_audit_during_another_write_keeps_its_snapshot_without_waiting_for_it() {
    use std::io::Write as _;
    let Some(db) = pg_store() else { return };
    let (mut psql, mut stdin) = db.psql_session();
    stdin
        .write_all(
            format!(
                "SELECT pg_advisory_lock({WRITE_LOCK});\n\
                 SET application_name = 'writing';\n"
            )
            .as_bytes(),
        )
        .expect("write to psql");
    let holding = || {
        lines(db.psql_owner(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'writing'
               AND state = 'idle'",
        )) == ["1"]
    };
    for _ in 0..1200 {
        if holding() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(holding(), "psql never came to hold the write lock");

    let mut audit = db.cqrs();
    audit
        .env("PGPASSWORD", &db.owner_password)
        .args([
            "--db",
            &db.url(),
            "--today",
            DAY1,
            "--format",
            "csv",
            "audit",
            "--counts",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut audit = audit.spawn().expect("run the audit");
    // An audit of the fixtures takes well under a second; one that waits for
    // the lock would wait for ever, so after two minutes the lock is let go
    // (and the test fails) rather than the test hanging.
    let mut waited = false;
    for step in 0.. {
        if audit.try_wait().expect("the audit").is_some() {
            break;
        }
        if step == 2400 {
            waited = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    stdin
        .write_all(format!("SELECT pg_advisory_unlock({WRITE_LOCK});\n").as_bytes())
        .expect("write to psql");
    drop(stdin);
    assert!(psql.wait().expect("psql").success());
    let out = audit.wait_with_output().expect("the audit");
    assert!(!waited, "the audit waited for another session's write");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rows = progress(&db, &[]);
    assert_eq!(
        rows.iter().map(|r| r["date"].as_str()).collect::<Vec<_>>(),
        [DAY1]
    );
    let audited: usize = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next()?.parse::<usize>().ok())
        .sum();
    assert!(audited > 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0]["accounts"], audited.to_string());
    assert_eq!(
        lines(db.psql_owner("SELECT count(*) FROM settings WHERE key = 'report_cache.generation'")),
        ["0"]
    );
    // With nobody writing, the next audit keeps the report's rows as well.
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    assert_eq!(
        lines(db.psql_owner("SELECT count(*) FROM settings WHERE key = 'report_cache.generation'")),
        ["1"]
    );
    assert_eq!(progress(&db, &[]), rows);
}

/// The accounts the area's login sees in psql (row-level security): those
/// holding a role in its area.
fn area_accounts(db: &Db) -> BTreeSet<String> {
    lines(area_psql(db, "SELECT account_id FROM accounts"))
        .into_iter()
        .collect()
}

/// An area operator's `progress` is its area's own: each day's row counts
/// the owner's report and audit of that day kept to the area's accounts
/// (fixed and new too); its contacts' rows are the owner's rows of those
/// contacts; psql under its login reads the same, and no snapshot of the
/// whole store. Its own audit records nothing, saying so.
#[test]
fn an_area_operator_sees_its_own_areas_progress_in_the_tool_and_in_psql() {
    let Some(db) = pg_store() else { return };
    let mine = area_accounts(&db);
    assert!(!mine.is_empty());
    let audit1 = audit_counts(&db, DAY1, Some(&mine));
    let report1 = report_counts(&db, DAY1, Some(&mine));
    replace_planned(&db);
    // The replacements are in the area too, and held roles there.
    let mine = area_accounts(&db);
    let audit2 = audit_counts(&db, DAY2, Some(&mine));
    let report2 = report_counts(&db, DAY2, Some(&mine));
    // Day 1's set is today's accounts: the replaced ones are still there.
    let rows = area_progress(&db, &[]);
    check_days(&rows, [(DAY1, &report1, audit1), (DAY2, &report2, audit2)]);
    assert_ne!(rows, progress(&db, &[]), "the area saw the whole store");

    // Its contacts: only those in its area, as the owner's rows show them.
    let shown = area_progress(&db, &["--by", "contact"]);
    let in_area: BTreeSet<String> = lines(area_psql(
        &db,
        "SELECT ods_code FROM organisations WHERE ods_code = ANY (cqrs_area())",
    ))
    .into_iter()
    .collect();
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|r| in_area.contains(&r["contact_code"])));
    let owners: Vec<_> = progress(&db, &["--by", "contact"])
        .into_iter()
        .filter(|r| in_area.contains(&r["contact_code"]))
        .collect();
    assert_eq!(shown, owners);

    // psql under its login: the same numbers, nothing of the whole store.
    assert_eq!(
        lines(area_psql(&db, "SELECT count(*) FROM progress_snapshots")),
        ["0"]
    );
    assert_eq!(
        lines(area_psql(&db, "SELECT count(*) FROM progress_categories")),
        ["0"]
    );
    let sums = lines(area_psql(
        &db,
        "SELECT day, sum(accounts), sum(contact_commissioner + no_nhsmail + administrator) \
         FROM progress_groups GROUP BY day ORDER BY day",
    ));
    let want: Vec<String> = rows
        .iter()
        .map(|r| format!("{}|{}|{}", r["date"], r["accounts"], r["needing_action"]))
        .collect();
    assert_eq!(sums, want);
    let codes = lines(area_psql(
        &db,
        "SELECT DISTINCT contact_code FROM progress_contacts ORDER BY 1",
    ));
    assert!(!codes.is_empty() && codes.iter().all(|c| in_area.contains(c)));
    // Its login removes none of the store's rows (row-level security
    // lets it delete none).
    area_psql(&db, "DELETE FROM progress_groups").ok();
    assert_eq!(
        lines(db.psql_owner("SELECT count(DISTINCT day) FROM progress_groups")),
        ["2"]
    );

    // Its audit of a new day records nothing, and says so.
    let audited = area(&db, &["--today", "2026-11-16", "audit", "--counts"]).ok();
    assert!(
        audited
            .stderr
            .contains("note: your audit covers only your area, so it recorded no progress"),
        "{}",
        audited.stderr
    );
    assert!(!audited.stderr.contains("warning"), "{}", audited.stderr);
    assert_eq!(progress(&db, &[]).len(), 2);
}

// --- notes and follow-ups ----------------------------------------------

/// The accounts of the fixtures whose roles all lie at organisations whose
/// ODS codes start with one of `codes` (case aside), in id order.
fn accounts_with_roles_only_at(codes: &[&str]) -> Vec<String> {
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(fixture("permissions.csv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        by_account
            .entry(fields[0].to_string())
            .or_default()
            .push(fields[1].to_uppercase());
    }
    let found: Vec<String> = by_account
        .into_iter()
        .filter(|(_, roles)| {
            roles
                .iter()
                .all(|r| codes.iter().any(|c| r.starts_with(&c.to_uppercase())))
        })
        .map(|(id, _)| id)
        .collect();
    assert!(!found.is_empty(), "no account with roles only at {codes:?}");
    found
}

fn account_with_roles_only_at(codes: &[&str]) -> String {
    accounts_with_roles_only_at(codes).remove(0)
}

#[test]
fn notes_and_follow_ups_on_postgresql_are_shown_logged_scoped_and_kept() {
    let Some(db) = pg_store() else { return };
    let outside = account_with_roles_only_at(&["L83", "15N"]);
    // In the area, and in the report (needing action), to be followed up.
    let reported = report_counts(&db, DAY1, None).accounts;
    let inside = accounts_with_roles_only_at(&["F82", "07L"])
        .into_iter()
        .find(|id| reported.contains(id))
        .expect("an account of the area in the report");

    // The owner's note: in accounts show and in the change log.
    db.run(&[
        "--today",
        DAY1,
        "accounts",
        "note",
        &outside,
        "phoned, waiting for their NHSmail address",
    ])
    .ok();
    let shown = db.run(&["accounts", "show", &outside]).ok().stdout;
    assert!(
        shown.contains("phoned, waiting for their NHSmail address"),
        "{shown}"
    );
    assert!(shown.contains(&db.owner), "{shown}");
    let entries = db.run(&["log", "--format", "csv"]).ok().csv();
    let note = entries.iter().find(|r| r["action"] == "note").unwrap();
    assert_eq!(note["reason"], "phoned, waiting for their NHSmail address");
    assert_eq!(note["old_account_id"], outside);

    // The area operator: refused outside its area, naming the other area.
    for args in [
        &["accounts", "note", outside.as_str(), "mine?"][..],
        &["accounts", "follow-up", outside.as_str(), "contacted"],
    ] {
        let run = area(&db, args).fails(1);
        assert!(run.stderr.contains("outside your area"), "{}", run.stderr);
        assert!(
            run.stderr.contains("L83") || run.stderr.contains("15N"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("Nothing was changed"));
    }
    // Inside it: kept, with the login as the operator.
    area(
        &db,
        &["--today", DAY1, "accounts", "note", &inside, "emailed"],
    )
    .ok();
    area(
        &db,
        &[
            "--today",
            DAY1,
            "accounts",
            "follow-up",
            &inside,
            "awaiting-user",
        ],
    )
    .ok();
    let shown = area(&db, &["accounts", "show", &inside]).ok().stdout;
    assert!(shown.contains("emailed"), "{shown}");
    assert!(shown.contains("follow-up: awaiting-user"), "{shown}");
    let login = n(&db, AREA.0);
    assert_eq!(
        lines(db.psql_owner(&format!(
            "SELECT actor FROM account_notes WHERE account_id = '{inside}'"
        ))),
        [login]
    );
    let report = db
        .run(&[
            "--today",
            DAY1,
            "--format",
            "csv",
            "report",
            "--follow-up",
            "awaiting-user",
        ])
        .ok()
        .csv();
    assert!(!report.is_empty());
    assert!(
        report
            .iter()
            .all(|r| r["account_id"] == inside && r["follow_up"] == "awaiting-user")
    );
    // The area's login in psql sees only its area's notes.
    assert_eq!(
        lines(area_psql(&db, "SELECT account_id FROM account_notes")),
        [inside.as_str()]
    );

    // Notes are never edited or deleted, even by the owner in psql.
    for sql in [
        "UPDATE account_notes SET note = 'something else'",
        "DELETE FROM account_notes",
        "TRUNCATE account_notes",
    ] {
        let refused = db.psql_owner(sql).fails(1);
        assert!(
            refused.stderr.contains("notes are never edited or deleted"),
            "{sql}: {}",
            refused.stderr
        );
    }
    // Cleared: the follow-up is gone, and the change is logged.
    area(&db, &["accounts", "follow-up", &inside, "clear"]).ok();
    let entries = db.run(&["log", "--format", "csv"]).ok().csv();
    let reasons: Vec<&str> = entries
        .iter()
        .filter(|r| r["action"] == "follow-up")
        .map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        ["awaiting-user (was none)", "clear (was awaiting-user)"]
    );
    // A dropped protective trigger is seen, and writes refused.
    db.psql_owner("DROP TRIGGER account_notes_no_delete ON account_notes")
        .ok();
    let run = db.run(&["accounts", "note", &outside, "again"]).fails(1);
    assert!(
        run.stderr.contains("account_notes_no_delete"),
        "{}",
        run.stderr
    );
}

// --- store copy ----------------------------------------------------------

/// Rows of the copied tables of issue 14 and 15, as psql prints them.
const PG_ROWS: &[(&str, &str)] = &[
    (
        "notifications",
        "SELECT seq, message_key, recipient, content_hash, operator, outcome FROM notifications ORDER BY seq",
    ),
    (
        "progress_snapshots",
        "SELECT day, accounts, needing_action, fixed, new, encode(needing, 'hex') FROM progress_snapshots ORDER BY day",
    ),
    (
        "progress_contacts",
        "SELECT day, contact_code, needing_action, fixed, new FROM progress_contacts ORDER BY day, contact_code",
    ),
    (
        "account_notes",
        "SELECT seq, account_id, day, actor, note FROM account_notes ORDER BY seq",
    ),
    (
        "follow_ups",
        "SELECT account_id, state, day, actor FROM follow_ups ORDER BY account_id",
    ),
];

fn pg_rows(db: &Db) -> Vec<Vec<String>> {
    PG_ROWS
        .iter()
        .map(|(_, sql)| lines(db.psql_owner(sql)))
        .collect()
}

/// The same rows of an SQLite store, in psql's unaligned form.
fn sqlite_rows(path: &Path) -> Vec<Vec<String>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    PG_ROWS
        .iter()
        .map(|(_, sql)| {
            let sql = sql.replace("encode(needing, 'hex')", "lower(hex(needing))");
            let mut stmt = conn.prepare(&sql).unwrap();
            let width = stmt.column_count();
            stmt.query_map([], |r| {
                let mut fields = Vec::new();
                for i in 0..width {
                    fields.push(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        v => v.as_str().unwrap().to_string(),
                    });
                }
                Ok(fields.join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
        })
        .collect()
}

fn copy(db: &Db, from: &str, to: &str) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", &db.owner_password)
        .args(["store", "copy", from, to]);
    pg_server::run(c)
}

/// A PostgreSQL store with messages sent, two snapshots, notes and a
/// follow-up is copied into SQLite and back into a second PostgreSQL
/// store: every row of them arrives as it was, and the copies go on
/// working (progress, notes, a second round sends nothing).
#[test]
fn store_copy_carries_messages_snapshots_notes_and_follow_ups_both_ways() {
    let Some(db) = pg_store() else { return };
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let notify = |db: &Db| notify_to_outbox(db, &outbox);
    db.run(&["--today", DAY1, "audit", "--counts"]).ok();
    replace_planned(&db);
    db.run(&["--today", DAY2, "audit", "--counts"]).ok();
    let account = account_with_roles_only_at(&["A81", "00K"]);
    db.run(&["--today", DAY1, "accounts", "note", &account, "phoned"])
        .ok();
    db.run(&[
        "--today",
        DAY1,
        "accounts",
        "follow-up",
        &account,
        "contacted",
    ])
    .ok();
    notify(&db).ok();
    let original = pg_rows(&db);
    assert!(original.iter().all(|rows| !rows.is_empty()), "{original:?}");

    let file = dir.path().join("copy.db");
    copy(&db, &db.url(), file.to_str().unwrap()).ok();
    assert_eq!(sqlite_rows(&file), original);

    let Some(back) = pg_server::database() else {
        return;
    };
    let mut c = back.cqrs();
    c.env("PGPASSWORD", &back.owner_password).args([
        "store",
        "copy",
        file.to_str().unwrap(),
        &back.url(),
    ]);
    pg_server::run(c).ok();
    assert_eq!(pg_rows(&back), original);
    assert_eq!(
        progress(&back, &[]),
        progress(&db, &[]),
        "the copy's progress"
    );
    // The copies go on: a note numbered after the copied ones, and the
    // round already sent.
    back.run(&["--today", DAY2, "accounts", "note", &account, "again"])
        .ok();
    let notes = lines(back.psql_owner("SELECT seq, note FROM account_notes ORDER BY seq"));
    assert_eq!(notes, ["1|phoned", "2|again"]);
    let again = notify(&back).ok();
    assert!(again.stderr.contains("nothing to send"), "{}", again.stderr);
}

/// Notes, follow-ups and notify name the login on PostgreSQL, as replace
/// does: `USER` (here "tester") is not a claim; an explicit `--actor` is kept
/// beside the login.
#[test]
fn notes_follow_ups_and_notify_keep_only_an_explicit_actor_as_a_claim() {
    let Some(db) = pg_store() else { return };
    let o = &db.owner;
    db.run(&["accounts", "note", "U0000010", "phoned"]).ok();
    db.run(&["--actor", "bob", "accounts", "note", "U0000010", "emailed"])
        .ok();
    db.run(&["accounts", "follow-up", "U0000010", "contacted"])
        .ok();
    db.run(&[
        "--actor",
        "bob",
        "accounts",
        "follow-up",
        "U0000011",
        "awaiting-user",
    ])
    .ok();
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    notify_to_outbox(&db, &outbox).ok();
    assert_eq!(
        lines(db.psql_owner("SELECT actor FROM account_notes ORDER BY seq")),
        [o.clone(), format!("{o} (--actor bob)")]
    );
    assert_eq!(
        lines(db.psql_owner("SELECT actor FROM follow_ups ORDER BY account_id")),
        [o.clone(), format!("{o} (--actor bob)")]
    );
    assert_eq!(
        lines(db.psql_owner("SELECT DISTINCT operator FROM notifications")),
        std::slice::from_ref(o)
    );
    assert_eq!(
        lines(db.psql_owner(
            "SELECT action || ' ' || actor || ' ' || coalesce(actor_claim, '-')
             FROM change_log WHERE action IN ('note', 'follow-up', 'notify') ORDER BY seq"
        )),
        [
            format!("note {o} -"),
            format!("note {o} bob"),
            format!("follow-up {o} -"),
            format!("follow-up {o} bob"),
            format!("notify {o} -"),
        ]
    );
    let shown = db.run(&["accounts", "show", "U0000010"]).ok().stdout;
    assert!(!shown.contains("tester"), "{shown}");
}
