//! The conventions of a good command-line tool (issue 13, items 9 and 10):
//! a manual page for every command, help that sets the global options
//! apart and lists the words an option takes, a start-here when run with no
//! arguments, and tables fitted to the terminal. Completion (item 8) is in
//! completions.rs.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::{Store, binary};

/// The commands `--help` lists under "Commands:" (clap's `help` left out),
/// as paths: `["accounts", "show"]`.
fn commands(store: &Store, path: &[String]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = store.run(&args).ok().stdout;
    let Some(list) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in list.lines() {
        if !line.starts_with("  ") {
            break;
        }
        // A wrapped description goes on deeper.
        if line.starts_with("   ") {
            continue;
        }
        let name = line.split_whitespace().next().unwrap().to_string();
        if name == "help" {
            continue;
        }
        let mut sub = path.to_vec();
        sub.push(name);
        found.push(sub.clone());
        found.extend(commands(store, &sub));
    }
    found
}

/// What a manual page looks like to a reader: `man -l` (or groff) to plain
/// text. Without either, the roff is checked for its title and sections and
/// its text returned.
fn render(page: &Path) -> String {
    let run = |cmd: &mut Command| cmd.output().ok().filter(|o| o.status.code().is_some());
    let out = run(Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(page)
        .env("MANWIDTH", "100"))
    .or_else(|| {
        run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(page))
    });
    match out {
        Some(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "{} does not render cleanly: {stderr}",
                page.display()
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        None => {
            eprintln!("neither man nor groff is installed: the roff is only parsed");
            let roff = std::fs::read_to_string(page).unwrap();
            assert!(roff.lines().any(|l| l.starts_with(".TH ")));
            assert!(roff.contains(".SH NAME") && roff.contains(".SH SYNOPSIS"));
            roff.replace("\\-", "-")
                .replace("\\fB", "")
                .replace("\\fI", "")
                .replace("\\fR", "")
        }
    }
}

#[test]
fn man_writes_a_page_that_renders_for_every_command_and_each_names_only_pages_that_exist() {
    let store = Store::new();
    let out = store.dir.path().join("man");
    let run = store.run(&["man", "--out", out.to_str().unwrap()]).ok();
    let commands = commands(&store, &[]);
    // Every command and subcommand of the help, nested ones too.
    for nested in [
        &["accounts", "show"][..],
        &["cutover", "set"],
        &["import"],
        &["man"],
    ] {
        assert!(
            commands.iter().any(|c| c == nested),
            "{nested:?} not among {commands:?}"
        );
    }
    let mut expected: BTreeSet<String> = commands
        .iter()
        .map(|c| format!("cqrs-admin-{}.1", c.join("-")))
        .collect();
    expected.insert("cqrs-admin.1".into());
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(written, expected);
    assert!(
        run.stderr
            .contains(&format!("wrote {} manual pages to", expected.len())),
        "{}",
        run.stderr
    );
    let reference = regex_lite(r"cqrs-admin");
    for file in &written {
        let text = render(&out.join(file));
        let name = file.trim_end_matches(".1");
        assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{file}");
        // (Justified text: spaces vary.)
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("NAME {name} - ")), "{file}:\n{text}");
        // Options are shown with the value they take.
        assert!(flat.contains("[--db DB]"), "{file}:\n{text}");
        assert!(flat.contains("[--format FORMAT]"), "{file}:\n{text}");
        // Every page a page names exists.
        for page in reference(&text) {
            assert!(
                written.contains(&format!("{page}.1")),
                "{file} names {page}(1), which was not written"
            );
        }
    }
    let audit = render(&out.join("cqrs-admin-audit.1"));
    let flat = audit.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("[--category CATEGORY]..."), "{audit}");
    assert!(audit.contains("not-in-directory"), "{audit}");
    let main = render(&out.join("cqrs-admin.1"));
    assert!(main.contains("START HERE"), "{main}");
    assert!(main.contains("cqrs-admin import organisations"), "{main}");
}

/// The names of the pages `text` refers to, `cqrs-admin-import(1)` giving
/// `cqrs-admin-import`.
fn regex_lite(prefix: &'static str) -> impl Fn(&str) -> Vec<String> {
    move |text: &str| {
        let mut found = Vec::new();
        for (i, _) in text.match_indices(prefix) {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len());
            if rest[end..].starts_with("(1)") {
                found.push(rest[..end].to_string());
            }
        }
        found
    }
}

