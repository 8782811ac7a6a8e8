//! `progress`: the snapshots whole-store audits recorded, day by day (or by
//! day and contact), and what is needed to reach zero by cutover.

use anyhow::Result;

use crate::cli::{ProgressArgs, ProgressBy};
use crate::commands::checks;
use crate::commands::cutover::Dates;
use crate::error::UserError;
use crate::store::{ContactProgressRow, SnapshotRow, Store};

/// The columns of `progress`, as the issue names them (the sections are
/// rules.md's words).
pub const COLUMNS: &[&str] = &[
    "date",
    "accounts",
    "needing_action",
    "contact-commissioner",
    "no-nhsmail",
    "administrator",
    "ok",
    "fixed",
    "new",
];

/// The columns of `progress --by contact` and `--contact`.
pub const CONTACT_COLUMNS: &[&str] = &[
    "date",
    "contact_code",
    "contact_name",
    "needing_action",
    "fixed",
    "new",
];

/// What `progress` shows.
#[derive(Debug)]
pub enum Rows {
    Days(Vec<SnapshotRow>),
    Contacts(Vec<ContactProgressRow>),
}

#[derive(Debug)]
pub struct Progress {
    pub dates: Dates,
    pub rows: Rows,
    /// The contact asked for, as given.
    pub contact: Option<String>,
}

/// One point of the burn-down: a day and its accounts needing action by
/// section (rules.md's order).
pub struct Point {
    pub date: chrono::NaiveDate,
    pub sections: [u64; 3],
}

impl Progress {
    /// The days, each with its accounts needing action by section (for one
    /// contact, that contact's).
    pub fn points(&self) -> Vec<Point> {
        match &self.rows {
            Rows::Days(rows) => rows
                .iter()
                .map(|r| Point {
                    date: r.date,
                    sections: r.sections,
                })
                .collect(),
            Rows::Contacts(rows) => {
                // Summed over the contacts shown (one, with --contact).
                let mut points: Vec<Point> = Vec::new();
                for r in rows {
                    match points.last_mut() {
                        Some(p) if p.date == r.date => {
                            for (sum, n) in p.sections.iter_mut().zip(r.sections) {
                                *sum += n;
                            }
                        }
                        _ => points.push(Point {
                            date: r.date,
                            sections: r.sections,
                        }),
                    }
                }
                points
            }
        }
    }

    /// How many accounts a day must be put right, from the latest
    /// snapshot, to reach zero by cutover (None once cutover is today or
    /// past, or with no snapshot).
    pub fn pace_needed(&self) -> Option<u64> {
        let left = self.dates.days_left();
        let last = self.points().last()?.sections.iter().sum::<u64>();
        (left > 0).then(|| last.div_ceil(left as u64))
    }
}

/// Reads the snapshots. `--contact` names a contact the store must know
/// (as every filter does): a mistyped code would show nothing and read as
/// done.
pub fn run(store: &Store, args: &ProgressArgs, dates: Dates) -> Result<Progress> {
    if let Some(code) = &args.contact {
        checks::require_known_code(store, "--contact", code, true)?;
    }
    let rows = if args.contact.is_some() || args.by == Some(ProgressBy::Contact) {
        Rows::Contacts(store.contact_progress(args.contact.as_deref().map(str::trim))?)
    } else {
        Rows::Days(store.snapshots()?)
    };
    let empty = match &rows {
        Rows::Days(r) => r.is_empty(),
        Rows::Contacts(r) => r.is_empty(),
    };
    if empty && args.chart.is_some() {
        return Err(UserError::Refused(
            "there is no progress to chart: no whole-store audit has recorded a snapshot yet; \
             run `cqrs-admin audit` (with no filters) once a day, then chart; nothing was written"
                .to_string(),
        )
        .into());
    }
    Ok(Progress {
        dates,
        rows,
        contact: args.contact.clone(),
    })
}
