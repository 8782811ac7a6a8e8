//! `replace ACCOUNT_ID --email ADDRESS` and `replace --plan FILE`: create
//! replacement accounts (rules.md, "Replacement accounts").
//!
//! Both forms go the same way: load what the checks need with a few
//! set-based queries, apply the pure rules (`rules::check_replacement`) to
//! every row ([`propose`]); the caller shows what will happen and asks;
//! then [`commit`] takes the write lock
//! (`BEGIN IMMEDIATE`), check everything again against the store as it is
//! now, and create all the accounts in that one transaction. A second
//! operator running the same plan at the same time waits for the lock and
//! then finds every row already done, so nothing is ever created twice.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc;

use anyhow::{Context, Result};

use super::confirm::Operator;
use crate::cli::ReplaceArgs;
use crate::error::{FileProblem, UserError};
use crate::input::{Column, CsvFile};
use crate::model::RoleGrant;
use crate::reporting::{Progress, Reporter, Work};
use crate::rules::{DirectoryFacts, Refusal, ReplacementFacts, check_replacement, normal_form};
use crate::spreadsheet::unneutralise;
use crate::store::{NewAccount, ReplacementLookup, Stamp, Store, WriteTx};

/// One replacement asked for: a plan row or the command line.
#[derive(Debug, Clone)]
pub struct Request {
    /// The plan's line, for a plan row.
    pub line: Option<u64>,
    pub account_id: String,
    /// The address as given, trimmed.
    pub email: String,
    pub email_key: String,
    pub reason: Option<String>,
}

impl Request {
    pub fn new(line: Option<u64>, account_id: &str, email: &str, reason: Option<&str>) -> Request {
        let email = email.trim();
        Request {
            line,
            account_id: account_id.trim().to_string(),
            email: email.to_string(),
            email_key: normal_form(email),
            reason: reason
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        }
    }
}

/// A replacement that passed every check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replacement {
    pub line: Option<u64>,
    pub old_account_id: String,
    pub old_email: String,
    pub given_name: String,
    pub family_name: String,
    pub new_account_id: String,
    /// The new address as the NHSmail directory spells it (the same address
    /// as the one given, by normal form): the new account's email and username.
    pub email: String,
    pub email_key: String,
    pub roles: Vec<RoleGrant>,
    pub reason: Option<String>,
    pub holds_admin: bool,
    /// The directory's names, when they differ from the account's (a name
    /// change, allowed with a reason).
    pub directory_names: Option<(String, String)>,
}

/// A plan row whose account was already replaced by an account with that
/// same address: nothing to do, so a plan can be run again safely.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlreadyDone {
    pub line: Option<u64>,
    pub old_account_id: String,
    pub new_account_id: String,
    pub email: String,
}

/// A row that failed a check.
#[derive(Debug, Clone)]
pub struct Problem {
    pub line: Option<u64>,
    pub column: &'static str,
    pub message: String,
}

/// The checks' verdict on every row.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub ready: Vec<Replacement>,
    pub done: Vec<AlreadyDone>,
    pub problems: Vec<Problem>,
}

/// What `replace` did (or, with `--dry-run`, would do).
#[derive(Debug, serde::Serialize)]
pub struct ReplaceOutcome {
    pub replacements: Vec<Replacement>,
    pub already_done: Vec<AlreadyDone>,
    pub dry_run: bool,
    pub disable_old: bool,
    /// The plan's name, for a plan.
    pub plan: Option<String>,
    /// The new accounts' `created_at`: today.
    pub created_at: String,
}

/// How the checks treat two situations that differ between the two forms.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// The operator has acknowledged replacing administrator accounts.
    pub admin_acknowledged: bool,
    /// A row already done counts as done (plans), rather than being refused
    /// as already superseded (a single replacement).
    pub done_is_done: bool,
}

fn refusal_column(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::OldAccountMissing
        | Refusal::OldAccountNotActive
        | Refusal::AlreadySuperseded { .. }
        | Refusal::AdministratorNotAcknowledged => "account_id",
        Refusal::NamesDiffer { .. } => "reason",
        Refusal::NewAddressInvalid { .. }
        | Refusal::NewAddressNotNhsNet { .. }
        | Refusal::NotActivePersonalMailbox { .. }
        | Refusal::AddressOnAccount { .. } => "new_email",
    }
}

