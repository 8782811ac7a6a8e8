//! Copying a whole store from one back end to another (`store copy`): the
//! tables a copy carries and their columns, defined once here for every
//! back end (the same table and column names in each), and what a copy
//! counted.
//!
//! A copy carries everything a store knows that is not derived from
//! something else: organisations, accounts (with `replaced_by` and
//! `replaces`), permissions, the directory in its order (`entry` is the
//! entry's place: the `entry` column in both back ends), activity,
//! the change log verbatim (seq, time, operator, claim and both hashes: the
//! same chain), and the settings in [`COPIED_SETTINGS`]. What is derived is
//! rebuilt by the destination in the same transaction: SQLite's look-up
//! tables (`account_emails`, `directory_keys`), the directory's size
//! (`directory.entries`), the change log's head, and the generation (moved
//! on, so a kept report is never taken for the copy's). The kept report
//! itself is not copied: the next report computes it afresh.
//!
//! Also carried: notify's record of messages, the progress snapshots (their
//! counts, categories and contacts, and the accounts needing action), notes
//! and follow-up states, and a PostgreSQL store's counts by organisations
//! (`progress_groups`, which only a store with areas records; an SQLite
//! store holds them for the copy back, its organisations as the group's
//! key), so that an area operator sees its area's part of every copied day.
//!
//! Every value crosses as text (or NULL), the integers (`entry`, `seq`) as
//! their decimal digits, bytes (a snapshot's accounts) as lowercase hex:
//! both back ends read and write text exactly, so nothing is lost in
//! between.

use anyhow::Result;

/// A table a copy carries, in the order a copy writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CopiedTable {
    Organisations,
    Accounts,
    Permissions,
    Directory,
    Activity,
    ChangeLog,
    Settings,
    Notifications,
    ProgressSnapshots,
    ProgressCategories,
    ProgressContacts,
    ProgressGroups,
    AccountNotes,
    FollowUps,
}

/// One column of a copied table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// Held as an integer (written as its decimal digits).
    pub integer: bool,
    /// Held as bytes (written as lowercase hex).
    pub bytes: bool,
    /// A set of ODS codes (PostgreSQL: `text[]`), written as a group's key
    /// (`progress::Groups`: the codes in byte order, joined by U+001F).
    pub codes: bool,
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        integer: false,
        bytes: false,
        codes: false,
    }
}

const fn integer(name: &'static str) -> Column {
    Column {
        name,
        integer: true,
        bytes: false,
        codes: false,
    }
}

const fn bytes(name: &'static str) -> Column {
    Column {
        name,
        integer: false,
        bytes: true,
        codes: false,
    }
}

const fn codes(name: &'static str) -> Column {
    Column {
        name,
        integer: false,
        bytes: false,
        codes: true,
    }
}

/// The settings a copy carries (the rest are derived and rebuilt).
pub const COPIED_SETTINGS: &[&str] = &["cutover"];

impl CopiedTable {
    /// Every copied table, in the order a copy reads and writes them (the
    /// order they are declared in: `table as usize` is its place here).
    pub const ALL: [CopiedTable; 14] = [
        CopiedTable::Organisations,
        CopiedTable::Accounts,
        CopiedTable::Permissions,
        CopiedTable::Directory,
        CopiedTable::Activity,
        CopiedTable::ChangeLog,
        CopiedTable::Settings,
        CopiedTable::Notifications,
        CopiedTable::ProgressSnapshots,
        CopiedTable::ProgressCategories,
        CopiedTable::ProgressContacts,
        CopiedTable::ProgressGroups,
        CopiedTable::AccountNotes,
        CopiedTable::FollowUps,
    ];

