//! Replacements made in CQRS itself, as the audit finds them (rules.md,
//! "Replaced in CQRS itself"): computed from the data at every audit, never
//! stored, so that a revert, a later export or a changed role keeps it right.
//!
//! Two cases, each found where the audit already has what it needs:
//!
//! - a replacement made here whose address CQRS's own account also has:
//!   both are live accounts with one address, so they are found among the
//!   duplicate addresses (`Accounts::mark_duplicates`); if CQRS's account is
//!   faithful to the old account, the replacement made here is *realised*
//!   by it (superseded, and no duplicate);
//! - a live account whose confident match is CQRS's account's address: one
//!   look-up of the match among the live accounts' addresses
//!   (`Accounts::links_at_match`); if CQRS's account is faithful, the
//!   account is *replaced in CQRS* (superseded).
//!
//! The comparison itself is the pure rule `rules::reconcile`; [`judge`] is
//! the one procedure both audit paths apply with it. The one-account path's
//! accounts are [`Nearby`].

use crate::model::{Account, RoleGrant, Status};
use crate::rules::address::{normal_form, same_address};
use crate::rules::reconcile::{Difference, Person, difference, may_replace};

/// What an account has to do with an account of CQRS's that holds the
/// address it is compared at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CqrsLink {
    /// CQRS's account `account_id` replaces this one: it is superseded.
    ReplacedBy { account_id: String },
    /// This replacement made here is realised by CQRS's account
    /// `account_id`: superseded by it, and no duplicate of it.
    RealisedBy { account_id: String },
    /// CQRS's account `account_id` has the address but is not a faithful
    /// replacement of the old account: what differs.
    NotAReplacement {
        account_id: String,
        difference: Difference,
    },
}

impl CqrsLink {
    /// The account of CQRS's it is about.
    pub fn account_id(&self) -> &str {
        match self {
            CqrsLink::ReplacedBy { account_id }
            | CqrsLink::RealisedBy { account_id }
            | CqrsLink::NotAReplacement { account_id, .. } => account_id,
        }
    }

    /// The link in words, for `accounts show` and `history`.
    pub fn describe(&self) -> String {
        match self {
            CqrsLink::ReplacedBy { account_id } => {
                format!(
                    "replaced in CQRS by account {account_id} (same names, exactly the same roles)"
                )
            }
            CqrsLink::RealisedBy { account_id } => format!(
                "realised in CQRS by account {account_id}: sign-in with this address reaches that account"
            ),
            CqrsLink::NotAReplacement {
                account_id,
                difference,
            } => format!(
                "CQRS's account {account_id} has the address but is not its replacement: {}",
                difference.describe()
            ),
        }
    }
}

/// Compares the old account with each account of CQRS's that holds the
/// address (in account_id order): the first faithful one gets `faithful`'s
/// link, every unfaithful one a [`CqrsLink::NotAReplacement`]; a second
/// faithful one adds nothing (they are each other's duplicates).
pub(super) fn judge<'p>(
    old: &Person<'_>,
    holders: impl Iterator<Item = (&'p str, Person<'p>)>,
    faithful: impl Fn(String) -> CqrsLink,
) -> Vec<CqrsLink> {
    let mut links = Vec::new();
    let mut found = false;
    for (id, holder) in holders {
        let d = difference(old, &holder);
        if d.is_faithful() {
            if !found {
                found = true;
                links.push(faithful(id.to_string()));
            }
        } else {
            links.push(CqrsLink::NotAReplacement {
                account_id: id.to_string(),
                difference: d,
            });
        }
    }
    links
}

/// The accounts of CQRS's that hold the address without being the
/// replacement, in words: `account ID: what differs`, joined by ` | `;
/// empty when there are none.
pub(super) fn not_a_replacement(links: &[CqrsLink]) -> String {
    let mut text = String::new();
    for link in links {
        if let CqrsLink::NotAReplacement {
            account_id,
            difference,
        } = link
        {
            if !text.is_empty() {
                text.push_str(" | ");
            }
            text.push_str(&format!("account {account_id}: {}", difference.describe()));
        }
    }
    text
}

/// The account of CQRS's that realises or replaces, if any.
pub(super) fn realised_by(links: &[CqrsLink]) -> Option<&str> {
    links.iter().find_map(|l| match l {
        CqrsLink::RealisedBy { account_id } | CqrsLink::ReplacedBy { account_id } => {
            Some(account_id.as_str())
        }
        CqrsLink::NotAReplacement { .. } => None,
    })
}

/// One account near the one audited, for the one-account path.
#[derive(Debug, Clone)]
pub struct NearAccount {
    pub account: Account,
    /// The account it replaced, if it is a replacement made here.
    pub replaces: Option<String>,
    pub roles: Vec<RoleGrant>,
}

impl NearAccount {
    fn live(&self) -> bool {
        self.account.status == Status::Active && self.account.replaced_by.is_none()
    }

