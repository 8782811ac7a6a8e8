//! A real SMTP server for the tests: Python's aiosmtpd on a loopback port,
//! run by tests/smtp_server.py, which parses every message it accepts as
//! RFC 5322 (Python's email package) and logs it as a JSON line.
//!
//! aiosmtpd comes from PyPI (`.ci/run` installs it). Without it a test is
//! skipped with one line, except in CI (`CI=true`), where it fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("smtp_server.py")
}

/// Whether Python and aiosmtpd are here; outside CI, a test without them
/// says so in one line and is skipped.
pub fn available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: python3 with aiosmtpd is needed in CI: pip install aiosmtpd");
        }
        eprintln!("skipped {test}: python3 with aiosmtpd not installed (pip install aiosmtpd)");
    }
    ok
}

/// How the server behaves after some messages.
#[derive(Clone, Copy)]
pub enum Fault {
    None,
    /// Answers 451 to every message after this many.
    RefuseAfter(usize),
    /// Drops the connection at DATA after this many.
    DropAfter(usize),
    /// Never answers DATA after this many (prints HANGING).
    HangAfter(usize),
}

/// A running server; stopped when dropped.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts a server logging to `log` (appended to by every server given
    /// the same file, so a test sees everything that arrived anywhere).
    pub fn start(log: &Path, fault: Fault) -> Server {
        let mut cmd = Command::new("python3");
        cmd.arg(script()).arg("serve").arg(log);
        match fault {
            Fault::None => {}
            Fault::RefuseAfter(n) => {
                cmd.args(["--refuse-after", &n.to_string()]);
            }
            Fault::DropAfter(n) => {
                cmd.args(["--drop-after", &n.to_string()]);
            }
            Fault::HangAfter(n) => {
                cmd.args(["--hang-after", &n.to_string()]);
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tests/smtp_server.py");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("server stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("server's first line");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
            .parse()
            .expect("a port");
        Server {
            child,
            stdin,
            stdout,
            port,
            log: log.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits until the server says it holds a message unanswered.
    pub fn wait_until_hanging(&mut self) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("server output");
        assert_eq!(line.trim(), "HANGING", "the server did not hang");
    }

    /// Every message accepted so far by any server logging to this file.
    pub fn received(&self) -> Vec<serde_json::Value> {
        received(&self.log)
    }
}

/// Every message logged to `log`.
pub fn received(log: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(log) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a logged message"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Parses .eml files with the same code as the server.
pub fn parse_files(files: &[PathBuf]) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .arg(script())
        .arg("parse")
        .args(files)
        .output()
        .expect("run the parser");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a parsed message"))
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
