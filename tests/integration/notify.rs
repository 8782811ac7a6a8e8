//! `notify`: one message to each account that must act, at its own
//! address; one digest to each contact; the invalid addresses listed for
//! the administrator; sent once, resumable, through a real SMTP server
//! (aiosmtpd, see smtp_server.rs) or into an outbox of .eml files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::{Run, Store};
use crate::smtp_server::{self, Fault, Server};

const TODAY: &str = "2020-09-10";
const FROM: &str = "cqrs.admin@nhs.net";

/// What the report says must reach whom, read from `report --format csv`.
struct Expected {
    /// account id -> (registered address trimmed, contact emails, address found)
    accounts: BTreeMap<String, (String, BTreeSet<String>, Option<String>)>,
    /// accounts whose address is not valid
    invalid: BTreeSet<String>,
    /// contact email -> account ids
    digests: BTreeMap<String, BTreeSet<String>>,
}

fn expected(store: &Store) -> Expected {
    let rows = store
        .run(&["--today", TODAY, "report", "--format", "csv"])
        .ok()
        .csv();
    let mut e = Expected {
        accounts: BTreeMap::new(),
        invalid: BTreeSet::new(),
        digests: BTreeMap::new(),
    };
    for r in &rows {
        let id = r["account_id"].clone();
        if !r["contact_email"].is_empty() {
            e.digests
                .entry(r["contact_email"].clone())
                .or_default()
                .insert(id.clone());
        }
        if r["category"] == "invalid-email" {
            e.invalid.insert(id);
            continue;
        }
        let found = match r["match"].as_str() {
            "none" | "ambiguous" | "" => None,
            a => Some(a.to_string()),
        };
        let entry = e
            .accounts
            .entry(id)
            .or_insert_with(|| (r["email"].trim().to_string(), BTreeSet::new(), found));
        entry.1.insert(r["contact_email"].clone());
    }
    e
}

