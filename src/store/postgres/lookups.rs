//! Reads for replacements, reverts, history, `verify`, the change log and
//! exports, on PostgreSQL: the same answers, in the same order, as the
//! SQLite store's `lookups.rs`.
//!
//! A bulk plan can hold 100,000 rows or more, so what its checks need is
//! loaded with a handful of set-based queries: the plan's keys go to the
//! server as two arrays (`= ANY($1)`), one round trip per query, and each
//! query seeks the indexes (the primary keys, and the expression indexes
//! on an email's and a directory address's normal form), instead of one
//! query per row. Long listings (the change log, an export) stream their
//! rows as the server sends them.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use super::PgStore;
use super::read::{directory_from_row, grant, status};
use crate::model::{RoleGrant, Status};
use crate::store::{
    ExportAccount, LogEntry, LogFilter, OldAccount, ReplacementLookup, ReplacementPair,
};

/// The actor a change-log entry shows: the login the database recorded,
/// and beside it the `--actor` the client claimed when that differs (so a
/// log with no claims, or claims equal to the login, reads exactly as on
/// SQLite).
pub(super) fn shown_actor(login: String, claim: Option<String>) -> String {
    match claim {
        Some(claim) if claim != login => format!("{login} (--actor {claim})"),
        _ => login,
    }
}

impl PgStore {
    /// Streams the rows of `sql` to `visit`, as the server sends them.
    fn stream(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        mut visit: impl FnMut(&postgres::Row) -> Result<()>,
    ) -> Result<()> {
        let mut client = self.conn()?;
        let mut rows = client
            .query_raw(sql, params.iter().copied())
            .map_err(|e| self.explain(e))?;
        while let Some(row) = rows.next().map_err(|e| self.explain(e))? {
            visit(&row)?;
        }
        Ok(())
    }

    /// What the replacement checks need for these (account_id, address
    /// normal form) pairs. Inside a write it sees the store as the write
    /// holds it (the re-check that guards against a second operator).
    pub(crate) fn replacement_lookup(&self, keys: &[(&str, &str)]) -> Result<ReplacementLookup> {
        let ids: Vec<&str> = keys.iter().map(|(id, _)| *id).collect();
        let emails: Vec<&str> = keys.iter().map(|(_, e)| *e).collect();
        let mut out = ReplacementLookup::default();

        for account in self.query(
            "SELECT a.account_id, a.email, a.given_name, a.family_name, a.status, a.replaced_by,
                    r.email
             FROM accounts a LEFT JOIN accounts r ON r.account_id = a.replaced_by
             WHERE a.account_id = ANY($1)",
            &[&ids],
            |r| {
                Ok(OldAccount {
                    account_id: r.try_get(0)?,
                    email: r.try_get(1)?,
                    given_name: r.try_get(2)?,
                    family_name: r.try_get(3)?,
                    status: status(r.try_get(4)?),
                    replaced_by: r.try_get(5)?,
                    replaced_by_email_key: r
                        .try_get::<_, Option<&str>>(6)?
                        .map(crate::rules::normal_form),
                })
            },
        )? {
            out.accounts.insert(account.account_id.clone(), account);
        }

        for (id, g) in self.query(
            "SELECT account_id, ods_code, role, payment_types FROM permissions
             WHERE account_id = ANY($1)",
            &[&ids],
            |r| {
                Ok((
                    r.try_get::<_, String>(0)?,
                    grant(r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
                ))
            },
        )? {
            out.roles.entry(id).or_default().push(g);
        }
        for list in out.roles.values_mut() {
            // The order of `roles()`: organisation, then the role's spelling.
            list.sort_unstable_by(|a, b| {
                (&a.ods_code, a.role.as_str()).cmp(&(&b.ods_code, b.role.as_str()))
            });
            list.dedup();
        }

        // By normal form: the directory's addresses are unique ignoring
        // ASCII case (SQLite's `COLLATE NOCASE`).
        for (key, entry) in self.query(
            "SELECT lower(address), address, given_name, family_name, ods_code, status,
                    mailbox_type
             FROM directory WHERE lower(address) = ANY($1)",
            &[&emails],
            |r| Ok((r.try_get::<_, String>(0)?, directory_from_row(r, 1)?)),
        )? {
            out.directory.insert(key, entry);
        }

        for (key, id) in self.query(
            "SELECT lower(btrim(email)), account_id FROM accounts
             WHERE lower(btrim(email)) = ANY($1) ORDER BY 1, 2",
            &[&emails],
            |r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?)),
        )? {
            out.email_owners.entry(key).or_default().push(id);
        }

