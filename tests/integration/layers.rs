//! The layout's rules, read from the source (no behaviour test can see a
//! layer reaching up): only the output layer prints, prompts or draws (the
//! final error too); the store and the rules never use the
//! output layer or the command line; the commands never use the output
//! layer (they report through `reporting`); and no two files import each
//! other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`commands::replace`; the
/// crate root is `""`).
fn sources() -> BTreeMap<String, (PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts.clear();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            (parts.join("::"), (path, text))
        })
        .collect()
}

/// A file's code without its unit tests (a test may build what it checks).
fn code(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

fn under(module: &str, folder: &str) -> bool {
    module == folder || module.starts_with(&format!("{folder}::"))
}

#[test]
fn only_the_output_layer_prints_prompts_or_draws() {
    let forbidden = [
        "println!",
        "eprintln!",
        "print!(",
        "eprint!(",
        "dbg!(",
        "dialoguer",
        "indicatif",
        "io::stdout()",
        "io::stderr()",
    ];
    let mut found = Vec::new();
    for (module, (path, text)) in sources() {
        if under(&module, "output") {
            continue;
        }
        for (n, line) in code(&text).lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for f in forbidden {
                if line.contains(f) {
                    found.push(format!("{}:{}: {f}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "printing outside src/output/:\n{}",
        found.join("\n")
    );
}

/// Every module a file names through `crate::` (in `use` lines, nested
/// braces included, and in paths written out), resolved to the file that
/// holds it.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        let Some(open) = tree.find('{') else {
            let name = tree.split_whitespace().next().unwrap_or("");
            out.push(format!("{prefix}{name}"));
            return;
        };
        let base = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&base, &inner[start..], out);
    }
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let code = code(text);
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use crate::") {
        let statement = &rest[at + "use crate::".len()..];
        let end = statement.find(';').unwrap_or(statement.len());
        expand("", &statement[..end], &mut paths);
        rest = &statement[end..];
    }
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(after.len());
        paths.push(after[..end].to_string());
        rest = &after[end..];
    }
    paths.iter().filter_map(|p| resolve(p)).collect()
}

#[test]
fn no_layer_reaches_up_and_no_two_files_import_each_other() {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().filter(|m| !m.is_empty()).cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = sources
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, (_, text))| {
            let mut deps = imports(text, &modules);
            deps.remove(m);
            (m.as_str(), deps)
        })
        .collect();
    let mut wrong = Vec::new();
    for (module, deps) in &graph {
        let path = sources[*module].0.display();
        for dep in deps {
            let below = ["store", "rules"].iter().any(|f| under(module, f));
            if below && (under(dep, "output") || under(dep, "cli") || under(dep, "commands")) {
                wrong.push(format!("{path} uses {dep}"));
            }
            if under(module, "commands") && under(dep, "output") {
                wrong.push(format!("{path} uses {dep}"));
            }
            if dep.as_str() < *module
                && graph.get(dep.as_str()).is_some_and(|d| d.contains(*module))
            {
                wrong.push(format!(
                    "{path} and {} import each other",
                    sources[dep].0.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The store is a boundary: only a back end's own folder names its
/// database (rusqlite, a pragma, SQLite's error codes; the postgres crate),
/// and nothing outside the store names a back end: the commands, the audit
/// and the output layer see `store::Store` and the `Backend` trait's records.
#[test]
fn only_a_back_end_names_its_database() {
    let sqlite_words = ["rusqlite", "PRAGMA", "pragma_", "ErrorCode::", "sqlite3_"];
    let postgres_words = ["postgres::", "tokio_postgres", "rustls"];
    let mut wrong = Vec::new();
    for (module, (path, text)) in sources() {
        let text = code(&text);
        let path = path.display();
        if !under(&module, "store::sqlite") {
            for word in sqlite_words {
                if text.contains(word) {
                    wrong.push(format!("{path} names `{word}` outside store::sqlite"));
                }
            }
        }
        if !under(&module, "store::postgres") {
            for word in postgres_words {
                if text.contains(word) {
                    wrong.push(format!("{path} names `{word}` outside store::postgres"));
                }
            }
        }
        if !under(&module, "store") {
            for backend in ["store::sqlite", "store::postgres"] {
                if text.contains(backend) {
                    wrong.push(format!("{path} names the back end `{backend}`"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A file a newcomer can read whole: no source file has more than 1,000
/// lines of code, not counting its unit tests.
#[test]
fn no_source_file_is_over_a_thousand_lines_of_code() {
    let long: Vec<String> = sources()
        .values()
        .filter_map(|(path, text)| {
            let lines = code(text).lines().count();
            (lines > 1_000).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(long.is_empty(), "too long: {long:?}");
}
