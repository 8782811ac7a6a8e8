//! The columns of each input file (data-formats.md), defined once: one typed
//! row per file kind, whose fields are the file's columns in the file's
//! header order. The reader resolves headers with [`columns`], the checks
//! name columns and build the row by field name, the store inserts a row's
//! [`fields`](AccountRow::fields) under [`names`], and `export` writes the
//! same rows: reordering a definition here moves the column everywhere at
//! once, and can never put a value under another column's name.
//!
//! The rows hold borrowed text and become the same array of `&str` the
//! store binds without copies (`store/sqlite/raw.rs`), so naming costs the import
//! nothing per row.

use crate::input::Column;
use crate::model::FileKind;

/// `required`, `optional` (stored as given, empty when left empty) or
/// `nullable` (stored as NULL when left empty).
macro_rules! presence {
    (required) => {
        (true, false)
    };
    (optional) => {
        (false, false)
    };
    (nullable) => {
        (false, true)
    };
}

macro_rules! file_rows {
    ($(
        $(#[$doc:meta])*
        $kind:ident => $row:ident, $column:ident {
            $($field:ident: $presence:ident),+ $(,)?
        }
    )+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $row<'a> {
                $(pub $field: &'a str),+
            }

            /// Each column of the file by name; `usize::from` gives its place
            /// in the header order (and in a stored row's fields).
            #[allow(non_camel_case_types)]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $column {
                $($field),+
            }

            impl From<$column> for usize {
                fn from(column: $column) -> usize {
                    column as usize
                }
            }

            impl<'a> $row<'a> {
                /// The columns as the reader resolves them.
                pub const COLUMNS: &'static [Column] = &[$(Column {
                    name: stringify!($field),
                    required: presence!($presence).0,
                }),+];
                /// Whether each column is stored as NULL (not empty text)
                /// when the file leaves it empty.
                pub const NULLABLE: &'static [bool] = &[$(presence!($presence).1),+];
                pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];

                /// The values in the header order.
                pub fn fields(&self) -> [&'a str; [$(stringify!($field)),+].len()] {
                    [$(self.$field),+]
                }
            }
        )+

        /// The columns of a file kind, in the header order.
        pub fn columns(kind: FileKind) -> &'static [Column] {
            match kind {
                $(FileKind::$kind => $row::COLUMNS),+
            }
        }

        /// Whether each column of a file kind is stored as NULL when empty.
        pub fn nullable(kind: FileKind) -> &'static [bool] {
            match kind {
                $(FileKind::$kind => $row::NULLABLE),+
            }
        }

        /// The column names of a file kind, in the header order.
        pub fn names(kind: FileKind) -> &'static [&'static str] {
            match kind {
                $(FileKind::$kind => $row::NAMES),+
            }
        }
    };
}

file_rows! {
    /// A row of organisations.csv.
    Organisations => OrganisationRow, OrganisationColumn {
        ods_code: required,
        name: required,
        kind: required,
        parent_code: nullable,
        contact_email: nullable,
    }
    /// A row of accounts.csv.
    Accounts => AccountRow, AccountColumn {
        account_id: required,
        username: required,
        email: required,
        given_name: required,
        family_name: required,
        status: required,
        created_at: nullable,
        last_login_at: nullable,
    }
    /// A row of permissions.csv (`payment_types` joined with `;`).
    Permissions => PermissionRow, PermissionColumn {
        account_id: required,
        ods_code: required,
        role: required,
        payment_types: optional,
    }
    /// A row of the NHSmail directory extract.
    Directory => DirectoryRow, DirectoryColumn {
        address: required,
        given_name: required,
        family_name: required,
        ods_code: required,
        status: required,
        mailbox_type: optional,
    }
    /// A row of activity.csv.
    Activity => ActivityRow, ActivityColumn {
        activity_id: required,
        ods_code: required,
        account_id: required,
        kind: required,
        occurred_at: required,
        detail: nullable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_gives_its_values_under_their_own_names() {
        let row = AccountRow {
            account_id: "U1",
            username: "ann",
            email: "ann@nhs.net",
            given_name: "Ann",
            family_name: "Lee",
            status: "active",
            created_at: "",
            last_login_at: "2020-01-01",
        };
        let fields = row.fields();
        for (i, name) in names(FileKind::Accounts).iter().enumerate() {
            let expected = match *name {
                "account_id" => row.account_id,
                "email" => row.email,
                "last_login_at" => row.last_login_at,
                _ => continue,
            };
            assert_eq!(fields[i], expected, "{name}");
        }
        assert_eq!(
            names(FileKind::Accounts)[usize::from(AccountColumn::email)],
            "email"
        );
    }
}
