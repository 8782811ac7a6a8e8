//! `accounts show ID|ADDRESS`: one account, its roles, category and match.

use std::collections::HashSet;

use anyhow::Result;

use crate::audit::{DirectoryIndex, Organisations, classify};
use crate::error::UserError;
use crate::model::{Account, RoleGrant, Status};
use crate::rules::{Category, Contact, NhsmailMatch, Section, normal_form, suggestions};
use crate::store::{AccountView, RoleView, Store};

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
    let same_address = store.accounts_by_email_key(&key)?;
    let live = same_address
        .iter()
        .filter(|a| a.status == Status::Active && a.replaced_by.is_none())
        .count();
    let duplicates: HashSet<String> = if live > 1 {
        HashSet::from([key.clone()])
    } else {
        HashSet::new()
    };
    let mut entries = store.directory_entries_named(&account.given_name, &account.family_name)?;
    if let Some(own) = store.directory_entry(&key)? {
        entries.push(own);
    }
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
    let row = classify(view, &views, &directory, &duplicates);
    let contacts = organisations
        .contacts(&views)
        .iter()
        .map(|c: &Contact| {
            let (name, email) = organisations.contact_details(c);
            (c.code().to_string(), name, email)
        })
        .collect();
    let (category, nhsmail_match, section) = (row.category, row.nhsmail_match.clone(), row.section);
    let suggestions = if section.is_some() {
        suggestions(&account.email, &account.given_name, &account.family_name)
    } else {
        Vec::new()
    };
    let replaces = store.replaced_account_of(&account.account_id)?;
    let invalid_because = crate::rules::why_invalid(&account.email);
    Ok(AccountDetails {
        invalid_because,
        account,
        roles,
        category,
        nhsmail_match,
        section,
        contacts,
        suggestions,
        replaces,
    })
}
