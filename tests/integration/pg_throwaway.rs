//! `scripts/pg-throwaway.sh`, the README's one command for trying the tool on
//! a PostgreSQL server: it starts a private server, gives the settings that
//! point the tool at it (no password on any command line), and stops it.

use std::path::Path;
use std::process::Command;

use crate::common::binary;
use crate::pg_server;

/// The `export NAME='VALUE'` lines the script prints, as (name, value).
fn exports(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

#[test]
fn the_throwaway_server_starts_takes_a_store_and_stops() {
    // Only to learn whether PostgreSQL is here (and to fail in CI if not).
    if pg_server::server().is_none() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-throwaway.sh");
    let tmp = tempfile::tempdir().unwrap();
    let started = Command::new("bash")
        .arg(&script)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(started.status.success(), "{stderr}");
    let settings = exports(&String::from_utf8_lossy(&started.stdout));
    let names: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["PGPASSFILE", "CQRS_ADMIN_DB"]);
    let url = &settings[1].1;
    assert!(url.starts_with("postgresql://cqrs@"), "{url}");
    let user_part = url["postgresql://".len()..].split('@').next().unwrap();
    assert_eq!(user_part, "cqrs", "no password in the URL: {url}");
    let verified = Command::new(binary())
        .arg("verify")
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verified.stdout).to_string()
        + &String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{out}");
    assert!(out.contains("protective triggers"), "{out}");
    let stopped = Command::new("bash")
        .arg(&script)
        .arg("--stop")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(!tmp.path().join("cqrs-admin-pg-throwaway").exists());
    // A second stop has nothing to stop, and says so.
    let again = Command::new("bash")
        .arg(&script)
        .arg("--stop")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
}
