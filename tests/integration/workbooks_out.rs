//! Excel workbooks out (issue 13, items 5 and 6): `--format xlsx --out FILE`
//! for audit, report and plan, read back with calamine; a plan edited and
//! saved as Excel would save it, applied by `replace --plan plan.xlsx`; and
//! `report --split-by contact`, one file per contact.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};

use super::common::{FIXTURE_FILES, Store, fixture};
use super::pg_server;

const DATES: &[&str] = &["--today", "2020-09-01", "--cutover", "2020-10-01"];

fn with_dates<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(DATES);
    all
}

/// Every sheet of a workbook, by name in order, each row as its cells'
/// text. A cell that is not text (a number, a formula's value, a date) is
/// a failure: every cell the tool writes is text.
fn sheets(path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    let mut book = calamine::open_workbook_auto(path).expect("a workbook calamine reads");
    let names = book.sheet_names();
    names
        .iter()
        .map(|name| {
            let range = book.worksheet_range(name).expect("sheet");
            let rows = range
                .rows()
                .map(|row| {
                    row.iter()
                        .map(|cell| match cell {
                            Data::String(s) => s.clone(),
                            Data::Empty => String::new(),
                            other => panic!("{name}: a cell that is not text: {other:?}"),
                        })
                        .collect()
                })
                .collect();
            (name.clone(), rows)
        })
        .collect()
}

