//! The CSV reader alone, for every file layout: whatever the bytes, opening
//! and reading every row never panics, line numbers never go backwards, and
//! every value read is text trimmed of ASCII whitespace.

#![no_main]

use cqrs_admin::input::{Column, CsvFile};
use libfuzzer_sys::fuzz_target;

macro_rules! columns {
    ($($name:literal $req:literal),+ $(,)?) => {
        &[$(Column { name: $name, required: $req }),+]
    };
}

const LAYOUTS: &[&[Column]] = &[
    columns!["ods_code" true, "name" true, "kind" true, "parent_code" false, "contact_email" false],
    columns![
        "account_id" true, "username" true, "email" true, "given_name" true,
        "family_name" true, "status" true, "created_at" false, "last_login_at" false
    ],
    columns!["account_id" true, "ods_code" true, "role" true, "payment_types" false],
    columns![
        "address" true, "given_name" true, "family_name" true, "ods_code" true,
        "status" true, "mailbox_type" false
    ],
    columns![
        "activity_id" true, "ods_code" true, "account_id" true, "kind" true,
        "occurred_at" true, "detail" false
    ],
];

fuzz_target!(|data: &[u8]| {
    for layout in LAYOUTS {
        let Ok(opened) = CsvFile::open(data, layout) else {
            continue;
        };
        let Ok(mut file) = opened else {
            continue;
        };
        let mut last_line = 0;
        while let Some(row) = file.next_row() {
            assert!(row.line >= last_line, "lines go backwards");
            last_line = row.line;
            for i in 0..layout.len() {
                let value = row.get(i);
                assert_eq!(
                    value,
                    cqrs_admin::input::trim_ascii(value),
                    "an untrimmed value"
                );
                assert!(value.len() <= cqrs_admin::input::MAX_FIELD_BYTES);
            }
        }
        for problem in &file.problems {
            assert!(!problem.message.is_empty());
        }
    }
});
