//! Progress toward cutover in PostgreSQL: keeping a day's snapshot (as the
//! SQLite store keeps it, sqlite/progress.rs, plus its counts by the
//! organisations accounts hold roles at), reading the snapshots back (an
//! area operator its own area's), and notes and follow-up states on
//! accounts with their change-log entries.
//!
//! Who records: a whole-store audit by the owner or a national operator
//! records the national snapshot; an area operator's audit covers only its
//! area and records none ([`SnapshotNotRecorded`], said as a note). What an
//! area operator reads is narrowed by the database (schema.rs migration 3):
//! its contacts' rows, and the counts of the groups of accounts holding a
//! role in its area, whose sums are its area's row of each day (accounts,
//! needing action, each section, ok, fixed and new, all counted on its
//! area's accounts).

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use chrono::NaiveDate;

use super::PgStore;
use crate::store::progress::{self, Changes, Decoded, GroupCounts, Groups};
use crate::store::{
    Actor, ContactProgressRow, FollowUp, FollowUpState, NewSnapshot, Note, SnapshotNotRecorded,
    SnapshotRow,
};

const DAY: &str = "%Y-%m-%d";

fn day_text(day: NaiveDate) -> String {
    day.format(DAY).to_string()
}

fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, DAY)
        .with_context(|| format!("the store holds `{text}` as a snapshot's day, not a date"))
}

fn decoded(day: &str, blob: &[u8]) -> Result<Decoded> {
    progress::decode(blob).with_context(|| {
        format!(
            "the progress snapshot of {day} cannot be read; audit the whole store with \
             `--today {day}` to record it again"
        )
    })
}

/// The accounts that needed action before and no longer do (fixed), and
/// those that need it now and did not before (new): one merge of the two
/// id lists, both in id order.
fn changed_ids<'a>(before: &'a Decoded, after: &'a Decoded) -> (Vec<&'a str>, Vec<&'a str>) {
    let (mut fixed, mut new) = (Vec::new(), Vec::new());
    progress::merge_ids(before, after, |step| match step {
        progress::Step::Fixed(i) => fixed.push(before.id(i)),
        progress::Step::New(j) => new.push(after.id(j)),
        progress::Step::Both(..) => {}
    });
    (fixed, new)
}

/// One group's row as written: its key and counts, and fixed and new
/// (None for a first snapshot).
struct GroupRow {
    /// The group's key (see `progress::Groups`).
    key: String,
    counts: GroupCounts,
    fixed: Option<i64>,
    new: Option<i64>,
}

