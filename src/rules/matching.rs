//! The NHSmail match (rules.md, "The NHSmail match").

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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NhsmailMatch {
    Confident(String),
    Ambiguous,
    None,
}

pub fn find_match<'a>(
    _given_name: &str,
    _family_name: &str,
    _role_ods_codes: &[&str],
    _entries: impl IntoIterator<Item = Candidate<'a>>,
) -> NhsmailMatch {
    todo!("rules helper")
}
