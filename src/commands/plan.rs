//! `plan --out FILE`: a bulk replacement plan for review (rules.md,
//! "Replacement accounts").
//!
//! The plan holds exactly the confident matches of accounts in the
//! `contact-commissioner` section, except:
//! - accounts holding an administrator role (listed apart: they need a second
//!   look and `--allow-admin`);
//! - addresses that are the confident match of more than one account, in any
//!   section and any contact's area (listed apart: only a person can tell
//!   whose they are);
//! - addresses already on an account of any status, or already an account's
//!   username (the replacement's username is its address), which
//!   `replace` would refuse (listed apart too, so the reviewer sees why an
//!   expected row is missing).
//!
//! The reason column is left empty: a confident match has the account's own
//! names, so there is never a name change to explain.

use std::collections::HashMap;

use anyhow::Result;

use crate::audit::{AuditOptions, Organisations, audit};
use crate::cli::{Format, PlanArgs};
use crate::error::UserError;
use crate::reporting::{Reporter, Work};
use crate::rules::{NhsmailMatch, Section, normal_form};
use crate::store::Store;

/// The plan's columns: `account_id,new_email,reason` (what `replace --plan`
/// reads), then columns for the reviewer.
pub const COLUMNS: &[&str] = &[
    "account_id",
    "new_email",
    "reason",
    "given_name",
    "family_name",
    "old_email",
    "category",
    "organisations",
    "contacts",
];

/// One proposed replacement, or one left out.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanRow {
    pub account_id: String,
    pub new_email: String,
    pub given_name: String,
    pub family_name: String,
    pub old_email: String,
    pub category: &'static str,
    /// ODS codes of the account's roles, `;`-joined.
    pub organisations: String,
    /// Contact codes, `;`-joined.
    pub contacts: String,
    holds_admin: bool,
}

impl PlanRow {
    pub fn values(&self) -> [&str; 9] {
        [
            &self.account_id,
            &self.new_email,
            "",
            &self.given_name,
            &self.family_name,
            &self.old_email,
            self.category,
            &self.organisations,
            &self.contacts,
        ]
    }
}

/// Why an account with a confident match is not in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LeftOutReason {
    Administrator,
    SharedAddress,
    AddressOnAccount,
    AddressIsUsername,
    /// On a shared store, an area operator's plan: a role of the account lies
    /// outside the operator's area, so only another operator may replace it.
    OutsideArea,
}

