//! One shape (issue 11, items 4 and 5): the kept report is never shown in
//! part, store errors are explained from one table, and the phase timings.

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
