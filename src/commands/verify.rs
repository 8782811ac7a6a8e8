//! `verify`: prove, for every replacement account, that it holds exactly the
//! old account's roles and can see exactly the history the old account saw
//! (rules.md, "History").
//!
//! The history is compared as the set of organisations with activity that
//! each account can see: activity belongs to an organisation and never moves,
//! so equal sets mean equal history, record for record. Visible sets are
//! cached by role organisations, since many accounts share them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use anyhow::Result;

use super::history::Hierarchy;
use crate::audit::{AuditOptions, CqrsLink, audit};
use crate::model::{RoleGrant, Status};
use crate::rules::reconcile::{self, Difference, Person};
use crate::store::Store;

pub const COLUMNS: &[&str] = &[
    "old_account_id",
    "new_account_id",
    "new_status",
    "roles_equal",
    "history_equal",
    "detail",
    "checked",
];

/// What a row of `verify` checked (rules.md, "Replaced in CQRS itself").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checked {
    /// A replacement made here, against the account it replaced.
    Replacement,
    /// CQRS's account that realises a replacement made here, against the
    /// old account.
    RealisedInCqrs,
    /// CQRS's account that replaces an account (its confident match's
    /// address), against that account.
    ReplacedInCqrs,
    /// CQRS's account with the address that is not a faithful replacement:
    /// reported, never a failure of `verify` (the account it might have
    /// replaced stays in the report).
    NotAReplacement,
}

impl Checked {
    pub fn as_str(self) -> &'static str {
        match self {
            Checked::Replacement => "replacement",
            Checked::RealisedInCqrs => "realised-in-cqrs",
            Checked::ReplacedInCqrs => "replaced-in-cqrs",
            Checked::NotAReplacement => "not-a-replacement",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub old_account_id: String,
    pub new_account_id: String,
    pub new_status: Status,
    pub roles_equal: bool,
    pub history_equal: bool,
    pub detail: String,
    pub checked: Checked,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.roles_equal && self.history_equal
    }

    /// Whether the row makes `verify` fail: a replacement (made here, or
    /// CQRS's account standing for one) that differs. An account of CQRS's
    /// that is not a replacement is only reported.
    pub fn fails(&self) -> bool {
        self.checked != Checked::NotAReplacement && !self.ok()
    }
}

