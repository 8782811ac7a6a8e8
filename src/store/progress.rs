//! Progress toward cutover: the snapshot a whole-store audit records for its
//! day, the rows `progress` reads back, and notes and follow-up states on
//! accounts. Shared by every back end: the records, and the encoding of the
//! accounts a snapshot found needing action.
//!
//! A snapshot keeps its counts as plain columns (so `progress` reads a few
//! dozen small rows, never an account) and the accounts needing action as
//! one value, so that the next snapshot can say which were fixed and which
//! are new. That value lists the accounts in account_id order (the audit's
//! order), each as: how many leading bytes its id shares with the previous
//! id (LEB128), the rest of the id (its length, LEB128, and its UTF-8), its
//! section (one byte, its place in rules.md's table), how many contacts it
//! has (LEB128) and each contact's place in the value's list of contact
//! codes (LEB128). The list of contact codes comes first: how many (LEB128),
//! then each code (its length and its UTF-8). Ids share long prefixes
//! (`U0001234`), so a national snapshot of 200,000 accounts is about a
//! megabyte.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

use crate::rules::{Category, Section};

/// What a whole-store audit found on its day, to be kept.
#[derive(Debug, Default)]
pub struct NewSnapshot {
    /// Accounts audited (disabled accounts are never counted).
    pub accounts: u64,
    pub categories: BTreeMap<Category, u64>,
    /// Accounts in each section, in rules.md's order.
    pub sections: [u64; 3],
    pub needing: NeedingAccounts,
    /// Each contact's name, by code, as the organisations file has it today.
    pub contact_names: FxHashMap<String, String>,
    /// The counts by the organisations accounts hold roles at, kept by a
    /// store with areas (see [`NewSnapshot::by_organisations`]); None
    /// elsewhere.
    pub groups: Option<Groups>,
}

/// A snapshot's counts by the set of organisations accounts hold roles at
/// (a shared store's areas are worked out from them: an account is in an
/// area when it holds a role there). Keyed by the set's ODS codes in byte
/// order, joined by [`GROUP_SEPARATOR`] (a control character, which no
/// imported code holds).
///
/// While an audit counts (once an account, on its one visiting thread), an
/// account whose set has at most [`PACKED_CODES`] organisations is only
/// noted, in one number: each code's place in the order first seen (a
/// small map, 7,000 codes for a national store), the places sorted and
/// packed 16 bits each, and what to count of it. [`Groups::into_counts`]
/// sorts the notes and counts each run of one set. Counting each account
/// straight into a map of its set's text key (34,000 sets for a national
/// store) took half the visiting thread's time on PostgreSQL, nearly all
/// of it waiting for the map's entry to come from memory.
#[derive(Debug, Default)]
pub struct Groups {
    /// Sets that are not packed (more codes, or a code beyond the 65,535
    /// numbered), by their text key.
    counts: FxHashMap<String, GroupCounts>,
    /// One an account of a packed set (8 bytes: 7.8 MB for a national
    /// store): its places (each place plus 1) in the 48 bits above the
    /// lowest 8, and its [`tally`] in those 8.
    notes: Vec<u64>,
    /// Each code seen and its place.
    places: FxHashMap<String, u16>,
    codes_seen: Vec<String>,
    /// The key being built, kept to spare an allocation an account.
    key: String,
    codes: Vec<String>,
}

/// The most organisations a packed set holds (16 bits each, above a tally).
const PACKED_CODES: usize = 3;

/// What one account adds to its group's counts, in 8 bits: whether it is
/// ok (bit 0), and its section's rank plus 1 (bits 1 and 2; 0: none).
fn tally(category: Category, section: Option<Section>) -> u64 {
    let ok = u64::from(category == Category::Ok);
    let section = section.map_or(0, |s| section_rank(s) as u64 + 1);
    ok | (section << 1)
}

/// Between the ODS codes of a group's key.
pub const GROUP_SEPARATOR: char = '\u{1f}';

/// One group's counts on a day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GroupCounts {
    pub accounts: u64,
    pub ok: u64,
    /// Accounts in each section, in rules.md's order.
    pub sections: [u64; 3],
}

