//! The NHSmail directory in memory, for the audit: what the directory holds
//! for each address, and the active personal mailboxes by name and
//! organisation (the NHSmail match's candidates).
//!
//! A national directory holds about 1.4 million entries, so the index keeps
//! sorted lists of 128-bit hashes (`key.rs`) and one arena of the people's
//! addresses, not maps of texts: the lists are built by appending and one
//! sort (no random access while loading), then searched by bisection for
//! one account, or merged with the accounts' own sorted hashes for all of
//! them at once (`Accounts::mark_directory_facts`). A table of buckets over
//! the top bits of the people's hashes makes a candidate look-up read a
//! cache line or two instead of bisecting the whole list. The index only
//! finds candidates: the rules (`rules::find_match`) decide the match.
//! The same index, built over a few entries, serves the one-account path.

use anyhow::Result;

use super::key::{Hashes, address_hashes, hashes, hashes_of_bytes, sort_by_hashes};
use crate::model::{DirectoryEntry, MailboxType, Status};
use crate::rules::{Candidate, DirectoryFacts, NhsmailMatch, find_match};
use crate::store::{DirectoryScan, RoleView};

/// What the directory holds for one address, packed in a byte.
pub(super) const HELD: u8 = 1;
pub(super) const HELD_DISABLED: u8 = 2;
pub(super) const HELD_SHARED: u8 = 4;

fn pack_facts(facts: DirectoryFacts) -> u8 {
    let mut byte = HELD;
    if facts.status == Status::Disabled {
        byte |= HELD_DISABLED;
    }
    if facts.mailbox_type == MailboxType::Shared {
        byte |= HELD_SHARED;
    }
    byte
}

pub(super) fn unpack_facts(byte: u8) -> Option<DirectoryFacts> {
    (byte & HELD != 0).then_some(DirectoryFacts {
        status: if byte & HELD_DISABLED != 0 {
            Status::Disabled
        } else {
            Status::Active
        },
        mailbox_type: if byte & HELD_SHARED != 0 {
            MailboxType::Shared
        } else {
            MailboxType::Personal
        },
    })
}

/// One directory entry by the hashes of its address.
#[derive(Clone, Copy)]
struct AddressKey {
    key: Hashes,
    /// The entry's position in the directory: of entries with the same
    /// normal form (only a store edited by hand can hold two), the last one
    /// read counts, as it always has.
    seq: u32,
    facts: u8,
}

/// An active personal mailbox, as the match needs it: by the hashes of
/// (given, family, ods_code).
#[derive(Clone, Copy)]
struct Person {
    key: Hashes,
    /// Where the address is in the arena; also the entry's order in the
    /// directory, since the arena is filled in that order.
    address: (u32, u32),
}

/// The NHSmail directory in memory: what it holds for each address, and the
/// active personal mailboxes by name and organisation (the match's
/// candidates). Both are sorted lists of hashes: built by appending and one
/// sort (no random access while loading), searched by bisection for one
/// account, or merged with the accounts' own sorted hashes for all of them.
pub struct DirectoryIndex {
    /// In (hashes, seq) order.
    by_address: Vec<AddressKey>,
    arena: String,
    /// In (hashes, address) order.
    people: Vec<Person>,
    /// `people[buckets[t]..buckets[t + 1]]` are the people whose first hash
    /// has `t` as its top bits: a look-up reads a cache line or two instead
    /// of bisecting the whole list.
    buckets: Vec<u32>,
    bucket_shift: u32,
}

/// A directory being read: the index's lists, the arena still unchecked bytes.
struct DirectoryBuilder {
    by_address: Vec<AddressKey>,
    arena: Vec<u8>,
    people: Vec<Person>,
}

impl DirectoryBuilder {
    fn with_capacity(entries: usize) -> DirectoryBuilder {
        DirectoryBuilder {
            by_address: Vec::with_capacity(entries),
            arena: Vec::with_capacity(entries * 26),
            people: Vec::with_capacity(entries),
        }
    }

    fn push(
        &mut self,
        address: Hashes,
        address_text: &[u8],
        names: impl FnOnce() -> Result<Hashes>,
        facts: DirectoryFacts,
    ) -> Result<()> {
        self.by_address.push(AddressKey {
            key: address,
            seq: self.by_address.len() as u32,
            facts: pack_facts(facts),
        });
        if facts.is_active_personal() {
            let start = self.arena.len() as u32;
            self.arena.extend_from_slice(address_text);
            self.people.push(Person {
                key: names()?,
                address: (start, self.arena.len() as u32),
            });
        }
        Ok(())
    }

    /// Checks what `push` appended and makes the index of it.
    fn finish(self) -> Result<DirectoryIndex> {
        // Positions only grow: if the totals fit in 32 bits, every one did.
        if self.by_address.len() > u32::MAX as usize || self.arena.len() > u32::MAX as usize {
            anyhow::bail!("the directory is too large to audit in memory (over 4 GB of addresses)");
        }
        let arena = String::from_utf8(self.arena).map_err(|e| {
            anyhow::anyhow!("the directory holds an address that is not UTF-8: {e}")
        })?;
        Ok(DirectoryIndex::new(self.by_address, self.people, arena))
    }
}

