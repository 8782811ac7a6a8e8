//! `import KIND FILE`: check every row of a file and write it whole, or refuse
//! it whole with every problem located to its line and column.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::cli::{FileKind, ImportArgs};
use crate::error::{FileProblem, UserError};
use crate::input::{Column, CsvFile, Row};
use crate::model::{ActivityKind, MailboxType, OrgKind, Role, Status};
use crate::rules::{is_valid, normal_form};
use crate::store::{
    AccountRow, ActivityRow, DirectoryRow, ImportCounts, OrganisationRow, PermissionRow, Store,
};

/// What an import reports back: the counts and any warnings.
#[derive(Debug)]
pub struct ImportOutcome {
    pub kind: FileKind,
    pub file: String,
    pub rows: u64,
    pub counts: ImportCounts,
    pub warnings: Vec<String>,
    pub dry_run: bool,
}

macro_rules! columns {
    ($($name:literal $req:literal),+ $(,)?) => {
        &[$(Column { name: $name, required: $req }),+]
    };
}

const ORGANISATIONS: &[Column] = columns![
    "ods_code" true, "name" true, "kind" true, "parent_code" false, "contact_email" false
];
const ACCOUNTS: &[Column] = columns![
    "account_id" true, "username" true, "email" true, "given_name" true,
    "family_name" true, "status" true, "created_at" false, "last_login_at" false
];
const PERMISSIONS: &[Column] = columns![
    "account_id" true, "ods_code" true, "role" true, "payment_types" false
];
const DIRECTORY: &[Column] = columns![
    "address" true, "given_name" true, "family_name" true, "ods_code" true,
    "status" true, "mailbox_type" false
];
const ACTIVITY: &[Column] = columns![
    "activity_id" true, "ods_code" true, "account_id" true, "kind" true,
    "occurred_at" true, "detail" false
];

pub fn run(store: &mut Store, args: &ImportArgs) -> Result<ImportOutcome> {
    let name = if args.file.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        args.file.display().to_string()
    };
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(open_input(&args.file)?)
    };
    let columns = match args.kind {
        FileKind::Organisations => ORGANISATIONS,
        FileKind::Accounts => ACCOUNTS,
        FileKind::Permissions => PERMISSIONS,
        FileKind::Directory => DIRECTORY,
        FileKind::Activity => ACTIVITY,
    };
    let mut file = match CsvFile::open(input, columns).with_context(|| format!("reading {name}"))? {
        Ok(file) => file,
        Err(problems) => return Err(bad_file(&name, problems)),
    };
    let mut check = Checker::new(store, args.kind)?;
    let mut importer = store.begin_import(args.kind)?;
    let mut problems: Vec<FileProblem> = Vec::new();
    let mut rows = 0u64;
    while let Some(row) = file.next_row() {
        rows += 1;
        let mut row = Checked {
            row,
            problems: &mut problems,
        };
        match args.kind {
            FileKind::Organisations => {
                if let Some(o) = check.organisation(&mut row)
                    && let Err(duplicate) = importer.organisation(&o)?
                {
                    row.problem(0, duplicate);
                }
            }
            FileKind::Accounts => {
                if let Some(a) = check.account(&mut row)
                    && let Err(duplicate) = importer.account(&a)?
                {
                    row.problem(0, duplicate);
                }
            }
            FileKind::Permissions => {
                if let Some(p) = check.permission(&mut row)
                    && let Err(duplicate) = importer.permission(&p)?
                {
                    row.problem(0, duplicate);
                }
            }
            FileKind::Directory => {
                if let Some(d) = check.directory_entry(&mut row)
                    && let Err(duplicate) = importer.directory_entry(&d)?
                {
                    row.problem(0, duplicate);
                }
            }
            FileKind::Activity => {
                if let Some(a) = check.activity(&mut row)
                    && let Err(duplicate) = importer.activity(&a)?
                {
                    row.problem(0, duplicate);
                }
            }
        }
    }
    problems.append(&mut file.problems);
    if args.kind == FileKind::Organisations {
        check.organisation_parents(&mut problems);
    }
    if rows == 0 && problems.is_empty() {
        file.warnings
            .push("the file has a header but no rows: nothing to import".into());
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(bad_file(&name, problems));
    }
    let counts = if args.dry_run {
        let counts = importer.counts()?;
        drop(importer);
        counts
    } else {
        importer.finish()?
    };
    Ok(ImportOutcome {
        kind: args.kind,
        file: name,
        rows,
        counts,
        warnings: std::mem::take(&mut file.warnings),
        dry_run: args.dry_run,
    })
}

