//! What the audit's unit tests share: directory entries and roles written
//! briefly, and a store holding the bundled fixtures.

use crate::model::{DirectoryEntry, MailboxType, Role, Status};
use crate::store::{RoleView, Store};

pub(super) fn entry(address: &str, given: &str, family: &str, ods: &str) -> DirectoryEntry {
    DirectoryEntry {
        address: address.into(),
        given_name: given.into(),
        family_name: family.into(),
        ods_code: ods.into(),
        status: Status::Active,
        mailbox_type: MailboxType::Personal,
    }
}

pub(super) fn role_at(ods_code: &str) -> RoleView<'_> {
    RoleView {
        ods_code,
        role: Role::View,
    }
}

/// A store with the bundled fixtures imported, as the README's first command does.
pub(super) fn fixture_store() -> (tempfile::TempDir, Store) {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for kind in [
        "organisations",
        "accounts",
        "permissions",
        "directory",
        "activity",
    ] {
        let file = fixtures.join(format!("{kind}.csv"));
        let args = [
            "cqrs-admin",
            "--db",
            db.to_str().unwrap(),
            "import",
            kind,
            file.to_str().unwrap(),
        ];
        crate::run(crate::cli::Cli::try_parse_from(args).unwrap()).unwrap();
    }
    let store = Store::open(&db).unwrap();
    (dir, store)
}
