//! The PostgreSQL store's schema, as an append-only list of migrations
//! (`schema_migrations` records each one applied). The same tables and
//! columns as the SQLite store (`src/store/sqlite/schema.rs`), less the two
//! look-up tables SQLite needs for speed (`account_emails`,
//! `directory_keys`), whose work a key column beside the text does here
//! (`accounts.email_key`, `directory.address_key`: migration 7,
//! lookup_key.rs); plus `change_log.actor_claim`. Each migration's SQL is a file of its own in
//! `migrations/`, included in the binary as written: a migration already
//! applied is never edited (a store checks the functions' bodies against
//! them), only a new one appended.
//!
//! The promises are kept by the database itself, so that a psql session as
//! the owner meets the same refusals as cqrs-admin:
//!
//! - an account's email and id never change (a row trigger `BEFORE UPDATE`,
//!   which `INSERT … ON CONFLICT DO UPDATE` fires too);
//! - accounts and activity are never deleted (`DELETE` refused by a
//!   statement trigger, which fires even when no row matches; `TRUNCATE`
//!   refused unless the table holds no row, which deletes nothing: a
//!   first import truncates the empty table it loads, migration 11);
//! - activity is never changed;
//! - the change log is append-only, and each entry's seq, time, operator
//!   (`session_user`) and hash chain are written by the database (a
//!   `BEFORE INSERT` trigger), whatever the client sent.
//!
//! A re-import needs no suspended trigger here (SQLite's
//! `SUSPENDED_IN_BULK`): PostgreSQL has no `REPLACE`, so the `BEFORE UPDATE`
//! triggers see every row an upsert changes, and a fresh load fires no row
//! trigger at all. The owner (or anyone) can still drop a trigger, as anyone
//! with the SQLite file can; the hash chain shows what was done past it.
//!
//! Text keys are `COLLATE "C"`: byte order, as SQLite's `BINARY`, so that
//! every listing comes out in the same order on both back ends.

/// The schema version this build knows (the number of migrations).
pub fn current_version() -> i32 {
    MIGRATIONS.len() as i32
}

/// The SQLSTATE of every refusal of a promise (class `CQ`, our own), so
/// the tool can tell a refusal from any other error.
pub const REFUSED_SQLSTATE: &str = "CQ001";

/// The advisory lock (`pg_advisory_xact_lock`) under which migrations run,
/// so two first users do not both create the schema: "CQRS".
pub const MIGRATION_LOCK: i64 = 0x4351_5253;

