//! The changes that need confirming, in two steps: the command proposes
//! (checks and returns what would be done), this module shows the proposal
//! through the output layer and asks, then has the command commit it. The
//! commands themselves never print or prompt.

use anyhow::Result;

use crate::cli::{Format, ReinstateArgs, ReplaceArgs, RevertArgs};
use crate::commands::confirm::Operator;
use crate::commands::{reinstate, replace, revert};
use crate::output::replacements as views;
use crate::output::{Go, Shell};
use crate::store::Store;

/// `replace`: one account or a plan.
pub fn replace(
    store: &mut Store,
    args: &ReplaceArgs,
    op: &Operator,
    format: Format,
    shell: &Shell,
) -> Result<()> {
    let interactive = !args.yes && !args.dry_run && shell.at_terminal();
    let requested = match replace::request(store, args, op, interactive)? {
        replace::Asked::Nothing(outcome) => {
            shell.message(&format!(
                "the plan {} has no rows: nothing to do",
                outcome.plan.as_deref().unwrap_or("")
            ));
            return views::replaced(&outcome, format);
        }
        replace::Asked::Replacements(requested) => requested,
    };
    // The first look, to show and ask. With --yes nobody is shown anything
    // before the change, so the check under the write lock is the only one.
    let requested = if args.dry_run || !args.yes {
        let proposal = replace::propose(store, requested, shell)?;
        let outcome = &proposal.outcome;
        if outcome.replacements.is_empty() {
            views::nothing_to_do(outcome);
            return views::replaced(outcome, format);
        }
        let question = views::question(outcome);
        let go = shell.confirm(args.yes, args.dry_run, &question, || {
            views::preview_on_stderr(outcome)
        })?;
        if go == Go::Preview {
            views::replaced(outcome, format)?;
            shell.message("nothing was changed (--dry-run)");
            return Ok(());
        }
        // The proposal's rows are dropped here: a long plan is checked
        // again under the write lock, and is not held twice.
        proposal.into_requested()
    } else {
        requested
    };
    let outcome = replace::commit(store, requested, op, shell)?;
    views::replaced(&outcome, format)?;
    views::replace_summary(&outcome);
    Ok(())
}

/// `revert`: undo a replacement.
pub fn revert(
    store: &mut Store,
    args: &RevertArgs,
    op: &Operator,
    format: Format,
    shell: &Shell,
) -> Result<()> {
    let requested = revert::request(args);
    if args.dry_run || !args.yes {
        let r = revert::propose(store, &requested)?;
        let question = format!(
            "Disable {} and restore {}?",
            r.new_account_id, r.old_account_id
        );
        let go = shell.confirm(args.yes, args.dry_run, &question, || {
            shell.message(views::describe_revert(&r, false).trim_end());
            Ok(())
        })?;
        if go == Go::Preview {
            views::reverted(&r, format)?;
            shell.message("nothing was changed (--dry-run)");
            return Ok(());
        }
    }
    let r = revert::commit(store, requested, op)?;
    views::reverted(&r, format)?;
    shell.message(&format!(
        "reverted: {} disabled, {} restored{}",
        r.new_account_id,
        r.old_account_id,
        if r.reenable_old {
            " and active again"
        } else {
            ""
        }
    ));
    Ok(())
}

/// `reinstate`: undo a revert.
pub fn reinstate(
    store: &mut Store,
    args: &ReinstateArgs,
    op: &Operator,
    format: Format,
    shell: &Shell,
) -> Result<()> {
    let requested = reinstate::request(args);
    if args.dry_run || !args.yes {
        let r = reinstate::propose(store, &requested)?;
        let question = format!(
            "Make {} active again, replacing {}?",
            r.new_account_id, r.old_account_id
        );
        let go = shell.confirm(args.yes, args.dry_run, &question, || {
            shell.message(views::describe_reinstate(&r, false).trim_end());
            Ok(())
        })?;
        if go == Go::Preview {
            views::reinstated(&r, format)?;
            shell.message("nothing was changed (--dry-run)");
            return Ok(());
        }
    }
    let r = reinstate::commit(store, requested, op)?;
    views::reinstated(&r, format)?;
    shell.message(&format!(
        "reinstated: {} active again, {} replaced by it again",
        r.new_account_id, r.old_account_id
    ));
    Ok(())
}
