//! The JSON shape of each record that is not written as it is held: views
//! borrowing from the record, serialised by serde, so numbers are numbers,
//! yes/no values booleans and lists arrays by construction.
//!
//! Fields are declared in alphabetical order: that is the order the JSON has
//! always had (it was built as a sorted map), and scripts may compare it.

use serde::Serialize;

use crate::commands::accounts::AccountDetails;
use crate::commands::cutover::Dates;
use crate::commands::export::Exported;
use crate::commands::plan::LeftOut;
use crate::commands::reinstate::Reinstate;
use crate::commands::replace::{AlreadyDone, Replacement};
use crate::commands::revert::Revert;
use crate::commands::signin::Signin;
use crate::commands::verify::Verified;
use crate::model::{Account, Activity, RoleGrant};
use crate::store::LogEntry;

#[derive(Serialize)]
pub(super) struct Role<'a> {
    ods_code: &'a str,
    payment_types: &'a [String],
    role: &'a str,
}

pub(super) fn roles(roles: &[RoleGrant]) -> Vec<Role<'_>> {
    roles
        .iter()
        .map(|r| Role {
            ods_code: &r.ods_code,
            payment_types: &r.payment_types,
            role: r.role.as_str(),
        })
        .collect()
}

#[derive(Serialize)]
pub(super) struct SigninView<'a> {
    /// The one account reached, when exactly one is.
    account_id: Option<&'a str>,
    account_ids: Vec<&'a str>,
    /// The person's active mailboxes, when this one is disabled.
    active_mailboxes: &'a [String],
    address: &'a str,
    directory: &'a str,
    /// Accounts whose NHSmail address found (a confident match) is this one.
    found_for: Vec<FoundForView<'a>>,
    next_step: &'a str,
    outcome: &'a str,
    roles: Option<Vec<Role<'a>>>,
    screen: &'a str,
    unusable_accounts: Vec<Unusable<'a>>,
}

#[derive(Serialize)]
struct FoundForView<'a> {
    account_id: &'a str,
    contacts: Vec<Contact<'a>>,
    email: &'a str,
    family_name: &'a str,
    given_name: &'a str,
}

#[derive(Serialize)]
struct Unusable<'a> {
    account_id: &'a str,
    /// A replacement made here that CQRS's account realises (left out
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    realised_by: Option<&'a str>,
    replaced_by: Option<&'a str>,
    status: &'a str,
}

impl<'a> SigninView<'a> {
    pub(super) fn new(s: &'a Signin) -> Self {
        let account_ids: Vec<&str> = s.outcome.account_ids().iter().map(String::as_str).collect();
        SigninView {
            account_id: account_ids
                .first()
                .copied()
                .filter(|_| account_ids.len() == 1),
            active_mailboxes: &s.active_mailboxes,
            address: &s.address,
            directory: &s.directory,
            found_for: s
                .found_for
                .iter()
                .map(|f| FoundForView {
                    account_id: &f.account_id,
                    contacts: f
                        .contacts
                        .iter()
                        .map(|(code, name, email)| Contact {
                            contact_code: code,
                            contact_email: email,
                            contact_name: name,
                        })
                        .collect(),
                    email: &f.email,
                    family_name: &f.family_name,
                    given_name: &f.given_name,
                })
                .collect(),
            next_step: s.outcome.next_step(),
            outcome: s.outcome.as_str(),
            roles: s.account.as_ref().map(|(_, r)| roles(r)),
            screen: s.outcome.screen(),
            unusable_accounts: s
                .other_accounts
                .iter()
                .map(|a: &Account| Unusable {
                    account_id: &a.account_id,
                    realised_by: None,
                    replaced_by: a.replaced_by.as_deref(),
                    status: a.status.as_str(),
                })
                .chain(s.realised.iter().map(|(r, by)| Unusable {
                    account_id: r,
                    realised_by: Some(by),
                    replaced_by: None,
                    status: "active",
                }))
                .collect(),
            account_ids,
        }
    }
}

#[derive(Serialize)]
pub(super) struct AccountView<'a> {
    account_id: &'a str,
    category: &'a str,
    contacts: Vec<Contact<'a>>,
    created_at: Option<&'a str>,
    /// Replacements made in CQRS itself, in words (left out when none, as
    /// for nearly every account).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cqrs: &'a [String],
    email: &'a str,
    family_name: &'a str,
    follow_up: Option<&'a crate::store::FollowUpState>,
    given_name: &'a str,
    invalid_because: Option<&'a str>,
    last_login_at: Option<&'a str>,
    #[serde(rename = "match")]
    nhsmail_match: &'a str,
    notes: &'a [crate::store::Note],
    replaced_by: Option<&'a str>,
    replaces: Option<&'a str>,
    roles: Vec<Role<'a>>,
    section: &'a str,
    status: &'a str,
    suggestions: &'a [String],
    username: &'a str,
}

#[derive(Serialize)]
struct Contact<'a> {
    contact_code: &'a str,
    contact_email: &'a str,
    contact_name: &'a str,
}

