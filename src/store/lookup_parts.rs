//! Which parts of a replacement look-up to load (`Backend::replacement_lookup_parts`).
//!
//! A long plan that is checked and written a batch at a time loads what
//! depends on addresses (directory entries, the accounts holding an address
//! or using it as username) once for the whole plan, before anything is
//! written: a batch's writes never change those for a later batch's
//! addresses, and one look-up of every address reads the directory in its
//! own order instead of scattered batch by batch. What depends on the
//! accounts (the accounts, their roles, their replacements so far) is
//! loaded per batch, so that only one batch of it is held at a time.

/// The parts of a [`crate::store::ReplacementLookup`] to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupParts {
    /// `accounts`, `roles` and `replacement_counts`.
    pub accounts: bool,
    /// `directory`, `email_owners` and `username_owners`.
    pub addresses: bool,
}

impl LookupParts {
    pub const ALL: LookupParts = LookupParts {
        accounts: true,
        addresses: true,
    };
    pub const ACCOUNTS: LookupParts = LookupParts {
        accounts: true,
        addresses: false,
    };
    pub const ADDRESSES: LookupParts = LookupParts {
        accounts: false,
        addresses: true,
    };
}