/// Applies every rule to every request, against `store` as it is now.
pub fn evaluate(store: &Store, requests: &[Request], options: CheckOptions) -> Result<Evaluation> {
    let (repeats, repeated) = find_repeats(requests);
    let mut eval = check_requests(store, requests, &repeated, options)?;
    eval.problems.splice(0..0, repeats);
    Ok(eval)
}

/// Within a plan, an account or an address may appear only once: the rows
/// that repeat an earlier one, as problems, and whether each request is
/// such a repeat. A repeat is still checked against the store (so that a
/// refused plan names every problem of each line), but never replaced.
fn find_repeats(requests: &[Request]) -> (Vec<Problem>, Vec<bool>) {
    let mut problems = Vec::new();
    let mut repeats = Vec::with_capacity(requests.len());
    let mut account_lines: HashMap<&str, Option<u64>> = HashMap::with_capacity(requests.len());
    let mut address_lines: HashMap<&str, Option<u64>> = HashMap::with_capacity(requests.len());
    for r in requests {
        let mut repeated = false;
        if let Some(first) = account_lines.insert(&r.account_id, r.line) {
            account_lines.insert(&r.account_id, first);
            problems.push(Problem {
                line: r.line,
                column: "account_id",
                message: format!(
                    "the account {} is also on line {}: a plan may name an account only once",
                    r.account_id,
                    first.unwrap_or(0)
                ),
            });
            repeated = true;
        }
        if !r.email_key.is_empty()
            && let Some(first) = address_lines.insert(&r.email_key, r.line)
        {
            address_lines.insert(&r.email_key, first);
            problems.push(Problem {
                line: r.line,
                column: "new_email",
                message: format!(
                    "the address {} is also on line {}: an address can be on only one account",
                    r.email,
                    first.unwrap_or(0)
                ),
            });
            repeated = true;
        }
        repeats.push(repeated);
    }
    (problems, repeats)
}

/// Checks every request; `repeated[i]` says request `i` repeats an earlier
/// account or address, so only its problems are kept.
fn check_requests(
    store: &Store,
    requests: &[Request],
    repeated: &[bool],
    options: CheckOptions,
) -> Result<Evaluation> {
    let ids: Vec<&str> = requests.iter().map(|r| r.account_id.as_str()).collect();
    super::operators::refuse_outside_area(store, "replace", &ids)?;
    let keys: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.account_id.as_str(), r.email_key.as_str()))
        .collect();
    let mut lookup = store.replacement_lookup(&keys)?;
    drop(keys);
    // How many more requests name each account: the last one may take the
    // account out of the look-up, earlier ones copy it. Only a plan that
    // repeats a row (and is refused) needs counting.
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    if repeated.contains(&true) {
        for r in requests {
            *remaining.entry(r.account_id.as_str()).or_default() += 1;
        }
    }
    let mut eval = Evaluation::default();
    for (r, &repeat) in requests.iter().zip(repeated) {
        let last = match remaining.get_mut(r.account_id.as_str()) {
            Some(left) => {
                *left -= 1;
                *left == 0
            }
            None => true,
        };
        if repeat {
            let mut scratch = Evaluation::default();
            check_one(r, &mut lookup, last, options, &mut scratch);
            eval.problems.append(&mut scratch.problems);
        } else {
            check_one(r, &mut lookup, last, options, &mut eval);
        }
    }
    assign_new_ids(store, &lookup, &mut eval.ready)?;
    Ok(eval)
}

