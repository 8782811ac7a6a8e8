//! The directory's look-up key: a 64-bit number for an address, equal for
//! addresses that differ only in ASCII case (as `COLLATE NOCASE` compares
//! them, and as the normal form of rules.md lower-cases them).
//!
//! The directory is a table in the extract's own order with an index on this
//! number, not a table kept in address order: an extract arrives in no
//! particular order, and building an index of 1.4 million numbers costs a
//! fraction of sorting and inserting 1.4 million addresses (docs/store.md).
//!
//! The key is stored, so this function must never change: a test pins its
//! values. It is FNV-1a over the bytes with ASCII letters lower-cased, then
//! MurmurHash3's 64-bit finaliser to spread similar addresses apart. Two
//! different addresses may share a key; every look-up also compares the
//! address itself.

/// The SQL name of [`address_key`], registered on every connection the
/// program opens (the schema migration that added the key uses it too).
pub const SQL_FUNCTION: &str = "cqrs_address_key";

/// The look-up key of an address (see the module's documentation).
pub fn address_key(address: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in address.as_bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as i64
}

/// The SQL name of rules.md's normal form of an address
/// ([`crate::rules::normal_form`]), registered on every connection.
pub const NORMAL_FORM_SQL_FUNCTION: &str = "cqrs_normal_form";

/// The look-up key of an address's normal form (rules.md: ASCII white space
/// trimmed, ASCII letters lower-cased), without building the normal form:
/// `normal_form_key(a) == address_key(&normal_form(a))`.
pub fn normal_form_key(address: &str) -> i64 {
    // address_key lower-cases as it hashes; only the trimming is left to do.
    address_key(crate::rules::address::trim_ascii_whitespace(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_changes() {
        // Stored in every store: a change here would break every look-up in
        // an existing directory. These values are the definition (computed
        // independently, in Python, from the description above).
        assert_eq!(address_key("a@nhs.net"), -9_042_839_882_445_081_673);
        assert_eq!(
            address_key("sarah.jones@nhs.net"),
            -5_280_336_121_393_272_653
        );
    }

    #[test]
    fn the_key_of_the_normal_form_needs_no_normal_form() {
        for address in [
            " Sarah.Jones@NHS.net\t",
            "\u{b}x@nhs.net\r\n",
            "\u{a0}a@nhs.net ",
            "",
            " ",
        ] {
            assert_eq!(
                normal_form_key(address),
                address_key(&crate::rules::normal_form(address)),
                "{address:?}"
            );
        }
    }

    #[test]
    fn ascii_case_does_not_matter_and_nothing_else_is_folded() {
        assert_eq!(
            address_key("Sarah.Jones@NHS.net"),
            address_key("sarah.jones@nhs.net")
        );
        assert_ne!(
            address_key("sarah.jones@nhs.net "),
            address_key("sarah.jones@nhs.net")
        );
        // A Kelvin sign is not a K, and a Cyrillic а is not an a.
        assert_ne!(
            address_key("\u{212a}im@nhs.net"),
            address_key("kim@nhs.net")
        );
        assert_ne!(
            address_key("s\u{0430}rah@nhs.net"),
            address_key("sarah@nhs.net")
        );
    }
}
