//! How each command's records look, in each format.

use std::io;

use super::{Sink, message, print_json, print_text, render_table, shown, warning};
use crate::cli::Format;
use crate::commands::accounts::AccountDetails;
use crate::commands::audit::AuditSummary;
use crate::commands::cutover::Dates;
use crate::commands::import::ImportOutcome;
use crate::commands::report::{self, Report};
use crate::commands::signin::Signin;
use crate::commands::store_copy::CopiedStore;
use crate::model::RoleGrant;
use crate::rules::{Section, SigninOutcome};

/// The one-line import summary, on standard error.
pub fn import(outcome: &ImportOutcome) {
    for w in &outcome.warnings {
        warning(&format!("{}: {w}", outcome.file));
    }
    let c = outcome.counts;
    let what = if outcome.dry_run {
        "would import"
    } else {
        "imported"
    };
    let mut line = format!(
        "{} {}: {} rows from {} ({} added, {} updated, {} unchanged)",
        what,
        outcome.kind.as_str(),
        outcome.rows,
        outcome.file,
        c.added,
        c.updated,
        c.unchanged
    );
    if let Some(previous) = c.replaced {
        line.push_str(&format!(
            "; replaced the previous extract of {previous} entries"
        ));
    }
    if outcome.dry_run {
        line.push_str("; nothing was written (--dry-run)");
    }
    message(&line);
}

/// Counts per category, on standard error after a table (data stays clean).
pub fn audit_summary(summary: &AuditSummary, format: Format, counts_shown: bool) {
    // In every format: rows or counts of nothing must not pass for a check.
    if let Some(why) = &summary.unchecked {
        warning(&format!("the accounts were not checked: {why}"));
    }
    if let Some(why) = &summary.snapshot_not_kept {
        warning(why);
    }
    if let Some(why) = &summary.snapshot_note {
        message(&format!("note: {why}"));
    }
    if format != Format::Table || counts_shown {
        return;
    }
    let parts: Vec<String> = summary
        .counts
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    message(&format!(
        "{} accounts: {}; {} need action before cutover",
        summary.shown,
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        },
        summary.needing_action
    ));
}

/// The report's rows as CSV or JSON records (`report --format csv|json`,
/// printed or written to a file).
pub(super) fn report_records<W: io::Write>(
    report: &Report,
    rows: &[&report::ReportRow],
    sink: &mut Sink<W>,
) -> io::Result<()> {
    let cutover = report.dates.cutover.to_string();
    let days = report.dates.days_left().to_string();
    let days_until_cutover = report.dates.days_left();
    if sink.is_csv() {
        return report_csv(rows, &cutover, &days, sink);
    }
    for r in rows {
        let cells = report_values(r, &cutover, &days);
        sink.record(
            &cells,
            &super::json::ReportRecord::new(&cells, days_until_cutover),
        )?;
    }
    Ok(())
}

/// The report's rows as CSV, the cells each contact's rows share (section,
/// contact) and every row shares (the dates) rendered once: the same bytes
/// as [`Sink::record`] with [`report_values`] (a test compares them).
fn report_csv<W: io::Write>(
    rows: &[&report::ReportRow],
    cutover: &str,
    days: &str,
    sink: &mut Sink<W>,
) -> io::Result<()> {
    use super::csv_rows::{Piece, render_cells};
    let dates = render_cells(&[cutover, days]);
    let mut group: Option<(&report::ReportRow, Vec<u8>)> = None;
    for r in rows {
        // The rows hold their contact's details, so equal pointers are the
        // same details.
        let same = group.as_ref().is_some_and(|(first, _)| {
            first.section == r.section
                && std::rc::Rc::ptr_eq(&first.contact, &r.contact)
                && std::rc::Rc::ptr_eq(&first.contact_name, &r.contact_name)
                && std::rc::Rc::ptr_eq(&first.contact_email, &r.contact_email)
        });
        if !same {
            let front = render_cells(&[
                r.section.as_str(),
                r.contact.code(),
                &r.contact_name,
                &r.contact_email,
            ]);
            group = Some((r, front));
        }
        let front = group
            .as_ref()
            .map_or(&[][..], |(_, front)| front.as_slice());
        sink.csv_pieces(&[
            Piece::Rendered {
                bytes: front,
                fields: 4,
            },
            Piece::Cell(r.account_id()),
            Piece::Cell(r.email()),
            Piece::Cell(r.given_name()),
            Piece::Cell(r.family_name()),
            Piece::Cell(r.category.as_str()),
            Piece::Cell(r.nhsmail_match()),
            Piece::Rendered {
                bytes: &dates,
                fields: 2,
            },
            Piece::Cell(r.follow_up.map_or("", |f| f.as_str())),
            Piece::Cell(r.not_a_replacement()),
        ])?;
    }
    Ok(())
}