fn open_input(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| {
        UserError::Refused(format!(
            "cannot read {}: {e}; check the path and that the file is readable",
            path.display()
        ))
        .into()
    })
}

fn bad_file(name: &str, problems: Vec<FileProblem>) -> anyhow::Error {
    UserError::BadFile {
        file: name.to_string(),
        problems,
    }
    .into()
}

/// A row being checked: values by column, problems located to the row's line.
struct Checked<'r, 'p> {
    row: Row<'r>,
    problems: &'p mut Vec<FileProblem>,
}

impl<'r> Checked<'r, '_> {
    fn get(&self, column: usize) -> &'r str {
        self.row.get(column)
    }

    fn problem(&mut self, column: usize, message: String) {
        self.problems.push(FileProblem {
            line: self.row.line,
            column: Some(self.row.column_name(column).to_string()),
            message,
        });
    }

    /// The value of a required column, or a problem when it is blank.
    fn required(&mut self, column: usize) -> Option<&'r str> {
        let value = self.get(column);
        if value.is_empty() {
            self.problem(column, "a value is required here".into());
            return None;
        }
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            self.problem(
                column,
                format!(
                    "the value contains a control character (U+{:04X}): remove it",
                    c as u32
                ),
            );
            return None;
        }
        Some(value)
    }

    fn optional(&mut self, column: usize) -> Option<&'r str> {
        let value = self.get(column);
        (!value.is_empty()).then_some(value)
    }

    /// An enum value, matched case-insensitively.
    fn spelled<T>(
        &mut self,
        column: usize,
        value: &str,
        parse: fn(&str) -> Option<T>,
        spellings: String,
    ) -> Option<T> {
        let parsed = parse(value).or_else(|| parse(&value.to_ascii_lowercase()));
        if parsed.is_none() {
            self.problem(
                column,
                format!("`{value}` is not one of the accepted values: {spellings}"),
            );
        }
        parsed
    }

    fn ods_code(&mut self, column: usize, value: &str) -> Option<String> {
        if (3..=6).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Some(value.to_ascii_uppercase())
        } else {
            self.problem(
                column,
                format!("`{value}` is not an ODS code: 3 to 6 letters and digits, e.g. A81001, 00K or Y56"),
            );
            None
        }
    }

    fn date(&mut self, column: usize, value: &str) -> bool {
        let ok = NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
            || DateTime::parse_from_rfc3339(value).is_ok()
            || NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok();
        if !ok {
            self.problem(
                column,
                format!(
                    "`{value}` is not an ISO 8601 date: write 2020-09-23 or 2020-09-23T10:00:00Z"
                ),
            );
        }
        ok
    }
}

/// What the checks need to know from the store and from earlier rows.
struct Checker {
    /// Organisations in the store: kind and parent.
    orgs: HashMap<String, (OrgKind, Option<String>)>,
    /// Accounts in the store: account_id -> email exactly as stored.
    accounts: HashMap<String, String>,
    /// Account ids in the store, for checking references.
    account_ids: HashSet<String>,
    /// Usernames in the store, lower-cased -> account_id.
    usernames: HashMap<String, String>,
    /// Keys already seen in this file (lower-cased where uniqueness is case-insensitive).
    seen: HashSet<String>,
    seen_usernames: HashMap<String, u64>,
    /// Organisations in this file, with the line that defines them, for the
    /// parent checks that need the whole file.
    file_orgs: Vec<(u64, String, OrgKind, Option<String>)>,
}

impl Checker {
    fn new(store: &Store, kind: FileKind) -> Result<Checker> {
        let mut checker = Checker {
            orgs: HashMap::new(),
            accounts: HashMap::new(),
            account_ids: HashSet::new(),
            usernames: HashMap::new(),
            seen: HashSet::new(),
            seen_usernames: HashMap::new(),
            file_orgs: Vec::new(),
        };
        match kind {
            FileKind::Organisations => checker.orgs = store.organisation_kinds()?,
            FileKind::Accounts => {
                for (id, email, username) in store.account_keys()? {
                    checker
                        .usernames
                        .insert(username.to_lowercase(), id.clone());
                    checker.accounts.insert(id, email);
                }
            }
            FileKind::Permissions | FileKind::Activity => {
                checker.orgs = store.organisation_kinds()?;
                if checker.orgs.is_empty() {
                    return Err(UserError::Refused(format!(
                        "there are no organisations in the store yet: import organisations, then accounts, before {}",
                        kind.as_str()
                    ))
                    .into());
                }
                checker.account_ids = store.account_ids()?;
                if checker.account_ids.is_empty() {
                    return Err(UserError::Refused(format!(
                        "there are no accounts in the store yet: import accounts before {}",
                        kind.as_str()
                    ))
                    .into());
                }
            }
            FileKind::Directory => {}
        }
        Ok(checker)
    }

