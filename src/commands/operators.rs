//! `operators add|list|remove`: the store's owner registers existing
//! database logins as operators, national or for one organisation's area
//! (issue 12, item 4). The store itself enforces the areas (a shared
//! PostgreSQL store; an SQLite store refuses: it has no logins).

use anyhow::Result;

use super::confirm::Operator;
use crate::store::{RegisteredOperator, Store};

/// The columns of `operators list`.
pub const COLUMNS: &[&str] = &["login", "area", "added_at", "added_by"];

/// What an `operators` command did.
#[derive(Debug, serde::Serialize)]
pub struct OperatorChange {
    /// "added" or "removed".
    pub change: &'static str,
    pub operator: RegisteredOperator,
}

pub fn add(
    store: &mut Store,
    login: &str,
    org: Option<&str>,
    op: &Operator,
) -> Result<OperatorChange> {
    Ok(OperatorChange {
        change: "added",
        operator: store.add_operator(login, org, op.actor())?,
    })
}

pub fn remove(store: &mut Store, login: &str, op: &Operator) -> Result<OperatorChange> {
    Ok(OperatorChange {
        change: "removed",
        operator: store.remove_operator(login, op.actor())?,
    })
}

pub fn list(store: &Store) -> Result<Vec<RegisteredOperator>> {
    store.operators()
}

/// How an operator's area is shown: its ODS code, or "national".
pub fn area(operator: &RegisteredOperator) -> &str {
    operator.ods_code.as_deref().unwrap_or("national")
}

/// Refuses to `action` (replace, revert, reinstate) accounts with a role
/// outside the operator's area, naming for each the other areas and who can
/// act on it. The store refuses such a change itself (row-level security);
/// this says why, before anything is tried. Nothing to refuse on a store
/// without areas.
pub fn refuse_outside_area(store: &Store, action: &str, account_ids: &[&str]) -> Result<()> {
    let outside = store.outside_area(account_ids)?;
    if outside.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = outside
        .iter()
        .map(|o| format!("  {}", o.explain()))
        .collect();
    Err(crate::error::UserError::Refused(format!(
        "cannot {action} {} outside your area:\n{}\nNothing was changed",
        if outside.len() == 1 {
            "an account".to_string()
        } else {
            format!("{} accounts", outside.len())
        },
        list.join("\n")
    ))
    .into())
}
