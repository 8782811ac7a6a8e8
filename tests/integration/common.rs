//! A small builder: a temporary store, the binary, and its results.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// The bundled fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_cqrs-admin")
}

/// A file's permission bits.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Writes `content` into the store's folder and gives its path as text.
pub fn write(store: &Store, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = store.dir.path().join(name);
    std::fs::write(&path, content).expect("write file");
    path.to_str().expect("path").to_string()
}

/// The import order the files depend on.
pub const FIXTURE_FILES: &[&str] = &[
    "organisations",
    "accounts",
    "permissions",
    "directory",
    "activity",
];

pub struct Store {
    pub dir: TempDir,
    pub db: PathBuf,
}

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses CSV output into rows of (header -> value).
    pub fn csv(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_reader(self.stdout.as_bytes());
        let headers = reader.headers().expect("csv headers").clone();
        reader
            .records()
            .map(|r| {
                let r = r.expect("csv record");
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("json output")
    }
}

impl Store {
    /// An empty temporary store (the file is created on first use).
    pub fn new() -> Store {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("cqrs-admin.db");
        Store { dir, db }
    }

    /// A store with every fixture imported.
    pub fn with_fixtures() -> Store {
        Store::with_fixture_files(FIXTURE_FILES)
    }

    /// A store with these fixture files imported, in this order.
    pub fn with_fixture_files(kinds: &[&str]) -> Store {
        let store = Store::new();
        for kind in kinds {
            store
                .run(&[
                    "import",
                    kind,
                    fixture(&format!("{kind}.csv")).to_str().unwrap(),
                ])
                .ok();
        }
        store
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("cqrs-admin").expect("binary");
        cmd.arg("--db")
            .arg(&self.db)
            .env_remove("CQRS_ADMIN_DB")
            .env_remove("CQRS_ADMIN_TODAY")
            .env("CQRS_ADMIN_ACTOR", "test-operator")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        cmd
    }

    /// Replaces `account` by a new account with `email`, confirmed with
    /// `--yes`, and expects it to succeed.
    pub fn replace(&self, account: &str, email: &str) -> Run {
        self.run(&["replace", account, "--email", email, "--yes"])
            .ok()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let out = self
            .cmd()
            .args(args)
            .write_stdin(stdin.as_bytes().to_vec())
            .output()
            .expect("run binary");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every row of the store's data tables, to prove a refusal changed nothing.
    /// The store's own bookkeeping (its generation and the kept report) is
    /// left out: it is a cache, not data.
    pub fn snapshot(&self) -> Vec<Vec<String>> {
        let conn = rusqlite::Connection::open(&self.db).expect("open store");
        let mut out = Vec::new();
        for table in [
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
            "change_log",
            "account_emails",
            "directory_keys",
            "report_cache",
            "settings",
        ] {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT * FROM {table} {}",
                    if table == "settings" {
                        "WHERE key NOT IN ('generation', 'report_cache.generation')"
                    } else {
                        ""
                    }
                ))
                .expect("prepare");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = vec![table.to_string()];
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        row.push(format!("{v:?}"));
                    }
                    Ok(row)
                })
                .expect("query");
            for row in rows {
                out.push(row.expect("row"));
            }
        }
        out.sort();
        out
    }

    /// The audit as (account_id -> (category, match, section)).
    pub fn audit(&self) -> std::collections::BTreeMap<String, (String, String, String)> {
        self.run(&["audit", "--include-disabled", "--format", "csv"])
            .ok()
            .csv()
            .into_iter()
            .map(|r| {
                (
                    r["account_id"].clone(),
                    (
                        r["category"].clone(),
                        r["match"].clone(),
                        r["section"].clone(),
                    ),
                )
            })
            .collect()
    }
}

/// A user that file permissions apply to, for running the binary when the
/// tests run as root (root ignores permissions, so "read-only" means nothing
/// to it).
#[cfg(unix)]
pub const UNPRIVILEGED: u32 = 65534; // nobody

#[cfg(unix)]
impl Store {
    /// Whether the tests run as root: a new file belongs to whoever runs.
    pub fn as_root(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let probe = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::metadata(probe.path()).expect("metadata").uid() == 0
    }

    /// As root, gives the store's folder and every file in it to
    /// [`UNPRIVILEGED`], so that [`Store::run_unprivileged`] owns them;
    /// otherwise does nothing.
    pub fn hand_to_unprivileged_user(&self) {
        if !self.as_root() {
            return;
        }
        let own = |path: &Path| {
            std::os::unix::fs::chown(path, Some(UNPRIVILEGED), Some(UNPRIVILEGED)).expect("chown")
        };
        own(self.dir.path());
        for entry in std::fs::read_dir(self.dir.path()).expect("read_dir") {
            own(&entry.expect("entry").path());
        }
    }

    /// Runs the binary as [`UNPRIVILEGED`] when the tests run as root, else
    /// as the current user.
    pub fn run_unprivileged(&self, args: &[&str]) -> Run {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(binary());
        cmd.arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("CQRS_ADMIN_DB")
            .env_remove("CQRS_ADMIN_TODAY")
            .env("CQRS_ADMIN_ACTOR", "test-operator")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        if self.as_root() {
            cmd.uid(UNPRIVILEGED).gid(UNPRIVILEGED);
        }
        let out = cmd.output().expect("run binary");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The fixtures plus `extra` accounts with a confident match each (ids
/// `L00000`, ...), and the plan `plan --out` writes for them (its path and its
/// lines).
pub fn plan_of_matches(extra: usize) -> (Store, String, Vec<String>) {
    let store = Store::with_fixtures();
    let mut accounts = String::from("account_id,username,email,given_name,family_name,status\n");
    let mut permissions = String::from("account_id,ods_code,role,payment_types\n");
    let mut directory =
        std::fs::read_to_string(fixture("directory.csv")).expect("directory fixture");
    if !directory.ends_with('\n') {
        directory.push('\n');
    }
    for i in 0..extra {
        accounts.push_str(&format!(
            "L{i:05},luser{i},l{i}@gp.nhs.uk,Given{i},Family{i},active\n"
        ));
        permissions.push_str(&format!("L{i:05},A81002,view,QOF\n"));
        directory.push_str(&format!(
            "given{i}.family{i}@nhs.net,Given{i},Family{i},A81002,active,personal\n"
        ));
    }
    for (kind, text) in [
        ("accounts", accounts),
        ("permissions", permissions),
        ("directory", directory),
    ] {
        let path = write(&store, &format!("matched-{kind}.csv"), text);
        store.run(&["import", kind, &path]).ok();
    }
    let out = store.dir.path().join("plan.csv");
    let out = out.to_str().expect("path").to_string();
    store.run(&["plan", "--out", &out]).ok();
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .expect("plan")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(lines.len() > 1 + extra, "{} plan lines", lines.len());
    (store, out, lines)
}
