//! `accounts show ID|ADDRESS`: one account, its roles, category and match.

use std::collections::HashSet;

use anyhow::Result;

use crate::audit::{CqrsLink, DirectoryIndex, NearAccount, Nearby, Organisations, classify};
use crate::cli::FollowUpArg;
use crate::commands::confirm::Operator;
use crate::error::UserError;
use crate::model::{Account, RoleGrant};
use crate::rules::{Category, Contact, NhsmailMatch, Section, normal_form, suggestions};
use crate::store::{AccountView, FollowUp, FollowUpState, Note, RoleView, Store};

#[derive(Debug, serde::Serialize)]
pub struct AccountDetails {
    pub account: Account,
    pub roles: Vec<RoleGrant>,
    pub category: Category,
    pub nhsmail_match: Option<NhsmailMatch>,
    pub section: Option<Section>,
    /// (code, name, email) of each contact.
    pub contacts: Vec<(String, String, String)>,
    /// Addresses worth checking with the user: never used automatically.
    pub suggestions: Vec<String>,
    /// The account this one replaced, if it is a replacement.
    pub replaces: Option<String>,
    /// Why its address is not valid (the character and its position), if
    /// it is not: on screen a look-alike letter looks right.
    pub invalid_because: Option<String>,
    /// Operators' notes, oldest first.
    pub notes: Vec<Note>,
    /// Where the case stands, if an operator has said.
    pub follow_up: Option<FollowUpState>,
    /// Replacements made in CQRS itself that concern the account, in words:
    /// replaced or realised by CQRS's account, or what differs in one that
    /// has the address but is not its replacement.
    pub cqrs: Vec<String>,
}

/// Finds accounts by id, or by address (all accounts with that address).
pub fn run(store: &Store, wanted: &str) -> Result<Vec<AccountDetails>> {
    let accounts = match store.account(wanted.trim())? {
        Some(a) => vec![a],
        None => store.accounts_by_email_key(&normal_form(wanted))?,
    };
    if accounts.is_empty() {
        return Err(UserError::Refused(format!(
            "no account has the id or email `{wanted}`: check it with `cqrs-admin audit`"
        ))
        .into());
    }
    let organisations = Organisations::load(store)?;
    accounts
        .into_iter()
        .map(|a| details(store, &organisations, a))
        .collect()
}

/// The audit of one account, from targeted look-ups rather than a full pass.
pub fn details(
    store: &Store,
    organisations: &Organisations,
    account: Account,
) -> Result<AccountDetails> {
    let roles = store.roles(&account.account_id)?;
    let key = normal_form(&account.email);
    let mut entries = store.directory_entries_named(&account.given_name, &account.family_name)?;
    if let Some(own) = store.directory_entry(&key)? {
        entries.push(own);
    }
    let nearby = nearby(store, &account, &entries)?;
    let directory = DirectoryIndex::from_entries(&entries);
    let views: Vec<RoleView<'_>> = roles
        .iter()
        .map(|r| RoleView {
            ods_code: &r.ods_code,
            role: r.role,
        })
        .collect();
    let view = AccountView {
        account_id: &account.account_id,
        email: &account.email,
        given_name: &account.given_name,
        family_name: &account.family_name,
        status: account.status,
        superseded: account.replaced_by.is_some(),
    };
    let row = classify(view, &views, &directory, &nearby);
    let cqrs = row.cqrs.clone();
    let contacts = organisations
        .contacts(&views)
        .iter()
        .map(|c: &Contact| {
            let (name, email) = organisations.contact_details(c);
            (c.code().to_string(), name, email)
        })
        .collect();
    let (category, nhsmail_match, section) = (row.category, row.nhsmail_match.clone(), row.section);
    let cqrs = cqrs.iter().map(CqrsLink::describe).collect();
    let suggestions = if section.is_some() {
        suggestions(&account.email, &account.given_name, &account.family_name)
    } else {
        Vec::new()
    };
    let replaces = store.replaced_account_of(&account.account_id)?;
    let invalid_because = crate::rules::why_invalid(&account.email);
    let notes = store.notes(&account.account_id)?;
    let follow_up = store.follow_up(&account.account_id)?;
    Ok(AccountDetails {
        invalid_because,
        notes,
        follow_up,
        account,
        roles,
        category,
        nhsmail_match,
        section,
        contacts,
        suggestions,
        replaces,
        cqrs,
    })
}

