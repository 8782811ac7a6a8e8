//! `progress`: the snapshots whole-store audits record, compared with the
//! report of the same day, and the burn-down chart.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::Store;

/// What the report says on a day: the accounts needing action by section,
/// the distinct accounts, and the rows (accounts) under each contact. Also
/// what the PostgreSQL progress tests compare with (pg_notify_progress.rs).
pub(crate) struct ReportCounts {
    pub(crate) accounts: BTreeSet<String>,
    pub(crate) by_section: BTreeMap<String, BTreeSet<String>>,
    pub(crate) by_contact: BTreeMap<String, BTreeSet<String>>,
}

impl ReportCounts {
    /// The counts of `report --format csv`'s rows, kept to the `only`
    /// accounts if given.
    pub(crate) fn of(
        rows: Vec<BTreeMap<String, String>>,
        only: Option<&BTreeSet<String>>,
    ) -> ReportCounts {
        let mut counts = ReportCounts {
            accounts: BTreeSet::new(),
            by_section: BTreeMap::new(),
            by_contact: BTreeMap::new(),
        };
        for row in rows {
            let id = row["account_id"].clone();
            if only.is_some_and(|o| !o.contains(&id)) {
                continue;
            }
            counts.accounts.insert(id.clone());
            counts
                .by_section
                .entry(row["section"].clone())
                .or_default()
                .insert(id.clone());
            counts
                .by_contact
                .entry(row["contact_code"].clone())
                .or_default()
                .insert(id);
        }
        counts
    }
}

fn report_counts(store: &Store, day: &str) -> ReportCounts {
    let rows = store
        .run(&["--today", day, "--format", "csv", "report"])
        .ok()
        .csv();
    ReportCounts::of(rows, None)
}

/// The `audit --counts` numbers of a day: accounts audited and `ok`.
fn audit_counts(store: &Store, day: &str) -> (u64, u64) {
    let rows = store
        .run(&["--today", day, "--format", "csv", "audit", "--counts"])
        .ok()
        .csv();
    let total = rows
        .iter()
        .map(|r| r["accounts"].parse::<u64>().unwrap())
        .sum();
    let ok = rows
        .iter()
        .find(|r| r["category"] == "ok")
        .map(|r| r["accounts"].parse().unwrap())
        .unwrap();
    (total, ok)
}

fn progress(store: &Store, extra: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["--format", "csv", "progress"];
    args.extend_from_slice(extra);
    store.run(&args).ok().csv()
}

/// Two days with replacements in between: each day's snapshot equals that
/// day's report, and the second says how many were fixed and how many are new.
#[test]
fn snapshots_equal_each_days_report() {
    let store = Store::with_fixtures();
    let day1 = "2026-11-02";
    let day2 = "2026-11-09";
    let (audited1, ok1) = audit_counts(&store, day1);
    let report1 = report_counts(&store, day1);

    // Between the two days: a plan's replacements.
    let plan = store.dir.path().join("plan.csv");
    store.run(&["plan", "--out", plan.to_str().unwrap()]).ok();
    store
        .run(&["replace", "--plan", plan.to_str().unwrap(), "--yes"])
        .ok();
    let (audited2, ok2) = audit_counts(&store, day2);
    let report2 = report_counts(&store, day2);
    assert_ne!(
        report1.accounts, report2.accounts,
        "the replacements changed nothing"
    );

    let rows = progress(&store, &[]);
    assert_eq!(
        rows.iter().map(|r| r["date"].as_str()).collect::<Vec<_>>(),
        [day1, day2]
    );
    for (row, report, audited, ok) in [
        (&rows[0], &report1, audited1, ok1),
        (&rows[1], &report2, audited2, ok2),
    ] {
        assert_eq!(row["accounts"], audited.to_string());
        assert_eq!(row["ok"], ok.to_string());
        assert_eq!(row["needing_action"], report.accounts.len().to_string());
        for section in ["contact-commissioner", "no-nhsmail", "administrator"] {
            let n = report.by_section.get(section).map_or(0, BTreeSet::len);
            assert_eq!(row[section], n.to_string(), "{section} on {}", row["date"]);
        }
    }
    // The first snapshot has nothing to compare with.
    assert_eq!(
        (rows[0]["fixed"].as_str(), rows[0]["new"].as_str()),
        ("", "")
    );
    let fixed = report1.accounts.difference(&report2.accounts).count();
    let new = report2.accounts.difference(&report1.accounts).count();
    assert!(fixed > 0);
    assert_eq!(rows[1]["fixed"], fixed.to_string());
    assert_eq!(rows[1]["new"], new.to_string());

    // JSON carries the same numbers, with no comparison as null.
    let json = store.run(&["--format", "json", "progress"]).ok().json();
    assert_eq!(json[0]["fixed"], serde_json::Value::Null);
    assert_eq!(json[1]["fixed"].as_u64(), Some(fixed as u64));
    assert_eq!(
        json[1]["needing_action"].as_u64(),
        Some(report2.accounts.len() as u64)
    );
}