#[cfg(unix)]
#[test]
fn man_out_writes_owner_only_files_and_obeys_the_file_rules() {
    use crate::common::mode;
    let store = Store::new();
    let out = store.dir.path().join("pages");
    let out_arg = out.to_str().unwrap();
    store.run(&["man", "--out", out_arg]).ok();
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("cqrs-admin-import.1")), 0o600);

    // An existing page is replaced only with --force.
    let page = out.join("cqrs-admin-audit.1");
    std::fs::write(&page, "kept").unwrap();
    let run = store.run(&["man", "--out", out_arg]).fails(1);
    assert!(
        run.stderr.contains("already exists: add --force"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "kept");
    store.run(&["man", "--out", out_arg, "--force"]).ok();
    assert!(std::fs::read_to_string(&page).unwrap().contains(".TH"));

    // A link among the pages is refused, even with --force, and nothing
    // else is written: every target is checked first.
    let elsewhere = store.dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "not a page").unwrap();
    std::fs::remove_file(&page).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &page).unwrap();
    let import = out.join("cqrs-admin-import.1");
    std::fs::write(&import, "kept").unwrap();
    let run = store.run(&["man", "--out", out_arg, "--force"]).fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "not a page");
    assert_eq!(std::fs::read_to_string(&import).unwrap(), "kept");

    // A folder given as a link is refused.
    let linked = store.dir.path().join("linked");
    std::os::unix::fs::symlink(&out, &linked).unwrap();
    let run = store
        .run(&["man", "--out", linked.to_str().unwrap(), "--force"])
        .fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);

    // JSON names the folder and every page written.
    let fresh = store.dir.path().join("fresh");
    let json = store
        .run(&["man", "--out", fresh.to_str().unwrap(), "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["folder"], fresh.to_str().unwrap());
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), std::fs::read_dir(&fresh).unwrap().count());
    assert!(files.iter().any(|f| f == "cqrs-admin-accounts-show.1"));

    // `-` is not a folder.
    let run = store.run(&["man", "--out", "-"]).fails(1);
    assert!(run.stderr.contains("leave --out out"), "{}", run.stderr);
}

#[test]
fn man_out_never_writes_over_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    // A store that happens to bear a page's name.
    let store = Store {
        db: pages.join("cqrs-admin.1"),
        dir,
    };
    store.run(&["cutover", "set", "2026-12-31"]).ok();
    let before = std::fs::read(&store.db).unwrap();
    let run = store
        .run(&["man", "--out", pages.to_str().unwrap(), "--force"])
        .fails(1);
    assert!(run.stderr.contains("the store"), "{}", run.stderr);
    assert_eq!(std::fs::read(&store.db).unwrap(), before);
    store.run(&["cutover", "show"]).ok();
}

#[test]
fn man_without_out_prints_the_main_page() {
    let store = Store::new();
    let run = store.run(&["man"]).ok();
    assert!(run.stdout.contains(".TH cqrs-admin 1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("cqrs\\-admin\\-import"),
        "{}",
        run.stdout
    );
    assert!(!store.db.exists());
}

#[test]
fn no_arguments_prints_where_to_start_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .current_dir(dir.path())
        .env_remove("CQRS_ADMIN_DB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.stderr.is_empty());
    assert!(text.contains("Usage: cqrs-admin"), "{text}");
    // The import order the files depend on, then the main commands.
    let mut at = 0;
    for step in [
        "import organisations",
        "import accounts",
        "import permissions",
        "import directory",
        "import activity",
        "cqrs-admin audit",
        "cqrs-admin report",
        "cqrs-admin plan",
        "cqrs-admin replace",
    ] {
        let found = text[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step} missing or out of order:\n{text}"));
        at += found + step.len();
    }
    assert!(text.lines().count() < 30, "not short:\n{text}");
    // Nothing was created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn help_lists_man_and_sets_the_global_options_apart_with_their_values() {
    let store = Store::new();
    let help = store.run(&["--help"]).ok().stdout;
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("man ")),
        "man is not listed:\n{help}"
    );
    for command in ["audit", "report", "import", "plan"] {
        let help = store.run(&[command, "--help"]).ok().stdout;
        let (own, global) = help
            .split_once("Global options:\n")
            .unwrap_or_else(|| panic!("{command}: no Global options heading:\n{help}"));
        for option in ["--db", "--actor", "--format", "--today", "--cutover"] {
            assert!(global.contains(option), "{command}: {option}:\n{help}");
            assert!(
                !own.contains(&format!("{option} ")),
                "{command}: {option}:\n{help}"
            );
        }
        assert!(
            global.contains("[possible values: table, csv, json, xlsx]"),
            "{help}"
        );
    }
    let audit = store.run(&["audit", "--help"]).ok().stdout;
    let own = audit.split("Global options:").next().unwrap();
    let flat = own.split_whitespace().collect::<Vec<_>>().join(" ");
    for option in ["--category", "--section"] {
        let words = listed_in_refusal(&store, &["audit", option, "nope"]);
        let listed = format!("[possible values: {}]", words.join(", "));
        assert!(flat.contains(&listed), "{option}: {listed} not in\n{audit}");
    }
    let import = store.run(&["import", "--help"]).ok().stdout;
    let flat = import.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "[possible values: organisations, accounts, permissions, directory, activity]"
        ),
        "{import}"
    );
}

