//! Files the program writes. They hold personal data (names, addresses), so
//! they are written the way careful tools write: checked before any work, then
//! written to a new owner-only temporary file created exclusively in the same
//! folder, synced, and renamed over the target. So:
//!
//! - a symbolic link, a device (`/dev/null`), a named pipe or a folder at the
//!   target is refused, never followed or written through;
//! - an existing file is replaced only with `--force`, and then by a new file
//!   (the old one's owner and mode are never changed: the tool did not create
//!   it);
//! - killed at any moment, the target is either the old file, intact, or the
//!   whole new one, never a torn mix;
//! - no output lands on the store or its journal ([`Guarded`]), whether
//!   named by its path, a symbolic link or a hard link (no command that writes
//!   `--out` reads another file; one that does adds it to the same list);
//! - `-` is standard output.

use std::ffi::OsString;
use std::fs::Metadata;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::UserError;

/// SQLite's files beside a store, named after it: the rollback journal and
/// the write-ahead log with its shared-memory index. They may not exist yet,
/// so they are guarded by name as well as by identity.
const STORE_COMPANIONS: &[(&str, &str)] = &[
    ("-journal", "the store's journal"),
    ("-wal", "the store's write-ahead log"),
    ("-shm", "the store's shared-memory index"),
];

/// Files no output may land on: the store, its journal, and files the
/// command reads.
#[derive(Debug, Default)]
pub struct Guarded {
    /// Canonical folder + file name, and what the file is.
    names: Vec<(PathBuf, String)>,
    /// Device and inode of each guarded file that exists (a hard link has
    /// the same), and what the file is.
    identities: Vec<((u64, u64), String)>,
}

impl Guarded {
    /// The store's file and its companions, if it keeps one (a database
    /// server's store has nothing here to guard).
    pub fn store_of(store: &crate::store::Store) -> Guarded {
        store.file().map(Guarded::store).unwrap_or_default()
    }

    /// The store at `path` and its companions, by the path given and by the
    /// path it resolves to (SQLite may name the journal after either).
    pub fn store(path: &Path) -> Guarded {
        let mut guarded = Guarded::default();
        let mut paths = vec![path.to_path_buf()];
        if let Ok(real) = std::fs::canonicalize(path)
            && real != path
        {
            paths.push(real);
        }
        for p in &paths {
            guarded.add(p, format!("the store {}", path.display()));
            for (suffix, what) in STORE_COMPANIONS {
                let mut name = OsString::from(p.as_os_str());
                name.push(suffix);
                guarded.add(
                    Path::new(&name),
                    format!("{what} ({})", Path::new(&name).display()),
                );
            }
        }
        guarded
    }

    fn add(&mut self, path: &Path, what: String) {
        if let Some(name) = canonical_name(path) {
            self.names.push((name, what.clone()));
        }
        // The file itself, through any symbolic link: a link to the store
        // elsewhere, or a hard link to it, has the same identity.
        if let Ok(meta) = std::fs::metadata(path) {
            self.identities.push((identity(&meta), what));
        }
    }

    /// What guarded file `path` (a regular file, or nothing yet) is, if any.
    fn find(&self, path: &Path, meta: Option<&Metadata>) -> Option<&str> {
        if let Some(name) = canonical_name(path)
            && let Some((_, what)) = self.names.iter().find(|(n, _)| *n == name)
        {
            return Some(what);
        }
        let id = identity(meta?);
        self.identities
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, what)| what.as_str())
    }
}

#[cfg(unix)]
fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// The folder a file path is in ("." for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The path with its folder resolved (links, `..`) and its own name kept as
/// it is: two names for one place compare equal even when the file does not
/// exist yet.
fn canonical_name(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let folder = std::fs::canonicalize(folder_of(path)).ok()?;
    Some(folder.join(name))
}

/// Where an output goes, checked before any work is done.
#[derive(Debug)]
pub enum Target {
    Stdout,
    File(FileTarget),
}

/// A file path checked to be writable: nothing there, or (with `--force`) a
/// regular file to replace.
#[derive(Debug)]
pub struct FileTarget {
    path: PathBuf,
    force: bool,
}

impl Target {
    /// Checks `path` (`-` for standard output) as the target of `what` ("the
    /// plan"); `force` allows replacing an existing regular file.
    pub fn check(
        path: &Path,
        force: bool,
        guarded: &Guarded,
        what: &str,
    ) -> Result<Target, UserError> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        let target = FileTarget {
            path: path.to_path_buf(),
            force,
        };
        target.inspect(guarded, what)?;
        Ok(Target::File(target))
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self, Target::Stdout)
    }

    /// How the target is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Stdout => "standard output".into(),
            Target::File(f) => f.path.display().to_string(),
        }
    }
}

/// What is at a path, in words, for a refusal.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_file() {
        "a file"
    } else {
        "not a regular file"
    }
}

