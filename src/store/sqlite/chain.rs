//! The hash chain and the protective triggers in an SQLite store: appending
//! entries with their hashes, chaining a log that had none (schema migration
//! 6), and checking both (`crate::store::chain` defines the encoding).

use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension, params};

use super::many_rows::insert_rows;
use super::raw::Value;
use super::schema;
use crate::store::chain::{EntryContent, GENESIS, HEAD_KEY, Tampering, entry_hash, judge_head};

/// One entry to append: the content without its seq (the next one is used).
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub old_account_id: Option<&'a str>,
    pub new_account_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// The newest entry's seq and hash, as the log holds it.
fn last_entry(conn: &Connection) -> rusqlite::Result<Option<(i64, Option<String>)>> {
    conn.prepare_cached("SELECT seq, hash FROM change_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Appends entries to the log, chained, inside the caller's transaction,
/// and moves the head. The hashes are computed here and the entries
/// inserted many to a statement (`many_rows`): a long plan appends one or
/// two entries per replacement.
pub fn append(conn: &Connection, entries: &[NewEntry<'_>]) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (first_seq, genesis) = match last_entry(conn)? {
        Some((seq, hash)) => (seq + 1, hash.unwrap_or_else(|| GENESIS.to_string())),
        None => (1, GENESIS.to_string()),
    };
    // Each entry's hash, in order: entry i follows the hash before it.
    let mut hashes: Vec<String> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let prev = if i == 0 { &genesis } else { &hashes[i - 1] };
        let hash = entry_hash(
            prev,
            &EntryContent {
                seq: first_seq + i as i64,
                at: e.at,
                actor: e.actor,
                action: e.action,
                old_account_id: e.old_account_id,
                new_account_id: e.new_account_id,
                email: e.email,
                reason: e.reason,
                actor_claim: None,
            },
        );
        hashes.push(hash);
    }
    fn text(v: Option<&str>) -> Value<'_> {
        v.map_or(Value::Null, Value::Text)
    }
    let mut values = Vec::with_capacity(entries.len() * 10);
    for (i, e) in entries.iter().enumerate() {
        let prev = if i == 0 { &genesis } else { &hashes[i - 1] };
        values.extend([
            Value::Integer(first_seq + i as i64),
            Value::Text(e.at),
            Value::Text(e.actor),
            Value::Text(e.action),
            text(e.old_account_id),
            text(e.new_account_id),
            text(e.email),
            text(e.reason),
            Value::Text(prev),
            Value::Text(&hashes[i]),
        ]);
    }
    insert_rows(
        conn,
        "INSERT OR ROLLBACK INTO change_log (seq, at, actor, action, old_account_id,
                                             new_account_id, email, reason, prev_hash, hash)
         VALUES",
        10,
        &values,
    )?;
    let last_seq = first_seq + entries.len() as i64 - 1;
    set_head(conn, last_seq, &hashes[entries.len() - 1])
}

pub(super) fn set_head(conn: &Connection, seq: i64, hash: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![HEAD_KEY, format!("{seq}:{hash}")])?;
    Ok(())
}

/// An entry as read from an older store, before it is chained.
struct StoredEntry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    old_account_id: Option<String>,
    new_account_id: Option<String>,
    email: Option<String>,
    reason: Option<String>,
}

impl StoredEntry {
    fn content(&self) -> EntryContent<'_> {
        EntryContent {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            old_account_id: self.old_account_id.as_deref(),
            new_account_id: self.new_account_id.as_deref(),
            email: self.email.as_deref(),
            reason: self.reason.as_deref(),
            actor_claim: None,
        }
    }
}

/// Chains the entries an older store holds (migration 6), in seq order.
pub fn chain_existing(conn: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<StoredEntry> = conn
        .prepare(
            "SELECT seq, at, actor, action, old_account_id, new_account_id, email, reason
             FROM change_log ORDER BY seq",
        )?
        .query_map([], |r| {
            Ok(StoredEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                old_account_id: r.get(4)?,
                new_account_id: r.get(5)?,
                email: r.get(6)?,
                reason: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut update =
        conn.prepare("UPDATE change_log SET prev_hash = ?2, hash = ?3 WHERE seq = ?1")?;
    let mut prev = GENESIS.to_string();
    for entry in &rows {
        let hash = entry_hash(&prev, &entry.content());
        update.execute(params![entry.seq, prev, hash])?;
        prev = hash;
    }
    if let Some(last) = rows.last() {
        set_head(conn, last.seq, &prev)?;
    }
    Ok(())
}

/// The triggers (name and SQL) that a store made by these migrations has.
fn expected_triggers() -> &'static [(String, String)] {
    static EXPECTED: OnceLock<Vec<(String, String)>> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        // The migrations applied to an empty database in memory: the
        // expected texts are exactly what the migrations wrote.
        let build = || -> rusqlite::Result<Vec<(String, String)>> {
            let conn = Connection::open_in_memory()?;
            super::register(&conn)?;
            for sql in schema::MIGRATIONS {
                conn.execute_batch(sql)?;
            }
            triggers(&conn)
        };
        build().unwrap_or_default()
    })
}