/// The accounts that can matter to one account's audit (see
/// [`Nearby`]): those with its address; its replacement made here and the
/// accounts with that one's address; the old account of a replacement made
/// here; those with the address of a directory entry with its names (where
/// its confident match can be); and the old accounts of any replacement
/// made here among them.
fn nearby(
    store: &Store,
    account: &Account,
    entries: &[crate::model::DirectoryEntry],
) -> Result<Nearby> {
    let mut found: Vec<Account> = vec![account.clone()];
    let mut keys = vec![normal_form(&account.email)];
    keys.extend(entries.iter().map(|e| normal_form(&e.address)));
    if let Some(r) = &account.replaced_by
        && let Some(r) = store.account(r)?
    {
        keys.push(normal_form(&r.email));
        found.push(r);
    }
    keys.sort_unstable();
    keys.dedup();
    for key in &keys {
        found.extend(store.accounts_by_email_key(key)?);
    }
    let mut near: Vec<NearAccount> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(a) = found.pop() {
        if !seen.insert(a.account_id.clone()) {
            continue;
        }
        let replaces = store.replaced_account_of(&a.account_id)?;
        if let Some(old) = &replaces
            && !seen.contains(old)
            && let Some(old) = store.account(old)?
        {
            found.push(old);
        }
        let roles = store.roles(&a.account_id)?;
        near.push(NearAccount {
            account: a,
            replaces,
            roles,
        });
    }
    Ok(Nearby::new(near))
}

/// The account a note or follow-up is about: by id only, since a change
/// must name exactly one account.
fn known_account(store: &Store, wanted: &str) -> Result<String> {
    let id = wanted.trim();
    if store.account(id)?.is_some() {
        return Ok(id.to_string());
    }
    let by_address = store.accounts_by_email_key(&normal_form(wanted))?;
    let hint = match by_address.as_slice() {
        [] => "check it with `cqrs-admin accounts show`".to_string(),
        accounts => format!(
            "that is the email of {}: give the account id",
            accounts
                .iter()
                .map(|a| a.account_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(UserError::Refused(format!(
        "no account has the id `{wanted}`; {hint}; nothing was changed"
    ))
    .into())
}

/// `accounts note`: keeps a dated note with the operator (never edited or
/// deleted), recorded in the change log.
pub fn note(store: &mut Store, account: &str, text: &str, op: &Operator) -> Result<Noted> {
    crate::text::refuse_control_characters("the note", text)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(UserError::Refused(
            "the note is empty: write what was learnt, e.g. `accounts note U1 \"phoned, \
             waiting for their NHSmail address\"`; nothing was changed"
                .to_string(),
        )
        .into());
    }
    super::operators::refuse_outside_area(store, "add a note to", &[account.trim()])?;
    let account_id = known_account(store, account)?;
    let note = Note {
        date: op.today,
        at: Operator::now(),
        actor: op.actor.clone(),
        claimed: op.claimed,
        text: text.to_string(),
    };
    store.add_note(&account_id, &note)?;
    Ok(Noted { account_id, note })
}

/// A note kept.
#[derive(Debug, serde::Serialize)]
pub struct Noted {
    pub account_id: String,
    pub note: Note,
}

/// A follow-up state set (or cleared).
#[derive(Debug, serde::Serialize)]
pub struct FollowedUp {
    pub account_id: String,
    pub state: Option<FollowUp>,
    pub previous: Option<FollowUp>,
    pub actor: String,
    pub date: chrono::NaiveDate,
}

/// `accounts follow-up`: sets where the case stands (`clear`: no state),
/// recorded in the change log.
pub fn follow_up(
    store: &mut Store,
    account: &str,
    state: FollowUpArg,
    op: &Operator,
) -> Result<FollowedUp> {
    super::operators::refuse_outside_area(store, "set the follow-up state of", &[account.trim()])?;
    let account_id = known_account(store, account)?;
    let state = match state {
        FollowUpArg::Contacted => Some(FollowUp::Contacted),
        FollowUpArg::AwaitingUser => Some(FollowUp::AwaitingUser),
        FollowUpArg::DoneInCqrs => Some(FollowUp::DoneInCqrs),
        FollowUpArg::Clear => None,
    };
    let previous =
        store.set_follow_up(&account_id, state, op.today, &Operator::now(), op.actor())?;
    Ok(FollowedUp {
        account_id,
        state,
        previous,
        actor: op.actor.clone(),
        date: op.today,
    })
}
