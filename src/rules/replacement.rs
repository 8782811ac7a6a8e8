//! The checks a replacement account must pass (rules.md, "Replacement accounts").
//!
//! Only the decision lives here; creating the account, copying its roles and
//! writing the change log belong to the store.

use super::DirectoryFacts;
use super::address::{DomainClass, domain_class, is_valid, same_name};
use crate::model::{MailboxType, Status};

/// Everything the rules need to know to allow or refuse one replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplacementFacts<'a> {
    pub old_exists: bool,
    pub old_status: Option<Status>,
    /// Whether the old account has been superseded; `old_replaced_by` says by
    /// which account when known. Either one marks it superseded.
    pub old_superseded: bool,
    pub old_replaced_by: Option<&'a str>,
    pub old_given_name: &'a str,
    pub old_family_name: &'a str,
    pub new_email: &'a str,
    /// What the directory holds for the new address, with the entry's given
    /// and family names.
    pub directory: Option<(DirectoryFacts, &'a str, &'a str)>,
    /// The id of an account (of any status) that already has the new address.
    pub address_on_account: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub holds_admin_role: bool,
    pub admin_acknowledged: bool,
}

/// Why a replacement is refused: one variant per rule, each message saying
/// what is wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the account does not exist: check the account id")]
    OldAccountMissing,
    #[error(
        "the account is disabled: only an active account can be replaced; \
         enable it first if the user still needs access"
    )]
    OldAccountNotActive,
    #[error("{}", superseded_message(.replaced_by.as_deref()))]
    AlreadySuperseded { replaced_by: Option<String> },
    #[error(
        "the address {address:?} is not a valid email address: check the address with the user"
    )]
    NewAddressInvalid { address: String },
    #[error(
        "the address {address:?} is not an nhs.net address: only an NHSmail address can \
         sign in by NHSmail"
    )]
    NewAddressNotNhsNet { address: String },
    #[error(
        "the address {address:?} is not held by the NHSmail directory as an active personal \
         mailbox ({found}): check the address with the user"
    )]
    NotActivePersonalMailbox {
        address: String,
        /// What the directory holds instead, in words.
        found: &'static str,
    },
    #[error(
        "the address {address:?} is already on account {account_id}: an address can be on \
         only one account; check whether that account is already the user's"
    )]
    AddressOnAccount { address: String, account_id: String },
    #[error(
        "the directory entry's names ({directory_given} {directory_family}) differ from the \
         account's ({account_given} {account_family}): give --reason to record a name change"
    )]
    NamesDiffer {
        directory_given: String,
        directory_family: String,
        account_given: String,
        account_family: String,
    },
    #[error(
        "the account holds an administrator role: review it and acknowledge with --allow-admin"
    )]
    AdministratorNotAcknowledged,
}

fn superseded_message(replaced_by: Option<&str>) -> String {
    match replaced_by {
        Some(id) => format!(
            "the account is already superseded by account {id}: replace that account \
             instead, or revert the replacement first"
        ),
        None => "the account is already superseded: replace its replacement instead, or \
                 revert the replacement first"
            .to_owned(),
    }
}