/// Checks one request. The last request naming an account takes its account
/// and roles out of the look-up; an earlier one copies them.
fn check_one(
    r: &Request,
    lookup: &mut ReplacementLookup,
    last: bool,
    options: CheckOptions,
    eval: &mut Evaluation,
) {
    let old = if last {
        lookup.accounts.remove(&r.account_id)
    } else {
        lookup.accounts.get(&r.account_id).cloned()
    };
    let old = old.as_ref();
    if options.done_is_done
        && let Some(old) = old
        && let (Some(new_id), Some(key)) = (&old.replaced_by, &old.replaced_by_email_key)
        && *key == r.email_key
    {
        eval.done.push(AlreadyDone {
            line: r.line,
            old_account_id: r.account_id.clone(),
            new_account_id: new_id.clone(),
            email: r.email.clone(),
        });
        return;
    }
    let roles = if last {
        lookup.roles.remove(&r.account_id)
    } else {
        lookup.roles.get(&r.account_id).cloned()
    }
    .unwrap_or_default();
    let holds_admin = roles.iter().any(|g| g.role.is_administrator());
    let entry = lookup.directory.get(&r.email_key);
    let owners = lookup.email_owners.get(&r.email_key);
    let facts = ReplacementFacts {
        old_exists: old.is_some(),
        old_status: old.map(|o| o.status),
        old_superseded: old.is_some_and(|o| o.replaced_by.is_some()),
        old_replaced_by: old.and_then(|o| o.replaced_by.as_deref()),
        old_given_name: old.map_or("", |o| &o.given_name),
        old_family_name: old.map_or("", |o| &o.family_name),
        new_email: &r.email,
        directory: entry.map(|e| {
            (
                DirectoryFacts {
                    status: e.status,
                    mailbox_type: e.mailbox_type,
                },
                e.given_name.as_str(),
                e.family_name.as_str(),
            )
        }),
        address_on_account: owners.and_then(|o| o.first()).map(String::as_str),
        reason: r.reason.as_deref(),
        holds_admin_role: holds_admin,
        admin_acknowledged: options.admin_acknowledged,
    };
    let refusals = check_replacement(&facts);
    let mut failed = false;
    for refusal in &refusals {
        let mut text = refusal.to_string();
        if matches!(refusal, Refusal::OldAccountMissing) {
            text = format!("there is no account {}: check the account id", r.account_id);
        } else if matches!(refusal, Refusal::AdministratorNotAcknowledged) {
            let held: Vec<String> = roles
                .iter()
                .filter(|g| g.role.is_administrator())
                .map(|g| format!("{} at {}", g.role, g.ods_code))
                .collect();
            text = format!(
                "the account {} holds an administrator role ({}), which can grant access to \
                 others: review it and acknowledge with --allow-admin",
                r.account_id,
                held.join(", ")
            );
        } else if matches!(refusal, Refusal::NamesDiffer { .. }) && r.line.is_some() {
            text = text.replace("give --reason", "fill in the plan's reason column");
        } else if let Refusal::AddressOnAccount { account_id, .. } = refusal
            && account_id
                .strip_prefix('R')
                .and_then(|t| t.split_once('-'))
                .map(|(_, old)| old)
                == Some(r.account_id.as_str())
        {
            // Most likely this account's own replacement, reverted by
            // mistake: say how to undo the revert (it refuses otherwise).
            text = format!(
                "{text}; if {account_id} is a reverted replacement of {}, `cqrs-admin reinstate \
                 {account_id}` makes it active again",
                r.account_id
            );
        } else if refusal_column(refusal) == "account_id" {
            text = format!("account {}: {text}", r.account_id);
        }
        eval.problems.push(Problem {
            line: r.line,
            column: refusal_column(refusal),
            message: text,
        });
        failed = true;
    }
    // The new account's username is its address, and usernames are unique.
    if let Some(owner) = lookup.username_owners.get(&r.email_key)
        && owners.is_none()
    {
        eval.problems.push(Problem {
            line: r.line,
            column: "new_email",
            message: format!(
                "the address {:?} is already the username of account {owner}, and a \
                 replacement's username is its address: check whether that account is the user's",
                r.email
            ),
        });
        failed = true;
    }
    if failed {
        return;
    }
    let (Some(old), Some(entry)) = (old, entry) else {
        return;
    };
    let names_equal = crate::rules::same_name(&entry.given_name, &old.given_name)
        && crate::rules::same_name(&entry.family_name, &old.family_name);
    eval.ready.push(Replacement {
        line: r.line,
        old_account_id: old.account_id.clone(),
        old_email: old.email.clone(),
        given_name: old.given_name.clone(),
        family_name: old.family_name.clone(),
        new_account_id: String::new(),
        email: entry.address.trim().to_string(),
        email_key: r.email_key.clone(),
        roles,
        reason: r.reason.clone(),
        holds_admin,
        directory_names: (!names_equal)
            .then(|| (entry.given_name.clone(), entry.family_name.clone())),
    });
}

