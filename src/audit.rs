//! The audit engine: applies the rules to every account in the store.
//!
//! It is shared by `audit`, `report`, `plan`, `accounts show` and the
//! national-scale benchmark, so it is built for a million accounts: the
//! directory is loaded once into a compact in-memory index (on a second thread,
//! while the duplicate addresses are found), then the accounts stream past
//! with their roles and each gets its category, match and section. Nothing
//! here knows SQL or prints.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use anyhow::Result;

use crate::model::{MailboxType, OrgKind, Organisation, Status};
use crate::rules::{
    Candidate, Category, Contact, DirectoryFacts, NhsmailMatch, Section, categorise, contacts_for,
    find_match, normal_form, section_for,
};
use crate::store::{AccountView, RoleView, Store};

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

/// Keys are already hashes: pass them through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

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
fn key_words(text: &str, mut word: impl FnMut(u64)) {
    let text = text.trim();
    let lowered;
    let bytes = if text.is_ascii() {
        text.as_bytes()
    } else {
        lowered = text.to_lowercase();
        lowered.as_bytes()
    };
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        for (slot, b) in w.iter_mut().zip(chunk) {
            *slot = b.to_ascii_lowercase();
        }
        word(u64::from_le_bytes(w));
    }
    word(bytes.len() as u64 | 0xff00_0000_0000_0000);
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

type HashIndex<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

const NONE: u32 = u32::MAX;

/// Two independent 64-bit hashes of a key. The index keeps hashes, not the
/// keys themselves (a million addresses would not fit the audit's memory
/// budget otherwise); two keys are taken as equal when both hashes are,
/// which for different keys happens about once in 2^128 comparisons.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Hashes(u64, u64);

fn hashes(parts: &[&str]) -> Hashes {
    let mut a = KeyHasher::new(1);
    let mut b = KeyHasher::new(0x9e37_79b9_7f4a_7c15);
    for part in parts {
        // Each part is lower-cased once and fed to both hashers.
        key_words(part, |w| {
            a.word(w);
            b.word(w);
        });
    }
    Hashes(a.finish(), b.finish())
}

/// An active personal mailbox, as the match needs it.
struct Person {
    address: (u32, u32),
    /// The second hash of (given, family, ods_code), to confirm a hit.
    check: u64,
    /// The next person with the same first hash.
    next: u32,
}

/// The NHSmail directory in memory: what it holds for each address, and the
/// active personal mailboxes by name and organisation (the match's candidates).
pub struct DirectoryIndex {
    by_address: HashIndex<(u64, DirectoryFacts)>,
    /// Addresses whose first hash collided with another's (practically never).
    collided: Vec<(Hashes, DirectoryFacts)>,
    arena: String,
    people: Vec<Person>,
    by_name: HashIndex<u32>,
}

impl DirectoryIndex {
    fn with_capacity(entries: usize) -> DirectoryIndex {
        DirectoryIndex {
            by_address: HashIndex::with_capacity_and_hasher(entries, Default::default()),
            collided: Vec::new(),
            arena: String::with_capacity(entries * 26),
            people: Vec::with_capacity(entries),
            by_name: HashIndex::with_capacity_and_hasher(entries, Default::default()),
        }
    }

    pub fn load(store: &Store) -> Result<DirectoryIndex> {
        let mut index = DirectoryIndex::with_capacity(store.directory_size_hint()?);
        store.for_each_directory_entry(|d| {
            index.push(
                d.address,
                d.given_name,
                d.family_name,
                d.ods_code,
                d.status,
                d.mailbox_type,
            )
        })?;
        Ok(index)
    }

    /// A small index over some entries (for one account's look-ups).
    pub fn from_entries(entries: &[crate::model::DirectoryEntry]) -> DirectoryIndex {
        let mut index = DirectoryIndex::with_capacity(entries.len());
        for e in entries {
            index.push(
                &e.address,
                &e.given_name,
                &e.family_name,
                &e.ods_code,
                e.status,
                e.mailbox_type,
            );
        }
        index
    }

    fn push(
        &mut self,
        address: &str,
        given: &str,
        family: &str,
        ods: &str,
        status: Status,
        mailbox: MailboxType,
    ) {
        let facts = DirectoryFacts {
            status,
            mailbox_type: mailbox,
        };
        let h = hashes(&[address]);
        match self.by_address.get(&h.0) {
            // Two addresses share the first hash: the second goes aside.
            Some((check, _)) if *check != h.1 => self.collided.push((h, facts)),
            _ => {
                self.by_address.insert(h.0, (h.1, facts));
            }
        }
        if status == Status::Active && mailbox == MailboxType::Personal {
            let n = hashes(&[given, family, ods]);
            let start = self.arena.len() as u32;
            self.arena.push_str(address);
            let id = self.people.len() as u32;
            let next = self.by_name.insert(n.0, id).unwrap_or(NONE);
            self.people.push(Person {
                address: (start, self.arena.len() as u32),
                check: n.1,
                next,
            });
        }
    }

    /// What the directory holds for an address (any case, any padding).
    pub fn facts(&self, address: &str) -> Option<DirectoryFacts> {
        let h = hashes(&[address]);
        if let Some((check, facts)) = self.by_address.get(&h.0)
            && *check == h.1
        {
            return Some(*facts);
        }
        self.collided
            .iter()
            .find(|(c, _)| *c == h)
            .map(|(_, facts)| *facts)
    }

    /// The NHSmail match for an account with these names and roles.
    pub fn find_match(&self, given: &str, family: &str, roles: &[RoleView<'_>]) -> NhsmailMatch {
        let mut codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut candidates = Vec::new();
        for code in &codes {
            let n = hashes(&[given, family, code]);
            let mut at = self.by_name.get(&n.0).copied().unwrap_or(NONE);
            while at != NONE {
                let p = &self.people[at as usize];
                if p.check == n.1 {
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
                at = p.next;
            }
        }
        // The rules make the decision; the index only found the candidates.
        find_match(given, family, &codes, candidates)
    }
}

/// Which accounts to audit.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions {
    pub include_disabled: bool,
}

/// Runs the audit over every account, calling `visit` for each in account_id order.
pub fn audit(
    store: &Store,
    options: AuditOptions,
    mut visit: impl FnMut(&AuditRow<'_>) -> Result<()>,
) -> Result<()> {
    // The directory index and the duplicate addresses are independent reads:
    // do them at once, on two connections.
    let reader = store.reader()?;
    let (directory, duplicates) = std::thread::scope(|scope| {
        let directory = scope.spawn(move || DirectoryIndex::load(&reader));
        let duplicates = store.duplicate_live_emails();
        crate::trace("duplicate addresses found");
        let directory = directory
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the directory failed")));
        (directory, duplicates)
    });
    let (directory, duplicates) = (directory?, duplicates?);
    crate::trace("directory loaded");
    audit_with(store, &directory, &duplicates, options, &mut visit)
}

/// The audit over an already loaded directory (used by tests and `plan`).
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