        for (key, id) in self.query(
            "SELECT lower(username), min(account_id) FROM accounts
             WHERE username LIKE '%@%' AND lower(username) = ANY($1)
             GROUP BY 1",
            &[&emails],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )? {
            out.username_owners.insert(key, id);
        }

        for (id, n) in self.query(
            "SELECT replaces, count(*) FROM accounts WHERE replaces = ANY($1) GROUP BY 1",
            &[&ids],
            |r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)),
        )? {
            out.replacement_counts
                .insert(id, u32::try_from(n).unwrap_or(u32::MAX));
        }
        Ok(out)
    }

    /// Which of these account ids are taken.
    pub(crate) fn taken_account_ids(&self, ids: &[&str]) -> Result<HashSet<String>> {
        Ok(self
            .query(
                "SELECT account_id FROM accounts WHERE account_id = ANY($1)",
                &[&ids],
                |r| r.try_get(0),
            )?
            .into_iter()
            .collect())
    }

    /// Which of these address normal forms are on an account (any status)
    /// or are an account's username (ignoring ASCII case): (on an account,
    /// a username).
    pub(crate) fn addresses_in_use(
        &self,
        keys: &[&str],
    ) -> Result<(HashSet<String>, HashSet<String>)> {
        let emails = self
            .query(
                "SELECT DISTINCT lower(btrim(email)) FROM accounts
                 WHERE lower(btrim(email)) = ANY($1)",
                &[&keys],
                |r| r.try_get(0),
            )?
            .into_iter()
            .collect();
        let usernames = self
            .query(
                "SELECT DISTINCT lower(username) FROM accounts
                 WHERE username LIKE '%@%' AND lower(username) = ANY($1)",
                &[&keys],
                |r| r.try_get(0),
            )?
            .into_iter()
            .collect();
        Ok((emails, usernames))
    }

    /// The account a replacement account replaced, with the replacement's
    /// status and address: `None` when `account_id` does not exist.
    pub(crate) fn replacement_account(
        &self,
        account_id: &str,
    ) -> Result<Option<(Option<String>, Status, String)>> {
        Ok(self
            .query(
                "SELECT replaces, status, email FROM accounts WHERE account_id = $1",
                &[&account_id],
                |r| Ok((r.try_get(0)?, status(r.try_get(1)?), r.try_get(2)?)),
            )?
            .pop())
    }

    /// Whether the change log records that `--disable-old` disabled `old`
    /// when `new` replaced it.
    pub(crate) fn disabled_with_replacement(&self, old: &str, new: &str) -> Result<bool> {
        Ok(self
            .query(
                "SELECT EXISTS (SELECT 1 FROM change_log
                                WHERE action = 'disable' AND old_account_id = $1
                                  AND new_account_id = $2)",
                &[&old, &new],
                |r| r.try_get(0),
            )?
            .pop()
            .unwrap_or(false))
    }

    /// The change log, oldest first. `--actor` finds an entry by its login
    /// or by the claim beside it.
    pub(crate) fn change_log(
        &self,
        filter: &LogFilter,
        visit: &mut dyn FnMut(LogEntry) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            "SELECT seq, at, actor, action, old_account_id, new_account_id, email, reason,
                    actor_claim
             FROM change_log
             WHERE ($1::text IS NULL OR at >= $1) AND ($2::text IS NULL OR at < $2)
               AND ($3::text IS NULL OR actor = $3 OR actor_claim = $3)
               AND ($4::text IS NULL OR old_account_id = $4 OR new_account_id = $4)
             ORDER BY seq",
            &[&filter.from, &filter.before, &filter.actor, &filter.account],
            |r| {
                visit(LogEntry {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: shown_actor(r.try_get(2)?, r.try_get(8)?),
                    action: r.try_get(3)?,
                    old_account_id: r.try_get(4)?,
                    new_account_id: r.try_get(5)?,
                    email: r.try_get(6)?,
                    reason: r.try_get(7)?,
                })
            },
        )
    }

    /// Every replacement account with the account it replaced, by new id.
    pub(crate) fn replacement_pairs(&self) -> Result<Vec<ReplacementPair>> {
        self.query(
            "SELECT replaces, account_id, status FROM accounts
             WHERE replaces IS NOT NULL ORDER BY account_id",
            &[],
            |r| {
                Ok(ReplacementPair {
                    old_account_id: r.try_get(0)?,
                    new_account_id: r.try_get(1)?,
                    new_status: status(r.try_get(2)?),
                })
            },
        )
    }

    /// The roles of every replacement account and every replaced account.
    pub(crate) fn replacement_roles(&self) -> Result<HashMap<String, Vec<RoleGrant>>> {
        let mut out: HashMap<String, Vec<RoleGrant>> = HashMap::new();
        for (id, g) in self.query(
            "SELECT p.account_id, p.ods_code, p.role, p.payment_types
             FROM permissions p
             WHERE p.account_id IN (SELECT account_id FROM accounts WHERE replaces IS NOT NULL
                                    UNION SELECT replaces FROM accounts WHERE replaces IS NOT NULL)
             ORDER BY p.account_id, p.ods_code, p.role",
            &[],
            |r| {
                Ok((
                    r.try_get::<_, String>(0)?,
                    grant(r.try_get(1)?, r.try_get(2)?, r.try_get(3)?),
                ))
            },
        )? {
            out.entry(id).or_default().push(g);
        }
        Ok(out)
    }

    /// The organisations that have any activity.
    pub(crate) fn organisations_with_activity(&self) -> Result<HashSet<String>> {
        Ok(self
            .query("SELECT DISTINCT ods_code FROM activity", &[], |r| {
                r.try_get(0)
            })?
            .into_iter()
            .collect())
    }

    /// The accounts to export: the replacement accounts, or every account.
    pub(crate) fn export_accounts(
        &self,
        all: bool,
        visit: &mut dyn FnMut(ExportAccount) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            "SELECT account_id, username, email, given_name, family_name, status, created_at,
                    last_login_at
             FROM accounts WHERE $1 OR replaces IS NOT NULL ORDER BY account_id",
            &[&all],
            |r| {
                visit(ExportAccount {
                    account_id: r.try_get(0)?,
                    username: r.try_get(1)?,
                    email: r.try_get(2)?,
                    given_name: r.try_get(3)?,
                    family_name: r.try_get(4)?,
                    status: status(r.try_get(5)?),
                    created_at: r.try_get(6)?,
                    last_login_at: r.try_get(7)?,
                })
            },
        )
    }

    /// The roles to export, as (account_id, grant): those of the
    /// replacement accounts, or every role.
    pub(crate) fn export_permissions(
        &self,
        all: bool,
        visit: &mut dyn FnMut(&str, RoleGrant) -> Result<()>,
    ) -> Result<()> {
        self.stream(
            "SELECT account_id, ods_code, role, payment_types FROM permissions
             WHERE $1 OR account_id IN (SELECT account_id FROM accounts
                                        WHERE replaces IS NOT NULL)
             ORDER BY account_id, ods_code, role",
            &[&all],
            |r| {
                let id: &str = r.try_get(0)?;
                visit(id, grant(r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
            },
        )
    }
}
