//! The changes that need confirming, in two steps: the command proposes
//! (checks and returns what would be done), this module shows the proposal
//! through the output layer and asks, then has the command commit it. The
//! commands themselves never print or prompt.

use anyhow::Result;

use crate::cli::{Format, NotifyArgs, ReinstateArgs, ReplaceArgs, RevertArgs};
use crate::commands::confirm::Operator;
use crate::commands::cutover::Dates;
use crate::commands::{notify, reinstate, replace, revert};
use crate::error::UserError;
use crate::output::notify as notify_views;
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

/// `notify`: compose, show and ask, then send one message at a time.
pub fn notify(
    store: &mut Store,
    args: &NotifyArgs,
    op: &Operator,
    dates: Dates,
    format: Format,
    shell: &Shell,
) -> Result<()> {
    // The words, the sender and the destination are checked before any
    // message is composed; every message is composed (so every template
    // rendered) before any is sent.
    let setup = notify::setup(args)?;
    let proposal = notify::propose(store, args, dates, &setup)?;
    if proposal.to_send.is_empty() {
        let outcome = notify::Outcome::preview(&proposal);
        let outcome = notify::Outcome {
            sent: Default::default(),
            ..outcome
        };
        if !args.dry_run {
            // A run that found nothing new is a run too: the log says so.
            notify::record_run(store, &outcome, op)?;
        }
        shell.message(&format!(
            "nothing to send: {} message(s) were already sent and have not changed",
            outcome.unchanged_total()
        ));
        return Ok(notify_views::outcome(
            &notify::Outcome {
                dry_run: args.dry_run,
                ..outcome
            },
            format,
        )?);
    }
    let question = notify_views::question(&proposal);
    let go = shell.confirm(args.yes, args.dry_run, &question, || {
        notify_views::preview_on_stderr(&proposal)
    })?;
    if go == Go::Preview {
        notify_views::outcome(&notify::Outcome::preview(&proposal), format)?;
        notify_views::preview_on_stderr(&proposal)?;
        shell.message("nothing was sent (--dry-run)");
        return Ok(());
    }
    let outcome = notify::commit(store, proposal, &setup, args.per_minute, op)?;
    notify_views::outcome(&outcome, format)?;
    if let Some(why) = &outcome.stopped {
        return Err(UserError::Refused(format!(
            "notify stopped part-way: {} message(s) sent, {} not sent: {why}. Nothing is lost: \
             run the same command again to send exactly the ones not sent",
            outcome.sent_total(),
            outcome.not_sent
        ))
        .into());
    }
    shell.message(&format!(
        "{} message(s) sent via {}; {} already sent and unchanged",
        outcome.sent_total(),
        outcome.channel,
        outcome.unchanged_total()
    ));
    Ok(())
}