/// CSV output as its header and rows, in order.
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The sheet's XML inside the workbook (the n-th sheet, from 1).
fn sheet_xml(path: &Path, n: usize) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// Widths of the `<col>` elements of a sheet's XML.
fn column_widths(xml: &str) -> Vec<f64> {
    xml.split("<col ")
        .skip(1)
        .map(|c| {
            let at = c.find("width=\"").expect("a width") + 7;
            let rest = &c[at..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

fn path_text(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn report_xlsx_holds_every_report_row_under_its_section_with_frozen_header_and_filters() {
    let store = Store::with_fixtures();
    let csv = store.run(&with_dates(&["report", "--format", "csv"])).ok();
    let (header, rows) = csv_rows(&csv.stdout);
    assert!(rows.len() > 10, "the fixtures' report has rows");
    let out = store.dir.path().join("report.xlsx");
    let run = store
        .run(&with_dates(&[
            "report",
            "--format",
            "xlsx",
            "--out",
            path_text(&out),
        ]))
        .ok();
    assert!(
        run.stdout.is_empty(),
        "the workbook went to the file: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!("report: {} rows", rows.len())),
        "{}",
        run.stderr
    );
    assert_eq!(super::common::mode(&out), 0o600);
    let book = sheets(&out);
    let names: Vec<&str> = book.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["contact-commissioner", "no-nhsmail", "administrator"]
    );
    let mut seen = 0;
    for (i, (name, sheet)) in book.iter().enumerate() {
        assert_eq!(sheet[0], header, "sheet {name} has the report's columns");
        let expected: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == *name).collect();
        let got: Vec<&Vec<String>> = sheet[1..].iter().collect();
        // calamine drops trailing empty cells of a row's range only at the
        // range's edge; every row is padded to the header's width.
        assert_eq!(
            got, expected,
            "sheet {name} holds exactly its section's rows"
        );
        assert!(!got.is_empty(), "the fixtures have rows in {name}");
        seen += got.len();
        let xml = sheet_xml(&out, i + 1);
        assert!(
            xml.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: the header row is frozen"
        );
        assert!(
            xml.contains(&format!(r#"<autoFilter ref="A1:N{}"/>"#, got.len() + 1)),
            "{name}: filters over the header and every row: {xml}"
        );
        // Every cell is text: no formula, no number.
        assert!(
            !xml.contains("<f>") && !xml.contains("<v>"),
            "{name}: {xml}"
        );
        let widths = column_widths(&xml);
        assert_eq!(widths.len(), header.len(), "every column has a width");
        // The email column is wider than the cutover date's.
        let email = header.iter().position(|h| h == "email").unwrap();
        let cutover = header.iter().position(|h| h == "cutover").unwrap();
        assert!(widths[email] > widths[cutover], "{widths:?}");
        assert!(widths.iter().all(|w| *w <= 64.0), "{widths:?}");
    }
    assert_eq!(seen, rows.len(), "every report row is in the workbook");
}

#[test]
fn report_xlsx_keeps_its_filters_and_a_sheet_for_each_section_asked_for() {
    let store = Store::with_fixtures();
    let out = store.dir.path().join("one.xlsx");
    store
        .run(&with_dates(&[
            "report",
            "--section",
            "no-nhsmail",
            "--contact",
            "00K",
            "--format",
            "xlsx",
            "--out",
            path_text(&out),
        ]))
        .ok();
    let csv = store
        .run(&with_dates(&[
            "report",
            "--section",
            "no-nhsmail",
            "--contact",
            "00K",
            "--format",
            "csv",
        ]))
        .ok();
    let (_, rows) = csv_rows(&csv.stdout);
    let book = sheets(&out);
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].0, "no-nhsmail");
    assert_eq!(book[0].1[1..].to_vec(), rows);
}

/// A store whose first account's given name is a formula.
fn store_with_a_formula_name() -> (Store, &'static str) {
    const FORMULA: &str = r#"=HYPERLINK("http://evil.example/","Gary")"#;
    let store = Store::new();
    for kind in FIXTURE_FILES {
        let mut text = std::fs::read_to_string(fixture(&format!("{kind}.csv"))).unwrap();
        if *kind == "accounts" {
            assert!(text.contains(",Gary,Walker,"));
            text = text.replace(
                ",Gary,Walker,",
                r#","=HYPERLINK(""http://evil.example/"",""Gary"")",Walker,"#,
            );
        }
        let path = store.dir.path().join(format!("{kind}.csv"));
        std::fs::write(&path, text).unwrap();
        store.run(&["import", kind, path_text(&path)]).ok();
    }
    (store, FORMULA)
}

#[test]
fn a_formula_in_the_data_stays_text_in_every_workbook() {
    let (store, formula) = store_with_a_formula_name();
    let dir = store.dir.path();
    let report = dir.join("report.xlsx");
    let audit = dir.join("audit.xlsx");
    store
        .run(&with_dates(&[
            "report",
            "--format",
            "xlsx",
            "--out",
            path_text(&report),
        ]))
        .ok();
    store
        .run(&["audit", "--format", "xlsx", "--out", path_text(&audit)])
        .ok();
    for path in [&report, &audit] {
        let book = sheets(path);
        let cells: Vec<&String> = book
            .iter()
            .flat_map(|(_, rows)| rows.iter().flatten())
            .collect();
        assert!(
            cells.iter().any(|c| c.as_str() == formula),
            "{}: the value is kept exactly, as text",
            path.display()
        );
        for n in 1..=book.len() {
            let xml = sheet_xml(path, n);
            assert!(!xml.contains("<f>"), "no formula in {}", path.display());
        }
    }
    // CSV marks it instead (unchanged).
    let csv = store.run(&["audit", "--format", "csv"]).ok();
    assert!(csv.stdout.contains(&format!("'{}", &formula[..10])));
}

#[test]
fn audit_xlsx_has_the_audit_csv_columns_and_rows() {
    let store = Store::with_fixtures();
    let (header, rows) = csv_rows(&store.run(&["audit", "--format", "csv"]).ok().stdout);
    let out = store.dir.path().join("audit.xlsx");
    let run = store
        .run(&["audit", "--format", "xlsx", "--out", path_text(&out)])
        .ok();
    assert!(
        run.stderr.contains("the audit was written to"),
        "{}",
        run.stderr
    );
    let book = sheets(&out);
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].0, "audit");
    assert_eq!(book[0].1[0], header);
    assert_eq!(book[0].1[1..].to_vec(), rows);
    // --counts: the counts' columns.
    let counts = store.dir.path().join("counts.xlsx");
    store
        .run(&[
            "audit",
            "--counts",
            "--format",
            "xlsx",
            "--out",
            path_text(&counts),
        ])
        .ok();
    let (header, rows) = csv_rows(
        &store
            .run(&["audit", "--counts", "--format", "csv"])
            .ok()
            .stdout,
    );
    let book = sheets(&counts);
    assert_eq!(book[0].0, "counts");
    assert_eq!(book[0].1[0], header);
    assert_eq!(book[0].1[1..].to_vec(), rows);
}

#[test]
fn out_with_the_default_format_takes_its_form_from_the_extension() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let printed = store.run(&["audit", "--format", "csv"]).ok().stdout;
    let csv = dir.join("audit.csv");
    store.run(&["audit", "--out", path_text(&csv)]).ok();
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), printed);
    let json = dir.join("audit.json");
    store.run(&["audit", "--out", path_text(&json)]).ok();
    let printed = store.run(&["audit", "--format", "json"]).ok().stdout;
    assert_eq!(std::fs::read_to_string(&json).unwrap(), printed);
    let xlsx = dir.join("audit.xlsx");
    store.run(&["audit", "--out", path_text(&xlsx)]).ok();
    assert_eq!(sheets(&xlsx)[0].0, "audit");
    // `--out -` is standard output, as if --out were not given.
    let table = store.run(&["audit"]).ok().stdout;
    assert_eq!(store.run(&["audit", "--out", "-"]).ok().stdout, table);
    // The report likewise.
    let report = dir.join("report.csv");
    store
        .run(&with_dates(&["report", "--out", path_text(&report)]))
        .ok();
    let printed = store
        .run(&with_dates(&["report", "--format", "csv"]))
        .ok()
        .stdout;
    assert_eq!(std::fs::read_to_string(&report).unwrap(), printed);
}