    fn organisation<'r>(&mut self, row: &mut Checked<'r, '_>) -> Option<OrganisationRow<'r>> {
        let code = row.required(0).and_then(|v| row.ods_code(0, v));
        let name = row.required(1);
        let kind = row
            .required(2)
            .and_then(|v| row.spelled(2, v, OrgKind::parse, OrgKind::spellings()));
        let parent = row.optional(3).and_then(|v| row.ods_code(3, v));
        let contact = row.optional(4);
        if let Some(email) = contact
            && !is_valid(email)
        {
            row.problem(4, format!("`{email}` is not a valid email address"));
        }
        if let Some(code) = &code
            && !self.seen.insert(code.clone())
        {
            row.problem(
                0,
                format!("the ODS code {code} appears more than once in the file"),
            );
            return None;
        }
        match (kind, &parent) {
            (Some(OrgKind::Practice), None) => row.problem(
                3,
                "a practice needs its commissioner's ODS code as parent_code".into(),
            ),
            (Some(OrgKind::Commissioner), None) => row.problem(
                3,
                "a commissioner needs its region's ODS code as parent_code".into(),
            ),
            (Some(OrgKind::Region), Some(p)) => row.problem(
                3,
                format!(
                    "a region has no parent organisation, but parent_code is {p}: leave it empty"
                ),
            ),
            _ => {}
        }
        let (code, name, kind) = (code?, name?, kind?);
        self.file_orgs
            .push((row.row.line, code.clone(), kind, parent.clone()));
        Some(OrganisationRow {
            ods_code: code,
            name,
            kind,
            parent_code: parent,
            contact_email: contact,
        })
    }

    /// Parents must exist (in the file or the store) and be of the kind above.
    fn organisation_parents(&mut self, problems: &mut Vec<FileProblem>) {
        for (_, code, kind, parent) in &self.file_orgs {
            self.orgs.insert(code.clone(), (*kind, parent.clone()));
        }
        for (line, code, kind, parent) in &self.file_orgs {
            let Some(parent) = parent else { continue };
            let wanted = match kind {
                OrgKind::Practice => OrgKind::Commissioner,
                OrgKind::Commissioner => OrgKind::Region,
                OrgKind::Region => continue,
            };
            let message = match self.orgs.get(parent) {
                None => format!(
                    "{code}'s parent {parent} is not an organisation in this file or the store: add it"
                ),
                Some((k, _)) if *k != wanted => format!(
                    "{code} is a {kind}, so its parent must be a {wanted}, but {parent} is a {k}"
                ),
                Some(_) => continue,
            };
            problems.push(FileProblem {
                line: *line,
                column: Some("parent_code".into()),
                message,
            });
        }
    }

    fn account<'r>(&mut self, row: &mut Checked<'r, '_>) -> Option<AccountRow<'r>> {
        let id = row.required(0);
        let username = row.required(1);
        let email = row.required(2);
        let given = row.required(3);
        let family = row.required(4);
        let status = row
            .required(5)
            .and_then(|v| row.spelled(5, v, Status::parse, Status::spellings()));
        let created = row.optional(6);
        let last_login = row.optional(7);
        let dates_ok =
            created.is_none_or(|d| row.date(6, d)) & last_login.is_none_or(|d| row.date(7, d));
        if let Some(id) = id {
            if !self.seen.insert(id.to_string()) {
                row.problem(
                    0,
                    format!("the account_id {id} appears more than once in the file"),
                );
                return None;
            }
            if let (Some(stored), Some(email)) = (self.accounts.get(id), email)
                && stored != email
            {
                row.problem(
                    2,
                    format!(
                        "account {id} already has the email `{stored}`, and an account's email can never be changed: \
                         keep the old email in the file, and create a replacement account for the new address"
                    ),
                );
            }
        }
        let mut username_ok = true;
        if let (Some(id), Some(username)) = (id, username) {
            let key = username.to_lowercase();
            username_ok = false;
            if let Some(other) = self.usernames.get(&key).filter(|other| *other != id) {
                row.problem(
                    1,
                    format!("the username `{username}` already belongs to account {other} (usernames are unique, ignoring case)"),
                );
            } else if let Some(line) = self.seen_usernames.insert(key, row.row.line) {
                row.problem(
                    1,
                    format!("the username `{username}` is also on line {line} (usernames are unique, ignoring case)"),
                );
            } else {
                username_ok = true;
            }
        }
        if !dates_ok || !username_ok {
            return None;
        }
        Some(AccountRow {
            account_id: id?,
            username: username?,
            email: email?,
            given_name: given?,
            family_name: family?,
            status: status?,
            created_at: created,
            last_login_at: last_login,
        })
    }

