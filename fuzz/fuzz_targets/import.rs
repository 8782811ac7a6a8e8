//! The whole import, as `cqrs-admin import KIND FILE` runs it, into a store
//! holding the bundled fixtures: whatever the bytes, it never panics, and a
//! refusal is one the user can act on (exit status 1) that changes nothing.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cqrs_admin::cli::{FileKind, ImportArgs};
use cqrs_admin::error::{UserError, exit_code};
use cqrs_admin::store::Store;
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 5] = [
    FileKind::Organisations,
    FileKind::Accounts,
    FileKind::Permissions,
    FileKind::Directory,
    FileKind::Activity,
];

struct Setup {
    _dir: tempfile::TempDir,
    db: PathBuf,
    input: PathBuf,
    /// The store with the fixtures, restored before every input so that each
    /// input is tried on the same store (and a crash reproduces from it).
    pristine: Vec<u8>,
    contents: Vec<String>,
}

fn import(db: &Path, kind: FileKind, file: &Path) -> anyhow::Result<()> {
    let mut store = Store::open(db)?;
    let args = ImportArgs {
        kind,
        file: file.to_path_buf(),
        dry_run: false,
    };
    cqrs_admin::commands::import::run(&mut store, &args, &cqrs_admin::output::Shell::new())?;
    Ok(())
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("store.db");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        for kind in KINDS {
            let file = fixtures.join(format!("{}.csv", kind.as_str()));
            import(&db, kind, &file).expect("fixture import");
        }
        let input = dir.path().join("input.csv");
        let pristine = std::fs::read(&db).expect("read store");
        let contents = contents(&db);
        Setup {
            _dir: dir,
            db,
            input,
            pristine,
            contents,
        }
    })
}

/// Every row of every table, to compare before and after a refusal.
fn contents(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut out = Vec::new();
    for table in [
        "organisations",
        "accounts",
        "account_emails",
        "permissions",
        "directory",
        "activity",
        "settings",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("prepare");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut row = table.to_string();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    row.push_str(&format!("|{v:?}"));
                }
                Ok(row)
            })
            .expect("query");
        out.extend(rows.map(|r| r.expect("row")));
    }
    out.sort();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let setup = setup();
    std::fs::write(&setup.input, bytes).expect("write input");
    let _ = std::fs::remove_file(setup.db.with_extension("db-journal"));
    std::fs::write(&setup.db, &setup.pristine).expect("restore store");
    if let Err(err) = import(&setup.db, kind, &setup.input) {
        assert_eq!(exit_code(&err), 1, "{err:#}");
        assert!(
            err.downcast_ref::<UserError>().is_some(),
            "not a refusal the user can act on: {err:#}"
        );
        assert!(
            contents(&setup.db) == setup.contents,
            "a refused file changed the store"
        );
    }
});