/// The new account ids: `R{n}-{old}`, n one more than the replacements the
/// account already has (a reverted one still counts, since it is kept); if
/// that id is somehow taken, the next free n.
fn assign_new_ids(
    store: &Store,
    lookup: &ReplacementLookup,
    ready: &mut [Replacement],
) -> Result<()> {
    let id = |old: &str, n: u32| format!("R{n}-{old}");
    for r in ready.iter_mut() {
        let n = 1 + lookup
            .replacement_counts
            .get(&r.old_account_id)
            .copied()
            .unwrap_or(0);
        r.new_account_id = id(&r.old_account_id, n);
    }
    let wanted: Vec<&str> = ready.iter().map(|r| r.new_account_id.as_str()).collect();
    let taken = store.taken_account_ids(&wanted)?;
    if taken.is_empty() {
        return Ok(());
    }
    let mut used: HashSet<String> = ready.iter().map(|r| r.new_account_id.clone()).collect();
    for r in ready.iter_mut() {
        if !taken.contains(&r.new_account_id) {
            continue;
        }
        let mut n = 1 + lookup
            .replacement_counts
            .get(&r.old_account_id)
            .copied()
            .unwrap_or(0);
        loop {
            n += 1;
            let candidate = id(&r.old_account_id, n);
            if !used.contains(&candidate) && store.taken_account_ids(&[&candidate])?.is_empty() {
                used.insert(candidate.clone());
                r.new_account_id = candidate;
                break;
            }
        }
    }
    Ok(())
}

/// The columns a plan is read by; any others (the reviewer's columns) are
/// ignored.
const PLAN_COLUMNS: &[Column] = &[
    Column {
        name: "account_id",
        required: true,
    },
    Column {
        name: "new_email",
        required: true,
    },
    Column {
        name: "reason",
        required: false,
    },
];

/// Reads a plan: its rows, and the problems that stop a row being read.
/// Cells that our own CSV writer neutralised (`'=...`) are read back as they
/// were.
pub fn read_plan(path: &Path) -> Result<(String, Vec<Request>, Vec<FileProblem>)> {
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    // A regular file is mapped; standard input, a pipe or a device is read
    // in checked chunks and held only up to a bound (crate::input).
    let opened = if path.as_os_str() == "-" {
        CsvFile::open(std::io::stdin().lock(), PLAN_COLUMNS)
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            UserError::Refused(format!(
                "cannot read the plan {name}: {e}; check the path and that the file is readable"
            ))
        })?;
        CsvFile::open_file(&file, PLAN_COLUMNS)
    };
    let mut file = match opened.with_context(|| format!("reading the plan {name}"))? {
        Ok(file) => file,
        Err(problems) => return Ok((name, Vec::new(), problems)),
    };
    let mut requests = Vec::new();
    let mut problems = Vec::new();
    while let Some(row) = file.next_row() {
        let line = row.line;
        let id = unneutralise(row.get(0)).trim();
        let email = unneutralise(row.get(1)).trim();
        let reason = unneutralise(row.get(2));
        for (column, value) in [("account_id", id), ("new_email", email)] {
            if value.is_empty() {
                problems.push(FileProblem {
                    line,
                    column: Some(column.into()),
                    message: "a value is required here".into(),
                });
            }
        }
        for (column, value) in [("account_id", id), ("new_email", email), ("reason", reason)] {
            if let Some((at, c)) = crate::text::control_character(value, false) {
                problems.push(FileProblem {
                    line,
                    column: Some(column.into()),
                    message: format!(
                        "the value contains a control character ({}) at character {at}: remove it",
                        crate::text::describe_control(c)
                    ),
                });
            }
        }
        // A row with a problem here is still checked against the store (the
        // plan is refused anyway), so that every problem of the line is
        // named at once; see `run`.
        requests.push(Request::new(Some(line), id, email, Some(reason)));
    }
    problems.append(&mut file.problems);
    Ok((name, requests, problems))
}

