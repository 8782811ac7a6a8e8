//! Every command's JSON, pinned byte for byte: the records are serialised by
//! serde, and this keeps their keys, order, types and layout as they were
//! when the JSON was built by hand.

use crate::common::{Store, write};
use crate::safety_checks::replacement_store;

/// Stands in for what differs between runs: the temporary folder, today's
/// date and times, and the change log's hashes.
fn normalise(store: &Store, text: &str) -> String {
    let dir = store.dir.path().to_str().unwrap();
    let today = chrono::Local::now().date_naive().to_string();
    let utc = chrono::Utc::now().date_naive().to_string();
    let mut text = text.replace(dir, "<dir>");
    for day in [today, utc] {
        // A timestamp is the day followed by a time: replace to the closing quote.
        while let Some(at) = text.find(&day) {
            let end = text[at..].find(['"', ',']).map_or(text.len(), |n| at + n);
            text.replace_range(at..end, "<now>");
        }
    }
    // 64 hexadecimal digits are a hash.
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() == 64 {
            out.push_str("<hash>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_command_json_is_as_pinned() {
    let store = replacement_store();
    let activity = write(
        &store,
        "activity.csv",
        "activity_id,ods_code,account_id,kind,occurred_at,detail\n\
         ACT1,A81001,U1,offer-accepted,2019-04-10,QOF\n",
    );
    store.run(&["import", "activity", &activity]).ok();
    let plan = write(
        &store,
        "plan.csv",
        "account_id,new_email,reason\nU2,gina.new@nhs.net,married\n",
    );
    let runs: &[&[&str]] = &[
        &["audit"],
        &["audit", "--counts"],
        &["audit", "--include-disabled"],
        &["report", "--today", "2026-11-30"],
        &["accounts", "show", "U1"],
        &["accounts", "show", "U2"],
        &["signin", "jo.bloggs@nhs.net"],
        &["signin", "gina.old@gp.nhs.uk"],
        &["signin", "nobody@nhs.net"],
        &["cutover", "show", "--today", "2026-11-30"],
        &["plan", "--out", "planned.csv"],
        &["replace", "U1", "--email", "jo.bloggs@nhs.net", "--dry-run"],
        &["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"],
        &["replace", "U1", "--email", "jo.bloggs@nhs.net", "--yes"],
        &["replace", "--plan", &plan, "--dry-run"],
        &["replace", "--plan", &plan, "--yes"],
        &["replace", "--plan", &plan, "--yes"],
        &["signin", "jo.bloggs@nhs.net"],
        &["accounts", "show", "U1"],
        &["accounts", "show", "R1-U1"],
        &["history", "U1"],
        &["history", "R1-U1"],
        &["verify"],
        &["log"],
        &["revert", "R1-U1", "--reason", "mistake", "--dry-run"],
        &["revert", "R1-U1", "--reason", "mistake", "--yes"],
        &["export", "--out", "exported", "--all"],
        &["export", "--out", "exported-active"],
        &[
            "accounts",
            "note",
            "U2",
            "phoned: awaiting their NHSmail address",
        ],
        &["accounts", "follow-up", "U2", "awaiting-user"],
        &["accounts", "follow-up", "U2", "contacted"],
        &["accounts", "show", "U2"],
        &["report", "--today", "2026-11-30"],
        &["progress"],
        &["progress", "--by", "contact"],
        &["progress", "--contact", "00K"],
    ];
    let mut pinned = String::new();
    for args in runs {
        let run = store.run(&[args, &["--format", "json"][..]].concat());
        pinned.push_str(&format!(
            "=== {} (exit {})\n{}\n",
            args.join(" ")
                .replace(store.dir.path().to_str().unwrap(), "<dir>"),
            run.code,
            normalise(&store, &run.stdout)
        ));
        if run.code == 0 || run.code == 3 {
            // Whatever it holds, JSON output is JSON.
            run.json();
        }
    }
    insta::assert_snapshot!(pinned);
}
