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

    /// How to print records (xlsx: a workbook, with --out).
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Pin today's date (YYYY-MM-DD), for reproducible reports [default: the system date].
    #[arg(long, global = true, help_heading = GLOBAL, env = "CQRS_ADMIN_TODAY", value_parser = parse_date)]
    pub today: Option<NaiveDate>,

    /// Use this cutover date (YYYY-MM-DD) for this run instead of the stored one.
    #[arg(long, global = true, help_heading = GLOBAL, value_parser = parse_date)]
    pub cutover: Option<NaiveDate>,

    #[command(subcommand)]
    pub command: Command,
}

/// How records are printed on standard output (or written as text to a
/// file): what every view knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// `--format`: a printed [`Format`], or an Excel workbook, which only the
/// commands that write a file for people to pass on make (audit, report,
/// plan). Kept apart from `Format` so that every view need not know a
/// format it never prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    // No doc comments here: help lists the values on one line, as before.
    Table,
    Csv,
    Json,
    // An Excel workbook, every cell text (audit, report and plan, with --out FILE).
    Xlsx,
}

impl OutputFormat {
    /// The printed format, or None for a workbook.
    pub fn printed(self) -> Option<Format> {
        match self {
            OutputFormat::Table => Some(Format::Table),
            OutputFormat::Csv => Some(Format::Csv),
            OutputFormat::Json => Some(Format::Json),
            OutputFormat::Xlsx => None,
        }
    }
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
    /// Tell every user who must act what to do, and every contact which users will ask: sent once.
    ///
    /// Each account in the report with a valid address gets one message at its
    /// own registered address (what is wrong, what to do, before when, whom to
    /// contact, the NHSmail address found, the help desk); each contact with a
    /// contact_email gets one digest of its accounts with a CSV attached; accounts
    /// whose address is not valid are listed for the CQRS administrator
    /// (--admin-to, else the --from address). A message already sent with the
    /// same content is never sent again: run it again next week and only the new
    /// or changed messages go; after a relay refused part-way, exactly the rest.
    ///
    /// Templates may use: cutover, cutover_date, days_left, when, help_desk_email,
    /// help_desk_phone; for an account: account_id, given_name, family_name,
    /// email, section, category, problem, address_found, contacts (code, name,
    /// email); for a digest: contact_code, contact_name, contact_email, count,
    /// accounts and groups (section, title, accounts); for the list of invalid
    /// addresses: count, accounts (account_id, given_name, family_name, email,
    /// why, contacts) and contacts_without_address (code, name, email).
    Notify(NotifyArgs),
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
    /// Register database logins as operators, national or for one organisation's area (PostgreSQL).
    #[command(subcommand)]
    Operators(OperatorsCommand),
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
    /// Progress toward cutover: one row per day a whole-store audit ran.
    Progress(ProgressArgs),
}

#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// One row per day and contact instead of one per day.
    #[arg(long, value_enum)]
    pub by: Option<ProgressBy>,
    /// Only this contact (ODS code, or cqrs-administrator): its rows by day.
    #[arg(long)]
    pub contact: Option<String>,
    /// Draw the burn-down chart to this file instead (SVG or PNG, by its
    /// extension; a new owner-only file).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Replace the file at --chart if there is one (never the store, a link or a device).
    #[arg(long, requires = "chart")]
    pub force: bool,
}

/// What `progress --by` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressBy {
    /// One row per day and contact.
    Contact,
}

/// Where an operator has got to with an account's case (`clear`: no state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FollowUpArg {
    /// The user (or their commissioner) has been contacted.
    Contacted,
    /// Waiting for the user (e.g. for their NHSmail address).
    AwaitingUser,
    /// Put right in CQRS itself.
    DoneInCqrs,
    /// No follow-up state.
    Clear,
}

/// A follow-up state to filter the report by (`none`: no state set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FollowUpFilter {
    Contacted,
    AwaitingUser,
    DoneInCqrs,
    /// Accounts with no follow-up state.
    None,
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
    /// The file: CSV (separated by commas, semicolons or tabs) or a workbook
    /// (.xlsx, .xls, .ods); `-` reads standard input.
    pub file: PathBuf,
    /// Check the file and report what would change, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Read the column FIELD from the file's column HEADER (repeatable), e.g.
    /// --map address=UserPrincipalName; quote a header with spaces.
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// The sheet of a workbook to read [default: the first].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

