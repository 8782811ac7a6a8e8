//! Replacements made in CQRS itself (rules.md, "Replaced in CQRS itself").
//!
//! The real replacement accounts are created in CQRS, and its next export
//! holds them under CQRS's own ids. An account of CQRS's is taken as the
//! replacement of an account here when it may replace anything at all
//! ([`may_replace`]: active, neither superseded nor made by this tool) and
//! it is faithful to the old account ([`difference`] is empty: the same
//! given and family names, exactly the same roles). Which address it must
//! have (the old account's confident match, or the address of the
//! replacement made here) is the caller's part: these functions only compare
//! two accounts, so the audit's two paths, `signin` and `verify` share them.

use super::address::same_name;
use crate::model::{Role, RoleGrant, Status};

/// One role as the comparison needs it: the organisation, the role and the
/// payment-type restrictions (empty for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant<'a> {
    pub ods_code: &'a str,
    pub role: Role,
    pub payment_types: PaymentTypes<'a>,
}

/// Payment-type restrictions as the store keeps them (`QOF;DES`), as the
/// audit reads them, or split, as `roles` reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTypes<'a> {
    Joined(&'a str),
    Split(&'a [String]),
}

/// An account as the comparison needs it: its names and every role.
#[derive(Debug, Clone)]
pub struct Person<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub grants: Vec<Grant<'a>>,
}

impl<'a> Person<'a> {
    /// An account with roles as `roles` and `verify` read them.
    pub fn of(given_name: &'a str, family_name: &'a str, roles: &'a [RoleGrant]) -> Person<'a> {
        Person {
            given_name,
            family_name,
            grants: roles.iter().map(Grant::of).collect(),
        }
    }
}

impl<'a> Grant<'a> {
    /// A role as the store's readers give it; its restrictions are compared
    /// as a set, whatever their order.
    pub fn of(g: &'a RoleGrant) -> Grant<'a> {
        Grant {
            ods_code: &g.ods_code,
            role: g.role,
            payment_types: PaymentTypes::Split(&g.payment_types),
        }
    }
}

/// How an account of CQRS's differs from the old account it might replace.
/// Empty: it is a faithful replacement.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The names differ: (the old account's, the other's), each `given family`.
    pub names: Option<(String, String)>,
    /// Roles the old account holds that the other does not.
    pub missing: Vec<String>,
    /// Roles the other holds that the old account does not.
    pub extra: Vec<String>,
}

impl Difference {
    /// Same names, exactly the same roles.
    pub fn is_faithful(&self) -> bool {
        self.names.is_none() && self.missing.is_empty() && self.extra.is_empty()
    }

    /// The difference in words, for `verify` and `accounts show`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((old, new)) = &self.names {
            parts.push(format!(
                "names differ (`{old}` here, `{new}` in CQRS's account)"
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!("roles missing: {}", self.missing.join(", ")));
        }
        if !self.extra.is_empty() {
            parts.push(format!("roles extra: {}", self.extra.join(", ")));
        }
        parts.join("; ")
    }
}

/// Whether an account may be a replacement at all: active, not superseded
/// (by a replacement made here), and not itself a replacement made here (a
/// replacement made here is the tool's own, never CQRS's).
pub fn may_replace(status: Status, superseded: bool, made_here: bool) -> bool {
    status == Status::Active && !superseded && !made_here
}

/// A role's key for the comparison: the organisation (trimmed, ASCII case
/// folded, as the match compares codes), the role, and the restrictions as
/// a sorted set.
fn key(g: &Grant<'_>) -> (String, Role, Vec<String>) {
    let listed: Vec<&str> = match g.payment_types {
        PaymentTypes::Joined(text) => text.split(';').collect(),
        PaymentTypes::Split(list) => list.iter().map(String::as_str).collect(),
    };
    let mut types: Vec<String> = listed
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    types.sort_unstable();
    types.dedup();
    (g.ods_code.trim().to_ascii_uppercase(), g.role, types)
}

fn describe(key: &(String, Role, Vec<String>)) -> String {
    let (code, role, types) = key;
    if types.is_empty() {
        format!("{code} {role}")
    } else {
        format!("{code} {role} [{}]", types.join(";"))
    }
}

