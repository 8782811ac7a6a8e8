//! A prepared `INSERT` whose text values are handed to SQLite without being
//! copied.
//!
//! rusqlite binds every text as `SQLITE_TRANSIENT`: SQLite allocates and
//! copies each value before the row is written. A national import binds
//! tens of millions of values, and those copies were a fifth of the writing
//! thread's time. Here values are bound as `SQLITE_STATIC` for the length of
//! one [`BulkInsert::execute`] call: the borrow of the values outlives the
//! call, and the bindings are cleared before it returns, so SQLite never
//! holds a pointer past it. rusqlite offers no way to bind without copying,
//! so this is the one place that uses SQLite's C interface directly.

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
pub struct BulkInsert<'c> {
    db: *mut ffi::sqlite3,
    stmt: NonNull<ffi::sqlite3_stmt>,
    params: usize,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> BulkInsert<'c> {
    pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<BulkInsert<'c>> {
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
        // SAFETY: `stmt` is a prepared statement.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) };
        Ok(BulkInsert {
            db,
            stmt,
            params: usize::try_from(params).unwrap_or(0),
            _conn: PhantomData,
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
        let stmt = self.stmt.as_ptr();
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
            Err(error(self.db, rc))
        } else if bound != self.params {
            Err(rusqlite::Error::InvalidParameterCount(bound, self.params))
        } else {
            self.step()
        };
        // SAFETY: `stmt` is a prepared statement. After these two calls it
        // holds no pointer to the values.
        unsafe {
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
        }
        result
    }

    fn step(&mut self) -> rusqlite::Result<usize> {
        let stmt = self.stmt.as_ptr();
        loop {
            // SAFETY: `stmt` is a prepared statement with every parameter bound.
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            match rc {
                ffi::SQLITE_ROW => continue,
                ffi::SQLITE_DONE => {
                    // SAFETY: `db` is the statement's open connection.
                    let changes = unsafe { ffi::sqlite3_changes64(self.db) };
                    return Ok(usize::try_from(changes).unwrap_or(0));
                }
                // The caller resets the statement.
                _ => return Err(error(self.db, rc)),
            }
        }
    }
}

impl Drop for BulkInsert<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared and is finalized once, here.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
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
}