fn bad_plan(name: &str, mut problems: Vec<FileProblem>) -> anyhow::Error {
    problems.sort_by_key(|p| p.line);
    UserError::BadPlan {
        file: name.to_string(),
        problems,
    }
    .into()
}

fn to_file_problems(problems: Vec<Problem>) -> Vec<FileProblem> {
    problems
        .into_iter()
        .map(|p| FileProblem {
            line: p.line.unwrap_or(0),
            column: Some(p.column.to_string()),
            message: p.message,
        })
        .collect()
}

fn refused_single(request: &Request, problems: &[Problem]) -> anyhow::Error {
    let list: Vec<String> = problems
        .iter()
        .map(|p| format!("  - {}", p.message))
        .collect();
    UserError::Refused(format!(
        "cannot replace account {} with {}; nothing was changed:\n{}",
        request.account_id,
        request.email,
        list.join("\n")
    ))
    .into()
}

/// Whether a plan is long enough to show progress for.
fn progress(reporter: &dyn Reporter, rows: usize) -> Progress {
    reporter.progress(Work::Spinner {
        long: rows >= 1_000,
    })
}

/// How many replacements are written per statement batch (and per step of
/// the progress bar).
const BATCH: usize = 10_000;

/// The first batch a long plan checks is smaller, so that writing (which
/// waits for it) starts sooner.
const FIRST_BATCH: usize = 1_000;

/// The replacements asked for, read and not yet checked: what
/// [`propose`] checks and [`commit`] makes.
#[derive(Debug)]
pub struct Requested {
    requests: Vec<Request>,
    /// The plan's name, for a plan.
    plan: Option<String>,
    options: CheckOptions,
    disable_old: bool,
    created_at: String,
}

/// What `replace` was asked to do.
#[derive(Debug)]
pub enum Asked {
    /// A plan with no rows: nothing to do (`ReplaceOutcome` lists nothing).
    Nothing(ReplaceOutcome),
    Replacements(Requested),
}

/// What [`propose`] found: the rows that would be replaced and those already
/// done, for the caller to show and ask about. [`Proposal::into_requested`]
/// gives back what to [`commit`], dropping the checked rows (a long plan's
/// rows are checked again under the write lock, so they are not held twice).
#[derive(Debug, serde::Serialize)]
pub struct Proposal {
    /// With `dry_run` set: nothing has been changed.
    pub outcome: ReplaceOutcome,
    #[serde(skip)]
    requested: Requested,
}

impl Proposal {
    pub fn into_requested(self) -> Requested {
        self.requested
    }
}

