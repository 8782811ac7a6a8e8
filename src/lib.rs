//! `cqrs-admin`: get every CQRS user account ready for NHSmail single sign-on.
//!
//! `run` is the whole program: the binary only parses arguments and maps the
//! result to an exit status.

pub(crate) mod app;
pub(crate) mod audit;
pub mod cli;
pub mod columns;
pub mod commands;
pub mod error;
pub(crate) mod files;
pub mod input;
pub(crate) mod model;
pub mod output;
pub(crate) mod reporting;
pub(crate) mod rules;
pub(crate) mod spreadsheet;
pub mod store;
pub mod text;
pub(crate) mod unique_texts;

use anyhow::Result;
use chrono::NaiveDate;
use clap::CommandFactory;

use crate::cli::Format;
use crate::cli::{AccountsCommand, Cli, Command, CutoverCommand, OperatorsCommand, StoreCommand};
use crate::commands::cutover::Dates;
use crate::error::UserError;
use crate::output::xlsx::{self, Destination};
use crate::output::{Shell, Sink, views};
use crate::store::Store;

/// Who is running the command, for the change log: `--actor` (or
/// `CQRS_ADMIN_ACTOR`, through clap), else `USER`, else `LOGNAME`, else the
/// login name of the process's real user in the system's user database (cron
/// and containers often set neither variable), else `uid N`.
pub fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .filter(|a| !a.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(login_name)
}

/// The real user's login name from the user database, else `uid N`.
fn login_name() -> String {
    #[cfg(unix)]
    {
        let uid = nix::unistd::getuid();
        match nix::unistd::User::from_uid(uid) {
            Ok(Some(user)) if !user.name.is_empty() => user.name,
            _ => format!("uid {uid}"),
        }
    }
    #[cfg(not(unix))]
    {
        "unknown".to_string()
    }
}

/// Today's date: pinned by `--today`, else the system's local date.
pub fn today(cli: &Cli) -> NaiveDate {
    cli.today
        .unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// What to do about an error that reached `main` unexplained: the store's
/// advice for a fault of the store file (locked, read-only, not a store,
/// disk full, ...), else the advice for the operating system's error. None
/// for an error the program explained itself: it already says what to do.
pub fn hint(err: &anyhow::Error) -> Option<&'static str> {
    if err.downcast_ref::<UserError>().is_some() {
        return None;
    }
    store::advice(err).or_else(|| error::hint(err))
}

/// Who is making a change and today's date, for commands that change accounts.
fn operator(cli: &Cli) -> commands::confirm::Operator {
    commands::confirm::Operator {
        actor: actor(cli),
        claimed: cli.actor.as_deref().is_some_and(|a| !a.trim().is_empty()),
        today: today(cli),
    }
}

