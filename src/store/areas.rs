//! Operators and their areas (issue 12, item 4): the records the store's
//! boundary hands over about who may see and change which accounts. Only a
//! shared PostgreSQL store has areas; the database itself enforces them
//! (postgres/schema.rs, migration 2), and these records let a command say
//! why it refuses and who can act instead.

/// A database login the store's owner registered as an operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegisteredOperator {
    pub login: String,
    /// The organisation whose area the operator works in (it and every
    /// organisation below it); None for a national operator.
    pub ods_code: Option<String>,
    pub added_at: String,
    pub added_by: String,
}

/// An account the operator may not replace, revert or reinstate: a role of
/// it lies outside the operator's area (or it holds no role in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideArea {
    pub account_id: String,
    /// The organisations of its roles outside the operator's area.
    pub outside: Vec<String>,
    /// The national operators' logins.
    pub national: Vec<String>,
    /// The area operators whose area holds every role of it, as
    /// "login (ODS)".
    pub covering: Vec<String>,
}

impl OutsideArea {
    /// What to tell the operator: the other areas, and who can act.
    pub fn explain(&self) -> String {
        let roles = if self.outside.is_empty() {
            "it holds no role in your area".to_string()
        } else {
            format!(
                "it holds roles outside your area, at {}",
                self.outside.join(", ")
            )
        };
        let mut who: Vec<String> = Vec::new();
        if !self.national.is_empty() {
            who.push(format!(
                "the national operators {}",
                self.national.join(", ")
            ));
        }
        if !self.covering.is_empty() {
            who.push(format!(
                "the area operators whose area holds all its roles: {}",
                self.covering.join(", ")
            ));
        }
        if who.is_empty() {
            who.push("no operator yet: ask the store's owner".to_string());
        }
        format!(
            "{}: {roles}; who can act on it: {}",
            self.account_id,
            who.join("; ")
        )
    }
}

/// The refusal of a store without areas (SQLite).
pub const NO_AREAS: &str = "operators and their areas need a shared PostgreSQL store (--db \
     postgres://…): an SQLite store is one operator's file, with no logins and no areas. \
     Nothing was changed";