/// Every rule the replacement breaks, in rules.md's order; empty means allowed.
/// For a missing account the rules about the account (its status, names and
/// roles) cannot be judged and are left out, but the new address is still
/// checked, so that a refused plan names every problem of a line at once.
pub fn check_replacement(f: &ReplacementFacts) -> Vec<Refusal> {
    let mut refusals = Vec::new();

    if !f.old_exists {
        refusals.push(Refusal::OldAccountMissing);
    } else if f.old_status != Some(Status::Active) {
        refusals.push(Refusal::OldAccountNotActive);
    }
    if f.old_superseded || f.old_replaced_by.is_some() {
        refusals.push(Refusal::AlreadySuperseded {
            replaced_by: f.old_replaced_by.map(str::to_owned),
        });
    }

    let address = || f.new_email.to_owned();
    if !is_valid(f.new_email) {
        refusals.push(Refusal::NewAddressInvalid { address: address() });
    }
    if domain_class(f.new_email) != DomainClass::NhsNet {
        refusals.push(Refusal::NewAddressNotNhsNet { address: address() });
    }
    let found = match f.directory {
        None => Some("it is not in the directory"),
        Some((d, _, _)) if d.mailbox_type == MailboxType::Shared => Some("it is a shared mailbox"),
        Some((d, _, _)) if d.status != Status::Active => Some("the mailbox is disabled"),
        Some(_) => None,
    };
    if let Some(found) = found {
        refusals.push(Refusal::NotActivePersonalMailbox {
            address: address(),
            found,
        });
    }

    if let Some(account_id) = f.address_on_account {
        refusals.push(Refusal::AddressOnAccount {
            address: address(),
            account_id: account_id.to_owned(),
        });
    }

    if let Some((_, given, family)) = f.directory.filter(|_| f.old_exists) {
        let names_equal =
            same_name(given, f.old_given_name) && same_name(family, f.old_family_name);
        let has_reason = f.reason.is_some_and(|r| !r.trim().is_empty());
        if !names_equal && !has_reason {
            refusals.push(Refusal::NamesDiffer {
                directory_given: given.trim().to_owned(),
                directory_family: family.trim().to_owned(),
                account_given: f.old_given_name.trim().to_owned(),
                account_family: f.old_family_name.trim().to_owned(),
            });
        }
    }

    if f.old_exists && f.holds_admin_role && !f.admin_acknowledged {
        refusals.push(Refusal::AdministratorNotAcknowledged);
    }
    refusals
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIVE_PERSONAL: DirectoryFacts = DirectoryFacts {
        status: Status::Active,
        mailbox_type: MailboxType::Personal,
    };

    fn allowed() -> ReplacementFacts<'static> {
        ReplacementFacts {
            old_exists: true,
            old_status: Some(Status::Active),
            old_superseded: false,
            old_replaced_by: None,
            old_given_name: "Jo",
            old_family_name: "Bloggs",
            new_email: "jo.bloggs@nhs.net",
            directory: Some((ACTIVE_PERSONAL, "Jo", "Bloggs")),
            address_on_account: None,
            reason: None,
            holds_admin_role: false,
            admin_acknowledged: false,
        }
    }

    #[test]
    fn a_clean_replacement_is_allowed() {
        assert_eq!(check_replacement(&allowed()), []);
    }

    #[test]
    fn a_missing_account_still_has_its_address_checked() {
        let f = ReplacementFacts {
            old_exists: false,
            old_status: None,
            new_email: "bad",
            directory: None,
            holds_admin_role: true,
            ..allowed()
        };
        let address = || "bad".to_string();
        assert_eq!(
            check_replacement(&f),
            [
                Refusal::OldAccountMissing,
                Refusal::NewAddressInvalid { address: address() },
                Refusal::NewAddressNotNhsNet { address: address() },
                Refusal::NotActivePersonalMailbox {
                    address: address(),
                    found: "it is not in the directory"
                },
            ]
        );
        // Nothing about the account itself (names, roles) is judged.
        let f = ReplacementFacts {
            old_exists: false,
            old_status: None,
            directory: Some((ACTIVE_PERSONAL, "Someone", "Else")),
            holds_admin_role: true,
            ..allowed()
        };
        assert_eq!(check_replacement(&f), [Refusal::OldAccountMissing]);
    }

    #[test]
    fn the_old_account_must_be_active() {
        let f = ReplacementFacts {
            old_status: Some(Status::Disabled),
            ..allowed()
        };
        assert_eq!(check_replacement(&f), [Refusal::OldAccountNotActive]);
        let f = ReplacementFacts {
            old_status: None,
            ..allowed()
        };
        assert_eq!(check_replacement(&f), [Refusal::OldAccountNotActive]);
    }

    #[test]
    fn the_old_account_must_not_be_superseded() {
        let f = ReplacementFacts {
            old_superseded: true,
            old_replaced_by: Some("A-2"),
            ..allowed()
        };
        let refusals = check_replacement(&f);
        assert_eq!(
            refusals,
            [Refusal::AlreadySuperseded {
                replaced_by: Some("A-2".into())
            }]
        );
        assert!(
            refusals[0]
                .to_string()
                .contains("superseded by account A-2")
        );

        // Either field alone marks it superseded.
        let f = ReplacementFacts {
            old_replaced_by: Some("A-2"),
            ..allowed()
        };
        assert_eq!(check_replacement(&f).len(), 1);
        let f = ReplacementFacts {
            old_superseded: true,
            ..allowed()
        };
        let refusals = check_replacement(&f);
        assert_eq!(refusals, [Refusal::AlreadySuperseded { replaced_by: None }]);
        assert!(
            refusals[0]
                .to_string()
                .starts_with("the account is already superseded:")
        );
    }

    #[test]
    fn the_new_address_must_be_valid() {
        let f = ReplacementFacts {
            new_email: "jo.bloggѕ@nhs.net",
            ..allowed()
        };
        assert_eq!(
            check_replacement(&f),
            [Refusal::NewAddressInvalid {
                address: "jo.bloggѕ@nhs.net".into()
            }]
        );
    }

    #[test]
    fn the_new_address_must_be_nhs_net() {
        let f = ReplacementFacts {
            new_email: "jo.bloggs@trust.nhs.uk",
            ..allowed()
        };
        assert_eq!(
            check_replacement(&f),
            [Refusal::NewAddressNotNhsNet {
                address: "jo.bloggs@trust.nhs.uk".into()
            }]
        );
        // Case and surrounding space are fine.
        let f = ReplacementFacts {
            new_email: " Jo.Bloggs@NHS.NET ",
            ..allowed()
        };
        assert_eq!(check_replacement(&f), []);
    }

    #[test]
    fn the_new_address_must_be_an_active_personal_mailbox() {
        let cases = [
            (None, "it is not in the directory"),
            (
                Some((
                    DirectoryFacts {
                        status: Status::Disabled,
                        mailbox_type: MailboxType::Personal,
                    },
                    "Jo",
                    "Bloggs",
                )),
                "the mailbox is disabled",
            ),
            (
                Some((
                    DirectoryFacts {
                        status: Status::Disabled,
                        mailbox_type: MailboxType::Shared,
                    },
                    "Jo",
                    "Bloggs",
                )),
                "it is a shared mailbox",
            ),
        ];
        for (directory, found) in cases {
            let f = ReplacementFacts {
                directory,
                ..allowed()
            };
            let refusals = check_replacement(&f);
            assert_eq!(
                refusals,
                [Refusal::NotActivePersonalMailbox {
                    address: "jo.bloggs@nhs.net".into(),
                    found
                }]
            );
            assert!(
                refusals[0]
                    .to_string()
                    .contains("check the address with the user")
            );
        }
    }

    #[test]
    fn no_account_may_already_have_the_address() {
        let f = ReplacementFacts {
            address_on_account: Some("A-9"),
            ..allowed()
        };
        let refusals = check_replacement(&f);
        assert_eq!(
            refusals,
            [Refusal::AddressOnAccount {
                address: "jo.bloggs@nhs.net".into(),
                account_id: "A-9".into()
            }]
        );
        assert!(refusals[0].to_string().contains("account A-9"));
    }

    #[test]
    fn names_must_match_unless_a_reason_is_given() {
        let renamed = ReplacementFacts {
            directory: Some((ACTIVE_PERSONAL, "Jo", "Smith")),
            ..allowed()
        };
        let refusals = check_replacement(&renamed);
        assert_eq!(refusals.len(), 1);
        let message = refusals[0].to_string();
        assert!(message.contains("(Jo Smith)") && message.contains("(Jo Bloggs)"));
        assert!(message.contains("--reason"));

        for blank in [Some(""), Some("  \t")] {
            let f = ReplacementFacts {
                reason: blank,
                ..renamed
            };
            assert_eq!(check_replacement(&f).len(), 1, "blank reason {blank:?}");
        }
        let f = ReplacementFacts {
            reason: Some("married"),
            ..renamed
        };
        assert_eq!(check_replacement(&f), []);

        // Names compare trimmed and case-insensitively.
        let f = ReplacementFacts {
            directory: Some((ACTIVE_PERSONAL, " JO ", "bloggs")),
            ..allowed()
        };
        assert_eq!(check_replacement(&f), []);
        // A different given name alone is a difference too.
        let f = ReplacementFacts {
            directory: Some((ACTIVE_PERSONAL, "Joanne", "Bloggs")),
            ..allowed()
        };
        assert_eq!(check_replacement(&f).len(), 1);
    }

    #[test]
    fn administrators_need_an_acknowledgement() {
        let f = ReplacementFacts {
            holds_admin_role: true,
            ..allowed()
        };
        let refusals = check_replacement(&f);
        assert_eq!(refusals, [Refusal::AdministratorNotAcknowledged]);
        assert!(refusals[0].to_string().contains("--allow-admin"));
        let f = ReplacementFacts {
            holds_admin_role: true,
            admin_acknowledged: true,
            ..allowed()
        };
        assert_eq!(check_replacement(&f), []);
    }

    #[test]
    fn every_refusal_in_rules_order() {
        let f = ReplacementFacts {
            old_exists: true,
            old_status: Some(Status::Disabled),
            old_superseded: true,
            old_replaced_by: Some("A-2"),
            old_given_name: "Jo",
            old_family_name: "Bloggs",
            new_email: "jo smith@gmail.com",
            directory: Some((
                DirectoryFacts {
                    status: Status::Active,
                    mailbox_type: MailboxType::Shared,
                },
                "Jo",
                "Smith",
            )),
            address_on_account: Some("A-3"),
            reason: None,
            holds_admin_role: true,
            admin_acknowledged: false,
        };
        let address = "jo smith@gmail.com".to_owned();
        assert_eq!(
            check_replacement(&f),
            [
                Refusal::OldAccountNotActive,
                Refusal::AlreadySuperseded {
                    replaced_by: Some("A-2".into())
                },
                Refusal::NewAddressInvalid {
                    address: address.clone()
                },
                Refusal::NewAddressNotNhsNet {
                    address: address.clone()
                },
                Refusal::NotActivePersonalMailbox {
                    address: address.clone(),
                    found: "it is a shared mailbox"
                },
                Refusal::AddressOnAccount {
                    address,
                    account_id: "A-3".into()
                },
                Refusal::NamesDiffer {
                    directory_given: "Jo".into(),
                    directory_family: "Smith".into(),
                    account_given: "Jo".into(),
                    account_family: "Bloggs".into(),
                },
                Refusal::AdministratorNotAcknowledged,
            ]
        );
    }
}
