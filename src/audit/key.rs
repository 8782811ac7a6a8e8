//! Keys of texts as the rules compare them, as 128-bit hashes.
//!
//! The audit's indexes (the directory's addresses and its people by name and
//! organisation, the accounts' addresses) keep two independent 64-bit hashes
//! of each key instead of its text: a million addresses would not fit the
//! audit's memory budget otherwise, and a sorted list of fixed-size hashes is
//! built by appending and one sort, with no random access while loading. Two
//! keys are taken as equal when both hashes are, which for different keys
//! happens about once in 2^128 comparisons.
//!
//! The hasher is written here rather than taken from `rustc-hash` (whose
//! FxHasher serves the maps elsewhere) for two measured reasons:
//!
//! - FxHash mixes too little for this: it put about 50 pairs of a million
//!   addresses in one bucket. This one is built on the folded multiply of
//!   wyhash/foldhash, fast on 8-byte words and well mixed even for keys that
//!   differ in one character.
//! - It is fed the key's *normal form* 8 bytes at a time, lower-casing ASCII
//!   in the register ([`ascii_lowercase_word`]) and skipping the trim when
//!   there is nothing to trim, so no lower-cased copy of the text is built
//!   for ASCII (the common case). Text is hashed straight from the store's
//!   bytes, checked to be UTF-8 only where it is not ASCII. Unit tests check
//!   that the words are those of the trimmed, lower-cased text.
//!
//! Lists keyed by these hashes are put in order by [`sort_by_hashes`].

use anyhow::Result;

/// A 64-bit hash built on the folded multiply of wyhash/foldhash (see the
/// module's doc for why it is not FxHash).
#[derive(Clone, Copy)]
struct KeyHasher(u64);

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;

fn fold(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Text as the rules compare it (trimmed, lower-cased) as 8-byte words,
/// without building the lower-cased string for ASCII, the common case; then
/// its length, so ("ab", "c") and ("a", "bc") differ.
fn key_words(text: &str, word: impl FnMut(u64)) {
    let text = text.trim();
    if text.is_ascii() {
        ascii_key_words(text.as_bytes(), word);
    } else {
        ascii_key_words(text.to_lowercase().as_bytes(), word);
    }
}

/// [`key_words`] of text as the store holds it (bytes, not yet checked to be
/// UTF-8): the same words, with no check or copy for ASCII. Text that is not
/// UTF-8 is an error, as it is for every other read of the store.
fn key_words_of_bytes(bytes: &[u8], word: impl FnMut(u64)) -> Result<()> {
    if bytes.is_ascii() {
        // `str::trim` on ASCII text trims exactly what `trim_ascii_space`
        // does; most text has nothing to trim (every ASCII space is below '!').
        let trimmed = match (bytes.first(), bytes.last()) {
            (Some(&first), Some(&last)) if first > b' ' && last > b' ' => bytes,
            _ => trim_ascii_space(bytes),
        };
        ascii_key_words(trimmed, word);
    } else {
        key_words(std::str::from_utf8(bytes)?, word);
    }
    Ok(())
}

/// The words of an address's normal form (rules::normal_form): ASCII white
/// space trimmed, ASCII letters lower-cased, every other byte as it is. Unlike
/// names, a no-break space or a Unicode capital stays part of an address, so
/// a look-alike never equals a real address.
fn address_key_words(bytes: &[u8], word: impl FnMut(u64)) {
    ascii_key_words(trim_ascii_space(bytes), word);
}

/// Trims the ASCII white space `str::trim` trims (space, tab, line feed,
/// vertical tab, form feed, carriage return) from both ends of `bytes`, and
/// nothing else (a no-break space's bytes are not ASCII).
fn trim_ascii_space(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| b.is_ascii() && char::from(*b).is_whitespace();
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// Both hashes of an address's normal form.
pub(super) fn address_hashes(address: &[u8]) -> Hashes {
    let mut h = Hashing::new();
    address_key_words(address, |w| h.word(w));
    h.finish()
}

/// The words of trimmed text whose letters are lower-cased except perhaps
/// ASCII ones: 8 bytes at a time, ASCII letters lower-cased, the last word
/// padded with zeros; then the length.
fn ascii_key_words(bytes: &[u8], mut word: impl FnMut(u64)) {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        word(ascii_lowercase_word(u64::from_le_bytes(w)));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The last bytes, zero-padded: as one load of the last 8 bytes
        // where the text is that long, else byte by byte.
        let w = if bytes.len() >= 8 {
            let mut last = [0u8; 8];
            last.copy_from_slice(&bytes[bytes.len() - 8..]);
            u64::from_le_bytes(last) >> (8 * (8 - rest.len()))
        } else {
            rest.iter()
                .enumerate()
                .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
        };
        word(ascii_lowercase_word(w));
    }
    word(bytes.len() as u64 | 0xff00_0000_0000_0000);
}

/// `to_ascii_lowercase` of each of the 8 bytes of `w` at once.
fn ascii_lowercase_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = w & (0x7f * ONES);
    // The top bit of each byte: its low 7 bits are >= 'A', and > 'Z'.
    let at_least_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let above_z = low7 + (0x7f - u64::from(b'Z')) * ONES;
    let upper = at_least_a & !above_z & !w & (0x80 * ONES);
    w | (upper >> 2)
}

