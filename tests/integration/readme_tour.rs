//! The README's tour is real output: every `$ cqrs-admin …` line of its
//! console blocks is run, in the order written, in a folder holding a copy of
//! the fixtures (with `CQRS_ADMIN_DB=demo.db`, as the README says), and what
//! it prints must be what the README shows. A line `...` stands for any
//! number of lines, and a line ending in `...` for any rest of that line.
//! What differs from machine to machine is put in one form on both sides:
//! today's date and time, the change log's hashes (they chain the times) and
//! the folder the tour runs in (`/home/admin` in the README).
//!
//! Not run: the lines that need a PostgreSQL server or write into the home
//! folder (the PostgreSQL section and `completions`, which the tests of
//! those features cover).

use std::path::Path;
use std::process::Command;

use regex::Regex;

use crate::common::binary;

/// One `$ ` line of the README and the lines it shows after it.
struct Step {
    command: String,
    shown: Vec<String>,
}

/// The steps of every console block but those of the PostgreSQL section
/// (they run on a server `scripts/pg-throwaway.sh` starts).
fn steps(readme: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for block in readme.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        if block.contains("pg-throwaway") {
            continue;
        }
        steps_of(block, &mut steps);
    }
    for step in &mut steps {
        while step.shown.last().is_some_and(|l| l.is_empty()) {
            step.shown.pop();
        }
    }
    steps
}

fn steps_of(block: &str, steps: &mut Vec<Step>) {
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: command.to_string(),
                shown: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.shown.push(line.to_string());
        }
    }
}

/// Dates after 2020 (the fixtures' own dates are 2020's: the cutover, the
/// pinned `--today`), times of day and 64-digit hashes, in one form.
fn normalise(text: &str, folder: &str) -> String {
    let date = Regex::new(r"20(2[1-9]|[3-9]\d)-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?").unwrap();
    let hash = Regex::new(r"\b[0-9a-f]{64}\b").unwrap();
    let text = text.replace(folder, "/home/admin");
    let text = date.replace_all(&text, |c: &regex::Captures<'_>| {
        if c.get(2).is_some() {
            "YYYY-MM-DDTHH:MM:SSZ"
        } else {
            "YYYY-MM-DD"
        }
    });
    hash.replace_all(&text, "HASH").into_owned()
}

/// Whether `got` is what `shown` shows, `...` lines and line ends as
/// wildcards.
fn matches(shown: &[String], got: &[&str]) -> bool {
    fn line_matches(shown: &str, got: &str) -> bool {
        match shown.strip_suffix("...") {
            Some(start) if !shown.trim().is_empty() && shown.trim() != "..." => {
                got.starts_with(start)
            }
            _ => shown == got,
        }
    }
    match shown.split_first() {
        None => got.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=got.len()).any(|skip| matches(rest, &got[skip..]))
        }
        Some((first, rest)) => got
            .split_first()
            .is_some_and(|(g, got_rest)| line_matches(first, g) && matches(rest, got_rest)),
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[cfg(unix)]
#[test]
fn every_command_of_the_readme_tour_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let here = folder.path().canonicalize().unwrap();
    copy_folder(&root.join("fixtures"), &here.join("fixtures"));
    let bin = here.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(binary(), bin.join("cqrs-admin")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut ran = 0;
    let mut wrong = Vec::new();
    for step in steps(&readme) {
        let needs_more = ["~/"];
        if !step.command.starts_with("cqrs-admin")
            && !step.command.starts_with("head ")
            && !step.command.starts_with("ls ")
            || needs_more.iter().any(|n| step.command.contains(n))
        {
            continue;
        }
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(format!("{{ {}\n}} 2>&1", step.command))
            .current_dir(&here)
            .env("PATH", &path)
            .env("CQRS_ADMIN_DB", "demo.db")
            .env("CQRS_ADMIN_ACTOR", "j.bloggs")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("CQRS_ADMIN_")
                && name != "CQRS_ADMIN_DB"
                && name != "CQRS_ADMIN_ACTOR"
            {
                command.env_remove(name);
            }
        }
        let output = command.output().unwrap();
        ran += 1;
        let got = normalise(
            &String::from_utf8_lossy(&output.stdout),
            &here.display().to_string(),
        );
        let got: Vec<&str> = got.trim_end_matches('\n').lines().collect();
        let shown: Vec<String> = step
            .shown
            .iter()
            .map(|l| normalise(l, &here.display().to_string()))
            .collect();
        if !matches(&shown, &got) {
            wrong.push(format!(
                "$ {}\n--- the README shows:\n{}\n--- it printed:\n{}",
                step.command,
                shown.join("\n"),
                got.join("\n")
            ));
        }
    }
    assert!(ran >= 30, "only {ran} commands of the tour were found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_tours_wildcards_match_what_they_stand_for_and_nothing_else() {
    let shown = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&shown(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(matches(&shown(&["a", "...", "d"]), &["a", "d"]));
    assert!(!matches(&shown(&["a", "...", "d"]), &["a", "b"]));
    assert!(matches(&shown(&["what to do: ..."]), &["what to do: call"]));
    assert!(!matches(&shown(&["what to do: ..."]), &["what not to do"]));
    assert!(!matches(&shown(&["a"]), &["a", "b"]));
    assert_eq!(
        normalise(
            "at 2026-11-22T22:03:11Z on 2026-11-22, cutover 2020-09-23",
            "/x"
        ),
        "at YYYY-MM-DDTHH:MM:SSZ on YYYY-MM-DD, cutover 2020-09-23"
    );
}
