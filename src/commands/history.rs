//! `history ACCOUNT_ID`: the activity an account can see (rules.md, "History").
//!
//! Rather than test every activity record, the command works out the set of
//! organisations whose records the account can see (its role organisations,
//! the organisations directly under them, and those under those: a
//! commissioner's practices, a region's commissioners and their practices)
//! and reads activity by organisation through the `activity (ods_code)` index.
//! The set is exactly the organisations `rules::can_view` allows: a test
//! checks the two agree.

use std::collections::{BTreeSet, HashMap};

use anyhow::Result;

use crate::error::UserError;
use crate::model::Activity;
use crate::store::Store;

/// The columns cli.md fixes for `history`.
pub const COLUMNS: &[&str] = &[
    "activity_id",
    "ods_code",
    "account_id",
    "kind",
    "occurred_at",
    "detail",
];

/// The organisation tree, walked downwards.
pub struct Hierarchy {
    children: HashMap<String, Vec<String>>,
}

impl Hierarchy {
    #[cfg(test)]
    pub fn new(organisations: &[crate::model::Organisation]) -> Hierarchy {
        Hierarchy::from_parents(organisations.iter().filter_map(|o| {
            o.parent_code
                .clone()
                .map(|parent| (o.ods_code.clone(), parent))
        }))
    }

    /// From (ods_code, parent_code) pairs.
    fn from_parents(pairs: impl IntoIterator<Item = (String, String)>) -> Hierarchy {
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for (code, parent) in pairs {
            children.entry(parent).or_default().push(code);
        }
        Hierarchy { children }
    }

    /// The store's tree, read without the organisations' names and
    /// addresses it never shows.
    pub fn load(store: &Store) -> Result<Hierarchy> {
        Ok(Hierarchy::from_parents(store.organisation_parents()?))
    }

    fn children(&self, code: &str) -> &[String] {
        self.children.get(code).map_or(&[], Vec::as_slice)
    }

    /// The organisations whose activity an account holding roles at
    /// `role_codes` can see. Mirrors `rules::can_view` walked from the other
    /// end: a record's organisation R is visible through a role at C when
    /// R = C, when C is R's parent, or when C is R's parent's parent; like
    /// `can_view`, a walk that comes back to an organisation already passed
    /// (bad data with a cycle) stops there.
    pub fn visible<'a>(&self, role_codes: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for c in role_codes {
            out.insert(c.to_string());
            for p in self.children(c).iter().filter(|p| *p != c) {
                out.insert(p.clone());
                for r in self.children(p).iter().filter(|r| *r != p && *r != c) {
                    out.insert(r.clone());
                }
            }
        }
        out
    }
}

/// The activity `account_id` can see, oldest first.
pub fn run(store: &Store, account_id: &str) -> Result<Vec<Activity>> {
    let account_id = account_id.trim();
    if store.account(account_id)?.is_none() {
        return Err(UserError::Refused(format!(
            "there is no account {account_id}: check the id with `cqrs-admin audit` or \
             `cqrs-admin accounts show`"
        ))
        .into());
    }
    let roles = store.roles(account_id)?;
    let hierarchy = Hierarchy::load(store)?;
    let visible: Vec<String> = hierarchy
        .visible(roles.iter().map(|r| r.ods_code.as_str()))
        .into_iter()
        .collect();
    store.activity_at(&visible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrgKind, Organisation};
    use crate::rules::history::can_view;

    fn org(code: &str, parent: Option<&str>) -> Organisation {
        Organisation {
            ods_code: code.into(),
            name: code.into(),
            kind: OrgKind::Practice,
            parent_code: parent.map(Into::into),
            contact_email: None,
        }
    }

    /// A tree with the awkward cases: a self-parent, a cycle, a parent above
    /// a region, an orphan.
    fn organisations() -> Vec<Organisation> {
        vec![
            org("Y56", Some("TOP")),
            org("TOP", None),
            org("Y58", None),
            org("00K", Some("Y56")),
            org("07L", Some("Y56")),
            org("15N", Some("Y58")),
            org("A81001", Some("00K")),
            org("A81002", Some("00K")),
            org("B82001", Some("07L")),
            org("L83001", Some("15N")),
            org("SELF", Some("SELF")),
            org("CYC1", Some("CYC2")),
            org("CYC2", Some("CYC1")),
            org("ORPHAN", Some("GONE")),
        ]
    }

    #[test]
    fn visible_set_agrees_with_can_view_for_every_role_set() {
        let list = organisations();
        let hierarchy = Hierarchy::new(&list);
        let parents: HashMap<&str, &str> = list
            .iter()
            .filter_map(|o| o.parent_code.as_deref().map(|p| (o.ods_code.as_str(), p)))
            .collect();
        let codes: Vec<&str> = list
            .iter()
            .map(|o| o.ods_code.as_str())
            .chain(["GONE"])
            .collect();
        // Every role set of one or two organisations.
        let mut sets: Vec<Vec<&str>> = codes.iter().map(|c| vec![*c]).collect();
        for (i, a) in codes.iter().enumerate() {
            for b in &codes[i + 1..] {
                sets.push(vec![a, b]);
            }
        }
        for roles in sets {
            let visible = hierarchy.visible(roles.iter().copied());
            for record in &codes {
                let expected = can_view(record, &roles, |c| parents.get(c).copied());
                assert_eq!(
                    visible.contains(*record),
                    expected,
                    "record at {record}, roles at {roles:?}"
                );
            }
        }
    }

    #[test]
    fn a_commissioner_sees_its_practices_and_a_region_sees_two_levels() {
        let hierarchy = Hierarchy::new(&organisations());
        let v: Vec<String> = hierarchy.visible(["00K"]).into_iter().collect();
        assert_eq!(v, ["00K", "A81001", "A81002"]);
        let v: Vec<String> = hierarchy.visible(["Y56"]).into_iter().collect();
        assert_eq!(v, ["00K", "07L", "A81001", "A81002", "B82001", "Y56"]);
        let v: Vec<String> = hierarchy.visible(["A81001"]).into_iter().collect();
        assert_eq!(v, ["A81001"]);
    }
}
