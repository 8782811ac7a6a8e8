//! Every account and every role of the store in memory, compactly, for the
//! whole-store audit.
//!
//! A million accounts as a million `Account`s (five `String`s each) would
//! cost the audit far more than its memory budget (205 MB at 1M accounts)
//! and a million allocations. Instead the accounts are one text arena in
//! account_id order, a 20-byte record each (where its texts end, its group
//! of roles) and a byte of marks (its own status, the directory's facts for
//! its address, whether its address is a duplicate); the roles are grouped
//! by account, their ODS codes interned (a few thousand organisations), each
//! role packed in 32 bits. The accounts and the roles are read on two
//! threads, both in account_id order, and joined by one merge
//! ([`Accounts::attach`]). Text is checked to be UTF-8 once per arena, not
//! per field.
//!
//! Until the directory's facts are marked, the accounts also keep the
//! address hashes of the live ones (neither superseded nor disabled), sorted:
//! runs of equal hashes are the duplicate addresses (rules.md category 4),
//! and one merge with the directory's sorted hashes gives every account its
//! directory facts, with no look-up per account.

use anyhow::Result;
use rustc_hash::FxHashMap;

use super::directory::{DirectoryIndex, HELD, HELD_DISABLED, HELD_SHARED, unpack_facts};
use super::key::{Hashes, address_hashes, sort_by_hashes};
use super::reconcile::{CqrsLink, judge, realised_by};
use crate::model::{Role, Status};
use crate::rules::DirectoryFacts;
use crate::rules::address::same_address;
use crate::rules::reconcile::{Grant, PaymentTypes, Person};
use crate::store::{AccountBytes, AccountScan, AccountView, RoleScan, RoleView};

/// What is known of each account, one byte each: its own status, then the
/// directory's facts for its address (the low bits, as the directory packs
/// them) and whether another live account has the same address.
const ACCOUNT_DISABLED: u8 = 8;
const ACCOUNT_SUPERSEDED: u8 = 16;
const DUPLICATE: u8 = 32;
/// A replacement made here (it `replaces` an account).
const MADE_HERE: u8 = 64;

// The account's own marks must not overlap the directory's facts.
const _: () = assert!(
    (HELD | HELD_DISABLED | HELD_SHARED)
        & (ACCOUNT_DISABLED | ACCOUNT_SUPERSEDED | DUPLICATE | MADE_HERE)
        == 0
);

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
pub(super) struct Accounts {
    text: String,
    records: Vec<AccountRecord>,
    marks: Vec<u8>,
    /// In (hashes, position) order.
    live: Vec<(Hashes, u32)>,
    roles: Roles,
    /// The accounts that may be CQRS's own replacements, by address (see
    /// [`Holders`]), once the directory's facts are marked.
    holders: Holders,
    /// What is known of replacements made in CQRS, for the few accounts it
    /// concerns: a replacement made here realised by CQRS's account (or
    /// not), and the old account it replaced (rules.md, "Replaced in CQRS
    /// itself"), by position.
    links: FxHashMap<u32, Vec<CqrsLink>>,
}

/// The live accounts, not made here, whose address the directory holds as
/// an active personal mailbox: the only ones whose address can be another
/// account's confident match, so the only ones that can be CQRS's own
/// replacement of it. Sorted by the first hash of the address, with a table
/// of buckets over its top bits, so that a look-up reads a cache line or two
/// (a confident match costs one look-up; the texts are compared only for
/// the rare hit).
#[derive(Default)]
struct Holders {
    keys: Vec<u64>,
    at: Vec<u32>,
    buckets: Vec<u32>,
    shift: u32,
}