fn header<'a>(m: &'a serde_json::Value, name: &str) -> Vec<&'a str> {
    m["headers"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn body(m: &serde_json::Value) -> &str {
    m["body"].as_str().unwrap()
}

/// Every message is well-formed RFC 5322 with one of each header, and the
/// whole set is exactly what the report says: one message per account at
/// its own address naming its contacts and the address found, one digest
/// per contact listing all its accounts (body and CSV), and the list of
/// invalid addresses to the administrator.
fn check_round(messages: &[serde_json::Value], e: &Expected, admin: &str) {
    let mut per_account: BTreeMap<String, usize> = BTreeMap::new();
    let mut digests: BTreeMap<String, usize> = BTreeMap::new();
    let mut invalid_lists = 0;
    for m in messages {
        assert_eq!(m["defects"].as_array().unwrap().len(), 0, "defects in {m}");
        for name in ["From", "To", "Subject", "Date", "Message-ID"] {
            assert_eq!(header(m, name).len(), 1, "{name} in {m}");
        }
        assert!(header(m, "From")[0].contains(FROM));
        let to: Vec<&str> = m["to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(to.len(), 1, "one recipient: {m}");
        if let Some(rcpt) = m.get("rcpt_tos") {
            assert_eq!(rcpt.as_array().unwrap().len(), 1);
            assert_eq!(rcpt[0].as_str().unwrap(), to[0], "envelope = header");
        }
        let text = body(m);
        let digest_of = e.digests.keys().find(|c| c.as_str() == to[0]);
        let account = e
            .accounts
            .iter()
            .find(|(id, (addr, _, _))| addr == to[0] && text.contains(&format!("account {id} ")));
        if let Some((id, (_, contacts, found))) = account {
            *per_account.entry(id.clone()).or_default() += 1;
            for c in contacts.iter().filter(|c| !c.is_empty()) {
                assert!(text.contains(c.as_str()), "{id}: contact {c} in\n{text}");
            }
            if let Some(found) = found {
                assert!(text.contains(found.as_str()), "{id}: found {found}");
            }
            assert!(text.contains("support@cqrs.co.uk") && text.contains("0800 4402777"));
            assert!(text.contains("Wednesday 23 September 2020"));
            assert!(text.contains("13 days left"));
        } else if let Some(contact) = digest_of {
            *digests.entry(contact.clone()).or_default() += 1;
            let csv = m["attachments"][0]["content"].as_str().unwrap();
            let mut reader = csv::Reader::from_reader(csv.as_bytes());
            let listed: BTreeSet<String> = reader
                .records()
                .map(|r| r.unwrap()[1].to_string())
                .collect();
            assert_eq!(&listed, &e.digests[contact], "digest to {contact}");
            for id in &e.digests[contact] {
                assert!(
                    text.contains(id.as_str()),
                    "{id} in the digest to {contact}"
                );
            }
        } else {
            assert_eq!(to[0], admin, "an unexpected message: {m}");
            invalid_lists += 1;
            for id in &e.invalid {
                assert!(text.contains(id.as_str()), "{id} in the invalid list");
            }
        }
    }
    let want: BTreeMap<String, usize> = e.accounts.keys().map(|k| (k.clone(), 1)).collect();
    assert_eq!(per_account, want, "exactly one message per account");
    let want: BTreeMap<String, usize> = e.digests.keys().map(|k| (k.clone(), 1)).collect();
    assert_eq!(digests, want, "exactly one digest per contact");
    assert_eq!(invalid_lists, 1);
}

fn total(e: &Expected) -> usize {
    e.accounts.len() + e.digests.len() + 1
}

fn notify(store: &Store, extra: &[&str]) -> Run {
    let mut args = vec!["--today", TODAY, "notify", "--from", FROM];
    args.extend_from_slice(extra);
    store.run(&args)
}

fn smtp(store: &Store, server: &Server, extra: &[&str]) -> Run {
    let url = server.url();
    let mut args = vec!["--smtp", url.as_str()];
    args.extend_from_slice(extra);
    notify(store, &args)
}

fn eml_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_user_and_contact_gets_exactly_one_message_through_a_real_relay() {
    if !smtp_server::available(
        "every_user_and_contact_gets_exactly_one_message_through_a_real_relay",
    ) {
        return;
    }
    let store = Store::with_fixtures();
    let e = expected(&store);
    let log = store.dir.path().join("received.jsonl");
    let server = Server::start(&log, Fault::None);
    let run = smtp(&store, &server, &["--yes"]).ok();
    assert!(
        run.stderr
            .contains(&format!("{} message(s) sent", total(&e))),
        "{}",
        run.stderr
    );
    check_round(&server.received(), &e, FROM);
    // A second run sends nothing, and says so.
    let again = smtp(&store, &server, &["--yes"]).ok();
    assert_eq!(server.received().len(), total(&e));
    assert!(again.stderr.contains("nothing to send"), "{}", again.stderr);
    // Each run is in the change log.
    let log = store.run(&["log", "--format", "csv"]).ok().csv();
    let runs: Vec<_> = log.iter().filter(|r| r["action"] == "notify").collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["reason"].contains(&format!("{} sent", total(&e))));
    assert!(runs[1]["reason"].contains("0 sent"));
}

#[test]
fn after_a_relay_refuses_part_way_the_next_run_sends_exactly_the_rest() {
    if !smtp_server::available("after_a_relay_refuses_part_way_the_next_run_sends_exactly_the_rest")
    {
        return;
    }
    let store = Store::with_fixtures();
    let e = expected(&store);
    let log = store.dir.path().join("received.jsonl");
    {
        let refusing = Server::start(&log, Fault::RefuseAfter(5));
        let run = smtp(&store, &refusing, &["--yes"]).fails(1);
        assert!(
            run.stderr
                .contains(&format!("5 message(s) sent, {} not sent", total(&e) - 5)),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("451"), "{}", run.stderr);
        assert!(run.stderr.contains("run the same command again"));
    }
    assert_eq!(smtp_server::received(&log).len(), 5);
    {
        let dropping = Server::start(&log, Fault::DropAfter(3));
        let run = smtp(&store, &dropping, &["--yes"]).fails(1);
        assert!(
            run.stderr
                .contains(&format!("3 message(s) sent, {} not sent", total(&e) - 8)),
            "{}",
            run.stderr
        );
    }
    let good = Server::start(&log, Fault::None);
    smtp(&store, &good, &["--yes"]).ok();
    // Across the three relays, every message arrived exactly once.
    check_round(&good.received(), &e, FROM);
}

/// Starts `notify --smtp URL --yes` in the background as `actor`, its output
/// discarded: for a run to be killed or overlapped while it sends.
fn spawn_sending(store: &Store, actor: &str, url: &str) -> std::process::Child {
    std::process::Command::new(crate::common::binary())
        .arg("--db")
        .arg(&store.db)
        .env("CQRS_ADMIN_ACTOR", actor)
        .args([
            "--today", TODAY, "notify", "--from", FROM, "--smtp", url, "--yes",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_run_killed_mid_message_is_finished_by_the_next_run() {
    if !smtp_server::available("a_run_killed_mid_message_is_finished_by_the_next_run") {
        return;
    }
    let store = Store::with_fixtures();
    let e = expected(&store);
    let log = store.dir.path().join("received.jsonl");
    {
        let mut hanging = Server::start(&log, Fault::HangAfter(4));
        let mut child = spawn_sending(&store, "test-operator", &hanging.url());
        // The fifth message is in flight, unanswered: kill the run now.
        hanging.wait_until_hanging();
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(smtp_server::received(&log).len(), 4);
    let good = Server::start(&log, Fault::None);
    let run = smtp(&store, &good, &["--yes"]).ok();
    assert!(
        run.stderr
            .contains(&format!("{} message(s) sent", total(&e) - 4)),
        "{}",
        run.stderr
    );
    check_round(&good.received(), &e, FROM);
}

#[test]
fn dry_run_and_no_terminal_send_nothing() {
    if !smtp_server::available("dry_run_and_no_terminal_send_nothing") {
        return;
    }
    let store = Store::with_fixtures();
    let e = expected(&store);
    let log = store.dir.path().join("received.jsonl");
    let server = Server::start(&log, Fault::None);
    let before = store.snapshot();
    let run = smtp(&store, &server, &["--dry-run", "--format", "csv"]).ok();
    let counts: BTreeMap<String, String> = run
        .csv()
        .into_iter()
        .map(|r| (r["kind"].clone(), r["sent"].clone()))
        .collect();
    assert_eq!(counts["account"], e.accounts.len().to_string());
    assert_eq!(counts["digest"], e.digests.len().to_string());
    assert_eq!(counts["invalid-addresses"], "1");
    for example in [
        "--- example account message ---",
        "--- example digest message ---",
        "--- example invalid-addresses message ---",
    ] {
        assert!(run.stderr.contains(example), "{}", run.stderr);
    }
    assert!(run.stderr.contains("nothing was sent (--dry-run)"));
    // Not at a terminal and no --yes: refused.
    let refused = smtp(&store, &server, &[]).fails(1);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert!(server.received().is_empty());
    assert_eq!(store.snapshot(), before);
}

#[test]
fn the_outbox_holds_one_rfc_5322_file_per_message_and_a_rerun_writes_none() {
    let store = Store::with_fixtures();
    let e = expected(&store);
    let outbox = store.dir.path().join("outbox");
    let out = outbox.to_str().unwrap();
    notify(
        &store,
        &["--outbox", out, "--admin-to", "admin@example.org", "--yes"],
    )
    .ok();
    let files = eml_files(&outbox);
    assert_eq!(files.len(), total(&e));
    #[cfg(unix)]
    for f in &files {
        assert_eq!(crate::common::mode(f), 0o600, "{}", f.display());
    }
    if smtp_server::available("the_outbox_holds_one_rfc_5322_file_per_message") {
        check_round(&smtp_server::parse_files(&files), &e, "admin@example.org");
    }
    let again = notify(
        &store,
        &["--outbox", out, "--admin-to", "admin@example.org", "--yes"],
    )
    .ok();
    assert!(again.stderr.contains("nothing to send"));
    assert_eq!(eml_files(&outbox).len(), total(&e));
}

#[test]
fn a_changed_situation_sends_new_instructions_and_nothing_else() {
    let store = Store::with_fixtures();
    let outbox = store.dir.path().join("outbox");
    let out = outbox.to_str().unwrap();
    notify(&store, &["--outbox", out, "--yes"]).ok();
    let before = eml_files(&outbox).len();
    // A week later nothing has changed but the days left: nothing goes.
    store
        .run(&[
            "--today",
            "2020-09-17",
            "notify",
            "--from",
            FROM,
            "--outbox",
            out,
            "--yes",
        ])
        .ok();
    assert_eq!(eml_files(&outbox).len(), before);
    // U0000011 gets a replacement account: its situation changed, and so
    // did its contact's digest; nobody else hears anything.
    store.replace("U0000011", "claire.thompson@nhs.net");
    let run = notify(&store, &["--outbox", out, "--yes", "--format", "csv"]).ok();
    let sent: BTreeMap<String, String> = run
        .csv()
        .into_iter()
        .map(|r| (r["kind"].clone(), r["sent"].clone()))
        .collect();
    assert_eq!(sent["account"], "0", "U0000011 no longer needs a message");
    assert_eq!(sent["digest"], "1", "15N's digest changed");
    assert_eq!(eml_files(&outbox).len(), before + 1);
}

#[test]
fn filters_narrow_the_round_as_the_report_does() {
    let store = Store::with_fixtures();
    let outbox = store.dir.path().join("outbox");
    let out = outbox.to_str().unwrap();
    let run = notify(
        &store,
        &[
            "--outbox",
            out,
            "--contact",
            "15N",
            "--section",
            "no-nhsmail",
            "--yes",
            "--format",
            "json",
        ],
    )
    .ok();
    let json = run.json();
    // 15N has one no-nhsmail account (U0000038) and its own digest.
    assert_eq!(json["sent"]["account"], 1, "{json}");
    assert_eq!(json["sent"]["digest"], 1, "{json}");
    let names: Vec<String> = eml_files(&outbox)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("account_U0000038-")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("digest_15N-")),
        "{names:?}"
    );
    let unknown = notify(&store, &["--outbox", out, "--contact", "ZZZ", "--yes"]).fails(1);
    assert!(unknown.stderr.contains("ZZZ"), "{}", unknown.stderr);
}

#[test]
fn edited_templates_are_used_and_an_unknown_value_is_refused_before_sending() {
    let store = Store::with_fixtures();
    let folder = store.dir.path().join("templates");
    let dir = folder.to_str().unwrap();
    let run = store.run(&["notify", "--write-templates", dir]).ok();
    assert!(run.stderr.contains("wrote 5 templates"), "{}", run.stderr);
    // Written again without --force: refused, the files kept.
    store.run(&["notify", "--write-templates", dir]).fails(1);
    let digest = folder.join("digest.txt");
    let text = std::fs::read_to_string(&digest).unwrap();
    std::fs::write(&digest, text.replacen("Subject: ", "Subject: [Edited] ", 1)).unwrap();
    let outbox = store.dir.path().join("outbox");
    let out = outbox.to_str().unwrap();
    let dry = notify(&store, &["--outbox", out, "--templates", dir, "--dry-run"]).ok();
    assert!(
        dry.stderr.contains("Subject: [Edited] CQRS sign-in"),
        "{}",
        dry.stderr
    );
    // A value no message has: refused, naming the file and line, nothing sent.
    let bad = folder.join("account-no-nhsmail.txt");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(
        &bad,
        text.replacen("Dear {{ given_name }}", "Dear {{ first_name }}", 1),
    )
    .unwrap();
    let before = store.snapshot();
    let refused = notify(&store, &["--outbox", out, "--templates", dir, "--yes"]).fails(1);
    assert!(
        refused.stderr.contains("account-no-nhsmail.txt, line 3"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing was sent"),
        "{}",
        refused.stderr
    );
    assert!(!outbox.exists() || eml_files(&outbox).is_empty());
    assert_eq!(store.snapshot(), before);
}

#[test]
fn relay_settings_are_checked_and_credentials_never_taken_from_the_command_line() {
    let store = Store::with_fixtures();
    let with_password = notify(
        &store,
        &["--smtp", "smtp://ops:s3cret@127.0.0.1:2525", "--yes"],
    )
    .fails(1);
    assert!(
        with_password.stderr.contains("CQRS_ADMIN_SMTP_PASSWORD"),
        "{}",
        with_password.stderr
    );
    assert!(!with_password.stderr.contains("s3cret"));
    let bad_scheme = notify(&store, &["--smtp", "http://127.0.0.1", "--yes"]).fails(1);
    assert!(
        bad_scheme.stderr.contains("smtps://"),
        "{}",
        bad_scheme.stderr
    );
    let bad_from = store
        .run(&[
            "notify",
            "--from",
            "not an address",
            "--outbox",
            "o",
            "--yes",
        ])
        .fails(1);
    assert!(bad_from.stderr.contains("--from"), "{}", bad_from.stderr);
    let half = store
        .cmd()
        .env("CQRS_ADMIN_SMTP_USER", "ops")
        .env_remove("CQRS_ADMIN_SMTP_PASSWORD")
        .args([
            "notify",
            "--from",
            FROM,
            "--smtp",
            "smtp://127.0.0.1:2525",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(half.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&half.stderr).contains("only one of"));
}

#[test]
fn accounts_show_names_the_character_that_makes_an_address_invalid() {
    let store = Store::with_fixtures();
    let run = store.run(&["accounts", "show", "U0000028"]).ok();
    assert!(
        run.stdout
            .contains("character 1 is U+0455 CYRILLIC SMALL LETTER DZE"),
        "{}",
        run.stdout
    );
    let run = store
        .run(&["accounts", "show", "U0000030", "--format", "json"])
        .ok();
    assert!(
        run.json()[0]["invalid_because"]
            .as_str()
            .unwrap()
            .starts_with("character 15 is `,`"),
        "{}",
        run.stdout
    );
    let ok = store.run(&["accounts", "show", "U0000001"]).ok();
    assert!(!ok.stdout.contains("invalid because"));
}

#[test]
fn signin_tells_the_help_desk_whose_address_was_found_and_where_the_active_mailbox_is() {
    let store = Store::with_fixtures();
    // gary.walker@nhs.net is the address found for U0000010 (gary.walker@nth.nhs.uk).
    let run = store.run(&["signin", "gary.walker@nhs.net"]).ok();
    assert!(run.stdout.contains("U0000010"), "{}", run.stdout);
    assert!(
        run.stdout.contains("gary.walker@nth.nhs.uk"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hastccg.primarycare@nhs.net"),
        "{}",
        run.stdout
    );
    let json = store
        .run(&["signin", "gary.walker@nhs.net", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["found_for"][0]["account_id"], "U0000010", "{json}");
    // tom.evans@nhs.net is disabled; Tom Evans's active mailbox is tom.evans2@nhs.net.
    let run = store.run(&["signin", "tom.evans@nhs.net"]).ok();
    assert!(run.stdout.contains("tom.evans2@nhs.net"), "{}", run.stdout);
    assert!(run.stdout.contains("disabled"), "{}", run.stdout);
}

#[cfg(unix)]
#[test]
fn the_outbox_follows_the_file_rules() {
    let store = Store::with_fixtures();
    let real = store.dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = store.dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = notify(&store, &["--outbox", link.to_str().unwrap(), "--yes"]).fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    // A new outbox is created owner-only.
    let outbox = store.dir.path().join("new-outbox");
    notify(&store, &["--outbox", outbox.to_str().unwrap(), "--yes"]).ok();
    assert_eq!(crate::common::mode(&outbox), 0o700);
    // The store itself is never written over.
    let file = store.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let run = notify(&store, &["--outbox", file.to_str().unwrap(), "--yes"]).fails(1);
    assert!(run.stderr.contains("it is a file"), "{}", run.stderr);
}

#[test]
fn per_minute_is_a_positive_whole_number() {
    let store = Store::with_fixtures();
    let outbox = store.dir.path().join("outbox");
    let out = outbox.to_str().unwrap();
    let run = notify(&store, &["--outbox", out, "--per-minute", "0", "--yes"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--per-minute"), "{}", run.stderr);
    assert!(!outbox.exists());
    // A limit high enough not to slow the test still sends everything.
    let e = expected(&store);
    notify(
        &store,
        &["--outbox", out, "--per-minute", "600000", "--yes"],
    )
    .ok();
    assert_eq!(eml_files(&outbox).len(), total(&e));
}

#[test]
fn a_second_operator_cannot_send_while_a_run_is_sending() {
    if !smtp_server::available("a_second_operator_cannot_send_while_a_run_is_sending") {
        return;
    }
    let store = Store::with_fixtures();
    let e = expected(&store);
    let log = store.dir.path().join("received.jsonl");
    let mut hanging = Server::start(&log, Fault::HangAfter(2));
    let mut first = spawn_sending(&store, "first-operator", &hanging.url());
    // The first run is part-way, holding a message in flight.
    hanging.wait_until_hanging();
    let good = Server::start(&log, Fault::None);
    let second = smtp(&store, &good, &["--yes"]).fails(1);
    assert!(
        second.stderr.contains("another `cqrs-admin notify`"),
        "{}",
        second.stderr
    );
    assert_eq!(good.received().len(), 2, "the second run sent nothing");
    first.kill().unwrap();
    first.wait().unwrap();
    // Once it is gone, the next run sends exactly the rest.
    smtp(&store, &good, &["--yes"]).ok();
    check_round(&good.received(), &e, FROM);
}
