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
use crate::model::{RoleGrant, Status};
use crate::store::Store;

pub const COLUMNS: &[&str] = &[
    "old_account_id",
    "new_account_id",
    "new_status",
    "roles_equal",
    "history_equal",
    "detail",
];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub old_account_id: String,
    pub new_account_id: String,
    pub new_status: Status,
    pub roles_equal: bool,
    pub history_equal: bool,
    pub detail: String,
}

impl Verified {
    pub fn ok(&self) -> bool {
        self.roles_equal && self.history_equal
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

pub fn run(store: &Store) -> Result<Vec<Verified>> {
    let pairs = store.replacement_pairs()?;
    let roles = store.replacement_roles()?;
    let none: Vec<RoleGrant> = Vec::new();
    let mut sight = Sight {
        hierarchy: Hierarchy::load(store)?,
        with_activity: store.organisations_with_activity()?,
        cache: HashMap::new(),
    };
    let mut out = Vec::with_capacity(pairs.len());
    for p in pairs {
        let old = roles.get(&p.old_account_id).unwrap_or(&none);
        let new = roles.get(&p.new_account_id).unwrap_or(&none);
        let roles_equal = old == new;
        let old_sees = sight.of(old);
        let new_sees = sight.of(new);
        let history_equal = old_sees == new_sees;
        let mut detail = Vec::new();
        if !roles_equal {
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
            old_account_id: p.old_account_id,
            new_account_id: p.new_account_id,
            new_status: p.new_status,
            roles_equal,
            history_equal,
            detail: detail.join("; "),
        });
    }
    Ok(out)
}