#[test]
fn xlsx_without_a_file_or_for_another_command_is_refused() {
    let store = Store::with_fixtures();
    for args in [
        &["report", "--format", "xlsx"][..],
        &["audit", "--format", "xlsx"][..],
    ] {
        let run = store.run(args).fails(1);
        assert!(
            run.stderr
                .contains("--format xlsx writes an Excel workbook")
                && run.stderr.contains("give --out FILE"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let run = store
        .run(&["signin", "sarah.jones@nhs.net", "--format", "xlsx"])
        .fails(1);
    assert!(
        run.stderr
            .contains("which only audit, report and plan make (with --out FILE)"),
        "{}",
        run.stderr
    );
}

#[test]
fn out_dash_pipes_the_workbook_and_refuses_a_terminal() {
    let store = Store::with_fixtures();
    let out = store
        .cmd()
        .args(["report", "--format", "xlsx", "--out", "-"])
        .args(DATES)
        .output()
        .unwrap();
    assert!(out.status.success());
    let piped = store.dir.path().join("piped.xlsx");
    std::fs::write(&piped, &out.stdout).unwrap();
    let file = store.dir.path().join("file.xlsx");
    store
        .run(&with_dates(&[
            "report",
            "--format",
            "xlsx",
            "--out",
            path_text(&file),
        ]))
        .ok();
    assert_eq!(
        sheets(&piped),
        sheets(&file),
        "the same workbook through a pipe"
    );

    // At a terminal (script(1) gives the command one): refused, and no
    // bytes reach the terminal.
    let command = format!(
        "{} --db {} report --format xlsx --out -",
        super::common::binary(),
        store.db.display()
    );
    let Ok(run) = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
    else {
        eprintln!("script(1) is not installed: the terminal case is not checked");
        return;
    };
    let shown = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("--out - would write the workbook's bytes to the terminal"),
        "{shown}"
    );
    assert!(!shown.contains("PK"), "no zip bytes at the terminal");
}

#[test]
fn a_workbook_goes_through_the_safe_writer() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let out = dir.join("report.xlsx");
    std::fs::write(&out, "old").unwrap();
    let run = store
        .run(&["report", "--format", "xlsx", "--out", path_text(&out)])
        .fails(1);
    assert!(
        run.stderr.contains("already exists: add --force"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    store
        .run(&[
            "report",
            "--format",
            "xlsx",
            "--out",
            path_text(&out),
            "--force",
        ])
        .ok();
    assert!(!sheets(&out).is_empty());
    // Never the store, even with --force.
    let before = std::fs::read(&store.db).unwrap();
    let run = store
        .run(&[
            "audit",
            "--format",
            "xlsx",
            "--out",
            path_text(&store.db),
            "--force",
        ])
        .fails(1);
    assert!(
        run.stderr.contains("which it would destroy"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(&store.db).unwrap(), before);
    // Never through a link.
    let target = dir.join("elsewhere.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = dir.join("link.xlsx");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let run = store
        .run(&[
            "plan",
            "--format",
            "xlsx",
            "--out",
            path_text(&link),
            "--force",
        ])
        .fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}

/// The fixtures with numeric account ids (`U0000010` becomes `1000010`),
/// as a CQRS export opened in Excel would have them.
fn store_with_numeric_ids() -> Store {
    let store = Store::new();
    for kind in FIXTURE_FILES {
        let text = std::fs::read_to_string(fixture(&format!("{kind}.csv")))
            .unwrap()
            .replace("U0", "1");
        let path = store.dir.path().join(format!("{kind}.csv"));
        std::fs::write(&path, text).unwrap();
        store.run(&["import", kind, path_text(&path)]).ok();
    }
    store
}

/// Saves `rows` (header first) as a reviewer's Excel would: the first
/// sheet named as given, numbers in `numeric` columns stored as numbers.
fn save_as_excel(path: &Path, sheet: &str, rows: &[Vec<String>], numeric: &[usize]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(n) if r > 0 && numeric.contains(&(c as usize)) => {
                    ws.write_number(r, c, n).unwrap();
                }
                _ if cell.is_empty() => {}
                _ => {
                    ws.write_string(r, c, cell).unwrap();
                }
            }
        }
    }
    book.save(path).unwrap();
}

#[test]
fn a_plan_round_tripped_through_excel_applies() {
    let store = store_with_numeric_ids();
    let dir = store.dir.path();
    let csv_plan = dir.join("plan.csv");
    store.run(&["plan", "--out", path_text(&csv_plan)]).ok();
    let (header, rows) = csv_rows(&std::fs::read_to_string(&csv_plan).unwrap());
    assert!(rows.len() >= 3, "the fixtures propose replacements");
    let plan = dir.join("plan.xlsx");
    let run = store
        .run(&["plan", "--format", "xlsx", "--out", path_text(&plan)])
        .ok();
    assert!(run.stderr.contains("written to"), "{}", run.stderr);
    let book = sheets(&plan);
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].0, "plan");
    assert_eq!(book[0].1[0], header, "the plan's CSV columns");
    assert_eq!(book[0].1[1..].to_vec(), rows, "the plan's CSV rows");
    assert!(
        rows.iter().all(|r| r[0].parse::<u64>().is_ok()),
        "numeric ids"
    );

    // The reviewer gives one row a reason, deletes another, and Excel
    // saves the ids as numbers.
    let mut edited = book[0].1.clone();
    let reason = header.iter().position(|h| h == "reason").unwrap();
    edited[1][reason] = "confirmed by phone".into();
    let dropped = edited.remove(2);
    let edited_path = dir.join("reviewed.xlsx");
    save_as_excel(&edited_path, "Sheet1", &edited, &[0]);
    let raw = sheet_xml(&edited_path, 1);
    assert!(
        raw.contains("<v>"),
        "ids really are numbers in the saved sheet"
    );

    let run = store
        .run(&["replace", "--plan", path_text(&edited_path), "--yes"])
        .ok();
    assert!(!run.stdout.is_empty());
    let log = store.run(&["log", "--format", "csv"]).ok();
    let (log_header, entries) = csv_rows(&log.stdout);
    let old = log_header
        .iter()
        .position(|h| h == "old_account_id")
        .unwrap();
    let why = log_header.iter().position(|h| h == "reason").unwrap();
    let replaced: Vec<&str> = entries.iter().map(|e| e[old].as_str()).collect();
    let mut expected: Vec<&str> = edited[1..].iter().map(|r| r[0].as_str()).collect();
    let mut got = replaced.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "every row left in the plan, and only those");
    assert!(!replaced.contains(&dropped[0].as_str()));
    let first = entries.iter().find(|e| e[old] == edited[1][0]).unwrap();
    assert_eq!(first[why], "confirmed by phone");
}

