//! The PostgreSQL store: the shared national store many operators use at
//! once (`--db postgres://…`). This is its foundation: connecting by
//! libpq's conventions ([`connect`]), the schema and its migrations
//! ([`schema`]), and the change log's chain checked with the same
//! `entry_hash` as the SQLite store ([`chain`]). The promises (an email
//! never changes, nothing deleted, the log append-only and chained, the
//! operator the database login) are kept by the database itself.

mod areas;
mod audit_inputs;
mod boundary;
pub mod chain;
pub mod connect;
mod copy;
mod import;
mod known_accounts;
mod lookup_key;
mod lookups;
mod notifications;
mod open;
pub mod pgpass;
mod progress;
mod read;
mod report_cache;
pub mod schema;
pub mod tls;
mod write;

use std::cell::{Cell, RefCell, RefMut};

use anyhow::Result;
use postgres::types::ToSql;

pub use connect::{Target, is_url, redact};

use crate::error::UserError;
use crate::store::Tampering;

/// A connection to a PostgreSQL store. The client is in a `RefCell`: the
/// [`crate::store::Backend`] trait takes `&self`, and one connection serves
/// one command on one thread (a scan of the audit has a connection of its
/// own).
pub struct PgStore {
    client: RefCell<postgres::Client>,
    target: Target,
    /// Whether row-level security applies to this login (an operator, not
    /// the owner), once asked: see [`PgStore::row_security`].
    row_security: Cell<Option<bool>>,
}

/// What [`PgStore::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The schema version found (0: no schema yet).
    pub from: i32,
    /// The version now.
    pub to: i32,
}

/// One change-log entry to append. The database writes seq, at, the
/// operator (the login) and the hashes itself.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub action: &'a str,
    pub old_account_id: Option<&'a str>,
    pub new_account_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// `--actor`, if given: kept beside the login, never instead of it.
    pub actor_claim: Option<&'a str>,
}

/// SQLSTATEs after which a transaction is worth running again.
const RETRIED: &[&str] = &["40001", "40P01"];

/// How many times a transaction is tried before its failure is reported.
const ATTEMPTS: usize = 20;

impl PgStore {
    /// Connects to the store `url` names (libpq's conventions, see
    /// [`connect`]). A password written in a URL given on the command line
    /// is refused: it would be visible to everyone (`ps`).
    pub fn connect(url: &str) -> Result<PgStore> {
        let target = Target::parse(url)?;
        target.refuse_password_on_command_line(url, std::env::args_os())?;
        PgStore::connect_to(target)
    }

    /// Connects to a parsed target.
    pub fn connect_to(target: Target) -> Result<PgStore> {
        let client = target.connect()?;
        Ok(PgStore {
            client: RefCell::new(client),
            target,
            row_security: Cell::new(None),
        })
    }

    /// The store's URL without its password, for messages.
    pub fn shown(&self) -> &str {
        self.target.shown()
    }