pub(super) fn report_values<'a>(
    r: &'a report::ReportRow,
    cutover: &'a str,
    days: &'a str,
) -> [&'a str; 14] {
    [
        r.section.as_str(),
        r.contact.code(),
        &r.contact_name,
        &r.contact_email,
        r.account_id(),
        r.email(),
        r.given_name(),
        r.family_name(),
        r.category.as_str(),
        r.nhsmail_match(),
        cutover,
        days,
        r.follow_up.map_or("", |f| f.as_str()),
        r.not_a_replacement(),
    ]
}

/// The report: grouped text at a terminal, flat rows for scripts.
pub fn report(report: &Report, format: Format) -> io::Result<()> {
    if let Some(why) = &report.unchecked {
        warning(&format!("the accounts were not checked: {why}"));
    }
    if format != Format::Table {
        let mut sink = Sink::stdout(format, report::COLUMNS)?;
        let rows: Vec<&report::ReportRow> = report.rows.iter().collect();
        report_records(report, &rows, &mut sink)?;
        return sink.finish();
    }
    let mut text = String::new();
    text.push_str(&shown(&format!(
        "{} (today is {})\n",
        report.dates.describe(),
        report.dates.today
    )));
    if report.rows.is_empty() {
        text.push_str(if report.unchecked.is_some() {
            "\nNothing was checked (see the warning above).\n"
        } else {
            "\nNo account needs action before cutover.\n"
        });
        return print_text(&text);
    }
    let accounts = report.accounts();
    text.push_str(&shown(&format!(
        "{} account{} need action before cutover.\n",
        accounts,
        if accounts == 1 { "" } else { "s" }
    )));
    // A column of blanks until an operator has set a follow-up state; CSV
    // and JSON always have it.
    let follow_ups = report.rows.iter().any(|r| r.follow_up.is_some());
    let mut headers = vec!["account_id", "name", "email", "category", "match"];
    if follow_ups {
        headers.push("follow_up");
    }
    let mut i = 0;
    while i < report.rows.len() {
        let section = report.rows[i].section;
        text.push_str(&shown(&format!(
            "\n== {} ==\n{}\n",
            section_title(section),
            section.advice()
        )));
        while i < report.rows.len() && report.rows[i].section == section {
            let first = &report.rows[i];
            let contact = first.contact.clone();
            let mut rows = Vec::new();
            // What differs in an account of CQRS's that is not the
            // replacement: too long for a column, so said under the table.
            let mut differences = Vec::new();
            while i < report.rows.len()
                && report.rows[i].section == section
                && report.rows[i].contact == contact
            {
                let r = &report.rows[i];
                let mut row = vec![
                    r.account_id().to_string(),
                    format!("{} {}", r.given_name(), r.family_name()),
                    r.email().to_string(),
                    r.category.as_str().to_string(),
                    r.nhsmail_match().to_string(),
                ];
                if follow_ups {
                    row.push(r.follow_up.map_or("", |f| f.as_str()).to_string());
                }
                rows.push(row);
                if !r.not_a_replacement().is_empty() {
                    differences.push((r.account_id(), r.not_a_replacement()));
                }
                i += 1;
            }
            let email = if first.contact_email.is_empty() {
                String::new()
            } else {
                format!(" <{}>", first.contact_email)
            };
            text.push_str(&shown(&format!(
                "\nContact: {} ({}){} - {} account{}\n",
                first.contact_name,
                contact.code(),
                email,
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )));
            text.push_str(&render_table(&headers, &rows));
            if !differences.is_empty() {
                text.push_str(
                    "\nNot replacements (accounts that hold the address but are not the \
                     account's replacement):\n",
                );
                let lines: Vec<_> = differences
                    .iter()
                    .map(|(account_id, difference)| {
                        shown(&format!("  {account_id}: {difference}")).into_owned()
                    })
                    .collect();
                text.push_str(&lines.join("\n"));
            }
            text.push('\n');
        }
    }
    print_text(&text)
}