/// A second whole-store audit on the same day replaces that day's snapshot;
/// a filtered audit records none.
#[test]
fn same_day_audit_replaces_and_filtered_audit_adds_nothing() {
    let store = Store::with_fixtures();
    store.run(&["--today", "2026-11-02", "audit"]).ok();
    let before = progress(&store, &[]);
    assert_eq!(before.len(), 1);

    // A replacement, then the same day again: one row, with the new counts.
    let plan = store.dir.path().join("plan.csv");
    store.run(&["plan", "--out", plan.to_str().unwrap()]).ok();
    store
        .run(&["replace", "--plan", plan.to_str().unwrap(), "--yes"])
        .ok();
    store
        .run(&["--today", "2026-11-02", "audit", "--counts"])
        .ok();
    let after = progress(&store, &[]);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["date"], "2026-11-02");
    let report = report_counts(&store, "2026-11-02");
    assert_eq!(
        after[0]["needing_action"],
        report.accounts.len().to_string()
    );
    assert_ne!(after[0]["needing_action"], before[0]["needing_action"]);

    // Filtered audits, on another day: no snapshot.
    for filter in [
        &["--category", "ok"][..],
        &["--section", "no-nhsmail"],
        &["--org", "A81001"],
        &["--contact", "00K"],
    ] {
        let mut args = vec!["--today", "2026-11-03", "audit"];
        args.extend_from_slice(filter);
        store.run(&args).ok();
    }
    let rows = progress(&store, &[]);
    assert_eq!(rows, after, "a filtered audit recorded a snapshot");
    // --by contact is unchanged too.
    assert!(
        progress(&store, &["--by", "contact"])
            .iter()
            .all(|r| r["date"] == "2026-11-02")
    );
}

/// An audit given an earlier day slots in, and the later snapshot's fixed
/// and new are compared with it afresh.
#[test]
fn an_earlier_day_is_put_in_order_and_compared() {
    let store = Store::with_fixtures();
    store.run(&["--today", "2026-11-09", "audit"]).ok();
    store.run(&["--today", "2026-11-02", "audit"]).ok();
    let rows = progress(&store, &[]);
    assert_eq!(
        rows.iter().map(|r| r["date"].as_str()).collect::<Vec<_>>(),
        ["2026-11-02", "2026-11-09"]
    );
    // Nothing changed between them.
    assert_eq!(
        (rows[1]["fixed"].as_str(), rows[1]["new"].as_str()),
        ("0", "0")
    );
    assert_eq!(rows[0]["fixed"], "");
}

