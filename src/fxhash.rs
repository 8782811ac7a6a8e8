//! FxHash (as in rustc): a fast, non-cryptographic hash for in-memory
//! indexes over our own data. Keys are compared on a hit, so a weak hash
//! costs nothing in correctness, and SipHash's flood resistance buys nothing
//! for a file the administrator chose to import.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    /// A hasher whose results are independent of the default one's, for a
    /// second hash of the same key.
    pub fn with_seed(seed: u64) -> FxHasher {
        FxHasher(seed)
    }

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for b in chunks.remainder() {
            self.add(u64::from(*b));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// FxHash's state has weak low bits: keys that differ only in their last
    /// bytes (`U0000001`, `U0000002`, ...) would share buckets, since a
    /// product's low bits depend only on its inputs' low bits. Murmur3's
    /// finaliser spreads every input bit over the whole hash.
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuildHasher>;
pub type FxHashSet<K> = std::collections::HashSet<K, FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_equal_and_different_keys_usually_differ() {
        let b = FxBuildHasher::default();
        assert_eq!(
            b.hash_one("sarah.jones@nhs.net"),
            b.hash_one("sarah.jones@nhs.net")
        );
        assert_ne!(
            b.hash_one("sarah.jones@nhs.net"),
            b.hash_one("sarah.jones2@nhs.net")
        );
        assert_ne!(b.hash_one("abcdefgh1"), b.hash_one("abcdefgh2"));
    }

    /// Sequential ids must spread over a table's buckets (its low bits).
    #[test]
    fn sequential_ids_spread_over_the_low_bits() {
        let b = FxBuildHasher::default();
        let buckets: std::collections::HashSet<u64> = (0..4096)
            .map(|i| b.hash_one(format!("U{i:07}")) & 4095)
            .collect();
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}