fn section_title(section: Section) -> &'static str {
    match section {
        Section::ContactCommissioner => "Contact your commissioner before cutover",
        Section::NoNhsmail => "No NHSmail account: keep using your username and password",
        Section::Administrator => "Needs a CQRS administrator before cutover",
    }
}

fn roles_rows(roles: &[RoleGrant]) -> Vec<Vec<String>> {
    roles
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
        .collect()
}

pub fn signin(s: &Signin, format: Format) -> io::Result<()> {
    let account_ids = s.outcome.account_ids();
    match format {
        Format::Json => print_json(&super::json::SigninView::new(s)),
        Format::Csv => {
            let mut sink =
                Sink::stdout(format, &["address", "outcome", "account_ids", "next_step"])?;
            sink.row(&[
                s.address.as_str(),
                s.outcome.as_str(),
                &account_ids.join(";"),
                s.outcome.next_step(),
            ])?;
            sink.finish()
        }
        Format::Table => {
            let mut text = shown(&format!(
                "Signing in with {} on cutover day\n  NHSmail directory: {}\n  Outcome: {}\n\n  What they see: {}\n  What to do: {}\n",
                s.address,
                s.directory,
                s.outcome.as_str(),
                s.outcome.screen(),
                s.outcome.next_step()
            )).into_owned();
            if let SigninOutcome::Ambiguous(ids) = &s.outcome {
                text.push_str(&shown(&format!(
                    "  Accounts with this address: {}\n",
                    ids.join(", ")
                )));
            }
            if let Some((account, roles)) = &s.account {
                text.push_str(&shown(&format!(
                    "\n  Account {}: {} {} ({})\n",
                    account.account_id, account.given_name, account.family_name, account.email
                )));
                if roles.is_empty() {
                    text.push_str("  No roles: the message centre will show nothing to act on.\n");
                } else {
                    text.push_str(&render_table(
                        &["ods_code", "role", "payment_types"],
                        &roles_rows(roles),
                    ));
                    text.push('\n');
                }
            }
            if !s.active_mailboxes.is_empty() {
                text.push_str(&shown(&format!(
                    "\n  This mailbox is disabled, but the same person has an active one: {}\n  \
                     They should sign in with that address (and may need a new CQRS account with it).\n",
                    s.active_mailboxes.join(", ")
                )));
            }
            for f in &s.found_for {
                let contacts: Vec<String> = f
                    .contacts
                    .iter()
                    .map(|(code, name, email)| format!("{name} ({code}) {email}"))
                    .collect();
                text.push_str(&shown(&format!(
                    "\n  This is the NHSmail address found for account {} ({} {}), whose CQRS \
                     address is {}.\n  They need a new account with this address: contact {}\n",
                    f.account_id,
                    f.given_name,
                    f.family_name,
                    f.email,
                    contacts.join("; ")
                )));
            }
            for (made_here, by) in &s.realised {
                text.push_str(&shown(&format!(
                    "  (account {made_here}, the replacement made here for this address, is realised by CQRS's account {by}: sign-in reaches {by})\n"
                )));
            }
            for a in &s.other_accounts {
                let why = match &a.replaced_by {
                    Some(new) => format!("superseded by {new}"),
                    None => "disabled".to_string(),
                };
                text.push_str(&shown(&format!(
                    "  (account {} also has this address but is {why}: it cannot be used to sign in)\n",
                    a.account_id
                )));
            }
            print_text(&text)
        }
    }
}

