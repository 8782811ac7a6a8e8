//! `export --out DIR [--all]`: the replacement accounts (or every account)
//! as accounts.csv and permissions.csv in the import formats (data-formats.md),
//! so that another CQRS system, or another store, can take them in.
//!
//! The folder is created owner-only when it does not exist (an existing
//! folder is left as it is: it may be shared, like /tmp); both files are
//! always created owner-only. Cells are written by the same CSV writer as
//! every other output, so a value a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-` or `@`) is written with a leading `'`. Such
//! values do not occur in real exports (ids, names, dates, roles), and
//! `import` keeps a cell as written, so a neutralised value would come back
//! with its `'`; an email neutralised that way would then not match its
//! account on re-import, and the import refuses the file rather than change
//! the email. That trade is deliberate: the files are meant to be opened in
//! spreadsheets.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::{ExportArgs, FileKind, Format};
use crate::error::UserError;
use crate::files::{create_owner_only, create_owner_only_dir};
use crate::output::Sink;
use crate::store::{Store, columns};

#[derive(Debug)]
pub struct Exported {
    pub accounts_file: PathBuf,
    pub permissions_file: PathBuf,
    pub accounts: usize,
    pub permissions: usize,
    pub all: bool,
}

fn open(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    let file = create_owner_only(path).map_err(|e| {
        UserError::Refused(format!(
            "cannot write {}: {e}; check the folder's permissions",
            path.display()
        ))
    })?;
    Ok(std::io::BufWriter::with_capacity(1 << 16, file))
}

pub fn run(store: &Store, args: &ExportArgs) -> Result<Exported> {
    let dir = &args.out;
    if dir.exists() && !dir.is_dir() {
        return Err(UserError::Refused(format!(
            "{} is a file: give --out a folder to write accounts.csv and permissions.csv into",
            dir.display()
        ))
        .into());
    }
    if !dir.exists() {
        create_owner_only_dir(dir).map_err(|e| {
            UserError::Refused(format!("cannot create the folder {}: {e}", dir.display()))
        })?;
    }
    let accounts_file = dir.join("accounts.csv");
    let permissions_file = dir.join("permissions.csv");

    let mut sink = Sink::new(
        open(&accounts_file)?,
        Format::Csv,
        columns(FileKind::Accounts),
    )?;
    store.export_accounts(args.all, |a| {
        sink.row(&[
            a.account_id.as_str(),
            &a.username,
            &a.email,
            &a.given_name,
            &a.family_name,
            a.status.as_str(),
            a.created_at.as_deref().unwrap_or(""),
            a.last_login_at.as_deref().unwrap_or(""),
        ])?;
        Ok(())
    })?;
    let accounts = sink.rows();
    sink.finish()
        .with_context(|| format!("writing {}", accounts_file.display()))?;

    let mut sink = Sink::new(
        open(&permissions_file)?,
        Format::Csv,
        columns(FileKind::Permissions),
    )?;
    store.export_permissions(args.all, |id, g| {
        sink.row(&[id, &g.ods_code, g.role.as_str(), &g.payment_types.join(";")])?;
        Ok(())
    })?;
    let permissions = sink.rows();
    sink.finish()
        .with_context(|| format!("writing {}", permissions_file.display()))?;

    Ok(Exported {
        accounts_file,
        permissions_file,
        accounts,
        permissions,
        all: args.all,
    })
}
