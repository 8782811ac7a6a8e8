//! The audit engine: applies the rules to every account in the store.
//!
//! It is shared by `audit`, `report`, `plan`, `accounts show` and the
//! national-scale benchmark, so it is built for a million accounts. The full
//! audit reads the directory, the accounts and their roles on three threads
//! into compact sorted lists (hashes, not texts, where only equality
//! matters), merges the accounts' address hashes with the directory's, which
//! also finds the duplicate addresses, and then classifies the accounts in
//! account_id order on one thread while the caller's thread visits them. One
//! account is classified from the same kind of index over a few entries.
//! Nothing here knows SQL or prints.

use std::collections::{HashMap, HashSet};

use anyhow::Result;

use crate::model::{MailboxType, OrgKind, Organisation, Role, Status};
use crate::rules::{
    Candidate, Category, Contact, DirectoryFacts, NhsmailMatch, Section, categorise, contacts_for,
    find_match, normal_form, section_for,
};
use crate::store::{AccountBytes, AccountView, RoleView, Store};
use rustc_hash::FxHashMap;

/// One audited account, borrowed from the stream.
#[derive(Debug)]
pub struct AuditRow<'a> {
    pub account: AccountView<'a>,
    pub roles: &'a [RoleView<'a>],
    pub category: Category,
    /// `None` where the match is not looked for (rules.md).
    pub nhsmail_match: Option<NhsmailMatch>,
    pub section: Option<Section>,
}

impl AuditRow<'_> {
    /// The `match` column of cli.md: the address, `ambiguous`, `none`, or empty.
    pub fn match_column(&self) -> &str {
        self.nhsmail_match
            .as_ref()
            .map_or("", NhsmailMatch::as_column)
    }

    pub fn holds_admin_role(&self) -> bool {
        self.roles.iter().any(|r| r.role.is_administrator())
    }
}

/// The organisations, for contacts and history.
pub struct Organisations {
    by_code: HashMap<String, Organisation>,
}

impl Organisations {
    pub fn load(store: &Store) -> Result<Organisations> {
        Ok(Organisations::new(store.organisations()?))
    }

    pub fn new(list: Vec<Organisation>) -> Organisations {
        Organisations {
            by_code: list.into_iter().map(|o| (o.ods_code.clone(), o)).collect(),
        }
    }

    pub fn get(&self, code: &str) -> Option<&Organisation> {
        self.by_code.get(code)
    }

    pub fn parent(&self, code: &str) -> Option<&str> {
        self.get(code).and_then(|o| o.parent_code.as_deref())
    }

