//! Queries. Large reads stream rows to a callback instead of building
//! vectors, so the audit of a million accounts stays within its memory budget.

use std::collections::HashMap;

use anyhow::Result;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, params};
use rustc_hash::FxHashSet;

use super::{SqliteStore, store_error};
use crate::model::{
    Account, Activity, ActivityKind, DirectoryEntry, MailboxType, OrgKind, Organisation, Role,
    RoleGrant, Status,
};
use crate::store::Holdings;
use crate::store::address_key::address_key as key_of;
#[cfg(test)]
use crate::store::{AccountView, RoleView};

fn status(text: &str) -> Status {
    // The schema's CHECK constraint admits only these two spellings.
    if text == "disabled" {
        Status::Disabled
    } else {
        Status::Active
    }
}

fn mailbox(text: &str) -> MailboxType {
    if text == "shared" {
        MailboxType::Shared
    } else {
        MailboxType::Personal
    }
}

pub(super) fn role(text: &str) -> Role {
    // Only valid roles are ever written; View is a harmless fallback for a
    // store edited by hand.
    Role::parse(text).unwrap_or(Role::View)
}

fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?.as_str().map_err(Into::into)
}

fn opt_text(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    row.get(i)
}

fn split_payment_types(text: &str) -> Vec<String> {
    text.split(';')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl SqliteStore {
    /// A second connection for many scattered look-ups (checking half of a
    /// long plan beside the writing connection), with a 16 MB page cache.
    /// Not a memory map: the pages a map touches count in the process's
    /// resident size, and for a 2 million account store they were 500 MB of
    /// the 1.2 GB peak of a 177,000-row plan.
    pub(crate) fn lookup_reader(&self) -> Result<SqliteStore> {
        let store = SqliteStore::open(&self.path)?;
        store
            .conn
            .execute_batch("PRAGMA cache_size = -16384")
            .map_err(|e| store_error(&self.path, e))?;
        Ok(store)
    }

    pub(crate) fn organisations(&self) -> Result<Vec<Organisation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ods_code, name, kind, parent_code, contact_email FROM organisations ORDER BY ods_code",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Organisation {
                ods_code: r.get(0)?,
                name: r.get(1)?,
                kind: OrgKind::parse(text(r, 2)?).unwrap_or(OrgKind::Practice),
                parent_code: opt_text(r, 3)?,
                contact_email: opt_text(r, 4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn organisation_parents(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ods_code, parent_code FROM organisations WHERE parent_code IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every organisation's kind and parent, for checking imports.
    pub(crate) fn organisation_kinds(&self) -> Result<HashMap<String, (OrgKind, Option<String>)>> {
        Ok(self
            .organisations()?
            .into_iter()
            .map(|o| (o.ods_code, (o.kind, o.parent_code)))
            .collect())
    }

    /// (account_id, email, username) of every account, for checking a re-import.
    pub(crate) fn account_keys(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT account_id, email, username FROM accounts")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the store holds any account (without counting a million).
    pub(crate) fn has_accounts(&self) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM accounts)", [], |r| r.get(0))?)
    }

    /// Normal forms of addresses held by more than one account that is neither
    /// superseded nor disabled (rules.md category 4).
    // The plain query the audit's own duplicate finding is tested against.
    #[cfg(test)]
    pub(crate) fn duplicate_live_emails(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cqrs_normal_form(a.email) FROM account_emails e JOIN accounts a USING (account_id)
             WHERE e.email_key IN (
                   SELECT email_key FROM account_emails GROUP BY email_key HAVING count(*) > 1)
               AND a.status = 'active' AND a.replaced_by IS NULL
             GROUP BY 1 HAVING count(*) > 1",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Streams every account in account_id order with its roles. The roles come
    /// from a second cursor walking `permissions` in the same key order (a merge
    /// join), which reads each table once, front to back.
    // The plain merge join the audit's bulk readers are tested against.
    #[cfg(test)]
    pub(crate) fn for_each_account_with_roles(
        &self,
        mut visit: impl FnMut(AccountView<'_>, &[RoleView<'_>]) -> Result<()>,
    ) -> Result<()> {
        let mut accounts = self.conn.prepare_cached(
            "SELECT account_id, email, given_name, family_name, status, replaced_by IS NOT NULL
             FROM accounts ORDER BY account_id",
        )?;
        let mut permissions = self.conn.prepare_cached(
            "SELECT account_id, ods_code, role FROM permissions ORDER BY account_id",
        )?;
        let mut accounts = accounts.query([])?;
        let mut permissions = permissions.query([])?;
        // The permission row read ahead is copied out of the cursor (the
        // next step overwrites it), into buffers reused for every row.
        let mut pending_id = String::new();
        let mut pending_code = String::new();
        let mut pending_role = Role::View;
        let mut has_pending = false;
        let mut permissions_done = false;
        let mut codes = String::new();
        let mut spans: Vec<(usize, usize, Role)> = Vec::new();
        while let Some(a) = accounts.next()? {
            let id = text(a, 0)?;
            codes.clear();
            spans.clear();
            loop {
                if !has_pending && !permissions_done {
                    match permissions.next()? {
                        Some(p) => {
                            pending_id.clear();
                            pending_id.push_str(text(p, 0)?);
                            pending_code.clear();
                            pending_code.push_str(text(p, 1)?);
                            pending_role = role(text(p, 2)?);
                            has_pending = true;
                        }
                        None => permissions_done = true,
                    }
                }
                if !has_pending {
                    break;
                }
                match pending_id.as_str().cmp(id) {
                    // Roles of an account that is not in the store: skip.
                    std::cmp::Ordering::Less => has_pending = false,
                    std::cmp::Ordering::Equal => {
                        let start = codes.len();
                        codes.push_str(&pending_code);
                        spans.push((start, codes.len(), pending_role));
                        has_pending = false;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            let views: Vec<RoleView<'_>> = spans
                .iter()
                .map(|&(start, end, role)| RoleView {
                    ods_code: &codes[start..end],
                    role,
                })
                .collect();
            visit(
                AccountView {
                    account_id: id,
                    email: text(a, 1)?,
                    given_name: text(a, 2)?,
                    family_name: text(a, 3)?,
                    status: status(text(a, 4)?),
                    superseded: a.get::<_, bool>(5)?,
                },
                &views,
            )?;
        }
        Ok(())
    }

    /// How many accounts the store holds (a count of `account_emails`, one row
    /// per account, which is far smaller to walk than `accounts`).
    pub(crate) fn account_count_hint(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM account_emails", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// One account by id.
    pub(crate) fn account(&self, account_id: &str) -> Result<Option<Account>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT account_id, username, email, given_name, family_name, status,
                    created_at, last_login_at, replaced_by
             FROM accounts WHERE account_id = ?1",
        )?;
        Ok(stmt.query_row([account_id], account_from_row).optional()?)
    }

    /// Accounts (any status) whose address has this normal form.
    pub(crate) fn accounts_by_email_key(&self, email_key: &str) -> Result<Vec<Account>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.account_id, username, email, given_name, family_name, status,
                    created_at, last_login_at, replaced_by
             FROM account_emails e JOIN accounts a USING (account_id)
             WHERE e.email_key = ?1 AND cqrs_normal_form(a.email) = ?2
             ORDER BY a.account_id",
        )?;
        let rows = stmt.query_map(params![key_of(email_key), email_key], account_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The account that `account_id` replaced, if it is a replacement.
    pub(crate) fn replaced_account_of(&self, account_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT replaces FROM accounts WHERE account_id = ?1",
                [account_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// An account's roles, in (organisation, role) order.
    pub(crate) fn roles(&self, account_id: &str) -> Result<Vec<RoleGrant>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ods_code, role, payment_types FROM permissions
             WHERE account_id = ?1 ORDER BY ods_code, role",
        )?;
        let rows = stmt.query_map([account_id], |r| {
            Ok(RoleGrant {
                ods_code: r.get(0)?,
                role: role(text(r, 1)?),
                payment_types: split_payment_types(text(r, 2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The directory entry for an address (by normal form).
    pub(crate) fn directory_entry(&self, address_key: &str) -> Result<Option<DirectoryEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.address, d.given_name, d.family_name, d.ods_code, d.status, d.mailbox_type
             FROM directory_keys k CROSS JOIN directory d ON d.entry = k.entry
             WHERE k.address_key = ?1 AND d.address = ?2",
        )?;
        Ok(stmt
            .query_row(params![key_of(address_key), address_key], |r| {
                Ok(DirectoryEntry {
                    address: r.get(0)?,
                    given_name: r.get(1)?,
                    family_name: r.get(2)?,
                    ods_code: r.get(3)?,
                    status: status(text(r, 4)?),
                    mailbox_type: mailbox(text(r, 5)?),
                })
            })
            .optional()?)
    }

    /// Directory entries whose names equal these, ignoring case and the
    /// spaces around them (for `accounts show` and single replacements).
    pub(crate) fn directory_entries_named(
        &self,
        given: &str,
        family: &str,
    ) -> Result<Vec<DirectoryEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT address, given_name, family_name, ods_code, status, mailbox_type
             FROM directory
             WHERE lower(trim(given_name)) = lower(trim(?1)) AND lower(trim(family_name)) = lower(trim(?2))",
        )?;
        let rows = stmt.query_map(params![given, family], |r| {
            Ok(DirectoryEntry {
                address: r.get(0)?,
                given_name: r.get(1)?,
                family_name: r.get(2)?,
                ods_code: r.get(3)?,
                status: status(text(r, 4)?),
                mailbox_type: mailbox(text(r, 5)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Activity at any of these organisations, oldest first.
    ///
    /// For a few organisations (a practice's or a commissioner's user) the
    /// records are found through the `activity (ods_code)` index. For many
    /// (a region's user sees a thousand organisations and about 15 % of the
    /// records) the table is read once, front to back, and each record's
    /// organisation looked up in a set: following the index would look up
    /// each of its 37,000 records in the table by id, which cost a region's
    /// history about 0.1 s; the pass reads 250,000 records in a fraction of
    /// that. Either way each record comes once.
    pub(crate) fn activity_at(&self, ods_codes: &[String]) -> Result<Vec<Activity>> {
        let mut out = Vec::new();
        let activity = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Activity> {
            Ok(Activity {
                activity_id: r.get(0)?,
                ods_code: r.get(1)?,
                account_id: r.get(2)?,
                kind: ActivityKind::parse(text(r, 3)?).unwrap_or(ActivityKind::OfferMade),
                occurred_at: r.get(4)?,
                detail: r.get(5)?,
            })
        };
        let mut codes: Vec<&str> = ods_codes.iter().map(String::as_str).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() > ACTIVITY_SCAN_FROM {
            // SQLite itself skips the records of other organisations (a
            // function of this call's set, asked of each record's
            // organisation), so only the wanted ones have their columns
            // read out; those are read through SQLite's C interface
            // (raw.rs), without rusqlite's checks and copies of each value.
            // Reading every record's six columns was half a region user's
            // `history`.
            let wanted: FxHashSet<Vec<u8>> = codes.iter().map(|c| c.as_bytes().to_vec()).collect();
            self.conn.create_scalar_function(
                WANTED_FUNCTION,
                1,
                FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
                move |ctx| {
                    Ok(matches!(ctx.get_raw(0), ValueRef::Text(code) if wanted.contains(code)))
                },
            )?;
            let read = self.scan_activity(&mut out);
            // Gone before anything else runs on the connection, whether the
            // scan worked or not.
            let removed = self.conn.remove_function(WANTED_FUNCTION, 1);
            read?;
            removed?;
        } else {
            let mut stmt = self.conn.prepare_cached(
                "SELECT activity_id, ods_code, account_id, kind, occurred_at, detail
                 FROM activity WHERE ods_code = ?1",
            )?;
            for code in codes {
                for row in stmt.query_map([code], activity)? {
                    out.push(row?);
                }
            }
        }
        Ok(crate::store::activity_order::oldest_first(out))
    }
}

/// The SQL function [`SqliteStore::activity_at`] defines for the length of
/// one scan: whether an organisation is one of those asked about.
const WANTED_FUNCTION: &str = "cqrs_history_wanted";

impl SqliteStore {
    /// Appends the activity records of the organisations
    /// [`WANTED_FUNCTION`] accepts, in the table's order.
    fn scan_activity(&self, out: &mut Vec<Activity>) -> Result<()> {
        let mut scan = super::raw::Scan::prepare(
            &self.conn,
            &format!(
                "SELECT activity_id, ods_code, account_id, kind, occurred_at, detail,
                        detail IS NULL
                 FROM activity WHERE {WANTED_FUNCTION}(ods_code)"
            ),
        )?;
        scan.for_each(|r| -> Result<()> {
            out.push(Activity {
                activity_id: owned(r.bytes(0))?,
                ods_code: owned(r.bytes(1))?,
                account_id: owned(r.bytes(2))?,
                kind: ActivityKind::parse(utf8(r.bytes(3))?).unwrap_or(ActivityKind::OfferMade),
                occurred_at: owned(r.bytes(4))?,
                detail: if r.int(6) != 0 {
                    None
                } else {
                    Some(owned(r.bytes(5))?)
                },
            });
            Ok(())
        })
    }
}

/// A scanned activity record's text.
fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("an activity record's text is not UTF-8"))
}

fn owned(bytes: &[u8]) -> Result<String> {
    utf8(bytes).map(str::to_owned)
}

/// Above this many organisations, [`SqliteStore::activity_at`] reads the
/// whole activity table instead of following its index: a commissioner's
/// user (one commissioner, a few dozen practices) is well under it, a
/// region's (about a thousand organisations) well over.
const ACTIVITY_SCAN_FROM: usize = 200;

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        account_id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        given_name: r.get(3)?,
        family_name: r.get(4)?,
        status: status(text(r, 5)?),
        created_at: r.get(6)?,
        last_login_at: r.get(7)?,
        replaced_by: r.get(8)?,
    })
}

impl SqliteStore {
    /// Whether any account and any NHSmail directory entry has been imported.
    pub(crate) fn holdings(&self) -> Result<Holdings> {
        let any = |table: &str| -> Result<bool> {
            Ok(self
                .conn
                .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                    r.get(0)
                })?)
        };
        Ok(Holdings {
            accounts: any("accounts")?,
            directory: any("directory")?,
        })
    }

    /// Whether `code` is an organisation's ODS code, or one that a role is
    /// held at (a role at an organisation missing from the organisations
    /// file), ignoring case as the filters do.
    pub(crate) fn knows_ods_code(&self, code: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM organisations WHERE ods_code = ?1 COLLATE NOCASE)
                 OR EXISTS (SELECT 1 FROM permissions WHERE ods_code = ?1 COLLATE NOCASE)",
            [code],
            |r| r.get(0),
        )?)
    }

    /// Every organisation's ODS code, for suggesting the one meant.
    pub(crate) fn ods_codes(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT ods_code FROM organisations ORDER BY ods_code")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