impl KeyHasher {
    fn new(seed: u64) -> KeyHasher {
        KeyHasher(fold(seed ^ K0, K1))
    }

    fn word(&mut self, w: u64) {
        self.0 = fold(self.0 ^ w ^ K0, K1 ^ self.0.rotate_left(17));
    }

    fn finish(self) -> u64 {
        fold(self.0, K0 ^ 0x5555_5555_5555_5555)
    }
}

/// Two independent 64-bit hashes of a key. The index keeps hashes, not the
/// keys themselves (a million addresses would not fit the audit's memory
/// budget otherwise); two keys are taken as equal when both hashes are,
/// which for different keys happens about once in 2^128 comparisons.
/// Ordered by the first hash, then the second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) struct Hashes(pub(super) u64, pub(super) u64);

/// Both hashes of a key, fed one word at a time.
struct Hashing(KeyHasher, KeyHasher);

impl Hashing {
    fn new() -> Hashing {
        Hashing(KeyHasher::new(1), KeyHasher::new(0x9e37_79b9_7f4a_7c15))
    }

    fn word(&mut self, w: u64) {
        self.0.word(w);
        self.1.word(w);
    }

    fn finish(self) -> Hashes {
        Hashes(self.0.finish(), self.1.finish())
    }
}

pub(super) fn hashes(parts: &[&str]) -> Hashes {
    let mut h = Hashing::new();
    for part in parts {
        // Each part is lower-cased once and fed to both hashers.
        key_words(part, |w| h.word(w));
    }
    h.finish()
}

/// [`hashes`] of parts as the store holds them (see [`key_words_of_bytes`]).
pub(super) fn hashes_of_bytes(parts: &[&[u8]]) -> Result<Hashes> {
    let mut h = Hashing::new();
    for part in parts {
        key_words_of_bytes(part, |w| h.word(w))?;
    }
    Ok(h.finish())
}

/// Sorts keyed items into (hashes, sequence) order. Sorting on the first
/// hash alone is the fast part (see [`sort_by_spread_key`]); the runs that
/// share a first hash (the same key more than once, or a collision) are then
/// put in full order.
pub(super) fn sort_by_hashes<T>(items: &mut [T], key: impl Fn(&T) -> (Hashes, u32)) {
    sort_by_spread_key(items, &|t| key(t).0.0, 56);
    let mut i = 0;
    while i < items.len() {
        let first = key(&items[i]).0.0;
        let mut j = i + 1;
        while j < items.len() && key(&items[j]).0.0 == first {
            j += 1;
        }
        if j - i > 1 {
            items[i..j].sort_unstable_by_key(&key);
        }
        i = j;
    }
}

/// Below this many items a bucket is left to the standard library's sort.
const RADIX_SMALL: usize = 256;