pub fn accounts(list: &[AccountDetails], format: Format) -> io::Result<()> {
    match format {
        Format::Json => print_json(
            &list
                .iter()
                .map(super::json::AccountView::from)
                .collect::<Vec<_>>(),
        ),
        Format::Csv => {
            let mut sink = Sink::stdout(format, super::super::commands::audit::COLUMNS)?;
            for d in list {
                sink.row(&[
                    d.account.account_id.as_str(),
                    &d.account.email,
                    &d.account.given_name,
                    &d.account.family_name,
                    d.category.as_str(),
                    d.nhsmail_match.as_ref().map_or("", |m| m.as_column()),
                    d.section.map_or("", |s| s.as_str()),
                ])?;
            }
            sink.finish()
        }
        Format::Table => {
            let mut text = String::new();
            for d in list {
                let a = &d.account;
                text.push_str(&shown(&format!(
                    "Account {}\n  name: {} {}\n  username: {}\n  email: {}\n  status: {}\n",
                    a.account_id, a.given_name, a.family_name, a.username, a.email, a.status
                )));
                if let Some(new) = &a.replaced_by {
                    text.push_str(&shown(&format!("  replaced by: {new}\n")));
                }
                if let Some(old) = &d.replaces {
                    text.push_str(&shown(&format!("  replaces: {old}\n")));
                }
                for c in &d.cqrs {
                    text.push_str(&shown(&format!("  in CQRS: {c}\n")));
                }
                text.push_str(&shown(&format!("  category: {}\n", d.category)));
                if let Some(why) = &d.invalid_because {
                    text.push_str(&shown(&format!("  invalid because: {why}\n")));
                }
                if let Some(m) = &d.nhsmail_match {
                    text.push_str(&shown(&format!("  NHSmail match: {}\n", m.as_column())));
                }
                if let Some(s) = d.section {
                    text.push_str(&shown(&format!(
                        "  section: {s}\n  what to do: {}\n",
                        s.advice()
                    )));
                }
                for s in &d.suggestions {
                    text.push_str(&shown(&format!(
                        "  suggestion (confirm with the user): {s}\n"
                    )));
                }
                for (code, name, email) in &d.contacts {
                    text.push_str(&shown(&format!("  contact: {name} ({code}) {email}\n")));
                }
                if let Some(f) = &d.follow_up {
                    text.push_str(&shown(&format!(
                        "  follow-up: {} (set {} by {})\n",
                        f.state.as_str(),
                        f.date,
                        f.actor
                    )));
                }
                for n in &d.notes {
                    text.push_str(&shown(&format!(
                        "  note ({}, {}): {}\n",
                        n.date,
                        n.actor,
                        n.text.replace('\n', "\n    ")
                    )));
                }
                if d.roles.is_empty() {
                    text.push_str("  roles: none\n");
                } else {
                    text.push_str(&render_table(
                        &["ods_code", "role", "payment_types"],
                        &roles_rows(&d.roles),
                    ));
                    text.push('\n');
                }
                text.push('\n');
            }
            print_text(text.trim_end())
        }
    }
}

pub fn cutover(dates: &Dates, format: Format) -> io::Result<()> {
    match format {
        Format::Json => print_json(&super::json::DatesView::from(dates)),
        Format::Csv => {
            let mut sink = Sink::stdout(format, &["cutover", "today", "days_until_cutover"])?;
            sink.row(&[
                dates.cutover.to_string(),
                dates.today.to_string(),
                dates.days_left().to_string(),
            ])?;
            sink.finish()
        }
        Format::Table => print_text(&format!("{} (today is {})", dates.describe(), dates.today)),
    }
}

/// What `man --out` wrote: the folder and its pages in JSON; a line on
/// standard error for a person.
pub fn manual_pages(written: &crate::commands::man::Written, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        print_json(written)?;
    }
    let first = written.folder.join("cqrs-admin.1");
    message(&format!(
        "wrote {} manual pages to {} (read one with `man -l {}`)",
        written.files.len(),
        written.folder.display(),
        first.display()
    ));
    Ok(())
}

