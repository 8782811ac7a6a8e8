//! The classification glue, written once for both paths: from what is known
//! of one account to its category, NHSmail match and section, and which
//! accounts an audit shows.
//!
//! The whole-store pipeline (`pipeline.rs`) and the one-account path
//! (`one.rs`) find the facts differently (merged sorted lists for a million
//! accounts, a small index for one), but hand them to the rules here, in
//! the same steps: `rules::categorise`, then `rules::find_match` only where
//! the category needs it, then `rules::section_for`. The match is a separate
//! step because the pipeline looks up a whole chunk's candidates at once.

use super::AuditOptions;
use super::reconcile::{CqrsLink, realised_by};
use crate::model::Status;
use crate::rules::{Category, DirectoryFacts, NhsmailMatch, Section, categorise, section_for};
use crate::store::AccountView;

/// What the rules decided for one account.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) category: Category,
    /// `None` where the match is not looked for (rules.md).
    pub(super) nhsmail_match: Option<NhsmailMatch>,
    pub(super) section: Option<Section>,
    /// Links to CQRS's own replacements (see `reconcile.rs`).
    pub(super) cqrs: Vec<CqrsLink>,
}

impl Outcome {
    /// The account's category and, if it needs no match, its section.
    /// `superseded` is whether a replacement was made for it (here, or one
    /// made here was realised in CQRS); `duplicate` is whether another live
    /// account has the same address (only ever true of a live account);
    /// `facts` is what the directory holds for the account's address;
    /// `cqrs` the links found so far to CQRS's replacements.
    pub(super) fn categorised(
        account: &AccountView<'_>,
        superseded: bool,
        duplicate: bool,
        facts: Option<DirectoryFacts>,
        cqrs: Vec<CqrsLink>,
    ) -> Outcome {
        let category = categorise(superseded, account.status, account.email, duplicate, facts);
        Outcome {
            category,
            nhsmail_match: None,
            section: section_for(category, &NhsmailMatch::None),
            cqrs,
        }
    }

    /// The links of the account, whose confident match this is, to CQRS's
    /// accounts with that address: if one replaces it, it is superseded
    /// (and leaves the report) as if a replacement had been made here.
    pub(super) fn compared_at_match(&mut self, links: Vec<CqrsLink>) {
        if links.is_empty() {
            return;
        }
        if realised_by(&links).is_some() {
            self.category = Category::Superseded;
            self.nhsmail_match = None;
            self.section = None;
        }
        self.cqrs.extend(links);
    }

    /// The confident match's address, if the match is confident.
    pub(super) fn confident_address(&self) -> Option<&str> {
        match &self.nhsmail_match {
            Some(NhsmailMatch::Confident(address)) => Some(address),
            _ => None,
        }
    }

    /// Whether the match must be looked for (then give it to [`Outcome::matched`]).
    pub(super) fn needs_match(&self) -> bool {
        self.category.needs_match()
    }

    /// The match found for an account that needs one, and the section it decides.
    pub(super) fn matched(&mut self, found: NhsmailMatch) {
        self.section = section_for(self.category, &found);
        self.nhsmail_match = Some(found);
    }

    /// The stand-in for an account the audit does not look at (see
    /// [`AuditOptions::considers`]): never shown.
    pub(super) fn not_considered() -> Outcome {
        Outcome {
            category: Category::Disabled,
            nhsmail_match: None,
            section: None,
            cqrs: Vec::new(),
        }
    }
}

impl AuditOptions {
    /// Whether an account is classified at all: disabled accounts (not
    /// superseded) only when asked for.
    pub(super) fn considers(self, status: Status, superseded: bool) -> bool {
        self.include_disabled || status != Status::Disabled || superseded
    }

    /// Whether an account of this category is shown: the disabled ones only
    /// when asked for.
    pub(super) fn shows(self, category: Category) -> bool {
        self.include_disabled || category != Category::Disabled
    }
}