impl Holders {
    fn build(live: &[(Hashes, u32)], marks: &[u8]) -> Holders {
        let wanted = |m: u8| m & (HELD | HELD_DISABLED | HELD_SHARED | MADE_HERE) == HELD;
        let n = live
            .iter()
            .filter(|(_, at)| wanted(marks[*at as usize]))
            .count();
        let mut holders = Holders {
            keys: Vec::with_capacity(n),
            at: Vec::with_capacity(n),
            ..Holders::default()
        };
        for &(key, at) in live {
            if wanted(marks[at as usize]) {
                holders.keys.push(key.0);
                holders.at.push(at);
            }
        }
        // About two accounts per bucket, as the directory's people.
        let bits = (usize::BITS - n.leading_zeros())
            .saturating_sub(2)
            .clamp(1, 24);
        holders.shift = 64 - bits;
        holders.buckets = Vec::with_capacity((1 << bits) + 1);
        for (i, &k) in holders.keys.iter().enumerate() {
            let top = (k >> holders.shift) as usize;
            while holders.buckets.len() <= top {
                holders.buckets.push(i as u32);
            }
        }
        holders.buckets.resize((1 << bits) + 1, n as u32);
        holders
    }

    /// The positions of the accounts whose address has this first hash.
    fn with_key(&self, key: u64) -> &[u32] {
        let t = (key >> self.shift) as usize;
        let (Some(&from), Some(&to)) = (self.buckets.get(t), self.buckets.get(t + 1)) else {
            return &[];
        };
        let (from, to) = (from as usize, to as usize);
        let bucket = &self.keys[from..to];
        let start = bucket.partition_point(|&k| k < key);
        let end = start + bucket[start..].partition_point(|&k| k == key);
        &self.at[from + start..from + end]
    }
}

/// Every role, grouped by account in account_id order.
#[derive(Default)]
pub(super) struct Roles {
    /// The groups' account ids, back to back (only compared, never shown).
    ids: Vec<u8>,
    /// End of each group's account id in `ids`, and of its roles in `roles`.
    groups: Vec<(u32, u32)>,
    /// Each distinct ODS code once (there are a few thousand organisations).
    codes: Vec<Box<str>>,
    /// The role's ODS code (its place in `codes`) and the role, packed.
    roles: Vec<RoleEntry>,
    /// The roles with payment-type restrictions (most have none), by their
    /// place in `roles`, in order, and where each one's text ends in
    /// `paid_text`: only read to compare CQRS's replacements.
    paid_at: Vec<u32>,
    paid_ends: Vec<u32>,
    paid_text: Vec<u8>,
}

/// Where [`Roles::push`] is: the current account, and the ODS codes so far.
#[derive(Default)]
pub(super) struct ReadingRoles {
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
    /// Reads every role.
    pub(super) fn load(scan: RoleScan) -> Result<Roles> {
        let n = scan.expected_accounts()?;
        let mut roles = Roles {
            ids: Vec::with_capacity(n * 10),
            groups: Vec::with_capacity(n),
            codes: Vec::new(),
            roles: Vec::with_capacity(n * 2 + n / 4),
            ..Roles::default()
        };
        let mut reading = ReadingRoles::default();
        scan.read(|id, code, role, paid| {
            roles.push(&mut reading, id, code, role)?;
            if !paid.is_empty() {
                roles.paid(paid);
            }
            Ok(())
        })?;
        if std::str::from_utf8(&roles.paid_text).is_err() {
            anyhow::bail!("the store holds payment types that are not UTF-8");
        }
        // Positions only grow: if the totals fit in 32 bits, every one did.
        if roles.ids.len() > u32::MAX as usize || roles.roles.len() > u32::MAX as usize {
            anyhow::bail!("the store is too large to audit in memory (over 4 GB of roles)");
        }
        tracing::info!("roles read");
        Ok(roles)
    }

