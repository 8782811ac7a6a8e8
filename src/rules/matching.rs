//! The NHSmail match (rules.md, "The NHSmail match").

use super::address::{is_valid, same_address, same_name};
use crate::model::{MailboxType, Status};

/// A directory entry seen as a possible match: only what the match needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub address: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub ods_code: &'a str,
    pub status: crate::model::Status,
    pub mailbox_type: crate::model::MailboxType,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "address")]
pub enum NhsmailMatch {
    Confident(String),
    Ambiguous,
    None,
}

impl NhsmailMatch {
    /// The `match` column of the audit and report (cli.md).
    pub fn as_column(&self) -> &str {
        match self {
            NhsmailMatch::Confident(address) => address,
            NhsmailMatch::Ambiguous => "ambiguous",
            NhsmailMatch::None => "none",
        }
    }
}

/// The person's own NHSmail mailbox among `entries`, if exactly one fits.
///
/// An entry whose address is not valid is never a candidate: a look-alike
/// address (a Cyrillic letter, say) must never be proposed for a replacement.
pub fn find_match<'a>(
    given_name: &str,
    family_name: &str,
    role_ods_codes: &[&str],
    entries: impl IntoIterator<Item = Candidate<'a>>,
) -> NhsmailMatch {
    let mut found: Option<&'a str> = None;
    for entry in entries {
        let candidate = entry.status == Status::Active
            && entry.mailbox_type == MailboxType::Personal
            && same_name(entry.given_name, given_name)
            && same_name(entry.family_name, family_name)
            && role_ods_codes
                .iter()
                .any(|code| code.trim().eq_ignore_ascii_case(entry.ods_code.trim()))
            && is_valid(entry.address);
        if !candidate {
            continue;
        }
        match found {
            None => found = Some(entry.address),
            // The same mailbox listed twice (the extract is unique only
            // case-insensitively) is still one person's mailbox.
            Some(first) if same_address(first, entry.address) => {}
            Some(_) => return NhsmailMatch::Ambiguous,
        }
    }
    match found {
        Some(address) => NhsmailMatch::Confident(address.to_owned()),
        None => NhsmailMatch::None,
    }
}

