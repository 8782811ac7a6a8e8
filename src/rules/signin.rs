//! What a person sees when signing in on cutover day (rules.md, "Sign-in").

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
pub enum SigninOutcome {
    NhsmailFailure,
    AuthenticationError,
    MessageCentre(String),
    Ambiguous(Vec<String>),
}

impl SigninOutcome {
    /// The `outcome` of `signin --format json` (cli.md).
    pub fn as_str(&self) -> &'static str {
        match self {
            SigninOutcome::NhsmailFailure => "nhsmail-failure",
            SigninOutcome::AuthenticationError => "authentication-error",
            SigninOutcome::MessageCentre(_) => "message-centre",
            SigninOutcome::Ambiguous(_) => "ambiguous",
        }
    }

    /// The accounts CQRS would sign the person in to (empty if none).
    pub fn account_ids(&self) -> &[String] {
        match self {
            SigninOutcome::MessageCentre(id) => std::slice::from_ref(id),
            SigninOutcome::Ambiguous(ids) => ids,
            SigninOutcome::NhsmailFailure | SigninOutcome::AuthenticationError => &[],
        }
    }

    /// What the person sees on screen. The first two are the words of the
    /// NHSmail and CQRS pages in the CQRS single sign-on user guide, so the
    /// operator can recognise what a caller reads out.
    pub fn screen(&self) -> &'static str {
        match self {
            SigninOutcome::NhsmailFailure => {
                "NHSmail sign-in fails: \"Incorrect user ID or password. Type the correct \
                 user ID and password, and try again.\""
            }
            SigninOutcome::AuthenticationError => {
                "CQRS shows \"Authentication Error — We seem to be having trouble \
                 authenticating your account. Please try again. If you continue to receive \
                 this error, please contact the CQRS Help Desk.\""
            }
            SigninOutcome::MessageCentre(_) => {
                "The CQRS message centre, signed in to their account with its roles; they \
                 can use CQRS as normal."
            }
            SigninOutcome::Ambiguous(_) => {
                "More than one CQRS account has this address, so CQRS cannot tell which \
                 account is theirs."
            }
        }
    }

    /// What the person (or someone for them) must do.
    pub fn next_step(&self) -> &'static str {
        match self {
            SigninOutcome::NhsmailFailure => {
                "This address cannot sign in to NHSmail: request an NHSmail account through \
                 the usual NHS process, or sign in with the NHSmail address they already have."
            }
            SigninOutcome::AuthenticationError => {
                "No CQRS account has this address: contact their commissioner (or regional \
                 office) to have a new account set up with this NHSmail address."
            }
            SigninOutcome::MessageCentre(_) => "Nothing: sign-in will work.",
            SigninOutcome::Ambiguous(_) => {
                "A CQRS administrator must resolve the duplicate accounts before cutover, so \
                 that only one account that is neither superseded nor disabled has this address."
            }
        }
    }
}

/// What a person signing in with an address will see. `directory` is what the
/// directory holds for the address; `live_account_ids` the accounts, neither
/// superseded nor disabled, whose email has the same normal form.
pub fn signin_outcome(
    directory: Option<super::DirectoryFacts>,
    live_account_ids: &[String],
) -> SigninOutcome {
    if !directory.is_some_and(|d| d.is_active_personal()) {
        return SigninOutcome::NhsmailFailure;
    }
    let mut ids = live_account_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    match <[String; 1]>::try_from(ids) {
        Ok([only]) => SigninOutcome::MessageCentre(only),
        Err(ids) if ids.is_empty() => SigninOutcome::AuthenticationError,
        Err(ids) => SigninOutcome::Ambiguous(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::super::DirectoryFacts;
    use super::*;
    use crate::model::{MailboxType, Status};

    fn dir(status: Status, mailbox_type: MailboxType) -> Option<DirectoryFacts> {
        Some(DirectoryFacts {
            status,
            mailbox_type,
        })
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn nhsmail_fails_unless_active_personal() {
        for directory in [
            None,
            dir(Status::Disabled, MailboxType::Personal),
            dir(Status::Active, MailboxType::Shared),
            dir(Status::Disabled, MailboxType::Shared),
        ] {
            // Even an account with the address does not help.
            assert_eq!(
                signin_outcome(directory, &ids(&["1"])),
                SigninOutcome::NhsmailFailure
            );
        }
    }

    #[test]
    fn cqrs_outcomes() {
        let active = dir(Status::Active, MailboxType::Personal);
        assert_eq!(
            signin_outcome(active, &[]),
            SigninOutcome::AuthenticationError
        );
        assert_eq!(
            signin_outcome(active, &ids(&["42"])),
            SigninOutcome::MessageCentre("42".into())
        );
        assert_eq!(
            signin_outcome(active, &ids(&["9", "10", "1"])),
            SigninOutcome::Ambiguous(ids(&["1", "10", "9"]))
        );
        // The same account counted twice is still one account.
        assert_eq!(
            signin_outcome(active, &ids(&["42", "42"])),
            SigninOutcome::MessageCentre("42".into())
        );
    }

    #[test]
    fn spellings_and_words() {
        let all = [
            SigninOutcome::NhsmailFailure,
            SigninOutcome::AuthenticationError,
            SigninOutcome::MessageCentre("1".into()),
            SigninOutcome::Ambiguous(ids(&["1", "2"])),
        ];
        let spellings: Vec<&str> = all.iter().map(SigninOutcome::as_str).collect();
        assert_eq!(
            spellings,
            [
                "nhsmail-failure",
                "authentication-error",
                "message-centre",
                "ambiguous"
            ]
        );
        assert!(all[0].screen().contains("Incorrect user ID or password."));
        assert!(all[1].screen().contains("Authentication Error"));
        assert!(
            all[1]
                .screen()
                .contains("please contact the CQRS Help Desk.")
        );
        assert!(all[2].screen().contains("message centre"));
        assert!(all[0].next_step().contains("request an NHSmail account"));
        assert!(all[1].next_step().contains("commissioner"));
        assert!(all[3].next_step().contains("administrator"));
        for outcome in &all {
            assert!(!outcome.screen().contains("  "));
            assert!(!outcome.next_step().contains("  "));
        }
        assert_eq!(all[0].account_ids(), &[] as &[String]);
        assert_eq!(all[2].account_ids(), ids(&["1"]));
        assert_eq!(all[3].account_ids(), ids(&["1", "2"]));
    }
}
