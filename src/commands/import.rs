//! `import KIND FILE`: check every row of a file and write it whole, or refuse
//! it whole with every problem located to its line and column.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::cli::{FileKind, ImportArgs};
use crate::columns::{AccountRow, ActivityRow, DirectoryRow, OrganisationRow, PermissionRow};
use crate::error::{FileProblem, UserError};
use crate::input::sheet::{Refusal, SheetFile};
use crate::input::{CsvFile, Data, Mapping, Row, Source};
use crate::model::{ActivityKind, MailboxType, OrgKind, Role};
use crate::reporting::{Reporter, Work};
use crate::rules::{is_valid, normal_form};
use crate::store::address_key::address_key;
use crate::store::{Chunk, EmailKeys, ImportCounts, Store, unknown_account, written_in_key_order};
use crate::unique_texts::UniqueTexts;

pub(crate) mod source;
mod spellings;

use source::{open_input, read_stdin, relabel};
use spellings::{mailbox_type, mailbox_type_spellings, status, status_spellings};

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

/// A file at least this large takes more than a moment: its import shows
/// progress (at a terminal) and has its rows synced to disk before the
/// commit (see `run`); for small files the extra sync would cost more than
/// it saves. (The kill tests in tests/integration/hostile.rs import files
/// above this size, so they kill imports that sync early too.)
const LARGE_FILE_BYTES: u64 = 8 << 20;

/// Rows travel from the parsing thread to the writing thread in chunks, so
/// the two cores parse and write at once.
const CHUNK: usize = 4096;

/// What the parsing thread hands back when the file is read.
struct Parsed {
    rows: u64,
    /// For accounts: (address normal form, account_id) of every row, sorted,
    /// for the store's look-up by address. Sorted here, on the parsing
    /// thread, while the writer is still busy.
    emails: EmailKeys,
    /// For the directory: (key, first line, later line) of entries whose
    /// addresses have the same look-up key, to be compared in full once
    /// written.
    same_keys: Vec<(i64, u64, u64)>,
    /// For the directory: (look-up key, line) of every entry, sorted, for
    /// the store's look-up by address.
    address_keys: Vec<(i64, u64)>,
    problems: Vec<FileProblem>,
    warnings: Vec<String>,
}