fn triggers(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare(
        "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Missing, altered and added triggers. Cheap: one read of the schema.
pub fn check_triggers(conn: &Connection) -> rusqlite::Result<Vec<Tampering>> {
    let found = triggers(conn)?;
    let expected = expected_triggers();
    let mut out = Vec::new();
    for (name, sql) in expected {
        match found.iter().find(|(n, _)| n == name) {
            None => out.push(Tampering::TriggerMissing(name.clone())),
            Some((_, s)) if s != sql => out.push(Tampering::TriggerAltered(name.clone())),
            Some(_) => {}
        }
    }
    for (name, _) in &found {
        if !expected.iter().any(|(n, _)| n == name) {
            out.push(Tampering::TriggerAdded(name.clone()));
        }
    }
    Ok(out)
}

/// Every break in the chain, reading the whole log once.
pub fn check_chain(conn: &Connection) -> rusqlite::Result<Vec<Tampering>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, old_account_id, new_account_id, email, reason,
                prev_hash, hash, actor_claim
         FROM change_log ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    // The hash the next entry must name: the previous entry's as it should
    // be, so an edited entry is reported once, and the entry after it only if
    // its own link was changed too.
    let mut expected_prev = GENESIS.to_string();
    let mut last = None;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let text = |i: usize| -> rusqlite::Result<Option<&str>> {
            Ok(r.get_ref(i)?.as_str_or_null().ok().flatten())
        };
        let content = EntryContent {
            seq,
            at: text(1)?.unwrap_or(""),
            actor: text(2)?.unwrap_or(""),
            action: text(3)?.unwrap_or(""),
            old_account_id: text(4)?,
            new_account_id: text(5)?,
            email: text(6)?,
            reason: text(7)?,
            actor_claim: text(10)?,
        };
        let prev = text(8)?;
        let hash = text(9)?;
        if prev != Some(expected_prev.as_str()) {
            out.push(Tampering::ChainBroken(seq));
        }
        let computed = entry_hash(prev.unwrap_or(GENESIS), &content);
        if hash != Some(computed.as_str()) {
            out.push(Tampering::EntryEdited(seq));
        }
        expected_prev = hash.map_or(computed, str::to_string);
        last = Some((seq, expected_prev.clone()));
    }
    let head = super::setting(conn, HEAD_KEY)?;
    judge_head(head.as_deref(), last.as_ref(), &mut out);
    Ok(out)
}

/// The newest entry's seq and hash, for `verify` to print.
pub fn head(conn: &Connection) -> rusqlite::Result<Option<(i64, String)>> {
    Ok(last_entry(conn)?.map(|(s, h)| (s, h.unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn migrated() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        super::super::register(&conn).unwrap();
        for sql in schema::MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        conn
    }

    #[test]
    fn the_expected_triggers_are_every_protective_trigger() {
        let names: Vec<&str> = expected_triggers()
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        for name in [
            "accounts_email_never_changes",
            "accounts_never_deleted",
            "accounts_email_never_replaced",
            "accounts_never_renamed",
            "account_emails_never_change",
            "account_emails_never_deleted",
            "activity_never_deleted",
            "activity_never_replaced",
            "activity_never_changed",
            "change_log_no_update",
            "change_log_no_delete",
            "change_log_no_replace",
            "account_notes_no_update",
            "account_notes_no_delete",
            "account_notes_no_replace",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        for (_, trigger) in schema::SUSPENDED_IN_BULK {
            assert!(names.contains(trigger), "{trigger}");
        }
        assert_eq!(check_triggers(&migrated()).unwrap(), []);
    }

    #[test]
    fn appended_entries_chain_and_any_edit_is_found() {
        let conn = migrated();
        let entry = |action| NewEntry {
            at: "2020-09-01T10:00:00Z",
            actor: "alice",
            action,
            old_account_id: Some("U1"),
            new_account_id: None,
            email: None,
            reason: Some("why"),
        };
        append(&conn, &[entry("replace"), entry("revert")]).unwrap();
        append(&conn, &[entry("reinstate")]).unwrap();
        assert_eq!(check_chain(&conn).unwrap(), []);
        conn.execute_batch(
            "DROP TRIGGER change_log_no_update;
             UPDATE change_log SET reason = NULL WHERE seq = 2;",
        )
        .unwrap();
        assert_eq!(check_chain(&conn).unwrap(), [Tampering::EntryEdited(2)]);
    }

    #[test]
    fn a_null_differs_from_an_empty_text() {
        let e = |reason| EntryContent {
            seq: 1,
            at: "a",
            actor: "b",
            action: "c",
            old_account_id: None,
            new_account_id: None,
            email: None,
            reason,
            actor_claim: None,
        };
        assert_ne!(
            entry_hash(GENESIS, &e(None)),
            entry_hash(GENESIS, &e(Some("")))
        );
    }

    /// A claim is covered by the hash (version 2), and an entry without one
    /// hashes exactly as before claims existed.
    #[test]
    fn a_claim_is_covered_and_its_absence_changes_nothing() {
        let e = |actor_claim| EntryContent {
            seq: 1,
            at: "2026-12-01T10:00:00Z",
            actor: "region_lead",
            action: "replace",
            old_account_id: Some("A1"),
            new_account_id: Some("A2"),
            email: Some("a@nhs.net"),
            reason: None,
            actor_claim,
        };
        let without = entry_hash(GENESIS, &e(None));
        let with = entry_hash(GENESIS, &e(Some("sarah")));
        assert_ne!(without, with);
        assert_ne!(with, entry_hash(GENESIS, &e(Some("sara"))));
        // Version 1 by hand: the domain text, then the nine fields.
        let mut h = Sha256::new();
        h.update(b"cqrs-admin change_log v1");
        for v in [
            Some(GENESIS),
            Some("1"),
            Some("2026-12-01T10:00:00Z"),
            Some("region_lead"),
            Some("replace"),
            Some("A1"),
            Some("A2"),
            Some("a@nhs.net"),
            None,
        ] {
            match v {
                None => h.update([0u8]),
                Some(v) => {
                    h.update([1u8]);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(v.as_bytes());
                }
            }
        }
        let by_hand: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(without, by_hand);
    }
}
