//! `revert NEW_ACCOUNT_ID`: undo a replacement (rules.md, "Replacement
//! accounts"). The replacement account is disabled, never deleted; the old
//! account is no longer superseded, so it audits as it did before; the change
//! log records `revert`.
//!
//! A replacement that was disabled some other way (a later `import accounts`
//! from CQRS) can still be reverted while the old account is marked as
//! replaced by it: the revert then only clears the old account's mark.
//!
//! If `--disable-old` disabled the old account along with the replacement
//! (the change log says so), the revert makes it active again and records that
//! as a separate `enable` step: undoing a replacement should give the user back
//! the account they had. An old account disabled some other way (an import, or
//! by hand) stays disabled: the revert only undoes what the replacement did.

use anyhow::Result;

use super::confirm::Operator;
use crate::cli::RevertArgs;
use crate::error::UserError;
use crate::model::Status;
use crate::store::{Stamp, Store};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Revert {
    pub old_account_id: String,
    pub new_account_id: String,
    /// The replacement's address.
    pub email: String,
    pub reason: Option<String>,
    /// The old account is made active again (it was disabled by `--disable-old`).
    pub reenable_old: bool,
    pub dry_run: bool,
}

/// Checks that `new_id` is a replacement that can be reverted, against the
/// store as it is now.
fn check(store: &Store, new_id: &str, reason: Option<String>, dry_run: bool) -> Result<Revert> {
    super::operators::refuse_outside_area(store, "revert", &[new_id])?;
    let refuse = |text: String| -> anyhow::Error {
        UserError::Refused(format!(
            "cannot revert {new_id}: {text}; nothing was changed"
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
             replacement can be reverted"
        )));
    };
    let old = store.account(&old_id)?.ok_or_else(|| {
        refuse(format!(
            "the account it replaced, {old_id}, is not in the store"
        ))
    })?;
    // A replacement disabled some other way (a later import from CQRS) can
    // still be reverted while the old account is marked as replaced by it:
    // otherwise the old account could never be replaced again.
    if status != Status::Active && old.replaced_by.as_deref() != Some(new_id) {
        return Err(refuse(format!(
            "{new_id} is already disabled and {old_id} is no longer marked as replaced by it: \
             the replacement was reverted already (to make it active again, run \
             `cqrs-admin reinstate {new_id}`)"
        )));
    }
    if old.replaced_by.as_deref() != Some(new_id) {
        return Err(refuse(format!(
            "{old_id} is not marked as replaced by {new_id} ({}): check `cqrs-admin log --account {old_id}`",
            match &old.replaced_by {
                Some(other) => format!("it is replaced by {other}"),
                None => "it is not marked as replaced".to_string(),
            }
        )));
    }
    let reenable_old =
        old.status == Status::Disabled && store.disabled_with_replacement(&old_id, new_id)?;
    Ok(Revert {
        old_account_id: old_id,
        new_account_id: new_id.to_string(),
        email,
        reason,
        reenable_old,
        dry_run,
    })
}

/// What the command was asked to do.
pub type Requested = crate::commands::confirm::OnReplacement;

pub fn request(args: &RevertArgs) -> Requested {
    Requested::new(&args.new_account_id, args.reason.as_deref())
}

/// The first look, to show and ask: what would be done (`dry_run` set),
/// checked against the store as it is now; changes nothing.
pub fn propose(store: &Store, requested: &Requested) -> Result<Revert> {
    check(
        store,
        &requested.new_account_id,
        requested.reason.clone(),
        true,
    )
}

/// Takes the write lock, checks again against the store as it is now, and
/// makes the change.
pub fn commit(store: &mut Store, requested: Requested, op: &Operator) -> Result<Revert> {
    // A serialization failure or deadlock undoes the write: it is run
    // again from the lock and the check.
    crate::store::retrying("The revert", || attempt(store, &requested, op))
}

/// One attempt at [`commit`]'s write.
fn attempt(store: &mut Store, requested: &Requested, op: &Operator) -> Result<Revert> {
    let tx = store.begin_write()?;
    let r = check(
        &tx,
        &requested.new_account_id,
        requested.reason.clone(),
        false,
    )?;
    let now = Operator::now();
    let created_at = op.created_at();
    tx.revert_replacement(
        &r.old_account_id,
        &r.new_account_id,
        &r.email,
        r.reason.as_deref(),
        r.reenable_old,
        Stamp {
            at: &now,
            actor: op.actor(),
            created_at: &created_at,
        },
    )?;
    tx.commit()?;
    Ok(r)
}
