//! `store copy FROM TO`: a whole store copied into a new or empty one, on
//! the same back end or the other (SQLite to PostgreSQL and back), with
//! nothing lost: every table, the change log verbatim (the same chain, the
//! same hashes) and the cutover date. The destination writes it all in one
//! transaction and checks that the change log continues its (empty) chain,
//! so a copy is whole or not at all.
//!
//! A store changed past cqrs-admin is not copied: the copy would carry the
//! change along as if it were the store's history.

use std::path::Path;

use anyhow::Result;

use crate::error::UserError;
use crate::reporting::Reporter;
use crate::store::copy::CopiedTable;
use crate::store::{Store, TAMPERED_RECOVERY};

pub const COLUMNS: &[&str] = &["table", "rows"];

/// What a copy wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopiedStore {
    /// The stores, as named in messages (no password).
    pub from: String,
    pub to: String,
    /// Rows written, per table, in the order they were copied.
    pub tables: Vec<CopiedRows>,
    /// The change log's newest entry in the copy: the same as the
    /// original's.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CopiedRows {
    pub table: CopiedTable,
    pub rows: u64,
}

pub fn run(from: &Path, to: &Path, reporter: &dyn Reporter) -> Result<CopiedStore> {
    if same_store(from, to) {
        return Err(UserError::Refused(format!(
            "{} is both the store to copy and the store to copy into: nothing was changed. \
             Give a new file or an empty database as TO",
            from.display()
        ))
        .into());
    }
    let source = Store::open_reporting(from, false, reporter)?;
    let tampering = source.tampering()?;
    if !tampering.is_empty() {
        let list: Vec<String> = tampering.iter().map(|t| format!("  {t}")).collect();
        return Err(UserError::Refused(format!(
            "{} was changed outside cqrs-admin, so it is not copied (a copy would carry the \
             change along as if it were the store's history):\n{}\nNothing was changed. \
             To recover, {TAMPERED_RECOVERY}; `cqrs-admin verify` lists what was changed",
            source.name(),
            list.join("\n")
        ))
        .into());
    }
    let existed = Store::exists(to);
    let mut dest = Store::open_reporting(to, true, reporter)?;
    let copied = dest.copy_in(&mut |write| source.copy_out(write));
    let counts = match copied {
        Ok(counts) => counts,
        Err(e) => {
            // A store file this copy created, left empty by the failed
            // copy, is removed: a refused copy leaves nothing behind.
            if !existed && let Some(file) = dest.file().map(Path::to_path_buf) {
                drop(dest);
                remove_new_store(&file);
            }
            return Err(e);
        }
    };
    let head = dest.change_log_head()?;
    Ok(CopiedStore {
        from: source.name(),
        to: dest.name(),
        tables: counts
            .0
            .into_iter()
            .map(|(table, rows)| CopiedRows { table, rows })
            .collect(),
        head_seq: head.as_ref().map(|(s, _)| *s),
        head_hash: head.map(|(_, h)| h),
    })
}

/// Whether FROM and TO name the same store (the same text, or the same
/// file by whatever path).
fn same_store(from: &Path, to: &Path) -> bool {
    if from == to {
        return true;
    }
    match (std::fs::canonicalize(from), std::fs::canonicalize(to)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Removes a store file this run created, and the journal SQLite may have
/// left beside it.
fn remove_new_store(file: &Path) {
    let _ = std::fs::remove_file(file);
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(Path::new(&name));
    }
}
