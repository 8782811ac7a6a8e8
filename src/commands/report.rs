//! `report`: who must do what before cutover, grouped by whom they contact
//! (rules.md, "What each user must do" and "Who to contact").

use std::rc::Rc;

use anyhow::Result;

use crate::audit::{AuditOptions, AuditRow, Organisations, audit};
use crate::cli::{FollowUpFilter, ReportArgs};
use crate::commands::checks;
use crate::commands::cutover::Dates;
use crate::rules::{Category, Contact, Section};
use crate::store::{FollowUp, KeptReport, KeptRow, Store, encode_row};
use rustc_hash::{FxHashMap, FxHashSet};

/// The columns cli.md fixes for `report`, then the dates.
pub const COLUMNS: &[&str] = &[
    "section",
    "contact_code",
    "contact_name",
    "contact_email",
    "account_id",
    "email",
    "given_name",
    "family_name",
    "category",
    "match",
    "cutover",
    "days_until_cutover",
    "follow_up",
    "not_a_replacement",
];

/// One line of the report: one account under one of its contacts.
///
/// A national report has 200,000 rows and a few thousand contacts: the
/// contact's details are shared by its rows, and the account's texts are
/// held in one string per row (one allocation, not five).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub section: Section,
    pub contact: Rc<Contact>,
    pub contact_name: Rc<str>,
    pub contact_email: Rc<str>,
    pub category: Category,
    /// Where an operator says the account's case stands.
    pub follow_up: Option<FollowUp>,
    /// account_id, email, given_name, family_name, match and
    /// not_a_replacement, one after another.
    text: String,
    ends: [u32; 6],
}