fn describe_roles(roles: &[RoleGrant]) -> String {
    roles
        .iter()
        .map(|g| {
            if g.payment_types.is_empty() {
                format!("{} {}", g.ods_code, g.role)
            } else {
                format!("{} {} [{}]", g.ods_code, g.role, g.payment_types.join(";"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn difference(a: &[RoleGrant], b: &[RoleGrant]) -> Vec<RoleGrant> {
    a.iter().filter(|g| !b.contains(g)).cloned().collect()
}

type Visible = Rc<BTreeSet<String>>;

struct Sight<'a> {
    hierarchy: Hierarchy,
    with_activity: HashSet<String>,
    cache: HashMap<Vec<&'a str>, Visible>,
}

impl<'a> Sight<'a> {
    /// The organisations with activity that roles at these organisations see.
    fn of(&mut self, roles: &'a [RoleGrant]) -> Visible {
        let mut codes: Vec<&'a str> = roles.iter().map(|g| g.ods_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if let Some(v) = self.cache.get(&codes) {
            return v.clone();
        }
        let visible: BTreeSet<String> = self
            .hierarchy
            .visible(codes.iter().copied())
            .into_iter()
            .filter(|c| self.with_activity.contains(c))
            .collect();
        let visible = Rc::new(visible);
        self.cache.insert(codes, visible.clone());
        visible
    }
}

/// The names of the accounts in CQRS's pairs, for the comparison.
struct Names(HashMap<String, (String, String)>);

impl Names {
    fn compare(
        &self,
        old_id: &str,
        old: &[RoleGrant],
        new_id: &str,
        new: &[RoleGrant],
    ) -> Difference {
        let none = (String::new(), String::new());
        let (og, of) = self.0.get(old_id).unwrap_or(&none);
        let (ng, nf) = self.0.get(new_id).unwrap_or(&none);
        reconcile::difference(&Person::of(og, of, old), &Person::of(ng, nf, new))
    }
}

/// A pair `verify` checks because of a replacement made in CQRS.
struct CqrsPair {
    old: String,
    /// CQRS's account.
    new: String,
    checked: Checked,
    /// The replacement made here it stands for, if any.
    made_here: Option<String>,
    note: String,
}

/// What the audit found about replacements made in CQRS, as pairs to
/// check against the old account.
fn cqrs_pairs(store: &Store, made_here: &HashMap<String, String>) -> Result<Vec<CqrsPair>> {
    let mut out = Vec::new();
    let everything = AuditOptions {
        include_disabled: true,
    };
    audit(store, everything, |row| {
        let id = row.account.account_id;
        for link in &row.cqrs {
            // A replacement made here is checked as its old account's.
            let (old, here) = match made_here.get(id) {
                Some(old) => (old.clone(), Some(id.to_string())),
                None => (id.to_string(), None),
            };
            let checked = match link {
                CqrsLink::RealisedBy { .. } => Checked::RealisedInCqrs,
                // The old account of a realised replacement made here (it
                // is superseded by that replacement) is checked through the
                // replacement's row.
                CqrsLink::ReplacedBy { .. } if row.account.superseded => continue,
                CqrsLink::ReplacedBy { .. } => Checked::ReplacedInCqrs,
                CqrsLink::NotAReplacement { .. } => Checked::NotAReplacement,
            };
            let note = here
                .as_ref()
                .map_or(String::new(), |r| format!("replacement made here: {r}"));
            out.push(CqrsPair {
                old,
                new: link.account_id().to_string(),
                checked,
                made_here: here,
                note,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

pub fn run(store: &Store) -> Result<Vec<Verified>> {
    let pairs = store.replacement_pairs()?;
    let mut roles = store.replacement_roles()?;
    let made_here: HashMap<String, String> = pairs
        .iter()
        .map(|p| (p.new_account_id.clone(), p.old_account_id.clone()))
        .collect();
    let cqrs = cqrs_pairs(store, &made_here)?;
    for c in &cqrs {
        for id in [&c.old, &c.new] {
            if !roles.contains_key(id) {
                roles.insert(id.clone(), store.roles(id)?);
            }
        }
    }
    let cqrs_ids: HashSet<String> = cqrs
        .iter()
        .flat_map(|c| [c.old.clone(), c.new.clone()])
        .collect();
    let realised: HashSet<String> = cqrs
        .iter()
        .filter(|c| c.checked == Checked::RealisedInCqrs)
        .filter_map(|c| c.made_here.clone())
        .collect();
    let statuses: HashMap<String, Status> = cqrs
        .iter()
        .map(|c| {
            let status = store
                .account(&c.new)?
                .map_or(Status::Disabled, |a| a.status);
            Ok((c.new.clone(), status))
        })
        .collect::<Result<_>>()?;
    let pairs = pairs
        .into_iter()
        // A realised replacement made here is checked as CQRS's account.
        .filter(|p| !realised.contains(p.new_account_id.as_str()))
        .map(|p| {
            (
                p.old_account_id,
                p.new_account_id,
                p.new_status,
                Checked::Replacement,
                String::new(),
            )
        })
        .chain(cqrs.into_iter().map(|c| {
            let status = statuses.get(&c.new).copied().unwrap_or(Status::Disabled);
            (c.old, c.new, status, c.checked, c.note)
        }));
    let none: Vec<RoleGrant> = Vec::new();
    let mut sight = Sight {
        hierarchy: Hierarchy::load(store)?,
        with_activity: store.organisations_with_activity()?,
        cache: HashMap::new(),
    };
    let names = Names(
        cqrs_ids
            .iter()
            .map(|id| {
                let names = store
                    .account(id)?
                    .map(|a| (a.given_name, a.family_name))
                    .unwrap_or_default();
                Ok((id.clone(), names))
            })
            .collect::<Result<_>>()?,
    );
    let mut out = Vec::new();
    for (old_id, new_id, new_status, checked, note) in pairs {
        let old = roles.get(&old_id).unwrap_or(&none);
        let new = roles.get(&new_id).unwrap_or(&none);
        let old_sees = sight.of(old);
        let new_sees = sight.of(new);
        let history_equal = old_sees == new_sees;
        let mut detail = Vec::new();
        let roles_equal = if checked == Checked::Replacement {
            old == new
        } else {
            // CQRS's account, compared by the rule that decided it
            // (rules.md, "Replaced in CQRS itself"): restrictions as sets.
            let d = names.compare(&old_id, old, &new_id, new);
            if checked == Checked::NotAReplacement {
                detail.push(format!("not a replacement: {}", d.describe()));
            }
            d.missing.is_empty() && d.extra.is_empty()
        };
        if !note.is_empty() {
            detail.push(note);
        }
        if !roles_equal && checked == Checked::Replacement {
            let missing = difference(old, new);
            let extra = difference(new, old);
            if !missing.is_empty() {
                detail.push(format!("missing roles: {}", describe_roles(&missing)));
            }
            if !extra.is_empty() {
                detail.push(format!("extra roles: {}", describe_roles(&extra)));
            }
        }
        if !history_equal {
            let unseen: Vec<&str> = old_sees.difference(&new_sees).map(String::as_str).collect();
            let more: Vec<&str> = new_sees.difference(&old_sees).map(String::as_str).collect();
            if !unseen.is_empty() {
                detail.push(format!(
                    "cannot see the activity of {} that the old account sees",
                    unseen.join(", ")
                ));
            }
            if !more.is_empty() {
                detail.push(format!(
                    "sees the activity of {} that the old account does not",
                    more.join(", ")
                ));
            }
        }
        out.push(Verified {
            old_account_id: old_id,
            new_account_id: new_id,
            new_status,
            roles_equal,
            history_equal,
            detail: detail.join("; "),
            checked,
        });
    }
    Ok(out)
}
