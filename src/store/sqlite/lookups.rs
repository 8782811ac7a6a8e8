//! Reads for replacements, reverts, history, `verify`, the change log and
//! exports.
//!
//! A bulk plan can hold 100,000 rows or more, so what its checks need is
//! loaded with a handful of set-based queries: the plan's keys go into a
//! temporary table and each query walks that table and seeks the store's
//! indexes (`CROSS JOIN` keeps the small table on the outside), instead of one
//! query per row.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::many_rows::insert_rows;
use super::raw::Value;
use crate::model::{DirectoryEntry, MailboxType, Role, RoleGrant, Status};
use crate::store::address_key::address_key;
use crate::store::{
    ExportAccount, LogEntry, LogFilter, OldAccount, ReplacementLookup, ReplacementPair,
};

fn status(text: &str) -> Status {
    if text == "disabled" {
        Status::Disabled
    } else {
        Status::Active
    }
}

fn grant(ods_code: String, role: &str, payment_types: &str) -> RoleGrant {
    RoleGrant {
        ods_code,
        // Only valid roles are ever written.
        role: Role::parse(role).unwrap_or(Role::View),
        payment_types: payment_types
            .split(';')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

impl SqliteStore {
    /// Fills the temporary key table with (account_id, email_key) pairs and
    /// each address's look-up key (`cqrs_address_key(email_key)`, computed
    /// here once rather than by SQL in every query that joins on it), many
    /// rows to a statement.
    fn fill_lookup_keys<'k>(
        &self,
        keys: impl IntoIterator<Item = (&'k str, &'k str)>,
    ) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS lookup_keys
                 (account_id TEXT, email_key TEXT, address_key INTEGER);
             DELETE FROM temp.lookup_keys;",
        )?;
        let keys = keys.into_iter();
        let mut values = Vec::with_capacity(keys.size_hint().0 * 3);
        for (account_id, email_key) in keys {
            values.extend([
                Value::Text(account_id),
                Value::Text(email_key),
                Value::Integer(address_key(email_key)),
            ]);
        }
        insert_rows(
            &self.conn,
            "INSERT INTO temp.lookup_keys (account_id, email_key, address_key) VALUES",
            3,
            &values,
        )?;
        Ok(())
    }

    fn clear_lookup_keys(&self) -> Result<()> {
        self.conn.execute_batch("DELETE FROM temp.lookup_keys")?;
        Ok(())
    }

    /// What the replacement checks need for these (account_id, address normal
    /// form) pairs. Works inside a write transaction too, where it sees the
    /// store as it is now (the re-check that guards against a second operator).
    pub(crate) fn replacement_lookup(&self, keys: &[(&str, &str)]) -> Result<ReplacementLookup> {
        self.fill_lookup_keys(keys.iter().copied())?;
        let mut out = ReplacementLookup::default();

        let mut stmt = self.conn.prepare_cached(
            "SELECT a.account_id, a.email, a.given_name, a.family_name, a.status, a.replaced_by,
                    r.email
             FROM temp.lookup_keys k
             CROSS JOIN accounts a ON a.account_id = k.account_id
             LEFT JOIN accounts r ON r.account_id = a.replaced_by",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let account = OldAccount {
                account_id: r.get(0)?,
                email: r.get(1)?,
                given_name: r.get(2)?,
                family_name: r.get(3)?,
                status: status(r.get_ref(4)?.as_str()?),
                replaced_by: r.get(5)?,
                replaced_by_email_key: r
                    .get_ref(6)?
                    .as_str_or_null()?
                    .map(crate::rules::normal_form),
            };
            out.accounts.insert(account.account_id.clone(), account);
        }

        let mut stmt = self.conn.prepare_cached(
            "SELECT p.account_id, p.ods_code, p.role, p.payment_types
             FROM temp.lookup_keys k
             CROSS JOIN permissions p ON p.account_id = k.account_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id = r.get_ref(0)?.as_str()?;
            let g = grant(r.get(1)?, r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?);
            match out.roles.get_mut(id) {
                Some(list) => list.push(g),
                None => {
                    out.roles.insert(id.to_string(), vec![g]);
                }
            }
        }
        // Sorting here is cheaper than asking SQLite to sort every row; a plan
        // naming an account twice joins its roles twice.
        for list in out.roles.values_mut() {
            // The order of `roles()`: organisation, then the role's spelling.
            list.sort_unstable_by(|a, b| {
                (&a.ods_code, a.role.as_str()).cmp(&(&b.ods_code, b.role.as_str()))
            });
            list.dedup();
        }

        let mut stmt = self.conn.prepare_cached(
            // A plan naming an address twice finds its entry twice; the map
            // keeps one (no DISTINCT, which cost a sort of every row).
            "SELECT k.email_key, d.address, d.given_name, d.family_name, d.ods_code,
                    d.status, d.mailbox_type
             FROM temp.lookup_keys k
             CROSS JOIN directory_keys dk ON dk.address_key = k.address_key
             CROSS JOIN directory d ON d.entry = dk.entry AND d.address = k.email_key",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let key: String = r.get(0)?;
            out.directory.insert(
                key,
                DirectoryEntry {
                    address: r.get(1)?,
                    given_name: r.get(2)?,
                    family_name: r.get(3)?,
                    ods_code: r.get(4)?,
                    status: status(r.get_ref(5)?.as_str()?),
                    mailbox_type: if r.get_ref(6)?.as_str()? == "shared" {
                        MailboxType::Shared
                    } else {
                        MailboxType::Personal
                    },
                },
            );
        }

        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT k.email_key, e.account_id
             FROM temp.lookup_keys k
             CROSS JOIN account_emails e ON e.email_key = k.address_key
             CROSS JOIN accounts a
                 ON a.account_id = e.account_id AND cqrs_normal_form(a.email) = k.email_key
             ORDER BY k.email_key, e.account_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.email_owners
                .entry(r.get(0)?)
                .or_default()
                .push(r.get(1)?);
        }

        let mut stmt = self.conn.prepare_cached(
            // The planner walks the (small) index of address-like usernames
            // once and probes the keys, rather than one index scan per key:
            // an expression index is not searched by a join column here.
            "SELECT k.email_key, min(a.account_id)
             FROM temp.lookup_keys k, accounts a
             WHERE a.username LIKE '%@%' AND lower(a.username) = k.email_key
             GROUP BY k.email_key",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.username_owners.insert(r.get(0)?, r.get(1)?);
        }

        let mut stmt = self.conn.prepare_cached(
            "SELECT k.account_id, count(*)
             FROM (SELECT DISTINCT account_id FROM temp.lookup_keys) k
             CROSS JOIN accounts a ON a.replaces = k.account_id
             GROUP BY k.account_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.replacement_counts
                .insert(r.get(0)?, r.get::<_, i64>(1)? as u32);
        }

        self.clear_lookup_keys()?;
        Ok(out)
    }

    /// Which of these account ids are taken.
    pub(crate) fn taken_account_ids(&self, ids: &[&str]) -> Result<HashSet<String>> {
        self.fill_lookup_keys(ids.iter().map(|id| (*id, "")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.account_id FROM temp.lookup_keys k
             CROSS JOIN accounts a ON a.account_id = k.account_id",
        )?;
        let taken = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<HashSet<String>>>()?;
        self.clear_lookup_keys()?;
        Ok(taken)
    }

    /// Which of these address normal forms are on an account (any status) or
    /// are an account's username (ignoring case): (on an account, a username).
    pub(crate) fn addresses_in_use(
        &self,
        keys: &[&str],
    ) -> Result<(HashSet<String>, HashSet<String>)> {
        self.fill_lookup_keys(keys.iter().map(|k| ("", *k)))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT k.email_key FROM temp.lookup_keys k
             CROSS JOIN account_emails e ON e.email_key = k.address_key
             CROSS JOIN accounts a
                 ON a.account_id = e.account_id AND cqrs_normal_form(a.email) = k.email_key",
        )?;
        let emails = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<HashSet<String>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT k.email_key FROM temp.lookup_keys k, accounts a
             WHERE a.username LIKE '%@%' AND lower(a.username) = k.email_key",
        )?;
        let usernames = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<HashSet<String>>>()?;
        self.clear_lookup_keys()?;
        Ok((emails, usernames))
    }

    /// The account a replacement account replaced, with the replacement's
    /// status and address: `None` when `account_id` does not exist.
    pub(crate) fn replacement_account(
        &self,
        account_id: &str,
    ) -> Result<Option<(Option<String>, Status, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT replaces, status, email FROM accounts WHERE account_id = ?1")?;
        Ok(stmt
            .query_row([account_id], |r| {
                Ok((r.get(0)?, status(r.get_ref(1)?.as_str()?), r.get(2)?))
            })
            .optional()?)
    }

    /// Whether the change log records that `--disable-old` disabled `old`
    /// when `new` replaced it.
    pub(crate) fn disabled_with_replacement(&self, old: &str, new: &str) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM change_log
                            WHERE action = 'disable' AND old_account_id = ?1 AND new_account_id = ?2)",
        )?;
        Ok(stmt.query_row([old, new], |r| r.get(0))?)
    }

    /// The change log, oldest first.
    pub(crate) fn change_log(
        &self,
        filter: &LogFilter,
        mut visit: impl FnMut(LogEntry) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, at, actor, action, old_account_id, new_account_id, email, reason
             FROM change_log
             WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2)
               AND (?3 IS NULL OR actor = ?3)
               AND (?4 IS NULL OR old_account_id = ?4 OR new_account_id = ?4)
             ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![
            filter.from,
            filter.before,
            filter.actor,
            filter.account
        ])?;
        while let Some(r) = rows.next()? {
            visit(LogEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                old_account_id: r.get(4)?,
                new_account_id: r.get(5)?,
                email: r.get(6)?,
                reason: r.get(7)?,
            })?;
        }
        Ok(())
    }

    /// Every replacement account with the account it replaced, by new id.
    pub(crate) fn replacement_pairs(&self) -> Result<Vec<ReplacementPair>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT replaces, account_id, status FROM accounts
             WHERE replaces IS NOT NULL ORDER BY account_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ReplacementPair {
                old_account_id: r.get(0)?,
                new_account_id: r.get(1)?,
                new_status: status(r.get_ref(2)?.as_str()?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The roles of every replacement account and every replaced account.
    pub(crate) fn replacement_roles(&self) -> Result<HashMap<String, Vec<RoleGrant>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.account_id, p.ods_code, p.role, p.payment_types
             FROM (SELECT account_id AS id FROM accounts WHERE replaces IS NOT NULL
                   UNION SELECT replaces FROM accounts WHERE replaces IS NOT NULL) k
             CROSS JOIN permissions p ON p.account_id = k.id
             ORDER BY p.account_id, p.ods_code, p.role",
        )?;
        let mut rows = stmt.query([])?;
        let mut out: HashMap<String, Vec<RoleGrant>> = HashMap::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let g = grant(r.get(1)?, r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?);
            out.entry(id).or_default().push(g);
        }
        Ok(out)
    }

    /// The organisations that have any activity.
    pub(crate) fn organisations_with_activity(&self) -> Result<HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT ods_code FROM activity")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The accounts to export: the replacement accounts, or every account.
    pub(crate) fn export_accounts(
        &self,
        all: bool,
        mut visit: impl FnMut(ExportAccount) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT account_id, username, email, given_name, family_name, status, created_at,
                    last_login_at
             FROM accounts WHERE ?1 OR replaces IS NOT NULL ORDER BY account_id",
        )?;
        let mut rows = stmt.query([all])?;
        while let Some(r) = rows.next()? {
            visit(ExportAccount {
                account_id: r.get(0)?,
                username: r.get(1)?,
                email: r.get(2)?,
                given_name: r.get(3)?,
                family_name: r.get(4)?,
                status: status(r.get_ref(5)?.as_str()?),
                created_at: r.get(6)?,
                last_login_at: r.get(7)?,
            })?;
        }
        Ok(())
    }

    /// The roles to export, as (account_id, grant): those of the replacement
    /// accounts, or every role.
    pub(crate) fn export_permissions(
        &self,
        all: bool,
        mut visit: impl FnMut(&str, RoleGrant) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT account_id, ods_code, role, payment_types FROM permissions
             WHERE ?1 OR account_id IN (SELECT account_id FROM accounts WHERE replaces IS NOT NULL)
             ORDER BY account_id, ods_code, role",
        )?;
        let mut rows = stmt.query([all])?;
        while let Some(r) = rows.next()? {
            let id = r.get_ref(0)?.as_str()?;
            let g = grant(r.get(1)?, r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?);
            visit(id, g)?;
        }
        Ok(())
    }
}
