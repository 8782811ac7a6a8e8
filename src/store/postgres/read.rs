//! Queries of the PostgreSQL store: what the store is (its cutover date,
//! its generation), organisations, an account and its roles, the directory,
//! activity. The same answers, in the same order, as the SQLite store's
//! `read.rs`: text keys are `COLLATE "C"` (byte order, as SQLite's
//! `BINARY`), and where SQLite compares ignoring ASCII case (`lower`,
//! `COLLATE NOCASE`) these compare under `COLLATE "C"` too, whose `lower`
//! changes ASCII letters only, whatever the database's own locale.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use postgres::types::ToSql;

use super::PgStore;
use crate::model::{
    Account, Activity, ActivityKind, DirectoryEntry, MailboxType, OrgKind, Organisation, Role,
    RoleGrant, Status,
};
use crate::store::{DEFAULT_CUTOVER, Holdings};

/// A stored status (the schema's CHECK admits only the two spellings).
pub(super) fn status(text: &str) -> Status {
    if text == "disabled" {
        Status::Disabled
    } else {
        Status::Active
    }
}

pub(super) fn mailbox(text: &str) -> MailboxType {
    if text == "shared" {
        MailboxType::Shared
    } else {
        MailboxType::Personal
    }
}

/// A stored role: only valid roles are ever written; View is a harmless
/// fallback for a store edited by hand (as on SQLite).
pub(super) fn role(text: &str) -> Role {
    Role::parse(text).unwrap_or(Role::View)
}