    fn person(&self) -> Person<'_> {
        Person::of(
            &self.account.given_name,
            &self.account.family_name,
            &self.roles,
        )
    }
}

/// The accounts that can matter to one account's audit (those with its
/// address, the address of its match, the address of its replacement, the
/// old account of a replacement made here), with their roles: the
/// one-account path's stand-in for the pipeline's whole-store indexes.
#[derive(Debug, Default)]
pub struct Nearby {
    accounts: Vec<NearAccount>,
}

impl Nearby {
    pub fn new(mut accounts: Vec<NearAccount>) -> Nearby {
        accounts.sort_by(|a, b| a.account.account_id.cmp(&b.account.account_id));
        accounts.dedup_by(|a, b| a.account.account_id == b.account.account_id);
        Nearby { accounts }
    }

    fn get(&self, id: &str) -> Option<&NearAccount> {
        self.accounts
            .binary_search_by(|a| a.account.account_id.as_str().cmp(id))
            .ok()
            .map(|i| &self.accounts[i])
    }

    /// The live accounts with this address, in account_id order.
    fn live_at<'s>(&'s self, address: &'s str) -> impl Iterator<Item = &'s NearAccount> + 's {
        self.accounts
            .iter()
            .filter(move |a| a.live() && same_address(&a.account.email, address))
    }

    /// The links of a live replacement made here to CQRS's accounts with
    /// its address (the pipeline's `Accounts::realise`).
    fn realisation(&self, r: &NearAccount) -> Vec<CqrsLink> {
        let Some(old) = r.replaces.as_deref().and_then(|id| self.get(id)) else {
            return Vec::new();
        };
        if !r.live() {
            return Vec::new();
        }
        let holders = self.live_at(&r.account.email).filter(|y| {
            y.account.account_id != r.account.account_id
                && may_replace(y.account.status, false, y.replaces.is_some())
        });
        let holders: Vec<&NearAccount> = holders.collect();
        // Only live accounts sharing an address are compared, as the
        // pipeline compares only within duplicate addresses.
        if holders.is_empty() {
            return Vec::new();
        }
        judge(
            &old.person(),
            holders
                .iter()
                .map(|y| (y.account.account_id.as_str(), y.person())),
            |id| CqrsLink::RealisedBy { account_id: id },
        )
    }

    /// The account of CQRS's that realises this replacement made here, if
    /// it is one and one does.
    pub fn realised_by(&self, account_id: &str) -> Option<String> {
        let a = self.get(account_id)?;
        a.replaces.as_ref()?;
        realised_by(&self.realisation(a)).map(str::to_string)
    }

    /// Whether the account is a live replacement made here that CQRS's
    /// account realises.
    fn is_realised(&self, a: &NearAccount) -> bool {
        a.replaces.is_some() && realised_by(&self.realisation(a)).is_some()
    }

    /// Whether another live account, not a realised replacement made here,
    /// has the account's address (rules.md category 4), the account itself
    /// being live and not realised.
    pub(super) fn is_duplicate(&self, account_id: &str) -> bool {
        let Some(a) = self.get(account_id) else {
            return false;
        };
        if !a.live() || self.is_realised(a) {
            return false;
        }
        let key = normal_form(&a.account.email);
        self.live_at(&key)
            .filter(|o| o.account.account_id != account_id && !self.is_realised(o))
            .count()
            > 0
    }

    /// The links found for the account before its match: as a replacement
    /// made here (realised, or not), or as the old account of a realised
    /// one.
    pub(super) fn links(&self, account_id: &str) -> Vec<CqrsLink> {
        let Some(a) = self.get(account_id) else {
            return Vec::new();
        };
        if a.replaces.is_some() {
            return self.realisation(a);
        }
        // The old account of a realised replacement made here.
        let mut links = Vec::new();
        for r in self
            .accounts
            .iter()
            .filter(|r| r.replaces.as_deref() == Some(account_id))
        {
            if let Some(by) = realised_by(&self.realisation(r)) {
                links.push(CqrsLink::ReplacedBy {
                    account_id: by.to_string(),
                });
            }
        }
        links
    }

    /// The links of a live account whose confident match is `address` to
    /// CQRS's accounts holding it (the pipeline's `Accounts::links_at_match`).
    pub(super) fn links_at_match(&self, account_id: &str, address: &str) -> Vec<CqrsLink> {
        let Some(a) = self.get(account_id) else {
            return Vec::new();
        };
        if same_address(&a.account.email, address) {
            return Vec::new();
        }
        let holders: Vec<&NearAccount> = self
            .live_at(address)
            .filter(|y| y.account.account_id != account_id && y.replaces.is_none())
            .collect();
        judge(
            &a.person(),
            holders
                .iter()
                .map(|y| (y.account.account_id.as_str(), y.person())),
            |id| CqrsLink::ReplacedBy { account_id: id },
        )
    }
}