impl FileTarget {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a target that must not be written (see the module's
    /// comment). Called before the work, and again just before the rename.
    fn inspect(&self, guarded: &Guarded, what: &str) -> Result<(), UserError> {
        let path = &self.path;
        let shown = path.display();
        if path.file_name().is_none() {
            return Err(UserError::Refused(format!(
                "{shown} is not a file name: give the path of the file to write {what} to"
            )));
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(UserError::Refused(format!(
                    "cannot write {what} to {shown}: {e}; check the path and the folder's permissions"
                )));
            }
        };
        if let Some(meta) = &meta
            && !meta.file_type().is_file()
        {
            let kind = kind_of(meta);
            let advice = if meta.file_type().is_symlink() {
                let to = std::fs::read_link(path)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                format!(
                    "{to}; the tool never writes through a link: give the path of the file itself, \
                     or remove the link (`-` writes to standard output)"
                )
            } else if meta.file_type().is_dir() {
                format!(": give the path of a file to write {what} to")
            } else {
                ": the tool writes only regular files: give the path of a file, or `-` for \
                 standard output"
                    .to_string()
            };
            return Err(UserError::Refused(format!(
                "cannot write {what} to {shown}: it is {kind}{advice}; nothing was written"
            )));
        }
        if let Some(guard) = guarded.find(path, meta.as_ref()) {
            return Err(UserError::Refused(format!(
                "cannot write {what} to {shown}: that is {guard}, which it would destroy; \
                 give another path; nothing was written"
            )));
        }
        match meta {
            Some(_) if !self.force => Err(UserError::Refused(format!(
                "{shown} already exists: add --force to replace it, or give another path; \
                 nothing was written"
            ))),
            Some(_) => Ok(()),
            None => {
                let folder = folder_of(path);
                match std::fs::metadata(folder) {
                    Ok(m) if m.is_dir() => Ok(()),
                    Ok(_) => Err(UserError::Refused(format!(
                        "cannot write {what} to {shown}: {} is not a folder; check the path",
                        folder.display()
                    ))),
                    Err(e) => Err(UserError::Refused(format!(
                        "cannot write {what} to {shown}: the folder {}: {e}; check the path",
                        folder.display()
                    ))),
                }
            }
        }
    }

    /// Starts writing: a new temporary file, owner-only and created
    /// exclusively, in the target's folder (so that the rename is atomic).
    pub fn create(&self, what: &str) -> Result<PendingFile, UserError> {
        let folder = folder_of(&self.path);
        let mut prefix = OsString::from(".");
        prefix.push(self.path.file_name().unwrap_or_default());
        prefix.push(".");
        // tempfile creates the file with O_EXCL and mode 0600.
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(folder)
            .map_err(|e| {
                UserError::Refused(format!(
                    "cannot write {what} to {}: {e}; check the folder's permissions",
                    self.path.display()
                ))
            })?;
        Ok(PendingFile {
            out: io::BufWriter::with_capacity(1 << 16, temp),
            target: FileTarget {
                path: self.path.clone(),
                force: self.force,
            },
        })
    }
}

/// A file being written: it replaces its target only on [`PendingFile::commit`];
/// dropped before that, the temporary file is removed and the target is
/// untouched.
pub struct PendingFile {
    out: io::BufWriter<tempfile::NamedTempFile>,
    target: FileTarget,
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A workbook is a zip archive, whose writer goes back to fill in sizes.
impl io::Seek for PendingFile {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.out.seek(pos)
    }
}

impl PendingFile {
    /// Syncs the new file, renames it over the target and syncs the folder,
    /// so the new file is there after a crash. The target is checked again
    /// first: something put there while the file was written is refused.
    pub fn commit(self, guarded: &Guarded, what: &str) -> anyhow::Result<()> {
        let path = self.target.path.clone();
        let failed = |e: &dyn std::fmt::Display| {
            UserError::Refused(format!(
                "cannot write {what} to {}: {e}; nothing was written",
                path.display()
            ))
        };
        let temp = self.out.into_inner().map_err(|e| failed(e.error()))?;
        temp.as_file().sync_all().map_err(|e| failed(&e))?;
        self.target.inspect(guarded, what)?;
        if self.target.force {
            // rename(2) replaces the name: a link put there meanwhile is
            // replaced itself, never followed.
            temp.persist(&path).map_err(|e| failed(&e.error))?;
        } else {
            temp.persist_noclobber(&path).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    UserError::Refused(format!(
                        "{} appeared while {what} was written: add --force to replace it, or \
                         give another path; nothing was written",
                        path.display()
                    ))
                } else {
                    failed(&e.error)
                }
            })?;
        }
        sync_folder(folder_of(&path));
        Ok(())
    }
}

/// Makes a rename in `folder` durable. A folder that cannot be opened for
/// this (some file systems) still has the file: the rename is done.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

/// Prepares a folder for exports: refuses a symbolic link or anything that
/// is not a folder, and creates a missing one owner-only. Returns whether it
/// was created.
pub fn check_folder(path: &Path) -> Result<bool, UserError> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(false),
        Ok(meta) => Err(UserError::Refused(format!(
            "cannot export into {shown}: it is {}; give --out a folder (the tool never writes \
             through a link), or `-` with --only for standard output; nothing was written",
            kind_of(&meta)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(UserError::Refused(format!(
            "cannot export into {shown}: {e}; check the path and its permissions"
        ))),
    }
}

/// Creates a folder (and its parents) owner-only, for exports.
pub fn create_owner_only_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Prepares the folder `path` that `what` ("the manual pages") is written
/// into: refuses a symbolic link or anything that is not a folder, and
/// creates a missing one (and its parents) owner-only. The files inside are
/// then each checked as a [`Target`].
pub fn prepare_folder(path: &Path, what: &str) -> Result<(), UserError> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) => Err(UserError::Refused(format!(
            "cannot write {what} into {shown}: it is {}; give --out a folder (the tool never \
             writes through a link); nothing was written",
            kind_of(&meta)
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_owner_only_dir(path).map_err(|e| {
            UserError::Refused(format!(
                "cannot create the folder {shown} for {what}: {e}; check the path and its \
                     permissions"
            ))
        }),
        Err(e) => Err(UserError::Refused(format!(
            "cannot write {what} into {shown}: {e}; check the path and its permissions"
        ))),
    }
}
