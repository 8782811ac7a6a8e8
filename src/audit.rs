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

/// FxHash: a fast, non-cryptographic hash for the in-memory indexes. The
/// input is our own store, and collisions are resolved by comparing strings,
/// so a weak hash costs nothing in correctness.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(Self::SEED);
    }

    fn add_str_key(&mut self, text: &str) {
        // Hashes the name key (trimmed, lower-cased) without building it.
        for c in text.trim().chars().flat_map(char::to_lowercase) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                self.add(b);
            }
        }
        self.add(0xff);
    }
}

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

type HashIndex = HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Span(u32, u32);

struct Entry {
    address: Span,
    given: Span,
    family: Span,
    ods: Span,
    status: Status,
    mailbox: MailboxType,
    /// The next entry with the same address hash / name hash (collision chains).
    next_address: u32,
    next_name: u32,
}

/// The NHSmail directory in memory: by address, and active personal entries by name.
pub struct DirectoryIndex {
    arena: String,
    entries: Vec<Entry>,
    by_address: HashIndex,
    by_name: HashIndex,
}

fn address_hash(address: &str) -> u64 {
    let mut h = Fx::default();
    for c in address.trim().chars().flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            h.add(b);
        }
    }
    h.0
}

fn name_hash(given: &str, family: &str) -> u64 {
    let mut h = Fx::default();
    h.add_str_key(given);
    h.add_str_key(family);
    h.0
}

fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

impl DirectoryIndex {
    pub fn load(store: &Store) -> Result<DirectoryIndex> {
        let mut index = DirectoryIndex {
            arena: String::new(),
            entries: Vec::new(),
            by_address: HashIndex::default(),
            by_name: HashIndex::default(),
        };
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
        let mut index = DirectoryIndex {
            arena: String::new(),
            entries: Vec::new(),
            by_address: HashIndex::default(),
            by_name: HashIndex::default(),
        };
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

    fn span(&mut self, text: &str) -> Span {
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        Span(start, self.arena.len() as u32)
    }

    fn text(&self, span: Span) -> &str {
        &self.arena[span.0 as usize..span.1 as usize]
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
        let id = self.entries.len() as u32;
        let entry = Entry {
            address: self.span(address),
            given: self.span(given),
            family: self.span(family),
            ods: self.span(ods),
            status,
            mailbox,
            next_address: self
                .by_address
                .insert(address_hash(address), id)
                .unwrap_or(NONE),
            next_name: if status == Status::Active && mailbox == MailboxType::Personal {
                self.by_name
                    .insert(name_hash(given, family), id)
                    .unwrap_or(NONE)
            } else {
                NONE
            },
        };
        self.entries.push(entry);
    }

    /// What the directory holds for an address (any case, any padding).
    pub fn facts(&self, address: &str) -> Option<DirectoryFacts> {
        let mut at = *self.by_address.get(&address_hash(address))?;
        while at != NONE {
            let e = &self.entries[at as usize];
            if same_key(self.text(e.address), address) {
                return Some(DirectoryFacts {
                    status: e.status,
                    mailbox_type: e.mailbox,
                });
            }
            at = e.next_address;
        }
        None
    }

    /// The NHSmail match for an account with these names and roles.
    pub fn find_match(&self, given: &str, family: &str, roles: &[RoleView<'_>]) -> NhsmailMatch {
        let codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
        let mut at = self
            .by_name
            .get(&name_hash(given, family))
            .copied()
            .unwrap_or(NONE);
        let mut candidates = Vec::new();
        while at != NONE {
            let e = &self.entries[at as usize];
            candidates.push(Candidate {
                address: self.text(e.address),
                given_name: self.text(e.given),
                family_name: self.text(e.family),
                ods_code: self.text(e.ods),
                status: e.status,
                mailbox_type: e.mailbox,
            });
            at = e.next_name;
        }
        // The rules do the real comparison; the hash only narrowed the search.
        find_match(given, family, &codes, candidates)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
        let directory = directory
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("loading the directory failed")));
        (directory, duplicates)
    });
    let (directory, duplicates) = (directory?, duplicates?);
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
    duplicates.contains(&normal_form(email))
}