pub fn run(store: &mut Store, args: &ImportArgs, reporter: &dyn Reporter) -> Result<ImportOutcome> {
    let kind = args.kind;
    let stdin = args.file.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_string()
    } else {
        args.file.display().to_string()
    };
    let columns = crate::columns::columns(kind);
    let mapping = Mapping::new(columns, &args.map, kind.as_str()).map_err(UserError::Refused)?;
    // Every failure to read the input names it (a `?` inside the branch
    // would leave the error without the file's name).
    let data = if stdin {
        read_stdin()
    } else {
        open_input(&args.file).and_then(|file| Ok(Data::from_file(&file)?))
    }
    .with_context(|| format!("reading {name}"))?;
    // A workbook is told by its content, whatever its name; its problems
    // are named by sheet and cell.
    let (mut file, places) = if let Some(bytes) = data.workbook() {
        match SheetFile::open(bytes, &name, columns, &mapping, args.sheet.as_deref()) {
            Ok(sheet) => {
                let places = sheet.places();
                (Source::Sheet(sheet), Some(places))
            }
            Err(Refusal::Problems(problems)) => {
                return Err(UserError::BadSheet {
                    file: name,
                    problems,
                }
                .into());
            }
            Err(Refusal::Message(message)) => return Err(UserError::Refused(message).into()),
        }
    } else {
        if let Some(sheet) = &args.sheet {
            return Err(UserError::Refused(format!(
                "--sheet {sheet} is for a workbook (.xlsx, .xls, .ods), but {name} is not one: \
                 it is read as CSV, so leave --sheet out"
            ))
            .into());
        }
        match CsvFile::open_mapped(data, columns, &mapping)
            .with_context(|| format!("reading {name}"))?
        {
            Ok(file) => (Source::Csv(file), None),
            Err(problems) => return Err(bad_file(&name, relabel(problems, columns, &mapping))),
        }
    };
    let fresh = store.import_is_fresh(kind)?;
    let mut check = Checker::new(store, kind, fresh)?;
    // The input's size (without a byte-order mark), read or mapped.
    let (_, input_bytes) = file.progress();
    check.reserve(kind, input_bytes);
    // A large file's rows are synced to disk early (below), kept until the
    // import's transaction is over (store::EarlySync says why).
    let early_sync = (input_bytes >= LARGE_FILE_BYTES).then(|| store.early_sync());
    // References to accounts are checked against the store chunk by chunk,
    // as rows arrive (Importer::unknown_accounts): far cheaper than loading a
    // million account ids to check 250,000 activity records.
    let refers_to_accounts = matches!(kind, FileKind::Permissions | FileKind::Activity);
    let mut lookup_failed = None;
    let mut problems: Vec<FileProblem> = Vec::new();
    let bar = reporter.progress(Work::Bytes {
        total: input_bytes,
        long: input_bytes >= LARGE_FILE_BYTES,
    });
    bar.set_message(format!("importing {}", kind.as_str()));
    bar.tick();
    let outcome = std::thread::scope(|scope| -> Result<(ImportCounts, Parsed)> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(8);
        // Empty chunks come back to be refilled, so memory is reused.
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Chunk>();
        // Rows written in key order are sorted chunk by chunk here, on the
        // parsing thread, which has time to spare while the writer is busy.
        let sorted_chunks = written_in_key_order(kind, fresh);
        let parser_bar = bar.clone();
        let parser = scope.spawn(move || {
            let mut problems = Vec::new();
            let mut emails = EmailKeys::default();
            let mut rows = 0u64;
            let mut chunk = Chunk::with_capacity(CHUNK);
            while let Some(row) = file.next_row() {
                rows += 1;
                let mut row = Checked {
                    row,
                    problems: &mut problems,
                };
                let pushed = match kind {
                    FileKind::Organisations => check.organisation(&mut row, &mut chunk),
                    FileKind::Accounts => check.account(&mut row, &mut chunk),
                    FileKind::Permissions => check.permission(&mut row, &mut chunk),
                    FileKind::Directory => check.directory_entry(&mut row, &mut chunk),
                    FileKind::Activity => check.activity(&mut row, &mut chunk),
                };
                if pushed.is_some()
                    && kind == FileKind::Accounts
                    && let Some(last) = chunk.last()
                {
                    emails.push(last.field(2), last.field(0));
                }
                if chunk.len() == CHUNK {
                    parser_bar.set_position(file.progress().0);
                    if sorted_chunks {
                        chunk.sort(kind);
                    }
                    let mut next = back_rx
                        .try_recv()
                        .unwrap_or_else(|_| Chunk::with_capacity(CHUNK));
                    next.clear();
                    if tx.send(std::mem::replace(&mut chunk, next)).is_err() {
                        break;
                    }
                }
            }
            if !chunk.is_empty() {
                if sorted_chunks {
                    chunk.sort(kind);
                }
                let _ = tx.send(chunk);
            }
            drop(tx);
            problems.append(&mut file.take_problems());
            if kind == FileKind::Organisations {
                check.organisation_parents(&mut problems);
            }
            check.repeated_usernames(&mut problems);
            emails.sort();
            let (address_keys, same_keys) = check.sorted_address_keys();
            Parsed {
                rows,
                emails,
                address_keys,
                same_keys,
                problems,
                warnings: file.take_warnings(),
            }
        });
        let account_column = if kind == FileKind::Activity { 2 } else { 0 };
        let mut importer = store.begin_import(kind)?;
        for chunk in rx {
            // The chunk's references to accounts, checked together.
            let mut unknown: Vec<String> = Vec::new();
            if refers_to_accounts {
                let mut ids: Vec<&str> = (0..chunk.len())
                    .map(|i| chunk.row(i).field(account_column))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                match importer.unknown_accounts(&ids) {
                    Ok(missing) => unknown.extend(missing.into_iter().map(str::to_string)),
                    Err(e) => {
                        lookup_failed.get_or_insert(e);
                    }
                }
            }
            let back = importer.add_chunk(chunk, &mut problems, |row| {
                let id = row.field(account_column);
                if unknown.is_empty() || unknown.binary_search_by(|u| u.as_str().cmp(id)).is_err() {
                    return None;
                }
                Some(unknown_account(row.line(), id))
            })?;
            if let Some(back) = back {
                // The parser may have finished: then the chunk is just dropped.
                let _ = back_tx.send(back);
            }
        }
        tracing::info!("rows received");
        bar.set_position(input_bytes);
        bar.set_message(format!("importing {}: finishing", kind.as_str()));
        if let Some(early_sync) = &early_sync {
            scope.spawn(move || early_sync.sync());
        }
        if let Some(e) = lookup_failed.take() {
            return Err(e);
        }
        let parsed = parser
            .join()
            .map_err(|_| anyhow::anyhow!("reading {name} failed"))?;
        problems.extend(importer.flush()?);
        problems.extend(importer.repeated_addresses(&parsed.same_keys)?);
        if kind == FileKind::Directory && parsed.rows == 0 && parsed.problems.is_empty() {
            // A new extract replaces the old one: an empty one would leave
            // every account `not-in-directory`. That is a broken extract.
            problems.push(FileProblem {
                line: 1,
                column: None,
                message: "the extract has no entries: importing it would empty the directory; \
                          check the export from NHSmail"
                    .into(),
            });
        }
        tracing::info!("held rows flushed");
        if !parsed.problems.is_empty() || !problems.is_empty() {
            // Dropping the importer rolls everything back.
            return Ok((ImportCounts::default(), parsed));
        }
        let mut parsed = parsed;
        let emails = std::mem::take(&mut parsed.emails);
        let address_keys = std::mem::take(&mut parsed.address_keys);
        let counts = importer.finish(!args.dry_run, &emails, &address_keys)?;
        Ok((counts, parsed))
    });
    // The import's transaction is over (committed or rolled back): the
    // descriptor used for the early sync may be closed.
    drop(early_sync);
    bar.finish_and_clear();
    let (counts, parsed) = outcome?;
    let Parsed {
        rows,
        problems: mut parse_problems,
        mut warnings,
        ..
    } = parsed;
    problems.append(&mut parse_problems);
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(match &places {
            Some(places) => UserError::BadSheet {
                file: name,
                problems: problems.iter().map(|p| places.locate(p)).collect(),
            }
            .into(),
            None => bad_file(&name, relabel(problems, columns, &mapping)),
        });
    }
    if rows == 0 {
        warnings.push("the file has a header but no rows: nothing to import".into());
    }
    Ok(ImportOutcome {
        kind,
        file: name,
        rows,
        counts,
        warnings,
        dry_run: args.dry_run,
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
    fn get(&self, column: impl Into<usize>) -> &'r str {
        self.row.get(column.into())
    }

    fn problem(&mut self, column: impl Into<usize> + Copy, message: String) {
        self.problems.push(FileProblem {
            line: self.row.line,
            column: Some(self.row.column_name(column.into()).to_string()),
            message,
        });
    }

    /// The value of a required column, or a problem when it is blank.
    fn required(&mut self, column: impl Into<usize> + Copy) -> Option<&'r str> {
        let value = self.get(column);
        if value.is_empty() {
            self.problem(column, "a value is required here".into());
            return None;
        }
        self.refuse_control_character(column, value, false)?;
        Some(value)
    }

    /// The value of an optional column, `None` when blank. Control
    /// characters are refused here too (a terminal would run an escape
    /// sequence when `history` prints it), except the line breaks and tabs
    /// that free text (`detail`) may hold.
    fn optional(&mut self, column: impl Into<usize> + Copy) -> Option<&'r str> {
        let value = self.get(column);
        let free_text = self.row.column_name(column.into()) == "detail";
        self.refuse_control_character(column, value, free_text)?;
        (!value.is_empty()).then_some(value)
    }

    /// A problem, and `None`, if `value` holds a control character (line
    /// breaks and tabs are allowed in free text).
    fn refuse_control_character(
        &mut self,
        column: impl Into<usize> + Copy,
        value: &str,
        free_text: bool,
    ) -> Option<()> {
        let Some((_, c)) = crate::text::control_character(value, free_text) else {
            return Some(());
        };
        self.problem(
            column,
            format!(
                "the value contains a control character (U+{:04X}): remove it",
                c as u32
            ),
        );
        None
    }

    /// An enum value, matched case-insensitively.
    fn spelled<T>(
        &mut self,
        column: impl Into<usize> + Copy,
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

    fn ods_code(&mut self, column: impl Into<usize> + Copy, value: &str) -> Option<String> {
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

    fn date(&mut self, column: impl Into<usize> + Copy, value: &str) -> bool {
        let ok = is_iso_date(value);
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

/// Lower-cases without allocating when there is nothing to change (most
/// usernames), since this runs once per account.
fn lower(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        text.to_lowercase().into()
    } else {
        text.into()
    }
}

/// `2020-09-23`, `2020-09-23T10:00:00Z`, or a date-time with an offset or
/// none. The common shapes are checked by hand (this runs twice per account);
/// anything else goes to chrono.
fn is_iso_date(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
    {
        let num =
            |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        if NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10)).is_none() {
            return false;
        }
        if b.len() == 10 {
            return true;
        }
    }
    DateTime::parse_from_rfc3339(value).is_ok()
        || NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok()
}

