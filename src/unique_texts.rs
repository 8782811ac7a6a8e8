//! Remembering a million short texts (usernames) to find the repeated ones,
//! without a million allocations.

use std::hash::{BuildHasher, Hasher};

use crate::fxhash::{FxBuildHasher, FxHashMap};

/// The texts seen so far, each with the line it was first seen on. Texts live
/// in one buffer and are found by a 64-bit hash; the rare text whose hash an
/// earlier, different text already has goes to a small map of its own, so
/// the answer is always exact.
#[derive(Default)]
pub struct UniqueTexts {
    text: String,
    /// hash -> (line, start and end in `text`) of the first text with it.
    by_hash: FxHashMap<u64, (u64, u32, u32)>,
    /// Texts whose hash was taken by another text.
    collided: FxHashMap<Box<str>, u64>,
}

impl UniqueTexts {
    /// Room for about `n` texts.
    pub fn reserve(&mut self, n: usize) {
        self.by_hash.reserve(n);
        self.text.reserve(n * 12);
    }

    /// Remembers `text` as seen on `line`; if it was seen before, returns
    /// that earlier line instead (and remembers nothing).
    pub fn insert(&mut self, text: &str, line: u64) -> Option<u64> {
        let mut hasher = FxBuildHasher::default().build_hasher();
        hasher.write(text.as_bytes());
        let hash = hasher.finish();
        match self.by_hash.get(&hash) {
            Some(&(first, start, end)) if &self.text[start as usize..end as usize] == text => {
                Some(first)
            }
            Some(_) => match self.collided.get(text) {
                Some(&first) => Some(first),
                None => {
                    self.collided.insert(text.into(), line);
                    None
                }
            },
            None => {
                let start = self.text.len();
                self.text.push_str(text);
                match (u32::try_from(start), u32::try_from(self.text.len())) {
                    (Ok(start), Ok(end)) => {
                        self.by_hash.insert(hash, (line, start, end));
                    }
                    // Over 4 GB of texts: keep the rest the simple way.
                    _ => {
                        self.text.truncate(start);
                        self.collided.insert(text.into(), line);
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_with_their_first_line() {
        let mut seen = UniqueTexts::default();
        assert_eq!(seen.insert("ann", 2), None);
        assert_eq!(seen.insert("bob", 3), None);
        assert_eq!(seen.insert("ann", 4), Some(2));
        assert_eq!(seen.insert("ann", 5), Some(2));
        assert_eq!(seen.insert("", 6), None);
        assert_eq!(seen.insert("", 7), Some(6));
    }

    #[test]
    fn texts_sharing_a_hash_are_told_apart() {
        // Force a collision: an entry under the hash of "carol" that holds
        // other text, as a different text with the same hash would.
        let mut seen = UniqueTexts::default();
        assert_eq!(seen.insert("dave", 2), None);
        let mut hasher = FxBuildHasher::default().build_hasher();
        hasher.write(b"carol");
        let (_, start, end) = seen.by_hash[&{
            let mut h = FxBuildHasher::default().build_hasher();
            h.write(b"dave");
            h.finish()
        }];
        seen.by_hash.insert(hasher.finish(), (2, start, end));
        assert_eq!(seen.insert("carol", 3), None, "not a repeat of dave");
        assert_eq!(seen.insert("carol", 4), Some(3));
        assert_eq!(seen.insert("dave", 5), Some(2));
    }
}
