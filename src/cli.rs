//! The whole command line in one place. Doc comments are the help text.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::rules::{Category, Section};

/// The help heading of the options every command takes, apart from each
/// command's own.
const GLOBAL: &str = "Global options";

/// The environment variable that turns a run into a shell's completion
/// request (clap_complete's dynamic protocol). The tool's own name, not the
/// usual `COMPLETE`: a `COMPLETE` left in someone's environment for another
/// purpose must not turn every command into a completion request.
pub const COMPLETE_VAR: &str = "CQRS_ADMIN_COMPLETE";

/// What to do first: shown after `--help` and on its own when the tool is
/// run with no arguments.
pub const START_HERE: &str = "\
Start here:
  1. Import the files, in this order (each checked whole before it is kept):
       cqrs-admin import organisations organisations.csv
       cqrs-admin import accounts accounts.csv
       cqrs-admin import permissions permissions.csv
       cqrs-admin import directory directory.csv
       cqrs-admin import activity activity.csv
  2. cqrs-admin audit     which accounts will sign in on cutover day, and why not
  3. cqrs-admin report    who must do what, grouped by whom they contact
  4. cqrs-admin plan --out plan.csv, review it, then
     cqrs-admin replace --plan plan.csv
                          create the replacement accounts

Every command: cqrs-admin --help. One command: cqrs-admin help COMMAND.";

/// Get every CQRS user account ready for NHSmail single sign-on.
///
/// Import the CQRS exports and an NHSmail directory extract, audit which accounts
/// will sign in on cutover day and why not, report who must contact whom, and
/// create replacement accounts safely.
#[derive(Debug, Parser)]
#[command(
    name = "cqrs-admin",
    version,
    about,
    long_about = None,
    max_term_width = 100,
    after_help = START_HERE
)]
pub struct Cli {
    /// The store (an SQLite file, created by the first import or `cutover set`).
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "CQRS_ADMIN_DB",
        default_value = "cqrs-admin.db"
    )]
    pub db: PathBuf,

    /// Who is running the command; recorded with every change [default: your login name].
    #[arg(long, global = true, help_heading = GLOBAL, env = "CQRS_ADMIN_ACTOR")]
    pub actor: Option<String>,

    /// How to print records.
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Pin today's date (YYYY-MM-DD), for reproducible reports [default: the system date].
    #[arg(long, global = true, help_heading = GLOBAL, env = "CQRS_ADMIN_TODAY", value_parser = parse_date)]
    pub today: Option<NaiveDate>,

    /// Use this cutover date (YYYY-MM-DD) for this run instead of the stored one.
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = parse_date)]
    pub cutover: Option<NaiveDate>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a CQRS export or the NHSmail directory extract (whole file or nothing).
    Import(ImportArgs),
    /// Every account's category, NHSmail match and section.
    Audit(AuditArgs),
    /// Who must do what before cutover, grouped by whom they contact.
    Report(ReportArgs),
    /// What a person will see when signing in with this NHSmail address on cutover day.
    Signin(SigninArgs),
    /// Look at accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Show or set the cutover date kept in the store.
    #[command(subcommand)]
    Cutover(CutoverCommand),
    /// Write a bulk replacement plan from the confident matches, for review.
    Plan(PlanArgs),
    /// Create replacement accounts, one at a time or from a reviewed plan.
    Replace(ReplaceArgs),
    /// Undo a replacement: disable the replacement account, restore the old one.
    Revert(RevertArgs),
    /// Undo a revert: make a reverted replacement active again, replacing the old account again.
    Reinstate(ReinstateArgs),
    /// The activity an account can see.
    History(HistoryArgs),
    /// Prove that every replacement has the old account's roles and sees the same history.
    Verify,
    /// The change log: every replacement and revert, who did it and when.
    Log(LogArgs),
    /// Write replacement accounts (or the whole store) as CSV in the import formats.
    Export(ExportArgs),
    /// Work on a whole store: copy it to another back end.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write a manual page for every command (roff), or print the main one.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write cqrs-admin.1 and cqrs-admin-COMMAND.1 into (created
    /// owner-only if missing); without it the main page is printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the pages already in the folder (never the store, a link or a device).
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// Which input file is being imported: a domain term, kept in the model so
/// that the store does not depend on the command line.
pub use crate::model::FileKind;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Which file this is.
    #[arg(value_enum)]
    pub kind: FileKind,
    /// The CSV file; `-` reads standard input.
    pub file: PathBuf,
    /// Check the file and report what would change, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Include disabled accounts.
    #[arg(long)]
    pub include_disabled: bool,
    /// Only accounts in this category (repeatable).
    #[arg(long, value_parser = Words::new(parse_category, category_words))]
    pub category: Vec<Category>,
    /// Only accounts in this section (repeatable).
    #[arg(long, value_parser = Words::new(parse_section, section_words))]
    pub section: Vec<Section>,
    /// Only accounts holding a role at this organisation (ODS code).
    #[arg(long)]
    pub org: Option<String>,
    /// Only accounts whose contact is this organisation (ODS code, or cqrs-administrator).
    #[arg(long)]
    pub contact: Option<String>,
    /// Print the number of accounts in each category instead of the accounts.
    #[arg(long)]
    pub counts: bool,
    /// Exit with status 3 when any account needs action before cutover.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this section (repeatable).
    #[arg(long, value_parser = Words::new(parse_section, section_words))]
    pub section: Vec<Section>,
    /// Only this contact (ODS code, or cqrs-administrator).
    #[arg(long)]
    pub contact: Option<String>,
    /// Exit with status 3 when any account needs action before cutover.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct SigninArgs {
    /// The NHSmail address the person signs in with.
    pub address: String,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// One account: its roles, category, NHSmail match and contacts.
    Show {
        /// An account id, or an email address.
        account: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CutoverCommand {
    /// Print the cutover date and the days left.
    Show,
    /// Keep a new cutover date in the store.
    Set {
        /// The date (YYYY-MM-DD).
        #[arg(value_parser = parse_date)]
        date: NaiveDate,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Where to write the plan (CSV, a new owner-only file); `-` for standard output.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the file at --out if there is one (never the store, a link or a device).
    #[arg(long)]
    pub force: bool,
    /// Only accounts whose contact is this organisation (ODS code).
    #[arg(long)]
    pub contact: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["account_id", "plan"])))]