impl LeftOutReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeftOutReason::Administrator => "administrator",
            LeftOutReason::SharedAddress => "shared-address",
            LeftOutReason::AddressOnAccount => "address-on-account",
            LeftOutReason::AddressIsUsername => "address-is-username",
            LeftOutReason::OutsideArea => "outside-area",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            LeftOutReason::Administrator => {
                "holds an administrator role: review it and replace it on its own with --allow-admin"
            }
            LeftOutReason::SharedAddress => {
                "the address is the confident match of more than one account: confirm with the users whose it is"
            }
            LeftOutReason::AddressOnAccount => {
                "the address is already on an account: check whether that account is the user's"
            }
            LeftOutReason::AddressIsUsername => {
                "the address is already an account's username: check whether that account is the user's"
            }
            LeftOutReason::OutsideArea => {
                "a role of the account lies outside your area: ask an operator who can act on it (named with it)"
            }
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LeftOut {
    pub row: PlanRow,
    pub why: LeftOutReason,
    /// For a shared address: every account it is the confident match of.
    pub accounts_matched: Vec<String>,
    /// Outside the operator's area: the other areas, and who can act.
    pub who_can_act: Option<String>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Plan {
    pub rows: Vec<PlanRow>,
    pub left_out: Vec<LeftOut>,
}

impl Plan {
    pub fn count(&self, why: LeftOutReason) -> usize {
        self.left_out.iter().filter(|l| l.why == why).count()
    }
}

/// Stores with at least this many accounts take more than a moment to plan.
const LONG_PLAN_ACCOUNTS: usize = 100_000;

pub fn run(
    store: &Store,
    args: &PlanArgs,
    format: Format,
    reporter: &dyn Reporter,
) -> Result<Plan> {
    if args.out.as_os_str() == "-" && format == Format::Json {
        return Err(UserError::Refused(
            "--out - writes the plan (CSV) to standard output, where --format json would write \
             too: write the plan to a file, or leave out --format json"
                .into(),
        )
        .into());
    }
    if let Some(code) = &args.contact {
        crate::commands::checks::require_known_code(store, "--contact", code, true)?;
    }
    // An empty plan from a store with nothing to match must not read as
    // "nobody needs a replacement".
    if let Some(why) = crate::commands::checks::why_unchecked(store)? {
        reporter.warn(&format!(
            "the plan proposes nothing that was checked: {why}"
        ));
    }
    // A national plan audits every account first (about a second for a
    // million): a spinner says so at a terminal.
    let bar = reporter.progress(Work::Spinner {
        long: store.account_count_hint()? >= LONG_PLAN_ACCOUNTS,
    });
    bar.set_message("auditing every account for the plan");
    bar.tick();
    let organisations = Organisations::load(store)?;
    let contact = args.contact.as_deref().map(str::trim);
    let mut candidates: Vec<PlanRow> = Vec::new();
    // Every confident match, by address, over all audited accounts.
    let mut matched: HashMap<String, Vec<String>> = HashMap::new();
    audit(store, AuditOptions::default(), |row| {
        let Some(NhsmailMatch::Confident(address)) = &row.nhsmail_match else {
            return Ok(());
        };
        let key = normal_form(address);
        matched
            .entry(key)
            .or_default()
            .push(row.account.account_id.to_string());
        if row.section != Some(Section::ContactCommissioner) {
            return Ok(());
        }
        let contacts = organisations.contacts(row.roles);
        if let Some(wanted) = contact
            && !contacts
                .iter()
                .any(|c| c.code().eq_ignore_ascii_case(wanted))
        {
            return Ok(());
        }
        let mut codes: Vec<&str> = row.roles.iter().map(|r| r.ods_code).collect();
        codes.sort_unstable();
        codes.dedup();
        candidates.push(PlanRow {
            account_id: row.account.account_id.to_string(),
            new_email: address.clone(),
            given_name: row.account.given_name.to_string(),
            family_name: row.account.family_name.to_string(),
            old_email: row.account.email.to_string(),
            category: row.category.as_str(),
            organisations: codes.join(";"),
            contacts: contacts
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(";"),
            holds_admin: row.holds_admin_role(),
        });
        Ok(())
    })?;

    let keys: Vec<String> = candidates
        .iter()
        .map(|c| normal_form(&c.new_email))
        .collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (on_account, usernames) = store.addresses_in_use(&key_refs)?;
    // An area operator's plan proposes only what it may replace itself
    // (`replace --plan` would refuse the whole plan for one such row); the
    // rest is listed with who can act. Nothing on a store without areas.
    let ids: Vec<&str> = candidates.iter().map(|c| c.account_id.as_str()).collect();
    let mut outside: HashMap<String, String> = store
        .outside_area(&ids)?
        .into_iter()
        .map(|o| (o.account_id.clone(), o.explain()))
        .collect();
    drop(ids);
    let mut plan = Plan::default();
    for (row, key) in candidates.into_iter().zip(&keys) {
        let sharers = matched.get(key).map_or(0, Vec::len);
        let who_can_act = outside.remove(&row.account_id);
        let why = if who_can_act.is_some() {
            Some(LeftOutReason::OutsideArea)
        } else if row.holds_admin {
            Some(LeftOutReason::Administrator)
        } else if sharers > 1 {
            Some(LeftOutReason::SharedAddress)
        } else if on_account.contains(key) {
            Some(LeftOutReason::AddressOnAccount)
        } else if usernames.contains(key) {
            Some(LeftOutReason::AddressIsUsername)
        } else {
            None
        };
        match why {
            None => plan.rows.push(row),
            Some(why) => plan.left_out.push(LeftOut {
                accounts_matched: if sharers > 1 {
                    matched.get(key).cloned().unwrap_or_default()
                } else {
                    Vec::new()
                },
                who_can_act,
                row,
                why,
            }),
        }
    }
    bar.finish_and_clear();
    Ok(plan)
}