/// Addresses that might be the person's NHSmail address, to be shown labelled
/// as suggestions to confirm: never plan input.
///
/// In order: the account's local part, without any `+tag`, at `nhs.net`; then
/// `given.family@nhs.net`. Each is in
/// normal form, valid, different from the account's email and from the others.
/// Only `nhs.net` addresses are suggested, since only they can sign in.
pub fn suggestions(email: &str, given_name: &str, family_name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut offer = |candidate: String| {
        if is_valid(&candidate)
            && !same_address(&candidate, email)
            && !out.iter().any(|s| s == &candidate)
        {
            out.push(candidate);
        }
    };

    let trimmed = email.trim();
    if let Some((local, domain)) = trimmed.split_once('@')
        && !domain.contains('@')
    {
        // One suggestion covers both "same local part at nhs.net" and "+tag
        // removed": a plus address receives mail but cannot sign in, so
        // suggesting it with its tag would be suggesting a dead end. For an
        // nhs.net account without a tag this is the email itself, and dropped.
        let local = local.to_lowercase();
        let untagged = local.split_once('+').map_or(local.as_str(), |(u, _tag)| u);
        offer(format!("{untagged}@nhs.net"));
    }

    let (given, family) = (given_name.trim(), family_name.trim());
    if !given.is_empty() && !family.is_empty() {
        offer(format!("{given}.{family}@nhs.net").to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use MailboxType::{Personal, Shared};
    use Status::{Active, Disabled};

    fn entry<'a>(address: &'a str, given: &'a str, family: &'a str, ods: &'a str) -> Candidate<'a> {
        Candidate {
            address,
            given_name: given,
            family_name: family,
            ods_code: ods,
            status: Active,
            mailbox_type: Personal,
        }
    }

    fn confident(a: &str) -> NhsmailMatch {
        NhsmailMatch::Confident(a.to_owned())
    }

    #[test]
    fn one_candidate_is_a_confident_match() {
        let entries = [
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "A81001"),
            entry("sam.bloggs@nhs.net", "Sam", "Bloggs", "A81001"),
        ];
        assert_eq!(
            find_match("Jo", "Bloggs", &["A81001"], entries),
            confident("jo.bloggs@nhs.net")
        );
    }

    #[test]
    fn names_compare_trimmed_and_case_insensitively() {
        let entries = [entry("Jo.Bloggs@NHS.net", " JO ", "bloggs", "A81001")];
        assert_eq!(
            find_match("jo", " Bloggs ", &["A81001"], entries),
            confident("Jo.Bloggs@NHS.net"),
            "the address is returned as the entry has it"
        );
    }

    #[test]
    fn ods_codes_compare_case_insensitively() {
        let entries = [entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "a81001")];
        assert_eq!(
            find_match("Jo", "Bloggs", &["X99999", "A81001"], entries),
            confident("jo.bloggs@nhs.net")
        );
    }

    #[test]
    fn two_candidates_are_ambiguous() {
        let entries = [
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "A81001"),
            entry("jo.bloggs2@nhs.net", "Jo", "Bloggs", "00K"),
        ];
        assert_eq!(
            find_match("Jo", "Bloggs", &["A81001", "00K"], entries),
            NhsmailMatch::Ambiguous
        );
    }

    #[test]
    fn the_same_address_twice_is_one_candidate() {
        let entries = [
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "A81001"),
            entry(" JO.BLOGGS@nhs.net", "Jo", "Bloggs", "A81001"),
        ];
        assert_eq!(
            find_match("Jo", "Bloggs", &["A81001"], entries),
            confident("jo.bloggs@nhs.net")
        );
    }

    #[test]
    fn non_candidates_are_ignored() {
        let mut disabled = entry("jo.disabled@nhs.net", "Jo", "Bloggs", "A81001");
        disabled.status = Disabled;
        let mut shared = entry("practice.admin@nhs.net", "Jo", "Bloggs", "A81001");
        shared.mailbox_type = Shared;
        let entries = [
            disabled,
            shared,
            entry("jo.other@nhs.net", "Jo", "Blogs", "A81001"),
            entry("joe.bloggs@nhs.net", "Joe", "Bloggs", "A81001"),
            entry("jo.elsewhere@nhs.net", "Jo", "Bloggs", "B82002"),
            entry("jo.bloggѕ@nhs.net", "Jo", "Bloggs", "A81001"),
            entry("jo..bloggs@nhs.net", "Jo", "Bloggs", "A81001"),
        ];
        assert_eq!(
            find_match("Jo", "Bloggs", &["A81001"], entries),
            NhsmailMatch::None
        );
        // And each of them, beside the real mailbox, leaves the match confident.
        let real = entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "A81001");
        for other in entries {
            assert_eq!(
                find_match("Jo", "Bloggs", &["A81001"], [other, real]),
                confident("jo.bloggs@nhs.net"),
                "{other:?}"
            );
        }
    }

    #[test]
    fn no_roles_no_match() {
        let entries = [entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "A81001")];
        assert_eq!(find_match("Jo", "Bloggs", &[], entries), NhsmailMatch::None);
        assert_eq!(
            find_match("Jo", "Bloggs", &["A81001"], []),
            NhsmailMatch::None
        );
    }

    #[test]
    fn match_column() {
        assert_eq!(confident("jo@nhs.net").as_column(), "jo@nhs.net");
        assert_eq!(NhsmailMatch::Ambiguous.as_column(), "ambiguous");
        assert_eq!(NhsmailMatch::None.as_column(), "none");
    }

    #[test]
    fn suggestions_for_another_domain() {
        assert_eq!(
            suggestions(" Jo.Bloggs+CQRS@Trust.NHS.uk ", "Jo", "Bloggs"),
            ["jo.bloggs@nhs.net"]
        );
        assert_eq!(
            suggestions("jbloggs@gmail.com", "Jo", "Bloggs"),
            ["jbloggs@nhs.net", "jo.bloggs@nhs.net"]
        );
    }

    #[test]
    fn suggestions_for_nhs_net() {
        assert_eq!(
            suggestions("joe.bloggs1+news@nhs.net", "Joe", "Bloggs"),
            ["joe.bloggs1@nhs.net", "joe.bloggs@nhs.net"]
        );
        // Nothing to suggest but the name, and never the email itself.
        assert_eq!(
            suggestions("Jo.Bloggs@nhs.net", "Jo", "Bloggs"),
            Vec::<String>::new()
        );
        assert_eq!(
            suggestions("jb@nhs.net", "Jo", "Bloggs"),
            ["jo.bloggs@nhs.net"]
        );
    }

    #[test]
    fn suggestions_are_deduplicated() {
        assert_eq!(
            suggestions("jo.bloggs@trust.nhs.uk", " Jo ", "BLOGGS"),
            ["jo.bloggs@nhs.net"]
        );
    }

    #[test]
    fn suggestions_are_always_valid() {
        // A look-alike letter or a space would make the suggestion invalid.
        assert_eq!(
            suggestions("jo.bloggѕ@trust.nhs.uk", "Jo", "Bloggѕ"),
            Vec::<String>::new()
        );
        assert_eq!(
            suggestions("jo@trust.nhs.uk", "Mary Ann", "Smith"),
            ["jo@nhs.net"]
        );
        assert_eq!(
            suggestions("not an address", "", "Smith"),
            Vec::<String>::new()
        );
        assert_eq!(
            suggestions("a@b@nhs.uk", "Jo", "Bloggs"),
            ["jo.bloggs@nhs.net"]
        );
        assert_eq!(suggestions("+tag@nhs.uk", "", ""), Vec::<String>::new());
        assert_eq!(suggestions("jo+@nhs.uk", "", ""), ["jo@nhs.net"]);
    }
}