impl ReportRow {
    fn text(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn account_id(&self) -> &str {
        self.text(0)
    }

    pub fn email(&self) -> &str {
        self.text(1)
    }

    pub fn given_name(&self) -> &str {
        self.text(2)
    }

    pub fn family_name(&self) -> &str {
        self.text(3)
    }

    /// The `match` column.
    pub fn nhsmail_match(&self) -> &str {
        self.text(4)
    }

    /// The `not_a_replacement` column: which account of CQRS's holds the
    /// match's address (or the account's own) without being its
    /// replacement, and what differs; empty for nearly every row.
    pub fn not_a_replacement(&self) -> &str {
        self.text(5)
    }
}

#[derive(Debug)]
pub struct Report {
    pub dates: Dates,
    /// Sorted by section, then contact (the CQRS administrator last), then account.
    pub rows: Vec<ReportRow>,
    /// Why the report could not check the accounts (nothing imported to check
    /// them with), so that it must not read as an all-clear.
    pub unchecked: Option<String>,
    /// The sections asked for (every one without `--section`), in the
    /// report's order: a workbook has a sheet for each, rows or none.
    pub sections: Vec<Section>,
}

impl Report {
    /// Distinct accounts that need action. Counted when asked for (a table,
    /// a workbook, `--check`), not for every report: counting 200,000 rows'
    /// accounts in a set was a tenth of a national `report --format csv`,
    /// which never shows it.
    pub fn accounts(&self) -> u64 {
        self.rows
            .iter()
            .map(ReportRow::account_id)
            .collect::<FxHashSet<&str>>()
            .len() as u64
    }
}

/// Builds the report. Its rows for the whole store are kept in the store
/// (`report_cache`) until the next write, so a report on an unchanged store,
/// or for one commissioner after another, needs no new audit.
pub fn run(store: &mut Store, args: &ReportArgs, dates: Dates) -> Result<Report> {
    if args.check {
        checks::require_checkable(store, "report")?;
    }
    if let Some(code) = &args.contact {
        checks::require_known_code(store, "--contact", code, true)?;
    }
    let unchecked = checks::why_unchecked(store)?;
    let organisations = Organisations::load(store)?;
    let generation = store.generation()?;
    let mut rows = Vec::new();
    let keep = |section: &str, code: &str| {
        (args.section.is_empty() || args.section.iter().any(|s| s.as_str() == section))
            && args
                .contact
                .as_ref()
                .is_none_or(|wanted| code.eq_ignore_ascii_case(wanted.trim()))
    };
    let mut contacts = Contacts::default();
    // A row that cannot be shown is an error, never a row left out: a report
    // (and `report --check`) with rows missing would read as fewer accounts
    // needing action.
    let mut unshown = None;
    let cached = store.for_each_cached_report_row(generation, |row| {
        if unshown.is_none() && keep(row.section.as_str(), row.contact_code) {
            match from_cache(&organisations, &mut contacts, row) {
                Ok(r) => rows.push(r),
                Err(e) => unshown = Some(e),
            }
        }
    })?;
    if let Some(e) = unshown {
        return Err(e);
    }
    if !cached {
        // Rows a back end streamed before it found the kept report damaged
        // (PostgreSQL's) are not the report: the computed rows replace them.
        rows.clear();
        // Both ways give the rows in the report's order.
        let mut kept = KeptRows::default();
        audit(store, AuditOptions::default(), |row| {
            kept.add(&organisations, row);
            Ok(())
        })?;
        let report = kept.into_report();
        let computed = report.rows().map_err(|e| {
            anyhow::anyhow!(
                "the report's rows could not be read back after the audit ({e}): nothing was \
                 shown and nothing was changed; this is a fault in cqrs-admin, please report it"
            )
        })?;
        for row in computed
            .iter()
            .filter(|row| keep(row.section.as_str(), row.contact_code))
        {
            rows.push(from_cache(&organisations, &mut contacts, row)?);
        }
        self::keep(store, generation, &report);
    }
    // Kept apart from the kept report: setting a state must not make the
    // next report audit the whole store again.
    let follow_ups = store.follow_ups()?;
    if !follow_ups.is_empty() {
        for row in &mut rows {
            row.follow_up = follow_ups.get(row.account_id()).copied();
        }
    }
    if !args.follow_up.is_empty() {
        rows.retain(|row| {
            args.follow_up.iter().any(|wanted| match wanted {
                FollowUpFilter::None => row.follow_up.is_none(),
                FollowUpFilter::Contacted => row.follow_up == Some(FollowUp::Contacted),
                FollowUpFilter::AwaitingUser => row.follow_up == Some(FollowUp::AwaitingUser),
                FollowUpFilter::DoneInCqrs => row.follow_up == Some(FollowUp::DoneInCqrs),
            })
        });
    }
    let sections = Section::ALL
        .iter()
        .copied()
        .filter(|s| args.section.is_empty() || args.section.contains(s))
        .collect();
    Ok(Report {
        dates,
        rows,
        unchecked,
        sections,
    })
}

/// Report rows gathered during an audit, already encoded as the store keeps
/// them: a national audit keeps about 200,000, and owned rows would cost the
/// audit more memory than its budget allows.
///
/// The audit visits accounts in account_id order, so rows grouped by section
/// and contact as they arrive are already in the report's order within each
/// group: only the few thousand groups need sorting, not every row.
#[derive(Default)]
pub struct KeptRows {
    /// The encoded rows of each (section, contact code), in arrival order.
    groups: Vec<Vec<u8>>,
    /// Where each contact code's group is, by section rank.
    group_of: [FxHashMap<String, usize>; 3],
    /// How many rows were encoded, kept with them to show a row lost.
    count: u64,
}

impl KeptRows {
    /// Adds the report's rows for one audited account.
    pub fn add(&mut self, organisations: &Organisations, row: &AuditRow<'_>) {
        if row.section.is_some() {
            self.add_with(row, &organisations.contacts(row.roles));
        }
    }