    /// The table's name in every back end.
    pub fn name(self) -> &'static str {
        match self {
            CopiedTable::Organisations => "organisations",
            CopiedTable::Accounts => "accounts",
            CopiedTable::Permissions => "permissions",
            CopiedTable::Directory => "directory",
            CopiedTable::Activity => "activity",
            CopiedTable::ChangeLog => "change_log",
            CopiedTable::Settings => "settings",
            CopiedTable::Notifications => "notifications",
            CopiedTable::ProgressSnapshots => "progress_snapshots",
            CopiedTable::ProgressCategories => "progress_categories",
            CopiedTable::ProgressContacts => "progress_contacts",
            CopiedTable::ProgressGroups => "progress_groups",
            CopiedTable::AccountNotes => "account_notes",
            CopiedTable::FollowUps => "follow_ups",
        }
    }

    /// The columns copied, in the order a row's values are given.
    pub fn columns(self) -> &'static [Column] {
        const ORGANISATIONS: &[Column] = &[
            text("ods_code"),
            text("name"),
            text("kind"),
            text("parent_code"),
            text("contact_email"),
        ];
        const ACCOUNTS: &[Column] = &[
            text("account_id"),
            text("username"),
            text("email"),
            text("given_name"),
            text("family_name"),
            text("status"),
            text("created_at"),
            text("last_login_at"),
            text("replaced_by"),
            text("replaces"),
        ];
        const PERMISSIONS: &[Column] = &[
            text("account_id"),
            text("ods_code"),
            text("role"),
            text("payment_types"),
        ];
        const DIRECTORY: &[Column] = &[
            integer("entry"),
            text("address"),
            text("given_name"),
            text("family_name"),
            text("ods_code"),
            text("status"),
            text("mailbox_type"),
        ];
        const ACTIVITY: &[Column] = &[
            text("activity_id"),
            text("ods_code"),
            text("account_id"),
            text("kind"),
            text("occurred_at"),
            text("detail"),
        ];
        const CHANGE_LOG: &[Column] = &[
            integer("seq"),
            text("at"),
            text("actor"),
            text("action"),
            text("old_account_id"),
            text("new_account_id"),
            text("email"),
            text("reason"),
            text("prev_hash"),
            text("hash"),
            text("actor_claim"),
        ];
        const SETTINGS: &[Column] = &[text("key"), text("value")];
        const NOTIFICATIONS: &[Column] = &[
            integer("seq"),
            text("message_key"),
            text("kind"),
            text("recipient"),
            text("recipient_key"),
            text("accounts"),
            text("content_hash"),
            text("message_id"),
            text("at"),
            text("operator"),
            text("channel"),
            text("outcome"),
            text("relay_answer"),
        ];
        const PROGRESS_SNAPSHOTS: &[Column] = &[
            text("day"),
            text("recorded_at"),
            integer("accounts"),
            integer("needing_action"),
            integer("contact_commissioner"),
            integer("no_nhsmail"),
            integer("administrator"),
            integer("ok"),
            integer("fixed"),
            integer("new"),
            bytes("needing"),
        ];
        const PROGRESS_CATEGORIES: &[Column] =
            &[text("day"), text("category"), integer("accounts")];
        const PROGRESS_CONTACTS: &[Column] = &[
            text("day"),
            text("contact_code"),
            text("contact_name"),
            integer("needing_action"),
            integer("contact_commissioner"),
            integer("no_nhsmail"),
            integer("administrator"),
            integer("fixed"),
            integer("new"),
        ];
        const PROGRESS_GROUPS: &[Column] = &[
            text("day"),
            codes("organisations"),
            integer("accounts"),
            integer("ok"),
            integer("contact_commissioner"),
            integer("no_nhsmail"),
            integer("administrator"),
            integer("fixed"),
            integer("new"),
        ];
        const ACCOUNT_NOTES: &[Column] = &[
            integer("seq"),
            text("account_id"),
            text("day"),
            text("at"),
            text("actor"),
            text("note"),
        ];
        const FOLLOW_UPS: &[Column] = &[
            text("account_id"),
            text("state"),
            text("day"),
            text("at"),
            text("actor"),
        ];
        match self {
            CopiedTable::Organisations => ORGANISATIONS,
            CopiedTable::Accounts => ACCOUNTS,
            CopiedTable::Permissions => PERMISSIONS,
            CopiedTable::Directory => DIRECTORY,
            CopiedTable::Activity => ACTIVITY,
            CopiedTable::ChangeLog => CHANGE_LOG,
            CopiedTable::Settings => SETTINGS,
            CopiedTable::Notifications => NOTIFICATIONS,
            CopiedTable::ProgressSnapshots => PROGRESS_SNAPSHOTS,
            CopiedTable::ProgressCategories => PROGRESS_CATEGORIES,
            CopiedTable::ProgressContacts => PROGRESS_CONTACTS,
            CopiedTable::ProgressGroups => PROGRESS_GROUPS,
            CopiedTable::AccountNotes => ACCOUNT_NOTES,
            CopiedTable::FollowUps => FOLLOW_UPS,
        }
    }

    /// The columns the rows are read in order of: the key, so that a copy
    /// of a copy lists alike; the directory in its own order; the change
    /// log oldest first, as its chain runs.
    pub fn order_by(self) -> &'static str {
        match self {
            CopiedTable::Organisations => "ods_code",
            CopiedTable::Accounts => "account_id",
            CopiedTable::Permissions => "account_id, ods_code, role",
            CopiedTable::Directory => "entry",
            CopiedTable::Activity => "activity_id",
            CopiedTable::ChangeLog => "seq",
            CopiedTable::Settings => "key",
            CopiedTable::Notifications | CopiedTable::AccountNotes => "seq",
            CopiedTable::ProgressSnapshots => "day",
            CopiedTable::ProgressCategories => "day, category",
            CopiedTable::ProgressContacts => "day, contact_code",
            CopiedTable::ProgressGroups => "day, organisations",
            CopiedTable::FollowUps => "account_id",
        }
    }

    /// The column list, comma-separated, for SQL.
    pub fn column_list(self) -> String {
        self.columns()
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a copy hands each row to: its table and its values, in the order
/// of [`CopiedTable::columns`].
pub type CopyVisit<'v> = dyn FnMut(CopiedTable, &[Option<&str>]) -> Result<()> + 'v;

/// What fills a store being copied into: it calls the writer it is given
/// with every row of the store copied from.
pub type CopySource<'s> = dyn FnMut(&mut CopyVisit<'_>) -> Result<()> + 's;