impl PgStore {
    /// The group key of each of these accounts, by the organisations they
    /// hold roles at now (an account holding none: the empty key).
    fn group_keys(&self, ids: &[&str]) -> Result<HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, Vec<String>)> = self.query(
            "SELECT account_id, array_agg(DISTINCT ods_code ORDER BY ods_code)
             FROM permissions WHERE account_id = ANY($1) GROUP BY account_id",
            &[&ids],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        let mut groups = Groups::default();
        Ok(rows
            .into_iter()
            .map(|(id, codes)| {
                let key = groups.key_of(codes.iter().map(String::as_str)).to_string();
                (id, key)
            })
            .collect())
    }

    /// How many accounts of each group were fixed and how many are new
    /// between two snapshots.
    fn group_changes(
        &self,
        before: &Decoded,
        after: &Decoded,
    ) -> Result<BTreeMap<String, (i64, i64)>> {
        let (fixed, new) = changed_ids(before, after);
        let mut ids: Vec<&str> = fixed.iter().chain(&new).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let keys = self.group_keys(&ids)?;
        let key = |id: &str| keys.get(id).cloned().unwrap_or_default();
        let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for id in fixed {
            out.entry(key(id)).or_default().0 += 1;
        }
        for id in new {
            out.entry(key(id)).or_default().1 += 1;
        }
        Ok(out)
    }

    /// The nearest snapshot before (`before`) or after a day.
    fn neighbour(&self, day: &str, before: bool) -> Result<Option<(String, Vec<u8>)>> {
        let sql = if before {
            "SELECT day, needing FROM progress_snapshots WHERE day < $1 ORDER BY day DESC LIMIT 1"
        } else {
            "SELECT day, needing FROM progress_snapshots WHERE day > $1 ORDER BY day LIMIT 1"
        };
        Ok(self
            .query(sql, &[&day], |r| Ok((r.try_get(0)?, r.try_get(1)?)))?
            .pop())
    }

    /// Keeps the day's snapshot, replacing one kept earlier that day, and
    /// says how many bytes its accounts take; the snapshot after it is
    /// compared with it afresh. An area operator's audit is not the whole
    /// store's: nothing is kept, and it is told why.
    pub(super) fn save_snapshot(
        &mut self,
        day: NaiveDate,
        recorded_at: &str,
        snapshot: NewSnapshot,
    ) -> Result<u64> {
        if self.area()?.is_some() {
            return Err(SnapshotNotRecorded(format!(
                "your audit covers only your area, so it recorded no progress snapshot for \
                 {day}: the store's snapshots are recorded by whole-store audits (by a \
                 national operator or the store's owner), and `cqrs-admin progress` shows you \
                 your area's part of them"
            ))
            .into());
        }
        // Two audits keeping the same day one after the other, never
        // interleaved (on SQLite the write lock does it).
        self.begin_locked_on(super::write::SNAPSHOT_LOCK)?;
        match self.save_snapshot_locked(day, recorded_at, snapshot) {
            Ok(bytes) => {
                self.commit_write()?;
                Ok(bytes)
            }
            Err(e) => {
                self.rollback_write();
                Err(e)
            }
        }
    }

    fn save_snapshot_locked(
        &self,
        day: NaiveDate,
        recorded_at: &str,
        snapshot: NewSnapshot,
    ) -> Result<u64> {
        let day = day_text(day);
        let prev = self.neighbour(&day, true)?;
        let next = self.neighbour(&day, false)?;
        let needing_action = snapshot.needing_action();
        let NewSnapshot {
            accounts,
            categories,
            sections,
            needing,
            contact_names,
            groups,
        } = snapshot;
        let blob = needing.encode();
        let current = decoded(&day, &blob)?;
        let prev = match &prev {
            Some((d, b)) => Some(decoded(d, b)?),
            None => None,
        };
        let since_prev = prev.as_ref().map(|p| progress::compare(p, &current));
        tracing::info!("snapshot compared");
        for table in [
            "progress_snapshots",
            "progress_categories",
            "progress_contacts",
            "progress_groups",
        ] {
            self.execute(&format!("DELETE FROM {table} WHERE day = $1"), &[&day])?;
        }
        let ok = categories
            .get(&crate::rules::Category::Ok)
            .copied()
            .unwrap_or(0);
        let n = |v: u64| v as i64;
        self.execute(
            "INSERT INTO progress_snapshots (day, recorded_at, accounts, needing_action,
                 contact_commissioner, no_nhsmail, administrator, ok, fixed, new, needing)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &day,
                &recorded_at,
                &n(accounts),
                &n(needing_action),
                &n(sections[0]),
                &n(sections[1]),
                &n(sections[2]),
                &n(ok),
                &since_prev.as_ref().map(|c| n(c.fixed)),
                &since_prev.as_ref().map(|c| n(c.new)),
                &blob,
            ],
        )?;
        let names: Vec<&str> = categories.keys().map(|c| c.as_str()).collect();
        let counts: Vec<i64> = categories.values().map(|&v| n(v)).collect();
        self.execute(
            "INSERT INTO progress_categories (day, category, accounts)
             SELECT $1, c.category, c.accounts FROM unnest($2::text[], $3::int8[]) AS c(category, accounts)",
            &[&day, &names, &counts],
        )?;
        let name = |code: &str| {
            contact_names
                .get(code)
                .cloned()
                .unwrap_or_else(|| code.to_string())
        };
        self.write_contacts(&day, &current, since_prev.as_ref(), &name)?;
        tracing::info!("snapshot's counts and contacts written");
        // The counts by organisations, with each group's fixed and new.
        let changes = match &prev {
            Some(p) => Some(self.group_changes(p, &current)?),
            None => None,
        };
        let mut rows: BTreeMap<String, GroupRow> = BTreeMap::new();
        for (key, counts) in groups.map(Groups::into_counts).unwrap_or_default() {
            rows.insert(
                key.clone(),
                GroupRow {
                    key,
                    counts,
                    fixed: changes.as_ref().map(|_| 0),
                    new: changes.as_ref().map(|_| 0),
                },
            );
        }
        for (key, (fixed, new)) in changes.into_iter().flatten() {
            let row = rows.entry(key.clone()).or_insert_with(|| GroupRow {
                key,
                counts: GroupCounts::default(),
                fixed: Some(0),
                new: Some(0),
            });
            row.fixed = Some(fixed);
            row.new = Some(new);
        }
        self.write_groups(&day, rows.values(), false)?;
        tracing::info!("snapshot's groups written");
        if let Some((next_day, next_blob)) = &next {
            let later = decoded(next_day, next_blob)?;
            let changes = progress::compare(&current, &later);
            self.execute(
                "UPDATE progress_snapshots SET fixed = $2, new = $3 WHERE day = $1",
                &[next_day, &n(changes.fixed), &n(changes.new)],
            )?;
            self.execute("DELETE FROM progress_contacts WHERE day = $1", &[next_day])?;
            self.write_contacts(next_day, &later, Some(&changes), &name)?;
            let by_group = self.group_changes(&current, &later)?;
            self.execute(
                "UPDATE progress_groups SET fixed = 0, new = 0 WHERE day = $1",
                &[next_day],
            )?;
            // A group the day has gets its counts; one it has not (every
            // account of it disabled since) gets a row of its own.
            let changed: Vec<GroupRow> = by_group
                .into_iter()
                .map(|(key, (fixed, new))| GroupRow {
                    key,
                    counts: GroupCounts::default(),
                    fixed: Some(fixed),
                    new: Some(new),
                })
                .collect();
            self.write_groups(next_day, changed.iter(), true)?;
            self.execute(
                "DELETE FROM progress_groups WHERE day = $1 AND accounts = 0 AND fixed = 0
                     AND new = 0",
                &[next_day],
            )?;
        }
        Ok(blob.len() as u64)
    }

    /// A day's rows by contact, as on SQLite: every contact with accounts
    /// needing action, and every contact with accounts fixed since the
    /// snapshot before.
    fn write_contacts(
        &self,
        day: &str,
        snapshot: &Decoded,
        changes: Option<&Changes>,
        name: &dyn Fn(&str) -> String,
    ) -> Result<()> {
        let mut counts: BTreeMap<String, [u64; 3]> = progress::per_contact(snapshot);
        if let Some(changes) = changes {
            for code in changes.by_contact.keys() {
                counts.entry(code.clone()).or_default();
            }
        }
        let codes: Vec<&str> = counts.keys().map(String::as_str).collect();
        let names: Vec<String> = codes.iter().map(|c| name(c)).collect();
        let col = |i: usize| -> Vec<i64> { counts.values().map(|s| s[i] as i64).collect() };
        let total: Vec<i64> = counts
            .values()
            .map(|s| s.iter().sum::<u64>() as i64)
            .collect();
        let change = |fixed: bool| -> Vec<Option<i64>> {
            codes
                .iter()
                .map(|code| {
                    changes.map(|c| {
                        let (f, n) = c.by_contact.get(*code).copied().unwrap_or((0, 0));
                        (if fixed { f } else { n }) as i64
                    })
                })
                .collect()
        };
        self.execute(
            "INSERT INTO progress_contacts (day, contact_code, contact_name, needing_action,
                 contact_commissioner, no_nhsmail, administrator, fixed, new)
             SELECT $1, c.code, c.name, c.total, c.cc, c.nn, c.adm, c.fixed, c.new
             FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[],
                         $7::int8[], $8::int8[], $9::int8[])
                  AS c(code, name, total, cc, nn, adm, fixed, new)",
            &[
                &day,
                &codes,
                &names,
                &total,
                &col(0),
                &col(1),
                &col(2),
                &change(true),
                &change(false),
            ],
        )?;
        Ok(())
    }

    /// Writes a day's groups in one statement, each group's codes sent as
    /// its key and split by the database; with `update`, a group the day
    /// has already gets these fixed and new counts (and one it has not is
    /// added). The table has no key on (day, organisations) (migration 8):
    /// this, under the write lock, is the one writer of a day's groups, so
    /// a group is updated or added, never both.
    fn write_groups<'r>(
        &self,
        day: &str,
        rows: impl Iterator<Item = &'r GroupRow>,
        update: bool,
    ) -> Result<()> {
        let rows: Vec<&GroupRow> = rows.collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        let col = |f: &dyn Fn(&GroupCounts) -> u64| -> Vec<i64> {
            rows.iter().map(|r| f(&r.counts) as i64).collect()
        };
        let fixed: Vec<Option<i64>> = rows.iter().map(|r| r.fixed).collect();
        let new: Vec<Option<i64>> = rows.iter().map(|r| r.new).collect();
        let groups = "SELECT string_to_array(g.key, chr(31)) AS organisations, g.accounts, g.ok,
                             g.cc, g.nn, g.adm, g.fixed, g.new
                      FROM unnest($2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
                                  $7::int8[], $8::int8[], $9::int8[])
                           AS g(key, accounts, ok, cc, nn, adm, fixed, new)";
        let insert = "INSERT INTO progress_groups (day, organisations, accounts, ok,
                          contact_commissioner, no_nhsmail, administrator, fixed, new)
                      SELECT $1, g.organisations, g.accounts, g.ok, g.cc, g.nn, g.adm, g.fixed,
                             g.new
                      FROM g";
        let sql = if update {
            format!(
                "WITH g AS ({groups}),
                 updated AS (
                     UPDATE progress_groups p SET fixed = g.fixed, new = g.new
                     FROM g WHERE p.day = $1 AND p.organisations = g.organisations
                     RETURNING p.organisations)
                 {insert}
                 WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.organisations = g.organisations)"
            )
        } else {
            format!("WITH g AS ({groups}) {insert}")
        };
        self.execute(
            &sql,
            &[
                &day,
                &keys,
                &col(&|c| c.accounts),
                &col(&|c| c.ok),
                &col(&|c| c.sections[0]),
                &col(&|c| c.sections[1]),
                &col(&|c| c.sections[2]),
                &fixed,
                &new,
            ],
        )?;
        Ok(())
    }

    /// Every snapshot, oldest first: the whole store's, or for an area
    /// operator its area's (the sums of the groups it sees).
    pub(super) fn snapshots(&self) -> Result<Vec<SnapshotRow>> {
        let sql = if self.area()?.is_none() {
            "SELECT day, accounts, needing_action, contact_commissioner, no_nhsmail,
                    administrator, ok, fixed, new, octet_length(needing)::int8
             FROM progress_snapshots ORDER BY day"
        } else {
            "SELECT day, sum(accounts)::int8,
                    sum(contact_commissioner + no_nhsmail + administrator)::int8,
                    sum(contact_commissioner)::int8, sum(no_nhsmail)::int8,
                    sum(administrator)::int8, sum(ok)::int8, sum(fixed)::int8, sum(new)::int8,
                    0::int8
             FROM progress_groups GROUP BY day ORDER BY day"
        };
        // A day, its seven counts, and its fixed and new.
        type Raw = (String, [i64; 7], Option<i64>, Option<i64>);
        let rows: Vec<Raw> = self.query(sql, &[], |r| {
            let mut n = [0i64; 7];
            for (i, v) in n.iter_mut().enumerate() {
                let at = if i == 6 { 9 } else { i + 1 };
                *v = r.try_get(at)?;
            }
            Ok((r.try_get(0)?, n, r.try_get(7)?, r.try_get(8)?))
        })?;
        rows.into_iter()
            .map(|(day, n, fixed, new)| {
                Ok(SnapshotRow {
                    date: parse_day(&day)?,
                    accounts: n[0] as u64,
                    needing_action: n[1] as u64,
                    sections: [n[2] as u64, n[3] as u64, n[4] as u64],
                    ok: n[5] as u64,
                    fixed: fixed.map(|v| v as u64),
                    new: new.map(|v| v as u64),
                    bytes: n[6] as u64,
                })
            })
            .collect()
    }

    /// Every snapshot's rows by contact (only `contact`'s, given one,
    /// ignoring ASCII case), oldest first, then by contact code; an area
    /// operator sees its own contacts' rows only (row-level security).
    pub(super) fn contact_progress(
        &self,
        contact: Option<&str>,
    ) -> Result<Vec<ContactProgressRow>> {
        type Raw = (String, String, String, [i64; 4], Option<i64>, Option<i64>);
        let rows: Vec<Raw> = self.query(
            "SELECT day, contact_code, contact_name, needing_action, contact_commissioner,
                    no_nhsmail, administrator, fixed, new
             FROM progress_contacts
             WHERE $1::text IS NULL OR lower(contact_code) = lower($1::text COLLATE \"C\")
             ORDER BY day, contact_code",
            &[&contact],
            |r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    [r.try_get(3)?, r.try_get(4)?, r.try_get(5)?, r.try_get(6)?],
                    r.try_get(7)?,
                    r.try_get(8)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(day, code, name, n, fixed, new)| {
                Ok(ContactProgressRow {
                    date: parse_day(&day)?,
                    contact_code: code,
                    contact_name: name,
                    needing_action: n[0] as u64,
                    sections: [n[1] as u64, n[2] as u64, n[3] as u64],
                    fixed: fixed.map(|v| v as u64),
                    new: new.map(|v| v as u64),
                })
            })
            .collect()
    }

    /// Adds a note to an account, with its change-log entry (action
    /// `note`, the text as its reason), in one write. The database writes
    /// the note's operator and time, and refuses an account outside the
    /// operator's area (row-level security).
    pub(super) fn add_note(&mut self, account_id: &str, note: &Note) -> Result<()> {
        let actor = note.claimed.then_some(note.actor.as_str());
        self.in_write(|| {
            self.execute(
                "INSERT INTO account_notes (account_id, day, at, actor, note)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &account_id,
                    &day_text(note.date),
                    &note.at,
                    &actor,
                    &note.text,
                ],
            )?;
            self.execute(
                "INSERT INTO change_log (action, old_account_id, reason, actor)
                 VALUES ('note', $1, $2, $3)",
                &[&account_id, &note.text, &actor],
            )?;
            Ok(())
        })
    }

    /// Sets (or, with None, clears) an account's follow-up state, with its
    /// change-log entry (action `follow-up`, the new state and the one it
    /// replaced as its reason); returns the state it replaced.
    pub(super) fn set_follow_up(
        &mut self,
        account_id: &str,
        state: Option<FollowUp>,
        date: NaiveDate,
        at: &str,
        actor: Actor<'_>,
    ) -> Result<Option<FollowUp>> {
        // The database writes the login; only an explicit --actor is kept
        // beside it as a claim.
        let actor = actor.claim();
        self.in_write(|| {
            // Read under the write lock: the state this change replaces.
            let old = self.follow_up(account_id)?.map(|f| f.state);
            match state {
                Some(state) => self.execute(
                    "INSERT INTO follow_ups (account_id, state, day, at, actor)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (account_id) DO UPDATE SET state = excluded.state,
                         day = excluded.day, at = excluded.at, actor = excluded.actor",
                    &[&account_id, &state.as_str(), &day_text(date), &at, &actor],
                )?,
                None => self.execute(
                    "DELETE FROM follow_ups WHERE account_id = $1",
                    &[&account_id],
                )?,
            };
            let reason = format!(
                "{} (was {})",
                state.map_or("clear", FollowUp::as_str),
                old.map_or("none", FollowUp::as_str)
            );
            self.execute(
                "INSERT INTO change_log (action, old_account_id, reason, actor)
                 VALUES ('follow-up', $1, $2, $3)",
                &[&account_id, &reason, &actor],
            )?;
            Ok(old)
        })
    }

    /// An account's notes, oldest first.
    pub(super) fn notes(&self, account_id: &str) -> Result<Vec<Note>> {
        let rows: Vec<(String, String, String, String)> = self.query(
            "SELECT day, at, actor, note FROM account_notes WHERE account_id = $1 ORDER BY seq",
            &[&account_id],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)),
        )?;
        rows.into_iter()
            .map(|(day, at, actor, text)| {
                Ok(Note {
                    date: parse_day(&day)?,
                    at,
                    actor,
                    claimed: false,
                    text,
                })
            })
            .collect()
    }

    /// An account's follow-up state, if one is set.
    pub(super) fn follow_up(&self, account_id: &str) -> Result<Option<FollowUpState>> {
        let rows: Vec<(String, String, String, String)> = self.query(
            "SELECT state, day, at, actor FROM follow_ups WHERE account_id = $1",
            &[&account_id],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)),
        )?;
        let Some((state, day, at, actor)) = rows.into_iter().next() else {
            return Ok(None);
        };
        let Some(state) = FollowUp::parse(&state) else {
            return Ok(None);
        };
        Ok(Some(FollowUpState {
            state,
            date: parse_day(&day)?,
            at,
            actor,
        }))
    }

    /// Every follow-up state that is set (an area operator: its area's).
    pub(super) fn follow_ups(&self) -> Result<HashMap<String, FollowUp>> {
        let rows: Vec<(String, String)> =
            self.query("SELECT account_id, state FROM follow_ups", &[], |r| {
                Ok((r.try_get(0)?, r.try_get(1)?))
            })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, state)| FollowUp::parse(&state).map(|s| (id, s)))
            .collect())
    }
}
