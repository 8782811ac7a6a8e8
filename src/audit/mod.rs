//! The audit engine: applies the rules (`crate::rules`, pure functions) to
//! every account in the store, or to one.
//!
//! It is shared by `audit`, `report`, `plan`, `accounts show` and the
//! national-scale benchmark, so it is built for a million accounts: compact
//! sorted lists of hashes (not texts, where only equality matters), merges
//! instead of look-ups, few allocations. Nothing here knows the database
//! (the store hands over its inputs as scans of one snapshot) or prints
//! (the caller's `visit` gets each row). One file per job:
//!
//! - `pipeline.rs`: the whole-store audit ([`audit`]): three reading
//!   threads, the merges, and classification a chunk ahead of the caller;
//! - `one.rs`: the one-account path ([`classify`]), for `accounts show`;
//! - `outcome.rs`: the classification glue both paths share (category,
//!   match, section; which accounts are shown);
//! - `directory.rs`: the NHSmail directory as an index ([`DirectoryIndex`]);
//! - `accounts.rs`: the accounts and their roles in arenas;
//! - `key.rs`: the 128-bit keys of texts as the rules compare them, and why
//!   they have a hasher of their own;
//! - `contacts.rs`: the organisations, and whom an account must contact
//!   ([`Organisations`]).

mod accounts;
mod contacts;
mod directory;
mod key;
mod one;
mod outcome;
mod pipeline;
mod reconcile;
#[cfg(test)]
mod test_support;

pub use contacts::Organisations;
pub use directory::DirectoryIndex;
pub use one::classify;
pub use pipeline::audit;
pub use reconcile::{CqrsLink, NearAccount, Nearby};

use crate::rules::{Category, NhsmailMatch, Section};
use crate::store::{AccountView, RoleView};
use outcome::Outcome;

/// One audited account, borrowed from the stream.
#[derive(Debug)]
pub struct AuditRow<'a> {
    pub account: AccountView<'a>,
    pub roles: &'a [RoleView<'a>],
    pub category: Category,
    /// `None` where the match is not looked for (rules.md).
    pub nhsmail_match: Option<NhsmailMatch>,
    pub section: Option<Section>,
    /// Replacements made in CQRS itself that concern the account (rules.md,
    /// "Replaced in CQRS itself"): empty for nearly every account.
    pub cqrs: Vec<CqrsLink>,
}

impl<'a> AuditRow<'a> {
    fn new(account: AccountView<'a>, roles: &'a [RoleView<'a>], outcome: Outcome) -> AuditRow<'a> {
        AuditRow {
            account,
            roles,
            category: outcome.category,
            nhsmail_match: outcome.nhsmail_match,
            section: outcome.section,
            cqrs: outcome.cqrs,
        }
    }

    /// The `match` column of cli.md: the address, `ambiguous`, `none`, or empty.
    pub fn match_column(&self) -> &str {
        self.nhsmail_match
            .as_ref()
            .map_or("", NhsmailMatch::as_column)
    }

    /// The report's `not_a_replacement` column: each account of CQRS's
    /// that holds the address but is not the account's replacement, and
    /// what differs (rules.md, "Not a replacement"); empty, without
    /// allocating, for nearly every account.
    pub fn not_a_replacement_column(&self) -> String {
        reconcile::not_a_replacement(&self.cqrs)
    }

    pub fn holds_admin_role(&self) -> bool {
        self.roles.iter().any(|r| r.role.is_administrator())
    }
}

/// Which accounts to audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions {
    pub include_disabled: bool,
}
