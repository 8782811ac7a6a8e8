//! Who an account must contact (rules.md, "Who to contact").

use crate::model::OrgKind;

/// Derived order puts organisations first (by code) and the CQRS
/// administrator last, the order the report lists contacts in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contact {
    Organisation(String),
    CqrsAdministrator,
}

impl Contact {
    /// The `contact_code` the report gives the CQRS administrator, who has no
    /// ODS code. Lower case and hyphenated, so it cannot clash with an ODS code
    /// (upper-case letters and digits).
    pub const ADMINISTRATOR_CODE: &'static str = "cqrs-administrator";

    /// The report's `contact_code`.
    pub fn code(&self) -> &str {
        match self {
            Contact::Organisation(code) => code,
            Contact::CqrsAdministrator => Self::ADMINISTRATOR_CODE,
        }
    }
}

/// The distinct contacts of an account holding roles at `role_ods_codes`
/// (repeats allowed); `org(code)` gives an organisation's kind and parent code.
///
/// Whenever the chain is broken (an unknown organisation, a missing or blank
/// parent, or a parent that is not itself a known organisation, so has no name
/// or contact email to show) the account goes to the CQRS administrator rather
/// than being dropped from the report.
pub fn contacts_for<'a>(
    role_ods_codes: &[&str],
    org: impl Fn(&str) -> Option<(crate::model::OrgKind, Option<&'a str>)>,
) -> Vec<Contact> {
    let mut contacts: Vec<Contact> = role_ods_codes
        .iter()
        .map(|&code| match org(code) {
            Some((OrgKind::Practice | OrgKind::Commissioner, Some(parent)))
                if !parent.trim().is_empty() && org(parent).is_some() =>
            {
                Contact::Organisation(parent.to_owned())
            }
            _ => Contact::CqrsAdministrator,
        })
        .collect();
    if contacts.is_empty() {
        return vec![Contact::CqrsAdministrator];
    }
    contacts.sort_unstable();
    contacts.dedup();
    contacts
}

/// How many near codes an "unknown ODS code" error names.
pub const NEAREST_SHOWN: usize = 3;

/// The codes among `known` nearest to `wanted` (edit distance, case ignored),
/// nearest first and then in code order, at most [`NEAREST_SHOWN`]: what
/// the person probably meant when `wanted` is not a known code.
pub fn nearest_codes<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted = wanted.to_uppercase();
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|code| (strsim::levenshtein(&wanted, &code.to_uppercase()), code))
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(NEAREST_SHOWN)
        .map(|(_, code)| code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(code: &str) -> Option<(OrgKind, Option<&'static str>)> {
        match code {
            "A81001" => Some((OrgKind::Practice, Some("00K"))),
            "A81002" => Some((OrgKind::Practice, Some("00K"))),
            "B82001" => Some((OrgKind::Practice, Some("12A"))),
            "C83001" => Some((OrgKind::Practice, None)),
            "D84001" => Some((OrgKind::Practice, Some(" "))),
            "E85001" => Some((OrgKind::Practice, Some("99Z"))),
            "00K" => Some((OrgKind::Commissioner, Some("Y56"))),
            "12A" => Some((OrgKind::Commissioner, Some("Y58"))),
            "15N" => Some((OrgKind::Commissioner, None)),
            "Y56" | "Y58" => Some((OrgKind::Region, None)),
            "Y99" => Some((OrgKind::Region, Some("Y56"))),
            _ => None,
        }
    }

    fn orgs(codes: &[&str]) -> Vec<Contact> {
        codes
            .iter()
            .map(|c| Contact::Organisation((*c).to_owned()))
            .collect()
    }

    #[test]
    fn practice_contacts_its_commissioner() {
        assert_eq!(contacts_for(&["A81001"], org), orgs(&["00K"]));
    }

    #[test]
    fn commissioner_contacts_its_region() {
        assert_eq!(contacts_for(&["00K"], org), orgs(&["Y56"]));
    }

    #[test]
    fn region_contacts_the_administrator() {
        assert_eq!(contacts_for(&["Y56"], org), [Contact::CqrsAdministrator]);
        // Even if a region somehow has a parent.
        assert_eq!(contacts_for(&["Y99"], org), [Contact::CqrsAdministrator]);
    }

    #[test]
    fn broken_chains_go_to_the_administrator() {
        for code in ["C83001", "D84001", "E85001", "15N", "ZZZ"] {
            assert_eq!(
                contacts_for(&[code], org),
                [Contact::CqrsAdministrator],
                "{code}"
            );
        }
    }

    #[test]
    fn no_roles_go_to_the_administrator() {
        assert_eq!(contacts_for(&[], org), [Contact::CqrsAdministrator]);
    }

    #[test]
    fn distinct_and_sorted_with_the_administrator_last() {
        let contacts = contacts_for(
            &["Y56", "B82001", "A81001", "A81002", "00K", "A81001", "ZZZ"],
            org,
        );
        let mut expected = orgs(&["00K", "12A", "Y56"]);
        expected.push(Contact::CqrsAdministrator);
        assert_eq!(contacts, expected);
    }

    #[test]
    fn nearest_codes_come_nearest_first() {
        let known = ["00K", "12A", "Y56", "Y58", "A81001"];
        assert_eq!(nearest_codes("Y57", known), ["Y56", "Y58", "00K"]);
        assert_eq!(nearest_codes("a81002", known), ["A81001", "00K", "12A"]);
        assert_eq!(nearest_codes("X", ["B"]), ["B"]);
        assert!(nearest_codes("X", []).is_empty());
    }

    #[test]
    fn codes() {
        assert_eq!(Contact::Organisation("00K".into()).code(), "00K");
        assert_eq!(Contact::CqrsAdministrator.code(), "cqrs-administrator");
        assert_eq!(Contact::ADMINISTRATOR_CODE, "cqrs-administrator");
    }
}
