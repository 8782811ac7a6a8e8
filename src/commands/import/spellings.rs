//! The values an import accepts beside the tool's own spellings: those
//! Microsoft 365 writes in the directory it exports. Spellings only: each
//! is read as one of the same values, and the rules never see the difference.

use crate::model::{MailboxType, Status};

/// A status as CQRS writes it (`active`, `disabled`) or as Microsoft 365
/// does: `True`/`False` (Entra's `accountEnabled`), `Enabled`/`Disabled`
/// (the admin centres). Only spellings: the rules see the same two states.
/// Matched as written, then lower-cased ([`Checked::spelled`]); CQRS's own
/// spelling is tried first, so its files pay nothing for the others.
pub(super) fn status(text: &str) -> Option<Status> {
    if let Some(status) = Status::parse(text) {
        return Some(status);
    }
    match text {
        "true" | "enabled" => Some(Status::Active),
        "false" => Some(Status::Disabled),
        _ => None,
    }
}

pub(super) fn status_spellings() -> String {
    format!(
        "{}, or as Microsoft 365 writes them: True, False, Enabled, Disabled",
        Status::spellings()
    )
}

/// A mailbox type as the extract writes it (`personal`, `shared`) or as
/// Exchange Online's `RecipientTypeDetails` does: a `UserMailbox` is a
/// person's; a `SharedMailbox`, `RoomMailbox` or `EquipmentMailbox` is no
/// one's, and is treated as shared (it cannot sign in).
pub(super) fn mailbox_type(text: &str) -> Option<MailboxType> {
    if let Some(mailbox) = MailboxType::parse(text) {
        return Some(mailbox);
    }
    match text {
        "usermailbox" => Some(MailboxType::Personal),
        "sharedmailbox" | "roommailbox" | "equipmentmailbox" => Some(MailboxType::Shared),
        _ => None,
    }
}

pub(super) fn mailbox_type_spellings() -> String {
    format!(
        "{}, or as Exchange Online writes them: UserMailbox (personal), SharedMailbox, \
         RoomMailbox, EquipmentMailbox (shared)",
        MailboxType::spellings()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_365_spellings_are_the_same_values() {
        assert_eq!(status("true"), Some(Status::Active));
        assert_eq!(status("enabled"), Some(Status::Active));
        assert_eq!(status("false"), Some(Status::Disabled));
        assert_eq!(status("disabled"), Some(Status::Disabled));
        assert_eq!(status("yes"), None);
        assert_eq!(mailbox_type("usermailbox"), Some(MailboxType::Personal));
        for shared in ["sharedmailbox", "roommailbox", "equipmentmailbox"] {
            assert_eq!(mailbox_type(shared), Some(MailboxType::Shared));
        }
        assert_eq!(mailbox_type("mailuser"), None);
    }
}
