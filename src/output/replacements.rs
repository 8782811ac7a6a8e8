//! How replacements, reverts, history, `verify`, the change log, plans and
//! exports look, in each format.

use std::io::{self, IsTerminal, Write};

use super::{Sink, message, print_json, print_text, render_table, shown};
use crate::cli::Format;
use crate::commands::replace::{ReplaceOutcome, Replacement};
use crate::model::RoleGrant;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A role as one short phrase: `A81001 view [QOF;DES]`.
fn role_phrase(g: &RoleGrant) -> String {
    if g.payment_types.is_empty() {
        format!("{} {}", g.ods_code, g.role)
    } else {
        format!("{} {} [{}]", g.ods_code, g.role, g.payment_types.join(";"))
    }
}

fn roles_phrase(roles: &[RoleGrant]) -> String {
    if roles.is_empty() {
        "none".to_string()
    } else {
        roles.iter().map(role_phrase).collect::<Vec<_>>().join(", ")
    }
}

fn roles_table(roles: &[RoleGrant]) -> String {
    let rows: Vec<Vec<String>> = roles
        .iter()
        .map(|r| {
            vec![
                r.ods_code.clone(),
                r.role.as_str().to_string(),
                if r.payment_types.is_empty() {
                    "(all)".to_string()
                } else {
                    r.payment_types.join(";")
                },
            ]
        })
        .collect();
    render_table(&["ods_code", "role", "payment_types"], &rows)
}

/// What one replacement does, in words, for the confirmation and `--dry-run`.
fn describe_one(r: &Replacement, disable_old: bool, created_at: &str, done: bool) -> String {
    let mut text = shown(&format!(
        "{} account {} ({} {}, {})\n  by the new account {}\n    email and username: {}\n    \
         names: {} {}\n    status: active\n    created: {created_at}\n",
        if done { "Replaced" } else { "Replace" },
        r.old_account_id,
        r.given_name,
        r.family_name,
        r.old_email,
        r.new_account_id,
        r.email,
        r.given_name,
        r.family_name,
    ))
    .into_owned();
    if r.roles.is_empty() {
        text.push_str("  roles copied: none (the old account holds no roles)\n");
    } else {
        text.push_str(&shown(&format!(
            "  roles copied, exactly as the old account holds them ({}):\n",
            r.roles.len()
        )));
        text.push_str(&roles_table(&r.roles));
        text.push('\n');
    }
    text.push_str(&shown(&format!(
        "  The old account keeps its email and history, and is marked as replaced by {}.\n",
        r.new_account_id
    )));
    if disable_old {
        text.push_str("  The old account is also disabled (--disable-old).\n");
    } else {
        text.push_str("  The old account stays active (--disable-old would disable it).\n");
    }
    if let Some((given, family)) = &r.directory_names {
        text.push_str(&shown(&format!(
            "  Note: the NHSmail directory names this mailbox {given} {family} (a name change).\n"
        )));
    }
    if let Some(reason) = &r.reason {
        text.push_str(&shown(&format!(
            "  Reason (recorded in the change log): {reason}\n"
        )));
    }
    if r.holds_admin {
        let held: Vec<String> = r
            .roles
            .iter()
            .filter(|g| g.role.is_administrator())
            .map(role_phrase)
            .collect();
        text.push_str(&shown(&format!(
            "  WARNING: the account holds an administrator role ({}): the new account will be \
             able to grant access to others.\n",
            held.join(", ")
        )));
    }
    text
}

/// The most rows a plan's table shows; CSV and JSON list every row.
const TABLE_ROWS: usize = 1_000;

const BULK_COLUMNS: &[&str] = &[
    "line",
    "old_account_id",
    "name",
    "new_account_id",
    "new_email",
    "roles",
];

