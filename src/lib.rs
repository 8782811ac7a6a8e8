//! `cqrs-admin`: get every CQRS user account ready for NHSmail single sign-on.
//!
//! `run` is the whole program: the binary only parses arguments and maps the
//! result to an exit status.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod error;
pub mod files;
pub mod input;
pub mod model;
pub mod output;
pub mod rules;
pub mod store;
pub mod unique_texts;

use anyhow::Result;
use chrono::NaiveDate;
use clap::CommandFactory;

use crate::cli::{AccountsCommand, Cli, Command, CutoverCommand};
use crate::commands::cutover::Dates;
use crate::error::ActionNeeded;
use crate::output::{Sink, views};
use crate::store::Store;

/// With `CQRS_ADMIN_TRACE` set, prints how long each phase of a long command
/// took (to standard error), for the benchmark and for finding slow steps.
pub fn trace(phase: &str) {
    use std::sync::OnceLock;
    static START: OnceLock<Option<std::time::Instant>> = OnceLock::new();
    let start = START
        .get_or_init(|| std::env::var_os("CQRS_ADMIN_TRACE").map(|_| std::time::Instant::now()));
    if let Some(start) = start {
        // Resident memory now and at its peak (Linux only), to see which
        // phase holds it.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        };
        let rss_mb = match (kb("VmRSS:"), kb("VmHWM:")) {
            (Some(now), Some(peak)) => format!(" {:>4} MB (peak {:>4})", now >> 10, peak >> 10),
            _ => String::new(),
        };
        eprintln!(
            "trace: {:>8.3}s{rss_mb} {phase}",
            start.elapsed().as_secs_f64()
        );
    }
}

/// Who is running the command, for the change log: `--actor`, else the login name.
pub fn actor(cli: &Cli) -> String {
    cli.actor
        .clone()
        .filter(|a| !a.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Today's date: pinned by `--today`, else the system's local date.
pub fn today(cli: &Cli) -> NaiveDate {
    cli.today
        .unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Who is making a change and today's date, for commands that change accounts.
fn operator(cli: &Cli) -> commands::confirm::Operator {
    commands::confirm::Operator {
        actor: actor(cli),
        today: today(cli),
    }
}

pub fn run(cli: Cli) -> Result<()> {
    trace("start");
    // Commands that need no store.
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cqrs-admin", &mut out);
            return Ok(output::print_text(&String::from_utf8_lossy(&out))?);
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            return Ok(output::print_text(&String::from_utf8_lossy(&out))?);
        }
        _ => {}
    }
    let mut store = Store::open(&cli.db)?;
    let format = cli.format;
    let dates = || Dates::resolve(&store, cli.cutover, today(&cli));
    match &cli.command {
        Command::Import(args) => {
            let outcome = commands::import::run(&mut store, args)?;
            views::import(&outcome);
        }
        Command::Audit(args) => {
            let headers = if args.counts {
                commands::audit::COUNT_COLUMNS
            } else {
                commands::audit::COLUMNS
            };
            let mut sink = Sink::stdout(format, headers)?;
            let summary = commands::audit::run(&mut store, args, &mut sink)?;
            sink.finish()?;
            views::audit_summary(&summary, format, args.counts);
            if args.check && summary.needing_action > 0 {
                return Err(ActionNeeded(summary.needing_action as usize).into());
            }
        }
        Command::Report(args) => {
            let dates = dates()?;
            let report = commands::report::run(&mut store, args, dates)?;
            views::report(&report, format)?;
            if args.check && report.accounts > 0 {
                return Err(ActionNeeded(report.accounts as usize).into());
            }
        }
        Command::Signin(args) => {
            let signin = commands::signin::run(&store, &args.address)?;
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
            commands::cutover::set(&mut store, *date)?;
            let dates = Dates::resolve(&store, None, today(&cli))?;
            views::cutover(&dates, format)?;
        }
        Command::Plan(args) => {
            // The target is checked before the plan is made: a refused
            // command does no work and writes nothing.
            let guarded = files::Guarded::store(store.path());
            let target =
                files::Target::check(&args.out, args.force, &guarded, output::replacements::PLAN)?;
            let plan = commands::plan::run(&store, args, format)?;
            output::replacements::plan(&plan, &target, &guarded, format)?;
        }
        Command::Replace(args) => {
            commands::replace::run(&mut store, args, &operator(&cli), format)?;
        }
        Command::Revert(args) => {
            commands::revert::run(&mut store, args, &operator(&cli), format)?;
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
                .filter(|v| !v.ok())
                .map(|v| v.new_account_id.as_str())
                .collect();
            if !differ.is_empty() {
                return Err(error::UserError::Refused(format!(
                    "{} replacement(s) differ from the account they replaced: {}",
                    differ.len(),
                    differ.join(", ")
                ))
                .into());
            }
        }
        Command::Log(args) => {
            let entries = commands::log::run(&store, args)?;
            output::replacements::log(&entries, format)?;
        }
        Command::Export(args) => {
            let exported = commands::export::run(&store, args, format)?;
            output::replacements::exported(&exported, format)?;
        }
        Command::Completions { .. } | Command::Man => unreachable!("handled above"),
    }
    Ok(())
}
