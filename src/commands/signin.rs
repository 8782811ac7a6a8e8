//! `signin ADDRESS`: what a person signing in with this NHSmail address will
//! see on cutover day (rules.md, "Sign-in on cutover day").

use anyhow::Result;

use crate::model::{Account, RoleGrant, Status};
use crate::rules::{DirectoryFacts, SigninOutcome, normal_form, signin_outcome};
use crate::store::Store;

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
}

pub fn run(store: &Store, address: &str) -> Result<Signin> {
    let key = normal_form(address);
    let entry = store.directory_entry(&key)?;
    let facts = entry.as_ref().map(|e| DirectoryFacts {
        status: e.status,
        mailbox_type: e.mailbox_type,
    });
    let accounts = store.accounts_by_email_key(&key)?;
    let (live, other_accounts): (Vec<Account>, Vec<Account>) = accounts
        .into_iter()
        .partition(|a| a.status == Status::Active && a.replaced_by.is_none());
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
    Ok(Signin {
        address: address.to_string(),
        outcome,
        directory,
        account,
        other_accounts,
    })
}
