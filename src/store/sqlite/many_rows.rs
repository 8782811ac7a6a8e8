//! Many rows in few statements: the rows a long plan writes to its
//! temporary tables and to the change log, inserted [`ROWS`] to an `INSERT`
//! statement with their values bound in place (`raw::BulkInsert`).
//!
//! One statement per row cost each row a step of the statement, a reset
//! and a copy of every text (rusqlite binds texts as `SQLITE_TRANSIENT`);
//! a replacement writes three such rows (its key in the look-up table, its
//! row in the new-accounts table, its change-log entry). With a hundred
//! rows to a statement those costs are paid once per hundred. Triggers
//! still fire for every row.

use rusqlite::Connection;

use super::raw::{BulkInsert, Value};

/// Rows per statement: the import found 128 to be as good as more; with up
/// to ten values a row this stays far below SQLite's limit on parameters
/// (32,766).
pub(super) const ROWS: usize = 100;

/// The text of `head` (an `INSERT ... VALUES` without its rows) followed
/// by `rows` rows of `columns` parameters.
fn statement(head: &str, columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2));
    sql.push_str(head);
    sql.push(' ');
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row);
    }
    sql
}

/// Inserts the rows whose values are `values`, `columns` to a row in
/// order, with statements made of `head` (`INSERT ... (cols) VALUES`) and
/// up to [`ROWS`] rows each; the rows changed. On an error the statement
/// that failed is undone by SQLite (and an `OR ROLLBACK` head ends the
/// transaction).
pub(super) fn insert_rows(
    conn: &Connection,
    head: &str,
    columns: usize,
    values: &[Value<'_>],
) -> rusqlite::Result<usize> {
    debug_assert!(columns > 0 && values.len().is_multiple_of(columns));
    let per_statement = ROWS * columns;
    let full = values.len() / per_statement * per_statement;
    let mut changed = 0;
    if full > 0 {
        let mut insert = BulkInsert::prepare(conn, &statement(head, columns, ROWS))?;
        for chunk in values[..full].chunks(per_statement) {
            changed += insert.execute(chunk.iter().copied())?;
        }
    }
    let rest = &values[full..];
    if !rest.is_empty() {
        let mut insert =
            BulkInsert::prepare(conn, &statement(head, columns, rest.len() / columns))?;
        changed += insert.execute(rest.iter().copied())?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_inserted_in_order_whatever_the_count() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER, s TEXT)")
            .unwrap();
        for count in [0usize, 1, ROWS - 1, ROWS, ROWS + 1, 3 * ROWS + 7] {
            conn.execute_batch("DELETE FROM t").unwrap();
            let texts: Vec<String> = (0..count).map(|i| format!("row {i}")).collect();
            let mut values = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                values.push(Value::Integer(i as i64));
                values.push(if i % 3 == 0 {
                    Value::Null
                } else {
                    Value::Text(t)
                });
            }
            let changed = insert_rows(&conn, "INSERT INTO t (n, s) VALUES", 2, &values).unwrap();
            assert_eq!(changed, count);
            let rows: Vec<(i64, Option<String>)> = conn
                .prepare("SELECT n, s FROM t ORDER BY rowid")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let expected: Vec<(i64, Option<String>)> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| (i as i64, (i % 3 != 0).then(|| t.clone())))
                .collect();
            assert_eq!(rows, expected);
        }
    }
}
