//! Files as administrators hold them (issue 13, "Inputs as they come"):
//! Microsoft 365 exports read through `--map`, Microsoft 365's spellings of
//! status and mailbox type, semicolon- and tab-separated files, and Excel
//! workbooks. Each is checked against the plain CSV import of the same
//! data: the same store, row for row.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::common::{FIXTURE_FILES, Store, fixture, write};

/// The `--map` arguments of the Exchange Online mailbox export recipe.
const EXCHANGE_MAP: &[&str] = &[
    "--map",
    "address=UserPrincipalName",
    "--map",
    "given_name=FirstName",
    "--map",
    "family_name=LastName",
    "--map",
    "ods_code=Department",
    "--map",
    "status=AccountEnabled",
    "--map",
    "mailbox_type=RecipientTypeDetails",
];

/// The `--map` arguments of the Entra admin center's user download recipe.
const ENTRA_MAP: &[&str] = &[
    "--map",
    "address=userPrincipalName",
    "--map",
    "given_name=givenName",
    "--map",
    "family_name=surname",
    "--map",
    "ods_code=department",
    "--map",
    "status=accountEnabled",
];

/// The store's data, to compare two stores: its rows, except that a
/// directory entry's look-up key is kept without the line it came from (a
/// file with a line above its header numbers its entries one further on).
fn data(store: &Store) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = store
        .snapshot()
        .into_iter()
        .map(|mut row| {
            // An entry's number is its line in the file it came from, which
            // differs between the two files.
            if row[0] == "directory_keys" {
                row.truncate(2);
            }
            if row[0] == "directory" {
                row.remove(1);
            }
            row
        })
        .collect();
    rows.sort();
    rows
}

/// Nothing was written: no store, or one with no rows.
fn nothing_imported(store: &Store) -> bool {
    !store.db.exists() || store.snapshot().is_empty()
}

fn m365(name: &str) -> String {
    fixture(&format!("m365/{name}"))
        .to_str()
        .unwrap()
        .to_string()
}

/// A store with the fixtures before the directory imported.
fn store_before_directory() -> Store {
    let store = Store::new();
    for kind in ["organisations", "accounts", "permissions"] {
        let file = fixture(&format!("{kind}.csv"));
        store.run(&["import", kind, file.to_str().unwrap()]).ok();
    }
    store
}

fn import_rest(store: &Store) {
    let file = fixture("activity.csv");
    store
        .run(&["import", "activity", file.to_str().unwrap()])
        .ok();
}

/// Imports `file` as the directory with `args`, expecting success.
fn import_directory(store: &Store, file: &str, args: &[&str]) {
    let mut all = vec!["import", "directory", file];
    all.extend_from_slice(args);
    store.run(&all).ok();
}

/// Rewrites a CSV file with another delimiter, quoting as the csv crate does.
fn with_delimiter(path: &Path, delimiter: u8) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    for record in reader.records() {
        writer.write_record(&record.unwrap()).unwrap();
    }
    writer.into_inner().unwrap()
}

#[test]
fn an_exchange_mailbox_export_read_through_map_gives_the_store_of_the_plain_import() {
    let export = std::fs::read_to_string(m365("exchange-mailboxes.csv")).unwrap();
    // The shape Windows PowerShell's Export-Csv writes: a byte-order mark,
    // a #TYPE line above the header, every value quoted.
    assert!(export.starts_with("\u{feff}#TYPE "), "{}", &export[..40]);
    assert!(export.contains("\"RoomMailbox\"") && export.contains("\"EquipmentMailbox\""));

    let plain = Store::with_fixtures();
    let mapped = store_before_directory();
    import_directory(&mapped, &m365("exchange-mailboxes.csv"), EXCHANGE_MAP);
    import_rest(&mapped);
    assert_eq!(data(&mapped), data(&plain));
    assert_eq!(mapped.audit(), plain.audit());
}