pub fn run(cli: Cli) -> Result<()> {
    output::trace::install();
    tracing::info!("start");
    let shell = Shell::new();
    // A workbook is a file for people to pass on, which only the audit, the
    // report and the plan make; every other command prints text.
    let format = match (cli.format.printed(), &cli.command) {
        (Some(format), _) => format,
        (None, Command::Audit(_) | Command::Report(_) | Command::Plan(_)) => Format::Table,
        (None, _) => {
            return Err(UserError::Refused(
                "--format xlsx writes an Excel workbook, which only audit, report and plan \
                 make (with --out FILE): use --format table, csv or json here"
                    .into(),
            )
            .into());
        }
    };
    // Commands that need no store.
    match &cli.command {
        Command::Completions { shell } => {
            let script = commands::completions::registration(*shell, &mut Cli::command())?;
            return Ok(output::print_text(&script)?);
        }
        Command::Man(args) => match &args.out {
            None => {
                let page = commands::man::main_page(Cli::command())?;
                return Ok(output::print_text(&String::from_utf8_lossy(&page.roff))?);
            }
            Some(folder) => {
                let pages = commands::man::pages(Cli::command())?;
                let written = commands::man::write(&pages, folder, args.force, &cli.db)?;
                return views::manual_pages(&written, format);
            }
        },
        Command::Notify(args) if args.write_templates.is_some() => {
            let folder = args
                .write_templates
                .as_deref()
                .unwrap_or(std::path::Path::new("."));
            let written = commands::notify::templates::write_defaults(
                folder,
                args.force,
                &files::Guarded::store(&cli.db),
            )?;
            return output::notify::templates_written(&written, format);
        }
        _ => {}
    }
    refuse_control_characters(&cli)?;
    // `store copy` names its two stores itself; --db is not used.
    if let Command::Store(StoreCommand::Copy(args)) = &cli.command {
        let copied = commands::store_copy::run(&args.from, &args.to, &shell)?;
        return Ok(views::store_copy(&copied, format)?);
    }
    // A store the Backend trait does not reach yet (PostgreSQL): `verify`
    // only, which also creates or upgrades its schema.
    if let Some(verified) =
        store::beyond_the_boundary(&cli.db, matches!(cli.command, Command::Verify))
    {
        shell.message(&verified?);
        return Ok(());
    }
    // Only the commands that write may create a store: a reading command
    // given a mistyped --db would otherwise report an empty store's
    // all-clear. A dry-run import of a store that does not exist yet is
    // checked against a new, empty store in a private temporary folder, so
    // that it creates nothing at --db.
    let _scratch;
    let mut store = match &cli.command {
        Command::Import(args) if args.dry_run && !Store::exists(&cli.db) => {
            let scratch = tempfile::tempdir()?;
            let store = Store::open_reporting(&scratch.path().join("dry-run.db"), true, &shell)?;
            _scratch = scratch;
            store
        }
        Command::Import(_) | Command::Cutover(CutoverCommand::Set { .. }) => {
            Store::open_reporting(&cli.db, true, &shell)?
        }
        _ => Store::open_reporting(&cli.db, false, &shell)?,
    };
    let dates = || Dates::resolve(&store, cli.cutover, today(&cli));
    match &cli.command {
        Command::Import(args) => {
            let outcome = commands::import::run(&mut store, args, &shell)?;
            views::import(&outcome);
        }
        Command::Audit(args) => {
            commands::audit::refuse_unanswerable(&store, args)?;
            let headers = if args.counts {
                commands::audit::COUNT_COLUMNS
            } else {
                commands::audit::COLUMNS
            };
            let guarded = files::Guarded::store_of(&store);
            let what = "the audit";
            let out = args.out.as_deref();
            let summary = match xlsx::destination(cli.format, out, args.force, &guarded, what)? {
                Destination::Print(format) => {
                    let mut sink = Sink::stdout(format, headers)?;
                    let summary = commands::audit::run(&mut store, args, today(&cli), &mut sink)?;
                    sink.finish()?;
                    views::audit_summary(&summary, format, args.counts);
                    summary
                }
                Destination::Write(written, target) => {
                    let summary = match (written.text_format(), &target) {
                        (Some(text), files::Target::File(file)) => {
                            let mut sink = Sink::new(file.create(what)?, text, headers)?;
                            let summary =
                                commands::audit::run(&mut store, args, today(&cli), &mut sink)?;
                            sink.into_inner()?.commit(&guarded, what)?;
                            summary
                        }
                        _ => {
                            let mut book = xlsx::Book::new();
                            book.sheet(if args.counts { "counts" } else { "audit" }, headers)?;
                            let summary =
                                commands::audit::run(&mut store, args, today(&cli), &mut book)?;
                            book.save(&target, &guarded, what)?;
                            summary
                        }
                    };
                    // The summary a table would end with, and where the rows went.
                    views::audit_summary(&summary, Format::Table, false);
                    xlsx::wrote(what, &target);
                    summary
                }
            };
            if args.check && summary.needing_action > 0 {
                return Err(UserError::ActionNeeded(summary.needing_action as usize).into());
            }
        }
        Command::Report(args) => {
            let guarded = files::Guarded::store_of(&store);
            let report = match (args.split_by, &args.out) {
                (Some(cli::SplitBy::Contact), Some(folder)) => {
                    // Checked before the report is made.
                    let written = xlsx::split_form(cli.format)?;
                    xlsx::split_folder(folder)?;
                    let dates = dates()?;
                    let report = commands::report::run(&mut store, args, dates)?;
                    let files =
                        xlsx::split_by_contact(&report, written, folder, args.force, &guarded)?;
                    xlsx::split_written(&files, format)?;
                    report
                }
                (_, out) => {
                    let out = out.as_deref();
                    let what = xlsx::REPORT;
                    let to = xlsx::destination(cli.format, out, args.force, &guarded, what)?;
                    let dates = dates()?;
                    let report = commands::report::run(&mut store, args, dates)?;
                    match &to {
                        Destination::Print(format) => views::report(&report, *format)?,
                        Destination::Write(written, target) => {
                            xlsx::report_file(&report, *written, target, &guarded)?
                        }
                    }
                    report
                }
            };
            if args.check {
                let accounts = report.accounts();
                if accounts > 0 {
                    return Err(UserError::ActionNeeded(accounts as usize).into());
                }
            }
        }
        Command::Signin(args) => {
            let dates = dates()?;
            let signin = commands::signin::run(&mut store, &args.address, dates)?;
            views::signin(&signin, format)?;
        }
        Command::Accounts(AccountsCommand::Show { account }) => {
            let details = commands::accounts::run(&store, account)?;
            views::accounts(&details, format)?;
        }
        Command::Cutover(CutoverCommand::Show) => {
            views::cutover(&dates()?, format)?;
        }
        Command::Cutover(CutoverCommand::Set { date }) => {
            commands::cutover::set(&mut store, *date, &operator(&cli))?;
            let dates = Dates::resolve(&store, None, today(&cli))?;
            views::cutover(&dates, format)?;
        }
        Command::Notify(args) => {
            let dates = dates()?;
            app::notify(&mut store, args, &operator(&cli), dates, format, &shell)?;
        }
        Command::Plan(args) => {
            // The target is checked before the plan is made: a refused
            // command does no work and writes nothing.
            let guarded = files::Guarded::store_of(&store);
            let target =
                files::Target::check(&args.out, args.force, &guarded, output::replacements::PLAN)?;
            let workbook = xlsx::plan_form(cli.format, &target)? == xlsx::Written::Xlsx;
            let plan = commands::plan::run(&store, args, format, &shell)?;
            output::replacements::plan(&plan, &target, &guarded, format, workbook)?;
        }
        Command::Replace(args) => {
            app::replace(&mut store, args, &operator(&cli), format, &shell)?;
        }
        Command::Revert(args) => {
            app::revert(&mut store, args, &operator(&cli), format, &shell)?;
        }
        Command::Reinstate(args) => {
            app::reinstate(&mut store, args, &operator(&cli), format, &shell)?;
        }
        Command::History(args) => {
            let list = commands::history::run(&store, &args.account_id)?;
            output::replacements::history(&list, format)?;
        }
        Command::Verify => {
            let list = commands::verify::run(&store)?;
            output::replacements::verify(&list, format)?;
            let differ: Vec<&str> = list
                .iter()
                .filter(|v| v.fails())
                .map(|v| v.new_account_id.as_str())
                .collect();
            // The store itself: its protective triggers and the whole chain.
            let tampering = store.tampering()?;
            let mut problems = Vec::new();
            if !differ.is_empty() {
                problems.push(format!(
                    "{} replacement(s) differ from the account they replaced: {}",
                    differ.len(),
                    differ.join(", ")
                ));
            }
            if !tampering.is_empty() {
                let list: Vec<String> = tampering.iter().map(|t| format!("  {t}")).collect();
                problems.push(format!(
                    "{} was changed outside cqrs-admin:\n{}\nTo recover, {}; until then every \
                     command that writes refuses this store",
                    store.name(),
                    list.join("\n"),
                    store::TAMPERED_RECOVERY
                ));
            }
            if !problems.is_empty() {
                return Err(error::UserError::Refused(problems.join("\n")).into());
            }
            shell.message(&match store.change_log_head()? {
                Some((seq, hash)) => format!(
                    "the store's protective triggers are intact, and its change log is an \
                     unbroken chain of {seq} entries (newest hash {hash})"
                ),
                None => "the store's protective triggers are intact; its change log is empty"
                    .to_string(),
            });
        }
        Command::Log(args) => {
            let entries = commands::log::run(&store, args)?;
            output::replacements::log(&entries, format)?;
            // The log is read whole anyway: say if it cannot be trusted.
            // (The triggers were checked, with a warning, on open.)
            let broken: Vec<String> = store
                .tampering()?
                .into_iter()
                .filter(|t| !t.is_trigger())
                .map(|t| t.to_string())
                .collect();
            if !broken.is_empty() {
                shell.warn(&format!(
                    "this change log was changed outside cqrs-admin ({}): run `cqrs-admin verify`",
                    broken.join("; ")
                ));
            }
        }
        Command::Export(args) => {
            let exported = commands::export::run(&store, args, format, &shell)?;
            output::replacements::exported(&exported, format)?;
        }
        Command::Progress(args) => {
            // The chart's file is checked before anything is read.
            let guarded = files::Guarded::store_of(&store);
            let chart = match &args.chart {
                Some(path) => Some(output::burndown::check_chart(path, args.force, &guarded)?),
                None => None,
            };
            let progress = commands::progress::run(&store, args, dates()?)?;
            match chart {
                Some((target, kind)) => {
                    output::burndown::chart(&progress, &target, kind, &guarded)?;
                }
                None => output::burndown::progress(&progress, format)?,
            }
        }
        Command::Accounts(AccountsCommand::Note { account, text }) => {
            let note = commands::accounts::note(&mut store, account, text, &operator(&cli))?;
            views::noted(&note, format)?;
        }
        Command::Accounts(AccountsCommand::FollowUp { account, state }) => {
            let set = commands::accounts::follow_up(&mut store, account, *state, &operator(&cli))?;
            views::followed_up(&set, format)?;
        }
        Command::Operators(OperatorsCommand::Add { role, org }) => {
            let done = commands::operators::add(&mut store, role, org.as_deref(), &operator(&cli))?;
            views::operator_change(&done, format)?;
        }
        Command::Operators(OperatorsCommand::List) => {
            views::operators(&commands::operators::list(&store)?, format)?;
        }
        Command::Operators(OperatorsCommand::Remove { role }) => {
            let done = commands::operators::remove(&mut store, role, &operator(&cli))?;
            views::operator_change(&done, format)?;
        }
        Command::Completions { .. } | Command::Man(_) | Command::Store(_) => {
            unreachable!("handled above")
        }
    }
    Ok(())
}

/// Refuses `--actor` and `--reason` values holding a control character
/// (exit 1, nothing changed): they are kept in the append-only change log
/// and shown raw to the next operator by `log`. A plan's reason column is
/// checked as the plan is read.
fn refuse_control_characters(cli: &Cli) -> Result<()> {
    if let Some(actor) = &cli.actor {
        text::refuse_control_characters("--actor", actor)?;
    }
    let reason = match &cli.command {
        Command::Replace(args) => args.reason.as_deref(),
        Command::Revert(args) => args.reason.as_deref(),
        _ => None,
    };
    if let Some(reason) = reason {
        text::refuse_control_characters("--reason", reason)?;
    }
    Ok(())
}
