//! `report`: who must do what before cutover, grouped by whom they contact
//! (rules.md, "What each user must do" and "Who to contact").

use anyhow::Result;

use crate::audit::{AuditOptions, Organisations, audit};
use crate::cli::ReportArgs;
use crate::commands::cutover::Dates;
use crate::rules::{Category, Contact, Section};
use crate::store::Store;

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

pub fn run(store: &Store, args: &ReportArgs, dates: Dates) -> Result<Report> {
    let organisations = Organisations::load(store)?;
    let mut rows = Vec::new();
    let mut accounts = 0;
    audit(store, AuditOptions::default(), |row| {
        let Some(section) = row.section else {
            return Ok(());
        };
        if !args.section.is_empty() && !args.section.contains(&section) {
            return Ok(());
        }
        let mut counted = false;
        for contact in organisations.contacts(row.roles) {
            if let Some(wanted) = &args.contact
                && !contact.code().eq_ignore_ascii_case(wanted)
            {
                continue;
            }
            counted = true;
            let (contact_name, contact_email) = organisations.contact_details(&contact);
            rows.push(ReportRow {
                section,
                contact,
                contact_name,
                contact_email,
                account_id: row.account.account_id.to_string(),
                email: row.account.email.to_string(),
                given_name: row.account.given_name.to_string(),
                family_name: row.account.family_name.to_string(),
                category: row.category,
                nhsmail_match: row.match_column().to_string(),
            });
        }
        accounts += u64::from(counted);
        Ok(())
    })?;
    rows.sort_by(|a, b| {
        (a.section, &a.contact, &a.account_id).cmp(&(b.section, &b.contact, &b.account_id))
    });
    Ok(Report {
        dates,
        rows,
        accounts,
    })
}
