//! Addresses: normal form, validity and domain class (rules.md, "Addresses").

/// Where an address's domain puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainClass {
    NhsNet,
    NhsUk,
    Other,
}

/// The address trimmed, then lower-cased. Two addresses are the same when
/// their normal forms are equal.
pub fn normal_form(address: &str) -> String {
    address.trim().to_lowercase()
}

/// A person's name as compared by the NHSmail match: trimmed, case-insensitive.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Whether the address is valid by rules.md.
pub fn is_valid(_address: &str) -> bool {
    todo!("rules helper")
}

/// The domain class of an address (computed on its normal form).
pub fn domain_class(_address: &str) -> DomainClass {
    todo!("rules helper")
}
