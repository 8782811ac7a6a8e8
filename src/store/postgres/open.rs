//! Opening a PostgreSQL store for a command: connecting by libpq's
//! conventions, creating or upgrading the schema on the owner's first use
//! (a login that is not the owner, finding no schema, is told to ask the
//! owner: [`PgStore::migrate`]), and checking the protective triggers, as
//! the SQLite store checks its own on every open.

use anyhow::Result;

use super::{Migrated, PgStore};
use crate::store::TAMPERED_RECOVERY;

impl PgStore {
    /// Opens the store `url` names for a command. `may_create` does not
    /// matter here: the database itself must exist (its administrator
    /// creates it), and the schema is created by the owner's first command,
    /// whichever it is. What opening found (protections changed past
    /// cqrs-admin) goes into `warnings`: the store stays readable, and
    /// every write refuses it.
    pub(crate) fn open_as(url: &str, warnings: &mut Vec<String>) -> Result<PgStore> {
        let store = PgStore::connect(url)?;
        // Said once, by the command that did it: the owner learns that the
        // store now exists (or was upgraded) and at which version.
        match store.migrate()? {
            Migrated { from, to } if from == to => {}
            Migrated { from: 0, to } => warnings.push(format!(
                "the PostgreSQL store {} had no cqrs-admin schema: schema version {to}, created now",
                store.shown()
            )),
            Migrated { from, to } => warnings.push(format!(
                "the PostgreSQL store {}: schema version {to}, upgraded now from {from}",
                store.shown()
            )),
        }
        let found = store.trigger_tampering()?;
        if !found.is_empty() {
            let list: Vec<String> = found.iter().map(ToString::to_string).collect();
            warnings.push(format!(
                "{} was changed outside cqrs-admin ({}): what it says may not be true; \
                 run `cqrs-admin verify`, and {TAMPERED_RECOVERY}",
                store.shown(),
                list.join("; ")
            ));
        }
        Ok(store)
    }
}
