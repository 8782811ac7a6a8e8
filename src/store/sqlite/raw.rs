//! The store's two hottest loops, through SQLite's C interface directly:
//! writing an import's rows ([`BulkInsert`]) and reading whole tables for
//! the audit ([`Scan`]).
//!
//! rusqlite binds every text as `SQLITE_TRANSIENT`: SQLite allocates and
//! copies each value before the row is written. A national import binds
//! tens of millions of values, and those copies were a fifth of the writing
//! thread's time. Here values are bound as `SQLITE_STATIC` for the length of
//! one [`BulkInsert::execute`] call: the borrow of the values outlives the
//! call, and the bindings are cleared before it returns, so SQLite never
//! holds a pointer past it. Reading, rusqlite asks each value's type, checks
//! the column number and converts; an audit reads about twenty million
//! values, so [`Scan`] asks SQLite for each value's bytes only, valid for
//! the one row being visited. rusqlite offers neither, so this is the one
//! module that uses SQLite's C interface.

#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::marker::PhantomData;
use std::ptr::NonNull;

use rusqlite::{Connection, ffi};

/// One value to bind.
#[derive(Debug, Clone, Copy)]
pub enum Value<'v> {
    Null,
    Integer(i64),
    Text(&'v str),
}

/// A statement prepared on a connection, finalized when dropped.
struct Prepared<'c> {
    db: *mut ffi::sqlite3,
    stmt: NonNull<ffi::sqlite3_stmt>,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> Prepared<'c> {
    fn new(conn: &'c Connection, sql: &str) -> rusqlite::Result<Prepared<'c>> {
        // SAFETY: the handle stays valid while `conn` is borrowed, which the
        // lifetime 'c ensures for as long as this statement exists.
        let db = unsafe { conn.handle() };
        let mut stmt = std::ptr::null_mut();
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
        // SAFETY: `sql` is valid for `len` bytes; `stmt` is written on success.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db,
                sql.as_ptr().cast::<c_char>(),
                len,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error(db, rc));
        }
        let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
        Ok(Prepared {
            db,
            stmt,
            _conn: PhantomData,
        })
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared and is finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// An `INSERT` (or any statement that returns no rows) with parameters.
pub struct BulkInsert<'c> {
    prepared: Prepared<'c>,
    params: usize,
}

impl<'c> BulkInsert<'c> {
    pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<BulkInsert<'c>> {
        let prepared = Prepared::new(conn, sql)?;
        // SAFETY: `stmt` is a prepared statement.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(prepared.stmt.as_ptr()) };
        Ok(BulkInsert {
            prepared,
            params: usize::try_from(params).unwrap_or(0),
        })
    }

    /// Binds `values` to the parameters in order (there must be exactly as
    /// many), runs the statement to its end and returns the rows it changed.
    /// On an error nothing of this execution is kept (SQLite undoes the
    /// statement) and the error is SQLite's, with its extended code.
    pub fn execute<'v>(
        &mut self,
        values: impl IntoIterator<Item = Value<'v>>,
    ) -> rusqlite::Result<usize> {
        let (db, stmt) = (self.prepared.db, self.prepared.stmt.as_ptr());
        let mut bound = 0usize;
        let mut rc = ffi::SQLITE_OK;
        for value in values {
            bound += 1;
            if bound > self.params {
                break;
            }
            let index = bound as c_int;
            // SAFETY: `stmt` is a prepared statement and `index` is one of
            // its parameters. A text is bound as SQLITE_STATIC: it is
            // borrowed for 'v, longer than this call, and the bindings are
            // cleared below before the call returns.
            rc = unsafe {
                match value {
                    Value::Null => ffi::sqlite3_bind_null(stmt, index),
                    Value::Integer(i) => ffi::sqlite3_bind_int64(stmt, index, i),
                    Value::Text(text) => ffi::sqlite3_bind_text64(
                        stmt,
                        index,
                        text.as_ptr().cast::<c_char>(),
                        text.len() as u64,
                        ffi::SQLITE_STATIC(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                }
            };
            if rc != ffi::SQLITE_OK {
                break;
            }
        }
        let result = if rc != ffi::SQLITE_OK {
            Err(error(db, rc))
        } else if bound != self.params {
            Err(rusqlite::Error::InvalidParameterCount(bound, self.params))
        } else {
            step_to_end(db, stmt)
        };
        // SAFETY: `stmt` is a prepared statement. After these two calls it
        // holds no pointer to the values.
        unsafe {
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
        }
        result
    }
}

/// Runs a statement that returns no rows; the rows it changed.
fn step_to_end(db: *mut ffi::sqlite3, stmt: *mut ffi::sqlite3_stmt) -> rusqlite::Result<usize> {
    loop {
        // SAFETY: `stmt` is a prepared statement with every parameter bound.
        let rc = unsafe { ffi::sqlite3_step(stmt) };
        match rc {
            ffi::SQLITE_ROW => continue,
            ffi::SQLITE_DONE => {
                // SAFETY: `db` is the statement's open connection.
                let changes = unsafe { ffi::sqlite3_changes64(db) };
                return Ok(usize::try_from(changes).unwrap_or(0));
            }
            // The caller resets the statement.
            _ => return Err(error(db, rc)),
        }
    }
}

/// A query without parameters, read row by row.
pub struct Scan<'c> {
    prepared: Prepared<'c>,
}

/// The row a [`Scan`] is on. Its values are valid while it is visited.
pub struct RawRow<'s> {
    stmt: *mut ffi::sqlite3_stmt,
    _scan: PhantomData<&'s ()>,
}