fn bulk_rows<'a>(list: impl Iterator<Item = &'a Replacement>) -> Vec<Vec<String>> {
    list.map(|r| {
        vec![
            r.line.map_or(String::new(), |l| l.to_string()),
            r.old_account_id.clone(),
            format!("{} {}", r.given_name, r.family_name),
            r.new_account_id.clone(),
            r.email.clone(),
            format!(
                "{}{}",
                roles_phrase(&r.roles),
                if r.holds_admin {
                    " (ADMINISTRATOR)"
                } else {
                    ""
                }
            ),
        ]
    })
    .collect()
}

/// A plan's replacements in words: a header, then a table of (at most
/// `limit`) rows.
fn describe_plan(outcome: &ReplaceOutcome, limit: Option<usize>, done: bool) -> String {
    let n = outcome.replacements.len();
    let mut text = shown(&format!(
        "Plan {}: {} {}{}\n",
        outcome.plan.as_deref().unwrap_or(""),
        plural(n, "replacement account", "replacement accounts"),
        if done { "created" } else { "to create" },
        if outcome.already_done.is_empty() {
            String::new()
        } else {
            format!(
                ", {} already done (skipped)",
                plural(outcome.already_done.len(), "row", "rows")
            )
        }
    ))
    .into_owned();
    let admins = outcome
        .replacements
        .iter()
        .filter(|r| r.holds_admin)
        .count();
    if admins > 0 {
        text.push_str(&shown(&format!(
            "WARNING: {} an administrator role (acknowledged with --allow-admin).\n",
            plural(admins, "account holds", "accounts hold")
        )));
    }
    text.push_str(if outcome.disable_old {
        "Each old account keeps its email and history, is marked as replaced, and is disabled (--disable-old).\n"
    } else {
        "Each old account keeps its email and history and is marked as replaced; it stays active.\n"
    });
    let listed = limit.unwrap_or(n).min(n);
    if listed > 0 {
        text.push_str(&render_table(
            BULK_COLUMNS,
            &bulk_rows(outcome.replacements.iter().take(listed)),
        ));
        text.push('\n');
    }
    if listed < n {
        text.push_str(&shown(&format!(
            "... and {} more: list them all with {}\n",
            n - listed,
            if done {
                "`cqrs-admin log` or --format csv"
            } else {
                "--dry-run --format csv"
            }
        )));
    }
    text
}

fn describe(outcome: &ReplaceOutcome, limit: Option<usize>, done: bool) -> String {
    match (&outcome.plan, outcome.replacements.as_slice()) {
        (None, [one]) => describe_one(one, outcome.disable_old, &outcome.created_at, done),
        _ => describe_plan(outcome, limit, done),
    }
}

/// The confirmation's question.
pub fn question(outcome: &ReplaceOutcome) -> String {
    let admin = outcome.replacements.iter().any(|r| r.holds_admin);
    match (&outcome.plan, outcome.replacements.as_slice()) {
        (None, [one]) if admin => format!(
            "{} holds an administrator role. Replace it anyway, creating {}?",
            one.old_account_id, one.new_account_id
        ),
        (None, [one]) => format!(
            "Create {} to replace {}?",
            one.new_account_id, one.old_account_id
        ),
        _ => format!(
            "Create {}?",
            plural(
                outcome.replacements.len(),
                "replacement account",
                "replacement accounts"
            )
        ),
    }
}

/// Shows what will happen, before the question (standard error: it is a
/// message to the person, not data).
pub fn preview_on_stderr(outcome: &ReplaceOutcome) -> anyhow::Result<()> {
    let mut err = io::stderr().lock();
    writeln!(err, "{}", describe(outcome, Some(20), false).trim_end())?;
    Ok(())
}

/// Every row of a plan was already done.
pub fn nothing_to_do(outcome: &ReplaceOutcome) {
    message(&format!(
        "nothing to do: {} already done{}",
        plural(outcome.already_done.len(), "row", "rows"),
        if outcome.dry_run { " (--dry-run)" } else { "" }
    ));
}