impl DirectoryIndex {
    /// Sorts the lists and indexes the people by their top bits.
    fn new(
        mut by_address: Vec<AddressKey>,
        mut people: Vec<Person>,
        arena: String,
    ) -> DirectoryIndex {
        let sort_people =
            |people: &mut Vec<Person>| sort_by_hashes(people, |p| (p.key, p.address.0));
        if people.len() < 1 << 16 {
            sort_people(&mut people);
            sort_by_hashes(&mut by_address, |a| (a.key, a.seq));
        } else {
            // Both large: sort them at once (the other reads are done by now).
            std::thread::scope(|scope| {
                scope.spawn(|| sort_people(&mut people));
                sort_by_hashes(&mut by_address, |a| (a.key, a.seq));
            });
        }
        // About two people per bucket.
        let bits = (usize::BITS - people.len().leading_zeros())
            .saturating_sub(2)
            .clamp(1, 24);
        let bucket_shift = 64 - bits;
        let mut buckets = Vec::with_capacity((1 << bits) + 1);
        for (at, p) in people.iter().enumerate() {
            let top = (p.key.0 >> bucket_shift) as usize;
            while buckets.len() <= top {
                buckets.push(at as u32);
            }
        }
        buckets.resize((1 << bits) + 1, people.len() as u32);
        DirectoryIndex {
            by_address,
            arena,
            people,
            buckets,
            bucket_shift,
        }
    }

    /// Reads the whole directory.
    pub(super) fn load(scan: DirectoryScan) -> Result<DirectoryIndex> {
        let mut index = DirectoryBuilder::with_capacity(scan.expected_entries()?);
        let mut failed = None;
        scan.read(|d| {
            if failed.is_some() {
                return;
            }
            let pushed = Ok(address_hashes(d.address)).and_then(|address| {
                index.push(
                    address,
                    d.address,
                    || hashes_of_bytes(&[d.given_name, d.family_name, d.ods_code]),
                    DirectoryFacts {
                        status: d.status,
                        mailbox_type: d.mailbox_type,
                    },
                )
            });
            if let Err(e) = pushed {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        tracing::info!("directory read");
        index.finish()
    }

    /// A small index over some entries (for one account's look-ups).
    pub fn from_entries(entries: &[DirectoryEntry]) -> DirectoryIndex {
        let mut index = DirectoryBuilder::with_capacity(entries.len());
        for e in entries {
            // Hashing text cannot fail.
            let _ = index.push(
                address_hashes(e.address.as_bytes()),
                e.address.as_bytes(),
                || Ok(hashes(&[&e.given_name, &e.family_name, &e.ods_code])),
                DirectoryFacts {
                    status: e.status,
                    mailbox_type: e.mailbox_type,
                },
            );
        }
        // The arena holds whole strings, so it is UTF-8 as it stands.
        let arena = String::from_utf8_lossy(&index.arena).into_owned();
        DirectoryIndex::new(index.by_address, index.people, arena)
    }

    /// The facts of the entry with these address hashes, if any.
    fn facts_by_key(&self, key: Hashes) -> Option<DirectoryFacts> {
        let end = self.by_address.partition_point(|a| a.key <= key);
        end.checked_sub(1)
            .map(|last| self.by_address[last])
            .filter(|a| a.key == key)
            .and_then(|a| unpack_facts(a.facts))
    }

    /// What the directory holds for an address (any case, any padding).
    pub(super) fn facts(&self, address: &str) -> Option<DirectoryFacts> {
        self.facts_by_key(address_hashes(address.as_bytes()))
    }

    /// Where the people with these (names, organisation) hashes are in
    /// `people` (in directory order).
    pub(super) fn people_with(&self, key: Hashes) -> (usize, usize) {
        let t = (key.0 >> self.bucket_shift) as usize;
        let (Some(&from), Some(&to)) = (self.buckets.get(t), self.buckets.get(t + 1)) else {
            return (0, 0);
        };
        let bucket = &self.people[from as usize..to as usize];
        let start = bucket.partition_point(|p| p.key < key);
        let end = start + bucket[start..].partition_point(|p| p.key == key);
        (from as usize + start, from as usize + end)
    }

    /// The NHSmail match for an account with these names and roles.
    pub(super) fn find_match(
        &self,
        given: &str,
        family: &str,
        roles: &[RoleView<'_>],
    ) -> NhsmailMatch {
        let codes = match_codes(roles);
        let found: Vec<(usize, usize)> = codes
            .iter()
            .map(|code| self.people_with(hashes(&[given, family, code])))
            .collect();
        self.match_among(given, family, &codes, &found)
    }

    /// The match given where the people of each code are (`found`, one
    /// range per code of `codes`).
    pub(super) fn match_among(
        &self,
        given: &str,
        family: &str,
        codes: &[&str],
        found: &[(usize, usize)],
    ) -> NhsmailMatch {
        let mut candidates = Vec::new();
        for (code, &(start, end)) in codes.iter().zip(found) {
            // The latest directory entry first, as the index has always
            // offered them.
            for p in self.people[start..end].iter().rev() {
                // Both hashes of (names, organisation) agree: the names
                // and organisation are the account's own.
                candidates.push(Candidate {
                    address: &self.arena[p.address.0 as usize..p.address.1 as usize],
                    given_name: given,
                    family_name: family,
                    ods_code: code,
                    status: Status::Active,
                    mailbox_type: MailboxType::Personal,
                });
            }
        }
        // The rules make the decision; the index only found the candidates.
        find_match(given, family, codes, candidates)
    }

    /// Marks what the directory holds for each address of `sorted` (account
    /// address hashes with the account's position, in hash order) by one
    /// merge of the two sorted lists.
    pub(super) fn merge_facts(&self, sorted: &[(Hashes, u32)], marks: &mut [u8]) {
        let mut d = 0;
        for &(key, account) in sorted {
            while d < self.by_address.len() && self.by_address[d].key < key {
                d += 1;
            }
            // Of equal addresses the last in the directory counts.
            let mut last = None;
            let mut e = d;
            while e < self.by_address.len() && self.by_address[e].key == key {
                last = Some(self.by_address[e].facts);
                e += 1;
            }
            if let Some(facts) = last {
                marks[account as usize] |= facts;
            }
        }
    }

    /// Lets go of the facts by address once they have been merged with the
    /// accounts' (only the match needs the directory from then on).
    pub(super) fn forget_addresses(&mut self) {
        self.by_address = Vec::new();
    }
}

/// The distinct ODS codes at which an account holds roles, in order: where
/// the match looks for candidates.
pub(super) fn match_codes<'a>(roles: &[RoleView<'a>]) -> Vec<&'a str> {
    let mut codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::test_support::{entry, role_at};

    #[test]
    fn the_directory_index_finds_facts_by_normal_form_and_the_last_entry_counts() {
        let shared = DirectoryEntry {
            mailbox_type: MailboxType::Shared,
            ..entry("Practice.Team@nhs.net", "Practice", "Team", "F82001")
        };
        let directory = DirectoryIndex::from_entries(&[
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "F82001"),
            shared,
            entry(" sam.smith@nhs.net", "Sam", "Smith", "F82001"),
            DirectoryEntry {
                status: Status::Disabled,
                ..entry("sam.smith@nhs.net ", "Sam", "Smith", "F82001")
            },
        ]);
        let facts = |a: &str| directory.facts(a);
        assert!(facts("  JO.Bloggs@NHS.NET ").is_some_and(|f| f.is_active_personal()));
        assert_eq!(
            facts("practice.team@nhs.net").map(|f| f.mailbox_type),
            Some(MailboxType::Shared)
        );
        assert_eq!(
            facts("Sam.Smith@nhs.net").map(|f| f.status),
            Some(Status::Disabled)
        );
        assert_eq!(facts("nobody@nhs.net"), None);
    }

