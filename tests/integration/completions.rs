//! The committed completion scripts match what the binary generates.

use std::path::Path;

use crate::common::Store;

#[test]
fn committed_completions_are_up_to_date() {
    let store = Store::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "cqrs-admin.bash"),
        ("zsh", "_cqrs-admin"),
        ("fish", "cqrs-admin.fish"),
        ("elvish", "cqrs-admin.elv"),
        ("powershell", "_cqrs-admin.ps1"),
    ] {
        let run = store.run(&["completions", shell]).ok();
        assert!(
            run.stdout.contains("CQRS_ADMIN_COMPLETE"),
            "{shell}: the script asks the binary"
        );
        let path = dir.join(file);
        if std::env::var_os("CQRS_ADMIN_UPDATE_COMPLETIONS").is_some() {
            std::fs::write(&path, &run.stdout).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "completions/{file} is stale: run `CQRS_ADMIN_UPDATE_COMPLETIONS=1 cargo test completions` and commit it"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let store = Store::new();
    store.run(&["completions", "tcsh"]).fails(2);
}

/// The folder holding the binary under test, to put first on PATH: the
/// committed scripts run `cqrs-admin` at each TAB, as a user's shell would.
fn path_with_binary() -> String {
    let bin = Path::new(crate::common::binary()).parent().unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn script(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(file)
}

/// Whether `shell` is installed; a test of a shell that is not says so.
fn have(shell: &str) -> bool {
    let found = std::process::Command::new(shell)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("{shell} is not installed: its completion script is not exercised");
    }
    found
}

/// What a real bash offers for `line` (the words typed, the cursor at its
/// end), with the committed script sourced: COMP_WORDS and COMP_CWORD set
/// as readline sets them, and the registered function called as `complete
/// -F` calls it (command, word, previous word).
fn bash_offers(line: &str, dir: &Path) -> Vec<String> {
    let program = r#"
source "$1"
read -ra COMP_WORDS <<< "$2"
[[ "$2" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
# the function bash would call for cqrs-admin
fn=$(complete -p cqrs-admin | sed -E 's/.* -F ([^ ]+) .*/\1/')
"$fn" cqrs-admin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", program, "bash"])
        .arg(script("cqrs-admin.bash"))
        .arg(line)
        .env("PATH", path_with_binary())
        .current_dir(dir)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed for {line:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    words(&String::from_utf8_lossy(&out.stdout))
}

fn words(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The words a `use one of a, b, c` refusal names, as the tool's own check
/// lists them (so the test follows the rules' list of categories).
fn listed_in_refusal(store: &Store, args: &[&str]) -> Vec<String> {
    let run = store.run(args).fails(2);
    let list = run
        .stderr
        .split("use one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no list in {}", run.stderr));
    list.lines()
        .next()
        .unwrap()
        .split(", ")
        .map(|w| w.trim().to_string())
        .collect()
}

fn sorted(mut words: Vec<String>) -> Vec<String> {
    words.sort();
    words
}

fn has_all(offered: &[String], wanted: &[&str], line: &str) {
    for w in wanted {
        assert!(
            offered.iter().any(|o| o == w),
            "`{line}<TAB>` should offer {w}; it offered {offered:?}"
        );
    }
}

#[test]
fn bash_completes_commands_kinds_and_values_with_the_committed_script() {
    let store = Store::new();
    let dir = store.dir.path();
    if !have("bash") {
        return;
    }
    let commands = [
        "import",
        "audit",
        "report",
        "signin",
        "accounts",
        "cutover",
        "plan",
        "replace",
        "revert",
        "reinstate",
        "history",
        "verify",
        "log",
        "export",
        "completions",
        "man",
    ];
    has_all(&bash_offers("cqrs-admin ", dir), &commands, "cqrs-admin ");
    let kinds = [
        "organisations",
        "accounts",
        "permissions",
        "directory",
        "activity",
    ];
    let offered = bash_offers("cqrs-admin import ", dir);
    has_all(&offered, &kinds, "cqrs-admin import ");
    assert!(!offered.iter().any(|w| w == "audit"), "{offered:?}");
    // Only the words that can follow: a value's list, nothing else.
    let sections = listed_in_refusal(&store, &["audit", "--section", "nope"]);
    assert_eq!(sections.len(), 3, "{sections:?}");
    for line in [
        "cqrs-admin audit --section ",
        "cqrs-admin report --section ",
    ] {
        assert_eq!(
            sorted(bash_offers(line, dir)),
            sorted(sections.clone()),
            "{line}"
        );
    }
    let categories = listed_in_refusal(&store, &["audit", "--category", "nope"]);
    assert_eq!(
        sorted(bash_offers("cqrs-admin audit --category ", dir)),
        sorted(categories.clone())
    );
    // A partial word: only the values it begins.
    let n: Vec<String> = categories
        .iter()
        .filter(|c| c.starts_with("n"))
        .cloned()
        .collect();
    assert!(n.len() >= 2);
    assert_eq!(
        sorted(bash_offers("cqrs-admin audit --category n", dir)),
        sorted(n)
    );
    // Global options after the command, and formats.
    assert_eq!(
        sorted(bash_offers("cqrs-admin report --format ", dir)),
        ["csv", "json", "table", "xlsx"]
    );
    assert_eq!(bash_offers("cqrs-admin audit --cat", dir), ["--category"]);
    assert_eq!(
        sorted(bash_offers("cqrs-admin export --only ", dir)),
        ["accounts", "permissions"]
    );
    assert_eq!(
        bash_offers("cqrs-admin accounts ", dir)
            .first()
            .map(String::as_str),
        Some("show")
    );
    has_all(
        &bash_offers("cqrs-admin completions ", dir),
        &["bash", "zsh", "fish"],
        "cqrs-admin completions ",
    );
    // The file to import: paths.
    std::fs::write(dir.join("accounts-2026.csv"), "x").unwrap();
    assert_eq!(
        bash_offers("cqrs-admin import accounts accounts-2", dir),
        ["accounts-2026.csv"]
    );
}

#[test]
fn zsh_completes_with_the_committed_script() {
    if !have("zsh") {
        return;
    }
    let store = Store::new();
    // compsys itself needs a terminal: its two entry points are stood in
    // for (compdef registers, _describe lists the candidates it is given),
    // and the committed function is called with zsh's words and CURRENT.
    let program = r#"
compdef() { : }
_describe() { local name=${@[-1]}; print -rl -- ${(P)name} }
source "$1"
words=(${(z)2})
[[ "$2" == *" " ]] && words+=("")
CURRENT=${#words}
_clap_dynamic_completer_cqrs_admin
"#;
    let offers = |line: &str| {
        let out = std::process::Command::new("zsh")
            .args(["-f", "-c", program, "zsh"])
            .arg(script("_cqrs-admin"))
            .arg(line)
            .env("PATH", path_with_binary())
            .current_dir(store.dir.path())
            .output()
            .expect("run zsh");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // zsh candidates are `value:description`.
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
    };
    let sections = listed_in_refusal(&store, &["audit", "--section", "nope"]);
    assert_eq!(
        sorted(offers("cqrs-admin audit --section ")),
        sorted(sections)
    );
    has_all(
        &offers("cqrs-admin import "),
        &[
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
        ],
        "cqrs-admin import ",
    );
    assert_eq!(
        sorted(offers("cqrs-admin --format ")),
        ["csv", "json", "table", "xlsx"]
    );
}

#[test]
fn fish_completes_with_the_committed_script() {
    if !have("fish") {
        return;
    }
    let store = Store::new();
    // `complete -C` is fish's own completion of a command line.
    let offers = |line: &str| {
        let out = std::process::Command::new("fish")
            .args([
                "--no-config",
                "-c",
                r#"source $argv[1]; complete -C $argv[2]"#,
            ])
            .arg(script("cqrs-admin.fish"))
            .arg(line)
            .env("PATH", path_with_binary())
            .current_dir(store.dir.path())
            .output()
            .expect("run fish");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        words(&String::from_utf8_lossy(&out.stdout))
    };
    let categories = listed_in_refusal(&store, &["audit", "--category", "nope"]);
    assert_eq!(
        sorted(offers("cqrs-admin audit --category ")),
        sorted(categories)
    );
    has_all(
        &offers("cqrs-admin import "),
        &[
            "organisations",
            "accounts",
            "permissions",
            "directory",
            "activity",
        ],
        "cqrs-admin import ",
    );
    assert_eq!(
        sorted(offers("cqrs-admin plan --format ")),
        ["csv", "json", "table", "xlsx"]
    );
}