/// The one-line summary after replacing, on standard error.
pub fn replace_summary(outcome: &ReplaceOutcome) {
    message(&format!(
        "created {}, {} already done{}",
        plural(
            outcome.replacements.len(),
            "replacement account",
            "replacement accounts"
        ),
        outcome.already_done.len(),
        match (outcome.disable_old, outcome.replacements.len()) {
            (false, _) | (true, 0) => "",
            (true, 1) => "; the old account was disabled (--disable-old)",
            (true, _) => "; the old accounts were disabled (--disable-old)",
        }
    ));
}

pub const REPLACE_CSV_COLUMNS: &[&str] = &[
    "line",
    "old_account_id",
    "new_account_id",
    "email",
    "roles",
    "outcome",
];

/// The replacements made (or, with `--dry-run`, that would be made).
pub fn replaced(outcome: &ReplaceOutcome, format: Format) -> anyhow::Result<()> {
    let line = |l: Option<u64>| l.map_or(String::new(), |l| l.to_string());
    match format {
        Format::Json => {
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            write!(
                out,
                "{{\n  \"dry_run\": {},\n  \"disable_old\": {},\n  \"created\": {},\n  \"replacements\": [",
                outcome.dry_run,
                outcome.disable_old,
                if outcome.dry_run {
                    0
                } else {
                    outcome.replacements.len()
                }
            )?;
            for (i, r) in outcome.replacements.iter().enumerate() {
                out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                serde_json::to_writer(&mut out, &super::json::ReplacementView::from(r))?;
            }
            let close =
                |out: &mut dyn Write, n: usize| out.write_all(if n == 0 { b"]" } else { b"\n  ]" });
            close(&mut out, outcome.replacements.len())?;
            write!(out, ",\n  \"already_done\": [")?;
            for (i, d) in outcome.already_done.iter().enumerate() {
                out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                serde_json::to_writer(&mut out, &super::json::AlreadyDoneView::from(d))?;
            }
            close(&mut out, outcome.already_done.len())?;
            writeln!(out, "\n}}")?;
            out.flush()?;
            Ok(())
        }
        Format::Csv => {
            let mut sink = Sink::stdout(format, REPLACE_CSV_COLUMNS)?;
            let verb = if outcome.dry_run {
                "would-create"
            } else {
                "created"
            };
            for r in &outcome.replacements {
                sink.row(&[
                    line(r.line),
                    r.old_account_id.clone(),
                    r.new_account_id.clone(),
                    r.email.clone(),
                    roles_phrase(&r.roles),
                    verb.to_string(),
                ])?;
            }
            for d in &outcome.already_done {
                sink.row(&[
                    line(d.line),
                    d.old_account_id.clone(),
                    d.new_account_id.clone(),
                    d.email.clone(),
                    String::new(),
                    "already-done".to_string(),
                ])?;
            }
            Ok(sink.finish()?)
        }
        Format::Table => {
            if outcome.replacements.is_empty() {
                return Ok(());
            }
            // A table of a hundred thousand rows helps nobody at a terminal;
            // scripts take every row as CSV or JSON.
            Ok(print_text(
                describe(outcome, Some(TABLE_ROWS), !outcome.dry_run).trim_end(),
            )?)
        }
    }
}

/// A revert, in words or records.
pub fn reverted(r: &crate::commands::revert::Revert, format: Format) -> anyhow::Result<()> {
    let values = [
        r.old_account_id.clone(),
        r.new_account_id.clone(),
        r.email.clone(),
        r.reenable_old.to_string(),
        r.dry_run.to_string(),
    ];
    const COLUMNS: &[&str] = &[
        "old_account_id",
        "new_account_id",
        "email",
        "old_reenabled",
        "dry_run",
    ];
    match format {
        Format::Json => Ok(print_json(&super::json::RevertView::from(r))?),
        Format::Csv => {
            let mut sink = Sink::stdout(format, COLUMNS)?;
            sink.row(&values)?;
            Ok(sink.finish()?)
        }
        Format::Table => Ok(print_text(&describe_revert(r, !r.dry_run))?),
    }
}