impl GroupCounts {
    /// Counts one account of the group, as [`tally`] put it.
    fn count(&mut self, tally: u64) {
        self.accounts += 1;
        self.ok += tally & 1;
        if let Some(rank) = ((tally >> 1) & 3).checked_sub(1) {
            self.sections[rank as usize] += 1;
        }
    }

    fn merge(&mut self, other: &GroupCounts) {
        self.accounts += other.accounts;
        self.ok += other.ok;
        for (mine, theirs) in self.sections.iter_mut().zip(other.sections) {
            *mine += theirs;
        }
    }
}

impl Groups {
    /// The key of the set of these organisations (sorted, each once).
    pub fn key_of<'c>(&mut self, codes: impl Iterator<Item = &'c str>) -> &str {
        let mut n = 0;
        for code in codes {
            if n == self.codes.len() {
                self.codes.push(String::new());
            }
            self.codes[n].clear();
            self.codes[n].push_str(code);
            n += 1;
        }
        let codes = &mut self.codes[..n];
        codes.sort_unstable();
        self.key.clear();
        let mut last: Option<&str> = None;
        for code in codes.iter() {
            if last == Some(code.as_str()) {
                continue;
            }
            if last.is_some() {
                self.key.push(GROUP_SEPARATOR);
            }
            self.key.push_str(code);
            last = Some(code);
        }
        &self.key
    }

    /// A code's place plus 1, numbering it if it is new; None once 65,535
    /// codes are numbered (a place is never given later, so a set is
    /// always packed or never).
    fn place_of(&mut self, code: &str) -> Option<u64> {
        if let Some(&place) = self.places.get(code) {
            return Some(u64::from(place) + 1);
        }
        let place = u16::try_from(self.codes_seen.len())
            .ok()
            .filter(|&p| p < u16::MAX)?;
        self.places.insert(code.to_string(), place);
        self.codes_seen.push(code.to_string());
        Some(u64::from(place) + 1)
    }

    /// A set's places, sorted and packed (0 for no organisation), if it
    /// can be packed.
    fn packed_of<'c>(&mut self, codes: impl Iterator<Item = &'c str>) -> Option<u64> {
        let mut places = [0u64; PACKED_CODES];
        let mut n = 0;
        for code in codes {
            let place = self.place_of(code)?;
            if places[..n].contains(&place) {
                continue;
            }
            if n == PACKED_CODES {
                return None;
            }
            places[n] = place;
            n += 1;
        }
        let places = &mut places[..n];
        places.sort_unstable();
        Some(places.iter().fold(0, |packed, &p| (packed << 16) | p))
    }

    fn add<'c>(
        &mut self,
        codes: impl Iterator<Item = &'c str> + Clone,
        category: Category,
        section: Option<Section>,
    ) {
        let tally = tally(category, section);
        if let Some(packed) = self.packed_of(codes.clone()) {
            self.notes.push((packed << 8) | tally);
            return;
        }
        self.key_of(codes);
        let counts = match self.counts.get_mut(self.key.as_str()) {
            Some(c) => c,
            None => self.counts.entry(self.key.clone()).or_default(),
        };
        counts.count(tally);
    }

    /// The counts of each set, by its key.
    pub fn into_counts(mut self) -> FxHashMap<String, GroupCounts> {
        let mut notes = std::mem::take(&mut self.notes);
        let mut counts = std::mem::take(&mut self.counts);
        notes.sort_unstable();
        let mut keys = Groups::default();
        let mut codes: Vec<&str> = Vec::with_capacity(PACKED_CODES);
        for run in notes.chunk_by(|a, b| a >> 8 == b >> 8) {
            let mut group = GroupCounts::default();
            for &note in run {
                group.count(note & 0xff);
            }
            codes.clear();
            let mut places = run[0] >> 8;
            while places != 0 {
                codes.push(&self.codes_seen[(places & 0xffff) as usize - 1]);
                places >>= 16;
            }
            counts
                .entry(keys.key_of(codes.iter().copied()).to_string())
                .or_default()
                .merge(&group);
        }
        counts
    }
}