    /// Whom an account holding roles at these organisations must contact.
    pub fn contacts(&self, roles: &[RoleView<'_>]) -> Vec<Contact> {
        let mut codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
        codes.sort_unstable();
        codes.dedup();
        contacts_for(&codes, |code| {
            self.get(code).map(|o| (o.kind, o.parent_code.as_deref()))
        })
    }

    /// The contact's display name and email.
    pub fn contact_details(&self, contact: &Contact) -> (String, String) {
        match contact {
            Contact::Organisation(code) => match self.get(code) {
                Some(o) => (o.name.clone(), o.contact_email.clone().unwrap_or_default()),
                None => (code.clone(), String::new()),
            },
            Contact::CqrsAdministrator => (
                CQRS_ADMINISTRATOR_NAME.to_string(),
                CQRS_ADMINISTRATOR_EMAIL.to_string(),
            ),
        }
    }

    pub fn kind(&self, code: &str) -> Option<OrgKind> {
        self.get(code).map(|o| o.kind)
    }
}

/// Who handles accounts no organisation can: the CQRS help desk of the seeds.
pub const CQRS_ADMINISTRATOR_NAME: &str = "CQRS administrator (help desk)";
pub const CQRS_ADMINISTRATOR_EMAIL: &str = "support@cqrs.co.uk";

/// A 64-bit hash built on the folded multiply of wyhash/foldhash: fast on
/// 8-byte words and well mixed even for keys that differ in one character
/// (FxHash is not: it put ~50 pairs of a million addresses in one bucket).
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
fn address_hashes(address: &[u8]) -> Hashes {
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
struct Hashes(u64, u64);

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

fn hashes(parts: &[&str]) -> Hashes {
    let mut h = Hashing::new();
    for part in parts {
        // Each part is lower-cased once and fed to both hashers.
        key_words(part, |w| h.word(w));
    }
    h.finish()
}

/// [`hashes`] of parts as the store holds them (see [`key_words_of_bytes`]).
fn hashes_of_bytes(parts: &[&[u8]]) -> Result<Hashes> {
    let mut h = Hashing::new();
    for part in parts {
        key_words_of_bytes(part, |w| h.word(w))?;
    }
    Ok(h.finish())
}

/// Sorts keyed items into (hashes, sequence) order. Sorting on the first
/// hash alone is the fast part (one u64 per comparison); the runs that share
/// a first hash (the same key more than once, or a collision) are then put in
/// full order.
fn sort_by_hashes<T>(items: &mut [T], key: impl Fn(&T) -> (Hashes, u32)) {
    items.sort_unstable_by_key(|t| key(t).0.0);
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

/// What the directory holds for one address, packed in a byte.
const HELD: u8 = 1;
const HELD_DISABLED: u8 = 2;
const HELD_SHARED: u8 = 4;

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

fn unpack_facts(byte: u8) -> Option<DirectoryFacts> {
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

    pub fn load(store: &Store) -> Result<DirectoryIndex> {
        let mut index = DirectoryBuilder::with_capacity(store.directory_size_hint()?);
        let mut failed = None;
        store.scan_directory(|d| {
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
        crate::trace("directory read");
        index.finish()
    }

    /// A small index over some entries (for one account's look-ups).
    pub fn from_entries(entries: &[crate::model::DirectoryEntry]) -> DirectoryIndex {
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
    pub fn facts(&self, address: &str) -> Option<DirectoryFacts> {
        self.facts_by_key(address_hashes(address.as_bytes()))
    }

    /// Where the people with these (names, organisation) hashes are in
    /// `people` (in directory order).
    fn people_with(&self, key: Hashes) -> (usize, usize) {
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
    pub fn find_match(&self, given: &str, family: &str, roles: &[RoleView<'_>]) -> NhsmailMatch {
        let codes = match_codes(roles);
        let found: Vec<(usize, usize)> = codes
            .iter()
            .map(|code| self.people_with(hashes(&[given, family, code])))
            .collect();
        self.match_among(given, family, &codes, &found)
    }

    /// The match given where the people of each code are (`found`, one
    /// range per code of `codes`).
    fn match_among(
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
    fn merge_facts(&self, sorted: &[(Hashes, u32)], marks: &mut [u8]) {
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
}

/// The distinct ODS codes at which an account holds roles, in order: where
/// the match looks for candidates.
fn match_codes<'a>(roles: &[RoleView<'a>]) -> Vec<&'a str> {
    let mut codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// Which accounts to audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions {
    pub include_disabled: bool,
}

/// What is known of each account, one byte each: its own status, then the
/// directory's facts for its address (the low bits, as packed by
/// [`pack_facts`]) and whether another live account has the same address.
const ACCOUNT_DISABLED: u8 = 8;
const ACCOUNT_SUPERSEDED: u8 = 16;
const DUPLICATE: u8 = 32;

/// One account of [`Accounts`]: where its texts end, and its roles.
#[derive(Clone, Copy)]
struct AccountRecord {
    /// Ends of the account id, email, given and family names in the text
    /// arena; each starts where the one before ends.
    ends: [u32; 4],
    /// The account's group in [`Roles`], or `NO_ROLES`.
    roles: u32,
}

const NO_ROLES: u32 = u32::MAX;

/// Every account, held compactly in account_id order: one text arena,
/// fixed-size records, a byte of marks each, and (until the directory's
/// facts are marked) the address hashes of the live accounts (neither
/// superseded nor disabled) for the duplicate and directory merges.
struct Accounts {
    text: String,
    records: Vec<AccountRecord>,
    marks: Vec<u8>,
    /// In (hashes, position) order.
    live: Vec<(Hashes, u32)>,
    roles: Roles,
}

/// Every role, grouped by account in account_id order.
#[derive(Default)]
struct Roles {
    /// The groups' account ids, back to back (only compared, never shown).
    ids: Vec<u8>,
    /// End of each group's account id in `ids`, and of its roles in `roles`.
    groups: Vec<(u32, u32)>,
    /// Each distinct ODS code once (there are a few thousand organisations).
    codes: Vec<Box<str>>,
    /// The role's ODS code (its place in `codes`) and the role, packed.
    roles: Vec<RoleEntry>,
}

/// Where [`Roles::push`] is: the current account, and the ODS codes so far.
#[derive(Default)]
struct ReadingRoles {
    id_start: usize,
    code_index: FxHashMap<Vec<u8>, usize>,
    /// An account's roles are in organisation order: the last code, and its place.
    code: Vec<u8>,
    code_at: usize,
}

/// `a == b` for the short texts of ids and codes, without a call to memcmp.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    let word = |s: &[u8], at: usize| {
        s.iter()
            .skip(at)
            .take(8)
            .enumerate()
            .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i))
    };
    word(a, 0) == word(b, 0) && (a.len() <= 8 || word(a, 8) == word(b, 8))
}

/// A role: its ODS code's place in [`Roles::codes`] and the role, in 32 bits.
#[derive(Clone, Copy)]
struct RoleEntry(u32);

impl RoleEntry {
    const MAX_CODES: usize = 1 << 24;

    fn new(code: usize, role: Role) -> RoleEntry {
        RoleEntry(((code as u32) << 8) | role as u32)
    }

    fn code(self) -> usize {
        (self.0 >> 8) as usize
    }

    fn role(self) -> Role {
        Role::ALL[(self.0 & 0xff) as usize]
    }
}

impl Roles {
    fn load(store: &Store) -> Result<Roles> {
        let n = store.account_count_hint()?;
        let mut roles = Roles {
            ids: Vec::with_capacity(n * 10),
            groups: Vec::with_capacity(n),
            codes: Vec::new(),
            roles: Vec::with_capacity(n * 2 + n / 4),
        };
        let mut reading = ReadingRoles::default();
        store.scan_roles(|id, code, role| roles.push(&mut reading, id, code, role))?;
        // Positions only grow: if the totals fit in 32 bits, every one did.
        if roles.ids.len() > u32::MAX as usize || roles.roles.len() > u32::MAX as usize {
            anyhow::bail!("the store is too large to audit in memory (over 4 GB of roles)");
        }
        crate::trace("roles read");
        Ok(roles)
    }

    /// Adds a role; roles come grouped by account.
    fn push(
        &mut self,
        reading: &mut ReadingRoles,
        id: &[u8],
        code: &[u8],
        role: Role,
    ) -> Result<()> {
        if self.groups.is_empty() || !same_bytes(id, &self.ids[reading.id_start..]) {
            reading.id_start = self.ids.len();
            self.ids.extend_from_slice(id);
            self.groups.push((self.ids.len() as u32, 0));
        }
        if self.codes.is_empty() || !same_bytes(code, &reading.code) {
            let index = match reading.code_index.get(code) {
                Some(&index) => index,
                None => {
                    let text = std::str::from_utf8(code).map_err(|e| {
                        anyhow::anyhow!("the store holds an ODS code that is not UTF-8: {e}")
                    })?;
                    if self.codes.len() == RoleEntry::MAX_CODES {
                        anyhow::bail!("the store holds too many organisations to audit");
                    }
                    self.codes.push(text.into());
                    reading
                        .code_index
                        .insert(code.to_vec(), self.codes.len() - 1);
                    self.codes.len() - 1
                }
            };
            reading.code.clear();
            reading.code.extend_from_slice(code);
            reading.code_at = index;
        }
        self.roles.push(RoleEntry::new(reading.code_at, role));
        if let Some(group) = self.groups.last_mut() {
            group.1 = self.roles.len() as u32;
        }
        Ok(())
    }

    fn group_id(&self, group: usize) -> &[u8] {
        let start = match group.checked_sub(1) {
            Some(before) => self.groups[before].0 as usize,
            None => 0,
        };
        &self.ids[start..self.groups[group].0 as usize]
    }
}

impl Accounts {
    /// Reads every account (without roles: see [`Accounts::attach`]) and
    /// sorts the live ones' address hashes.
    fn load(store: &Store) -> Result<Accounts> {
        let mut accounts = Accounts::with_capacity(store.account_count_hint()?);
        let mut text = Vec::with_capacity(accounts.records.capacity() * 48);
        store.scan_accounts(|a| accounts.push(&mut text, a))?;
        crate::trace("accounts read");
        accounts.finish(text)?;
        crate::trace("account addresses sorted");
        Ok(accounts)
    }

    fn with_capacity(n: usize) -> Accounts {
        Accounts {
            text: String::new(),
            records: Vec::with_capacity(n),
            marks: Vec::with_capacity(n),
            live: Vec::with_capacity(n),
            roles: Roles::default(),
        }
    }

    /// Adds an account, its text to `text` (checked to be UTF-8 by `finish`).
    fn push(&mut self, text: &mut Vec<u8>, a: AccountBytes<'_>) -> Result<()> {
        let mut ends = [0u32; 4];
        for (end, part) in ends
            .iter_mut()
            .zip([a.account_id, a.email, a.given_name, a.family_name])
        {
            text.extend_from_slice(part);
            *end = text.len() as u32;
        }
        let mut mark = 0;
        if a.status == Status::Disabled {
            mark |= ACCOUNT_DISABLED;
        }
        if a.superseded {
            mark |= ACCOUNT_SUPERSEDED;
        }
        if mark == 0 {
            self.live
                .push((address_hashes(a.email), self.records.len() as u32));
        }
        self.records.push(AccountRecord {
            ends,
            roles: NO_ROLES,
        });
        self.marks.push(mark);
        Ok(())
    }

    fn finish(&mut self, text: Vec<u8>) -> Result<()> {
        // Positions only grow: if the totals fit in 32 bits, every one did.
        if text.len() > u32::MAX as usize || self.records.len() > u32::MAX as usize {
            anyhow::bail!("the store is too large to audit in memory (over 4 GB of accounts)");
        }
        self.text = String::from_utf8(text)
            .map_err(|e| anyhow::anyhow!("the store holds account text that is not UTF-8: {e}"))?;
        sort_by_hashes(&mut self.live, |&(key, at)| (key, at));
        Ok(())
    }

    /// Gives each account its group of roles: both lists are in account_id
    /// order, so one merge does it (roles of an account that is not in the
    /// store are skipped, as they always have been).
    fn attach(&mut self, roles: Roles) {
        let mut group = 0;
        let mut start = 0;
        for record in self.records.iter_mut() {
            let id = &self.text.as_bytes()[start..record.ends[0] as usize];
            start = record.ends[3] as usize;
            while group < roles.groups.len() && roles.group_id(group) < id {
                group += 1;
            }
            if group < roles.groups.len() && roles.group_id(group) == id {
                record.roles = group as u32;
                group += 1;
            }
        }
        self.roles = Roles {
            ids: Vec::new(),
            ..roles
        };
    }

    /// Marks the duplicate addresses among the live accounts: equal hashes
    /// are adjacent in `live`.
    fn mark_duplicates(&mut self) {
        for run in self.live.chunk_by(|a, b| a.0 == b.0) {
            if run.len() > 1 {
                for &(_, at) in run {
                    self.marks[at as usize] |= DUPLICATE;
                }
            }
        }
    }

    /// Marks what the directory holds for each live account's address, by
    /// one merge of the two sorted lists of hashes.
    fn mark_directory_facts(&mut self, directory: &DirectoryIndex) {
        directory.merge_facts(&self.live, &mut self.marks);
        self.live = Vec::new();
    }

    fn view(&self, at: usize) -> AccountView<'_> {
        let start = match at.checked_sub(1) {
            Some(before) => self.records[before].ends[3] as usize,
            None => 0,
        };
        let [id, email, given, family] = self.records[at].ends.map(|e| e as usize);
        let mark = self.marks[at];
        AccountView {
            account_id: &self.text[start..id],
            email: &self.text[id..email],
            given_name: &self.text[email..given],
            family_name: &self.text[given..family],
            status: if mark & ACCOUNT_DISABLED != 0 {
                Status::Disabled
            } else {
                Status::Active
            },
            superseded: mark & ACCOUNT_SUPERSEDED != 0,
        }
    }

    /// The account's roles, into `out`.
    fn roles<'a>(&'a self, at: usize, out: &mut Vec<RoleView<'a>>) {
        out.clear();
        let group = self.records[at].roles;
        if group == NO_ROLES {
            return;
        }
        let roles = &self.roles;
        let from = match (group as usize).checked_sub(1) {
            Some(before) => roles.groups[before].1 as usize,
            None => 0,
        };
        let to = roles.groups[group as usize].1 as usize;
        out.extend(roles.roles[from..to].iter().map(|r| RoleView {
            ods_code: &roles.codes[r.code()],
            role: r.role(),
        }));
    }

    /// Applies the rules to the accounts `range`, as [`classify`] does one
    /// by one, but looking up the match candidates of all of them at once
    /// (their cache misses then overlap). Accounts not `shown` get a
    /// placeholder.
    fn classify(
        &self,
        directory: &DirectoryIndex,
        range: std::ops::Range<usize>,
        shown: &dyn Fn(u8) -> bool,
    ) -> Vec<Outcome> {
        let first = range.start;
        let mut outcomes = Vec::with_capacity(range.len());
        let mut roles = Vec::new();
        // The accounts that need the match, and the end of their look-ups.
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        let mut keys: Vec<Hashes> = Vec::new();
        for at in range {
            let mark = self.marks[at];
            let category = if shown(mark) {
                let account = self.view(at);
                let category = categorise(
                    account.superseded,
                    account.status,
                    account.email,
                    mark & DUPLICATE != 0,
                    unpack_facts(mark),
                );
                if category.needs_match() {
                    self.roles(at, &mut roles);
                    for code in match_codes(&roles) {
                        keys.push(hashes(&[account.given_name, account.family_name, code]));
                    }
                    wanted.push((at, keys.len()));
                }
                category
            } else {
                Category::Disabled
            };
            outcomes.push(Outcome {
                category,
                nhsmail_match: None,
                section: None,
            });
        }
        let found: Vec<(usize, usize)> = keys.iter().map(|&k| directory.people_with(k)).collect();
        let mut from = 0;
        for (at, to) in wanted {
            let account = self.view(at);
            self.roles(at, &mut roles);
            outcomes[at - first].nhsmail_match = Some(directory.match_among(
                account.given_name,
                account.family_name,
                &match_codes(&roles),
                &found[from..to],
            ));
            from = to;
        }
        for outcome in &mut outcomes {
            outcome.section = match &outcome.nhsmail_match {
                Some(m) => section_for(outcome.category, m),
                None => section_for(outcome.category, &NhsmailMatch::None),
            };
        }
        outcomes
    }
}

/// What the rules decided for one account, ahead of its row.
struct Outcome {
    category: Category,
    nhsmail_match: Option<NhsmailMatch>,
    section: Option<Section>,
}

/// Accounts are classified in chunks of this many, on a thread of their
/// own, while the caller's thread visits the chunk before.
const CHUNK: usize = 1 << 14;

/// Runs the audit over every account, calling `visit` for each in account_id order.
///
/// Three threads read the directory (into sorted lists of hashes), the
/// accounts (sorting the hashes of their addresses) and the roles, on three
/// connections. One merge of the two sorted lists of address hashes then
/// gives every account its directory facts and finds the duplicate
/// addresses. Last, a second thread applies the rules in account_id order, a
/// chunk ahead of this one, which builds the rows and visits them.
pub fn audit(
    store: &Store,
    options: AuditOptions,
    mut visit: impl FnMut(&AuditRow<'_>) -> Result<()>,
) -> Result<()> {
    let directory_reader = store.bulk_reader()?;
    let roles_reader = store.bulk_reader()?;
    let accounts_reader = store.bulk_reader()?;
    // The three loads must see one state of the store, or an account could
    // be read before a replacement and its roles after it.
    Store::read_together(&[&directory_reader, &roles_reader, &accounts_reader])?;
    let (directory, accounts) = std::thread::scope(|scope| {
        let directory = scope.spawn(move || {
            let index = DirectoryIndex::load(&directory_reader);
            crate::trace("directory loaded");
            index
        });
        let roles = scope.spawn(move || Roles::load(&roles_reader));
        let accounts = Accounts::load(&accounts_reader);
        drop(accounts_reader);
        let failed = |what: &str| anyhow::anyhow!("reading the {what} failed");
        let roles = roles.join().unwrap_or_else(|_| Err(failed("roles")));
        // What needs no directory, while the directory is still being read.
        let accounts = accounts.and_then(|mut accounts| {
            accounts.attach(roles?);
            accounts.mark_duplicates();
            Ok(accounts)
        });
        let directory = directory
            .join()
            .unwrap_or_else(|_| Err(failed("directory")));
        (directory, accounts)
    });
    let (mut directory, mut accounts) = (directory?, accounts?);
    accounts.mark_directory_facts(&directory);
    // Only the match needs the directory from here on.
    directory.by_address = Vec::new();
    crate::trace("addresses merged");

    // As before: disabled accounts (not superseded) only when asked for.
    let shown = |mark: u8| {
        options.include_disabled || mark & ACCOUNT_DISABLED == 0 || mark & ACCOUNT_SUPERSEDED != 0
    };
    let (accounts, directory) = (&accounts, &directory);
    std::thread::scope(|scope| {
        let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<Outcome>>(4);
        let classifier = scope.spawn(move || {
            let n = accounts.records.len();
            for start in (0..n).step_by(CHUNK) {
                let outcomes = accounts.classify(directory, start..n.min(start + CHUNK), &shown);
                // The caller stopped early (its visit failed): stop too.
                if sender.send(outcomes).is_err() {
                    break;
                }
            }
        });
        let mut roles = Vec::new();
        let mut at = 0;
        for outcome in chunks.iter().flatten() {
            let this = at;
            at += 1;
            if !shown(accounts.marks[this])
                || (outcome.category == Category::Disabled && !options.include_disabled)
            {
                continue;
            }
            accounts.roles(this, &mut roles);
            visit(&AuditRow {
                account: accounts.view(this),
                roles: &roles,
                category: outcome.category,
                nhsmail_match: outcome.nhsmail_match,
                section: outcome.section,
            })?;
        }
        if classifier.join().is_err() || at != accounts.records.len() {
            anyhow::bail!("classifying the accounts failed");
        }
        crate::trace("accounts classified");
        Ok(())
    })
}

/// The audit over an already loaded directory and duplicate addresses,
/// streaming the accounts from the store.
pub fn audit_with(
    store: &Store,
    directory: &DirectoryIndex,
    duplicates: &HashSet<String>,
    options: AuditOptions,
    visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<()>,
) -> Result<()> {
    store.for_each_account_with_roles(|account, roles| {
        if account.status == Status::Disabled && !options.include_disabled && !account.superseded {
            return Ok(());
        }
        let row = classify(account, roles, directory, duplicates);
        if row.category == Category::Disabled && !options.include_disabled {
            return Ok(());
        }
        visit(&row)
    })
}

/// Applies the rules to one account.
pub fn classify<'a>(
    account: AccountView<'a>,
    roles: &'a [RoleView<'a>],
    directory: &DirectoryIndex,
    duplicates: &HashSet<String>,
) -> AuditRow<'a> {
    let live = account.status == Status::Active && !account.superseded;
    let duplicate = live && is_duplicate(duplicates, account.email);
    let facts = directory.facts(account.email);
    let category = categorise(
        account.superseded,
        account.status,
        account.email,
        duplicate,
        facts,
    );
    let nhsmail_match = category
        .needs_match()
        .then(|| directory.find_match(account.given_name, account.family_name, roles));
    let section = nhsmail_match.as_ref().map_or_else(
        || section_for(category, &NhsmailMatch::None),
        |m| section_for(category, m),
    );
    AuditRow {
        account,
        roles,
        category,
        nhsmail_match,
        section,
    }
}