    #[test]
    fn the_directory_index_offers_the_rules_the_same_candidates() {
        let directory = DirectoryIndex::from_entries(&[
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "F82001"),
            entry("jo.bloggs2@nhs.net", "JO ", "bloggs", "F82002"),
            entry("jo.bloggs3@nhs.net", "Jo", "Bloggs", "F82002"),
            entry("Sam.Smith@nhs.net", "Sam", "Smith", "A81001"),
            entry(" sam.smith@nhs.net", "Sam", "Smith", "A81001"),
        ]);
        let confident = |a: &str| NhsmailMatch::Confident(a.to_string());
        let at = |codes: &[&'static str]| codes.iter().map(|c| role_at(c)).collect::<Vec<_>>();
        assert_eq!(
            directory.find_match(" jo", "BLOGGS", &at(&["F82001", "F82001"])),
            confident("jo.bloggs@nhs.net")
        );
        assert_eq!(
            directory.find_match("Jo", "Bloggs", &at(&["F82002"])),
            NhsmailMatch::Ambiguous
        );
        assert_eq!(
            directory.find_match("Jo", "Bloggs", &at(&["F82001", "F82002"])),
            NhsmailMatch::Ambiguous
        );
        assert_eq!(
            directory.find_match("Jo", "Bloggs", &at(&["A81001"])),
            NhsmailMatch::None
        );
        assert_eq!(
            directory.find_match("Jo", "Bloggs", &[]),
            NhsmailMatch::None
        );
        // One mailbox listed twice is one candidate; the latest entry is offered first.
        assert_eq!(
            directory.find_match("Sam", "Smith", &at(&["A81001"])),
            confident(" sam.smith@nhs.net")
        );
    }
}