/// A directory entry's look-up key and line.
type KeyLine = (i64, u64);
/// A look-up key shared by two entries: (key, first line, later line).
type SameKey = (i64, u64, u64);

/// What the checks need to know from the store and from earlier rows.
struct Checker {
    /// The table is empty: repeated keys are found by the writer as it sorts,
    /// so the checker need not remember every key.
    fresh: bool,
    /// Organisations in the store: kind and parent.
    orgs: HashMap<String, (OrgKind, Option<String>)>,
    /// Accounts in the store: account_id -> email exactly as stored.
    accounts: HashMap<String, String>,
    /// Usernames in the store, lower-cased -> account_id.
    usernames: FxHashMap<Box<str>, String>,
    /// The replacement accounts made here (their ids): CQRS's own account
    /// for the same address may share such an account's username (rules.md,
    /// "Replaced in CQRS itself").
    made_here: HashSet<String>,
    /// Keys already seen in this file (lower-cased where uniqueness is case-insensitive).
    /// Keys seen in this file (when the table had rows), with their line.
    seen: FxHashMap<String, u64>,
    seen_usernames: UniqueTexts,
    /// Directory entries' look-up keys, with their line, in file order.
    address_keys: Vec<(i64, u64)>,
    /// Organisations in this file, with the line that defines them, for the
    /// parent checks that need the whole file.
    file_orgs: Vec<(u64, String, OrgKind, Option<String>)>,
}

