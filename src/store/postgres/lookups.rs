//! Reads for replacements, reverts, history, `verify`, the change log and
//! exports, on PostgreSQL: the same answers, in the same order, as the
//! SQLite store's `lookups.rs`.
//!
//! A bulk plan can hold 100,000 rows or more, so what its checks need is
//! loaded with a handful of set-based queries: the plan's keys go to the
//! server as two arrays, one round trip per query, and each key seeks the
//! indexes (the primary keys, and the expression indexes on an email's and
//! a directory address's normal form) through a LATERAL subquery, instead
//! of one query per row (see [`PgStore::replacement_lookup`] for why not
//! `= ANY($1)`). Long listings (the change log, an export) stream their
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

/// These keys once each, so that a look-up joined to them finds each row
/// once (as `= ANY` did).
fn distinct<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = keys.collect();
    out.sort_unstable();
    out.dedup();
    out
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

    /// Whether row-level security applies to this login's reads of the
    /// accounts (an operator; not the owner, who owns the tables). Asked
    /// once a connection.
    pub(super) fn row_security(&self) -> Result<bool> {
        if let Some(known) = self.row_security.get() {
            return Ok(known);
        }
        let active = self
            .query("SELECT row_security_active('public.accounts')", &[], |r| {
                r.try_get::<_, bool>(0)
            })?
            .pop()
            .unwrap_or(true);
        self.row_security.set(Some(active));
        Ok(active)
    }

    /// What the replacement checks need for these (account_id, address
    /// normal form) pairs. Inside a write it sees the store as the write
    /// holds it (the re-check that guards against a second operator).
    ///
    /// Each key is looked up on its own in the index (`unnest` of the keys,
    /// each joined LATERAL to a subquery that `OFFSET 0` keeps the planner
    /// from flattening): with `= ANY($1)` of 10,000 keys the planner chose a
    /// parallel sequential scan of the whole table for each query (0.4 to 1
    /// s each, 6 a batch), where 10,000 index look-ups take a few
    /// milliseconds. Under row-level security an expression index (an
    /// address's normal form) cannot be used (`lower` is not leakproof, so
    /// the policy's filter must come first): those two queries keep one
    /// scan for all keys there, instead of one scan a key.
    pub(crate) fn replacement_lookup(&self, keys: &[(&str, &str)]) -> Result<ReplacementLookup> {
        let ids = distinct(keys.iter().map(|(id, _)| *id));
        let emails = distinct(keys.iter().map(|(_, e)| *e));
        let by_index = !self.row_security()?;
        let mut out = ReplacementLookup::default();

        for account in self.query(
            "SELECT a.account_id, a.email, a.given_name, a.family_name, a.status, a.replaced_by,
                    (SELECT r.email FROM accounts r WHERE r.account_id = a.replaced_by)
             FROM unnest($1::text[]) AS k(id)
             CROSS JOIN LATERAL (SELECT * FROM accounts a WHERE a.account_id = k.id OFFSET 0) a",
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
            "SELECT p.account_id, p.ods_code, p.role, p.payment_types
             FROM unnest($1::text[]) AS k(id)
             CROSS JOIN LATERAL (SELECT * FROM permissions p WHERE p.account_id = k.id OFFSET 0) p",
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
        // ASCII case (SQLite's `COLLATE NOCASE`). The directory has no
        // row-level security: its index serves every login.
        for (key, entry) in self.query(
            "SELECT d.key, d.address, d.given_name, d.family_name, d.ods_code, d.status,
                    d.mailbox_type
             FROM unnest($1::text[]) AS k(key)
             CROSS JOIN LATERAL (SELECT lower(address) AS key, * FROM directory
                                 WHERE address_key = hashtextextended(k.key, 0)
                                   AND lower(address) = k.key OFFSET 0) d",
            &[&emails],
            |r| Ok((r.try_get::<_, String>(0)?, directory_from_row(r, 1)?)),
        )? {
            out.directory.insert(key, entry);
        }

        // By username: the index on a username that is an address leaves
        // out the accounts whose username is their email (every replacement
        // account, schema migration 9). Those are found by the look-up by
        // email, which says of each account it finds whether its username
        // is that address too: one index look-up a key for both. (Under
        // row-level security the usernames are one scan, as before.)
        let owners = if by_index {
            "SELECT k.key, a.account_id, a.named
             FROM unnest($1::text[]) AS k(key)
             CROSS JOIN LATERAL (SELECT account_id,
                                        username = email AND username LIKE '%@%'
                                            AND lower(username) = k.key AS named
                                 FROM accounts
                                 WHERE email_key = hashtextextended(k.key, 0)
                                   AND lower(btrim(email)) = k.key OFFSET 0) a
             ORDER BY 1, 2"
        } else {
            "SELECT lower(btrim(email)), account_id, false FROM accounts
             WHERE email_key = ANY(ARRAY(SELECT hashtextextended(k, 0) FROM unnest($1::text[]) k))
               AND lower(btrim(email)) = ANY($1) ORDER BY 1, 2"
        };
        for (key, id, named) in self.query(owners, &[&emails], |r| {
            Ok((
                r.try_get::<_, String>(0)?,
                r.try_get::<_, String>(1)?,
                r.try_get::<_, bool>(2)?,
            ))
        })? {
            if named {
                // Rows come in id order: the first is the smallest.
                out.username_owners
                    .entry(key.clone())
                    .or_insert_with(|| id.clone());
            }
            out.email_owners.entry(key).or_default().push(id);
        }

        let usernames = if by_index {
            "SELECT k.key, u.id
             FROM unnest($1::text[]) AS k(key)
             CROSS JOIN LATERAL (SELECT min(account_id) AS id FROM accounts
                                 WHERE username LIKE '%@%' AND username <> email
                                   AND lower(username) = k.key) u
             WHERE u.id IS NOT NULL"
        } else {
            "SELECT lower(username), min(account_id) FROM accounts
             WHERE username LIKE '%@%' AND lower(username) = ANY($1)
             GROUP BY 1"
        };
        for (key, id) in self.query(usernames, &[&emails], |r| {
            Ok((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?))
        })? {
            // The smaller of the two ways' accounts, as min() over both.
            match out.username_owners.get_mut(&key) {
                Some(known) if *known <= id => {}
                Some(known) => *known = id,
                None => {
                    out.username_owners.insert(key, id);
                }
            }
        }

        for (id, n) in self.query(
            "SELECT k.id, c.n
             FROM unnest($1::text[]) AS k(id)
             CROSS JOIN LATERAL (SELECT count(*) AS n FROM accounts a WHERE a.replaces = k.id) c
             WHERE c.n > 0",
            &[&ids],
            |r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)),
        )? {
            out.replacement_counts
                .insert(id, u32::try_from(n).unwrap_or(u32::MAX));
        }
        Ok(out)
    }

    /// Which of these account ids are taken (one index look-up each, as in
    /// [`PgStore::replacement_lookup`]).
    pub(crate) fn taken_account_ids(&self, ids: &[&str]) -> Result<HashSet<String>> {
        let ids = distinct(ids.iter().copied());
        Ok(self
            .query(
                "SELECT a.account_id FROM unnest($1::text[]) AS k(id)
                 CROSS JOIN LATERAL (SELECT account_id FROM accounts
                                     WHERE account_id = k.id OFFSET 0) a",
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
        let keys = distinct(keys.iter().copied());
        // One index look-up a key where the index can serve (see
        // replacement_lookup), one scan for all keys under row-level security.
        let (emails, usernames) = if self.row_security()? {
            (
                "SELECT DISTINCT lower(btrim(email)) FROM accounts
                 WHERE email_key = ANY(ARRAY(SELECT hashtextextended(k, 0)
                                             FROM unnest($1::text[]) k))
                   AND lower(btrim(email)) = ANY($1)",
                "SELECT DISTINCT lower(username) FROM accounts
                 WHERE username LIKE '%@%' AND lower(username) = ANY($1)",
            )
        } else {
            (
                "SELECT k.key FROM unnest($1::text[]) AS k(key)
                 CROSS JOIN LATERAL (SELECT 1 FROM accounts
                                     WHERE email_key = hashtextextended(k.key, 0)
                                       AND lower(btrim(email)) = k.key LIMIT 1) a",
                "SELECT k.key FROM unnest($1::text[]) AS k(key)
                 CROSS JOIN LATERAL (SELECT 1 FROM accounts
                                     WHERE username LIKE '%@%' AND username <> email
                                       AND lower(username) = k.key
                                     UNION ALL
                                     SELECT 1 FROM accounts
                                     WHERE email_key = hashtextextended(k.key, 0)
                                       AND username = email AND username LIKE '%@%'
                                       AND lower(username) = k.key
                                     LIMIT 1) a",
            )
        };
        let emails = self
            .query(emails, &[&keys], |r| r.try_get(0))?
            .into_iter()
            .collect();
        let usernames = self
            .query(usernames, &[&keys], |r| r.try_get(0))?
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