    fn permission<'r>(&mut self, row: &mut Checked<'r, '_>) -> Option<PermissionRow<'r>> {
        let id = row.required(0);
        let code = row.required(1).and_then(|v| row.ods_code(1, v));
        let role = row
            .required(2)
            .and_then(|v| row.spelled(2, v, Role::parse, Role::spellings()));
        let payment_types = row.optional(3).unwrap_or("");
        if let Some(id) = id
            && !self.account_ids.contains(id)
        {
            row.problem(
                0,
                format!("there is no account {id}: import it in accounts.csv first"),
            );
        }
        let mut kind = None;
        if let Some(code) = &code {
            match self.orgs.get(code) {
                Some((k, _)) => kind = Some(*k),
                None => row.problem(
                    1,
                    format!(
                        "there is no organisation {code}: import it in organisations.csv first"
                    ),
                ),
            }
        }
        if let (Some(role), Some(kind)) = (role, kind)
            && !role.allowed_at(kind)
        {
            row.problem(
                2,
                format!(
                    "the role {role} cannot be held at a {kind} ({})",
                    code.as_deref().unwrap_or("")
                ),
            );
            return None;
        }
        let payment_types: Vec<&'r str> = payment_types
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(bad) = payment_types.iter().find(|t| {
            !t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_ ".contains(&b))
        }) {
            row.problem(
                3,
                format!(
                    "`{bad}` is not a payment type: use names like QOF or DES separated by `;`"
                ),
            );
            return None;
        }
        let (id, code, role) = (id?, code?, role?);
        if !self.account_ids.contains(id) || kind.is_none() {
            return None;
        }
        Some(PermissionRow {
            account_id: id,
            ods_code: code,
            role,
            payment_types: payment_types.join(";"),
        })
    }

    fn directory_entry<'r>(&mut self, row: &mut Checked<'r, '_>) -> Option<DirectoryRow<'r>> {
        let address = row.required(0);
        let given = row.required(1);
        let family = row.required(2);
        let code = row.required(3).and_then(|v| row.ods_code(3, v));
        let status = row
            .required(4)
            .and_then(|v| row.spelled(4, v, Status::parse, Status::spellings()));
        let mailbox = match row.optional(5) {
            None => Some(MailboxType::Personal),
            Some(v) => row.spelled(5, v, MailboxType::parse, MailboxType::spellings()),
        };
        let address = address?;
        let key = normal_form(address);
        if !is_valid(address) {
            row.problem(
                0,
                format!("`{address}` is not a valid email address (rules.md): check the extract"),
            );
            return None;
        }
        if !self.seen.insert(key) {
            row.problem(
                0,
                format!("the address `{address}` appears more than once in the file (addresses are unique, ignoring case)"),
            );
            return None;
        }
        Some(DirectoryRow {
            address,
            given_name: given?,
            family_name: family?,
            ods_code: code?,
            status: status?,
            mailbox_type: mailbox?,
        })
    }

    fn activity<'r>(&mut self, row: &mut Checked<'r, '_>) -> Option<ActivityRow<'r>> {
        let id = row.required(0);
        let code = row.required(1).and_then(|v| row.ods_code(1, v));
        let account = row.required(2);
        let kind = row
            .required(3)
            .and_then(|v| row.spelled(3, v, ActivityKind::parse, ActivityKind::spellings()));
        let occurred = row.required(4);
        let occurred_ok = occurred.is_some_and(|d| row.date(4, d));
        let detail = row.optional(5);
        if let Some(code) = &code
            && !self.orgs.contains_key(code)
        {
            row.problem(
                1,
                format!("there is no organisation {code}: import it in organisations.csv first"),
            );
            return None;
        }
        if let Some(account) = account
            && !self.account_ids.contains(account)
        {
            row.problem(
                2,
                format!("there is no account {account}: import it in accounts.csv first"),
            );
            return None;
        }
        if !occurred_ok {
            return None;
        }
        Some(ActivityRow {
            activity_id: id?,
            ods_code: code?,
            account_id: account?,
            kind: kind?,
            occurred_at: occurred?,
            detail,
        })
    }
}
