//! Finding the repeated texts (usernames) among a million, without a million
//! allocations or a million look-ups in a map.
//!
//! Texts are kept end to end in one buffer, each with a 64-bit hash and its
//! line, in the order they came. At the end the list is sorted by hash, so
//! repeats are neighbours: a sort of a million small entries costs less than
//! a million look-ups in a map far bigger than the processor's caches. Texts
//! that share a hash are compared in full, so the answer is exact.
//!
//! Texts may be compared through a fold (usernames are unique ignoring
//! case): the fold's result is hashed and compared, and the text itself is
//! kept to be shown.
//!
//! The hash is `rustc-hash`'s FxHasher, as in the maps of the import and the
//! report: keys here are our own data, compared in full on a hit, so
//! SipHash's flood resistance buys nothing. Since 2.0 it hashes a byte
//! string with a folded multiply and rotates its result, so keys that differ
//! only in their last bytes (`U0000001`, `U0000002`) still spread over a
//! table's buckets; the hand-written FxHash this replaced needed a Murmur3
//! finaliser for that (a test below keeps the property). On the 1M-account
//! benchmark the swap was measured with the audit (see the commit message).

use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};

use rustc_hash::FxBuildHasher;

/// How texts are compared: two texts are the same if their folds are equal.
pub type Fold = fn(&str) -> Cow<'_, str>;

pub struct UniqueTexts {
    text: String,
    entries: Vec<Entry>,
    fold: Fold,
}

impl Default for UniqueTexts {
    /// Texts compared exactly.
    fn default() -> Self {
        UniqueTexts::folding(|text| Cow::Borrowed(text))
    }
}

#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    line: u64,
    start: usize,
    end: usize,
}

/// A text seen on `line` (as it was written there) that was first seen on
/// `first`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub line: u64,
    pub first: u64,
    pub text: String,
}

impl UniqueTexts {
    /// Texts compared by `fold`.
    pub fn folding(fold: Fold) -> UniqueTexts {
        UniqueTexts {
            text: String::new(),
            entries: Vec::new(),
            fold,
        }
    }

    /// Room for about `n` texts.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
        self.text.reserve(n * 12);
    }

    /// Remembers `text` as seen on `line`. Lines are expected in increasing
    /// order (the order of a file).
    pub fn push(&mut self, text: &str, line: u64) {
        let mut hasher = FxBuildHasher.build_hasher();
        hasher.write((self.fold)(text).as_bytes());
        let start = self.text.len();
        self.text.push_str(text);
        self.entries.push(Entry {
            hash: hasher.finish(),
            line,
            start,
            end: self.text.len(),
        });
    }

    /// Every text that was pushed before: its line, the line it was first
    /// seen on, and the text, in line order.
    pub fn repeats(mut self) -> Vec<Repeat> {
        self.entries.sort_unstable_by_key(|e| (e.hash, e.line));
        let text = |e: &Entry| &self.text[e.start..e.end];
        let folded = |e: &Entry| (self.fold)(text(e));
        let mut repeats = Vec::new();
        for group in self
            .entries
            .chunk_by_mut(|a, b| a.hash == b.hash)
            .filter(|g| g.len() > 1)
        {
            // Usually one text seen twice; rarely different texts sharing a
            // hash. Sorting by text puts equal texts together, earliest first.
            group.sort_by(|a, b| folded(a).cmp(&folded(b)).then(a.line.cmp(&b.line)));
            for same in group.chunk_by(|a, b| folded(a) == folded(b)) {
                let first = same[0];
                repeats.extend(same[1..].iter().map(|e| Repeat {
                    line: e.line,
                    first: first.line,
                    text: text(e).to_string(),
                }));
            }
        }
        repeats.sort_unstable_by_key(|r| r.line);
        repeats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeats(texts: &[(&str, u64)]) -> Vec<(u64, u64, String)> {
        let mut seen = UniqueTexts::default();
        for (text, line) in texts {
            seen.push(text, *line);
        }
        seen.repeats()
            .into_iter()
            .map(|r| (r.line, r.first, r.text))
            .collect()
    }

    #[test]
    fn repeats_are_found_with_their_first_line() {
        assert_eq!(
            repeats(&[
                ("ann", 2),
                ("bob", 3),
                ("ann", 4),
                ("ann", 5),
                ("", 6),
                ("", 7)
            ]),
            vec![
                (4, 2, "ann".to_string()),
                (5, 2, "ann".to_string()),
                (7, 6, String::new())
            ]
        );
        assert!(repeats(&[("ann", 2), ("Ann", 3), ("bob", 4)]).is_empty());
    }

    #[test]
    fn folded_texts_are_compared_by_their_fold_and_shown_as_written() {
        let mut seen = UniqueTexts::folding(|t| t.to_lowercase().into());
        seen.push("tbaxter01", 2);
        seen.push("kbell", 3);
        seen.push("TBaxter01", 4);
        assert_eq!(
            seen.repeats(),
            vec![Repeat {
                line: 4,
                first: 2,
                text: "TBaxter01".into()
            }]
        );
    }

    #[test]
    fn texts_sharing_a_hash_are_told_apart() {
        // Force a collision: give "carol" the hash of "dave", as a different
        // text with the same hash would have.
        let mut seen = UniqueTexts::default();
        seen.push("dave", 2);
        seen.push("carol", 3);
        seen.push("carol", 4);
        seen.push("dave", 5);
        let dave = seen.entries[0].hash;
        for e in &mut seen.entries {
            e.hash = dave;
        }
        let found: Vec<(u64, u64)> = seen.repeats().iter().map(|r| (r.line, r.first)).collect();
        assert_eq!(found, vec![(4, 3), (5, 2)], "carol is not a repeat of dave");
    }

    #[test]
    fn many_copies_of_one_text_are_all_repeats_of_the_first() {
        let texts: Vec<(&str, u64)> = (0..10_000).map(|i| ("same", i + 2)).collect();
        let found = repeats(&texts);
        assert_eq!(found.len(), 9_999);
        assert!(found.iter().all(|r| r.1 == 2));
        assert_eq!(found[0].0, 3);
    }

    /// The maps keyed by account ids count on sequential ids spreading over
    /// a table's buckets (its low bits): a hasher that put them in few
    /// buckets would make the import's checks quadratic.
    #[test]
    fn sequential_ids_spread_over_a_tables_buckets() {
        let b = FxBuildHasher;
        assert_eq!(
            b.hash_one("sarah.jones@nhs.net"),
            b.hash_one("sarah.jones@nhs.net")
        );
        assert_ne!(b.hash_one("abcdefgh1"), b.hash_one("abcdefgh2"));
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
