//! What each user must do (rules.md, "What each user must do").

use super::{Category, NhsmailMatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    ContactCommissioner,
    NoNhsmail,
    Administrator,
}

pub fn section_for(_category: Category, _nhsmail_match: &NhsmailMatch) -> Option<Section> {
    todo!("rules helper")
}