/// A role as stored: payment types joined by ';' ('' = unrestricted).
pub(super) fn grant(ods_code: String, role_text: &str, payment_types: &str) -> RoleGrant {
    RoleGrant {
        ods_code,
        role: role(role_text),
        payment_types: payment_types
            .split(';')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

/// The columns [`account_from_row`] reads, in its order.
const ACCOUNT_COLUMNS: &str = "a.account_id, a.username, a.email, a.given_name, a.family_name, \
     a.status, a.created_at, a.last_login_at, a.replaced_by";

fn account_from_row(r: &postgres::Row) -> Result<Account, postgres::Error> {
    Ok(Account {
        account_id: r.try_get(0)?,
        username: r.try_get(1)?,
        email: r.try_get(2)?,
        given_name: r.try_get(3)?,
        family_name: r.try_get(4)?,
        status: status(r.try_get(5)?),
        created_at: r.try_get(6)?,
        last_login_at: r.try_get(7)?,
        replaced_by: r.try_get(8)?,
    })
}

const DIRECTORY_COLUMNS: &str = "address, given_name, family_name, ods_code, status, mailbox_type";

pub(super) fn directory_from_row(
    r: &postgres::Row,
    first: usize,
) -> Result<DirectoryEntry, postgres::Error> {
    Ok(DirectoryEntry {
        address: r.try_get(first)?,
        given_name: r.try_get(first + 1)?,
        family_name: r.try_get(first + 2)?,
        ods_code: r.try_get(first + 3)?,
        status: status(r.try_get(first + 4)?),
        mailbox_type: mailbox(r.try_get(first + 5)?),
    })
}

impl PgStore {
    /// One value of the `settings` table, if it is set.
    pub(super) fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query("SELECT value FROM settings WHERE key = $1", &[&key], |r| {
                r.try_get(0)
            })?
            .pop())
    }

    /// The one value of a query that gives exactly one row.
    fn one<T>(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<T>
    where
        T: for<'r> postgres::types::FromSql<'r>,
    {
        self.query(sql, params, |r| r.try_get(0))?
            .pop()
            .context("the query gave no row")
    }

    /// The cutover date kept in the store.
    pub(crate) fn cutover(&self) -> Result<NaiveDate> {
        let text = self
            .setting("cutover")?
            .unwrap_or_else(|| DEFAULT_CUTOVER.to_string());
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .with_context(|| format!("the stored cutover date `{text}` is not a date"))
    }

    /// The store's generation (see `Backend::generation`).
    pub(crate) fn generation(&self) -> Result<u64> {
        Ok(self
            .setting("generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    pub(crate) fn organisations(&self) -> Result<Vec<Organisation>> {
        self.query(
            "SELECT ods_code, name, kind, parent_code, contact_email FROM organisations
             ORDER BY ods_code",
            &[],
            |r| {
                Ok(Organisation {
                    ods_code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    kind: OrgKind::parse(r.try_get(2)?).unwrap_or(OrgKind::Practice),
                    parent_code: r.try_get(3)?,
                    contact_email: r.try_get(4)?,
                })
            },
        )
    }

    pub(crate) fn organisation_parents(&self) -> Result<Vec<(String, String)>> {
        self.query(
            "SELECT ods_code, parent_code FROM organisations WHERE parent_code IS NOT NULL",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )
    }

    /// Every organisation's kind and parent, for checking imports.
    pub(crate) fn organisation_kinds(&self) -> Result<HashMap<String, (OrgKind, Option<String>)>> {
        Ok(self
            .organisations()?
            .into_iter()
            .map(|o| (o.ods_code, (o.kind, o.parent_code)))
            .collect())
    }

    /// (account_id, email, username) of every account, for checking a
    /// re-import.
    pub(crate) fn account_keys(&self) -> Result<Vec<(String, String, String)>> {
        self.query(
            "SELECT account_id, email, username FROM accounts",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )
    }

    /// Whether the store holds any account (without counting a million).
    pub(crate) fn has_accounts(&self) -> Result<bool> {
        self.one("SELECT EXISTS (SELECT 1 FROM accounts)", &[])
    }

    /// Normal forms of addresses held by more than one account that is
    /// neither superseded nor disabled (rules.md category 4).
    // The plain query the audit's own duplicate finding is tested against.
    #[cfg(test)]
    pub(crate) fn duplicate_live_emails(&self) -> Result<std::collections::HashSet<String>> {
        Ok(self
            .query(
                "SELECT lower(btrim(email)) FROM accounts
                 WHERE status = 'active' AND replaced_by IS NULL
                 GROUP BY 1 HAVING count(*) > 1",
                &[],
                |r| r.try_get(0),
            )?
            .into_iter()
            .collect())
    }

    /// Every account in account_id order with its roles (the tests' plain
    /// oracle; the audit reads `audit_inputs`).
    #[cfg(test)]
    pub(crate) fn for_each_account_with_roles(
        &self,
        visit: &mut dyn FnMut(
            crate::store::AccountView<'_>,
            &[crate::store::RoleView<'_>],
        ) -> Result<()>,
    ) -> Result<()> {
        let accounts = self.query(
            "SELECT a.account_id, a.email, a.given_name, a.family_name, a.status,
                    a.replaced_by IS NOT NULL,
                    coalesce((SELECT array_agg(p.ods_code || ' ' || p.role
                                               ORDER BY p.ods_code, p.role)
                              FROM permissions p WHERE p.account_id = a.account_id), '{}')
             FROM accounts a ORDER BY a.account_id",
            &[],
            |r| {
                Ok((
                    r.try_get::<_, String>(0)?,
                    r.try_get::<_, String>(1)?,
                    r.try_get::<_, String>(2)?,
                    r.try_get::<_, String>(3)?,
                    status(r.try_get(4)?),
                    r.try_get::<_, bool>(5)?,
                    r.try_get::<_, Vec<String>>(6)?,
                ))
            },
        )?;
        for (id, email, given, family, status, superseded, roles) in &accounts {
            let views: Vec<crate::store::RoleView<'_>> = roles
                .iter()
                .map(|r| {
                    let (code, role_text) = r.split_once(' ').unwrap_or((r, ""));
                    crate::store::RoleView {
                        ods_code: code,
                        role: role(role_text),
                    }
                })
                .collect();
            visit(
                crate::store::AccountView {
                    account_id: id,
                    email,
                    given_name: given,
                    family_name: family,
                    status: *status,
                    superseded: *superseded,
                },
                &views,
            )?;
        }
        Ok(())
    }

    /// How many accounts the store holds.
    pub(crate) fn account_count_hint(&self) -> Result<usize> {
        let n: i64 = self.one("SELECT count(*) FROM accounts", &[])?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// One account by id.
    pub(crate) fn account(&self, account_id: &str) -> Result<Option<Account>> {
        Ok(self
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.account_id = $1"),
                &[&account_id],
                account_from_row,
            )?
            .pop())
    }

    /// Accounts (any status) whose address has this normal form, in
    /// account_id order. Emails never hold a control character (the import
    /// refuses them), so `btrim`'s spaces are all the normal form trims.
    pub(crate) fn accounts_by_email_key(&self, email_key: &str) -> Result<Vec<Account>> {
        self.query(
            &format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a
                 WHERE a.email_key = hashtextextended($1, 0)
                   AND lower(btrim(a.email)) = $1 ORDER BY a.account_id"
            ),
            &[&email_key],
            account_from_row,
        )
    }

    /// The account that `account_id` replaced, if it is a replacement.
    pub(crate) fn replaced_account_of(&self, account_id: &str) -> Result<Option<String>> {
        Ok(self
            .query(
                "SELECT replaces FROM accounts WHERE account_id = $1",
                &[&account_id],
                |r| r.try_get::<_, Option<String>>(0),
            )?
            .pop()
            .flatten())
    }

    /// An account's roles, in (organisation, role) order.
    pub(crate) fn roles(&self, account_id: &str) -> Result<Vec<RoleGrant>> {
        self.query(
            "SELECT ods_code, role, payment_types FROM permissions
             WHERE account_id = $1 ORDER BY ods_code, role",
            &[&account_id],
            |r| Ok(grant(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )
    }

    /// The directory entry for an address (by normal form: the directory's
    /// addresses are unique ignoring ASCII case, as SQLite's `COLLATE
    /// NOCASE` compares them).
    pub(crate) fn directory_entry(&self, address_key: &str) -> Result<Option<DirectoryEntry>> {
        Ok(self
            .query(
                &format!(
                    "SELECT {DIRECTORY_COLUMNS} FROM directory \
                     WHERE address_key = hashtextextended($1, 0) AND lower(address) = $1"
                ),
                &[&address_key],
                |r| directory_from_row(r, 0),
            )?
            .pop())
    }

    /// Directory entries whose names equal these, ignoring ASCII case and
    /// the spaces around them, in the extract's order.
    pub(crate) fn directory_entries_named(
        &self,
        given: &str,
        family: &str,
    ) -> Result<Vec<DirectoryEntry>> {
        self.query(
            &format!(
                "SELECT {DIRECTORY_COLUMNS} FROM directory
                 WHERE lower(btrim(given_name)) = lower(btrim($1 COLLATE \"C\"))
                   AND lower(btrim(family_name)) = lower(btrim($2 COLLATE \"C\"))
                 ORDER BY entry"
            ),
            &[&given, &family],
            |r| directory_from_row(r, 0),
        )
    }

    /// Activity at any of these organisations, oldest first (then by id).
    pub(crate) fn activity_at(&self, ods_codes: &[String]) -> Result<Vec<Activity>> {
        let out = self.query(
            "SELECT activity_id, ods_code, account_id, kind, occurred_at, detail
             FROM activity WHERE ods_code = ANY($1)",
            &[&ods_codes],
            |r| {
                Ok(Activity {
                    activity_id: r.try_get(0)?,
                    ods_code: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    kind: ActivityKind::parse(r.try_get(3)?).unwrap_or(ActivityKind::OfferMade),
                    occurred_at: r.try_get(4)?,
                    detail: r.try_get(5)?,
                })
            },
        )?;
        Ok(crate::store::activity_order::oldest_first(out))
    }

    /// Whether any account and any NHSmail directory entry has been
    /// imported.
    pub(crate) fn holdings(&self) -> Result<Holdings> {
        let (accounts, directory) = self
            .query(
                "SELECT EXISTS (SELECT 1 FROM accounts), EXISTS (SELECT 1 FROM directory)",
                &[],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )?
            .pop()
            .context("the query gave no row")?;
        Ok(Holdings {
            accounts,
            directory,
        })
    }

    /// Whether `code` is an organisation's ODS code, or one that a role is
    /// held at, ignoring ASCII case as the filters do.
    pub(crate) fn knows_ods_code(&self, code: &str) -> Result<bool> {
        self.one(
            "SELECT EXISTS (SELECT 1 FROM organisations
                            WHERE lower(ods_code) = lower($1 COLLATE \"C\"))
                 OR EXISTS (SELECT 1 FROM permissions
                            WHERE lower(ods_code) = lower($1 COLLATE \"C\"))",
            &[&code],
        )
    }

    /// Every organisation's ODS code, for suggesting the one meant.
    pub(crate) fn ods_codes(&self) -> Result<Vec<String>> {
        self.query(
            "SELECT ods_code FROM organisations ORDER BY ods_code",
            &[],
            |r| r.try_get(0),
        )
    }
}
