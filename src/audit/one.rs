//! The one-account path: the audit of a single account from targeted
//! look-ups, for `accounts show` (and, in the tests, as the oracle the
//! whole-store pipeline is checked against, account by account).
//!
//! The caller gives the account, its roles, a [`DirectoryIndex`] built over
//! the few directory entries that can matter (`DirectoryIndex::from_entries`:
//! the entry for the account's address and those with its names) and the
//! normal forms of the duplicate addresses among them; the rules are applied
//! through the same glue as the pipeline's (`outcome.rs`).

use std::collections::HashSet;

use super::AuditRow;
use super::directory::DirectoryIndex;
use super::outcome::Outcome;
use crate::model::Status;
use crate::rules::normal_form;
use crate::store::{AccountView, RoleView};

/// Applies the rules to one account. `duplicates` holds the normal forms of
/// addresses that more than one live account has.
pub fn classify<'a>(
    account: AccountView<'a>,
    roles: &'a [RoleView<'a>],
    directory: &DirectoryIndex,
    duplicates: &HashSet<String>,
) -> AuditRow<'a> {
    let live = account.status == Status::Active && !account.superseded;
    let duplicate = live && is_duplicate(duplicates, account.email);
    let mut outcome = Outcome::categorised(&account, duplicate, directory.facts(account.email));
    if outcome.needs_match() {
        outcome.matched(directory.find_match(account.given_name, account.family_name, roles));
    }
    AuditRow::new(account, roles, outcome)
}

/// Whether `email`'s normal form is among `duplicates`, without building the
/// normal form where the trimmed address already is one.
fn is_duplicate(duplicates: &HashSet<String>, email: &str) -> bool {
    if duplicates.is_empty() {
        return false;
    }
    let email = email.trim();
    if email
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        duplicates.contains(&normal_form(email))
    } else {
        duplicates.contains(email)
    }
}
