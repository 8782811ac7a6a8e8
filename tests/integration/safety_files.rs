//! Files the tool writes (issue 10, items 1 to 4) and input that never ends
//! (item 9): no output lands on the store, its journal, a link, a device or
//! an existing file without `--force`; `-` is standard output; `/dev/zero`
//! and endless pipes are refused at once.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Run, Store};

/// The store's bytes and rows, to show that a refusal changed nothing.
fn store_state(store: &Store) -> (Vec<u8>, Vec<Vec<String>>) {
    (fs::read(&store.db).unwrap(), store.snapshot())
}

/// Names in the store's folder that look like a temporary file left behind.
fn temporary_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn plan_out_never_lands_on_the_store_by_path_link_hard_link_or_journal() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let link = dir.join("link-to-store");
    std::os::unix::fs::symlink(&store.db, &link).unwrap();
    let hard = dir.join("hard-link-to-store");
    fs::hard_link(&store.db, &hard).unwrap();
    let db = path_str(&store.db).to_string();
    let targets: Vec<String> = vec![
        db.clone(),
        // The same file through another spelling of its folder.
        format!(
            "{}/../{}/cqrs-admin.db",
            path_str(dir),
            dir.file_name().unwrap().to_str().unwrap()
        ),
        path_str(&link).into(),
        path_str(&hard).into(),
        format!("{db}-journal"),
        format!("{db}-wal"),
        format!("{db}-shm"),
    ];
    let before = store_state(&store);
    for target in &targets {
        for force in [false, true] {
            let mut args = vec!["plan", "--out", target.as_str()];
            if force {
                args.push("--force");
            }
            let run = store.run(&args).fails(1);
            assert!(
                run.stderr.contains(target.as_str()),
                "{args:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains("nothing was written"),
                "{args:?}: {}",
                run.stderr
            );
            assert_eq!(store_state(&store), before, "{args:?} changed the store");
        }
    }
    // Journal names are refused whether or not the journal exists.
    for suffix in ["-journal", "-wal", "-shm"] {
        let name = format!("{db}{suffix}");
        let exists = Path::new(&name).exists();
        let run = store.run(&["plan", "--out", &name, "--force"]).fails(1);
        assert!(
            run.stderr.contains("the store's"),
            "{name} (exists: {exists}): {}",
            run.stderr
        );
        assert_eq!(
            Path::new(&name).exists(),
            exists,
            "{name} was created or removed"
        );
    }
    assert_eq!(temporary_files(dir), Vec::<String>::new());
    // The store still works, and its change log is intact.
    store.run(&["verify"]).ok();
}

#[test]
fn export_never_lands_on_the_store() {
    let store = Store::with_fixtures();
    let before = store_state(&store);
    // The store given as the folder.
    let run = store
        .run(&["export", "--out", path_str(&store.db), "--force"])
        .fails(1);
    assert!(run.stderr.contains("it is a file"), "{}", run.stderr);
    // A store named like an export file, in the folder exported into.
    let dir = store.dir.path().join("exports");
    fs::create_dir(&dir).unwrap();
    let hard = dir.join("accounts.csv");
    fs::hard_link(&store.db, &hard).unwrap();
    let run = store
        .run(&["export", "--out", path_str(&dir), "--force", "--all"])
        .fails(1);
    assert!(run.stderr.contains("the store"), "{}", run.stderr);
    // Refused before anything was written: permissions.csv is not there either.
    assert!(!dir.join("permissions.csv").exists());
    assert_eq!(store_state(&store), before);
    assert_eq!(temporary_files(&dir), Vec::<String>::new());
}

#[test]
fn plan_out_a_symlink_is_refused_and_the_file_it_points_to_is_unchanged() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let victim = dir.join("someone-elses.txt");
    fs::write(&victim, "not yours\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("plan.csv");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    // A dangling link too: following it would create a file elsewhere.
    let dangling = dir.join("dangling.csv");
    let elsewhere = dir.join("created-through-link.csv");
    std::os::unix::fs::symlink(&elsewhere, &dangling).unwrap();
    for target in [&link, &dangling] {
        for force in [false, true] {
            let mut args = vec!["plan", "--out", path_str(target)];
            if force {
                args.push("--force");
            }
            let run = store.run(&args).fails(1);
            assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
        }
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not yours\n");
    assert_eq!(fs::metadata(&victim).unwrap().mode() & 0o777, 0o644);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!elsewhere.exists());
    assert_eq!(temporary_files(dir), Vec::<String>::new());
}