/// A note kept: the note in JSON, a line for a person.
pub fn noted(n: &crate::commands::accounts::Noted, format: Format) -> io::Result<()> {
    match format {
        Format::Json => print_json(n),
        Format::Csv => {
            let mut sink = Sink::stdout(format, &["account_id", "date", "actor", "note"])?;
            sink.row(&[
                n.account_id.as_str(),
                &n.note.date.to_string(),
                &n.note.actor,
                &n.note.text,
            ])?;
            sink.finish()
        }
        Format::Table => {
            message(&format!(
                "note added to {} ({}, {}); `cqrs-admin accounts show {}` lists its notes",
                n.account_id, n.note.date, n.note.actor, n.account_id
            ));
            Ok(())
        }
    }
}

/// A follow-up state set: the change in JSON, a line for a person.
pub fn followed_up(f: &crate::commands::accounts::FollowedUp, format: Format) -> io::Result<()> {
    let state = f.state.map_or("none", |s| s.as_str());
    let previous = f.previous.map_or("none", |s| s.as_str());
    match format {
        Format::Json => print_json(f),
        Format::Csv => {
            let mut sink = Sink::stdout(format, &["account_id", "follow_up", "previous"])?;
            sink.row(&[f.account_id.as_str(), state, previous])?;
            sink.finish()
        }
        Format::Table => {
            message(&format!(
                "{}: follow-up {} (was {previous})",
                f.account_id,
                match f.state {
                    Some(s) => format!("set to {}", s.as_str()),
                    None => "cleared".to_string(),
                }
            ));
            Ok(())
        }
    }
}

/// `operators list`: login, area (ODS code or "national"), when and by whom.
pub fn operators(list: &[crate::store::RegisteredOperator], format: Format) -> io::Result<()> {
    use crate::commands::operators::{COLUMNS, area};
    let mut sink = Sink::stdout(format, COLUMNS)?;
    for o in list {
        sink.record(&[o.login.as_str(), area(o), &o.added_at, &o.added_by], o)?;
    }
    sink.finish()?;
    if format == Format::Table && list.is_empty() {
        message("no operators registered yet (`cqrs-admin operators add ROLE [--org ODS]`)");
    }
    Ok(())
}

/// `operators add|remove`: what changed.
pub fn operator_change(
    done: &crate::commands::operators::OperatorChange,
    format: Format,
) -> io::Result<()> {
    if format == Format::Json {
        return print_json(done);
    }
    let o = &done.operator;
    let what = match &o.ods_code {
        None => "a national operator".to_string(),
        Some(code) => format!("an operator for the area of {code} (it and everything below it)"),
    };
    let text = if done.change == "added" {
        format!("{} is now {what}", o.login)
    } else {
        format!(
            "{} is no longer {what}; its grants were taken back",
            o.login
        )
    };
    if format == Format::Csv {
        let mut sink = Sink::stdout(format, &["change", "login", "area"])?;
        sink.row(&[
            done.change.to_string(),
            o.login.clone(),
            crate::commands::operators::area(o).to_string(),
        ])?;
        return sink.finish();
    }
    print_text(&text)
}
/// What `store copy` wrote: rows per table (table, CSV; the whole record
/// in JSON), and a line on standard error naming both stores and the
/// chain's newest entry, to compare with `verify` on either.
pub fn store_copy(copied: &CopiedStore, format: Format) -> io::Result<()> {
    if format == Format::Json {
        print_json(copied)?;
    } else {
        let mut sink = Sink::stdout(format, crate::commands::store_copy::COLUMNS)?;
        for t in &copied.tables {
            sink.row(&[t.table.name().to_string(), t.rows.to_string()])?;
        }
        sink.finish()?;
    }
    let head = match (&copied.head_seq, &copied.head_hash) {
        (Some(seq), Some(hash)) => {
            format!("its change log is the same chain of {seq} entries (newest hash {hash})")
        }
        _ => "its change log is empty".to_string(),
    };
    message(&format!(
        "copied the store {} into {}: {head}",
        copied.from, copied.to
    ));
    Ok(())
}