/// Sorts items by a 64-bit key whose values are spread evenly (a hash): two
/// in-place passes on its top bytes (an American flag sort: count each
/// byte's items, then swap each item into its byte's bucket), then the
/// standard sort within each bucket, which by then holds a few dozen items
/// of a million. The audit sorts about 3.6 million keys this way (the
/// directory's addresses and people, the accounts' addresses); the standard
/// sort alone did about 400 instructions an item, this about 170
/// (callgrind, 1M accounts: the audit's 16.9 G instructions became 16.1 G). In place, because a second buffer of the
/// directory's 1.4 million keys would be 45 MB more at the audit's peak.
/// Keys that are not spread (one address repeated a million times) only make
/// a bucket large, and the standard sort takes it.
fn sort_by_spread_key<T>(items: &mut [T], key: &impl Fn(&T) -> u64, shift: u32) {
    if items.len() <= RADIX_SMALL || shift < 48 {
        items.sort_unstable_by_key(key);
        return;
    }
    let digit = |t: &T| ((key(t) >> shift) & 0xff) as usize;
    let mut counts = [0usize; 256];
    for t in items.iter() {
        counts[digit(t)] += 1;
    }
    // heads[d]: the next place in bucket d not yet holding one of its items.
    let mut heads = [0usize; 256];
    let mut ends = [0usize; 256];
    let mut sum = 0;
    for d in 0..256 {
        heads[d] = sum;
        sum += counts[d];
        ends[d] = sum;
    }
    for d in 0..256 {
        while heads[d] < ends[d] {
            let at = heads[d];
            let belongs = digit(&items[at]);
            if belongs != d {
                items.swap(at, heads[belongs]);
            }
            heads[belongs] += 1;
        }
    }
    let mut start = 0;
    for end in ends {
        sort_by_spread_key(&mut items[start..end], key, shift - 8);
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<u64> {
        let mut out = Vec::new();
        key_words(text, |w| out.push(w));
        out
    }

    fn words_of_bytes(bytes: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        key_words_of_bytes(bytes, |w| out.push(w)).unwrap();
        out
    }

    /// The words as `key_words` has always made them: byte by byte.
    fn words_byte_by_byte(text: &str) -> Vec<u64> {
        let lowered = text.trim().to_lowercase();
        let bytes = lowered.as_bytes();
        let mut out: Vec<u64> = bytes
            .chunks(8)
            .map(|chunk| {
                let mut w = [0u8; 8];
                for (slot, b) in w.iter_mut().zip(chunk) {
                    *slot = b.to_ascii_lowercase();
                }
                u64::from_le_bytes(w)
            })
            .collect();
        out.push(bytes.len() as u64 | 0xff00_0000_0000_0000);
        out
    }

    const TEXTS: &[&str] = &[
        "",
        " ",
        "\t\n\x0b\x0c\r ",
        "a",
        "Z",
        "@[`{",
        "exactly8",
        "EXACTLY8+",
        "Jo.Bloggs@NHS.net",
        "  David.Brown@NHS.NET ",
        "\x0bvertical-tab\x0c",
        "no-break\u{a0}",
        "\u{a0}Jo@nhs.net",
        "Ünïcödé.Nämé@NHS.net",
        "ΟΔΥΣΣΕΥΣ",
        "ѕarah.jones@nhs.net",
        "sixteen-chars-ab",
        "seventeen-chars-a",
        "a-rather-longer-address-than-most+tag@Example.Co.UK",
    ];

    #[test]
    fn ascii_lowercase_word_lowers_only_ascii_capitals() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = *b"Ab@[z`{\x80";
                bytes[at] = b;
                let expected = bytes.map(|b| b.to_ascii_lowercase());
                assert_eq!(
                    ascii_lowercase_word(u64::from_le_bytes(bytes)),
                    u64::from_le_bytes(expected),
                    "byte {b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn key_words_are_the_trimmed_lower_cased_text_word_by_word() {
        for text in TEXTS {
            assert_eq!(words(text), words_byte_by_byte(text), "{text:?}");
            assert_eq!(words_of_bytes(text.as_bytes()), words(text), "{text:?}");
        }
        assert_eq!(words(" Jo@NHS.net "), words("jo@nhs.net"));
    }

    #[test]
    fn hashes_of_stored_bytes_are_the_hashes_of_the_text() {
        for pair in TEXTS.windows(2) {
            let bytes: Vec<&[u8]> = pair.iter().map(|t| t.as_bytes()).collect();
            assert_eq!(hashes_of_bytes(&bytes).unwrap(), hashes(pair));
        }
        assert!(hashes_of_bytes(&[b"not \xff UTF-8"]).is_err());
        assert_ne!(hashes(&["ab", "c"]), hashes(&["a", "bc"]));
    }

    #[test]
    fn sorting_by_hashes_orders_by_both_hashes_then_sequence() {
        // Few distinct first hashes, so that many share one.
        let mut items: Vec<(Hashes, u32)> = (0..5000u32)
            .map(|i| {
                let h = hashes(&[&i.to_string()]);
                (Hashes(h.0 % 7, h.1 % 5), i % 13)
            })
            .collect();
        let mut expected = items.clone();
        expected.sort();
        sort_by_hashes(&mut items, |&(key, seq)| (key, seq));
        assert_eq!(items, expected);
    }

    #[test]
    fn sorting_spread_hashes_gives_the_full_order() {
        // Enough items for both radix passes, spread as real hashes are, with
        // some keys repeated.
        let mut items: Vec<(Hashes, u32)> = (0..200_000u32)
            .map(|i| (hashes(&[&(i % 150_000).to_string()]), i))
            .collect();
        let mut expected = items.clone();
        expected.sort();
        sort_by_hashes(&mut items, |&(key, seq)| (key, seq));
        assert_eq!(items, expected);
    }

    proptest::proptest! {
        #[test]
        fn sorting_by_a_spread_key_agrees_with_the_standard_sort(
            keys in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..3000),
            top in 0u64..4,
        ) {
            // Few distinct top bytes too, so that buckets are uneven.
            let mut items: Vec<u64> = keys.iter().map(|k| (k >> 2) | (top << 62)).collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            sort_by_spread_key(&mut items, &|k| *k, 56);
            proptest::prop_assert_eq!(items, expected);
        }
    }
}