#[test]
fn plan_out_a_device_is_refused_and_the_device_is_unchanged() {
    let store = Store::with_fixtures();
    let before = fs::metadata("/dev/null").unwrap();
    for force in [false, true] {
        let mut args = vec!["plan", "--out", "/dev/null"];
        if force {
            args.push("--force");
        }
        let run = store.run(&args).fails(1);
        assert!(
            run.stderr.contains("/dev/null") && run.stderr.contains("a device"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("`-`"),
            "should say how to write to standard output: {}",
            run.stderr
        );
    }
    let after = fs::metadata("/dev/null").unwrap();
    assert_eq!(after.mode(), before.mode(), "/dev/null's mode changed");
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    // A folder is refused as well.
    let run = store
        .run(&["plan", "--out", path_str(store.dir.path()), "--force"])
        .fails(1);
    assert!(run.stderr.contains("a folder"), "{}", run.stderr);
}

#[test]
fn plan_out_a_named_pipe_is_refused_without_blocking() {
    let store = Store::with_fixtures();
    let fifo = store.dir.path().join("fifo.csv");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available: skipped");
        return;
    }
    let run = store
        .run(&["plan", "--out", path_str(&fifo), "--force"])
        .fails(1);
    assert!(run.stderr.contains("a named pipe"), "{}", run.stderr);
}

#[test]
fn an_existing_plan_is_replaced_only_with_force_by_a_new_owner_only_file() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let plan = dir.join("plan.csv");
    fs::write(&plan, "reviewed plan\n").unwrap();
    fs::set_permissions(&plan, fs::Permissions::from_mode(0o644)).unwrap();
    let old = fs::metadata(&plan).unwrap();

    let run = store.run(&["plan", "--out", path_str(&plan)]).fails(1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&plan).unwrap(), "reviewed plan\n");
    assert_eq!(fs::metadata(&plan).unwrap().mode() & 0o777, 0o644);

    store
        .run(&["plan", "--out", path_str(&plan), "--force"])
        .ok();
    let text = fs::read_to_string(&plan).unwrap();
    assert!(text.starts_with("account_id,new_email,reason"), "{text}");
    let new = fs::metadata(&plan).unwrap();
    // A new file took the name (renamed into place): the old one was never
    // truncated or re-moded.
    assert_ne!(new.ino(), old.ino());
    assert_eq!(new.mode() & 0o777, 0o600);
    assert_eq!(temporary_files(dir), Vec::<String>::new());

    // What --force replaced is exactly what a fresh plan holds.
    let fresh = dir.join("fresh.csv");
    store.run(&["plan", "--out", path_str(&fresh)]).ok();
    assert_eq!(fs::read_to_string(&fresh).unwrap(), text);
    assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o600);
}

#[test]
fn plan_out_dash_prints_the_plan() {
    let store = Store::with_fixtures();
    let file = store.dir.path().join("plan.csv");
    store.run(&["plan", "--out", path_str(&file)]).ok();
    let run = store.run(&["plan", "--out", "-"]).ok();
    assert_eq!(run.stdout, fs::read_to_string(&file).unwrap());
    assert!(!store.dir.path().join("-").exists());
    assert!(!run.csv().is_empty());
}