/// What a revert does, in words.
pub fn describe_revert(r: &crate::commands::revert::Revert, done: bool) -> String {
    let mut text = shown(&format!(
        "{} the replacement of {} by {} ({})\n  {} is disabled (it is kept, never deleted).\n  \
         {} is no longer marked as replaced{}.\n",
        if done { "Reverted" } else { "Revert" },
        r.old_account_id,
        r.new_account_id,
        r.email,
        r.new_account_id,
        r.old_account_id,
        if r.reenable_old {
            ", and is active again (--disable-old had disabled it with the replacement)"
        } else {
            ""
        }
    ))
    .into_owned();
    if let Some(reason) = &r.reason {
        text.push_str(&shown(&format!(
            "  Reason (recorded in the change log): {reason}\n"
        )));
    }
    text
}

pub fn reinstated(r: &crate::commands::reinstate::Reinstate, format: Format) -> anyhow::Result<()> {
    let values = [
        r.old_account_id.clone(),
        r.new_account_id.clone(),
        r.email.clone(),
        r.dry_run.to_string(),
    ];
    const COLUMNS: &[&str] = &["old_account_id", "new_account_id", "email", "dry_run"];
    match format {
        Format::Json => Ok(print_json(&super::json::ReinstateView::from(r))?),
        Format::Csv => {
            let mut sink = Sink::stdout(format, COLUMNS)?;
            sink.row(&values)?;
            Ok(sink.finish()?)
        }
        Format::Table => Ok(print_text(&describe_reinstate(r, !r.dry_run))?),
    }
}

/// What a reinstatement does, in words.
pub fn describe_reinstate(r: &crate::commands::reinstate::Reinstate, done: bool) -> String {
    let mut text = format!(
        "{} {} ({}), which had been reverted\n  {} is active again.\n  \
         {} is marked as replaced by it again.\n",
        if done { "Reinstated" } else { "Reinstate" },
        r.new_account_id,
        r.email,
        r.new_account_id,
        r.old_account_id,
    );
    if let Some(reason) = &r.reason {
        text.push_str(&format!(
            "  Reason (recorded in the change log): {reason}\n"
        ));
    }
    text
}

/// What the plan is called in messages about its file.
pub const PLAN: &str = "the plan";

/// Writes the plan (CSV, or a workbook when `as_workbook`; a new owner-only
/// file: crate::files; or standard output) and tells the
/// reviewer what was left out: a summary on standard error, and the rows
/// left out (names and addresses: data, not a message) on standard output: a
/// table, or with `--format json` every one of them. When the plan itself
/// goes to standard output, only the summary is shown.
pub fn plan(
    plan: &crate::commands::plan::Plan,
    out: &crate::files::Target,
    guarded: &crate::files::Guarded,
    format: Format,
    as_workbook: bool,
) -> anyhow::Result<()> {
    use crate::commands::plan::{COLUMNS, LeftOutReason};
    let to_stdout = out.is_stdout();
    match out {
        _ if as_workbook => super::xlsx::plan_book(plan)?.save(out, guarded, PLAN)?,
        crate::files::Target::Stdout => {
            let mut sink = Sink::stdout(Format::Csv, COLUMNS)?;
            for r in &plan.rows {
                sink.row(&r.values())?;
            }
            sink.finish()?;
        }
        crate::files::Target::File(file) => {
            let mut sink = Sink::new(file.create(PLAN)?, Format::Csv, COLUMNS)?;
            for r in &plan.rows {
                sink.row(&r.values())?;
            }
            sink.into_inner()?.commit(guarded, PLAN)?;
        }
    }
    let where_ = out.describe();
    let summary = format!(
        "plan: {} proposed (written to {where_}); left out for individual review: {}, {}, {}, {}",
        plan.rows.len(),
        plural(
            plan.count(LeftOutReason::Administrator),
            "administrator account",
            "administrator accounts"
        ),
        plural(
            plan.count(LeftOutReason::SharedAddress),
            "account matched to a shared address",
            "accounts matched to a shared address"
        ),
        plural(
            plan.count(LeftOutReason::AddressOnAccount),
            "address already on an account",
            "addresses already on an account"
        ),
        plural(
            plan.count(LeftOutReason::AddressIsUsername),
            "address already a username",
            "addresses already a username"
        ),
    );
    // Only an area operator's plan can leave accounts out for this.
    let summary = match plan.count(LeftOutReason::OutsideArea) {
        0 => summary,
        n => format!(
            "{summary}, {}",
            plural(
                n,
                "account with a role outside your area",
                "accounts with roles outside your area"
            )
        ),
    };
    if format == Format::Json {
        print_json(&super::json::PlanView::new(
            &where_,
            plan.rows.len(),
            &plan.left_out,
        ))?;
        message(&summary);
        return Ok(());
    }
    message(&summary);
    if plan.left_out.is_empty() {
        return Ok(());
    }
    if to_stdout {
        message(
            "to list the accounts left out, write the plan to a file (--out FILE) or use --format json",
        );
        return Ok(());
    }
    const SHOWN: usize = 50;
    let rows: Vec<Vec<String>> = plan
        .left_out
        .iter()
        .take(SHOWN)
        .map(|l| {
            vec![
                l.row.account_id.clone(),
                format!("{} {}", l.row.given_name, l.row.family_name),
                l.row.new_email.clone(),
                l.why.as_str().to_string(),
                if let Some(who) = &l.who_can_act {
                    who.clone()
                } else if l.accounts_matched.is_empty() {
                    l.row.organisations.clone()
                } else {
                    format!("matched by: {}", l.accounts_matched.join(", "))
                },
            ]
        })
        .collect();
    let mut text = String::from("left out of the plan:\n");
    text.push_str(&render_table(
        &["account_id", "name", "address", "why", "detail"],
        &rows,
    ));
    text.push('\n');
    if plan.left_out.len() > SHOWN {
        text.push_str(&shown(&format!(
            "... and {} more: list them all with --format json\n",
            plan.left_out.len() - SHOWN
        )));
    }
    print_text(&text)?;
    Ok(())
}