/// Reads what `replace` was asked to do: a plan (refused, with every
/// problem named, if any row cannot be read or fails a check) or a single
/// replacement. `admin_at_terminal`: a person will be asked at a terminal,
/// where a single administrator account may be acknowledged in the
/// confirmation itself (a plan needs `--allow-admin`).
pub fn request(
    store: &mut Store,
    args: &ReplaceArgs,
    op: &Operator,
    admin_at_terminal: bool,
) -> Result<Asked> {
    let (requests, plan) = match (&args.plan, &args.account_id, &args.email) {
        (Some(path), _, _) => {
            if args.reason.is_some() {
                return Err(UserError::Refused(
                    "--reason applies to a single replacement: give each plan row its reason in \
                     the plan's reason column"
                        .into(),
                )
                .into());
            }
            let (name, requests, problems) = read_plan(path)?;
            if !problems.is_empty() {
                // Check the rows that could be read too, so every failure is
                // reported at once.
                let options = CheckOptions {
                    admin_acknowledged: args.allow_admin,
                    done_is_done: true,
                };
                // A column already found wrong as the plan was read (blank,
                // or holding a control character) is not reported again.
                let read_wrong: HashSet<(u64, String)> = problems
                    .iter()
                    .filter_map(|p| Some((p.line, p.column.clone()?)))
                    .collect();
                let mut all = problems;
                all.extend(
                    to_file_problems(evaluate(store, &requests, options)?.problems)
                        .into_iter()
                        .filter(|p| {
                            p.column
                                .as_ref()
                                .is_none_or(|c| !read_wrong.contains(&(p.line, c.clone())))
                        }),
                );
                return Err(bad_plan(&name, all));
            }
            (requests, Some(name))
        }
        (None, Some(id), Some(email)) => (
            vec![Request::new(None, id, email, args.reason.as_deref())],
            None,
        ),
        _ => {
            return Err(UserError::Refused(
                "give an account and --email ADDRESS, or --plan FILE".into(),
            )
            .into());
        }
    };
    if requests.is_empty() {
        return Ok(Asked::Nothing(ReplaceOutcome {
            replacements: Vec::new(),
            already_done: Vec::new(),
            dry_run: args.dry_run,
            disable_old: args.disable_old,
            plan,
            created_at: op.created_at(),
        }));
    }
    if requests.len() >= BATCH {
        store.prepare_for_bulk()?;
    }
    let single = plan.is_none();
    let options = CheckOptions {
        admin_acknowledged: args.allow_admin || (single && admin_at_terminal),
        done_is_done: !single,
    };
    Ok(Asked::Replacements(Requested {
        requests,
        plan,
        options,
        disable_old: args.disable_old,
        created_at: op.created_at(),
    }))
}

/// The first look, to show and ask: checks every row against the store as
/// it is now and changes nothing. Refused (naming every problem) if any row
/// fails a check.
pub fn propose(store: &Store, requested: Requested, reporter: &dyn Reporter) -> Result<Proposal> {
    let Requested { requests, plan, .. } = &requested;
    let bar = progress(reporter, requests.len());
    bar.set_message(format!("checking {} rows", requests.len()));
    let eval = evaluate(store, requests, requested.options)?;
    bar.finish_and_clear();
    fail_on_problems(requests, plan, eval.problems)?;
    Ok(Proposal {
        outcome: ReplaceOutcome {
            replacements: eval.ready,
            already_done: eval.done,
            dry_run: true,
            disable_old: requested.disable_old,
            plan: plan.clone(),
            created_at: requested.created_at.clone(),
        },
        requested,
    })
}

/// Makes the replacements: takes the write lock, checks every row again
/// against the store as it is now, and creates all the accounts in that one
/// transaction (none, if any row fails a check).
pub fn commit(
    store: &mut Store,
    requested: Requested,
    op: &Operator,
    reporter: &dyn Reporter,
) -> Result<ReplaceOutcome> {
    let Requested {
        requests,
        plan,
        options,
        disable_old,
        created_at,
    } = requested;
    let bar = progress(reporter, requests.len());
    tracing::info!("plan read");
    // A serialization failure or deadlock undoes the whole write: it is
    // run again from the lock, every row checked again (rows another
    // operator replaced meanwhile are then counted as done).
    let eval = crate::store::retrying("The replacement", || {
        write_checked(
            store,
            &requests,
            options,
            disable_old,
            &created_at,
            op,
            &plan,
            &bar,
        )
    })?;
    bar.finish_and_clear();
    Ok(ReplaceOutcome {
        replacements: eval.ready,
        already_done: eval.done,
        dry_run: false,
        disable_old,
        plan,
        created_at: created_at.clone(),
    })
}

