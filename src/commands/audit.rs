//! `audit`: every account's category, NHSmail match and section (rules.md).

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;

use crate::audit::{AuditOptions, AuditRow, Organisations, audit};
use crate::cli::AuditArgs;
use crate::commands::checks;
use crate::reporting::RowSink;
use crate::rules::{Category, Contact};
use crate::store::{KeptReport, NewSnapshot, SnapshotNotRecorded, Store};

/// A contact's name as the organisations file has it.
fn contact_name(organisations: &Organisations, code: &str) -> String {
    let contact = if code == Contact::ADMINISTRATOR_CODE {
        Contact::CqrsAdministrator
    } else {
        Contact::Organisation(code.to_string())
    };
    organisations.contact_details(&contact).0
}

/// The columns cli.md fixes for `audit`.
pub const COLUMNS: &[&str] = &[
    "account_id",
    "email",
    "given_name",
    "family_name",
    "category",
    "match",
    "section",
];

pub const COUNT_COLUMNS: &[&str] = &["category", "accounts"];

/// What the audit found, beyond the rows it wrote.
#[derive(Debug, Default, serde::Serialize)]
pub struct AuditSummary {
    pub counts: BTreeMap<Category, u64>,
    /// Accounts shown that need action before cutover (they have a section).
    pub needing_action: u64,
    pub shown: u64,
    /// Why the audit could not check the accounts (nothing imported to check
    /// them with), so that its counts must not read as an all-clear.
    pub unchecked: Option<String>,
    /// Why a whole-store audit's progress snapshot could not be kept (a
    /// read-only store), to be said: `progress` would miss the day.
    #[serde(skip)]
    pub snapshot_not_kept: Option<String>,
    /// Why the store keeps no snapshot of this audit (an area operator's
    /// on a shared store), to be said as a note.
    #[serde(skip)]
    pub snapshot_note: Option<String>,
}

/// Whether a row passes the command's filters.
pub struct Filter<'a> {
    pub args: &'a AuditArgs,
    pub organisations: Option<Organisations>,
}

impl Filter<'_> {
    pub fn new<'a>(store: &Store, args: &'a AuditArgs) -> Result<Filter<'a>> {
        let organisations = if args.contact.is_some() {
            Some(Organisations::load(store)?)
        } else {
            None
        };
        Ok(Filter {
            args,
            organisations,
        })
    }

    fn keeps(&self, row: &AuditRow<'_>) -> bool {
        let a = self.args;
        if !a.category.is_empty() && !a.category.contains(&row.category) {
            return false;
        }
        if !a.section.is_empty() && !row.section.is_some_and(|s| a.section.contains(&s)) {
            return false;
        }
        if let Some(org) = &a.org
            && !row
                .roles
                .iter()
                .any(|r| r.ods_code.eq_ignore_ascii_case(org.trim()))
        {
            return false;
        }
        if let (Some(contact), Some(orgs)) = (&a.contact, &self.organisations)
            && !orgs
                .contacts(row.roles)
                .iter()
                .any(|c| c.code().eq_ignore_ascii_case(contact.trim()))
        {
            return false;
        }
        true
    }
}

/// Refuses an audit that cannot answer what was asked: `--check` of a store
/// with nothing to check, or an ODS code the store does not have. Called
/// before anything is written (even the CSV header).
pub fn refuse_unanswerable(store: &Store, args: &AuditArgs) -> Result<()> {
    if args.check {
        checks::require_checkable(store, "audit")?;
    }
    if let Some(code) = &args.contact {
        checks::require_known_code(store, "--contact", code, true)?;
    }
    if let Some(code) = &args.org {
        checks::require_known_code(store, "--org", code, false)?;
    }
    Ok(())
}

/// One audited account, as streamed. Fields in alphabetical order: the
/// order the JSON has always had.
#[derive(serde::Serialize)]
struct AuditRecord<'a> {
    account_id: &'a str,
    category: &'a str,
    email: &'a str,
    family_name: &'a str,
    given_name: &'a str,
    #[serde(rename = "match")]
    nhsmail_match: &'a str,
    section: &'a str,
}

/// How many accounts one category has (`--counts`).
#[derive(serde::Serialize)]
struct CountRecord {
    accounts: u64,
    category: &'static str,
}

/// Keeps the report's rows (if given) and the day's snapshot (if given);
/// the snapshot's outcome. Where the store allows it, the snapshot is kept
/// on a second connection while this one keeps the report (on PostgreSQL
/// the two took 0.3 to 0.5 s and 0.27 s one after the other, at the end of
/// a national audit); where it does not, or the second connection cannot
/// be had, one after the other. A report that is not kept is only a short
/// cut lost (`report` computes it); the snapshot's failure is the caller's
/// to say.
fn keep_report_and_snapshot(
    store: &mut Store,
    generation: u64,
    report: Option<&KeptReport>,
    snapshot: Option<NewSnapshot>,
    today: NaiveDate,
) -> Option<Result<u64>> {
    let recorded_at = crate::commands::confirm::Operator::now();
    let second = match (report, &snapshot) {
        (Some(_), Some(_)) if store.keeps_snapshot_beside_report() => store
            .lookup_reader()
            .inspect_err(|e| tracing::info!("snapshot kept after the report: {e:#}"))
            .ok(),
        _ => None,
    };
    match (second, report, snapshot) {
        (Some(mut second), Some(report), Some(snapshot)) => {
            let recorded_at = &recorded_at;
            Some(std::thread::scope(|scope| {
                let saving =
                    scope.spawn(move || second.save_snapshot(today, recorded_at, snapshot));
                crate::commands::report::keep(store, generation, report);
                saving
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("keeping the snapshot failed")))
            }))
        }
        (_, report, snapshot) => {
            if let Some(report) = report {
                crate::commands::report::keep(store, generation, report);
            }
            snapshot.map(|s| store.save_snapshot(today, &recorded_at, s))
        }
    }
}

