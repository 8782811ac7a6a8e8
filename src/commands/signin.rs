//! `signin ADDRESS`: what a person signing in with this NHSmail address will
//! see on cutover day (rules.md, "Sign-in on cutover day").

use anyhow::Result;

use crate::audit::{NearAccount, Nearby, Organisations};
use crate::cli::ReportArgs;
use crate::commands::cutover::Dates;
use crate::model::{Account, MailboxType, RoleGrant, Status};
use crate::rules::{DirectoryFacts, SigninOutcome, normal_form, signin_outcome};
use crate::store::{KeptRow, Store, is_match_of};

#[derive(Debug, serde::Serialize)]
pub struct Signin {
    pub address: String,
    pub outcome: SigninOutcome,
    /// What the directory holds for the address, in words.
    pub directory: String,
    /// The account reached (message centre), with its roles.
    pub account: Option<(Account, Vec<RoleGrant>)>,
    /// Accounts with this address that cannot be used (superseded or disabled).
    pub other_accounts: Vec<Account>,
    /// Replacements made here with this address that CQRS's own account
    /// realises: (the replacement made here, CQRS's account).
    pub realised: Vec<(String, String)>,
    /// Accounts for which this is the NHSmail address found (a confident
    /// match): the caller is probably that account's user.
    pub found_for: Vec<FoundFor>,
    /// When this mailbox is disabled: the same person's active personal
    /// mailboxes (same names, same organisation).
    pub active_mailboxes: Vec<String>,
}

/// An account whose NHSmail address found is the one asked about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoundFor {
    pub account_id: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// (code, name, email) of each contact.
    pub contacts: Vec<(String, String, String)>,
}

pub fn run(store: &mut Store, address: &str, dates: Dates) -> Result<Signin> {
    let key = normal_form(address);
    let entry = store.directory_entry(&key)?;
    let facts = entry.as_ref().map(|e| DirectoryFacts {
        status: e.status,
        mailbox_type: e.mailbox_type,
    });
    let accounts = store.accounts_by_email_key(&key)?;
    // A replacement made here that CQRS's own account for the address
    // realises is superseded by it (rules.md, "Replaced in CQRS itself"):
    // sign-in reaches CQRS's account alone.
    let nearby = near_accounts(store, &accounts)?;
    let mut realised = Vec::new();
    let mut unused = Vec::new();
    let mut live = Vec::new();
    for a in accounts {
        if a.status != Status::Active || a.replaced_by.is_some() {
            unused.push(a);
        } else if let Some(by) = nearby.realised_by(&a.account_id) {
            realised.push((a.account_id, by));
        } else {
            live.push(a);
        }
    }
    let other_accounts = unused;
    let live_ids: Vec<String> = live.iter().map(|a| a.account_id.clone()).collect();
    let outcome = signin_outcome(facts, &live_ids);
    let account = match &outcome {
        SigninOutcome::MessageCentre(id) => live
            .into_iter()
            .find(|a| &a.account_id == id)
            .map(|a| {
                let roles = store.roles(&a.account_id);
                roles.map(|r| (a, r))
            })
            .transpose()?,
        _ => None,
    };
    let directory = match &entry {
        None => "not in the NHSmail directory".to_string(),
        Some(e) => format!("{} {} mailbox ({})", e.status, e.mailbox_type, e.address),
    };
    let found_for = found_for(store, &key, dates)?;
    let active_mailboxes = match &entry {
        Some(e) if e.status == Status::Disabled && e.mailbox_type == MailboxType::Personal => store
            .directory_entries_named(&e.given_name, &e.family_name)?
            .into_iter()
            .filter(|o| {
                o.status == Status::Active
                    && o.mailbox_type == MailboxType::Personal
                    && o.ods_code.eq_ignore_ascii_case(&e.ods_code)
                    && normal_form(&o.address) != key
            })
            .map(|o| o.address)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Signin {
        realised,
        found_for,
        active_mailboxes,
        address: address.to_string(),
        outcome,
        directory,
        account,
        other_accounts,
    })
}

