//! The records the store hands over and takes in, the same for every back
//! end: what a command reads (accounts, roles, log entries, look-ups for a
//! replacement) and what it writes (a replacement account, who made a change).

use std::collections::HashMap;

use crate::model::{DirectoryEntry, MailboxType, Role, RoleGrant, Status};

/// An account as the audit sees it, borrowed from the current row.
#[derive(Debug, Clone, Copy)]
pub struct AccountView<'a> {
    pub account_id: &'a str,
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub status: Status,
    pub superseded: bool,
}

/// One role of an account, borrowed from the current row.
#[derive(Debug, Clone, Copy)]
pub struct RoleView<'a> {
    pub ods_code: &'a str,
    pub role: Role,
}

/// What the store holds that a check of the accounts needs (`audit --check`,
/// `report --check`): a check without them would find nothing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub accounts: bool,
    pub directory: bool,
}

/// What the store holds about an account that a replacement would supersede.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldAccount {
    pub account_id: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub status: Status,
    pub replaced_by: Option<String>,
    /// The normal form of the replacing account's address, when it is replaced.
    pub replaced_by_email_key: Option<String>,
}

/// Everything the replacement checks need about a set of (account, address)
/// pairs, loaded in one go.
#[derive(Debug, Default)]
pub struct ReplacementLookup {
    /// The plan's accounts that exist, by account_id.
    pub accounts: HashMap<String, OldAccount>,
    /// Their roles, in (organisation, role) order.
    pub roles: HashMap<String, Vec<RoleGrant>>,
    /// Directory entries for the plan's addresses, by normal form.
    pub directory: HashMap<String, DirectoryEntry>,
    /// Accounts (any status) holding one of the plan's addresses, by normal
    /// form, in account_id order.
    pub email_owners: HashMap<String, Vec<String>>,
    /// Accounts whose username is one of the plan's addresses (ignoring case),
    /// by the address's normal form.
    pub username_owners: HashMap<String, String>,
    /// How many replacement accounts each of the plan's accounts already has
    /// (including reverted ones).
    pub replacement_counts: HashMap<String, u32>,
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub old_account_id: Option<String>,
    pub new_account_id: Option<String>,
    pub email: Option<String>,
    pub reason: Option<String>,
}

/// Which change-log entries to read. Times compare as text, which is exact for
/// the log's fixed RFC 3339 UTC form.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Entries at or after this time.
    pub from: Option<String>,
    /// Entries strictly before this time.
    pub before: Option<String>,
    pub actor: Option<String>,
    /// Entries about this account, as the old or the new one.
    pub account: Option<String>,
}

/// A replacement account and the account it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacementPair {
    pub old_account_id: String,
    pub new_account_id: String,
    pub new_status: Status,
}

/// A row of accounts.csv as exported.
#[derive(Debug, Clone)]
pub struct ExportAccount {
    pub account_id: String,
    pub username: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub status: Status,
    pub created_at: Option<String>,
    pub last_login_at: Option<String>,
}

/// One replacement account to create.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub old_account_id: &'a str,
    pub new_account_id: &'a str,
    /// The new address: also the new account's username.
    pub email: &'a str,
    pub email_key: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub reason: Option<&'a str>,
}

/// Who is acting, for the change log: `--actor` (or `CQRS_ADMIN_ACTOR`)
/// if given, else the user's name (`USER`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub name: &'a str,
    /// Whether `name` was given explicitly (`--actor`, `CQRS_ADMIN_ACTOR`)
    /// rather than taken from the environment. A store that knows the
    /// operator itself (PostgreSQL: the login) keeps only an explicit name,
    /// as a claim beside the login; `USER` says nothing the login does not.
    pub claimed: bool,
}

impl<'a> Actor<'a> {
    /// The claim to keep beside a login the store knows: only an explicit one.
    pub fn claim(&self) -> Option<&'a str> {
        self.claimed.then_some(self.name)
    }
}

/// Who made a change and when, for the change log.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// UTC, RFC 3339 (`2020-09-01T10:00:00Z`).
    pub at: &'a str,
    pub actor: Actor<'a>,
    /// The new accounts' `created_at` (today's date).
    pub created_at: &'a str,
}

/// The change-log reason of the separate `disable` step of `--disable-old`.
pub const DISABLE_OLD_REASON: &str = "disabled with its replacement (--disable-old)";
/// The change-log reason of the `enable` step of a revert.
pub const REENABLE_OLD_REASON: &str =
    "re-enabled by the revert: it had been disabled with its replacement (--disable-old)";

/// An account as stored, for bulk loads: its text as bytes, unchecked (the
/// caller checks that what it keeps is UTF-8, in bulk rather than per field).
#[derive(Debug, Clone, Copy)]
pub struct AccountBytes<'a> {
    pub account_id: &'a [u8],
    pub email: &'a [u8],
    pub given_name: &'a [u8],
    pub family_name: &'a [u8],
    pub status: Status,
    pub superseded: bool,
    /// A replacement made here (it `replaces` an account): never taken for
    /// CQRS's own replacement (rules.md, "Replaced in CQRS itself").
    pub made_here: bool,
}

/// A directory entry as stored, for bulk loads: its text as bytes, unchecked.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryBytes<'a> {
    pub address: &'a [u8],
    pub given_name: &'a [u8],
    pub family_name: &'a [u8],
    pub ods_code: &'a [u8],
    pub status: Status,
    pub mailbox_type: MailboxType,
}

/// What an import did, for the one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// For the directory, which is replaced whole: the entries it replaced.
    pub replaced: Option<u64>,
}