/// `FIELD=HEADER`: a header may hold spaces and `=`; the field may not.
fn parse_mapping(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((field, header)) if !field.trim().is_empty() && !header.trim().is_empty() => {
            Ok((field.trim().to_string(), header.trim().to_string()))
        }
        _ => Err(format!(
            "`{text}` is not FIELD=HEADER: write the column's name, `=`, and the file's header, \
             e.g. address=UserPrincipalName"
        )),
    }
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
    /// Write the audit to this file (a new owner-only file; `-` for standard
    /// output) in the format chosen, or by its extension (.xlsx, .json, else CSV).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace the file at --out if there is one (never the store, a link or a device).
    #[arg(long, requires = "out")]
    pub force: bool,
}

#[derive(Debug, Default, Args)]
pub struct ReportArgs {
    /// Only this section (repeatable).
    #[arg(long, value_parser = Words::new(parse_section, section_words))]
    pub section: Vec<Section>,
    /// Only this contact (ODS code, or cqrs-administrator).
    #[arg(long)]
    pub contact: Option<String>,
    /// Only accounts in this follow-up state (repeatable; `none`: no state set).
    #[arg(long, value_enum)]
    pub follow_up: Vec<FollowUpFilter>,
    /// Exit with status 3 when any account needs action before cutover.
    #[arg(long)]
    pub check: bool,
    /// Write the report to this file (a new owner-only file; `-` for standard
    /// output) in the format chosen, or by its extension (.xlsx, .json, else
    /// CSV); with --split-by, the folder to write one file per contact into.
    #[arg(long, value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// Write one file per contact into the --out folder, named by the
    /// contact's code (`00K.xlsx`, `cqrs-administrator.xlsx`), with
    /// format xlsx or csv.
    #[arg(long, value_enum, requires = "out")]
    pub split_by: Option<SplitBy>,
    /// Replace the files already at --out (never the store, a link or a device).
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// What `report --split-by` makes one file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitBy {
    /// One file per contact, with that contact's rows only.
    Contact,
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
    /// Add a dated note to an account (kept with the operator; never edited or deleted).
    Note {
        /// The account id.
        account: String,
        /// The note.
        text: String,
    },
    /// Set where an account's case stands (recorded in the change log).
    FollowUp {
        /// The account id.
        account: String,
        /// The state, or `clear`.
        #[arg(value_enum)]
        state: FollowUpArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorsCommand {
    /// Register an existing database login as an operator (the store's owner only).
    Add {
        /// The database login (role) to register.
        role: String,
        /// The organisation (ODS code) whose area the operator works in: it and everything below it. Without it, national.
        #[arg(long)]
        org: Option<String>,
    },
    /// The registered operators and their areas (the store's owner only).
    List,
    /// Take a login's registration and its grants back (the store's owner only).
    Remove {
        /// The database login (role).
        role: String,
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

/// `notify`'s options (the command's help is on `Command::Notify`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("where").args(["outbox", "smtp", "write_templates"]).required(true)))]
pub struct NotifyArgs {
    /// Write each message as an RFC 5322 file (.eml) into this folder (created owner-only).
    #[arg(long, group = "where")]
    pub outbox: Option<PathBuf>,
    /// Send through this relay: smtps://HOST[:PORT] (TLS) or smtp://HOST[:PORT]
    /// (STARTTLS required; plain only to a loopback address). User and password
    /// from CQRS_ADMIN_SMTP_USER and CQRS_ADMIN_SMTP_PASSWORD, never the command line.
    #[arg(long, group = "where")]
    pub smtp: Option<String>,
    /// The sender's address.
    #[arg(long, required_unless_present = "write_templates")]
    pub from: Option<String>,
    /// Where the list of accounts that cannot be written to goes [default: the --from address].
    #[arg(long)]
    pub admin_to: Option<String>,
    /// Only this section (repeatable).
    #[arg(long, value_parser = Words::new(parse_section, section_words))]
    pub section: Vec<Section>,
    /// Only this contact (ODS code, or cqrs-administrator).
    #[arg(long)]
    pub contact: Option<String>,
    /// Use the templates in this folder (write the built-in ones with --write-templates).
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Write the built-in templates into this folder, to edit, and send nothing.
    #[arg(long, group = "where", conflicts_with_all = ["from", "templates", "yes", "dry_run"])]
    pub write_templates: Option<PathBuf>,
    /// Replace templates already in the --write-templates folder (never a link or the store).
    #[arg(long, requires = "write_templates")]
    pub force: bool,
    /// Send at most this many messages a minute.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_minute: Option<u32>,
    /// Answer yes to the confirmation (needed when not at a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show how many messages would go to whom, and one of each kind; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Where to write the plan (a new owner-only file; CSV, or a workbook with
    /// format xlsx or a name ending .xlsx); `-` for standard output.
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
    /// A reviewed plan: CSV or a workbook (.xlsx, .ods) with account_id,new_email[,reason].
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