/// The activity an account can see.
pub fn history(list: &[crate::model::Activity], format: Format) -> anyhow::Result<()> {
    let rows = list.iter().map(|a| {
        (
            [
                a.activity_id.as_str(),
                &a.ods_code,
                &a.account_id,
                a.kind.as_str(),
                &a.occurred_at,
                a.detail.as_deref().unwrap_or(""),
            ],
            super::json::ActivityRecord::from(a),
        )
    });
    records(format, crate::commands::history::COLUMNS, rows)?;
    if format == Format::Table && list.is_empty() {
        message("no activity this account can see");
    }
    Ok(())
}

/// Writes records in `format`. A table piped to another program or a file is
/// written directly as Markdown, exactly as the shared renderer writes it
/// there, because the renderer takes a third of a second for the 40,000 rows
/// of a region's history; at a terminal (boxes, wrapping to the width) and for
/// cells the direct writer cannot measure (several lines, non-ASCII), the
/// shared renderer is used.
pub fn records<'a, const N: usize, R: serde::Serialize>(
    format: Format,
    headers: &[&'static str],
    rows: impl Iterator<Item = ([&'a str; N], R)>,
) -> io::Result<()> {
    if format != Format::Table || io::stdout().is_terminal() {
        let mut sink = Sink::stdout(format, headers)?;
        for (cells, record) in rows {
            sink.record(&cells, &record)?;
        }
        return sink.finish();
    }
    let rows: Vec<[&str; N]> = rows.map(|(cells, _)| cells).collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Printable ASCII only: anything else (a line break, a control character
    // from an old store) goes through the renderer, which escapes it.
    let plain = |c: &str| c.bytes().all(|b| (0x20..0x7F).contains(&b));
    if !rows.iter().all(|r| r.iter().all(|c| plain(c))) {
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.to_vec()).collect();
        return print_text(&render_table(headers, &rows));
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    // Padded by hand, not with `write!`'s `{:<w$}`: the cells are
    // printable ASCII (checked above), so a cell's width is its length, and
    // the formatter's padding, char by char, was a tenth of a region's
    // history.
    let line = |out: &mut io::BufWriter<io::StdoutLock<'_>>, cells: &[&str]| -> io::Result<()> {
        for (c, &w) in cells.iter().zip(&widths) {
            out.write_all(b"| ")?;
            out.write_all(c.as_bytes())?;
            let mut pad = w + 1 - c.len();
            while pad > 0 {
                let n = pad.min(SPACES.len());
                out.write_all(&SPACES[..n])?;
                pad -= n;
            }
        }
        out.write_all(b"|\n")
    };
    line(&mut out, headers)?;
    for w in &widths {
        write!(out, "|{}", "-".repeat(w + 2))?;
    }
    out.write_all(b"|\n")?;
    for row in &rows {
        line(&mut out, row)?;
    }
    out.flush()
}

/// Padding for [`records`]' plain tables.
const SPACES: &[u8; 64] = &[b' '; 64];

/// One row per replacement; the summary on standard error.
pub fn verify(list: &[crate::commands::verify::Verified], format: Format) -> anyhow::Result<()> {
    let rows = list.iter().map(|v| {
        (
            [
                v.old_account_id.as_str(),
                &v.new_account_id,
                v.new_status.as_str(),
                if v.roles_equal { "true" } else { "false" },
                if v.history_equal { "true" } else { "false" },
                &v.detail,
                v.checked.as_str(),
            ],
            super::json::VerifiedRecord::from(v),
        )
    });
    records(format, crate::commands::verify::COLUMNS, rows)?;
    use crate::commands::verify::Checked;
    let bad = list.iter().filter(|v| v.fails()).count();
    let replacements = list
        .iter()
        .filter(|v| v.checked != Checked::NotAReplacement)
        .count();
    let not_replacements = list.len() - replacements;
    if replacements == 0 {
        message("no replacement accounts to verify");
    } else if bad == 0 {
        message(&format!(
            "verified {}: each has exactly the old account's roles and sees the same history",
            plural(replacements, "replacement", "replacements")
        ));
    }
    if not_replacements > 0 {
        message(&format!(
            "{} with the address of an account here {} not its replacement (the `not-a-replacement` rows say what differs); the old account stays in the report",
            plural(not_replacements, "other account", "other accounts"),
            if not_replacements == 1 { "is" } else { "are" },
        ));
    }
    Ok(())
}

/// Where the export went, on standard error (JSON on standard output).
pub fn exported(e: &crate::commands::export::Exported, format: Format) -> anyhow::Result<()> {
    use crate::cli::ExportFile;
    if format == Format::Json {
        print_json(&super::json::ExportView::from(e))?;
    }
    let parts: Vec<String> = e
        .files
        .iter()
        .map(|f| {
            let rows = match (f.file, e.all) {
                (ExportFile::Accounts, true) => plural(f.rows, "account", "accounts"),
                (ExportFile::Accounts, false) => {
                    plural(f.rows, "replacement account", "replacement accounts")
                }
                (ExportFile::Permissions, _) => plural(f.rows, "role", "roles"),
            };
            format!("{rows} to {}", f.written_to)
        })
        .collect();
    message(&format!("exported {}", parts.join(" and ")));
    Ok(())
}

/// The change log.
pub fn log(entries: &[crate::store::LogEntry], format: Format) -> anyhow::Result<()> {
    let seqs: Vec<String> = entries.iter().map(|e| e.seq.to_string()).collect();
    let rows = entries.iter().zip(&seqs).map(|(e, seq)| {
        (
            [
                seq.as_str(),
                &e.at,
                &e.actor,
                &e.action,
                e.old_account_id.as_deref().unwrap_or(""),
                e.new_account_id.as_deref().unwrap_or(""),
                e.email.as_deref().unwrap_or(""),
                e.reason.as_deref().unwrap_or(""),
            ],
            super::json::LogRecord::from(e),
        )
    });
    records(format, crate::commands::log::COLUMNS, rows)?;
    if entries.is_empty() && format == Format::Table {
        message("the change log has no entries that match");
    }
    Ok(())
}