    /// Adds a role; roles come grouped by account.
    pub(super) fn push(
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

    /// The payment-type restrictions of the role just pushed.
    pub(super) fn paid(&mut self, text: &[u8]) {
        self.paid_at.push(self.roles.len() as u32 - 1);
        self.paid_text.extend_from_slice(text);
        self.paid_ends.push(self.paid_text.len() as u32);
    }

    /// The payment-type restrictions of the role at `at` (checked to be
    /// UTF-8 when read).
    fn paid_of(&self, at: usize) -> &str {
        let Ok(i) = self.paid_at.binary_search(&(at as u32)) else {
            return "";
        };
        let start = if i == 0 {
            0
        } else {
            self.paid_ends[i - 1] as usize
        };
        std::str::from_utf8(&self.paid_text[start..self.paid_ends[i] as usize]).unwrap_or("")
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
    pub(super) fn load(scan: AccountScan) -> Result<Accounts> {
        let mut accounts = Accounts::with_capacity(scan.expected_accounts()?);
        let mut text = Vec::with_capacity(accounts.records.capacity() * 48);
        scan.read(|a| accounts.push(&mut text, a))?;
        tracing::info!("accounts read");
        accounts.finish(text)?;
        tracing::info!("account addresses sorted");
        Ok(accounts)
    }

    pub(super) fn with_capacity(n: usize) -> Accounts {
        Accounts {
            text: String::new(),
            records: Vec::with_capacity(n),
            marks: Vec::with_capacity(n),
            live: Vec::with_capacity(n),
            roles: Roles::default(),
            holders: Holders::default(),
            links: FxHashMap::default(),
        }
    }

    /// Adds an account, its text to `text` (checked to be UTF-8 by `finish`).
    pub(super) fn push(&mut self, text: &mut Vec<u8>, a: AccountBytes<'_>) -> Result<()> {
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
        let live = mark == 0;
        if a.made_here {
            mark |= MADE_HERE;
        }
        if live {
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

    pub(super) fn finish(&mut self, text: Vec<u8>) -> Result<()> {
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
    pub(super) fn attach(&mut self, roles: Roles) {
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
    /// are adjacent in `live`. A replacement made here that CQRS's own
    /// account at the same address realises (rules.md, "Replaced in CQRS
    /// itself") is superseded by it first, and is no duplicate of it.
    pub(super) fn mark_duplicates(&mut self) {
        let live = std::mem::take(&mut self.live);
        let mut run_left: Vec<u32> = Vec::new();
        for run in live.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            run_left.clear();
            run_left.extend(run.iter().map(|&(_, at)| at));
            if run
                .iter()
                .any(|&(_, at)| self.marks[at as usize] & MADE_HERE != 0)
            {
                self.realise(&mut run_left);
            }
            if run_left.len() > 1 {
                for &at in &run_left {
                    self.marks[at as usize] |= DUPLICATE;
                }
            }
        }
        self.live = live;
    }

    /// Of live accounts with one address (`run`, in account_id order), the
    /// replacements made here that CQRS's own account realises: each is
    /// marked superseded and taken out of `run`, and the links recorded.
    fn realise(&mut self, run: &mut Vec<u32>) {
        let mut realised = Vec::new();
        for &r in run.iter() {
            if self.marks[r as usize] & MADE_HERE == 0 {
                continue;
            }
            let Some(old) = self.old_account_of(r as usize) else {
                continue;
            };
            let candidates: Vec<u32> = run
                .iter()
                .copied()
                .filter(|&y| self.marks[y as usize] & MADE_HERE == 0)
                .collect();
            let links = judge(
                &self.person(old),
                candidates
                    .iter()
                    .map(|&y| (self.view(y as usize).account_id, self.person(y as usize))),
                |id| CqrsLink::RealisedBy { account_id: id },
            );
            if let Some(by) = realised_by(&links) {
                realised.push(r);
                self.links
                    .entry(old as u32)
                    .or_default()
                    .push(CqrsLink::ReplacedBy {
                        account_id: by.to_string(),
                    });
            }
            if !links.is_empty() {
                self.links.insert(r, links);
            }
        }
        for &r in &realised {
            self.marks[r as usize] |= ACCOUNT_SUPERSEDED;
        }
        run.retain(|at| !realised.contains(at));
    }

    /// The old account a replacement made here replaced: its id is `R` and
    /// a number, `-`, and the old account's id (the only ids `replace`
    /// makes); the accounts are in account_id order.
    fn old_account_of(&self, at: usize) -> Option<usize> {
        let id = self.view(at).account_id;
        let rest = id.strip_prefix('R')?;
        let (n, old) = rest.split_once('-')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Byte order: both back ends keep account ids so (`COLLATE "C"`).
        let (mut lo, mut hi) = (0, self.records.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.view(mid).account_id.as_bytes().cmp(old.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The account as the comparison of replacements needs it.
    pub(super) fn person(&self, at: usize) -> Person<'_> {
        let view = self.view(at);
        let mut grants = Vec::new();
        let group = self.records[at].roles;
        if group != NO_ROLES {
            let roles = &self.roles;
            let from = match (group as usize).checked_sub(1) {
                Some(before) => roles.groups[before].1 as usize,
                None => 0,
            };
            let to = roles.groups[group as usize].1 as usize;
            for (i, r) in roles.roles[from..to].iter().enumerate() {
                grants.push(Grant {
                    ods_code: &roles.codes[r.code()],
                    role: r.role(),
                    payment_types: PaymentTypes::Joined(roles.paid_of(from + i)),
                });
            }
        }
        Person {
            given_name: view.given_name,
            family_name: view.family_name,
            grants,
        }
    }

    /// Marks what the directory holds for each live account's address, by
    /// one merge of the two sorted lists of hashes, and indexes the
    /// accounts that may be CQRS's replacement of another by address.
    pub(super) fn mark_directory_facts(&mut self, directory: &DirectoryIndex) {
        directory.merge_facts(&self.live, &mut self.marks);
        self.holders = Holders::build(&self.live, &self.marks);
        self.live = Vec::new();
    }

    /// The links of the account at `at` to CQRS's replacements found while
    /// the duplicates were marked.
    pub(super) fn links(&self, at: usize) -> Vec<CqrsLink> {
        if self.links.is_empty() {
            return Vec::new();
        }
        self.links.get(&(at as u32)).cloned().unwrap_or_default()
    }

    /// The links of the live account at `at`, whose confident match is
    /// `address`, to CQRS's accounts holding that address: one look-up, and
    /// the comparison only for an account found there.
    pub(super) fn links_at_match(&self, at: usize, address: &str) -> Vec<CqrsLink> {
        let found = self.holders.with_key(address_hashes(address.as_bytes()).0);
        if found.is_empty() {
            return Vec::new();
        }
        let own = self.view(at).email;
        if same_address(own, address) {
            return Vec::new();
        }
        let holders: Vec<u32> = found
            .iter()
            .copied()
            .filter(|&y| y as usize != at && same_address(self.view(y as usize).email, address))
            .collect();
        let mut holders = holders;
        holders.sort_unstable();
        judge(
            &self.person(at),
            holders
                .iter()
                .map(|&y| (self.view(y as usize).account_id, self.person(y as usize))),
            |id| CqrsLink::ReplacedBy { account_id: id },
        )
    }

    pub(super) fn view(&self, at: usize) -> AccountView<'_> {
        let start = match at.checked_sub(1) {
            Some(before) => self.records[before].ends[3] as usize,
            None => 0,
        };
        let [id, email, given, family] = self.records[at].ends.map(|e| e as usize);
        let (status, superseded) = self.standing(at);
        AccountView {
            account_id: &self.text[start..id],
            email: &self.text[id..email],
            given_name: &self.text[email..given],
            family_name: &self.text[given..family],
            status,
            superseded,
        }
    }

    /// How many accounts there are.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// The account's own status, and whether it has been superseded (from
    /// its marks, without its texts).
    pub(super) fn standing(&self, at: usize) -> (Status, bool) {
        let mark = self.marks[at];
        let status = if mark & ACCOUNT_DISABLED != 0 {
            Status::Disabled
        } else {
            Status::Active
        };
        (status, mark & ACCOUNT_SUPERSEDED != 0)
    }

    /// Whether another live account has the same address (only ever set
    /// for a live account).
    pub(super) fn is_duplicate(&self, at: usize) -> bool {
        self.marks[at] & DUPLICATE != 0
    }

    /// What the directory holds for the account's address, if it is live
    /// and the directory holds it.
    pub(super) fn directory_facts(&self, at: usize) -> Option<DirectoryFacts> {
        unpack_facts(self.marks[at])
    }

    /// The account's roles, into `out`.
    pub(super) fn roles<'a>(&'a self, at: usize, out: &mut Vec<RoleView<'a>>) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
