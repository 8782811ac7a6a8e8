//! Who an account must contact (rules.md, "Who to contact").

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contact {
    Organisation(String),
    CqrsAdministrator,
}

pub fn contacts_for<'a>(
    _role_ods_codes: &[&str],
    _org: impl Fn(&str) -> Option<(crate::model::OrgKind, Option<&'a str>)>,
) -> Vec<Contact> {
    todo!("rules helper")
}