pub const MIGRATIONS: &[&str] = &[
    // 1: the whole schema, as the SQLite store has it after its migration 7.
    include_str!("migrations/001_schema.sql"),
    // 2: operators and their areas (issue 12, item 4), enforced here with
    // grants and row-level security, so that psql under an operator's login
    // sees and may change exactly what cqrs-admin lets it. The owner (and a
    // superuser) owns every table and so is not subject to these policies.
    include_str!("migrations/002_operators.sql"),
    // 3: notify's record, progress snapshots, notes and follow-up states
    // (issues 14 and 15), as the SQLite store's migrations 9 and 10 keep
    // them, with the same promises kept by the database: the record of
    // messages and the notes are append-only (statement triggers refuse
    // UPDATE, DELETE and TRUNCATE, whoever runs them), and the operator of a
    // message, a note or a follow-up is the login, written by the database
    // (`--actor` beside it), as in the change log. Row-level security: the
    // record of messages and the national snapshot are the whole store's
    // (an area operator's report is not the store's, so it neither sends
    // the round nor records a snapshot); an area operator reads the
    // snapshot's rows of its own area (its contacts, and the counts by the
    // organisations accounts hold roles at), and notes and follows up only
    // the accounts it may act on.
    include_str!("migrations/003_records_and_progress.sql"),
    // 4: speed for many rows (issue 12's speed bars), with every promise
    // kept as before. The change log's chain: the newest entry is read once
    // a statement (by the statement trigger that takes the head's lock) and
    // carried from row to row in a transaction-local setting, instead of
    // one look-up of the newest entry a row, which cost more than the hash
    // itself, and whose plan turned into a scan of the log a row when the
    // table's statistics said it was empty (10,000 appends: 85 s). A client
    // could change that setting in the middle of its own INSERT; the
    // statement's entries are checked at its end, all at once (they follow
    // the entry before them, each linked to the one before it), so such a
    // change can only make the INSERT fail, never fork or break the chain.
    // The areas: the functions the row-level security policies call for
    // each row are PL/pgSQL, whose plans are kept for the session (an SQL
    // function that is SECURITY DEFINER is never inlined, and its nested
    // calls were planned again for each row: 37 ms a row); the policies
    // that check each row skip the check for the whole store's operators
    // (`(SELECT cqrs_area())`, once a statement). And accounts keep room
    // on their pages for the update that marks them replaced. (An index on
    // the roles' organisation would save an area operator's statements
    // their scan of every role, but cost the import of 2M roles 5 s and
    // every replacement's roles a second index entry: not added.)
    include_str!("migrations/004_speed.sql"),
    // 5: the kept report and the progress snapshot's accounts compressed
    // with lz4 instead of pglz (issue 12's read bars): the audit that keeps
    // them compressed 14 MB with pglz in 1.1 s (lz4: 0.2 s), and `report`
    // and `signin` read them back in a fifth of the time. A server built
    // without lz4 keeps them uncompressed (0.3 s to write, no slower to
    // read). Values kept before stay as they are until written again.
    include_str!("migrations/005_compression.sql"),
    // 6: `replace --plan`'s speed (issue 12's bar of 20,000 a second): an
    // entry that comes complete (its seq, time, operator and hash, as
    // cqrs-admin's writes now send them) is checked by the database at the
    // statement's end, all at once, instead of rewritten row by row by a
    // PL/pgSQL trigger; `cqrs_change_log_next` tells such a writer where
    // the chain goes on, holding the head. Any other entry is written by
    // the database as before.
    include_str!("migrations/006_replace_speed.sql"),
    // 7: the look-ups by address through
    // bigint keys kept beside the texts (`accounts.email_key`,
    // `directory.address_key`, each the server's own hash of the text's
    // normal form, kept by a trigger) instead of expression indexes on the
    // texts, whose builds were the largest part of a first import (issue
    // 12's import bar; lookup_key.rs has the figures).
    include_str!("migrations/007_lookup_keys.sql"),
    // 8: progress_groups without its primary key on (day, organisations),
    // which cost a national audit's snapshot about a quarter of a second:
    // the day is replaced by delete then insert, the day after updated then
    // inserted, all under the write lock; a BRIN index on the day instead.
    include_str!("migrations/008_progress_groups_by_day.sql"),
    // 9: `replace --plan`'s writes made cheaper (issue 12's bar of 20,000
    // a second): the email's look-up key sent with each new account, its
    // trigger firing only for a row whose key is wrong or missing, and the
    // look-up by a username that is an address leaving out the accounts
    // whose username is their email (found through the email's key).
    include_str!("migrations/009_replace_writes.sql"),
    // 10: the change log's newest entry looked up by dynamic SQL, planned
    // with the log's size at each call, instead of a plan kept from a fresh
    // store whose statistics said the log was empty (a scan of every entry
    // appended so far, twice a batch of a long write).
    include_str!("migrations/010_chain_head_planned_afresh.sql"),
    // 11: accounts and activity may be truncated while they hold no row
    // (a TRUNCATE of a table that holds one is refused as before), so that
    // a first import can load them with `COPY … (FREEZE)`: frozen rows on
    // all-visible pages, which the first command to read them after the
    // import no longer rewrites to set their hint bits, and on which
    // autovacuum finds nothing to do (import.rs).
    include_str!("migrations/011_truncate_when_empty.sql"),
    // 12: the GIN index on the snapshot's groups given a pending list that
    // holds a day's entries, so that keeping a national snapshot no longer
    // merges it into the index inside the audit (about 0.11 s of it).
    include_str!("migrations/012_progress_groups_pending_list.sql"),
];

/// What `operators add` grants a login (and `operators remove` takes
/// back): reading every table the commands read; adding replacement
/// accounts, their roles and change-log entries; changing only an
/// account's status and replacement link; keeping the whole store's report.
/// Row-level security (migration 2) narrows every one of these to the
/// operator's area.
pub const OPERATOR_GRANTS: &[&str] = &[
    "GRANT SELECT ON schema_migrations, settings, organisations, accounts, permissions, \
     directory, activity, report_cache, change_log TO {login}",
    "GRANT INSERT ON accounts, permissions, change_log, settings, report_cache TO {login}",
    "GRANT UPDATE (status, replaced_by) ON accounts TO {login}",
    "GRANT UPDATE ON settings TO {login}",
    "GRANT DELETE ON report_cache TO {login}",
    "GRANT EXECUTE ON FUNCTION cqrs_outside_area(text[]) TO {login}",
    // Migration 6: where the change log goes on, holding its head.
    "GRANT EXECUTE ON FUNCTION cqrs_change_log_next() TO {login}",
    // Migration 3: notify's record, progress, notes and follow-ups.
    "GRANT SELECT, INSERT ON notifications, progress_snapshots, progress_categories, \
     progress_contacts, progress_groups, account_notes, follow_ups TO {login}",
    "GRANT UPDATE, DELETE ON progress_snapshots, progress_categories, progress_contacts, \
     progress_groups, follow_ups TO {login}",
];