impl<'a> From<&'a AccountDetails> for AccountView<'a> {
    fn from(d: &'a AccountDetails) -> Self {
        let a = &d.account;
        AccountView {
            account_id: &a.account_id,
            category: d.category.as_str(),
            contacts: d
                .contacts
                .iter()
                .map(|(code, name, email)| Contact {
                    contact_code: code,
                    contact_email: email,
                    contact_name: name,
                })
                .collect(),
            created_at: a.created_at.as_deref(),
            cqrs: &d.cqrs,
            email: &a.email,
            family_name: &a.family_name,
            given_name: &a.given_name,
            invalid_because: d.invalid_because.as_deref(),
            last_login_at: a.last_login_at.as_deref(),
            nhsmail_match: d.nhsmail_match.as_ref().map_or("", |m| m.as_column()),
            replaced_by: a.replaced_by.as_deref(),
            replaces: d.replaces.as_deref(),
            roles: roles(&d.roles),
            section: d.section.map_or("", |s| s.as_str()),
            status: a.status.as_str(),
            suggestions: &d.suggestions,
            username: &a.username,
            follow_up: d.follow_up.as_ref(),
            notes: &d.notes,
        }
    }
}

#[derive(Serialize)]
pub(super) struct DatesView {
    cutover: String,
    days_until_cutover: i64,
    today: String,
}

impl From<&Dates> for DatesView {
    fn from(d: &Dates) -> Self {
        DatesView {
            cutover: d.cutover.to_string(),
            days_until_cutover: d.days_left(),
            today: d.today.to_string(),
        }
    }
}

/// One replacement made (or that would be made).
#[derive(Serialize)]
pub(super) struct ReplacementView<'a> {
    email: &'a str,
    family_name: &'a str,
    given_name: &'a str,
    /// The plan's line; `null` for a single replacement.
    line: Option<u64>,
    new_account_id: &'a str,
    old_account_id: &'a str,
    reason: Option<&'a str>,
    roles: Vec<Role<'a>>,
}

impl<'a> From<&'a Replacement> for ReplacementView<'a> {
    fn from(r: &'a Replacement) -> Self {
        ReplacementView {
            email: &r.email,
            family_name: &r.family_name,
            given_name: &r.given_name,
            line: r.line,
            new_account_id: &r.new_account_id,
            old_account_id: &r.old_account_id,
            reason: r.reason.as_deref(),
            roles: roles(&r.roles),
        }
    }
}

#[derive(Serialize)]
pub(super) struct AlreadyDoneView<'a> {
    email: &'a str,
    line: Option<u64>,
    new_account_id: &'a str,
    old_account_id: &'a str,
}

impl<'a> From<&'a AlreadyDone> for AlreadyDoneView<'a> {
    fn from(d: &'a AlreadyDone) -> Self {
        AlreadyDoneView {
            email: &d.email,
            line: d.line,
            new_account_id: &d.new_account_id,
            old_account_id: &d.old_account_id,
        }
    }
}

#[derive(Serialize)]
pub(super) struct RevertView<'a> {
    dry_run: bool,
    email: &'a str,
    new_account_id: &'a str,
    old_account_id: &'a str,
    old_reenabled: bool,
    reason: Option<&'a str>,
}

impl<'a> From<&'a Revert> for RevertView<'a> {
    fn from(r: &'a Revert) -> Self {
        RevertView {
            dry_run: r.dry_run,
            email: &r.email,
            new_account_id: &r.new_account_id,
            old_account_id: &r.old_account_id,
            old_reenabled: r.reenable_old,
            reason: r.reason.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct ReinstateView<'a> {
    dry_run: bool,
    email: &'a str,
    new_account_id: &'a str,
    old_account_id: &'a str,
    reason: Option<&'a str>,
}

impl<'a> From<&'a Reinstate> for ReinstateView<'a> {
    fn from(r: &'a Reinstate) -> Self {
        ReinstateView {
            dry_run: r.dry_run,
            email: &r.email,
            new_account_id: &r.new_account_id,
            old_account_id: &r.old_account_id,
            reason: r.reason.as_deref(),
        }
    }
}

/// A plan's summary: where it went and what was left out.
#[derive(Serialize)]
pub(super) struct PlanView<'a> {
    left_out: Vec<LeftOutView<'a>>,
    out: &'a str,
    proposed: usize,
}

#[derive(Serialize)]
struct LeftOutView<'a> {
    account_id: &'a str,
    accounts_matched: &'a [String],
    category: &'a str,
    contacts: &'a str,
    explanation: &'a str,
    family_name: &'a str,
    given_name: &'a str,
    new_email: &'a str,
    old_email: &'a str,
    organisations: &'a str,
    why: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    who_can_act: Option<&'a str>,
}

impl<'a> PlanView<'a> {
    pub(super) fn new(out: &'a str, proposed: usize, left_out: &'a [LeftOut]) -> Self {
        PlanView {
            left_out: left_out
                .iter()
                .map(|l| LeftOutView {
                    account_id: &l.row.account_id,
                    accounts_matched: &l.accounts_matched,
                    category: l.row.category,
                    contacts: &l.row.contacts,
                    explanation: l.why.explain(),
                    family_name: &l.row.family_name,
                    given_name: &l.row.given_name,
                    new_email: &l.row.new_email,
                    old_email: &l.row.old_email,
                    organisations: &l.row.organisations,
                    why: l.why.as_str(),
                    who_can_act: l.who_can_act.as_deref(),
                })
                .collect(),
            out,
            proposed,
        }
    }
}

