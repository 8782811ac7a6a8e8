//! Property tests over the importer, in-process (issue 5, part 6).
//!
//! - any bytes at all, as any kind of file, never panic: the import either
//!   succeeds or is refused with exit status 1 as a refusal the user can act
//!   on, and a refusal leaves the store exactly as it was;
//! - valid files damaged by a few random edits: the same;
//! - valid accounts written by the csv crate (any text in any field, quotes,
//!   commas, formula triggers, Unicode) come back exactly from
//!   `audit --include-disabled --format csv`, once the neutralising `'` is
//!   taken off.
//!
//! A few hundred cases run with `cargo test`; `CQRS_ADMIN_LONG_FUZZ=1` runs
//! 20,000 of each (2,000 round trips, which each build a store):
//!
//! ```text
//! CQRS_ADMIN_LONG_FUZZ=1 cargo test --release --test integration fuzz -- --nocapture
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use cqrs_admin::cli::{AuditArgs, Cli, FileKind, Format, ImportArgs};
use cqrs_admin::error::{UserError, exit_code};
use cqrs_admin::output::{Sink, unneutralise};
use cqrs_admin::store;

use crate::common::Store;

/// Whether the long run was asked for.
fn long() -> bool {
    std::env::var_os("CQRS_ADMIN_LONG_FUZZ").is_some_and(|v| v == "1")
}

fn config(normal: u32, long_run: u32) -> Config {
    Config {
        cases: if long() { long_run } else { normal },
        // Failures are kept next to this file, to be replayed first.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

const KINDS: &[(&str, &str)] = &[
    (
        "organisations",
        "ods_code,name,kind,parent_code,contact_email",
    ),
    (
        "accounts",
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at",
    ),
    ("permissions", "account_id,ods_code,role,payment_types"),
    (
        "directory",
        "address,given_name,family_name,ods_code,status,mailbox_type",
    ),
    (
        "activity",
        "activity_id,ods_code,account_id,kind,occurred_at,detail",
    ),
];

/// Bytes that matter to a CSV reader, and some that should never be there.
const INTERESTING: &[u8] = &[
    b',', b'"', b'\r', b'\n', b' ', b'\t', b'\0', b'a', b'Z', b'1', b'@', b'.', b'=', b';', b'-',
    b':', 0xEF, 0xBB, 0xBF, 0xFF, 0xFE, 0xC3, 0xA9, 0x80,
];

/// A hostile file: anything at all, or a real header followed by anything,
/// or a real header followed by CSV-ish noise.
fn hostile_file() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let kind = 0..KINDS.len();
    (
        kind,
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2048).prop_map(|b| (false, b)),
            prop::collection::vec(any::<u8>(), 0..2048).prop_map(|b| (true, b)),
            prop::collection::vec(prop::sample::select(INTERESTING), 0..600)
                .prop_map(|b| (true, b)),
        ],
    )
        .prop_map(|(kind, (with_header, tail))| {
            let bytes = if with_header {
                [KINDS[kind].1.as_bytes(), b"\n", &tail].concat()
            } else {
                tail
            };
            (kind, bytes)
        })
}

/// A store with every fixture imported, shared by the cases of one test, and
/// what it holds. `restore` puts it back before each case, so that a file one
/// case imported (a damaged email, say) cannot make later cases refused for
/// the wrong reason.
struct Pristine {
    store: Store,
    bytes: Vec<u8>,
    snapshot: Vec<Vec<String>>,
}

impl Pristine {
    fn new() -> Pristine {
        let store = Store::with_fixtures();
        let bytes = std::fs::read(&store.db).unwrap();
        let snapshot = store.snapshot();
        Pristine {
            store,
            bytes,
            snapshot,
        }
    }

    fn restore(&self) {
        let journal = self.store.dir.path().join("cqrs-admin.db-journal");
        let _ = std::fs::remove_file(journal);
        std::fs::write(&self.store.db, &self.bytes).unwrap();
    }
}

/// Runs `import KIND FILE` in-process, as `main` would.
fn import_in_process(db: &Path, kind: &str, file: &Path) -> anyhow::Result<()> {
    cqrs_admin::run(Cli::parse_from([
        "cqrs-admin",
        "--db",
        db.to_str().unwrap(),
        "--actor",
        "fuzz",
        "import",
        kind,
        file.to_str().unwrap(),
    ]))
}

