//! `report`: who must do what before cutover, grouped by whom they contact
//! (rules.md, "What each user must do" and "Who to contact").

use anyhow::Result;

use crate::audit::{AuditOptions, AuditRow, Organisations, audit};
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
    // The cache is read in the report's order; a computed report is sorted.
    let rows = if cached {
        rows
    } else {
        {
            let mut rows = compute(store, &organisations)?;
            keep_for_next_report(store, generation, &rows);
            rows.retain(|r| keep(r.section.as_str(), r.contact.code()));
            rows.sort_by(|a, b| {
                (a.section, &a.contact, &a.account_id).cmp(&(b.section, &b.contact, &b.account_id))
            });
            rows
        }
    };
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

/// Every report row of the store, from a full audit.
fn compute(store: &Store, organisations: &Organisations) -> Result<Vec<ReportRow>> {
    let mut rows = Vec::new();
    audit(store, AuditOptions::default(), |row| {
        collect(organisations, row, &mut rows);
        Ok(())
    })?;
    Ok(rows)
}

/// The report's rows for one audited account: one under each contact, or
/// none when it needs no action.
pub fn collect(organisations: &Organisations, row: &AuditRow<'_>, rows: &mut Vec<ReportRow>) {
    let Some(section) = row.section else {
        return;
    };
    for contact in organisations.contacts(row.roles) {
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
}

/// Keeps a whole store's report rows (computed at `generation`) for the next
/// report. Best effort: a read-only store just keeps none.
pub fn keep_for_next_report(store: &mut Store, generation: u64, rows: &[ReportRow]) {
    if let Err(e) = store.save_report_cache(generation, rows.iter().map(to_cache)) {
        crate::trace(&format!("report not kept: {e:#}"));
    }
}

/// Report rows gathered during an audit, in one buffer: a national audit
/// keeps about 200,000 of them, and owned rows would cost the audit more
/// memory than its budget allows.
#[derive(Default)]
pub struct KeptRows {
    text: String,
    rows: Vec<(i64, [u32; 9])>,
}

impl KeptRows {
    /// Adds the report's rows for one audited account.
    pub fn add(&mut self, organisations: &Organisations, row: &AuditRow<'_>) {
        let Some(section) = row.section else {
            return;
        };
        let rank = Section::ALL.iter().position(|s| *s == section).unwrap_or(0) as i64;
        for contact in organisations.contacts(row.roles) {
            let mut bounds = [0u32; 9];
            bounds[0] = self.text.len() as u32;
            let fields = [
                section.as_str(),
                contact.code(),
                row.account.account_id,
                row.account.email,
                row.account.given_name,
                row.account.family_name,
                row.category.as_str(),
                row.match_column(),
            ];
            for (i, field) in fields.iter().enumerate() {
                self.text.push_str(field);
                bounds[i + 1] = self.text.len() as u32;
            }
            self.rows.push((rank, bounds));
        }
    }

    /// Keeps them for the next report (best effort, like
    /// [`keep_for_next_report`]).
    pub fn keep(&self, store: &mut Store, generation: u64) {
        let field = |b: &[u32; 9], i: usize| &self.text[b[i] as usize..b[i + 1] as usize];
        // In the table's key order, so the rows are appended, not inserted
        // here and there.
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_unstable_by(|&x, &y| {
            let ((rx, bx), (ry, by)) = (&self.rows[x], &self.rows[y]);
            (rx, field(bx, 1), field(bx, 2)).cmp(&(ry, field(by, 1), field(by, 2)))
        });
        crate::trace("report rows sorted");
        let rows = order.into_iter().map(|at| {
            let (rank, b) = &self.rows[at];
            let field = |i: usize| field(b, i);
            (
                *rank,
                [
                    field(0),
                    field(1),
                    field(2),
                    field(3),
                    field(4),
                    field(5),
                    field(6),
                    field(7),
                ],
            )
        });
        if let Err(e) = store.save_report_cache(generation, rows) {
            crate::trace(&format!("report not kept: {e:#}"));
        }
        crate::trace("report rows kept");
    }
}

fn to_cache(r: &ReportRow) -> (i64, [&str; 8]) {
    let rank = Section::ALL
        .iter()
        .position(|s| *s == r.section)
        .unwrap_or(0) as i64;
    (
        rank,
        [
            r.section.as_str(),
            r.contact.code(),
            &r.account_id,
            &r.email,
            &r.given_name,
            &r.family_name,
            r.category.as_str(),
            &r.nhsmail_match,
        ],
    )
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