/// What `operators remove` takes back.
pub const OPERATOR_REVOKES: &[&str] = &[
    "REVOKE ALL ON schema_migrations, settings, organisations, accounts, permissions, \
     directory, activity, report_cache, change_log FROM {login}",
    "REVOKE EXECUTE ON FUNCTION cqrs_outside_area(text[]) FROM {login}",
    "REVOKE EXECUTE ON FUNCTION cqrs_change_log_next() FROM {login}",
    "REVOKE ALL ON notifications, progress_snapshots, progress_categories, progress_contacts, \
     progress_groups, account_notes, follow_ups FROM {login}",
];

/// The protective triggers (table, trigger) the migrations create, which
/// every check of the store looks for, enabled.
pub const PROTECTIVE_TRIGGERS: &[(&str, &str)] = &[
    ("accounts", "accounts_email_never_changes"),
    ("accounts", "accounts_never_renamed"),
    ("accounts", "accounts_never_deleted"),
    ("accounts", "accounts_never_emptied"),
    ("activity", "activity_never_changed"),
    ("activity", "activity_never_deleted"),
    ("activity", "activity_never_emptied"),
    ("change_log", "change_log_no_update"),
    ("change_log", "change_log_no_delete"),
    ("change_log", "change_log_append"),
    ("change_log", "change_log_lock_head"),
    ("change_log", "change_log_move_head"),
    ("notifications", "notifications_no_update"),
    ("notifications", "notifications_no_delete"),
    ("notifications", "notifications_stamp"),
    ("account_notes", "account_notes_no_update"),
    ("account_notes", "account_notes_no_delete"),
    ("account_notes", "account_notes_stamp"),
    ("follow_ups", "follow_ups_stamp"),
    ("accounts", "accounts_email_key"),
    ("directory", "directory_address_key"),
];

/// The functions the migrations create (name, body between the `$$`), as
/// PostgreSQL keeps them (`pg_proc.prosrc` is the body exactly as written),
/// so a function replaced by one that lets everything through is seen.
pub fn functions() -> Vec<(&'static str, &'static str)> {
    // A later migration's `CREATE OR REPLACE FUNCTION` gives a function its
    // newest body, which is the one the store must hold.
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for sql in MIGRATIONS {
        let mut rest = *sql;
        loop {
            let plain = rest.find("CREATE FUNCTION ");
            let replaced = rest.find("CREATE OR REPLACE FUNCTION ");
            let (at, len) = match (plain, replaced) {
                (Some(p), Some(r)) if r < p => (r, "CREATE OR REPLACE FUNCTION ".len()),
                (Some(p), _) => (p, "CREATE FUNCTION ".len()),
                (None, Some(r)) => (r, "CREATE OR REPLACE FUNCTION ".len()),
                (None, None) => break,
            };
            rest = &rest[at + len..];
            let name = &rest[..rest.find('(').unwrap_or(0)];
            let Some(start) = rest.find("$$") else { break };
            let body_and_rest = &rest[start + 2..];
            let Some(end) = body_and_rest.find("$$") else {
                break;
            };
            let body = &body_and_rest[..end];
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(known) => known.1 = body,
                None => out.push((name, body)),
            }
            rest = &body_and_rest[end + 2..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_and_trigger_is_listed() {
        let names: Vec<&str> = functions().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "cqrs_refuse",
                "cqrs_chain_field",
                "cqrs_entry_hash",
                "cqrs_change_log_append",
                "cqrs_change_log_lock_head",
                "cqrs_change_log_move_head",
                "cqrs_is_owner",
                "cqrs_area",
                "cqrs_area_accounts",
                "cqrs_area_organisations",
                "cqrs_may_act_on",
                "cqrs_may_grant",
                "cqrs_outside_area",
                "cqrs_change_log_links",
                "cqrs_stamp_operator",
                "cqrs_change_log_next",
                "cqrs_lookup_keys",
                "cqrs_refuse_unless_empty"
            ]
        );
        assert!(functions()[0].1.contains("RAISE EXCEPTION"));
        // Migration 4's bodies replace the earlier ones.
        let body = |name: &str| functions().into_iter().find(|(n, _)| *n == name).unwrap().1;
        assert!(body("cqrs_change_log_append").contains("chain_tail"));
        assert!(body("cqrs_may_act_on").contains("WITH RECURSIVE up(code)"));
        for (table, trigger) in PROTECTIVE_TRIGGERS {
            assert!(
                MIGRATIONS.iter().any(|m| (m
                    .contains(&format!("CREATE TRIGGER {trigger}\nBEFORE"))
                    || m.contains(&format!("CREATE TRIGGER {trigger}\nAFTER")))
                    && m.contains(&format!(" ON {table} "))),
                "{trigger}"
            );
        }
    }
}