fn is_duplicate(duplicates: &HashSet<String>, email: &str) -> bool {
    if duplicates.is_empty() {
        return false;
    }
    let email = email.trim();
    if email
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        duplicates.contains(&normal_form(email))
    } else {
        duplicates.contains(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DirectoryEntry;
    use crate::rules::normal_form;

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
    fn same_bytes_is_equality() {
        let texts: Vec<String> = (0..20)
            .flat_map(|n| ["a".repeat(n), format!("{}b", "a".repeat(n))])
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn role_entries_keep_their_code_and_role() {
        for &role in Role::ALL {
            for code in [0, 1, 6642, RoleEntry::MAX_CODES - 1] {
                let entry = RoleEntry::new(code, role);
                assert_eq!((entry.code(), entry.role()), (code, role));
            }
        }
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

    fn entry(address: &str, given: &str, family: &str, ods: &str) -> DirectoryEntry {
        DirectoryEntry {
            address: address.into(),
            given_name: given.into(),
            family_name: family.into(),
            ods_code: ods.into(),
            status: Status::Active,
            mailbox_type: MailboxType::Personal,
        }
    }

    fn role_at(ods_code: &str) -> RoleView<'_> {
        RoleView {
            ods_code,
            role: Role::View,
        }
    }

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

    /// An account written `id|email|given|family|state|ODS codes`, where the
    /// state is `active`, `disabled` or `superseded`.
    struct Spec<'a> {
        id: &'a str,
        email: &'a str,
        given: &'a str,
        family: &'a str,
        status: Status,
        superseded: bool,
        codes: Vec<&'a str>,
    }

    fn spec(line: &str) -> Spec<'_> {
        let fields: Vec<&str> = line.split('|').collect();
        Spec {
            id: fields[0],
            email: fields[1],
            given: fields[2],
            family: fields[3],
            status: if fields[4] == "disabled" {
                Status::Disabled
            } else {
                Status::Active
            },
            superseded: fields[4] == "superseded",
            codes: fields[5].split_whitespace().collect(),
        }
    }

    /// The bulk audit's accounts, roles (with some of accounts not in the
    /// store) and marks, loaded as from a store.
    fn bulk(specs: &[Spec<'_>], orphans: &[&str], directory: &DirectoryIndex) -> Accounts {
        let mut accounts = Accounts::with_capacity(specs.len());
        let mut text = Vec::new();
        for a in specs {
            let row = AccountBytes {
                account_id: a.id.as_bytes(),
                email: a.email.as_bytes(),
                given_name: a.given.as_bytes(),
                family_name: a.family.as_bytes(),
                status: a.status,
                superseded: a.superseded,
            };
            accounts.push(&mut text, row).unwrap();
        }
        accounts.finish(text).unwrap();
        // Roles in (account_id, ods_code) order, as the store gives them.
        let mut roles: Vec<(&str, &str)> = specs
            .iter()
            .flat_map(|a| a.codes.iter().map(move |code| (a.id, *code)))
            .chain(orphans.iter().map(|id| (*id, "Y00001")))
            .collect();
        roles.sort();
        let mut table = Roles::default();
        let mut reading = ReadingRoles::default();
        for (id, code) in roles {
            let (id, code) = (id.as_bytes(), code.as_bytes());
            table.push(&mut reading, id, code, Role::View).unwrap();
        }
        accounts.attach(table);
        accounts.mark_duplicates();
        accounts.mark_directory_facts(directory);
        accounts
    }

    #[test]
    fn the_bulk_audit_agrees_with_classifying_one_account_at_a_time() {
        let lines = [
            "A1|jo.bloggs@nhs.net|Jo|Bloggs|active|F82001",
            "A2| JO.BLOGGS@nhs.net|Jo|Bloggs|active|F82002 F82001",
            "A3|sam@nhs.net|Sam|Smith|active|",
            "A4|Sam@NHS.net|Sam|Smith|disabled|F82001",
            "A5|sam@nhs.net|Sam|Smith|superseded|F82001",
            "A6|team@nhs.net|Ann|Lee|active|F82001",
            "A7|old@nhs.net|Ann|Lee|active|F82002 F82001",
            "A8|ann@practice.nhs.uk|Ann|Lee|active|F82001",
            "A9|ann@example.com|ANN| lee|active|F82003",
            "B1|not an address|Bo|Peep|active|F82001",
            "B2|not an address |Bo|Peep|active|F82001",
            "B3|ѕarah@nhs.net|Sarah|Jones|active|F82001",
            "B4|ѕarah@nhs.net\u{a0}|Sarah|Jones|active|",
            "B5|gone@nhs.net|Gus|Gone|disabled|F82001",
        ];
        let specs: Vec<Spec<'_>> = lines.iter().map(|l| spec(l)).collect();
        let shared = DirectoryEntry {
            mailbox_type: MailboxType::Shared,
            ..entry("team@nhs.net", "Ann", "Lee", "F82001")
        };
        let disabled = DirectoryEntry {
            status: Status::Disabled,
            ..entry("old@nhs.net", "Ann", "Lee", "F82001")
        };
        let directory = DirectoryIndex::from_entries(&[
            entry("jo.bloggs@nhs.net", "Jo", "Bloggs", "F82001"),
            shared,
            disabled,
            entry("ann.lee@nhs.net", "Ann", "Lee", "F82001"),
            entry("ann.lee2@nhs.net", "Ann", "Lee", "F82003"),
            entry("ann.lee3@nhs.net", "Ann", "Lee", "F82003"),
            entry("sam@nhs.net", "Sam", "Smith", "F82002"),
        ]);
        let accounts = bulk(&specs, &["A0", "A55", "Z9"], &directory);
        // What the store's duplicate query finds: normal forms held by more
        // than one account that is neither superseded nor disabled.
        let mut live: HashMap<String, usize> = HashMap::new();
        for a in specs
            .iter()
            .filter(|a| a.status == Status::Active && !a.superseded)
        {
            *live.entry(normal_form(a.email)).or_default() += 1;
        }
        let duplicates: HashSet<String> = live
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(key, _)| key)
            .collect();
        // B3 and B4 differ by a no-break space, which the normal form keeps.
        assert_eq!(duplicates.len(), 2, "{duplicates:?}");

        let outcomes = accounts.classify(&directory, 0..specs.len(), &|_| true);
        let mut roles = Vec::new();
        for (at, (a, outcome)) in specs.iter().zip(&outcomes).enumerate() {
            accounts.roles(at, &mut roles);
            let codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
            let mut expected = a.codes.clone();
            expected.sort_unstable();
            assert_eq!(codes, expected, "roles of {}", a.id);
            let view = accounts.view(at);
            assert_eq!(
                (
                    view.account_id,
                    view.email,
                    view.given_name,
                    view.family_name
                ),
                (a.id, a.email, a.given, a.family)
            );
            assert_eq!((view.status, view.superseded), (a.status, a.superseded));
            let one = classify(view, &roles, &directory, &duplicates);
            assert_eq!(
                (outcome.category, &outcome.nhsmail_match, outcome.section),
                (one.category, &one.nhsmail_match, one.section),
                "account {}",
                a.id
            );
        }
        let category = |id: &str| outcomes[specs.iter().position(|a| a.id == id).unwrap()].category;
        assert_eq!(category("A1"), Category::DuplicateEmail);
        assert_eq!(
            category("A3"),
            Category::Ok,
            "its twins are disabled or superseded"
        );
        assert_eq!(category("A6"), Category::SharedMailbox);
        assert_eq!(category("A7"), Category::NhsmailDisabled);
        assert_eq!(category("A9"), Category::OtherDomain);
        assert_eq!(category("B2"), Category::InvalidEmail);
        assert_eq!(category("B5"), Category::Disabled);
        let matched = |id: &str| {
            let at = specs.iter().position(|a| a.id == id).unwrap();
            outcomes[at].nhsmail_match.clone()
        };
        let confident = |a: &str| Some(NhsmailMatch::Confident(a.to_string()));
        assert_eq!(matched("A8"), confident("ann.lee@nhs.net"));
        assert_eq!(matched("A9"), Some(NhsmailMatch::Ambiguous));
        assert_eq!(matched("A3"), None, "an ok account needs no match");
    }

    /// A store with the bundled fixtures imported, as the README's first command does.
    fn fixture_store() -> (tempfile::TempDir, Store) {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.db");
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for kind in [
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
        ] {
            let file = fixtures.join(format!("{kind}.csv"));
            let args = [
                "cqrs-admin",
                "--db",
                db.to_str().unwrap(),
                "import",
                kind,
                file.to_str().unwrap(),
            ];
            crate::run(crate::cli::Cli::try_parse_from(args).unwrap()).unwrap();
        }
        let store = Store::open(&db).unwrap();
        (dir, store)
    }

    #[test]
    fn the_audit_of_the_fixtures_is_the_audit_one_account_at_a_time() {
        let (_dir, store) = fixture_store();
        let directory = DirectoryIndex::load(&store).unwrap();
        let duplicates = store.duplicate_live_emails().unwrap();
        let row = |r: &AuditRow<'_>| {
            format!(
                "{:?} {:?} {:?} {} {:?}",
                r.account,
                r.roles,
                r.category,
                r.match_column(),
                r.section
            )
        };
        for include_disabled in [false, true] {
            let options = AuditOptions { include_disabled };
            let mut bulk = Vec::new();
            audit(&store, options, |r| {
                bulk.push(row(r));
                Ok(())
            })
            .unwrap();
            let mut one_by_one = Vec::new();
            audit_with(&store, &directory, &duplicates, options, &mut |r| {
                one_by_one.push(row(r));
                Ok(())
            })
            .unwrap();
            assert!(bulk.len() > 30);
            assert_eq!(bulk, one_by_one);
        }
    }

    #[test]
    fn a_failing_visit_stops_the_audit_with_its_error() {
        let (_dir, store) = fixture_store();
        let mut visited = 0;
        let result = audit(&store, AuditOptions::default(), |_| {
            visited += 1;
            anyhow::bail!("the output is closed")
        });
        assert_eq!(result.unwrap_err().to_string(), "the output is closed");
        assert_eq!(visited, 1);
    }

    #[test]
    fn an_empty_store_has_an_empty_audit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("empty.db")).unwrap();
        let mut visited = 0;
        audit(&store, AuditOptions::default(), |_| {
            visited += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(visited, 0);
    }
}