/// Writes one row per audited account to `sink` (or, with `--counts`, one per
/// category at the end).
///
/// An audit of the whole store (no filters) also keeps the report's rows, so
/// the `report` that usually follows it needs no second audit.
///
/// It also records the day's progress snapshot (`today`: `--today`, else
/// today), replacing one recorded earlier that day; a filtered audit
/// records none, since its counts are not the store's.
pub fn run(
    store: &mut Store,
    args: &AuditArgs,
    today: NaiveDate,
    sink: &mut dyn RowSink,
) -> Result<AuditSummary> {
    let generation = store.generation()?;
    let unfiltered = args.category.is_empty()
        && args.section.is_empty()
        && args.org.is_none()
        && args.contact.is_none();
    let whole = unfiltered && !store.report_cache_is_current(generation)?;
    let organisations = if unfiltered {
        Some(Organisations::load(store)?)
    } else {
        None
    };
    let mut snapshot = unfiltered.then(|| {
        if store.keeps_progress_by_organisations() {
            NewSnapshot::by_organisations()
        } else {
            NewSnapshot::default()
        }
    });
    let mut report_rows = crate::commands::report::KeptRows::default();
    let filter = Filter::new(store, args)?;
    let mut summary = AuditSummary {
        unchecked: checks::why_unchecked(store)?,
        ..AuditSummary::default()
    };
    let options = AuditOptions {
        include_disabled: args.include_disabled || args.category.contains(&Category::Disabled),
    };
    audit(store, options, |row| {
        if let Some(organisations) = &organisations {
            // The contacts are worked out once, for both, and only for the
            // accounts that need action (the others have no report rows).
            let contacts = if row.section.is_some() {
                organisations.contacts(row.roles)
            } else {
                Vec::new()
            };
            if whole {
                report_rows.add_with(row, &contacts);
            }
            if let Some(snapshot) = &mut snapshot {
                snapshot.add(
                    row.account.account_id,
                    row.category,
                    row.section,
                    contacts.iter().map(|c| c.code()),
                );
                snapshot.add_organisations(
                    row.roles.iter().map(|r| r.ods_code),
                    row.category,
                    row.section,
                );
            }
        }
        if !filter.keeps(row) {
            return Ok(());
        }
        *summary.counts.entry(row.category).or_default() += 1;
        summary.shown += 1;
        if row.section.is_some() {
            summary.needing_action += 1;
        }
        if !args.counts {
            let record = AuditRecord {
                account_id: row.account.account_id,
                category: row.category.as_str(),
                email: row.account.email,
                family_name: row.account.family_name,
                given_name: row.account.given_name,
                nhsmail_match: row.match_column(),
                section: row.section.map_or("", |s| s.as_str()),
            };
            sink.record(
                &[
                    record.account_id,
                    record.email,
                    record.given_name,
                    record.family_name,
                    record.category,
                    record.nhsmail_match,
                    record.section,
                ],
                &record,
            )?;
        }
        Ok(())
    })?;
    drop(filter);
    let report = whole.then(|| {
        let report = report_rows.into_report();
        tracing::info!("report rows encoded");
        report
    });
    let snapshot = match (snapshot, &organisations) {
        (Some(mut snapshot), Some(organisations)) => {
            snapshot.contact_names = snapshot
                .needing
                .codes()
                .iter()
                .map(|code| (code.clone(), contact_name(organisations, code)))
                .collect();
            tracing::info!("snapshot's contacts named");
            Some(snapshot)
        }
        _ => None,
    };
    match keep_report_and_snapshot(store, generation, report.as_ref(), snapshot, today) {
        None => {}
        Some(Ok(bytes)) => tracing::info!("progress snapshot kept ({bytes} bytes of accounts)"),
        Some(Err(e)) if e.downcast_ref::<SnapshotNotRecorded>().is_some() => {
            summary.snapshot_note = Some(format!("{e:#}"));
        }
        Some(Err(e)) => {
            summary.snapshot_not_kept = Some(format!(
                "the progress snapshot of {today} was not kept ({e:#}): `cqrs-admin \
                 progress` will not show this day; audit again once the store can be \
                 written"
            ))
        }
    }
    if args.counts {
        for category in Category::ALL {
            let n = summary.counts.get(category).copied().unwrap_or(0);
            let record = CountRecord {
                accounts: n,
                category: category.as_str(),
            };
            sink.record(&[record.category, &n.to_string()], &record)?;
        }
    }
    Ok(summary)
}
