//! The plumbing under the commands: the kept report is never shown in part,
//! every value keeps its column name from file to store to export, and the
//! phase timings appear only when asked for.

use crate::common::Store;

/// The damage done to the kept report between two reports.
const DAMAGE: &[(&str, &str)] = &[
    (
        "a part replaced by bytes that are not an encoded report",
        "UPDATE report_cache SET rows = X'FFFF00' WHERE part = (SELECT min(part) FROM report_cache)",
    ),
    (
        "a part cut in the middle of a row",
        "UPDATE report_cache SET rows = substr(rows, 1, length(rows) - 3) \
         WHERE part = (SELECT max(part) FROM report_cache)",
    ),
    (
        // Decodes cleanly: only the kept count shows that rows are missing.
        "a part deleted",
        "DELETE FROM report_cache WHERE part = (SELECT min(part) FROM report_cache)",
    ),
    ("every part deleted", "DELETE FROM report_cache"),
];

/// A kept report damaged behind cqrs-admin's back is computed afresh: the
/// report shows every row and `report --check` counts every account that
/// needs action, never exit 0 (or a smaller count) with rows missing.
#[test]
fn a_damaged_kept_report_is_computed_afresh_not_shown_in_part() {
    let fresh = Store::with_fixtures();
    let expected = fresh
        .run(&["report", "--format", "csv", "--today", "2020-09-09"])
        .ok()
        .stdout;
    let expected_check = fresh.run(&["report", "--check"]).fails(3).stderr;
    assert!(
        expected_check.contains("account(s) need action"),
        "{expected_check}"
    );
    assert!(expected.lines().count() > 2, "the fixtures need action");

    for (what, damage) in DAMAGE {
        let store = Store::with_fixtures();
        // Keep the report, then damage what was kept.
        store
            .run(&["report", "--format", "csv", "--today", "2020-09-09"])
            .ok();
        {
            let conn = rusqlite::Connection::open(&store.db).unwrap();
            let parts: i64 = conn
                .query_row("SELECT count(*) FROM report_cache", [], |r| r.get(0))
                .unwrap();
            assert!(parts > 1, "{what}: the fixtures' report has several parts");
            conn.execute_batch(damage).unwrap();
        }
        let check = store.run(&["report", "--check"]).fails(3);
        assert_eq!(check.stderr, expected_check, "{what}");
        let report = store
            .run(&["report", "--format", "csv", "--today", "2020-09-09"])
            .ok()
            .stdout;
        assert_eq!(report, expected, "{what}");
    }
}

/// A file's rows as (header -> value), columns in the file's order.
fn rows_by_name(csv_text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The same file with its columns in the opposite order.
fn reversed_columns(csv_text: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut writer = csv::Writer::from_writer(Vec::new());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .rev()
        .map(String::from)
        .collect();
    writer.write_record(&headers).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        writer.write_record(record.iter().rev()).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Every value travels under its column's name, whatever the file's column
/// order: files with their columns reversed import, and `export` gives each
/// account's and role's values back under the same names (values the import
/// keeps as given; the fixtures' awkward emails are trimmed, so compared
/// trimmed).
#[test]
fn values_keep_their_column_names_from_file_to_store_to_export() {
    let store = Store::new();
    let mut given = Vec::new();
    for kind in ["organisations", "accounts", "permissions"] {
        let text = std::fs::read_to_string(crate::common::fixture(&format!("{kind}.csv"))).unwrap();
        let path = crate::common::write(
            &store,
            &format!("{kind}-reversed.csv"),
            reversed_columns(&text),
        );
        store.run(&["import", kind, &path]).ok();
        given.push(rows_by_name(&text));
    }
    for (kind, given) in [("accounts", &given[1]), ("permissions", &given[2])] {
        let exported = store
            .run(&["export", "--out", "-", "--only", kind, "--all"])
            .ok()
            .stdout;
        let exported = rows_by_name(&exported);
        assert_eq!(exported.len(), given.len(), "{kind}");
        for row in given {
            let key = |r: &std::collections::BTreeMap<String, String>| {
                let normal = |v: &String| v.trim().to_ascii_lowercase();
                (
                    normal(&r["account_id"]),
                    r.get("ods_code").map(normal),
                    r.get("role").map(normal),
                )
            };
            let back = exported
                .iter()
                .find(|e| key(e) == key(row))
                .unwrap_or_else(|| panic!("{kind}: {row:?} not exported"));
            assert_eq!(
                back.keys().collect::<Vec<_>>(),
                row.keys().collect::<Vec<_>>(),
                "{kind}"
            );
            for (name, value) in row {
                let value = value.trim();
                let back = back[name].trim();
                match name.as_str() {
                    // Kept in a normal form: compared ignoring case.
                    "email" | "status" | "role" | "ods_code" => {
                        assert!(
                            back.eq_ignore_ascii_case(value),
                            "{kind} {name}: {back:?} for {value:?}"
                        )
                    }
                    _ => assert_eq!(back, value, "{kind} {name}"),
                }
            }
        }
    }
}

/// `CQRS_ADMIN_TRACE` turns on the phase timings, on standard error only:
/// each phase as it ends, with the time since the start and the memory held.
/// Unset, nothing is printed, and the output is the same either way.
#[test]
fn phase_timings_only_with_cqrs_admin_trace() {
    let organisations = crate::common::fixture("organisations.csv");
    let organisations = organisations.to_str().unwrap();
    let run = |store: &Store, trace: bool, args: &[&str]| {
        let mut cmd = store.cmd();
        if trace {
            cmd.env("CQRS_ADMIN_TRACE", "1");
        } else {
            cmd.env_remove("CQRS_ADMIN_TRACE");
        }
        let out = cmd.args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let quiet = Store::new();
    let (quiet_out, quiet_err) = run(&quiet, false, &["import", "organisations", organisations]);
    assert!(!quiet_err.contains("trace:"), "{quiet_err}");
    let traced = Store::new();
    let (traced_out, traced_err) = run(&traced, true, &["import", "organisations", organisations]);
    assert_eq!(traced_out, quiet_out);
    // The command's own messages are the same, the timings added.
    let (timings, messages): (Vec<&str>, Vec<&str>) = traced_err
        .lines()
        .partition(|line| line.starts_with("trace:"));
    assert_eq!(messages, quiet_err.lines().collect::<Vec<_>>());
    let phases: Vec<&str> = timings
        .iter()
        .map(|&line| {
            // `trace:    0.012s   11 MB (peak   11) rows written`
            let rest = line
                .strip_prefix("trace:")
                .unwrap_or_else(|| panic!("{line:?}"));
            let (seconds, phase) = rest.trim_start().split_once("s ").unwrap();
            assert!(seconds.parse::<f64>().is_ok(), "{line:?}");
            phase.rsplit_once(") ").map_or(phase, |(_, p)| p)
        })
        .collect();
    assert_eq!(phases.first(), Some(&"start"), "{traced_err}");
    assert!(phases.contains(&"rows written"), "{traced_err}");
    assert_eq!(phases.last(), Some(&"committed"), "{traced_err}");
    // The audit's phases come from its reader threads too.
    let (_, audit_err) = run(&traced, true, &["audit", "--format", "csv"]);
    assert!(audit_err.contains(" accounts classified\n"), "{audit_err}");
    let (_, audit_quiet) = run(&quiet, false, &["audit", "--format", "csv"]);
    assert!(!audit_quiet.contains("trace:"), "{audit_quiet}");
}
