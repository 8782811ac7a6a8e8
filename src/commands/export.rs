//! `export --out DIR [--all]`: the replacement accounts (or every account)
//! as accounts.csv and permissions.csv in the import formats (data-formats.md),
//! so that another CQRS system, or another store, can take them in.
//!
//! The folder is created owner-only when it does not exist (an existing
//! folder is left as it is: it may be shared, like /tmp), and must be a
//! folder, not a link to one. Each file is written as every output is
//! (crate::files): a new owner-only file renamed into place, an existing one
//! replaced only with `--force`, never the store. Both files are written
//! before either is renamed into place, so a failure leaves the folder as
//! it was. `--only` writes one of them; `--out -` writes that one to
//! standard output (two CSV files cannot share one stream). Cells are written by the same CSV writer as
//! every other output, so a value a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-` or `@`) is written with a leading `'`. Such
//! values do not occur in real exports (ids, names, dates, roles), and
//! `import` keeps a cell as written, so a neutralised value would come back
//! with its `'`; an email neutralised that way would then not match its
//! account on re-import, and the import refuses the file rather than change
//! the email. That trade is deliberate: the files are meant to be opened in
//! spreadsheets.

use anyhow::Result;

use crate::cli::{ExportArgs, ExportFile, FileKind, Format};
use crate::columns::{AccountRow, PermissionRow, names};
use crate::error::UserError;
use crate::files::{Guarded, PendingFile, Target, check_folder, create_owner_only_dir};
use crate::reporting::{Reporter, RowSink};
use crate::store::Store;

/// One file written: where (a path, or "standard output") and how many rows.
#[derive(Debug, serde::Serialize)]
pub struct ExportedFile {
    pub file: ExportFile,
    pub written_to: String,
    pub rows: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct Exported {
    pub files: Vec<ExportedFile>,
    pub all: bool,
}

const WHAT: &str = "the export";

pub fn run(
    store: &Store,
    args: &ExportArgs,
    format: Format,
    reporter: &dyn Reporter,
) -> Result<Exported> {
    let guarded = Guarded::store_of(store);
    let files: Vec<ExportFile> = match args.only {
        Some(file) => vec![file],
        None => ExportFile::ALL.to_vec(),
    };
    // Every target is checked before anything is read or written.
    let targets: Vec<(ExportFile, Target)> = if args.out.as_os_str() == "-" {
        let Some(file) = args.only else {
            return Err(UserError::Refused(
                "--out - writes one CSV file to standard output: add --only accounts or \
                 --only permissions, or give --out a folder for both"
                    .into(),
            )
            .into());
        };
        if format == Format::Json {
            return Err(UserError::Refused(
                "--out - writes the export (CSV) to standard output, where --format json would \
                 write too: give --out a folder, or leave out --format json"
                    .into(),
            )
            .into());
        }
        vec![(file, Target::Stdout)]
    } else {
        let dir = &args.out;
        if check_folder(dir)? {
            create_owner_only_dir(dir).map_err(|e| {
                UserError::Refused(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        files
            .iter()
            .map(|&f| {
                Ok((
                    f,
                    Target::check(&dir.join(f.file_name()), args.force, &guarded, WHAT)?,
                ))
            })
            .collect::<Result<_, UserError>>()?
    };

    let mut written = Vec::new();
    let mut pending: Vec<PendingFile> = Vec::new();
    for (file, target) in &targets {
        let rows = match target {
            Target::Stdout => reporter.write_csv(None, names(file_kind(*file)), &mut |sink| {
                write(store, args.all, *file, sink)
            })?,
            Target::File(f) => {
                let mut out = f.create(WHAT)?;
                // Only a failure to finish the file is put down to writing
                // it; a failure reading the store says what it is.
                let mut reading_failed = false;
                let rows = reporter
                    .write_csv(Some(&mut out), names(file_kind(*file)), &mut |sink| {
                        let written = write(store, args.all, *file, sink);
                        reading_failed = written.is_err();
                        written
                    })
                    .map_err(|e| {
                        if reading_failed {
                            e
                        } else {
                            e.context(format!("writing {}", f.path().display()))
                        }
                    })?;
                pending.push(out);
                rows
            }
        };
        written.push(ExportedFile {
            file: *file,
            written_to: target.describe(),
            rows,
        });
    }
    for file in pending {
        file.commit(&guarded, WHAT)?;
    }
    Ok(Exported {
        files: written,
        all: args.all,
    })
}

fn file_kind(file: ExportFile) -> FileKind {
    match file {
        ExportFile::Accounts => FileKind::Accounts,
        ExportFile::Permissions => FileKind::Permissions,
    }
}

fn write(store: &Store, all: bool, file: ExportFile, sink: &mut dyn RowSink) -> Result<()> {
    match file {
        ExportFile::Accounts => store.export_accounts(all, |a| {
            // The import's own row, so the file imports back column for column.
            let row = AccountRow {
                account_id: &a.account_id,
                username: &a.username,
                email: &a.email,
                given_name: &a.given_name,
                family_name: &a.family_name,
                status: a.status.as_str(),
                created_at: a.created_at.as_deref().unwrap_or(""),
                last_login_at: a.last_login_at.as_deref().unwrap_or(""),
            };
            sink.row(&row.fields())?;
            Ok(())
        }),
        ExportFile::Permissions => store.export_permissions(all, |id, g| {
            let payment_types = g.payment_types.join(";");
            let row = PermissionRow {
                account_id: id,
                ods_code: &g.ods_code,
                role: g.role.as_str(),
                payment_types: &payment_types,
            };
            sink.row(&row.fields())?;
            Ok(())
        }),
    }
}