/// The words a `use one of a, b, c` refusal names.
fn listed_in_refusal(store: &Store, args: &[&str]) -> Vec<String> {
    let run = store.run(args).fails(2);
    let list = run.stderr.split("use one of ").nth(1).unwrap();
    list.lines()
        .next()
        .unwrap()
        .split(", ")
        .map(|w| w.trim().to_string())
        .collect()
}

/// Runs the binary with its standard output at a pseudo-terminal (util-linux
/// `script`) of `cols` by `rows` (0 by 0: a terminal that reports no size),
/// with `COLUMNS` as given, and returns what it printed.
fn at_terminal(
    store: &Store,
    cols: u16,
    rows: u16,
    columns: Option<&str>,
    args: &[&str],
) -> String {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let mut line = format!(
        "stty cols {cols} rows {rows}; exec {} --db {} --today 2026-12-01",
        quote(binary()),
        quote(store.db.to_str().unwrap())
    );
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .env_remove("CQRS_ADMIN_DB")
        .env_remove("CQRS_ADMIN_TODAY")
        .env_remove("COLUMNS");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs a pseudo-terminal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

/// A boxed table's lines, each split into its cells' text (padding
/// trimmed): the header's lines, then the body's.
fn table(text: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let (mut head, mut body, mut in_body) = (Vec::new(), Vec::new(), false);
    for line in text.lines() {
        if line.starts_with('╞') {
            in_body = true;
        } else if line.starts_with('│') {
            let inner = line.trim_start_matches('│').trim_end_matches('│');
            let cells = inner.split('┆').map(|c| c.trim().to_string()).collect();
            if in_body { &mut body } else { &mut head }.push(cells);
        } else if line.starts_with('└') {
            break;
        }
    }
    (head, body)
}

/// Checks that the table's `column` holds `addresses` in order, each whole
/// or broken only after `.`, `_`, `-` or `/`, or before `@`.
fn addresses_whole(text: &str, column: &str, addresses: &[String]) {
    let (head, body) = table(text);
    let names: Vec<String> = (0..head[0].len())
        .map(|i| head.iter().map(|l| l[i].as_str()).collect::<String>())
        .collect();
    let col = names
        .iter()
        .position(|n| n == column)
        .unwrap_or_else(|| panic!("no {column} in {names:?}"));
    let fragments: Vec<&str> = body
        .iter()
        .map(|l| l[col].as_str())
        .filter(|f| !f.is_empty())
        .collect();
    let joined: String = addresses.concat();
    assert_eq!(fragments.concat(), joined, "{text}");
    let ends: BTreeSet<usize> = addresses
        .iter()
        .scan(0, |at, a| {
            *at += a.len();
            Some(*at)
        })
        .collect();
    let mut at = 0;
    for fragment in &fragments {
        at += fragment.len();
        if !ends.contains(&at) {
            let before = joined[..at].chars().last().unwrap();
            let after = joined[at..].chars().next().unwrap();
            assert!(
                ".-_/".contains(before) || after == '@',
                "an address broken between {before:?} and {after:?}:\n{text}"
            );
        }
    }
}

fn widest(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn tables_at_a_terminal_fit_its_width_without_breaking_an_address() {
    let store = Store::with_fixtures();
    let emails: Vec<String> = store
        .run(&["audit", "--format", "csv", "--today", "2026-12-01"])
        .ok()
        .csv()
        .into_iter()
        .map(|r| r["email"].clone())
        .collect();
    assert!(emails.len() > 10);
    for cols in [70u16, 100, 160] {
        let text = at_terminal(&store, cols, 40, None, &["audit"]);
        assert!(
            widest(&text) <= usize::from(cols),
            "{cols} columns:\n{text}"
        );
        addresses_whole(&text, "email", &emails);
    }
    // Wide enough: every address on one line.
    let text = at_terminal(&store, 200, 40, None, &["audit"]);
    let (_, body) = table(&text);
    assert_eq!(body.len(), emails.len(), "{text}");
}

#[test]
fn a_terminal_that_reports_no_size_gets_a_readable_table() {
    let store = Store::with_fixtures();
    let emails: Vec<String> = store
        .run(&["audit", "--format", "csv", "--today", "2026-12-01"])
        .ok()
        .csv()
        .into_iter()
        .map(|r| r["email"].clone())
        .collect();
    let text = at_terminal(&store, 0, 0, None, &["audit"]);
    // 80 columns, as clap's help and most tools assume.
    let width = widest(&text);
    assert!((70..=80).contains(&width), "{width}:\n{text}");
    addresses_whole(&text, "email", &emails);
    let (head, _) = table(&text);
    for (i, cell) in head[0].iter().enumerate() {
        assert!(cell.chars().count() >= 4, "column {i} is {cell:?}:\n{text}");
    }
    // COLUMNS, when set, is the width (as for clap's help).
    let text = at_terminal(&store, 0, 0, Some("120"), &["audit"]);
    let width = widest(&text);
    assert!((100..=120).contains(&width), "{width}:\n{text}");
    addresses_whole(&text, "email", &emails);
}
