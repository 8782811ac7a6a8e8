//! `reinstate NEW_ACCOUNT_ID`: undo a revert (a mistaken one cannot be undone
//! by `replace`, since the reverted replacement keeps its address, and an
//! address can be on only one account).
//!
//! The reverted replacement is made active again and the old account is
//! marked as replaced by it again, as the replacement left them; the change
//! log records `reinstate`. Refused (exit 1, nothing changed) unless:
//! the account is a replacement and is disabled; the account it replaced
//! exists, is active and is not marked as replaced by any account; no other
//! account holds the replacement's address; the directory holds the address
//! as an active personal mailbox; and the replacement holds exactly the old
//! account's roles (the roles may have changed in CQRS since the revert).
//! The old account's status is left as it is.

use anyhow::Result;

use super::confirm::Operator;
use crate::cli::ReinstateArgs;
use crate::error::UserError;
use crate::model::{MailboxType, Status};
use crate::rules::normal_form;
use crate::store::{Stamp, Store};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Reinstate {
    pub old_account_id: String,
    pub new_account_id: String,
    /// The replacement's address.
    pub email: String,
    pub reason: Option<String>,
    pub dry_run: bool,
}

/// Checks that `new_id` is a reverted replacement that can be reinstated,
/// against the store as it is now.
fn check(store: &Store, new_id: &str, reason: Option<String>, dry_run: bool) -> Result<Reinstate> {
    super::operators::refuse_outside_area(store, "reinstate", &[new_id])?;
    let refuse = |text: String| -> anyhow::Error {
        UserError::Refused(format!(
            "cannot reinstate {new_id}: {text}; nothing was changed"
        ))
        .into()
    };
    let Some((replaces, status, email)) = store.replacement_account(new_id)? else {
        return Err(refuse(format!(
            "there is no account {new_id}: check the id (it is the replacement's id, e.g. R1-U0000001)"
        )));
    };
    let Some(old_id) = replaces else {
        return Err(refuse(format!(
            "{new_id} is not a replacement account (it replaces no account): only a \
             reverted replacement can be reinstated"
        )));
    };
    if status == Status::Active {
        return Err(refuse(format!(
            "{new_id} is active: only a reverted (disabled) replacement can be reinstated"
        )));
    }
    let Some(old) = store.account(&old_id)? else {
        return Err(refuse(format!(
            "the account it replaced, {old_id}, is not in the store"
        )));
    };
    if let Some(other) = &old.replaced_by {
        return Err(refuse(if other == new_id {
            format!(
                "{old_id} is still marked as replaced by {new_id}, which was disabled by an \
                 import: revert it first (`cqrs-admin revert {new_id}`), or enable it in CQRS \
                 and import the accounts again"
            )
        } else {
            format!("{old_id} is now replaced by {other}: revert {other} first")
        }));
    }
    if old.status != Status::Active {
        return Err(refuse(format!(
            "{old_id} is disabled: only an active account's replacement can be reinstated"
        )));
    }
    let key = normal_form(&email);
    let others: Vec<String> = store
        .accounts_by_email_key(&key)?
        .into_iter()
        .map(|a| a.account_id)
        .filter(|id| id != new_id)
        .collect();
    if !others.is_empty() {
        return Err(refuse(format!(
            "its address {email} is also on account {}: an address can be on only one account",
            others.join(", ")
        )));
    }
    match store.directory_entry(&key)? {
        Some(e) if e.status == Status::Active && e.mailbox_type == MailboxType::Personal => {}
        found => {
            return Err(refuse(format!(
                "the address {email} is not held by the NHSmail directory as an active personal \
                 mailbox ({}): check the address with the user",
                match found {
                    None => "it is not in the directory",
                    Some(e) if e.mailbox_type == MailboxType::Shared => "it is a shared mailbox",
                    Some(_) => "the mailbox is disabled",
                }
            )));
        }
    }
    let (old_roles, new_roles) = (store.roles(&old_id)?, store.roles(new_id)?);
    if old_roles != new_roles {
        return Err(refuse(format!(
            "its roles differ from {old_id}'s now ({} against {}): make them equal in CQRS and \
             import the permissions again",
            new_roles.len(),
            old_roles.len()
        )));
    }
    Ok(Reinstate {
        old_account_id: old_id,
        new_account_id: new_id.to_string(),
        email,
        reason,
        dry_run,
    })
}

/// What the command was asked to do.
pub type Requested = crate::commands::confirm::OnReplacement;

pub fn request(args: &ReinstateArgs) -> Requested {
    Requested::new(&args.new_account_id, args.reason.as_deref())
}

/// The first look, to show and ask: what would be done (`dry_run` set),
/// checked against the store as it is now; changes nothing.
pub fn propose(store: &Store, requested: &Requested) -> Result<Reinstate> {
    check(
        store,
        &requested.new_account_id,
        requested.reason.clone(),
        true,
    )
}

/// Takes the write lock, checks again against the store as it is now, and
/// makes the change.
pub fn commit(store: &mut Store, requested: Requested, op: &Operator) -> Result<Reinstate> {
    // A serialization failure or deadlock undoes the write: it is run
    // again from the lock and the check.
    crate::store::retrying("The reinstatement", || attempt(store, &requested, op))
}

/// One attempt at [`commit`]'s write.
fn attempt(store: &mut Store, requested: &Requested, op: &Operator) -> Result<Reinstate> {
    let tx = store.begin_write()?;
    let r = check(
        &tx,
        &requested.new_account_id,
        requested.reason.clone(),
        false,
    )?;
    let now = Operator::now();
    let created_at = op.created_at();
    tx.reinstate_replacement(
        &r.old_account_id,
        &r.new_account_id,
        &r.email,
        r.reason.as_deref(),
        Stamp {
            at: &now,
            actor: op.actor(),
            created_at: &created_at,
        },
    )?;
    tx.commit()?;
    Ok(r)
}