#[test]
fn export_out_dash_writes_the_chosen_file_to_standard_output() {
    let store = Store::with_fixtures();
    let dir = store.dir.path().join("export");
    store
        .run(&["export", "--out", path_str(&dir), "--all"])
        .ok();
    for (only, file) in [
        ("accounts", "accounts.csv"),
        ("permissions", "permissions.csv"),
    ] {
        let run = store
            .run(&["export", "--out", "-", "--only", only, "--all"])
            .ok();
        assert_eq!(
            run.stdout,
            fs::read_to_string(dir.join(file)).unwrap(),
            "{only}"
        );
        assert!(!run.csv().is_empty(), "{only}");
    }
    // Both files cannot share one stream: --only is asked for, and no folder
    // named `-` is made.
    let run = store.run(&["export", "--out", "-", "--all"]).fails(1);
    assert!(run.stderr.contains("--only"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(!store.dir.path().join("-").exists());
}

#[test]
fn export_folder_must_be_a_real_folder_and_its_files_need_force() {
    let store = Store::with_fixtures();
    let dir = store.dir.path().join("export");
    store
        .run(&["export", "--out", path_str(&dir), "--all"])
        .ok();
    for file in ["accounts.csv", "permissions.csv"] {
        assert_eq!(fs::metadata(dir.join(file)).unwrap().mode() & 0o777, 0o600);
    }
    let accounts = fs::read(dir.join("accounts.csv")).unwrap();
    // Again, without --force: refused, both files as they were.
    fs::write(dir.join("permissions.csv"), "kept\n").unwrap();
    let run = store
        .run(&["export", "--out", path_str(&dir), "--all"])
        .fails(1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(fs::read(dir.join("accounts.csv")).unwrap(), accounts);
    assert_eq!(
        fs::read_to_string(dir.join("permissions.csv")).unwrap(),
        "kept\n"
    );
    // With --force, both are replaced.
    store
        .run(&["export", "--out", path_str(&dir), "--all", "--force"])
        .ok();
    assert!(
        fs::read_to_string(dir.join("permissions.csv"))
            .unwrap()
            .starts_with("account_id,ods_code")
    );
    assert_eq!(temporary_files(&dir), Vec::<String>::new());

    // A link to a folder is refused; nothing is written where it points.
    let elsewhere = store.dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let link = store.dir.path().join("export-link");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let run = store
        .run(&["export", "--out", path_str(&link), "--force"])
        .fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);

    // A link in place of one of the files is refused too.
    let victim = store.dir.path().join("victim.txt");
    fs::write(&victim, "not yours\n").unwrap();
    fs::remove_file(dir.join("accounts.csv")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("accounts.csv")).unwrap();
    let run = store
        .run(&["export", "--out", path_str(&dir), "--force"])
        .fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not yours\n");
}

/// Runs the binary with `input` on standard input, written by a thread
/// that stops quietly when the binary stops reading.
fn run_piped(
    store: &Store,
    args: &[&str],
    input: impl FnOnce(&mut dyn Write) + Send + 'static,
) -> Run {
    let mut child = Command::new(crate::common::binary())
        .arg("--db")
        .arg(&store.db)
        .args(args)
        .env("CQRS_ADMIN_ACTOR", "test-operator")
        .env("NO_COLOR", "1")
        .current_dir(store.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || input(&mut stdin));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `total` bytes made by `fill` in 64 KiB blocks, until the reader stops.
fn stream(total: usize, fill: u8) -> impl FnOnce(&mut dyn Write) + Send + 'static {
    move |out: &mut dyn Write| {
        let block = vec![fill; 1 << 16];
        let mut left = total;
        while left > 0 {
            let n = left.min(block.len());
            if out.write_all(&block[..n]).is_err() {
                return;
            }
            left -= n;
        }
    }
}

#[test]
fn dev_zero_is_refused_at_once_naming_the_file_and_line() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    for args in [
        vec!["import", "accounts", "/dev/zero"],
        vec!["import", "directory", "/dev/zero"],
        vec!["import", "activity", "/dev/zero", "--dry-run"],
        vec!["replace", "--plan", "/dev/zero", "--yes"],
        vec!["replace", "--plan", "/dev/zero", "--dry-run"],
    ] {
        let run = store.run(&args).fails(1);
        assert!(run.stderr.contains("/dev/zero"), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("line 1: ") && run.stderr.contains("NUL byte"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(store.snapshot(), before);
}

#[test]
fn a_pipe_of_zeros_is_refused_at_once() {
    let store = Store::with_fixtures();
    let before = store.snapshot();
    // 1 GiB: far more than would ever be held; the binary stops at the first byte.
    for args in [
        vec!["import", "accounts", "-"],
        vec!["replace", "--plan", "-", "--yes"],
    ] {
        let run = run_piped(&store, &args, stream(1 << 30, 0));
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("standard input"), "{}", run.stderr);
        assert!(
            run.stderr.contains("line 1: ") && run.stderr.contains("NUL byte"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(store.snapshot(), before);
}

#[test]
fn a_nul_byte_after_good_rows_is_refused_on_its_own_line_from_a_file_or_a_pipe() {
    let store = Store::with_fixtures();
    let good = fs::read_to_string(crate::common::fixture("accounts.csv")).unwrap();
    let lines = good.lines().count();
    let mut bytes = good.into_bytes();
    bytes.extend_from_slice(b"U9,u9,u9@nhs.net,A\0,B,active\n");
    bytes.extend(std::iter::repeat_n(0u8, 4 << 20));
    let file: PathBuf = store.dir.path().join("binary.csv");
    fs::write(&file, &bytes).unwrap();
    let expected = format!("line {}: ", lines + 1);
    let run = store.run(&["import", "accounts", path_str(&file)]).fails(1);
    assert!(
        run.stderr.contains(path_str(&file)) && run.stderr.contains(&expected),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("NUL byte"), "{}", run.stderr);
    let run = run_piped(&store, &["import", "accounts", "-"], move |out| {
        let _ = out.write_all(&bytes);
    });
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&expected) && run.stderr.contains("NUL byte"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_line_that_never_ends_is_refused_from_a_file_or_a_pipe() {
    let store = Store::with_fixtures();
    let file = store.dir.path().join("one-line.csv");
    let mut bytes = b"account_id,username,email,given_name,family_name,status\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 12 << 20));
    fs::write(&file, &bytes).unwrap();
    let run = store.run(&["import", "accounts", path_str(&file)]).fails(1);
    assert!(
        run.stderr.contains("line 2: ") && run.stderr.contains("without a line break"),
        "{}",
        run.stderr
    );
    // From a pipe, 1 GiB of one line: stopped after the first 8 MiB.
    let run = run_piped(&store, &["import", "accounts", "-"], stream(1 << 30, b'a'));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("line 1: ") && run.stderr.contains("without a line break"),
        "{}",
        run.stderr
    );
}