/// What a refusal must be: exit status 1, and an error the program explained
/// (not an internal error that escaped).
fn check_refusal(err: &anyhow::Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(exit_code(err), 1);
    prop_assert!(
        err.downcast_ref::<UserError>().is_some(),
        "not a refusal the user can act on: {:#}",
        err
    );
    Ok(())
}

#[test]
fn any_bytes_as_any_file_never_panic_and_a_refusal_changes_nothing() {
    let pristine = Pristine::new();
    let store = &pristine.store;
    let file = store.dir.path().join("hostile.csv");
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    proptest!(config(200, 20_000), |((kind, bytes) in hostile_file())| {
        std::fs::write(&file, &bytes).unwrap();
        pristine.restore();
        match import_in_process(&store.db, KINDS[kind].0, &file) {
            Ok(()) => accepted.set(accepted.get() + 1),
            Err(err) => {
                refused.set(refused.get() + 1);
                check_refusal(&err)?;
                prop_assert!(store.snapshot() == pristine.snapshot, "a refused {} file changed the store", KINDS[kind].0);
            }
        }
    });
    if long() {
        println!(
            "any bytes: {} accepted, {} refused (cases and shrinks)",
            accepted.get(),
            refused.get()
        );
    }
    assert!(refused.get() > 0);
}

/// A valid accounts file in the spreadsheet style: BOM, CRLF, quoted fields.
fn valid_accounts_file() -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(
        b"Account_ID,username,email,given_name,family_name,status,created_at,last_login_at,notes\r\n\
          M1,muser1,m.one@nhs.net,Mia,One,active,2019-01-07,2020-09-01T08:12:44Z,\r\n\
          M2,muser2,\"m,two@nhs.net\",\"Max \"\"M\"\"\",Two,disabled,,,\r\n\
          \r\n\
          M3,muser3,  m.three@NHS.net ,Mo,Three,Active,2019-03-04,,\"Multi\r\nLine\"\r\n\
          U0000001,sjones01,sarah.jones@nhs.net,Sarah,Jones,active,2014-04-01,2020-09-01,x\r\n",
    );
    out
}