/// One attempt at [`commit`]'s write: takes the write lock, checks every
/// row against the store as it is now, writes, and commits; the checked
/// rows.
#[allow(clippy::too_many_arguments)]
fn write_checked(
    store: &mut Store,
    requests: &[Request],
    options: CheckOptions,
    disable_old: bool,
    created_at: &str,
    op: &Operator,
    plan: &Option<String>,
    bar: &Progress,
) -> Result<Evaluation> {
    bar.set_message("waiting for the store's write lock");
    let tx = store.begin_write()?;
    let now = Operator::now();
    let stamp = Stamp {
        at: &now,
        actor: op.actor(),
        created_at,
    };
    if requests.len() > BATCH {
        bar.count(requests.len() as u64);
    }
    bar.set_message("checking and creating replacement accounts");
    let write = |ready: &[Replacement]| -> Result<()> {
        for chunk in ready.chunks(BATCH) {
            let batch: Vec<NewAccount<'_>> = chunk
                .iter()
                .map(|r| NewAccount {
                    old_account_id: &r.old_account_id,
                    new_account_id: &r.new_account_id,
                    email: &r.email,
                    email_key: &r.email_key,
                    given_name: &r.given_name,
                    family_name: &r.family_name,
                    reason: r.reason.as_deref(),
                })
                .collect();
            tx.create_replacements(&batch, disable_old, stamp)?;
            tracing::info!("batch written");
        }
        Ok(())
    };
    let mut eval = if requests.len() > BATCH {
        check_and_write_pipelined(&tx, requests, options, bar, write)?
    } else {
        let eval = evaluate(&tx, requests, options)?;
        if eval.problems.is_empty() {
            write(&eval.ready)?;
        }
        eval
    };
    // Any problem: `tx` is dropped unfinished, which rolls back every write.
    fail_on_problems(requests, plan, std::mem::take(&mut eval.problems))?;
    bar.set_message("committing");
    tracing::info!("checked and written");
    tx.commit()?;
    tracing::info!("committed");
    Ok(eval)
}

/// Checks a long plan and creates its accounts at once, inside the write
/// transaction `tx`: a second thread checks each batch on its own connection
/// while this one writes the batch before it.
///
/// The checking connection sees the store exactly as the transaction found
/// it: `tx` holds the write lock, so no other operator can commit, and the
/// plan's own uncommitted writes stay in `tx`'s page cache until the commit
/// (`Store::prepare_for_bulk` turns off spilling them), out of another
/// connection's sight. Those
/// writes cannot change another row's verdict anyway: each row touches only
/// its own old account and its own new id and address, and a plan that names
/// an account or address twice is refused (nothing is written), though every
/// row of it is still checked. Once a
/// problem turns up nothing more is written (the transaction will be rolled
/// back), but every batch is still checked so that every problem is reported.
fn check_and_write_pipelined(
    tx: &WriteTx<'_>,
    requests: &[Request],
    options: CheckOptions,
    bar: &Progress,
    mut write: impl FnMut(&[Replacement]) -> Result<()>,
) -> Result<Evaluation> {
    let (repeats, repeated) = find_repeats(requests);
    let reader = tx.lookup_reader()?;
    let mut total = Evaluation {
        problems: repeats,
        ..Evaluation::default()
    };
    std::thread::scope(|scope| -> Result<()> {
        let (send, receive) = mpsc::sync_channel::<Result<Evaluation>>(2);
        let repeated = &repeated;
        let checker = scope.spawn(move || {
            let first = requests.len().min(FIRST_BATCH);
            let (first, rest) = (
                (&requests[..first], &repeated[..first]),
                (&requests[first..], &repeated[first..]),
            );
            let batches = rest.0.chunks(BATCH).zip(rest.1.chunks(BATCH));
            for (batch, repeats) in std::iter::once(first).chain(batches) {
                let checked = check_requests(&reader, batch, repeats, options);
                let failed = checked.is_err();
                if send.send(checked).is_err() || failed {
                    break;
                }
            }
        });
        for checked in receive {
            let mut eval = checked?;
            if total.problems.is_empty() && eval.problems.is_empty() {
                write(&eval.ready)?;
            }
            bar.inc((eval.ready.len() + eval.done.len() + eval.problems.len()) as u64);
            total.problems.append(&mut eval.problems);
            total.ready.append(&mut eval.ready);
            total.done.append(&mut eval.done);
        }
        checker
            .join()
            .map_err(|_| anyhow::anyhow!("checking the plan failed"))?;
        Ok(())
    })?;
    Ok(total)
}

fn fail_on_problems(
    requests: &[Request],
    plan: &Option<String>,
    problems: Vec<Problem>,
) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(match plan {
        Some(name) => bad_plan(name, to_file_problems(problems)),
        None => refused_single(&requests[0], &problems),
    })
}