    /// The connection itself, for the queries of the store's own modules.
    pub fn client(&self) -> RefMut<'_, postgres::Client> {
        self.client.borrow_mut()
    }

    /// The connection, borrowed for one query or one streamed result (the
    /// trait's `&self`). A second borrow while one is held (a visitor asking
    /// the store something while a listing streams to it) is an error, not
    /// a panic.
    pub(crate) fn conn(&self) -> Result<RefMut<'_, postgres::Client>> {
        self.client.try_borrow_mut().map_err(|_| {
            anyhow::anyhow!(
                "the PostgreSQL store {} was asked for a second thing while it was still \
                 answering the first (a bug in cqrs-admin: please report it)",
                self.target.shown()
            )
        })
    }

    /// Another connection to the same store, with the same settings.
    pub fn second_connection(&self) -> Result<PgStore> {
        PgStore::connect_to(self.target.clone())
    }

    /// The parsed URL this store was reached by.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A database error explained: a refused promise as a refusal (exit 1,
    /// the database's own words), a missing grant as "ask the owner",
    /// anything else naming the store. Never the password.
    pub fn explain(&self, e: postgres::Error) -> anyhow::Error {
        explain(&self.target, &e)
    }

    /// Rows of `sql`, each turned into a value by `f`.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: impl Fn(&postgres::Row) -> Result<T, postgres::Error>,
    ) -> Result<Vec<T>> {
        let rows = self
            .conn()?
            .query(sql, params)
            .map_err(|e| explain(&self.target, &e))?;
        rows.iter()
            .map(|r| f(r).map_err(|e| explain(&self.target, &e)))
            .collect()
    }

    /// Runs `sql`; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.conn()?
            .execute(sql, params)
            .map_err(|e| explain(&self.target, &e))
    }

    /// Runs `work` in one transaction (`work` uses the transaction it is
    /// given, never this store), again from the start after a
    /// serialization failure or a deadlock (another operator's
    /// transaction won), up to 20 times.
    pub fn transaction<R>(
        &self,
        isolation: postgres::IsolationLevel,
        mut work: impl FnMut(&mut postgres::Transaction<'_>) -> Result<R, postgres::Error>,
    ) -> Result<R> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = self.conn()?;
            let outcome = (|| -> Result<R, postgres::Error> {
                let mut tx = client
                    .build_transaction()
                    .isolation_level(isolation)
                    .start()?;
                let value = work(&mut tx)?;
                tx.commit()?;
                Ok(value)
            })();
            match outcome {
                Ok(v) => return Ok(v),
                Err(e)
                    if attempt < ATTEMPTS
                        && e.code().is_some_and(|c| RETRIED.contains(&c.code())) =>
                {
                    tracing::info!(attempt, "transaction retried after a conflict");
                }
                Err(e) => return Err(explain(&self.target, &e)),
            }
        }
    }

    /// The schema version the store has (0: none yet).
    pub fn schema_version(&self) -> Result<i32> {
        let mut client = self.conn()?;
        let exists: bool = client
            .query_one(
                "SELECT to_regclass('public.schema_migrations') IS NOT NULL",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| explain(&self.target, &e))?;
        if !exists {
            return Ok(0);
        }
        client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| explain(&self.target, &e))
    }

    /// Brings the schema up to this build's version, in one transaction
    /// under an advisory lock (two first users do not both create it).
    /// Only the database's owner (or a superuser, acting as the owner) may
    /// create or upgrade it; anyone else is told to ask the owner. A
    /// schema from a newer cqrs-admin, or a database holding other tables,
    /// is refused and left as it is.
    pub fn migrate(&self) -> Result<Migrated> {
        let shown = self.target.shown().to_string();
        let target = self.target.clone();
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(|e| explain(&target, &e))?;
        let sql_err = |e: postgres::Error| explain(&target, &e);
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&schema::MIGRATION_LOCK],
        )
        .map_err(sql_err)?;
        let row = tx
            .query_one(
                "SELECT to_regclass('public.schema_migrations') IS NOT NULL,
                        pg_has_role(session_user, d.datdba, 'MEMBER'),
                        d.datdba = (SELECT oid FROM pg_roles WHERE rolname = session_user),
                        pg_get_userbyid(d.datdba)::text,
                        current_setting('server_encoding'),
                        current_setting('server_version_num')::int
                 FROM pg_database d WHERE d.datname = current_database()",
                &[],
            )
            .map_err(sql_err)?;
        let has_schema: bool = row.get(0);
        // A superuser, or a member of the owner's role, may act as the owner.
        let may_act_as_owner: bool = row.get(1);
        let is_owner: bool = row.get::<_, Option<bool>>(2).unwrap_or(false);
        let owner: String = row.get(3);
        let encoding: String = row.get(4);
        let server_version: i32 = row.get(5);
        let found: i32 = if has_schema {
            tx.query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(sql_err)?
        } else {
            0
        };
        let current = schema::current_version();
        if found > current {
            return Err(UserError::Store(format!(
                "the PostgreSQL store {shown} has schema version {found}, written by a newer \
                 cqrs-admin than this one (which knows version {current}): nothing was changed. \
                 Use a cqrs-admin at least as new as the one that last upgraded it"
            ))
            .into());
        }
        if found == current {
            tx.commit().map_err(sql_err)?;
            return Ok(Migrated {
                from: found,
                to: found,
            });
        }
        if server_version < 150000 {
            return Err(UserError::Store(format!(
                "the PostgreSQL server of {shown} is version {}.{}; cqrs-admin needs \
                 PostgreSQL 15 or later",
                server_version / 10000,
                server_version % 10000
            ))
            .into());
        }
        if !has_schema {
            let others: Vec<String> = tx
                .query(
                    "SELECT c.relname::text FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                     ORDER BY 1 LIMIT 6",
                    &[],
                )
                .map_err(sql_err)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !others.is_empty() {
                return Err(UserError::Store(format!(
                    "the PostgreSQL database {} at {shown} is not a cqrs-admin store: it holds \
                     other tables ({}), and no cqrs-admin schema. Nothing was changed: give \
                     cqrs-admin a database of its own (createdb -O OWNER -E UTF8 NAME)",
                    target.database(),
                    others.join(", ")
                ))
                .into());
            }
            if encoding != "UTF8" {
                return Err(UserError::Store(format!(
                    "the PostgreSQL database {} at {shown} uses the {encoding} encoding; \
                     cqrs-admin needs UTF8. Create it again with createdb -E UTF8 -T template0",
                    target.database()
                ))
                .into());
            }
        }
        if !may_act_as_owner {
            let what = if has_schema {
                format!(
                    "has schema version {found}, which this cqrs-admin must upgrade to {current}"
                )
            } else {
                "has no cqrs-admin store yet".to_string()
            };
            return Err(UserError::Store(format!(
                "the PostgreSQL database {} at {shown} {what}, and only its owner ({owner}) may \
                 do that: you are logged in as {}. Ask {owner} to run any cqrs-admin command on \
                 it once (e.g. `cqrs-admin --db URL verify`)",
                target.database(),
                target.user()
            ))
            .into());
        }
        if !is_owner {
            // A superuser (or a member of the owner's role) creates the
            // schema as the owner, so that the owner owns every table and
            // can upgrade it later.
            tx.batch_execute(&format!("SET LOCAL ROLE {}", quote_ident(&owner)))
                .map_err(sql_err)?;
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i32 + 1;
            tx.batch_execute(sql).map_err(sql_err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .map_err(sql_err)?;
            tracing::info!(version, "migration applied");
        }
        tx.commit().map_err(sql_err)?;
        Ok(Migrated {
            from: found,
            to: current,
        })
    }

    /// Appends entries to the change log in one transaction. The database
    /// numbers and chains them and records the login as the operator.
    pub fn append(&self, entries: &[NewEntry<'_>]) -> Result<()> {
        self.transaction(postgres::IsolationLevel::ReadCommitted, |tx| {
            let insert = tx.prepare(
                "INSERT INTO change_log (action, old_account_id, new_account_id, email, reason,
                                         actor_claim)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?;
            for e in entries {
                tx.execute(
                    &insert,
                    &[
                        &e.action,
                        &e.old_account_id,
                        &e.new_account_id,
                        &e.email,
                        &e.reason,
                        &e.actor_claim,
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Every change-log entry, in order.
    pub fn change_log_entries(&self) -> Result<Vec<chain::StoredEntry>> {
        self.query(chain::SELECT_ENTRIES, &[], chain::entry)
    }

    /// What was changed past the database's triggers: breaks in the chain
    /// and the head (one snapshot, so a concurrent append is not a break).
    pub fn tampering(&self) -> Result<Vec<Tampering>> {
        // An area operator sees only its area's entries: it checks the
        // links of all of them (chain::breaks).
        let whole = self.area()?.is_none();
        let breaks = self.transaction(postgres::IsolationLevel::RepeatableRead, |tx| {
            chain::breaks(tx, whole)
        })?;
        let mut out = self.trigger_tampering()?;
        out.extend(breaks);
        Ok(out)
    }

    /// Protective triggers missing or disabled, and protective functions
    /// whose body is not the migration's.
    pub(crate) fn trigger_tampering(&self) -> Result<Vec<Tampering>> {
        let found: Vec<(String, String, bool)> = self.query(
            "SELECT c.relname::text, t.tgname::text, t.tgenabled <> 'D'
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND NOT t.tgisinternal",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )?;
        let mut out = Vec::new();
        for (table, name) in schema::PROTECTIVE_TRIGGERS {
            match found.iter().find(|(t, n, _)| t == table && n == name) {
                None => out.push(Tampering::TriggerMissing(name.to_string())),
                Some((_, _, false)) => out.push(Tampering::TriggerAltered(name.to_string())),
                Some(_) => {}
            }
        }
        for (table, name, _) in &found {
            if !schema::PROTECTIVE_TRIGGERS.contains(&(table.as_str(), name.as_str())) {
                out.push(Tampering::TriggerAdded(name.clone()));
            }
        }
        let bodies: Vec<(String, String)> = self.query(
            "SELECT p.proname::text, p.prosrc FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname LIKE 'cqrs\\_%'",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        for (name, body) in schema::functions() {
            match bodies.iter().find(|(n, _)| n == name) {
                None => out.push(Tampering::TriggerMissing(format!("{name} (function)"))),
                Some((_, b)) if b != body => {
                    out.push(Tampering::TriggerAltered(format!("{name} (function)")))
                }
                Some(_) => {}
            }
        }
        Ok(out)
    }

    /// The newest entry's seq and hash.
    pub fn change_log_head(&self) -> Result<Option<(i64, String)>> {
        Ok(self
            .query(
                "SELECT seq, hash FROM change_log ORDER BY seq DESC LIMIT 1",
                &[],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )?
            .pop())
    }
}

/// What `cqrs-admin --db postgres://… verify` found: until every command
/// runs on PostgreSQL, verify connects, creates or upgrades the schema
/// (the owner), and checks the chain.
#[derive(Debug)]
pub struct Verified {
    pub shown: String,
    pub migrated: Migrated,
    pub head: Option<(i64, String)>,
}

/// The refusal of a command that does not run on PostgreSQL yet.
pub const NOT_YET: &str = "this command does not run on a PostgreSQL store yet (only `verify` \
     does, which also creates the schema): nothing was done. Use an SQLite store (--db FILE) for it";

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Migrated { from, to } = self.migrated;
        let schema = match from {
            _ if from == to => format!("schema version {to}"),
            0 => format!("schema version {to}, created now"),
            _ => format!("schema version {to}, upgraded now from {from}"),
        };
        write!(
            f,
            "the PostgreSQL store {} ({schema}): its protective triggers and functions are intact, and its change log ",
            self.shown
        )?;
        match &self.head {
            Some((seq, hash)) => write!(
                f,
                "is an unbroken chain of {seq} entries (newest hash {hash})"
            ),
            None => write!(f, "is empty"),
        }
    }
}

/// Connects to `url`, migrates, and checks the change log's chain: a
/// broken chain is an error naming every break.
pub fn verify(url: &str) -> Result<Verified> {
    let store = PgStore::connect(url)?;
    let migrated = store.migrate()?;
    let tampering = store.tampering()?;
    if !tampering.is_empty() {
        let list: Vec<String> = tampering.iter().map(|t| format!("  {t}")).collect();
        return Err(UserError::Refused(format!(
            "the PostgreSQL store {} was changed outside cqrs-admin:\n{}\nTo recover, restore \
             the database from a backup taken before the change",
            store.shown(),
            list.join("\n")
        ))
        .into());
    }
    Ok(Verified {
        shown: store.shown().to_string(),
        migrated,
        head: store.change_log_head()?,
    })
}

pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database error as the user should read it.
fn explain(target: &Target, e: &postgres::Error) -> anyhow::Error {
    let Some(db) = e.as_db_error() else {
        if e.is_closed() {
            return UserError::Store(format!(
                "the connection to the PostgreSQL store {} was lost ({}): nothing more was \
                 written; check that the server is running and run the command again",
                target.shown(),
                target.scrub(&e.to_string())
            ))
            .into();
        }
        return UserError::Store(format!(
            "the PostgreSQL store {}: {}",
            target.shown(),
            target.scrub(&e.to_string())
        ))
        .into();
    };
    let message = target.scrub(db.message());
    match db.code().code() {
        // Another transaction won: the server undid this one, and the
        // caller may run the whole write again (store::retrying).
        code if RETRIED.contains(&code) => crate::store::Conflict(format!(
            "the PostgreSQL store {} undid the write because another transaction won \
             ({message}, SQLSTATE {code})",
            target.shown()
        ))
        .into(),
        schema::REFUSED_SQLSTATE => UserError::Refused(format!(
            "the PostgreSQL store {} refused the change: {message}",
            target.shown()
        ))
        .into(),
        "42501" => UserError::Store(format!(
            "the PostgreSQL store {} refused {} ({message}): ask the store's owner to register \
             this login as an operator",
            target.shown(),
            target.user()
        ))
        .into(),
        _ => UserError::Store(format!(
            "the PostgreSQL store {} failed: {message}{}",
            target.shown(),
            db.detail()
                .map(|d| format!(" ({})", target.scrub(d)))
                .unwrap_or_default()
        ))
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_can_move_to_another_thread_as_the_store_boundary_needs() {
        fn send<T: Send>() {}
        send::<PgStore>();
    }
}