/// A group's key as its ODS codes.
pub fn group_codes(key: &str) -> Vec<String> {
    if key.is_empty() {
        return Vec::new();
    }
    key.split(GROUP_SEPARATOR).map(str::to_string).collect()
}

/// Why a store kept no snapshot of an audit that is not the whole store's
/// (an area operator's): said as a note, not a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnapshotNotRecorded(pub String);

impl NewSnapshot {
    /// A snapshot that also counts accounts by the organisations they hold
    /// roles at (a store with areas).
    pub fn by_organisations() -> NewSnapshot {
        NewSnapshot {
            groups: Some(Groups::default()),
            ..NewSnapshot::default()
        }
    }

    /// Counts one audited account by the organisations of its roles, when
    /// the snapshot keeps groups (see [`NewSnapshot::by_organisations`]).
    pub fn add_organisations<'c>(
        &mut self,
        codes: impl Iterator<Item = &'c str> + Clone,
        category: Category,
        section: Option<Section>,
    ) {
        if category == Category::Disabled {
            return;
        }
        if let Some(groups) = &mut self.groups {
            groups.add(codes, category, section);
        }
    }

    pub fn needing_action(&self) -> u64 {
        self.sections.iter().sum()
    }

    /// Counts one audited account: `contacts` are its contacts' codes
    /// (only looked at when it needs action).
    pub fn add<'c>(
        &mut self,
        account_id: &str,
        category: Category,
        section: Option<Section>,
        contacts: impl Iterator<Item = &'c str>,
    ) {
        if category == Category::Disabled {
            return;
        }
        self.accounts += 1;
        *self.categories.entry(category).or_default() += 1;
        if let Some(section) = section {
            self.sections[section_rank(section)] += 1;
            self.needing.push(account_id, section, contacts);
        }
    }
}

/// A section's place in rules.md's table.
pub fn section_rank(section: Section) -> usize {
    Section::ALL.iter().position(|s| *s == section).unwrap_or(0)
}

/// The accounts needing action, encoded as they arrive (see the module's
/// documentation).
#[derive(Debug, Default)]
pub struct NeedingAccounts {
    body: Vec<u8>,
    last_id: Vec<u8>,
    codes: Vec<String>,
    code_index: FxHashMap<String, u32>,
    count: u64,
    /// False once an id arrived out of order: the value is then rebuilt
    /// sorted before it is kept.
    in_order: bool,
    out_of_order: Vec<(String, Section, Vec<String>)>,
}