#[test]
fn an_entra_user_download_read_through_map_gives_the_store_of_the_plain_import() {
    // The download has no mailbox type, so it holds the personal mailboxes:
    // the plain import to compare with is the fixture's personal mailboxes.
    let mut reader = csv::Reader::from_path(fixture("directory.csv")).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(reader.headers().unwrap()).unwrap();
    let mut people = 0;
    for record in reader.records() {
        let record = record.unwrap();
        if &record[5] != "shared" {
            writer.write_record(&record).unwrap();
            people += 1;
        }
    }
    let plain = store_before_directory();
    let personal = write(&plain, "personal.csv", writer.into_inner().unwrap());
    import_directory(&plain, &personal, &[]);
    import_rest(&plain);

    let mapped = store_before_directory();
    import_directory(&mapped, &m365("entra-users.csv"), ENTRA_MAP);
    import_rest(&mapped);
    assert!(people > 30, "{people}");
    assert_eq!(mapped.snapshot(), plain.snapshot());
    assert_eq!(mapped.audit(), plain.audit());
}

#[test]
fn a_mapped_header_that_is_not_in_the_file_is_named_with_the_headers_found() {
    let store = store_before_directory();
    let before = store.snapshot();
    let file = m365("entra-users.csv");
    let mut args = vec!["import", "directory", file.as_str()];
    args.extend_from_slice(&[
        "--map",
        "address=userPrincipalName",
        "--map",
        "given_name=givenName",
        "--map",
        "family_name=Last Name",
        "--map",
        "ods_code=department",
        "--map",
        "status=accountEnabled",
    ]);
    let run = store.run(&args).fails(1);
    assert!(
        run.stderr.contains(
            "column Last Name (family_name): the header `Last Name` given by `--map family_name=Last Name` is not in the file (found: `userPrincipalName`, `displayName`, `surname`"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("entra-users.csv: refused, nothing was imported")
    );
    assert_eq!(store.snapshot(), before);
}

#[test]
fn a_field_that_is_not_a_column_of_the_file_is_refused_listing_the_columns() {
    let store = store_before_directory();
    let before = store.snapshot();
    let run = store
        .run(&[
            "import",
            "directory",
            &m365("entra-users.csv"),
            "--map",
            "email=userPrincipalName",
        ])
        .fails(1);
    assert!(
        run.stderr.contains(
            "`--map email=userPrincipalName`: `email` is not a column of the directory file; its columns are address, given_name, family_name, ods_code, status, mailbox_type"
        ),
        "{}",
        run.stderr
    );
    let run = store
        .run(&[
            "import",
            "directory",
            &m365("entra-users.csv"),
            "--map",
            "address",
        ])
        .fails(2);
    assert!(run.stderr.contains("is not FIELD=HEADER"), "{}", run.stderr);
    assert_eq!(store.snapshot(), before);
}

#[test]
fn headers_with_spaces_are_mapped_and_problems_name_the_files_header() {
    let plain = Store::new();
    let mapped = Store::new();
    let org = "ods_code,name,kind,parent_code\nY56,London,region,\n07L,Barking,commissioner,Y56\n";
    let mapped_org = "ODS Code ,Organisation name,Type,Parent\nY56,London,region,\n07L,Barking,commissioner,Y56\n";
    let file = write(&plain, "org.csv", org);
    plain.run(&["import", "organisations", &file]).ok();
    let file = write(&mapped, "org.csv", mapped_org);
    mapped
        .run(&[
            "import",
            "organisations",
            &file,
            "--map",
            "ods_code=ODS Code",
            "--map",
            "name=organisation NAME",
            "--map",
            "kind=Type",
            "--map",
            "parent_code=Parent",
        ])
        .ok();
    assert_eq!(mapped.snapshot(), plain.snapshot());

    let before = mapped.snapshot();
    let bad = write(
        &mapped,
        "bad.csv",
        "ODS Code,Organisation name,Type,Parent\nX1,Somewhere,practice,07L\n",
    );
    let run = mapped
        .run(&[
            "import",
            "organisations",
            &bad,
            "--map",
            "ods_code=ODS Code",
            "--map",
            "name=Organisation name",
            "--map",
            "kind=Type",
            "--map",
            "parent_code=Parent",
        ])
        .fails(1);
    assert!(
        run.stderr
            .contains("line 2, column ODS Code (ods_code): `X1` is not an ODS code"),
        "{}",
        run.stderr
    );
    assert_eq!(mapped.snapshot(), before);
}

#[test]
fn microsoft_365_spellings_are_the_same_values_in_any_case() {
    let header = "address,given_name,family_name,ods_code,status,mailbox_type\n";
    let m365 = [
        "ann.lee@nhs.net,Ann,Lee,A81001,True,UserMailbox",
        "bob.ray@nhs.net,Bob,Ray,A81001,FALSE,usermailbox",
        "cat.fox@nhs.net,Cat,Fox,A81001,enabled,SharedMailbox",
        "dan.orr@nhs.net,Dan,Orr,A81001,Disabled,ROOMMAILBOX",
        "eve.gill@nhs.net,Eve,Gill,A81001,true,EquipmentMailbox",
    ];
    let plain = [
        "ann.lee@nhs.net,Ann,Lee,A81001,active,personal",
        "bob.ray@nhs.net,Bob,Ray,A81001,disabled,personal",
        "cat.fox@nhs.net,Cat,Fox,A81001,active,shared",
        "dan.orr@nhs.net,Dan,Orr,A81001,disabled,shared",
        "eve.gill@nhs.net,Eve,Gill,A81001,active,shared",
    ];
    let a = Store::new();
    let b = Store::new();
    let fa = write(&a, "d.csv", format!("{header}{}\n", m365.join("\n")));
    let fb = write(&b, "d.csv", format!("{header}{}\n", plain.join("\n")));
    a.run(&["import", "directory", &fa]).ok();
    b.run(&["import", "directory", &fb]).ok();
    assert_eq!(a.snapshot(), b.snapshot());

    // An account's status too.
    let accounts = "account_id,username,email,given_name,family_name,status\n";
    let fa = write(
        &a,
        "a.csv",
        format!(
            "{accounts}U1,ann,ann.lee@nhs.net,Ann,Lee,TRUE\nU2,bob,bob@x.org,Bob,Ray,Disabled\n"
        ),
    );
    let fb = write(
        &b,
        "a.csv",
        format!(
            "{accounts}U1,ann,ann.lee@nhs.net,Ann,Lee,active\nU2,bob,bob@x.org,Bob,Ray,disabled\n"
        ),
    );
    a.run(&["import", "accounts", &fa]).ok();
    b.run(&["import", "accounts", &fb]).ok();
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn other_mailbox_types_and_statuses_are_refused_naming_the_accepted_spellings() {
    let store = Store::new();
    let file = write(
        &store,
        "d.csv",
        "address,given_name,family_name,ods_code,status,mailbox_type\n\
         ann.lee@nhs.net,Ann,Lee,A81001,Yes,MailUser\n",
    );
    let run = store.run(&["import", "directory", &file]).fails(1);
    assert!(
        run.stderr.contains(
            "line 2, column status: `Yes` is not one of the accepted values: active, disabled, or as Microsoft 365 writes them: True, False, Enabled, Disabled"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "line 2, column mailbox_type: `MailUser` is not one of the accepted values: personal, shared, or as Exchange Online writes them: UserMailbox (personal), SharedMailbox, RoomMailbox, EquipmentMailbox (shared)"
        ),
        "{}",
        run.stderr
    );
    assert!(nothing_imported(&store));
}

#[test]
fn a_status_column_that_is_true_when_disabled_is_refused() {
    let store = Store::new();
    let file = write(
        &store,
        "d.csv",
        "UserPrincipalName,FirstName,LastName,Department,AccountDisabled\n\
         ann.lee@nhs.net,Ann,Lee,A81001,False\n",
    );
    let run = store
        .run(&[
            "import",
            "directory",
            &file,
            "--map",
            "address=UserPrincipalName",
            "--map",
            "given_name=FirstName",
            "--map",
            "family_name=LastName",
            "--map",
            "ods_code=Department",
            "--map",
            "status=AccountDisabled",
        ])
        .fails(1);
    assert!(
        run.stderr
            .contains("`AccountDisabled` is True for an account that is disabled"),
        "{}",
        run.stderr
    );
    assert!(nothing_imported(&store));
}

#[test]
fn semicolon_and_tab_separated_files_are_read_as_their_comma_separated_twins() {
    let plain = Store::with_fixtures();
    for delimiter in [b';', b'\t'] {
        let store = Store::new();
        for kind in FIXTURE_FILES {
            let bytes = with_delimiter(&fixture(&format!("{kind}.csv")), delimiter);
            // The rewritten file really is separated otherwise.
            assert!(bytes.contains(&delimiter));
            let file = write(&store, &format!("{kind}.txt"), bytes);
            store.run(&["import", kind, &file]).ok();
        }
        assert_eq!(store.snapshot(), plain.snapshot(), "{}", delimiter as char);
    }
}

#[test]
fn a_semicolon_separated_files_problems_say_how_it_was_read() {
    let store = Store::new();
    let file = write(
        &store,
        "a.csv",
        "account_id;username;email;given_name;family_name;status\nU1;ann;a@x.org;Ann;Lee;active;extra\n",
    );
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(
        run.stderr.contains(
            "line 2: this row has 7 fields but the header has 6: check for a missing or extra semicolon"
        ),
        "{}",
        run.stderr
    );
    let file = write(&store, "b.csv", "id;user;mail\nU1;ann;a@x.org\n");
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(
        run.stderr.contains(
            "the required column `account_id` is missing from the header (found: `id`, `user`, `mail`) (the file was read as separated by semicolons)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_separated_otherwise_is_refused_saying_what_was_found() {
    let store = Store::new();
    let file = write(
        &store,
        "a.csv",
        "account_id|username|email|given_name|family_name|status\nU1|ann|a@x.org|Ann|Lee|active\n",
    );
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(run.stderr.contains("(1 problem)"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "line 1: the header is read as one column, `account_id|username|email|given_name|fam...`, with 5 `|` in it that may separate the values, so the required columns (account_id, username, email, given_name, family_name, status) are not found: save the file separated by commas (in Excel: \"CSV UTF-8\"), semicolons or tabs"
        ),
        "{}",
        run.stderr
    );
    assert!(nothing_imported(&store));
}

/// Writes a CSV file as a one-sheet workbook named `sheet`, the way a
/// person's spreadsheet holds it: dates (`YYYY-MM-DD`) in date cells,
/// whole numbers in number cells, the rest as text.
fn xlsx_from_csv(csv_path: &Path, sheet: &str, out: &Path) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(csv_path)
        .unwrap();
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = workbook.add_worksheet();
    ws.set_name(sheet).unwrap();
    for (r, record) in reader.records().enumerate() {
        for (c, value) in record.unwrap().iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            let v = value.trim();
            let is_date = v.len() == 10
                && v.as_bytes()[4] == b'-'
                && v.as_bytes()[7] == b'-'
                && v.bytes().filter(u8::is_ascii_digit).count() == 8;
            if r > 0 && is_date {
                let d = ExcelDateTime::parse_from_str(v).unwrap();
                ws.write_datetime_with_format(r, c, &d, &date).unwrap();
            } else if r > 0
                && !v.is_empty()
                && v.len() < 15
                && v.bytes().all(|b| b.is_ascii_digit())
                && !v.starts_with('0')
            {
                ws.write_number(r, c, v.parse::<f64>().unwrap()).unwrap();
            } else {
                ws.write_string(r, c, value).unwrap();
            }
        }
    }
    workbook.save(out).unwrap();
}

fn xlsx(store: &Store, name: &str, build: impl FnOnce(&mut Workbook)) -> String {
    let mut workbook = Workbook::new();
    build(&mut workbook);
    let path = store.dir.path().join(name);
    workbook.save(&path).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_five_files_as_workbooks_give_the_store_of_the_csv_files() {
    let plain = Store::with_fixtures();
    let store = Store::new();
    for kind in FIXTURE_FILES {
        let out = store.dir.path().join(format!("{kind}.xlsx"));
        xlsx_from_csv(&fixture(&format!("{kind}.csv")), kind, &out);
        store.run(&["import", kind, out.to_str().unwrap()]).ok();
    }
    assert_eq!(store.snapshot(), plain.snapshot());
    assert_eq!(store.audit(), plain.audit());
}

#[test]
fn a_bad_cell_is_named_by_sheet_row_and_cell_and_nothing_is_imported() {
    let store = Store::new();
    let file = xlsx(&store, "accounts.xlsx", |wb| {
        let ws = wb.add_worksheet();
        ws.set_name("accounts").unwrap();
        let header = [
            "account_id",
            "username",
            "email",
            "given_name",
            "family_name",
            "status",
        ];
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        let rows = [
            ["U1", "ann", "ann@x.org", "Ann", "Lee", "active"],
            ["U2", "bob", "bob@x.org", "Bob", "Ray", "active"],
            ["U3", "cat", "cat@x.org", "Cat", "Fox", "maybe"],
            ["U4", "dan", "dan@x.org", "", "Orr", "active"],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    });
    let run = store.run(&["import", "accounts", &file]).fails(1);
    assert!(
        run.stderr
            .contains("accounts.xlsx: refused, nothing was imported (2 problems):"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "  accounts!F4, column status: `maybe` is not one of the accepted values: active, disabled"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  accounts!D5, column given_name: a value is required here"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Fix the workbook and import it again."));
    assert!(nothing_imported(&store));
}

#[test]
fn a_workbooks_missing_or_mapped_columns_are_named_by_sheet_and_row() {
    let store = Store::new();
    let file = xlsx(&store, "GP list.xlsx", |wb| {
        let ws = wb.add_worksheet();
        ws.set_name("GP list").unwrap();
        // A title row left blank, then the header on row 2 from column B.
        for (c, h) in ["Practice code", "Name", "kind", "parent_code"]
            .iter()
            .enumerate()
        {
            ws.write_string(1, c as u16 + 1, *h).unwrap();
        }
        for (c, v) in ["A8100", "X", "practice", "07L"].iter().enumerate() {
            ws.write_string(2, c as u16 + 1, *v).unwrap();
        }
        for (c, v) in ["A81001!", "Y", "practice", "07L"].iter().enumerate() {
            ws.write_string(3, c as u16 + 1, *v).unwrap();
        }
    });
    let run = store
        .run(&[
            "import",
            "organisations",
            &file,
            "--map",
            "ods_code=Practice Code",
        ])
        .fails(1);
    assert!(
        run.stderr.contains(
            "'GP list'!B4, column Practice Code (ods_code): `A81001!` is not an ODS code"
        ),
        "{}",
        run.stderr
    );
    let run = store
        .run(&["import", "organisations", &file, "--map", "ods_code=ODS"])
        .fails(1);
    assert!(
        run.stderr.contains(
            "sheet GP list, row 2, column ODS (ods_code): the header `ODS` given by `--map ods_code=ODS` is not in the file (found: `Practice code`, `Name`, `kind`, `parent_code`)"
        ),
        "{}",
        run.stderr
    );
    assert!(nothing_imported(&store));
}

#[test]
fn sheet_chooses_the_sheet_and_an_unknown_sheet_is_refused_listing_them() {
    let store = Store::new();
    let file = xlsx(&store, "book.xlsx", |wb| {
        let notes = wb.add_worksheet();
        notes.set_name("Notes").unwrap();
        notes.write_string(0, 0, "exported by hand").unwrap();
        let orgs = wb.add_worksheet();
        orgs.set_name("Organisations").unwrap();
        for (c, h) in ["ods_code", "name", "kind", "parent_code"]
            .iter()
            .enumerate()
        {
            orgs.write_string(0, c as u16, *h).unwrap();
        }
        for (c, v) in ["Y56", "London", "region", ""].iter().enumerate() {
            orgs.write_string(1, c as u16, *v).unwrap();
        }
    });
    let run = store.run(&["import", "organisations", &file]).fails(1);
    assert!(
        run.stderr.contains(
            "sheet Notes, row 1, column ods_code: the required column `ods_code` is missing"
        ),
        "{}",
        run.stderr
    );
    let run = store
        .run(&["import", "organisations", &file, "--sheet", "Summary"])
        .fails(1);
    assert!(
        run.stderr.contains(
            "book.xlsx has no sheet `Summary`; its sheets are `Notes`, `Organisations`: give one of them with --sheet"
        ),
        "{}",
        run.stderr
    );
    assert!(nothing_imported(&store));
    store
        .run(&["import", "organisations", &file, "--sheet", "organisations"])
        .ok();
    let plain = Store::new();
    let csv = write(
        &plain,
        "o.csv",
        "ods_code,name,kind,parent_code\nY56,London,region,\n",
    );
    plain.run(&["import", "organisations", &csv]).ok();
    assert_eq!(store.snapshot(), plain.snapshot());

    let run = plain
        .run(&["import", "organisations", &csv, "--sheet", "Organisations"])
        .fails(1);
    assert!(
        run.stderr.contains("is not one: it is read as CSV"),
        "{}",
        run.stderr
    );
}

#[test]
fn codes_ids_and_dates_in_cells_are_read_as_the_csv_checks_expect() {
    let store = Store::new();
    let orgs = xlsx(&store, "orgs.xlsx", |wb| {
        let ws = wb.add_worksheet();
        for (c, h) in ["ods_code", "name", "kind", "parent_code"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in [
            ["Y56", "London", "region", ""],
            ["00K", "Hartlepool", "commissioner", "Y56"],
        ]
        .iter()
        .enumerate()
        {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    });
    store.run(&["import", "organisations", &orgs]).ok();
    let accounts = xlsx(&store, "accounts.xlsx", |wb| {
        let ws = wb.add_worksheet();
        let header = [
            "account_id",
            "username",
            "email",
            "given_name",
            "family_name",
            "status",
            "created_at",
            "last_login_at",
        ];
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        let date = Format::new().set_num_format("dd/mm/yyyy");
        let when = Format::new().set_num_format("dd/mm/yyyy hh:mm");
        ws.write_number(1, 0, 12).unwrap();
        ws.write_number(1, 1, 1234567890123.0).unwrap();
        ws.write_string(1, 2, "ann@x.org").unwrap();
        ws.write_string(1, 3, "Ann").unwrap();
        ws.write_string(1, 4, "Lee").unwrap();
        ws.write_boolean(1, 5, true).unwrap();
        ws.write_datetime_with_format(1, 6, ExcelDateTime::from_ymd(2014, 4, 1).unwrap(), &date)
            .unwrap();
        let at = ExcelDateTime::from_ymd(2020, 9, 23)
            .unwrap()
            .and_hms(10, 0, 0)
            .unwrap();
        ws.write_datetime_with_format(1, 7, at, &when).unwrap();
    });
    store.run(&["import", "accounts", &accounts]).ok();

    let plain = Store::new();
    let o = write(
        &plain,
        "o.csv",
        "ods_code,name,kind,parent_code\nY56,London,region,\n00K,Hartlepool,commissioner,Y56\n",
    );
    plain.run(&["import", "organisations", &o]).ok();
    let a = write(
        &plain,
        "a.csv",
        "account_id,username,email,given_name,family_name,status,created_at,last_login_at\n\
         12,1234567890123,ann@x.org,Ann,Lee,true,2014-04-01,2020-09-23T10:00:00\n",
    );
    plain.run(&["import", "accounts", &a]).ok();
    assert_eq!(store.snapshot(), plain.snapshot());
    let rows = store.snapshot();
    let account = rows.iter().find(|r| r[0] == "accounts").unwrap();
    assert!(account.iter().any(|v| v == "Text(\"12\")"), "{account:?}");
    assert!(!account.iter().any(|v| v.contains("12.0")), "{account:?}");
    assert!(
        account.iter().any(|v| v.contains("2014-04-01")),
        "{account:?}"
    );
}

#[test]
fn a_workbook_is_read_from_standard_input_and_by_content_whatever_its_name() {
    let store = Store::new();
    let out = store.dir.path().join("organisations.csv");
    xlsx_from_csv(&fixture("organisations.csv"), "organisations", &out);
    let bytes = std::fs::read(&out).unwrap();
    let run = store
        .cmd()
        .args(["import", "organisations", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let from_stdin = store.snapshot();
    let named_csv = Store::new();
    named_csv
        .run(&["import", "organisations", out.to_str().unwrap()])
        .ok();
    let plain = Store::new();
    plain
        .run(&[
            "import",
            "organisations",
            fixture("organisations.csv").to_str().unwrap(),
        ])
        .ok();
    assert_eq!(from_stdin, plain.snapshot());
    assert_eq!(named_csv.snapshot(), plain.snapshot());
}

/// How long a 100,000-row accounts sheet takes to import (not a check: run
/// with `cargo test --release --test integration -- --ignored
/// hundred_thousand --nocapture`; `CQRS_ADMIN_KEEP_SHEET=FILE` keeps the
/// sheet).
#[test]
#[ignore]
fn hundred_thousand_row_sheet_timing() {
    let store = Store::new();
    let path: PathBuf = store.dir.path().join("accounts.xlsx");
    let started = std::time::Instant::now();
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    let header = [
        "account_id",
        "username",
        "email",
        "given_name",
        "family_name",
        "status",
        "created_at",
        "last_login_at",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let created = ExcelDateTime::from_ymd(2014, 4, 1).unwrap();
    for i in 1..=100_000u32 {
        ws.write_string(i, 0, format!("U{i:07}")).unwrap();
        ws.write_string(i, 1, format!("user{i}")).unwrap();
        ws.write_string(i, 2, format!("user{i}@nhs.net")).unwrap();
        ws.write_string(i, 3, "Ann").unwrap();
        ws.write_string(i, 4, format!("Lee{i}")).unwrap();
        ws.write_string(i, 5, "active").unwrap();
        ws.write_datetime_with_format(i, 6, &created, &date)
            .unwrap();
    }
    workbook.save(&path).unwrap();
    let written = started.elapsed();
    // To time another build on the same sheet (a release binary).
    if let Some(keep) = std::env::var_os("CQRS_ADMIN_KEEP_SHEET") {
        std::fs::copy(&path, keep).unwrap();
    }
    let started = std::time::Instant::now();
    store
        .run(&["import", "accounts", path.to_str().unwrap()])
        .ok();
    eprintln!(
        "100,000-row sheet ({} bytes): written in {:?}, imported in {:?}",
        std::fs::metadata(&path).unwrap().len(),
        written,
        started.elapsed()
    );
}

/// An OpenDocument spreadsheet (`.ods`, as LibreOffice saves it) of one
/// sheet: `rows` of cells, each `("string" | "float" | "date", value)`.
fn ods(path: &Path, sheet: &str, rows: &[Vec<(&str, &str)>]) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>"#,
    );
    content.push_str(&format!(r#"<table:table table:name="{sheet}">"#));
    for row in rows {
        content.push_str("<table:table-row>");
        for (kind, value) in row {
            let attribute = match *kind {
                "float" => format!(r#" office:value="{value}""#),
                "date" => format!(r#" office:date-value="{value}""#),
                _ => String::new(),
            };
            content.push_str(&format!(
                r#"<table:table-cell office:value-type="{kind}"{attribute}><text:p>{value}</text:p></table:table-cell>"#
            ));
        }
        content.push_str("</table:table-row>");
    }
    content.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    zip.start_file("content.xml", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
}

#[test]
fn an_opendocument_spreadsheet_is_read_with_its_numbers_and_dates() {
    let store = Store::new();
    let s = |v| ("string", v);
    let orgs = store.dir.path().join("orgs.ods");
    ods(
        &orgs,
        "organisations",
        &[
            vec![s("ods_code"), s("name"), s("kind"), s("parent_code")],
            vec![s("Y56"), s("London"), s("region"), s("")],
            vec![s("00K"), s("Hartlepool"), s("commissioner"), s("Y56")],
        ],
    );
    store
        .run(&["import", "organisations", orgs.to_str().unwrap()])
        .ok();
    let accounts = store.dir.path().join("accounts.ods");
    let header = [
        "account_id",
        "username",
        "email",
        "given_name",
        "family_name",
        "status",
        "created_at",
    ];
    ods(
        &accounts,
        "accounts",
        &[
            header.iter().map(|h| s(h)).collect(),
            vec![
                ("float", "12"),
                s("ann"),
                s("ann@x.org"),
                s("Ann"),
                s("Lee"),
                s("active"),
                ("date", "2014-04-01"),
            ],
            vec![
                s("U2"),
                s("bob"),
                s("bob@x.org"),
                s("Bob"),
                s("Ray"),
                s("maybe"),
                ("date", "2015-06-12"),
            ],
        ],
    );
    let path = accounts.to_str().unwrap();
    let run = store.run(&["import", "accounts", path]).fails(1);
    assert!(
        run.stderr
            .contains("accounts!F3, column status: `maybe` is not one of the accepted values"),
        "{}",
        run.stderr
    );
    ods(
        &accounts,
        "accounts",
        &[
            header.iter().map(|h| s(h)).collect(),
            vec![
                ("float", "12"),
                s("ann"),
                s("ann@x.org"),
                s("Ann"),
                s("Lee"),
                s("active"),
                ("date", "2014-04-01"),
            ],
        ],
    );
    store.run(&["import", "accounts", path]).ok();

    let plain = Store::new();
    let o = write(
        &plain,
        "o.csv",
        "ods_code,name,kind,parent_code\nY56,London,region,\n00K,Hartlepool,commissioner,Y56\n",
    );
    plain.run(&["import", "organisations", &o]).ok();
    let a = write(
        &plain,
        "a.csv",
        "account_id,username,email,given_name,family_name,status,created_at\n\
         12,ann,ann@x.org,Ann,Lee,active,2014-04-01\n",
    );
    plain.run(&["import", "accounts", &a]).ok();
    assert_eq!(store.snapshot(), plain.snapshot());
}
