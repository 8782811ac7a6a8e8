//! The look-up keys of the PostgreSQL store (migration 7): `accounts.email_key`
//! is `hashtextextended(lower(btrim(email)), 0)` and `directory.address_key`
//! is `hashtextextended(lower(address), 0)`, each indexed as a plain bigint.
//!
//! They replace the expression indexes on `lower(btrim(email))` and
//! `lower(address)`, whose builds were the largest part of a first import
//! (a million accounts: 2.5 s of the server's time to evaluate and sort the
//! texts, against 1.0 s for the bigints; 1.4 million directory entries: 3.4
//! s against 1.4 s). A trigger computes them for every row written any
//! other way (replacements, `store copy`, psql); a first import sends them
//! with each row instead, computed here, with the trigger set aside for the
//! load, once the server has been seen to compute the same values (see
//! [`probes`]). Every look-up also compares the text itself, so two
//! addresses sharing a key are never confused.
//!
//! `hashtextextended` of a text in a deterministic collation is
//! PostgreSQL's `hash_bytes_extended` (Bob Jenkins' lookup3, as in
//! `src/common/hashfn.c`) over its bytes with seed 0; [`pg_hash`] is that
//! function as a little-endian server computes it.

/// `hash_bytes_extended(k, len, 0)` of PostgreSQL, over bytes transformed
/// by `byte` on the way (the ASCII lower-casing of `lower()` under the C
/// collation), without building the transformed text.
fn pg_hash_with(k: &[u8], byte: impl Fn(u8) -> u8) -> i64 {
    let at = |i: usize| u32::from(byte(k[i]));
    let word = |i: usize| at(i) | (at(i + 1) << 8) | (at(i + 2) << 16) | (at(i + 3) << 24);
    let init = 0x9e37_79b9_u32
        .wrapping_add(k.len() as u32)
        .wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut p = 0;
    let mut len = k.len();
    while len >= 12 {
        a = a.wrapping_add(word(p));
        b = b.wrapping_add(word(p + 4));
        c = c.wrapping_add(word(p + 8));
        mix(&mut a, &mut b, &mut c);
        p += 12;
        len -= 12;
    }
    // The last 11 bytes or fewer, little-endian; the lowest byte of c is
    // left for the length.
    for i in (0..len).rev() {
        let v = at(p + i);
        match i {
            8..=10 => c = c.wrapping_add(v << ((i - 7) * 8)),
            4..=7 => b = b.wrapping_add(v << ((i - 4) * 8)),
            _ => a = a.wrapping_add(v << (i * 8)),
        }
    }
    finish(&mut a, &mut b, &mut c);
    ((u64::from(b) << 32) | u64::from(c)) as i64
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// `hashtextextended(text, 0)`.
#[cfg(test)]
fn pg_hash(text: &str) -> i64 {
    pg_hash_with(text.as_bytes(), |b| b)
}

/// `hashtextextended(lower(address), 0)` (`lower` under the C collation:
/// ASCII letters only).
pub(super) fn address_key(address: &str) -> i64 {
    pg_hash_with(address.as_bytes(), |b| b.to_ascii_lowercase())
}

/// `hashtextextended(lower(btrim(email)), 0)` (`btrim` trims spaces only).
pub(super) fn email_key(email: &str) -> i64 {
    address_key(email.trim_matches(' '))
}

/// Texts whose keys the server is asked for before a load sends keys of its
/// own: every length of tail the hash has (0 to 11 bytes past a multiple of
/// 12), capitals, spaces around, and bytes of several-byte characters.
pub(super) fn probes() -> Vec<String> {
    let base = " Sarah.JONES-é€@NHS.net.example.Ü ";
    let mut out: Vec<String> = Vec::new();
    let mut text = String::new();
    for c in base.chars().cycle().take(40) {
        out.push(text.clone());
        text.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_postgresql_s_own() {
        // Values from PostgreSQL 15 (`SELECT hashtextextended(t, 0)`), for
        // texts of each tail length and beyond one block of 12 bytes.
        for (text, key) in [
            ("", -6_939_563_903_564_495_251),
            ("a", 3_591_986_179_850_072_241),
            ("sarah.jones@nhs.net", 7_903_091_382_470_152_614),
            ("0123456789ab", -300_982_144_080_685_429),
            ("é€", 8_458_881_768_722_842_497),
            ("É@x", -3_876_276_948_295_553_156),
        ] {
            assert_eq!(pg_hash(text), key, "{text:?}");
        }
        assert_eq!(
            email_key("  Sarah.Jones@NHS.net "),
            pg_hash("sarah.jones@nhs.net")
        );
        assert_eq!(
            address_key("Sarah.Jones@NHS.net"),
            pg_hash("sarah.jones@nhs.net")
        );
        // Only ASCII letters are lower-cased, as `lower()` under C does.
        assert_eq!(address_key("É@x"), pg_hash("É@x"));
    }
}