/// How `new` differs from `old`: names compared as the match compares them
/// (trimmed, without regard to case), roles as sets of (organisation, role,
/// payment-type restrictions).
pub fn difference(old: &Person<'_>, new: &Person<'_>) -> Difference {
    let names = (!(same_name(old.given_name, new.given_name)
        && same_name(old.family_name, new.family_name)))
    .then(|| {
        (
            format!("{} {}", old.given_name.trim(), old.family_name.trim()),
            format!("{} {}", new.given_name.trim(), new.family_name.trim()),
        )
    });
    let sorted = |p: &Person<'_>| {
        let mut keys: Vec<_> = p.grants.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    };
    let (old_keys, new_keys) = (sorted(old), sorted(new));
    let missing = old_keys
        .iter()
        .filter(|k| new_keys.binary_search(k).is_err())
        .map(describe)
        .collect();
    let extra = new_keys
        .iter()
        .filter(|k| old_keys.binary_search(k).is_err())
        .map(describe)
        .collect();
    Difference {
        names,
        missing,
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(code: &'static str, role: Role, types: &'static str) -> Grant<'static> {
        Grant {
            ods_code: code,
            role,
            payment_types: PaymentTypes::Joined(types),
        }
    }

    fn person(
        given: &'static str,
        family: &'static str,
        grants: &[Grant<'static>],
    ) -> Person<'static> {
        Person {
            given_name: given,
            family_name: family,
            grants: grants.to_vec(),
        }
    }

    #[test]
    fn the_same_names_and_roles_are_a_faithful_replacement() {
        let old = person(
            "Jo",
            "Bloggs",
            &[
                grant("F82001", Role::View, ""),
                grant("F82002", Role::ServiceManagement, "QOF;DES"),
            ],
        );
        // Order, case, padding and the order of restrictions do not matter.
        let new = person(
            " JO",
            "bloggs ",
            &[
                grant("f82002 ", Role::ServiceManagement, "DES; QOF"),
                grant("F82001", Role::View, ""),
            ],
        );
        let d = difference(&old, &new);
        assert!(d.is_faithful(), "{d:?}");
        assert_eq!(d.describe(), "");
    }

    #[test]
    fn other_names_or_roles_are_not() {
        let old = person(
            "Jo",
            "Bloggs",
            &[
                grant("F82001", Role::View, ""),
                grant("F82001", Role::ServiceManagement, "QOF"),
            ],
        );
        let fewer = person("Jo", "Bloggs", &[grant("F82001", Role::View, "")]);
        let d = difference(&old, &fewer);
        assert!(!d.is_faithful());
        assert_eq!(d.missing, ["F82001 service-management [QOF]"]);
        assert!(d.extra.is_empty() && d.names.is_none());
        assert_eq!(
            d.describe(),
            "roles missing: F82001 service-management [QOF]"
        );

        let other_types = person(
            "Jo",
            "Bloggs",
            &[
                grant("F82001", Role::View, ""),
                grant("F82001", Role::ServiceManagement, "DES"),
            ],
        );
        let d = difference(&old, &other_types);
        assert_eq!(d.missing, ["F82001 service-management [QOF]"]);
        assert_eq!(d.extra, ["F82001 service-management [DES]"]);

        let renamed = person("Joanne", "Bloggs", &old.grants);
        let d = difference(&old, &renamed);
        assert_eq!(d.names, Some(("Jo Bloggs".into(), "Joanne Bloggs".into())));
        assert_eq!(
            d.describe(),
            "names differ (`Jo Bloggs` here, `Joanne Bloggs` in CQRS's account)"
        );

        let more = person(
            "Jo",
            "Bloggs",
            &[old.grants[0], old.grants[1], grant("Y58", Role::View, "")],
        );
        assert_eq!(difference(&old, &more).extra, ["Y58 view"]);
    }

    #[test]
    fn only_an_active_account_of_cqrs_may_replace() {
        assert!(may_replace(Status::Active, false, false));
        assert!(!may_replace(Status::Disabled, false, false));
        assert!(!may_replace(Status::Active, true, false));
        assert!(!may_replace(Status::Active, false, true));
    }
}
