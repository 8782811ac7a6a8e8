//! The address key and the normal form as SQL functions on every SQLite
//! connection (`crate::store::address_key` defines them).

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

use crate::store::address_key::{NORMAL_FORM_SQL_FUNCTION, SQL_FUNCTION, address_key};

/// Makes `cqrs_address_key(text)` and `cqrs_normal_form(text)` available in
/// SQL on this connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    text_function(conn, NORMAL_FORM_SQL_FUNCTION, crate::rules::normal_form)?;
    text_function(conn, SQL_FUNCTION, address_key)
}

/// Registers `name(text)` as `f` of the text; NULL (or any other type) gives
/// NULL. Deterministic and harmless, so SQLite may use it in indexes and
/// triggers.
fn text_function<T: rusqlite::ToSql + 'static>(
    conn: &Connection,
    name: &str,
    f: fn(&str) -> T,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        name,
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        move |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(bytes) => Some(f(&String::from_utf8_lossy(bytes))),
                _ => None,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_normal_form_is_the_rules_normal_form() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        for address in [
            " Sarah.Jones@NHS.net\t",
            "\u{a0}a@nhs.net",
            "\u{41a}im@nhs.net",
            "",
        ] {
            let sql: String = conn
                .query_row("SELECT cqrs_normal_form(?1)", [address], |r| r.get(0))
                .unwrap();
            assert_eq!(sql, crate::rules::normal_form(address), "{address:?}");
        }
    }

    #[test]
    fn the_sql_function_gives_the_same_key() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let key: i64 = conn
            .query_row("SELECT cqrs_address_key('Sarah.Jones@nhs.net')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(key, address_key("sarah.jones@nhs.net"));
        let null: Option<i64> = conn
            .query_row("SELECT cqrs_address_key(NULL)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(null, None);
    }
}