impl RawRow<'_> {
    /// Column `i`'s value as bytes (text as it is stored; NULL as none).
    ///
    /// The value is taken once (`sqlite3_column_value`) and its bytes and
    /// length read from it, rather than by `sqlite3_column_blob` and
    /// `sqlite3_column_bytes`, each of which finds the column again and
    /// passes the connection's error state: about 100 instructions a column
    /// against about 60, over the audit's 17 million columns (callgrind).
    /// SQLite calls such a value unprotected: reading it is safe only where
    /// no other thread uses the connection, which holds for every scan (a
    /// connection of our own, stepped by one thread).
    pub fn bytes(&self, i: c_int) -> &[u8] {
        // SAFETY: the statement is on a row (a RawRow exists only while
        // `Scan::for_each` visits one), and only this thread uses its
        // connection. The pointer is asked for before the length, as SQLite
        // requires, and stays valid until the statement moves on, after this
        // borrow of the row ends.
        unsafe {
            let value = ffi::sqlite3_column_value(self.stmt, i);
            let data = ffi::sqlite3_value_blob(value);
            let len = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
            if data.is_null() || len == 0 {
                &[]
            } else {
                std::slice::from_raw_parts(data.cast::<u8>(), len)
            }
        }
    }

    /// Column `i`'s value as an integer.
    pub fn int(&self, i: c_int) -> i64 {
        // SAFETY: as above; the integer is copied out.
        unsafe { ffi::sqlite3_column_int64(self.stmt, i) }
    }
}

impl<'c> Scan<'c> {
    pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<Scan<'c>> {
        Ok(Scan {
            prepared: Prepared::new(conn, sql)?,
        })
    }

    /// Visits every row, in the query's order; stops at the first error
    /// (SQLite's or the visitor's).
    pub fn for_each<E: From<rusqlite::Error>>(
        &mut self,
        mut visit: impl FnMut(&RawRow<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let (db, stmt) = (self.prepared.db, self.prepared.stmt.as_ptr());
        let result = loop {
            // SAFETY: `stmt` is a prepared statement without parameters.
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            match rc {
                ffi::SQLITE_ROW => {
                    let row = RawRow {
                        stmt,
                        _scan: PhantomData,
                    };
                    if let Err(e) = visit(&row) {
                        break Err(e);
                    }
                }
                ffi::SQLITE_DONE => break Ok(()),
                _ => break Err(error(db, rc).into()),
            }
        };
        // SAFETY: `stmt` is a prepared statement.
        unsafe {
            ffi::sqlite3_reset(stmt);
        }
        result
    }
}

/// The connection's last error, as rusqlite reports one.
fn error(db: *mut ffi::sqlite3, code: c_int) -> rusqlite::Error {
    // SAFETY: `db` is an open connection; sqlite3_errmsg returns a
    // NUL-terminated string owned by SQLite, copied here at once.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_and_refusals_carry_sqlite_codes() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT PRIMARY KEY, b INTEGER, c TEXT) STRICT")
            .unwrap();
        let mut insert =
            BulkInsert::prepare(&conn, "INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)").unwrap();
        // Values from a buffer that is changed between executions: each
        // execution writes what was bound then, never a later value.
        let mut buffer = String::from("one");
        let n = insert
            .execute([
                Value::Text(&buffer),
                Value::Integer(1),
                Value::Null,
                Value::Text("two"),
                Value::Integer(2),
                Value::Text("x"),
            ])
            .unwrap();
        assert_eq!(n, 2);
        buffer.clear();
        buffer.push_str("three");
        let repeated = insert
            .execute([
                Value::Text(&buffer),
                Value::Integer(3),
                Value::Null,
                Value::Text("one"),
                Value::Integer(4),
                Value::Null,
            ])
            .unwrap_err();
        assert_eq!(
            repeated.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation),
            "{repeated}"
        );
        assert!(repeated.to_string().contains("UNIQUE"), "{repeated}");
        let rows: Vec<(String, i64, Option<String>)> = conn
            .prepare("SELECT a, b, c FROM t ORDER BY b")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("one".to_string(), 1, None),
                ("two".to_string(), 2, Some("x".to_string()))
            ],
            "the refused statement wrote nothing"
        );
        let short = insert.execute([Value::Text("four")]).unwrap_err();
        assert!(
            matches!(short, rusqlite::Error::InvalidParameterCount(1, 6)),
            "{short}"
        );
    }

    #[test]
    fn a_scan_visits_every_row_and_stops_at_the_visitors_error() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a TEXT, b INTEGER);
             INSERT INTO t VALUES ('één', 1), (NULL, 2), ('', 3);",
        )
        .unwrap();
        let mut scan = Scan::prepare(&conn, "SELECT a, b FROM t ORDER BY b").unwrap();
        let mut seen: Vec<(Vec<u8>, i64)> = Vec::new();
        scan.for_each(|r| -> rusqlite::Result<()> {
            seen.push((r.bytes(0).to_vec(), r.int(1)));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("één".as_bytes().to_vec(), 1),
                (Vec::new(), 2),
                (Vec::new(), 3)
            ]
        );
        // The same scan runs again from the start; an error ends it.
        let mut visits = 0;
        let stopped = scan.for_each(|_| {
            visits += 1;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(stopped.is_err());
        assert_eq!(visits, 1);
        let mut again = 0;
        scan.for_each(|_| -> rusqlite::Result<()> {
            again += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(again, 3);
    }
}