#[test]
fn a_bad_cell_in_an_edited_plan_is_named_by_sheet_and_cell() {
    let store = store_with_numeric_ids();
    let dir = store.dir.path();
    let plan = dir.join("plan.xlsx");
    store
        .run(&["plan", "--format", "xlsx", "--out", path_text(&plan)])
        .ok();
    let mut rows = sheets(&plan)[0].1.clone();
    // Row 3 of the sheet: a blank address; row 4: an id no account has.
    rows[2][1] = String::new();
    rows[3][0] = "9999999".into();
    let edited = dir.join("reviewed.xlsx");
    save_as_excel(&edited, "Reviewed plan", &rows, &[0]);
    let run = store
        .run(&["replace", "--plan", path_text(&edited), "--yes"])
        .fails(1);
    assert!(
        run.stderr
            .contains("refused, no replacement account was created"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("'Reviewed plan'!B3, column new_email: a value is required here"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("'Reviewed plan'!A4, column account_id"),
        "{}",
        run.stderr
    );
    let log = store.run(&["log", "--format", "csv"]).ok();
    assert_eq!(csv_rows(&log.stdout).1.len(), 0, "nothing was changed");
    // A header missing a column is named too.
    let bad = dir.join("no-email.xlsx");
    let headless: Vec<Vec<String>> = rows
        .iter()
        .map(|r| vec![r[0].clone(), r[2].clone()])
        .collect();
    save_as_excel(&bad, "plan", &headless, &[0]);
    let run = store
        .run(&["replace", "--plan", path_text(&bad), "--yes"])
        .fails(1);
    assert!(
        run.stderr.contains(
            "sheet plan, row 1, column new_email: the required column `new_email` is missing"
        ),
        "{}",
        run.stderr
    );
}

/// The report's CSV rows by contact code.
fn by_contact(rows: &[Vec<String>]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for r in rows {
        out.entry(r[1].clone()).or_default().push(r.clone());
    }
    out
}

#[test]
fn split_by_contact_writes_one_workbook_per_contact_with_exactly_its_rows() {
    let store = Store::with_fixtures();
    let (_, rows) = csv_rows(
        &store
            .run(&with_dates(&["report", "--format", "csv"]))
            .ok()
            .stdout,
    );
    let expected = by_contact(&rows);
    assert!(expected.len() >= 3);
    assert!(expected.contains_key("cqrs-administrator"));
    let folder = store.dir.path().join("for-commissioners");
    let run = store
        .run(&with_dates(&[
            "report",
            "--split-by",
            "contact",
            "--format",
            "xlsx",
            "--out",
            path_text(&folder),
        ]))
        .ok();
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut wanted: Vec<String> = expected.keys().map(|c| format!("{c}.xlsx")).collect();
    wanted.sort();
    assert_eq!(names, wanted, "one file per contact, named by its code");
    for (code, rows) in &expected {
        let file = folder.join(format!("{code}.xlsx"));
        assert_eq!(super::common::mode(&file), 0o600);
        let got: Vec<Vec<String>> = sheets(&file)
            .into_iter()
            .flat_map(|(name, sheet)| {
                sheet[1..]
                    .iter()
                    .inspect(|r| assert_eq!(r[0], name, "{code}: a row under its section"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(&got, rows, "{code}: exactly its rows");
        // The summary names the file and its row count.
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("{code}.xlsx")))
            .unwrap_or_else(|| panic!("{code} in the summary: {}", run.stdout));
        assert!(line.contains(&format!("| {} ", rows.len())), "{line}");
    }
    assert!(
        run.stderr
            .contains(&format!("{} files written", expected.len()))
    );

    // Again: every existing file needs --force, and none is touched.
    let before = std::fs::read(folder.join("00K.xlsx")).unwrap();
    let run = store
        .run(&[
            "report",
            "--split-by",
            "contact",
            "--format",
            "xlsx",
            "--out",
            path_text(&folder),
        ])
        .fails(1);
    assert!(
        run.stderr.contains("already exists: add --force"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(folder.join("00K.xlsx")).unwrap(), before);
    store
        .run(&[
            "report",
            "--split-by",
            "contact",
            "--format",
            "xlsx",
            "--out",
            path_text(&folder),
            "--force",
        ])
        .ok();
}

#[test]
fn split_by_contact_as_csv_keeps_the_filters() {
    let store = Store::with_fixtures();
    let filter = ["--section", "contact-commissioner"];
    let mut args = vec!["report", "--format", "csv"];
    args.extend(filter);
    let printed = store.run(&with_dates(&args)).ok().stdout;
    let (header, rows) = csv_rows(&printed);
    let expected = by_contact(&rows);
    let folder = store.dir.path().join("csv");
    std::fs::create_dir(&folder).unwrap();
    let mut args = vec!["report", "--split-by", "contact", "--format", "csv"];
    args.extend(filter);
    args.extend(["--out", path_text(&folder)]);
    store.run(&with_dates(&args)).ok();
    let count = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(count, expected.len(), "one file per contact of the section");
    for (code, rows) in &expected {
        let text = std::fs::read_to_string(folder.join(format!("{code}.csv"))).unwrap();
        let (h, got) = csv_rows(&text);
        assert_eq!(h, header);
        assert_eq!(&got, rows, "{code}");
        assert!(got.iter().all(|r| r[0] == "contact-commissioner"));
    }
}

#[test]
fn split_by_contact_refuses_what_it_cannot_write() {
    let store = Store::with_fixtures();
    let dir = store.dir.path();
    let folder = dir.join("out");
    let run = store
        .run(&[
            "report",
            "--split-by",
            "contact",
            "--out",
            path_text(&folder),
        ])
        .fails(1);
    assert!(
        run.stderr.contains("add --format xlsx") && run.stderr.contains("--format csv"),
        "{}",
        run.stderr
    );
    assert!(!folder.exists(), "nothing was made");
    // A link to a folder is not a folder.
    let real = dir.join("real");
    std::fs::create_dir(&real).unwrap();
    let link: PathBuf = dir.join("linked");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = store
        .run(&[
            "report",
            "--split-by",
            "contact",
            "--format",
            "csv",
            "--out",
            path_text(&link),
        ])
        .fails(1);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    // A file is not a folder.
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    store
        .run(&[
            "report",
            "--split-by",
            "contact",
            "--format",
            "csv",
            "--out",
            path_text(&file),
        ])
        .fails(1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn report_xlsx_on_postgresql_is_the_sqlite_one() {
    let Some(db) = pg_server::database() else {
        return;
    };
    let sqlite = Store::with_fixtures();
    for kind in FIXTURE_FILES {
        db.run(&["import", kind, path_text(&fixture(&format!("{kind}.csv")))])
            .ok();
    }
    let here = sqlite.dir.path();
    let from_sqlite = here.join("sqlite.xlsx");
    let from_pg = here.join("pg.xlsx");
    sqlite
        .run(&with_dates(&[
            "report",
            "--format",
            "xlsx",
            "--out",
            path_text(&from_sqlite),
        ]))
        .ok();
    db.run(&with_dates(&[
        "report",
        "--format",
        "xlsx",
        "--out",
        path_text(&from_pg),
    ]))
    .ok();
    let pg_book = sheets(&from_pg);
    assert_eq!(pg_book, sheets(&from_sqlite));
    assert!(
        pg_book
            .iter()
            .map(|(_, rows)| rows.len() - 1)
            .sum::<usize>()
            > 10
    );
    // And split by contact.
    let folder = here.join("pg-split");
    db.run(&with_dates(&[
        "report",
        "--split-by",
        "contact",
        "--format",
        "xlsx",
        "--out",
        path_text(&folder),
    ]))
    .ok();
    assert!(
        sheets(&folder.join("00K.xlsx"))
            .iter()
            .any(|(_, r)| r.len() > 1)
    );
}