/// `--by contact` equals the report's rows under each contact, day by day,
/// with fixed and new by contact; `--contact` narrows to one.
#[test]
fn by_contact_equals_the_reports_per_contact_counts() {
    let store = Store::with_fixtures();
    let day1 = "2026-11-02";
    let day2 = "2026-11-09";
    store.run(&["--today", day1, "audit"]).ok();
    let report1 = report_counts(&store, day1);
    store.replace("U0000011", "claire.thompson@nhs.net");
    store.run(&["--today", day2, "audit"]).ok();
    let report2 = report_counts(&store, day2);

    let rows = progress(&store, &["--by", "contact"]);
    assert_eq!(
        rows.first().map(|r| r.keys().cloned().collect::<Vec<_>>()),
        Some(
            [
                "contact_code",
                "contact_name",
                "date",
                "fixed",
                "needing_action",
                "new"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    for (day, report, prev) in [(day1, &report1, None), (day2, &report2, Some(&report1))] {
        let shown: BTreeMap<&str, &BTreeMap<String, String>> = rows
            .iter()
            .filter(|r| r["date"] == day)
            .map(|r| (r["contact_code"].as_str(), r))
            .collect();
        for (code, accounts) in &report.by_contact {
            let row = shown
                .get(code.as_str())
                .unwrap_or_else(|| panic!("{code} on {day}"));
            assert_eq!(
                row["needing_action"],
                accounts.len().to_string(),
                "{code} on {day}"
            );
            if let Some(prev) = prev {
                let before = prev.by_contact.get(code).cloned().unwrap_or_default();
                assert_eq!(
                    row["fixed"],
                    before.difference(accounts).count().to_string(),
                    "{code}"
                );
                assert_eq!(row["new"], accounts.difference(&before).count().to_string());
            }
        }
        // A contact shown with none needing action is one whose accounts were fixed.
        for (code, row) in &shown {
            if !report.by_contact.contains_key(*code) {
                assert_eq!(row["needing_action"], "0");
                assert_ne!(row["fixed"], "0");
            }
        }
    }
    // The replaced account's contacts each had one (at least) fixed.
    let contacts: Vec<&String> = report1
        .by_contact
        .iter()
        .filter(|(_, ids)| ids.contains("U0000011"))
        .map(|(code, _)| code)
        .collect();
    assert!(!contacts.is_empty());
    for code in contacts {
        let row = rows
            .iter()
            .find(|r| r["date"] == day2 && &r["contact_code"] == code)
            .unwrap();
        assert_ne!(row["fixed"], "0", "{code}");
    }

    // --contact: that contact's rows only, any case.
    let one = progress(&store, &["--contact", "00k"]);
    assert_eq!(one.len(), 2);
    assert!(one.iter().all(|r| r["contact_code"] == "00K"));
    assert_eq!(
        one[1]["needing_action"],
        report2.by_contact["00K"].len().to_string()
    );
}

/// An unknown ODS code is refused, as the other filters refuse one.
#[test]
fn an_unknown_contact_is_refused() {
    let store = Store::with_fixtures();
    store.run(&["audit"]).ok();
    let run = store.run(&["progress", "--contact", "ZZZ99"]).fails(1);
    assert!(
        run.stderr
            .contains("--contact `ZZZ99` is not an ODS code in the store"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// Piped, the table is rows only: the days left and the sparkline are for
/// a terminal.
#[test]
fn piped_tables_stay_plain() {
    let store = Store::with_fixtures();
    store.run(&["--today", "2026-11-02", "audit"]).ok();
    let run = store
        .run(&[
            "--today",
            "2026-11-03",
            "--cutover",
            "2026-12-23",
            "progress",
        ])
        .ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    assert!(!run.stdout.contains('▁') && !run.stdout.contains("days left"));
}

fn two_days(store: &Store) {
    store.run(&["--today", "2026-11-02", "audit"]).ok();
    store.replace("U0000011", "claire.thompson@nhs.net");
    store.run(&["--today", "2026-11-09", "audit"]).ok();
}

/// The SVG chart parses as XML, is 1200 × 700, and has its text.
#[test]
fn the_svg_chart_parses() {
    let store = Store::with_fixtures();
    two_days(&store);
    let path = store.dir.path().join("burndown.svg");
    let run = store
        .run(&[
            "--cutover",
            "2026-12-23",
            "progress",
            "--chart",
            path.to_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stderr
            .contains("wrote the burn-down chart of 2 snapshots"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
    let svg = doc.root_element();
    assert_eq!(svg.tag_name().name(), "svg");
    assert_eq!(svg.attribute("width"), Some("1200"));
    assert_eq!(svg.attribute("height"), Some("700"));
    let texts: Vec<String> = svg
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    for wanted in [
        "Accounts needing action before cutover",
        "cutover 23 Dec 2026",
        "contact-commissioner",
        "no-nhsmail",
        "administrator",
        "straight line to zero at cutover",
    ] {
        assert!(
            texts.iter().any(|t| t == wanted),
            "{wanted} not in {texts:?}"
        );
    }
    // Owner-only, as every file the tool writes.
    assert_eq!(crate::common::mode(&path), 0o600);
}

/// The PNG chart is a real 1200 × 700 image, with more than a blank page's
/// colours (the text is drawn with the bundled font).
#[test]
fn the_png_chart_is_a_real_image() {
    let store = Store::with_fixtures();
    two_days(&store);
    let path = store.dir.path().join("burndown.PNG");
    store
        .run(&[
            "--cutover",
            "2026-12-23",
            "progress",
            "--chart",
            path.to_str().unwrap(),
        ])
        .ok();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    assert_eq!((reader.info().width, reader.info().height), (1200, 700));
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("the image decodes");
    let pixels = &pixels[..frame.buffer_size()];
    // Red (the cutover line and its label) is drawn.
    assert!(
        pixels
            .chunks(3)
            .any(|p| p[0] > 200 && p[1] < 60 && p[2] < 60),
        "no cutover marked"
    );
    // The title's glyphs: dark pixels in the top band, where only text is.
    let width = 1200 * 3;
    let top = &pixels[..width * 50];
    assert!(
        top.chunks(3).filter(|p| p[0] < 100).count() > 200,
        "no title drawn"
    );
}

/// The chart's file follows the rules for files the tool writes: the
/// extension chooses the kind, an existing file needs --force, a link is
/// refused; with no snapshot there is nothing to chart.
#[test]
fn the_chart_file_is_checked() {
    let store = Store::with_fixtures();
    let svg = store.dir.path().join("c.svg");
    let run = store
        .run(&["progress", "--chart", svg.to_str().unwrap()])
        .fails(1);
    assert!(
        run.stderr
            .contains("no whole-store audit has recorded a snapshot"),
        "{}",
        run.stderr
    );
    assert!(!svg.exists());
    two_days(&store);
    let run = store
        .run(&[
            "progress",
            "--chart",
            store.dir.path().join("c.pdf").to_str().unwrap(),
        ])
        .fails(1);
    assert!(
        run.stderr.contains("name the file .svg or .png"),
        "{}",
        run.stderr
    );
    store
        .run(&["progress", "--chart", svg.to_str().unwrap()])
        .ok();
    let run = store
        .run(&["progress", "--chart", svg.to_str().unwrap()])
        .fails(1);
    assert!(run.stderr.contains("add --force"), "{}", run.stderr);
    store
        .run(&["progress", "--chart", svg.to_str().unwrap(), "--force"])
        .ok();
    #[cfg(unix)]
    {
        let link = store.dir.path().join("link.svg");
        std::os::unix::fs::symlink(&svg, &link).unwrap();
        let run = store
            .run(&["progress", "--chart", link.to_str().unwrap(), "--force"])
            .fails(1);
        assert!(
            run.stderr.contains("never writes through a link"),
            "{}",
            run.stderr
        );
    }
}

/// At a terminal (util-linux `script` gives one), the table ends with the
/// days left, the pace needed to reach zero by cutover and a sparkline.
#[test]
fn at_a_terminal_the_table_ends_with_what_is_left() {
    let store = Store::with_fixtures();
    two_days(&store);
    let needing: u64 = progress(&store, &[])[1]["needing_action"].parse().unwrap();
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line = format!(
        "stty cols 160 rows 40; exec {} --db {} --today 2026-12-13 --cutover 2026-12-23 progress",
        quote(crate::common::binary()),
        quote(store.db.to_str().unwrap())
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("CQRS_ADMIN_DB")
        .env_remove("CQRS_ADMIN_TODAY")
        .output()
        .expect("util-linux `script` runs a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("10 days left"), "{text}");
    let pace = needing.div_ceil(10);
    assert!(
        text.contains(&format!(
            "{needing} accounts still need action: about {pace} a day to reach zero by cutover"
        )),
        "{text}"
    );
    // Two snapshots, the second lower: a full bar, then a shorter one.
    assert!(
        text.contains("Needing action, 2026-11-02 to 2026-11-09: █"),
        "{text}"
    );
    let spark = text
        .lines()
        .find(|l| l.starts_with("Needing action,"))
        .unwrap();
    let bars: Vec<char> = spark.rsplit(": ").next().unwrap().chars().collect();
    assert_eq!(bars.len(), 2);
    assert!(bars[1] < bars[0], "{spark}");
}