/// The accounts with the address, and the old accounts of the replacements
/// made here among them, with their roles: what deciding which replacement
/// made here CQRS's account realises needs.
fn near_accounts(store: &Store, accounts: &[Account]) -> Result<Nearby> {
    let mut near = Vec::new();
    for a in accounts {
        let replaces = store.replaced_account_of(&a.account_id)?;
        if let Some(old) = replaces
            .as_deref()
            .map(|id| store.account(id))
            .transpose()?
            .flatten()
        {
            let roles = store.roles(&old.account_id)?;
            near.push(NearAccount {
                account: old,
                replaces: None,
                roles,
            });
        }
        near.push(NearAccount {
            account: a.clone(),
            replaces,
            roles: store.roles(&a.account_id)?,
        });
    }
    Ok(Nearby::new(near))
}

/// The report's accounts whose confident match is `key`, with their
/// contacts, in the report's order (each account once, its contacts in the
/// order of its rows).
///
/// On an unchanged store the report's rows are kept, so this asks the
/// store for the kept rows whose match is `key` (PostgreSQL reads the one
/// bucket of them that can hold it, SQLite walks them all): building the whole
/// report's rows (names and contacts for 200,000 rows, follow-ups, the
/// count of accounts) only to drop all but one or two cost the help desk
/// ten times the rest of the sign-in check. Otherwise (nothing kept yet,
/// something written since, an area's operator) the report is computed,
/// and kept, as `report` does.
fn found_for(store: &mut Store, key: &str, dates: Dates) -> Result<Vec<FoundFor>> {
    let generation = store.generation()?;
    let mut kept: Vec<KeptMatch> = Vec::new();
    let cached = store.for_each_kept_match(generation, key, &mut |row: &KeptRow<'_>| {
        kept.push(KeptMatch {
            contact_code: row.contact_code.to_string(),
            account_id: row.account_id.to_string(),
            email: row.email.to_string(),
            given_name: row.given_name.to_string(),
            family_name: row.family_name.to_string(),
        });
    })?;
    if !cached {
        return found_for_in_report(store, key, dates);
    }
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let organisations = Organisations::load(store)?;
    let mut out: Vec<FoundFor> = Vec::new();
    for row in kept {
        let (contact, name, email) =
            crate::commands::report::contact_of(&organisations, &row.contact_code);
        let contact = (contact.code().to_string(), name, email);
        match out.iter_mut().find(|f| f.account_id == row.account_id) {
            Some(f) => f.contacts.push(contact),
            None => out.push(FoundFor {
                account_id: row.account_id,
                email: row.email,
                given_name: row.given_name,
                family_name: row.family_name,
                contacts: vec![contact],
            }),
        }
    }
    Ok(out)
}

/// A kept report row whose match is the address asked about.
struct KeptMatch {
    contact_code: String,
    account_id: String,
    email: String,
    given_name: String,
    family_name: String,
}

/// [`found_for`] from the report's rows, computed (and kept) if need be.
fn found_for_in_report(store: &mut Store, key: &str, dates: Dates) -> Result<Vec<FoundFor>> {
    let all = ReportArgs {
        section: Vec::new(),
        contact: None,
        check: false,
        follow_up: Vec::new(),
        ..ReportArgs::default()
    };
    let report = crate::commands::report::run(store, &all, dates)?;
    let mut out: Vec<FoundFor> = Vec::new();
    for row in report
        .rows
        .iter()
        .filter(|r| is_match_of(r.nhsmail_match(), key))
    {
        let contact = (
            row.contact.code().to_string(),
            row.contact_name.to_string(),
            row.contact_email.to_string(),
        );
        match out.iter_mut().find(|f| f.account_id == row.account_id()) {
            Some(f) => f.contacts.push(contact),
            None => out.push(FoundFor {
                account_id: row.account_id().to_string(),
                email: row.email().to_string(),
                given_name: row.given_name().to_string(),
                family_name: row.family_name().to_string(),
                contacts: vec![contact],
            }),
        }
    }
    Ok(out)
}
