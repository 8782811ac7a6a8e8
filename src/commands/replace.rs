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

use anyhow::Result;

use super::confirm::Operator;
use crate::cli::ReplaceArgs;
use crate::error::{FileProblem, UserError};
use crate::model::RoleGrant;
use crate::reporting::{Progress, Reporter, Work};
use crate::rules::{DirectoryFacts, Refusal, ReplacementFacts, check_replacement, normal_form};
use crate::store::{NewAccount, ReplacementLookup, Stamp, Store};

mod plan_file;
pub use plan_file::{PlanFile, read_plan};

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

    /// Frees the request's texts once it has been checked (a long plan's
    /// rows are not held twice); its line stays.
    fn let_go(&mut self) {
        self.account_id = String::new();
        self.email = String::new();
        self.email_key = String::new();
        self.reason = None;
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

/// How many replacements are checked and written per statement batch (and
/// per step of the progress bar): the look-up of a batch is held only while
/// it is checked.
const BATCH: usize = 10_000;

/// The replacements asked for, read and not yet checked: what
/// [`propose`] checks and [`commit`] makes.
#[derive(Debug)]
pub struct Requested {
    requests: Vec<Request>,
    /// The plan's name, for a plan.
    plan: Option<String>,
    /// The plan's file, to name its problems by line or cell.
    plan_file: Option<PlanFile>,
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
    let (requests, plan_file) = match (&args.plan, &args.account_id, &args.email) {
        (Some(path), _, _) => {
            if args.reason.is_some() {
                return Err(UserError::Refused(
                    "--reason applies to a single replacement: give each plan row its reason in \
                     the plan's reason column"
                        .into(),
                )
                .into());
            }
            let (file, requests, problems) = read_plan(path)?;
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
                return Err(file.refused(all));
            }
            (requests, Some(file))
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
    let plan = plan_file.as_ref().map(|f| f.name.clone());
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
        plan_file,
        options,
        disable_old: args.disable_old,
        created_at: op.created_at(),
    }))
}

/// The first look, to show and ask: checks every row against the store as
/// it is now and changes nothing. Refused (naming every problem) if any row
/// fails a check.
pub fn propose(store: &Store, requested: Requested, reporter: &dyn Reporter) -> Result<Proposal> {
    let Requested {
        requests,
        plan,
        plan_file,
        ..
    } = &requested;
    let bar = progress(reporter, requests.len());
    bar.set_message(format!("checking {} rows", requests.len()));
    let eval = evaluate(store, requests, requested.options)?;
    bar.finish_and_clear();
    fail_on_problems(&requests[0], plan_file, eval.problems)?;
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
        mut requests,
        plan,
        plan_file,
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
            &mut requests,
            options,
            disable_old,
            &created_at,
            op,
            &plan_file,
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
    requests: &mut [Request],
    options: CheckOptions,
    disable_old: bool,
    created_at: &str,
    op: &Operator,
    plan_file: &Option<PlanFile>,
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
    // Every row is checked before anything is written, against the store as
    // this transaction found it (it holds the write lock, so nobody else can
    // commit meanwhile): one consistent read, and then one transaction that
    // makes every account or none. Since no other connection reads while
    // this one writes, the writing connection may spill changed pages to the
    // file before the commit (`Store::prepare_for_bulk` bounds its page
    // cache), so memory does not grow with the plan; the rollback journal
    // still undoes everything if the transaction never commits. A store
    // whose writes can lose to another transaction keeps the requests' texts
    // for the next attempt; any other lets them go once checked.
    let first = requests[0].clone(); // a single replacement's refusal names it
    let let_go = !tx.writes_can_lose();
    let mut eval = if tx.checks_beside_writes() && requests.len() > BATCH {
        check_while_writing(&tx, requests, options, bar, &write)?
    } else {
        let eval = check_in_batches(&tx, requests, options, bar, let_go)?;
        tracing::info!("checked");
        if eval.problems.is_empty() {
            bar.set_message("creating replacement accounts");
            write(&eval.ready)?;
        }
        eval
    };
    // Any problem: `tx` is dropped unfinished, which rolls back every write.
    fail_on_problems(&first, plan_file, std::mem::take(&mut eval.problems))?;
    bar.set_message("committing");
    tracing::info!("checked and written");
    tx.commit()?;
    tracing::info!("committed");
    Ok(eval)
}

/// Checks every row of a plan, a batch at a time (so that only one batch's
/// look-up is held per connection), naming every problem of every row;
/// writes nothing. A long plan's later half is checked at the same time on
/// a second connection: `store` holds the write lock and has written
/// nothing yet, so both see the store exactly as the transaction found it.
/// The second connection is closed before anything is written. Each
/// request's text is let go once its batch is checked: what is written and
/// shown is in the verdicts.
fn check_in_batches(
    store: &Store,
    requests: &mut [Request],
    options: CheckOptions,
    bar: &Progress,
    let_go: bool,
) -> Result<Evaluation> {
    let rows = requests.len();
    let (repeats, repeated) = find_repeats(requests);
    let mut batches: Vec<(&mut [Request], &[bool])> = requests
        .chunks_mut(BATCH)
        .zip(repeated.chunks(BATCH))
        .collect();
    let half = batches.len() / 2;
    let (first, second) = batches.split_at_mut(half);
    let mut total = if first.is_empty() {
        check_batches(store, second, rows, options, bar, let_go)?
    } else {
        let reader = store.lookup_reader()?;
        let later_rows = rows - first.iter().map(|(b, _)| b.len()).sum::<usize>();
        std::thread::scope(|scope| -> Result<Evaluation> {
            let checker = scope.spawn(move || {
                check_batches(
                    &reader,
                    second,
                    later_rows,
                    options,
                    &Progress::hidden(),
                    let_go,
                )
            });
            // Room for every row's verdict, reserved once: growing the list
            // batch by batch would double its buffer.
            let mut earlier = check_batches(store, first, rows, options, bar, let_go)?;
            let mut later = checker
                .join()
                .map_err(|_| anyhow::anyhow!("checking the plan failed"))??;
            bar.inc(later_rows as u64);
            earlier.absorb(&mut later);
            Ok(earlier)
        })?
    };
    total.problems.splice(0..0, repeats);
    Ok(total)
}