pub struct ReplaceArgs {
    /// The account to replace.
    #[arg(requires = "email", conflicts_with = "plan")]
    pub account_id: Option<String>,
    /// The replacement's NHSmail address.
    #[arg(long)]
    pub email: Option<String>,
    /// A reviewed plan: CSV with account_id,new_email[,reason].
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Why (recorded in the change log; required when the directory names differ).
    #[arg(long)]
    pub reason: Option<String>,
    /// Acknowledge that an account holding an administrator role is being replaced.
    #[arg(long)]
    pub allow_admin: bool,
    /// Also disable the old account (it is kept, with its history).
    #[arg(long)]
    pub disable_old: bool,
    /// Answer yes to the confirmation (needed when not at a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would happen and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The replacement account to disable.
    pub new_account_id: String,
    /// Why (recorded in the change log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Answer yes to the confirmation (needed when not at a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would happen and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ReinstateArgs {
    /// The reverted replacement account to make active again.
    pub new_account_id: String,
    /// Why (recorded in the change log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Answer yes to the confirmation (needed when not at a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would happen and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The account.
    pub account_id: String,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only entries on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub since: Option<NaiveDate>,
    /// Only entries on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub until: Option<NaiveDate>,
    /// Only entries by this operator.
    #[arg(long = "by")]
    pub operator: Option<String>,
    /// Only entries about this account (old or new).
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy a whole store into a new or empty one (SQLite to PostgreSQL and back):
    /// every table, the change log and its hash chain, and the cutover date.
    Copy(StoreCopyArgs),
}

#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The store to copy: an SQLite file or a postgres:// URL (--db is not used).
    pub from: PathBuf,
    /// The store to copy into: a new SQLite file, an empty one, or an empty
    /// PostgreSQL database (postgres:// URL, the database's owner).
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The folder to write into (created owner-only if missing); `-` writes the
    /// file chosen by --only to standard output.
    #[arg(long)]
    pub out: PathBuf,
    /// Write only this file (required with `--out -`).
    #[arg(long, value_enum)]
    pub only: Option<ExportFile>,
    /// Replace the files already in the folder (never the store, a link or a device).
    #[arg(long)]
    pub force: bool,
    /// Export every account and role, not only the replacement accounts.
    #[arg(long)]
    pub all: bool,
}

/// The files `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFile {
    /// accounts.csv
    Accounts,
    /// permissions.csv
    Permissions,
}

impl ExportFile {
    pub const ALL: [ExportFile; 2] = [ExportFile::Accounts, ExportFile::Permissions];

    /// The file's name in the export folder.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFile::Accounts => "accounts.csv",
            ExportFile::Permissions => "permissions.csv",
        }
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date: write it as YYYY-MM-DD, e.g. 2020-09-23"))
}

/// A value parser that keeps the tool's own message for a wrong word and
/// tells clap the words, so that help lists them and completion offers them.
#[derive(Clone)]
struct Words<T> {
    parse: fn(&str) -> Result<T, String>,
    words: fn() -> Vec<&'static str>,
}

impl<T> Words<T> {
    fn new(parse: fn(&str) -> Result<T, String>, words: fn() -> Vec<&'static str>) -> Self {
        Words { parse, words }
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Words<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // The plain function's parser: the same message as before.
        self.parse.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            (self.words)()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

fn category_words() -> Vec<&'static str> {
    Category::ALL.iter().map(|c| c.as_str()).collect()
}

fn section_words() -> Vec<&'static str> {
    Section::ALL.iter().map(|c| c.as_str()).collect()
}

fn parse_category(text: &str) -> Result<Category, String> {
    Category::parse(text.trim()).ok_or_else(|| {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!("`{text}` is not a category: use one of {}", all.join(", "))
    })
}

fn parse_section(text: &str) -> Result<Section, String> {
    Section::parse(text.trim()).ok_or_else(|| {
        let all: Vec<&str> = Section::ALL.iter().map(|c| c.as_str()).collect();
        format!("`{text}` is not a section: use one of {}", all.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks (conflicting ids, groups naming unknown
    /// arguments, short flags used twice), which otherwise fire only when the
    /// faulty command is run.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
