//! The ten categories of rules.md: each account gets the first that applies.

use super::address::{DomainClass, domain_class, is_valid};
use crate::model::{MailboxType, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Superseded,
    Disabled,
    InvalidEmail,
    DuplicateEmail,
    Ok,
    SharedMailbox,
    NhsmailDisabled,
    NotInDirectory,
    NhsUkDomain,
    OtherDomain,
}

crate::model::spelled_impls!(Category {
    Superseded => "superseded",
    Disabled => "disabled",
    InvalidEmail => "invalid-email",
    DuplicateEmail => "duplicate-email",
    Ok => "ok",
    SharedMailbox => "shared-mailbox",
    NhsmailDisabled => "nhsmail-disabled",
    NotInDirectory => "not-in-directory",
    NhsUkDomain => "nhs-uk-domain",
    OtherDomain => "other-domain",
});

impl Category {
    /// Whether the tool looks for the person's own NHSmail mailbox (rules.md:
    /// categories 4 and 6 to 10). An `ok` account already signs in; a
    /// superseded, disabled or invalid one is not going to be matched to
    /// anything automatically.
    pub fn needs_match(self) -> bool {
        matches!(
            self,
            Category::DuplicateEmail
                | Category::SharedMailbox
                | Category::NhsmailDisabled
                | Category::NotInDirectory
                | Category::NhsUkDomain
                | Category::OtherDomain
        )
    }
}

/// What the directory holds for an account's address, when it holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryFacts {
    pub status: Status,
    pub mailbox_type: crate::model::MailboxType,
}

impl DirectoryFacts {
    /// The only kind of mailbox that can sign in to NHSmail.
    pub fn is_active_personal(self) -> bool {
        self.status == Status::Active && self.mailbox_type == MailboxType::Personal
    }
}

/// The account's category. `duplicate` says whether another account that is
/// neither superseded nor disabled has the same address; `directory` is what the
/// directory holds for the address (normal form), if anything.
pub fn categorise(
    superseded: bool,
    status: Status,
    email: &str,
    duplicate: bool,
    directory: Option<DirectoryFacts>,
) -> Category {
    if superseded {
        return Category::Superseded;
    }
    if status == Status::Disabled {
        return Category::Disabled;
    }
    if !is_valid(email) {
        return Category::InvalidEmail;
    }
    if duplicate {
        return Category::DuplicateEmail;
    }
    match domain_class(email) {
        DomainClass::NhsNet => match directory {
            None => Category::NotInDirectory,
            // A shared mailbox cannot sign in whatever its status, and what the
            // user must do (get a personal address) does not depend on it.
            Some(d) if d.mailbox_type == MailboxType::Shared => Category::SharedMailbox,
            Some(d) if d.status == Status::Active => Category::Ok,
            Some(_) => Category::NhsmailDisabled,
        },
        DomainClass::NhsUk => Category::NhsUkDomain,
        DomainClass::Other => Category::OtherDomain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;
    use MailboxType::{Personal, Shared};
    use Status::{Active, Disabled as Off};

    const GOOD: &str = "jo.bloggs@nhs.net";

    fn dir(status: Status, mailbox_type: MailboxType) -> Option<DirectoryFacts> {
        Some(DirectoryFacts {
            status,
            mailbox_type,
        })
    }

    fn active() -> Option<DirectoryFacts> {
        dir(Active, Personal)
    }

    #[test]
    fn superseded_comes_first() {
        assert_eq!(categorise(true, Active, GOOD, false, active()), Superseded);
        assert_eq!(categorise(true, Off, "bad", true, None), Superseded);
    }

    #[test]
    fn disabled_comes_before_email_checks() {
        assert_eq!(categorise(false, Off, GOOD, false, active()), Disabled);
        assert_eq!(
            categorise(false, Off, "not an address", false, None),
            Disabled
        );
        assert_eq!(categorise(false, Off, GOOD, true, active()), Disabled);
    }

    #[test]
    fn invalid_email_comes_before_duplicate() {
        assert_eq!(
            categorise(false, Active, "jo.bloggѕ@nhs.net", true, active()),
            InvalidEmail
        );
        assert_eq!(
            categorise(false, Active, "jo..bloggs@nhs.net", false, None),
            InvalidEmail
        );
    }

    #[test]
    fn duplicate_comes_before_directory_checks() {
        assert_eq!(
            categorise(false, Active, GOOD, true, active()),
            DuplicateEmail
        );
        assert_eq!(
            categorise(false, Active, "jo@trust.nhs.uk", true, None),
            DuplicateEmail
        );
    }

    #[test]
    fn ok_needs_an_active_personal_mailbox() {
        assert_eq!(categorise(false, Active, GOOD, false, active()), Ok);
        assert_eq!(
            categorise(false, Active, "  Jo.Bloggs@NHS.NET ", false, active()),
            Ok
        );
    }

    #[test]
    fn shared_mailbox_whatever_its_status() {
        assert_eq!(
            categorise(false, Active, GOOD, false, dir(Active, Shared)),
            SharedMailbox
        );
        assert_eq!(
            categorise(false, Active, GOOD, false, dir(Off, Shared)),
            SharedMailbox
        );
    }

    #[test]
    fn disabled_personal_mailbox() {
        assert_eq!(
            categorise(false, Active, GOOD, false, dir(Off, Personal)),
            NhsmailDisabled
        );
    }

    #[test]
    fn nhs_net_not_in_directory() {
        assert_eq!(categorise(false, Active, GOOD, false, None), NotInDirectory);
    }

    #[test]
    fn other_domains_ignore_the_directory() {
        assert_eq!(
            categorise(false, Active, "jo@trust.nhs.uk", false, None),
            NhsUkDomain
        );
        assert_eq!(
            categorise(false, Active, "jo@nhs.uk", false, active()),
            NhsUkDomain
        );
        assert_eq!(
            categorise(false, Active, "jo@nhs.net.evil.com", false, active()),
            OtherDomain
        );
        assert_eq!(
            categorise(false, Active, "jo@xnhs.uk", false, None),
            OtherDomain
        );
        assert_eq!(
            categorise(false, Active, "jo@gmail.com", false, None),
            OtherDomain
        );
    }

    #[test]
    fn spellings_round_trip() {
        assert_eq!(Category::ALL.len(), 10);
        for &c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(
                serde_json::to_string(&c).expect("serialises"),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(Category::parse("Ok"), None);
        assert_eq!(DuplicateEmail.as_str(), "duplicate-email");
        assert_eq!(NhsmailDisabled.as_str(), "nhsmail-disabled");
        assert_eq!(NhsUkDomain.as_str(), "nhs-uk-domain");
        assert!(Category::spellings().starts_with("superseded, disabled, invalid-email"));
    }

    #[test]
    fn all_is_in_rules_order() {
        let mut sorted = Category::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Category::ALL);
        assert_eq!(Category::ALL[0], Superseded);
        assert_eq!(Category::ALL[9], OtherDomain);
    }

    #[test]
    fn match_is_looked_for_in_categories_4_and_6_to_10() {
        let looked_for: Vec<usize> = Category::ALL
            .iter()
            .enumerate()
            .filter(|(_, c)| c.needs_match())
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(looked_for, [4, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn active_personal() {
        assert!(
            DirectoryFacts {
                status: Active,
                mailbox_type: Personal
            }
            .is_active_personal()
        );
        assert!(
            !DirectoryFacts {
                status: Off,
                mailbox_type: Personal
            }
            .is_active_personal()
        );
        assert!(
            !DirectoryFacts {
                status: Active,
                mailbox_type: Shared
            }
            .is_active_personal()
        );
    }
}