/// An edit: insert, replace or delete one byte somewhere.
#[derive(Debug, Clone)]
enum Edit {
    Insert(prop::sample::Index, u8),
    Replace(prop::sample::Index, u8),
    Delete(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![prop::sample::select(INTERESTING), any::<u8>()];
    prop_oneof![
        (any::<prop::sample::Index>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        match e {
            Edit::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.insert(at, *b);
            }
            Edit::Replace(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Edit::Delete(i) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn damaged_valid_files_never_panic_and_a_refusal_changes_nothing() {
    let pristine = Pristine::new();
    let store = &pristine.store;
    let path = store.dir.path().join("damaged.csv");
    let valid = valid_accounts_file();
    // The undamaged file is accepted.
    std::fs::write(&path, &valid).unwrap();
    store
        .run(&["import", "accounts", "--dry-run", path.to_str().unwrap()])
        .ok();
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    proptest!(config(100, 20_000), |(edits in prop::collection::vec(edit(), 1..6))| {
        let bytes = apply(valid.clone(), &edits);
        std::fs::write(&path, &bytes).unwrap();
        pristine.restore();
        // Through the command's own entry point rather than `run`: most of
        // these files are accepted, and `run` would print a summary line for
        // each on the test's standard error.
        let result = (|| -> anyhow::Result<()> {
            let mut opened = store::Store::open(&store.db)?;
            let args = ImportArgs { kind: FileKind::Accounts, file: path.clone(), dry_run: false, map: Vec::new(), sheet: None };
            cqrs_admin::commands::import::run(&mut opened, &args, &cqrs_admin::output::Shell::new())?;
            Ok(())
        })();
        match result {
            Ok(()) => accepted.set(accepted.get() + 1),
            Err(err) => {
                refused.set(refused.get() + 1);
                check_refusal(&err)?;
                prop_assert!(store.snapshot() == pristine.snapshot, "a refused file changed the store");
            }
        }
    });
    if long() {
        println!(
            "damaged files: {} accepted, {} refused (cases and shrinks)",
            accepted.get(),
            refused.get()
        );
    }
    let (accepted, refused) = (accepted.get(), refused.get());
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

/// A value as it may appear in any column: a non-empty string without
/// control characters or surrounding whitespace (values are trimmed, and
/// control characters refused, by the importer's rules).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z' .-]{0,15}",
        "['=+@-]{1,3}[A-Za-z0-9(),;\"' =+-]{0,10}",
        "[a-z0-9.+_'-]{1,12}@[a-z0-9-]{1,8}\\.(nhs\\.net|nhs\\.uk|com)",
        "[^\\p{Cc}]{1,20}",
    ]
    .prop_filter("trimmed, non-empty, no control characters", |s| {
        !s.is_empty() && s.trim() == s && !s.chars().any(char::is_control)
    })
}

#[derive(Debug, Clone)]
struct Generated {
    account_id: String,
    email: String,
    given_name: String,
    family_name: String,
    disabled: bool,
}

fn accounts() -> impl Strategy<Value = Vec<Generated>> {
    prop::collection::btree_set(value(), 1..12).prop_flat_map(|ids| {
        let n = ids.len();
        (
            Just(ids),
            prop::collection::vec((value(), value(), value(), any::<bool>()), n),
        )
            .prop_map(|(ids, rest)| {
                ids.into_iter()
                    .zip(rest)
                    .map(
                        |(account_id, (email, given_name, family_name, disabled))| Generated {
                            account_id,
                            email,
                            given_name,
                            family_name,
                            disabled,
                        },
                    )
                    .collect()
            })
    })
}

/// A `Write` the test can read back after the sink is finished.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `audit --include-disabled --format csv`, in-process.
fn audit_csv(db: &Path) -> anyhow::Result<Vec<u8>> {
    let mut opened = store::Store::open(db)?;
    let args = AuditArgs {
        include_disabled: true,
        category: Vec::new(),
        section: Vec::new(),
        org: None,
        contact: None,
        counts: false,
        check: false,
        out: None,
        force: false,
    };
    let out = Shared::default();
    let mut sink = Sink::new(
        out.clone(),
        Format::Csv,
        cqrs_admin::commands::audit::COLUMNS,
    )?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    cqrs_admin::commands::audit::run(&mut opened, &args, today, &mut sink)?;
    sink.finish()?;
    let bytes = out.0.borrow().clone();
    Ok(bytes)
}

#[test]
fn valid_accounts_round_trip_exactly() {
    proptest!(config(24, 2_000), |(accounts in accounts(), crlf in any::<bool>(), bom in any::<bool>())| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let file = dir.path().join("accounts.csv");
        let mut writer = csv::WriterBuilder::new()
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() });
        writer.write_record(["account_id", "username", "email", "given_name", "family_name", "status"]).unwrap();
        for (i, a) in accounts.iter().enumerate() {
            let username = format!("user{i}");
            let status = if a.disabled { "disabled" } else { "active" };
            writer.write_record([&a.account_id, &username, &a.email, &a.given_name, &a.family_name, status]).unwrap();
        }
        std::fs::write(&file, writer.into_inner().unwrap()).unwrap();

        let mut opened = store::Store::open(&db).unwrap();
        let args = ImportArgs { kind: FileKind::Accounts, file: file.clone(), dry_run: false, map: Vec::new(), sheet: None };
        let outcome = cqrs_admin::commands::import::run(&mut opened, &args, &cqrs_admin::output::Shell::new());
        prop_assert!(outcome.is_ok(), "refused: {:#}", outcome.unwrap_err());
        drop(opened);

        let csv_out = audit_csv(&db).unwrap();
        let mut reader = csv::Reader::from_reader(csv_out.as_slice());
        let mut got = BTreeMap::new();
        for record in reader.records() {
            let record = record.unwrap();
            for cell in record.iter() {
                // A plain negative number (`-5`, `-0.5`) is left as it is on
                // purpose (output/mod.rs): a spreadsheet cannot run it.
                prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']) || is_plain_negative_number(cell), "formula in the audit: {:?}", cell);
            }
            let field = |i: usize| unneutralise(&record[i]).to_string();
            got.insert(field(0), (field(1), field(2), field(3), &record[4] == "disabled"));
        }
        let wanted: BTreeMap<String, (String, String, String, bool)> = accounts
            .iter()
            .map(|a| (a.account_id.clone(), (a.email.clone(), a.given_name.clone(), a.family_name.clone(), a.disabled)))
            .collect();
        prop_assert_eq!(got, wanted);
    });
}

/// `-`, digits, and at most one decimal point with digits after it: what the
/// output layer leaves unneutralised.
fn is_plain_negative_number(cell: &str) -> bool {
    let Some(digits) = cell.strip_prefix('-') else {
        return false;
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}