/// How many rows of each table a copy wrote, in [`CopiedTable::ALL`]'s
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCounts(pub Vec<(CopiedTable, u64)>);

impl Default for CopyCounts {
    fn default() -> CopyCounts {
        CopyCounts(CopiedTable::ALL.iter().map(|&t| (t, 0)).collect())
    }
}

impl CopyCounts {
    /// Counts one more row of `table`.
    pub fn add(&mut self, table: CopiedTable) {
        if let Some((_, n)) = self.0.iter_mut().find(|(t, _)| *t == table) {
            *n += 1;
        }
    }

    /// The rows of `table` counted.
    pub fn of(&self, table: CopiedTable) -> u64 {
        self.0
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |&(_, n)| n)
    }
}

/// The refusal of a destination that already holds something: `held` is
/// (table, rows) of its non-empty tables.
pub fn not_empty(name: &str, held: &[(CopiedTable, u64)]) -> anyhow::Error {
    let list: Vec<String> = held
        .iter()
        .map(|(t, n)| format!("{n} rows in {}", t.name()))
        .collect();
    crate::error::UserError::Refused(format!(
        "the store to copy into, {name}, is not empty ({}): a copy goes only into a new or \
         empty store, so that nothing in it is lost or mixed with another store's history. \
         Nothing was changed: give a new file, or an empty database",
        list.join(", ")
    ))
    .into()
}

/// A copied bytes column's value (hex) as bytes.
pub fn bytes_of(table: CopiedTable, column: &str, value: &str) -> Result<Vec<u8>> {
    hex::decode(value).map_err(|_| {
        crate::error::UserError::Store(format!(
            "the store copied from holds a value in {}.{column} that is not bytes written as \
             hex: nothing was changed",
            table.name()
        ))
        .into()
    })
}

/// A copied integer column's value that is not an integer.
pub fn not_an_integer(table: CopiedTable, column: &str, value: &str) -> anyhow::Error {
    crate::error::UserError::Store(format!(
        "the store copied from holds `{value}` in {}.{column}, which must be a whole number: \
         nothing was changed",
        table.name()
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_orders_by_its_own_columns() {
        for table in CopiedTable::ALL {
            let names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
            for key in table.order_by().split(", ") {
                assert!(names.contains(&key), "{} {key}", table.name());
            }
        }
    }

    #[test]
    fn every_table_is_at_its_own_place_in_the_list() {
        // A back end may index per-table things by `table as usize`.
        for (i, table) in CopiedTable::ALL.iter().enumerate() {
            assert_eq!(*table as usize, i);
        }
    }

    #[test]
    fn bytes_cross_as_hex_and_back() {
        let value = hex::encode([0u8, 0x9f, 0xff]);
        assert_eq!(value, "009fff");
        assert_eq!(
            bytes_of(CopiedTable::ProgressSnapshots, "needing", &value).unwrap(),
            [0u8, 0x9f, 0xff]
        );
        assert!(bytes_of(CopiedTable::ProgressSnapshots, "needing", "0g").is_err());
    }

    #[test]
    fn counts_follow_the_tables() {
        let mut counts = CopyCounts::default();
        counts.add(CopiedTable::Accounts);
        counts.add(CopiedTable::Accounts);
        assert_eq!(counts.of(CopiedTable::Accounts), 2);
        assert_eq!(counts.of(CopiedTable::Directory), 0);
        assert_eq!(counts.0.len(), CopiedTable::ALL.len());
    }
}