impl NeedingAccounts {
    pub fn push<'c>(
        &mut self,
        account_id: &str,
        section: Section,
        contacts: impl Iterator<Item = &'c str>,
    ) {
        if self.count == 0 {
            self.in_order = true;
        }
        self.count += 1;
        let id = account_id.as_bytes();
        if !self.in_order || id <= self.last_id.as_slice() && self.count > 1 {
            // Never expected (the audit visits accounts in id order), but a
            // value that the merge in `compare` misreads must never be kept.
            self.in_order = false;
            self.out_of_order.push((
                account_id.to_string(),
                section,
                contacts.map(str::to_string).collect(),
            ));
            return;
        }
        let shared = id
            .iter()
            .zip(&self.last_id)
            .take_while(|(a, b)| a == b)
            .count();
        leb(&mut self.body, shared);
        leb(&mut self.body, id.len() - shared);
        self.body.extend_from_slice(&id[shared..]);
        self.last_id.clear();
        self.last_id.extend_from_slice(id);
        self.body.push(section_rank(section) as u8);
        let start = self.body.len();
        self.body.push(0);
        let mut n = 0usize;
        for code in contacts {
            let next = self.codes.len() as u32;
            let index = *self.code_index.entry(code.to_string()).or_insert(next);
            if index == next {
                self.codes.push(code.to_string());
            }
            leb(&mut self.body, index as usize);
            n += 1;
        }
        // Almost every account has one to three contacts: one byte.
        if n < 0x80 {
            self.body[start] = n as u8;
        } else {
            let mut count = Vec::new();
            leb(&mut count, n);
            self.body.splice(start..start + 1, count);
        }
    }

    /// The contact codes met so far.
    pub fn codes(&self) -> Vec<String> {
        let mut codes = self.codes.clone();
        for (_, _, contacts) in &self.out_of_order {
            codes.extend(contacts.iter().cloned());
        }
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The value to keep.
    pub fn encode(self) -> Vec<u8> {
        if !self.in_order && self.count > 0 {
            let mut rows = self.rebuild_rows();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows.dedup_by(|a, b| a.0 == b.0);
            let mut sorted = NeedingAccounts::default();
            for (id, section, contacts) in &rows {
                sorted.push(id, *section, contacts.iter().map(String::as_str));
            }
            return sorted.encode();
        }
        let mut out = Vec::with_capacity(self.body.len() + 16 * self.codes.len() + 8);
        leb(&mut out, self.codes.len());
        for code in &self.codes {
            leb(&mut out, code.len());
            out.extend_from_slice(code.as_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Every account pushed, as owned rows (only for the out-of-order case).
    fn rebuild_rows(&self) -> Vec<(String, Section, Vec<String>)> {
        let mut head = Vec::new();
        leb(&mut head, self.codes.len());
        for code in &self.codes {
            leb(&mut head, code.len());
            head.extend_from_slice(code.as_bytes());
        }
        head.extend_from_slice(&self.body);
        let mut rows: Vec<(String, Section, Vec<String>)> = decode(&head)
            .map(|d| {
                (0..d.len())
                    .map(|i| {
                        (
                            d.id(i).to_string(),
                            d.section(i),
                            d.contacts(i)
                                .iter()
                                .map(|&c| d.code(c).to_string())
                                .collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows.extend(self.out_of_order.iter().cloned());
        rows
    }
}

fn leb(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A kept value read back, flat: a national snapshot has 200,000 accounts,
/// and one allocation each would cost the audit that compares two of them
/// more than the rest of keeping it.
#[derive(Debug, Default)]
pub struct Decoded {
    pub codes: Vec<String>,
    /// Every id, one after another; `id_ends[i]` is where the i-th ends.
    ids: String,
    id_ends: Vec<u32>,
    sections: Vec<Section>,
    /// Every account's contacts (places in `codes`), one after another.
    contacts: Vec<u32>,
    contact_ends: Vec<u32>,
}

impl Decoded {
    pub fn len(&self) -> usize {
        self.id_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id_ends.is_empty()
    }

    pub fn id(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.id_ends[i - 1] as usize
        };
        &self.ids[start..self.id_ends[i] as usize]
    }

    pub fn section(&self, i: usize) -> Section {
        self.sections[i]
    }

    /// The account's contacts, as places in [`Decoded::codes`].
    pub fn contacts(&self, i: usize) -> &[u32] {
        let start = if i == 0 {
            0
        } else {
            self.contact_ends[i - 1] as usize
        };
        &self.contacts[start..self.contact_ends[i] as usize]
    }

    fn code(&self, c: u32) -> &str {
        &self.codes[c as usize]
    }
}

/// Why a kept value cannot be read: the byte where it is damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the snapshot's accounts are damaged at byte {0}: {1}")]
pub struct Damaged(pub usize, pub &'static str);

/// Reads a kept value back, whole or not at all.
pub fn decode(whole: &[u8]) -> Result<Decoded, Damaged> {
    let mut at = 0usize;
    let read_leb = |at: &mut usize| -> Result<usize, Damaged> {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let byte = *whole.get(*at).ok_or(Damaged(*at, "cut short"))?;
            if shift > 28 {
                return Err(Damaged(*at, "a number too long"));
            }
            *at += 1;
            n |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
    };
    let text = |at: &mut usize, len: usize| -> Result<&str, Damaged> {
        let bytes = whole
            .get(*at..at.saturating_add(len))
            .ok_or(Damaged(*at, "cut short"))?;
        let s = std::str::from_utf8(bytes).map_err(|_| Damaged(*at, "not UTF-8"))?;
        *at += len;
        Ok(s)
    };
    let n = read_leb(&mut at)?;
    let mut d = Decoded {
        codes: Vec::with_capacity(n.min(1 << 16)),
        ..Decoded::default()
    };
    for _ in 0..n {
        let len = read_leb(&mut at)?;
        d.codes.push(text(&mut at, len)?.to_string());
    }
    let mut last_start = 0usize;
    while at < whole.len() {
        let shared = read_leb(&mut at)?;
        let len = read_leb(&mut at)?;
        let last_len = d.ids.len() - last_start;
        if shared > last_len || !d.ids.is_char_boundary(last_start + shared) {
            return Err(Damaged(
                at,
                "an id that shares more than the previous one has",
            ));
        }
        let rest = text(&mut at, len)?;
        let start = d.ids.len();
        d.ids.extend_from_within(last_start..last_start + shared);
        d.ids.push_str(rest);
        last_start = start;
        let end = u32::try_from(d.ids.len()).map_err(|_| Damaged(at, "too large"))?;
        d.id_ends.push(end);
        let section = *whole
            .get(at)
            .and_then(|&s| Section::ALL.get(usize::from(s)))
            .ok_or(Damaged(at, "no such section"))?;
        d.sections.push(section);
        at += 1;
        let k = read_leb(&mut at)?;
        for _ in 0..k {
            let c = read_leb(&mut at)?;
            if c >= d.codes.len() {
                return Err(Damaged(at, "no such contact"));
            }
            d.contacts.push(c as u32);
        }
        d.contact_ends.push(d.contacts.len() as u32);
    }
    Ok(d)
}

/// What changed between two snapshots: accounts fixed (needed action then,
/// not now) and new (need action now, did not then), in all and by contact.
/// An account still needing action but no longer under a contact counts as
/// fixed for that contact (and new for a contact it gained).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub fixed: u64,
    pub new: u64,
    /// (fixed, new) by contact code.
    pub by_contact: BTreeMap<String, (u64, u64)>,
}

/// One step of the merge of two snapshots' id lists: an account only in
/// the earlier (at its place there), only in the later, or in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fixed(usize),
    New(usize),
    Both(usize, usize),
}

/// Walks the two id lists (both in id order) together, once, telling
/// `visit` of each account: the one merge both back ends' comparisons use.
pub fn merge_ids(before: &Decoded, after: &Decoded, mut visit: impl FnMut(Step)) {
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < after.len() {
        let order = if i == before.len() {
            std::cmp::Ordering::Greater
        } else if j == after.len() {
            std::cmp::Ordering::Less
        } else {
            before.id(i).cmp(after.id(j))
        };
        match order {
            std::cmp::Ordering::Less => {
                visit(Step::Fixed(i));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                visit(Step::New(j));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                visit(Step::Both(i, j));
                i += 1;
                j += 1;
            }
        }
    }
}

/// Compares the accounts of an earlier snapshot with a later one's: one
/// merge of the two id lists (both in id order).
pub fn compare(before: &Decoded, after: &Decoded) -> Changes {
    // Counted by place in each snapshot's list of codes, named at the end.
    let mut lost = vec![0u64; before.codes.len()];
    let mut gained = vec![0u64; after.codes.len()];
    let (mut fixed, mut new) = (0, 0);
    merge_ids(before, after, |step| match step {
        Step::Fixed(i) => {
            fixed += 1;
            for &c in before.contacts(i) {
                lost[c as usize] += 1;
            }
        }
        Step::New(j) => {
            new += 1;
            for &c in after.contacts(j) {
                gained[c as usize] += 1;
            }
        }
        Step::Both(i, j) => {
            let (then, now) = (before.contacts(i), after.contacts(j));
            // Almost always the same contacts: compared by name, since
            // each snapshot numbers its codes in its own order.
            let same = then.len() == now.len()
                && then
                    .iter()
                    .zip(now)
                    .all(|(&a, &b)| before.code(a) == after.code(b));
            if !same {
                for &c in then {
                    if !now.iter().any(|&n| after.code(n) == before.code(c)) {
                        lost[c as usize] += 1;
                    }
                }
                for &c in now {
                    if !then.iter().any(|&t| before.code(t) == after.code(c)) {
                        gained[c as usize] += 1;
                    }
                }
            }
        }
    });
    let mut by_contact: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (c, n) in lost.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        by_contact.entry(before.codes[c].clone()).or_default().0 += n;
    }
    for (c, n) in gained.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        by_contact.entry(after.codes[c].clone()).or_default().1 += n;
    }
    Changes {
        fixed,
        new,
        by_contact,
    }
}

/// How many accounts of a decoded snapshot each contact has, in each
/// section (rules.md's order).
pub fn per_contact(decoded: &Decoded) -> BTreeMap<String, [u64; 3]> {
    let mut counts = vec![[0u64; 3]; decoded.codes.len()];
    for i in 0..decoded.len() {
        let rank = section_rank(decoded.section(i));
        for &c in decoded.contacts(i) {
            counts[c as usize][rank] += 1;
        }
    }
    decoded.codes.iter().cloned().zip(counts).collect()
}

/// One snapshot, as `progress` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotRow {
    pub date: NaiveDate,
    pub accounts: u64,
    pub needing_action: u64,
    /// Accounts in each section, in rules.md's order.
    pub sections: [u64; 3],
    /// Accounts in category `ok`.
    pub ok: u64,
    /// None for the first snapshot: there is nothing to compare it with.
    pub fixed: Option<u64>,
    pub new: Option<u64>,
    /// The value's size in the store, in bytes.
    pub bytes: u64,
}

/// One contact on one snapshot's day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContactProgressRow {
    pub date: NaiveDate,
    pub contact_code: String,
    pub contact_name: String,
    pub needing_action: u64,
    /// The contact's accounts in each section, in rules.md's order.
    pub sections: [u64; 3],
    pub fixed: Option<u64>,
    pub new: Option<u64>,
}

/// Where an operator has got to with an account's case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowUp {
    Contacted,
    AwaitingUser,
    DoneInCqrs,
}

impl FollowUp {
    pub const ALL: [FollowUp; 3] = [
        FollowUp::Contacted,
        FollowUp::AwaitingUser,
        FollowUp::DoneInCqrs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FollowUp::Contacted => "contacted",
            FollowUp::AwaitingUser => "awaiting-user",
            FollowUp::DoneInCqrs => "done-in-cqrs",
        }
    }

    pub fn parse(text: &str) -> Option<FollowUp> {
        FollowUp::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// A note on an account: never edited or deleted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    pub actor: String,
    /// Whether `actor` was given explicitly (`--actor`): a store that knows
    /// the operator itself (PostgreSQL: the login) keeps only such a claim
    /// (see `Actor`). Not kept: a note read back says false.
    #[serde(skip)]
    pub claimed: bool,
    /// When, UTC, RFC 3339 to the second.
    pub at: String,
    /// The day it was written (`--today`, else today).
    pub date: NaiveDate,
    pub text: String,
}

/// An account's follow-up state, who set it and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FollowUpState {
    pub actor: String,
    pub at: String,
    pub date: NaiveDate,
    pub state: FollowUp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(rows: &[(&str, Section, &[&str])]) -> Decoded {
        let mut n = NeedingAccounts::default();
        for (id, section, contacts) in rows {
            n.push(id, *section, contacts.iter().copied());
        }
        decode(&n.encode()).expect("decodes")
    }

    #[test]
    fn accounts_come_back_exactly() {
        let d = snapshot(&[
            ("U0001", Section::NoNhsmail, &["00T", "cqrs-administrator"]),
            ("U0002", Section::Administrator, &["00T"]),
            ("U0010", Section::ContactCommissioner, &[]),
        ]);
        let ids: Vec<&str> = (0..d.len()).map(|i| d.id(i)).collect();
        assert_eq!(ids, ["U0001", "U0002", "U0010"]);
        assert_eq!(d.section(1), Section::Administrator);
        assert_eq!(d.code(d.contacts(1)[0]), "00T");
        assert_eq!(d.contacts(0).len(), 2);
        assert_eq!(d.contacts(2).len(), 0);
        // Out of order, the value is still sorted when kept.
        let d = snapshot(&[
            ("U2", Section::NoNhsmail, &["A"]),
            ("U1", Section::NoNhsmail, &["B"]),
        ]);
        let ids: Vec<&str> = (0..d.len()).map(|i| d.id(i)).collect();
        assert_eq!(ids, ["U1", "U2"]);
    }

    #[test]
    fn a_damaged_value_is_refused() {
        let mut n = NeedingAccounts::default();
        n.push("U0001", Section::NoNhsmail, ["00T"].into_iter());
        let blob = n.encode();
        for cut in 1..blob.len() {
            // Cut inside an account: never read as fewer accounts.
            let r = decode(&blob[..cut]);
            assert!(r.is_err() || r.unwrap().is_empty(), "cut at {cut}");
        }
    }

    #[test]
    fn groups_are_keyed_by_each_organisation_once_in_order() {
        let mut s = NewSnapshot::by_organisations();
        s.add_organisations(["B", "A", "B"].into_iter(), Category::Ok, None);
        s.add_organisations(
            ["A", "B"].into_iter(),
            Category::NotInDirectory,
            Some(Section::NoNhsmail),
        );
        s.add_organisations([].into_iter(), Category::Disabled, None);
        s.add_organisations([].into_iter(), Category::Ok, None);
        let groups = s.groups.unwrap().into_counts();
        let ab = groups[&format!("A{GROUP_SEPARATOR}B")];
        assert_eq!((ab.accounts, ab.ok), (2, 1));
        assert_eq!(ab.sections.iter().sum::<u64>(), 1);
        assert_eq!(groups[""].accounts, 1);
        assert_eq!(groups.len(), 2);
        assert_eq!(group_codes(&format!("A{GROUP_SEPARATOR}B")), ["A", "B"]);
        assert!(group_codes("").is_empty());
    }

    /// Sets noted under a number (up to three codes) and counted by their
    /// text (more) come back under the same kind of key, each section
    /// counted in its place, and a set is one group whatever the order its
    /// codes came in.
    #[test]
    fn packed_and_text_groups_give_the_same_keys_and_counts() {
        let mut s = NewSnapshot::by_organisations();
        let four = ["D", "C", "B", "A"];
        s.add_organisations(four.into_iter(), Category::Ok, None);
        s.add_organisations(four.into_iter().rev(), Category::Ok, Some(Section::ALL[2]));
        s.add_organisations(["C", "B", "A", "C"].into_iter(), Category::Ok, None);
        s.add_organisations(
            ["A", "B", "C"].into_iter(),
            Category::Ok,
            Some(Section::ALL[1]),
        );
        for (i, &section) in Section::ALL.iter().enumerate() {
            for _ in 0..=i {
                s.add_organisations(
                    ["Z", "A"].into_iter(),
                    Category::NotInDirectory,
                    Some(section),
                );
            }
        }
        s.add_organisations(["A", "Z"].into_iter(), Category::Ok, None);
        let groups = s.groups.unwrap().into_counts();
        let key = |codes: &[&str]| codes.join(&GROUP_SEPARATOR.to_string());
        let want = |accounts, ok, sections| GroupCounts {
            accounts,
            ok,
            sections,
        };
        assert_eq!(groups[&key(&["A", "B", "C", "D"])], want(2, 2, [0, 0, 1]));
        assert_eq!(groups[&key(&["A", "B", "C"])], want(2, 2, [0, 1, 0]));
        assert_eq!(groups[&key(&["A", "Z"])], want(7, 1, [1, 2, 3]));
        assert_eq!(groups.len(), 3);
    }

    #[test]
    fn fixed_and_new_in_all_and_by_contact() {
        let before = snapshot(&[
            ("U1", Section::NoNhsmail, &["A"]),
            ("U2", Section::NoNhsmail, &["A", "B"]),
            ("U3", Section::NoNhsmail, &["B"]),
        ]);
        let after = snapshot(&[
            ("U2", Section::NoNhsmail, &["B"]),
            ("U4", Section::NoNhsmail, &["A"]),
        ]);
        let c = compare(&before, &after);
        assert_eq!((c.fixed, c.new), (2, 1));
        assert_eq!(c.by_contact["A"], (2, 1));
        assert_eq!(c.by_contact["B"], (1, 0));
    }
}
