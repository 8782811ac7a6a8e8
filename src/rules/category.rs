//! The ten categories of rules.md: each account gets the first that applies.

use crate::model::Status;

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

/// What the directory holds for an account's address, when it holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryFacts {
    pub status: Status,
    pub mailbox_type: crate::model::MailboxType,
}

/// The account's category. `duplicate` says whether another account that is
/// neither superseded nor disabled has the same address; `directory` is what the
/// directory holds for the address (normal form), if anything.
pub fn categorise(
    _superseded: bool,
    _status: Status,
    _email: &str,
    _duplicate: bool,
    _directory: Option<DirectoryFacts>,
) -> Category {
    todo!("rules helper")
}
