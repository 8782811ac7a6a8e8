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
}

impl NewSnapshot {
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
                d.accounts
                    .iter()
                    .map(|a| {
                        (
                            a.id.clone(),
                            a.section,
                            a.contacts
                                .iter()
                                .map(|&c| d.codes[c as usize].clone())
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

/// A kept value read back.
#[derive(Debug, Default)]
pub struct Decoded {
    pub codes: Vec<String>,
    pub accounts: Vec<NeedingAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedingAccount {
    pub id: String,
    pub section: Section,
    /// Places in [`Decoded::codes`].
    pub contacts: Vec<u32>,
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
        let bytes = whole.get(*at..*at + len).ok_or(Damaged(*at, "cut short"))?;
        let s = std::str::from_utf8(bytes).map_err(|_| Damaged(*at, "not UTF-8"))?;
        *at += len;
        Ok(s)
    };
    let n = read_leb(&mut at)?;
    let mut codes = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let len = read_leb(&mut at)?;
        codes.push(text(&mut at, len)?.to_string());
    }
    let mut accounts: Vec<NeedingAccount> = Vec::new();
    let mut last = String::new();
    while at < whole.len() {
        let shared = read_leb(&mut at)?;
        let len = read_leb(&mut at)?;
        if shared > last.len() || !last.is_char_boundary(shared) {
            return Err(Damaged(
                at,
                "an id that shares more than the previous one has",
            ));
        }
        let rest = text(&mut at, len)?;
        let mut id = String::with_capacity(shared + len);
        id.push_str(&last[..shared]);
        id.push_str(rest);
        let section = *whole
            .get(at)
            .and_then(|&s| Section::ALL.get(usize::from(s)))
            .ok_or(Damaged(at, "no such section"))?;
        at += 1;
        let k = read_leb(&mut at)?;
        let mut contacts = Vec::with_capacity(k.min(64));
        for _ in 0..k {
            let c = read_leb(&mut at)?;
            if c >= codes.len() {
                return Err(Damaged(at, "no such contact"));
            }
            contacts.push(c as u32);
        }
        last.clone_from(&id);
        accounts.push(NeedingAccount {
            id,
            section,
            contacts,
        });
    }
    Ok(Decoded { codes, accounts })
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

/// Compares the accounts of an earlier snapshot with a later one's.
pub fn compare(before: &Decoded, after: &Decoded) -> Changes {
    let mut changes = Changes::default();
    let (mut i, mut j) = (0, 0);
    let (a, b) = (&before.accounts, &after.accounts);
    let mut bump = |codes: &[String], list: &[u32], fixed: bool| {
        for &c in list {
            let entry = changes
                .by_contact
                .entry(codes[c as usize].clone())
                .or_default();
            if fixed {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    };
    let mut fixed = 0;
    let mut new = 0;
    while i < a.len() || j < b.len() {
        let order = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.id.cmp(&y.id),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                fixed += 1;
                bump(&before.codes, &a[i].contacts, true);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                new += 1;
                bump(&after.codes, &b[j].contacts, false);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let then: Vec<&str> = a[i]
                    .contacts
                    .iter()
                    .map(|&c| before.codes[c as usize].as_str())
                    .collect();
                let now: Vec<&str> = b[j]
                    .contacts
                    .iter()
                    .map(|&c| after.codes[c as usize].as_str())
                    .collect();
                if then != now {
                    let lost: Vec<u32> = a[i]
                        .contacts
                        .iter()
                        .copied()
                        .filter(|&c| !now.contains(&before.codes[c as usize].as_str()))
                        .collect();
                    let gained: Vec<u32> = b[j]
                        .contacts
                        .iter()
                        .copied()
                        .filter(|&c| !then.contains(&after.codes[c as usize].as_str()))
                        .collect();
                    bump(&before.codes, &lost, true);
                    bump(&after.codes, &gained, false);
                }
                i += 1;
                j += 1;
            }
        }
    }
    changes.fixed = fixed;
    changes.new = new;
    changes
}

/// How many accounts of a decoded snapshot each contact has, in each
/// section (rules.md's order).
pub fn per_contact(decoded: &Decoded) -> BTreeMap<String, [u64; 3]> {
    let mut counts = vec![[0u64; 3]; decoded.codes.len()];
    for a in &decoded.accounts {
        for &c in &a.contacts {
            counts[c as usize][section_rank(a.section)] += 1;
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
        let ids: Vec<&str> = d.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["U0001", "U0002", "U0010"]);
        assert_eq!(d.accounts[1].section, Section::Administrator);
        assert_eq!(d.codes[d.accounts[1].contacts[0] as usize], "00T");
        assert_eq!(d.accounts[0].contacts.len(), 2);
        // Out of order, the value is still sorted when kept.
        let d = snapshot(&[
            ("U2", Section::NoNhsmail, &["A"]),
            ("U1", Section::NoNhsmail, &["B"]),
        ]);
        let ids: Vec<&str> = d.accounts.iter().map(|a| a.id.as_str()).collect();
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
            assert!(r.is_err() || r.unwrap().accounts.is_empty(), "cut at {cut}");
        }
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
