//! The one-account path: the audit of a single account from targeted
//! look-ups, for `accounts show` (and, in the tests, as the oracle the
//! whole-store pipeline is checked against, account by account).
//!
//! The caller gives the account, its roles, a [`DirectoryIndex`] built over
//! the few directory entries that can matter (`DirectoryIndex::from_entries`:
//! the entry for the account's address and those with its names) and the
//! accounts near it ([`Nearby`]: those with its address or its match's, and
//! the old account or replacement it is linked to), from which its duplicate
//! and CQRS's replacements are found; the rules are applied through the same
//! glue as the pipeline's (`outcome.rs`).

use super::AuditRow;
use super::directory::DirectoryIndex;
use super::outcome::Outcome;
use super::reconcile::Nearby;
use crate::store::{AccountView, RoleView};

/// Applies the rules to one account. `nearby` holds the accounts that can
/// matter to it (see [`Nearby`]), the account itself among them.
pub fn classify<'a>(
    account: AccountView<'a>,
    roles: &'a [RoleView<'a>],
    directory: &DirectoryIndex,
    nearby: &Nearby,
) -> AuditRow<'a> {
    let links = nearby.links(account.account_id);
    // A replacement made here that CQRS's account realises is superseded
    // by it (the old account of one already is).
    let realised = account.status == crate::model::Status::Active
        && !account.superseded
        && links
            .iter()
            .any(|l| matches!(l, super::CqrsLink::RealisedBy { .. }));
    let superseded = account.superseded || realised;
    let duplicate = nearby.is_duplicate(account.account_id);
    let mut outcome = Outcome::categorised(
        &account,
        superseded,
        duplicate,
        directory.facts(account.email),
        links,
    );
    if outcome.needs_match() {
        outcome.matched(directory.find_match(account.given_name, account.family_name, roles));
        if let Some(address) = outcome.confident_address() {
            let links = nearby.links_at_match(account.account_id, address);
            outcome.compared_at_match(links);
        }
    }
    // Shown as the pipeline shows it: superseded once realised.
    let account = AccountView {
        superseded,
        ..account
    };
    AuditRow::new(account, roles, outcome)
}
