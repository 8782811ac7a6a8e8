//! `report`: who must do what before cutover, grouped by whom they contact
//! (rules.md, "What each user must do" and "Who to contact").

use anyhow::Result;

use crate::audit::{AuditOptions, AuditRow, Organisations, audit};
use crate::cli::ReportArgs;
use crate::commands::cutover::Dates;
use crate::fxhash::FxHashMap;
use crate::rules::{Category, Contact, Section};
use crate::store::{KeptReport, Store, encode_row};

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
];

/// One line of the report: one account under one of its contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub section: Section,
    pub contact: Contact,
    pub contact_name: String,
    pub contact_email: String,
    pub account_id: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub category: Category,
    pub nhsmail_match: String,
}

#[derive(Debug)]
pub struct Report {
    pub dates: Dates,
    /// Sorted by section, then contact (the CQRS administrator last), then account.
    pub rows: Vec<ReportRow>,
    /// Distinct accounts that need action.
    pub accounts: u64,
}

/// Builds the report. Its rows for the whole store are kept in the store
/// (`report_cache`) until the next write, so a report on an unchanged store,
/// or for one commissioner after another, needs no new audit.
pub fn run(store: &mut Store, args: &ReportArgs, dates: Dates) -> Result<Report> {
    let organisations = Organisations::load(store)?;
    let generation = store.generation()?;
    let mut rows = Vec::new();
    let keep = |section: &str, code: &str| {
        (args.section.is_empty() || args.section.iter().any(|s| s.as_str() == section))
            && args
                .contact
                .as_ref()
                .is_none_or(|wanted| code.eq_ignore_ascii_case(wanted))
    };
    let cached = store.for_each_cached_report_row(generation, |row| {
        if keep(row[0], row[1])
            && let Some(r) = from_cache(&organisations, row)
        {
            rows.push(r);
        }
    })?;
    if !cached {
        // Both ways give the rows in the report's order.
        let mut kept = KeptRows::default();
        audit(store, AuditOptions::default(), |row| {
            kept.add(&organisations, row);
            Ok(())
        })?;
        let report = kept.into_report();
        rows.extend(
            report
                .rows()
                .unwrap_or_default()
                .into_iter()
                .filter(|row| keep(row[0], row[1]))
                .filter_map(|row| from_cache(&organisations, row)),
        );
        self::keep(store, generation, &report);
    }
    let mut ids: Vec<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let accounts = ids.len() as u64;
    Ok(Report {
        dates,
        rows,
        accounts,
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
}

impl KeptRows {
    /// Adds the report's rows for one audited account.
    pub fn add(&mut self, organisations: &Organisations, row: &AuditRow<'_>) {
        let Some(section) = row.section else {
            return;
        };
        let rank = Section::ALL.iter().position(|s| *s == section).unwrap_or(0);
        for contact in organisations.contacts(row.roles) {
            let group = match self.group_of[rank].get(contact.code()) {
                Some(&group) => group,
                None => {
                    self.groups.push(Vec::new());
                    self.group_of[rank].insert(contact.code().to_string(), self.groups.len() - 1);
                    self.groups.len() - 1
                }
            };
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
        KeptReport::from_parts(order.into_iter().filter_map(|g| groups[g].take()).collect())
    }
}

/// Keeps the report's rows for the next report. Best effort: a read-only
/// store just keeps none.
pub fn keep(store: &mut Store, generation: u64, report: &KeptReport) {
    if let Err(e) = store.save_report_cache(generation, report) {
        crate::trace(&format!("report not kept: {e:#}"));
    }
    crate::trace("report rows kept");
}

fn from_cache(organisations: &Organisations, row: [&str; 8]) -> Option<ReportRow> {
    let [
        section,
        code,
        account_id,
        email,
        given_name,
        family_name,
        category,
        nhsmail_match,
    ] = row;
    let contact = if code == Contact::ADMINISTRATOR_CODE {
        Contact::CqrsAdministrator
    } else {
        Contact::Organisation(code.to_string())
    };
    let (contact_name, contact_email) = organisations.contact_details(&contact);
    Some(ReportRow {
        section: Section::parse(section)?,
        contact,
        contact_name,
        contact_email,
        account_id: account_id.to_string(),
        email: email.to_string(),
        given_name: given_name.to_string(),
        family_name: family_name.to_string(),
        category: Category::parse(category)?,
        nhsmail_match: nhsmail_match.to_string(),
    })
}