    /// Adds the report's rows for one audited account whose contacts are
    /// already known.
    pub fn add_with(&mut self, row: &AuditRow<'_>, contacts: &[Contact]) {
        let Some(section) = row.section else {
            return;
        };
        let not_a_replacement = row.not_a_replacement_column();
        let rank = Section::ALL.iter().position(|s| *s == section).unwrap_or(0);
        for contact in contacts {
            let group = match self.group_of[rank].get(contact.code()) {
                Some(&group) => group,
                None => {
                    self.groups.push(Vec::new());
                    self.group_of[rank].insert(contact.code().to_string(), self.groups.len() - 1);
                    self.groups.len() - 1
                }
            };
            self.count += 1;
            encode_row(
                &mut self.groups[group],
                section,
                row.category,
                [
                    contact.code(),
                    row.account.account_id,
                    row.account.email,
                    row.account.given_name,
                    row.account.family_name,
                    row.match_column(),
                    &not_a_replacement,
                ],
            );
        }
    }

    /// The rows in the report's order (the kept value's order): section,
    /// contact code (ODS codes sort before `cqrs-administrator`), account id.
    pub fn into_report(self) -> KeptReport {
        let mut order: Vec<(usize, &str, usize)> = self
            .group_of
            .iter()
            .enumerate()
            .flat_map(|(rank, codes)| codes.iter().map(move |(code, &g)| (rank, code.as_str(), g)))
            .collect();
        order.sort_unstable();
        let order: Vec<usize> = order.into_iter().map(|(_, _, g)| g).collect();
        let mut groups: Vec<Option<Vec<u8>>> = self.groups.into_iter().map(Some).collect();
        KeptReport::from_parts(
            order.into_iter().filter_map(|g| groups[g].take()).collect(),
            self.count,
        )
    }
}

/// Keeps the report's rows for the next report. Best effort: a read-only
/// store just keeps none.
pub fn keep(store: &mut Store, generation: u64, report: &KeptReport) {
    match store.save_report_cache(generation, report) {
        Ok(()) => tracing::info!("report rows kept"),
        Err(e) => tracing::info!("report not kept: {e:#}"),
    }
}

/// A contact with its name and email, shared by its rows.
type ContactDetails = (Rc<Contact>, Rc<str>, Rc<str>);

/// Each contact with its name and email, looked up once per contact; the
/// last one used is kept apart, because the rows come grouped by contact
/// and a look-up by code for each of 200,000 rows cost more than comparing
/// the code with the last one.
#[derive(Default)]
struct Contacts {
    by_code: FxHashMap<String, ContactDetails>,
    last: Option<ContactDetails>,
}

/// The contact a kept row's contact code names, with its name and email.
pub fn contact_of(organisations: &Organisations, code: &str) -> (Contact, String, String) {
    let contact = if code == Contact::ADMINISTRATOR_CODE {
        Contact::CqrsAdministrator
    } else {
        Contact::Organisation(code.to_string())
    };
    let (name, email) = organisations.contact_details(&contact);
    (contact, name, email)
}

fn from_cache(
    organisations: &Organisations,
    contacts: &mut Contacts,
    row: &KeptRow<'_>,
) -> Result<ReportRow> {
    let code = row.contact_code;
    let (contact, contact_name, contact_email) = match &contacts.last {
        Some(last) if last.0.code() == code => last.clone(),
        _ => {
            let details = match contacts.by_code.get(code) {
                Some(details) => details.clone(),
                None => {
                    let (contact, name, email) = contact_of(organisations, code);
                    let details = (
                        Rc::new(contact),
                        Rc::<str>::from(name),
                        Rc::<str>::from(email),
                    );
                    contacts.by_code.insert(code.to_string(), details.clone());
                    details
                }
            };
            contacts.last = Some(details.clone());
            details
        }
    };
    let parts = row.account_texts();
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    let mut ends = [0u32; 6];
    for (end, part) in ends.iter_mut().zip(parts) {
        text.push_str(part);
        *end = u32::try_from(text.len()).map_err(|_| {
            anyhow::anyhow!(
                "account {}: its report row is over 4 GB and cannot be shown: \
                 check the account's fields in the accounts file",
                row.account_id
            )
        })?;
    }
    Ok(ReportRow {
        section: row.section,
        contact,
        contact_name,
        contact_email,
        category: row.category,
        follow_up: None,
        text,
        ends,
    })
}