/// Where an export went: each file and its rows, `null` for a file not written.
#[derive(Serialize)]
pub(super) struct ExportView<'a> {
    accounts: Option<usize>,
    accounts_file: Option<&'a str>,
    all: bool,
    permissions: Option<usize>,
    permissions_file: Option<&'a str>,
}

impl<'a> From<&'a Exported> for ExportView<'a> {
    fn from(e: &'a Exported) -> Self {
        use crate::cli::ExportFile;
        let file = |kind: ExportFile| e.files.iter().find(|f| f.file == kind);
        ExportView {
            accounts: file(ExportFile::Accounts).map(|f| f.rows),
            accounts_file: file(ExportFile::Accounts).map(|f| f.written_to.as_str()),
            all: e.all,
            permissions: file(ExportFile::Permissions).map(|f| f.rows),
            permissions_file: file(ExportFile::Permissions).map(|f| f.written_to.as_str()),
        }
    }
}

/// One row of the report, from its cells in `report::COLUMNS` order (the
/// report's rows are held as text), with the days left as a number.
#[derive(Serialize)]
pub(super) struct ReportRecord<'a> {
    account_id: &'a str,
    category: &'a str,
    contact_code: &'a str,
    contact_email: &'a str,
    contact_name: &'a str,
    cutover: &'a str,
    days_until_cutover: i64,
    email: &'a str,
    family_name: &'a str,
    follow_up: Option<&'a str>,
    given_name: &'a str,
    #[serde(rename = "match")]
    nhsmail_match: &'a str,
    not_a_replacement: Option<&'a str>,
    section: &'a str,
}

impl<'a> ReportRecord<'a> {
    pub(super) fn new(cells: &[&'a str; 14], days_until_cutover: i64) -> Self {
        let [
            section,
            contact_code,
            contact_name,
            contact_email,
            account_id,
            email,
            given_name,
            family_name,
            category,
            nhsmail_match,
            cutover,
            _days,
            follow_up,
            not_a_replacement,
        ] = *cells;
        ReportRecord {
            account_id,
            category,
            contact_code,
            contact_email,
            contact_name,
            cutover,
            days_until_cutover,
            email,
            family_name,
            follow_up: (!follow_up.is_empty()).then_some(follow_up),
            given_name,
            nhsmail_match,
            not_a_replacement: (!not_a_replacement.is_empty()).then_some(not_a_replacement),
            section,
        }
    }
}

/// One activity an account can see.
#[derive(Serialize)]
pub(super) struct ActivityRecord<'a> {
    account_id: &'a str,
    activity_id: &'a str,
    detail: &'a str,
    kind: &'a str,
    occurred_at: &'a str,
    ods_code: &'a str,
}

impl<'a> From<&'a Activity> for ActivityRecord<'a> {
    fn from(a: &'a Activity) -> Self {
        ActivityRecord {
            account_id: &a.account_id,
            activity_id: &a.activity_id,
            detail: a.detail.as_deref().unwrap_or(""),
            kind: a.kind.as_str(),
            occurred_at: &a.occurred_at,
            ods_code: &a.ods_code,
        }
    }
}

/// One replacement checked by `verify`.
#[derive(Serialize)]
pub(super) struct VerifiedRecord<'a> {
    checked: &'a str,
    detail: &'a str,
    history_equal: bool,
    new_account_id: &'a str,
    new_status: &'a str,
    old_account_id: &'a str,
    roles_equal: bool,
}

impl<'a> From<&'a Verified> for VerifiedRecord<'a> {
    fn from(v: &'a Verified) -> Self {
        VerifiedRecord {
            checked: v.checked.as_str(),
            detail: &v.detail,
            history_equal: v.history_equal,
            new_account_id: &v.new_account_id,
            new_status: v.new_status.as_str(),
            old_account_id: &v.old_account_id,
            roles_equal: v.roles_equal,
        }
    }
}

/// One entry of the change log (a field an entry does not have is blank).
#[derive(Serialize)]
pub(super) struct LogRecord<'a> {
    action: &'a str,
    actor: &'a str,
    at: &'a str,
    email: &'a str,
    new_account_id: &'a str,
    old_account_id: &'a str,
    reason: &'a str,
    seq: i64,
}

impl<'a> From<&'a LogEntry> for LogRecord<'a> {
    fn from(e: &'a LogEntry) -> Self {
        LogRecord {
            action: &e.action,
            actor: &e.actor,
            at: &e.at,
            email: e.email.as_deref().unwrap_or(""),
            new_account_id: e.new_account_id.as_deref().unwrap_or(""),
            old_account_id: e.old_account_id.as_deref().unwrap_or(""),
            reason: e.reason.as_deref().unwrap_or(""),
            seq: e.seq,
        }
    }
}
