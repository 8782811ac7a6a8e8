//! Progress toward cutover in SQLite: keeping a day's snapshot (and the
//! fixed and new counts of it and of the snapshot after it), reading the
//! snapshots back, and notes and follow-up states on accounts with their
//! change-log entries.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

use super::chain::{NewEntry, append};
use super::{SqliteStore, refuse_if_tampered, store_error, tx};
use crate::store::progress::{self, Changes, Decoded};
use crate::store::{
    Actor, ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, SnapshotRow,
};

const DAY: &str = "%Y-%m-%d";

fn day_text(day: NaiveDate) -> String {
    day.format(DAY).to_string()
}

fn parse_day(text: &str) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, DAY).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The nearest snapshot before (`before`) or after a day: its day and value.
fn neighbour(
    conn: &Connection,
    day: &str,
    before: bool,
) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
    let sql = if before {
        "SELECT day, needing FROM progress_snapshots WHERE day < ?1 ORDER BY day DESC LIMIT 1"
    } else {
        "SELECT day, needing FROM progress_snapshots WHERE day > ?1 ORDER BY day LIMIT 1"
    };
    conn.query_row(sql, [day], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

fn decoded(day: &str, blob: &[u8]) -> Result<Decoded> {
    progress::decode(blob).with_context(|| {
        format!(
            "the progress snapshot of {day} cannot be read; audit the whole store with \
             `--today {day}` to record it again"
        )
    })
}

impl SqliteStore {
    /// Keeps the day's snapshot, replacing one kept earlier that day, and
    /// says how many bytes its accounts take. The snapshot after it (an
    /// audit with an earlier `--today`) is compared with it afresh.
    pub fn save_snapshot(
        &mut self,
        day: NaiveDate,
        recorded_at: &str,
        snapshot: NewSnapshot,
    ) -> Result<u64> {
        let path = self.path.clone();
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        let day = day_text(day);
        let prev = neighbour(&tx, &day, true)?;
        let next = neighbour(&tx, &day, false)?;
        let needing_action = snapshot.needing_action();
        let NewSnapshot {
            accounts,
            categories,
            sections,
            needing,
            contact_names,
            groups: _,
        } = snapshot;
        let blob = needing.encode();
        tracing::info!("snapshot encoded");
        let current = decoded(&day, &blob)?;
        tracing::info!("snapshot decoded");
        let since_prev = match &prev {
            Some((d, b)) => Some(progress::compare(&decoded(d, b)?, &current)),
            None => None,
        };
        tracing::info!("snapshot compared");
        // A day copied from a PostgreSQL store may hold its counts by
        // organisations; this store keeps none of its own, so the day's
        // groups go with the rest of the day's rows.
        for table in [
            "progress_snapshots",
            "progress_categories",
            "progress_contacts",
            "progress_groups",
        ] {
            tx.execute(&format!("DELETE FROM {table} WHERE day = ?1"), [&day])?;
        }
        let ok = categories
            .get(&crate::rules::Category::Ok)
            .copied()
            .unwrap_or(0);
        tx.execute(
            "INSERT INTO progress_snapshots (day, recorded_at, accounts, needing_action,
                 contact_commissioner, no_nhsmail, administrator, ok, fixed, new, needing)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                day,
                recorded_at,
                accounts as i64,
                needing_action as i64,
                sections[0] as i64,
                sections[1] as i64,
                sections[2] as i64,
                ok as i64,
                since_prev.as_ref().map(|c| c.fixed as i64),
                since_prev.as_ref().map(|c| c.new as i64),
                blob,
            ],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO progress_categories (day, category, accounts) VALUES (?1, ?2, ?3)",
            )?;
            for (category, n) in &categories {
                insert.execute(params![day, category.as_str(), *n as i64])?;
            }
        }
        let name = |code: &str| {
            contact_names
                .get(code)
                .cloned()
                .unwrap_or_else(|| code.to_string())
        };
        write_contacts(&tx, &day, &current, since_prev.as_ref(), &name)?;
        tracing::info!("snapshot written");
        if let Some((next_day, next_blob)) = &next {
            let later = decoded(next_day, next_blob)?;
            let changes = progress::compare(&current, &later);
            tx.execute(
                "UPDATE progress_snapshots SET fixed = ?2, new = ?3 WHERE day = ?1",
                params![next_day, changes.fixed as i64, changes.new as i64],
            )?;
            tx.execute(
                "DELETE FROM progress_contacts WHERE day = ?1",
                [next_day.as_str()],
            )?;
            write_contacts(&tx, next_day, &later, Some(&changes), &name)?;
        }
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(blob.len() as u64)
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT day, accounts, needing_action, contact_commissioner, no_nhsmail,
                    administrator, ok, fixed, new, length(needing)
             FROM progress_snapshots ORDER BY day",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let n = |i| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
                let maybe = |i| -> rusqlite::Result<Option<u64>> {
                    Ok(r.get::<_, Option<i64>>(i)?.map(|v| v as u64))
                };
                Ok(SnapshotRow {
                    date: parse_day(&r.get::<_, String>(0)?)?,
                    accounts: n(1)?,
                    needing_action: n(2)?,
                    sections: [n(3)?, n(4)?, n(5)?],
                    ok: n(6)?,
                    fixed: maybe(7)?,
                    new: maybe(8)?,
                    bytes: n(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every snapshot's rows by contact (only `contact`'s, given one),
    /// oldest first, then by contact code.
    pub fn contact_progress(&self, contact: Option<&str>) -> Result<Vec<ContactProgressRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT day, contact_code, contact_name, needing_action, contact_commissioner,
                    no_nhsmail, administrator, fixed, new
             FROM progress_contacts
             WHERE ?1 IS NULL OR contact_code = ?1 COLLATE NOCASE
             ORDER BY day, contact_code",
        )?;
        let rows = stmt
            .query_map([contact], |r| {
                let n = |i| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
                let maybe = |i| -> rusqlite::Result<Option<u64>> {
                    Ok(r.get::<_, Option<i64>>(i)?.map(|v| v as u64))
                };
                Ok(ContactProgressRow {
                    date: parse_day(&r.get::<_, String>(0)?)?,
                    contact_code: r.get(1)?,
                    contact_name: r.get(2)?,
                    needing_action: n(3)?,
                    sections: [n(4)?, n(5)?, n(6)?],
                    fixed: maybe(7)?,
                    new: maybe(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Adds a note to an account, with its change-log entry (action
    /// `note`, the text as its reason).
    pub fn add_note(&mut self, account_id: &str, note: &Note) -> Result<()> {
        let path = self.path.clone();
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        refuse_if_tampered(&tx, &path)?;
        tx.execute(
            "INSERT INTO account_notes (account_id, day, at, actor, note)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                account_id,
                day_text(note.date),
                note.at,
                note.actor,
                note.text
            ],
        )
        .map_err(|e| store_error(&path, e))?;
        append(
            &tx,
            &[NewEntry {
                at: &note.at,
                actor: &note.actor,
                action: "note",
                old_account_id: Some(account_id),
                new_account_id: None,
                email: None,
                reason: Some(&note.text),
            }],
        )
        .map_err(|e| store_error(&path, e))?;
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(())
    }

    /// Sets (or, with None, clears) an account's follow-up state, with its
    /// change-log entry (action `follow-up`, the new state and the one it
    /// replaced as its reason); returns the state it replaced.
    pub fn set_follow_up(
        &mut self,
        account_id: &str,
        state: Option<FollowUp>,
        date: NaiveDate,
        at: &str,
        actor: Actor<'_>,
    ) -> Result<Option<FollowUp>> {
        let path = self.path.clone();
        let tx = tx::Tx::begin(&self.conn, tx::Lock::Write).map_err(|e| store_error(&path, e))?;
        refuse_if_tampered(&tx, &path)?;
        let old = follow_up_in(&tx, account_id)?.map(|f| f.state);
        match state {
            Some(state) => tx.execute(
                "INSERT INTO follow_ups (account_id, state, day, at, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (account_id) DO UPDATE SET state = excluded.state,
                     day = excluded.day, at = excluded.at, actor = excluded.actor",
                params![account_id, state.as_str(), day_text(date), at, actor.name],
            ),
            None => tx.execute("DELETE FROM follow_ups WHERE account_id = ?1", [account_id]),
        }
        .map_err(|e| store_error(&path, e))?;
        let reason = format!(
            "{} (was {})",
            state.map_or("clear", FollowUp::as_str),
            old.map_or("none", FollowUp::as_str)
        );
        append(
            &tx,
            &[NewEntry {
                at,
                actor: actor.name,
                action: "follow-up",
                old_account_id: Some(account_id),
                new_account_id: None,
                email: None,
                reason: Some(&reason),
            }],
        )
        .map_err(|e| store_error(&path, e))?;
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(old)
    }

    /// An account's notes, oldest first.
    pub fn notes(&self, account_id: &str) -> Result<Vec<Note>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, at, actor, note FROM account_notes WHERE account_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(Note {
                    date: parse_day(&r.get::<_, String>(0)?)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    claimed: false,
                    text: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// An account's follow-up state, if one is set.
    pub fn follow_up(&self, account_id: &str) -> Result<Option<FollowUpState>> {
        Ok(follow_up_in(&self.conn, account_id)?)
    }

    /// Every account's follow-up state that is set.
    pub fn follow_ups(&self) -> Result<HashMap<String, FollowUp>> {
        let mut stmt = self
            .conn
            .prepare("SELECT account_id, state FROM follow_ups")?;
        let mut out = HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let state: String = r.get(1)?;
            if let Some(state) = FollowUp::parse(&state) {
                out.insert(r.get(0)?, state);
            }
        }
        Ok(out)
    }
}

fn follow_up_in(conn: &Connection, account_id: &str) -> rusqlite::Result<Option<FollowUpState>> {
    conn.query_row(
        "SELECT state, day, at, actor FROM follow_ups WHERE account_id = ?1",
        [account_id],
        |r| {
            let state: String = r.get(0)?;
            Ok(FollowUp::parse(&state).map(|state| {
                Ok::<_, rusqlite::Error>(FollowUpState {
                    state,
                    date: parse_day(&r.get::<_, String>(1)?)?,
                    at: r.get(2)?,
                    actor: r.get(3)?,
                })
            }))
        },
    )
    .optional()
    .map(Option::flatten)?
    .transpose()
}

/// A day's rows by contact: every contact with accounts needing action, and
/// every contact with accounts fixed since the snapshot before.
fn write_contacts(
    conn: &Connection,
    day: &str,
    snapshot: &Decoded,
    changes: Option<&Changes>,
    name: &dyn Fn(&str) -> String,
) -> rusqlite::Result<()> {
    let mut counts: BTreeMap<String, [u64; 3]> = progress::per_contact(snapshot);
    if let Some(changes) = changes {
        for code in changes.by_contact.keys() {
            counts.entry(code.clone()).or_default();
        }
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO progress_contacts (day, contact_code, contact_name, needing_action,
             contact_commissioner, no_nhsmail, administrator, fixed, new)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (code, sections) in &counts {
        let (fixed, new) = match changes {
            Some(c) => {
                let (f, n) = c.by_contact.get(code).copied().unwrap_or((0, 0));
                (Some(f as i64), Some(n as i64))
            }
            None => (None, None),
        };
        insert.execute(params![
            day,
            code,
            name(code),
            sections.iter().sum::<u64>() as i64,
            sections[0] as i64,
            sections[1] as i64,
            sections[2] as i64,
            fixed,
            new
        ])?;
    }
    Ok(())
}