/// Checks a plan's batches in order on a second connection while `store`
/// writes each batch as soon as it and every batch before it have passed,
/// for a store whose second connection sees only what is committed
/// ([`crate::store::Backend::checks_beside_writes`]): every batch is then
/// checked against the store as this write found it, exactly as checking
/// the whole plan first would check it (a plan names each account and each
/// address once, so no batch's verdict depends on an earlier batch's
/// writes), and the checking of one batch overlaps the writing of the one
/// before. Once any row fails, nothing more is written (the caller rolls
/// back what was) and the later batches are still checked, so that every
/// problem is named. The requests' texts are kept (such a store's write can
/// lose and be run again).
fn check_while_writing(
    store: &Store,
    requests: &[Request],
    options: CheckOptions,
    bar: &Progress,
    write: &dyn Fn(&[Replacement]) -> Result<()>,
) -> Result<Evaluation> {
    let (repeats, repeated) = find_repeats(requests);
    let reader = store.lookup_reader()?;
    let mut total = Evaluation {
        ready: Vec::with_capacity(requests.len()),
        ..Evaluation::default()
    };
    let mut failed = !repeats.is_empty();
    std::thread::scope(|scope| -> Result<()> {
        // Two batches' verdicts at most wait for the writer.
        let (send, checked) = std::sync::mpsc::sync_channel::<(usize, Result<Evaluation>)>(2);
        let batches: Vec<(&[Request], &[bool])> = ramp(requests.len())
            .map(|range| (&requests[range.clone()], &repeated[range]))
            .collect();
        scope.spawn(move || {
            for (batch, repeats) in batches {
                let eval = check_requests(&reader, batch, repeats, options);
                let stop = eval.is_err();
                // The writer gone (it failed): nothing more to check for.
                if send.send((batch.len(), eval)).is_err() || stop {
                    return;
                }
            }
        });
        for (rows, eval) in checked {
            let mut eval = eval?;
            bar.inc(rows as u64);
            failed |= !eval.problems.is_empty();
            if !failed {
                write(&eval.ready)?;
            }
            total.absorb(&mut eval);
        }
        Ok(())
    })?;
    tracing::info!("checked and written batch by batch");
    total.problems.splice(0..0, repeats);
    Ok(total)
}

/// The first batch checked beside the writes: the writer waits, idle,
/// while it is checked, so it is small.
const FIRST_BATCH: usize = 1_000;

/// The batches of a plan of `rows` rows checked beside the writes: from
/// [`FIRST_BATCH`], each half as large again as the one before, up to
/// [`BATCH`]. Checking a batch takes about as long as writing two thirds
/// of it, so each batch is checked while the one before is written and
/// the writer starts after a tenth of a full batch's check, not the whole
/// of it (an 89,115-row plan on a loaded machine: the writer idle before
/// its first write about 0.4 s instead of 1.3 s).
fn ramp(rows: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = 0;
    let mut size = FIRST_BATCH;
    std::iter::from_fn(move || {
        if start >= rows {
            return None;
        }
        let end = (start + size).min(rows);
        let range = start..end;
        start = end;
        size = (size + size / 2).min(BATCH);
        Some(range)
    })
}

/// Checks these batches in order on one connection, with room for `rows`
/// verdicts.
fn check_batches(
    store: &Store,
    batches: &mut [(&mut [Request], &[bool])],
    rows: usize,
    options: CheckOptions,
    bar: &Progress,
    let_go: bool,
) -> Result<Evaluation> {
    let mut out = Evaluation {
        ready: Vec::with_capacity(rows),
        ..Evaluation::default()
    };
    for (batch, repeats) in batches.iter_mut() {
        let mut eval = check_requests(store, batch, repeats, options)?;
        bar.inc(batch.len() as u64);
        out.absorb(&mut eval);
        if let_go {
            for r in batch.iter_mut() {
                r.let_go();
            }
        }
    }
    Ok(out)
}

impl Evaluation {
    /// Appends `other`'s verdicts after these.
    fn absorb(&mut self, other: &mut Evaluation) {
        self.problems.append(&mut other.problems);
        self.ready.append(&mut other.ready);
        self.done.append(&mut other.done);
    }
}

fn fail_on_problems(
    first: &Request,
    plan: &Option<PlanFile>,
    problems: Vec<Problem>,
) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(match plan {
        Some(file) => file.refused(to_file_problems(problems)),
        None => refused_single(first, &problems),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_covers_every_row_once_in_order_growing_to_a_full_batch() {
        for rows in [1, FIRST_BATCH, FIRST_BATCH + 1, 89_115, 250_000] {
            let ranges: Vec<_> = ramp(rows).collect();
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, rows);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                assert!(pair[1].len() <= BATCH);
            }
            assert!(ranges[0].len() <= FIRST_BATCH);
        }
        let sizes: Vec<usize> = ramp(89_115).map(|r| r.len()).collect();
        assert_eq!(
            &sizes[..7],
            &[1_000, 1_500, 2_250, 3_375, 5_062, 7_593, 10_000]
        );
    }
}