impl Checker {
    fn new(store: &Store, kind: FileKind, fresh: bool) -> Result<Checker> {
        let mut checker = Checker {
            fresh,
            orgs: HashMap::new(),
            accounts: HashMap::new(),
            usernames: FxHashMap::default(),
            made_here: HashSet::new(),
            seen: FxHashMap::default(),
            seen_usernames: UniqueTexts::folding(lower),
            address_keys: Vec::new(),
            file_orgs: Vec::new(),
        };
        match kind {
            FileKind::Organisations => checker.orgs = store.organisation_kinds()?,
            FileKind::Accounts => {
                for (id, email, username) in store.account_keys()? {
                    checker
                        .usernames
                        .insert(username.to_lowercase().into(), id.clone());
                    checker.accounts.insert(id, email);
                }
                if !fresh {
                    checker.made_here = store
                        .replacement_pairs()?
                        .into_iter()
                        .map(|p| p.new_account_id)
                        .collect();
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
                if !store.has_accounts()? {
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

    /// Room up front for what this file's rows are remembered by, from the
    /// file's size: growing a million-entry list copies it many times.
    /// Account rows are rarely under 64 bytes, directory rows under 50.
    fn reserve(&mut self, kind: FileKind, file_bytes: u64) {
        let rows = |row_bytes: u64| (file_bytes / row_bytes).min(50_000_000) as usize;
        match kind {
            FileKind::Accounts => self.seen_usernames.reserve(rows(64)),
            FileKind::Directory => self.address_keys.reserve(rows(50)),
            _ => {}
        }
    }

    /// Every directory entry's (look-up key, line), in key order, and the
    /// entries whose key an earlier line already has: (key, first line,
    /// later line). Those are repeated addresses, or (rarely) two addresses
    /// that share a key, which the writer tells apart. Sorting finds them:
    /// cheaper than a million look-ups in a map as the rows go by. Taken
    /// once, at the end of the file.
    fn sorted_address_keys(&mut self) -> (Vec<KeyLine>, Vec<SameKey>) {
        let mut keys = std::mem::take(&mut self.address_keys);
        keys.sort_unstable();
        let mut same_keys = Vec::new();
        for pair in keys
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|group| group.len() > 1)
        {
            let (key, first) = pair[0];
            same_keys.extend(pair[1..].iter().map(|&(_, later)| (key, first, later)));
        }
        (keys, same_keys)
    }

    /// Usernames repeated within the file (ignoring case), each named on
    /// its later line.
    fn repeated_usernames(&mut self, problems: &mut Vec<FileProblem>) {
        let seen = std::mem::take(&mut self.seen_usernames);
        problems.extend(seen.repeats().into_iter().map(|r| FileProblem {
            line: r.line,
            column: Some("username".into()),
            message: format!(
                "the username `{}` is also on line {} (usernames are unique, ignoring case)",
                r.text, r.first
            ),
        }));
    }

    fn organisation(&mut self, row: &mut Checked<'_, '_>, out: &mut Chunk) -> Option<()> {
        use crate::columns::OrganisationColumn as C;
        let code = row
            .required(C::ods_code)
            .and_then(|v| row.ods_code(C::ods_code, v));
        let name = row.required(C::name);
        let kind = row
            .required(C::kind)
            .and_then(|v| row.spelled(C::kind, v, OrgKind::parse, OrgKind::spellings()));
        let parent = row
            .optional(C::parent_code)
            .and_then(|v| row.ods_code(C::parent_code, v));
        let contact = row.optional(C::contact_email);
        if let Some(email) = contact
            && !is_valid(email)
        {
            row.problem(
                C::contact_email,
                format!("`{email}` is not a valid email address"),
            );
        }
        if let Some(code) = &code
            && let Some(first) = self.seen.insert(code.clone(), row.row.line)
        {
            row.problem(
                C::ods_code,
                format!(
                    "the ODS code {code} is also on line {first}: each organisation appears once"
                ),
            );
            return None;
        }
        match (kind, &parent) {
            (Some(OrgKind::Practice), None) => row.problem(
                C::parent_code,
                "a practice needs its commissioner's ODS code as parent_code".into(),
            ),
            (Some(OrgKind::Commissioner), None) => row.problem(
                C::parent_code,
                "a commissioner needs its region's ODS code as parent_code".into(),
            ),
            (Some(OrgKind::Region), Some(p)) => row.problem(
                C::parent_code,
                format!(
                    "a region has no parent organisation, but parent_code is {p}: leave it empty"
                ),
            ),
            _ => {}
        }
        let (code, name, kind) = (code?, name?, kind?);
        self.file_orgs
            .push((row.row.line, code.clone(), kind, parent.clone()));
        out.push(
            row.row.line,
            &OrganisationRow {
                ods_code: &code,
                name,
                kind: kind.as_str(),
                parent_code: parent.as_deref().unwrap_or(""),
                contact_email: contact.unwrap_or(""),
            }
            .fields(),
        );
        Some(())
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

    fn account(&mut self, row: &mut Checked<'_, '_>, out: &mut Chunk) -> Option<()> {
        use crate::columns::AccountColumn as C;
        let id = row.required(C::account_id);
        let username = row.required(C::username);
        let email = row.required(C::email);
        let given = row.required(C::given_name);
        let family = row.required(C::family_name);
        let status = row
            .required(C::status)
            .and_then(|v| row.spelled(C::status, v, status, status_spellings()));
        let created = row.optional(C::created_at);
        let last_login = row.optional(C::last_login_at);
        let dates_ok = created.is_none_or(|d| row.date(C::created_at, d))
            & last_login.is_none_or(|d| row.date(C::last_login_at, d));
        if let Some(id) = id {
            if !self.fresh
                && let Some(first) = self.seen.insert(id.to_string(), row.row.line)
            {
                row.problem(
                    C::account_id,
                    format!(
                        "the account_id {id} is also on line {first}: each account appears once"
                    ),
                );
                return None;
            }
            if let (Some(stored), Some(email)) = (self.accounts.get(id), email)
                && stored != email
            {
                row.problem(
                    C::email,
                    format!(
                        "account {id} already has the email `{stored}`, and an account's email can never be changed: \
                         keep the old email in the file, and create a replacement account for the new address"
                    ),
                );
            }
        }
        let mut username_ok = true;
        if let (Some(id), Some(username)) = (id, username) {
            let key = lower(username);
            username_ok = false;
            let taken = self
                .usernames
                .get(key.as_ref())
                .filter(|other| *other != id);
            // The next CQRS export holds CQRS's own account for the address
            // a replacement was made here for, often with that address as
            // its username too: that is the replacement realised, not a
            // clash. Only for exactly that address.
            let realising = taken.is_some_and(|other| {
                self.made_here.contains(other)
                    && email.is_some_and(|email| {
                        self.accounts
                            .get(other)
                            .is_some_and(|theirs| normal_form(theirs) == normal_form(email))
                    })
            });
            if let Some(other) = taken.filter(|_| !realising) {
                let message = match self.accounts.get(other) {
                    Some(theirs) if self.made_here.contains(other) => format!(
                        "the username `{username}` belongs to the replacement account {other} made here for `{theirs}`; \
                         an account of CQRS's may share it only when its email is that address, and this row's email is `{}`: \
                         check the row against CQRS",
                        email.unwrap_or("")
                    ),
                    _ => format!(
                        "the username `{username}` already belongs to account {other} (usernames are unique, ignoring case)"
                    ),
                };
                row.problem(C::username, message);
            } else {
                // Repeats within the file are found at its end.
                self.seen_usernames.push(username, row.row.line);
                username_ok = true;
            }
        }
        if !dates_ok || !username_ok {
            return None;
        }
        out.push(
            row.row.line,
            &AccountRow {
                account_id: id?,
                username: username?,
                email: email?,
                given_name: given?,
                family_name: family?,
                status: status?.as_str(),
                created_at: created.unwrap_or(""),
                last_login_at: last_login.unwrap_or(""),
            }
            .fields(),
        );
        Some(())
    }

    fn permission(&mut self, row: &mut Checked<'_, '_>, out: &mut Chunk) -> Option<()> {
        use crate::columns::PermissionColumn as C;
        let id = row.required(C::account_id);
        let code = row
            .required(C::ods_code)
            .and_then(|v| row.ods_code(C::ods_code, v));
        let role = row
            .required(C::role)
            .and_then(|v| row.spelled(C::role, v, Role::parse, Role::spellings()));
        let payment_types = row.optional(C::payment_types).unwrap_or("");
        let mut kind = None;
        if let Some(code) = &code {
            match self.orgs.get(code) {
                Some((k, _)) => kind = Some(*k),
                None => row.problem(
                    C::ods_code,
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
                C::role,
                format!(
                    "the role {role} cannot be held at a {kind} ({})",
                    code.as_deref().unwrap_or("")
                ),
            );
            return None;
        }
        let payment_types: Vec<&str> = payment_types
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(bad) = payment_types.iter().find(|t| {
            !t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_ ".contains(&b))
        }) {
            row.problem(
                C::payment_types,
                format!(
                    "`{bad}` is not a payment type: use names like QOF or DES separated by `;`"
                ),
            );
            return None;
        }
        let (id, code, role) = (id?, code?, role?);
        kind?;
        if !self.fresh
            && let Some(first) = self
                .seen
                .insert(format!("{id}\u{1f}{code}\u{1f}{role}"), row.row.line)
        {
            row.problem(
                C::role,
                format!("account {id} holds the role {role} at {code} also on line {first}: each role appears once"),
            );
            return None;
        }
        out.push(
            row.row.line,
            &PermissionRow {
                account_id: id,
                ods_code: &code,
                role: role.as_str(),
                payment_types: &payment_types.join(";"),
            }
            .fields(),
        );
        Some(())
    }

    fn directory_entry(&mut self, row: &mut Checked<'_, '_>, out: &mut Chunk) -> Option<()> {
        use crate::columns::DirectoryColumn as C;
        let address = row.required(C::address);
        let given = row.required(C::given_name);
        let family = row.required(C::family_name);
        let code = row
            .required(C::ods_code)
            .and_then(|v| row.ods_code(C::ods_code, v));
        let status = row
            .required(C::status)
            .and_then(|v| row.spelled(C::status, v, status, status_spellings()));
        let mailbox = match row.optional(C::mailbox_type) {
            None => Some(MailboxType::Personal),
            Some(v) => row.spelled(C::mailbox_type, v, mailbox_type, mailbox_type_spellings()),
        };
        let address = address?;
        if !is_valid(address) {
            row.problem(
                C::address,
                format!("`{address}` is not a valid email address (rules.md): check the extract"),
            );
            return None;
        }
        // Repeated addresses (ignoring case) share a look-up key; the writer
        // compares the addresses of lines that do.
        self.address_keys.push((address_key(address), row.row.line));
        out.push(
            row.row.line,
            &DirectoryRow {
                address,
                given_name: given?,
                family_name: family?,
                ods_code: &code?,
                status: status?.as_str(),
                mailbox_type: mailbox?.as_str(),
            }
            .fields(),
        );
        Some(())
    }

    fn activity(&mut self, row: &mut Checked<'_, '_>, out: &mut Chunk) -> Option<()> {
        use crate::columns::ActivityColumn as C;
        let id = row.required(C::activity_id);
        let code = row
            .required(C::ods_code)
            .and_then(|v| row.ods_code(C::ods_code, v));
        let account = row.required(C::account_id);
        let kind = row
            .required(C::kind)
            .and_then(|v| row.spelled(C::kind, v, ActivityKind::parse, ActivityKind::spellings()));
        let occurred = row.required(C::occurred_at);
        let occurred_ok = occurred.is_some_and(|d| row.date(C::occurred_at, d));
        let detail = row.optional(C::detail);
        if let Some(code) = &code
            && !self.orgs.contains_key(code)
        {
            row.problem(
                C::ods_code,
                format!("there is no organisation {code}: import it in organisations.csv first"),
            );
            return None;
        }
        if !occurred_ok {
            return None;
        }
        let id = id?;
        if !self.fresh
            && let Some(first) = self.seen.insert(id.to_string(), row.row.line)
        {
            row.problem(
                C::activity_id,
                format!("the activity_id {id} is also on line {first}: each activity appears once"),
            );
            return None;
        }
        out.push(
            row.row.line,
            &ActivityRow {
                activity_id: id,
                ods_code: &code?,
                account_id: account?,
                kind: kind?.as_str(),
                occurred_at: occurred?,
                detail: detail.unwrap_or(""),
            }
            .fields(),
        );
        Some(())
    }
}
