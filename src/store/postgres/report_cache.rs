//! The kept report on PostgreSQL, read back: the same table
//! (`report_cache(part, rows bytea)`) and the same settings value
//! (`report_cache.generation`: the generation, the row count and the
//! encoding's version) as the
//! SQLite store's `report_cache.rs`, encoded by `crate::store::kept_report`.
//! Rows that cannot be read back in full are never shown in part: the
//! report is computed afresh instead. The report's parts are decoded as
//! they stream from the server, and a damaged part, or a count that does
//! not add up after the last, tells the caller to drop what it was given
//! (`report` builds its rows in memory and writes nothing before the kept
//! rows are known whole).
//!
//! Beside the report's parts (`part` 0, 1, …), the same table keeps the
//! rows with a confident match again, by their match
//! (`KeptReport::match_buckets`): part -1 holds how many buckets there are,
//! and bucket `b` is part `-2 - b`. The sign-in check then reads one bucket
//! (a few kilobytes, one index look-up) instead of the whole report (14 MB
//! for a national one: 0.3 s on a loaded machine). They are written in the
//! report's transaction, so they are of the same generation; a tool that
//! reads every part as report rows (before migration 5) finds more rows than
//! the count it kept and computes the report afresh, never misreads it.
//! The values are compressed with lz4 where the server has it (schema.rs,
//! migration 5): pglz took 1.1 s of the audit to compress 14 MB, lz4 0.2 s,
//! and a fifth of pglz's time to read back.

use anyhow::Result;
use postgres::fallible_iterator::FallibleIterator;

use super::PgStore;
use super::write::WRITE_LOCK;
use crate::rules::{Category, Section};
use crate::store::{
    KeptReport, KeptRow, MATCH_BUCKETS, bucket_rows, is_match_of, match_bucket,
    parse_settings_value, visit_part_rows,
};

/// A kept part as read back: its number and its bytes.
type KeptPart = (i32, Vec<u8>);

/// The part that holds how many match buckets are kept.
const BUCKET_COUNT_PART: i32 = -1;

/// The part bucket `b` is kept at.
fn bucket_part(bucket: u32) -> i32 {
    -2 - bucket as i32
}

/// The settings key holding the generation the kept rows were computed
/// at, and how many rows were kept.
pub(super) const GENERATION_KEY: &str = "report_cache.generation";

impl PgStore {
    /// The generation and row count the kept report was saved with, if one
    /// was kept and its settings value reads as both.
    pub(super) fn kept_at(&self) -> Result<Option<(u64, u64)>> {
        Ok(self
            .setting(GENERATION_KEY)?
            .as_deref()
            .and_then(parse_settings_value))
    }

    /// Whether the kept report rows were computed at this generation.
    pub(crate) fn report_cache_is_current(&self, generation: u64) -> Result<bool> {
        // The kept report is the whole store's: an area's report is
        // computed afresh (and its rows are hidden from it, schema.rs).
        if self.area()?.is_some() {
            return Ok(false);
        }
        Ok(self.kept_at()?.is_some_and(|(kept, _)| kept == generation))
    }

    /// The row count kept and the parts `select` picks (`part, rows`), read
    /// in one snapshot with the settings value, so that a report kept at
    /// this moment by another command is seen whole or not at all; None if
    /// no rows of this generation are kept, or the operator's report is an
    /// area's (never kept).
    fn kept_parts(
        &self,
        generation: u64,
        select: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<(u64, Vec<KeptPart>)>> {
        if self.area()?.is_some() {
            return Ok(None);
        }
        let (value, parts) = self.transaction(postgres::IsolationLevel::RepeatableRead, |tx| {
            let value: Option<String> = tx
                .query_opt(
                    "SELECT value FROM settings WHERE key = $1",
                    &[&GENERATION_KEY],
                )?
                .map(|r| r.get(0));
            let parts = tx
                .query(select, params)?
                .iter()
                .map(|r| Ok((r.try_get::<_, i32>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
                .collect::<Result<Vec<_>, postgres::Error>>()?;
            Ok((value, parts))
        })?;
        Ok(match value.as_deref().and_then(parse_settings_value) {
            Some((kept, count)) if kept == generation => Some((count, parts)),
            _ => None,
        })
    }

    /// Visits the kept rows in the report's order if they were computed at
    /// this generation and read back in full; false otherwise, and then the
    /// rows visited so far (if any) are not the report: the caller drops
    /// them and computes it. The parts are decoded and visited as the server
    /// sends them, so the client's decoding overlaps the server's reading
    /// and decompressing of the rest (14 MB for a national report) instead
    /// of waiting for all of it; the row count kept with them is checked
    /// after the last, so a part lost or cut at a row's end still reads as
    /// damage. The settings value and the parts are read in one snapshot,
    /// so a report kept at this moment by another command is seen whole or
    /// not at all; a stale kept report is not read at all.
    pub(crate) fn for_each_cached_report_row(
        &self,
        generation: u64,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        if self.area()?.is_some() {
            return Ok(false);
        }
        let mut client = self.conn()?;
        let explain = |e| self.explain(e);
        // Read-only: nothing to retry (`PgStore::transaction` would run the
        // visits again after a conflict, which a read-only snapshot never
        // meets). Dropped unfinished, it is rolled back.
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(explain)?;
        let value: Option<String> = tx
            .query_opt(
                "SELECT value FROM settings WHERE key = $1",
                &[&GENERATION_KEY],
            )
            .map_err(explain)?
            .map(|r| r.get(0));
        let count = match value.as_deref().and_then(parse_settings_value) {
            Some((kept, count)) if kept == generation => count,
            _ => return Ok(false),
        };
        let mut parts = tx
            .query_raw(
                "SELECT rows FROM report_cache WHERE part >= 0 ORDER BY part",
                std::iter::empty::<&(dyn postgres::types::ToSql + Sync)>(),
            )
            .map_err(explain)?;
        let mut seen = 0u64;
        let mut part = 0;
        while let Some(row) = parts.next().map_err(explain)? {
            let blob: &[u8] = row.try_get(0).map_err(explain)?;
            match visit_part_rows(part, blob, visit) {
                Ok(rows) => seen += rows,
                Err(e) => {
                    tracing::info!("kept report unreadable ({e}): computing it");
                    return Ok(false);
                }
            }
            part += 1;
        }
        drop(parts);
        tx.commit().map_err(explain)?;
        if seen != count {
            tracing::info!(
                "kept report unreadable ({seen} rows where {count} were kept): computing it"
            );
            return Ok(false);
        }
        Ok(true)
    }

    /// Visits the kept rows whose confident match is `key`, in the
    /// report's order, from the one bucket that holds them; false (nothing
    /// visited) if no rows of this generation are kept, or the bucket is
    /// missing or damaged (then the report is computed, as
    /// `for_each_cached_report_row` would have it).
    pub(crate) fn for_each_kept_match(
        &self,
        generation: u64,
        key: &str,
        visit: &mut dyn FnMut(&KeptRow<'_>),
    ) -> Result<bool> {
        let part = bucket_part(match_bucket(key));
        let Some((_, parts)) = self.kept_parts(
            generation,
            "SELECT part, rows FROM report_cache WHERE part IN ($1, $2)",
            &[&BUCKET_COUNT_PART, &part],
        )?
        else {
            return Ok(false);
        };
        let count = parts.iter().find(|(p, _)| *p == BUCKET_COUNT_PART);
        let bucket = parts.iter().find(|(p, _)| *p == part);
        // Rows kept by a tool without buckets, buckets of another count, or
        // a damaged bucket: every kept row is read instead (and checked
        // whole there).
        // The matching rows are copied as they stream and visited only once
        // every row has been read (false: nothing visited).
        let every_row = |visit: &mut dyn FnMut(&KeptRow<'_>)| {
            let mut matched: Vec<(Section, Category, [String; 7])> = Vec::new();
            let whole = self.for_each_cached_report_row(generation, &mut |row| {
                if is_match_of(row.nhsmail_match, key) {
                    matched.push((row.section, row.category, row.texts().map(String::from)));
                }
            })?;
            if whole {
                for (section, category, texts) in &matched {
                    let texts = texts.each_ref().map(String::as_str);
                    visit(&KeptRow::from_texts(*section, *category, texts));
                }
            }
            Ok::<bool, anyhow::Error>(whole)
        };
        let (Some((_, count)), Some((_, bucket))) = (count, bucket) else {
            tracing::info!("kept report has no match buckets: reading every row");
            return every_row(visit);
        };
        if count.as_slice() != MATCH_BUCKETS.to_be_bytes() {
            tracing::info!("kept report's match buckets are of another count: reading every row");
            return every_row(visit);
        }
        match bucket_rows(bucket) {
            Ok(rows) => {
                for row in rows.iter().filter(|r| is_match_of(r.nhsmail_match, key)) {
                    visit(row);
                }
                Ok(true)
            }
            Err(e) => {
                tracing::info!("kept report's match bucket unreadable ({e}): reading every row");
                every_row(visit)
            }
        }
    }

    /// Keeps the report's rows for the generation they were computed at,
    /// with their match buckets. Nothing is kept if something was written
    /// since, or if a write is under way (it will change the generation, or
    /// has changed it: the rows would be stale, and an audit does not wait
    /// for a long write to save what is only a short cut for the next
    /// report).
    pub(super) fn save_report_cache(&mut self, generation: u64, report: &KeptReport) -> Result<()> {
        // An area's report is not the whole store's: never kept.
        if self.area()?.is_some() {
            return Ok(());
        }
        // Rows the audit encoded a moment ago: unreadable only by a bug,
        // and then nothing is kept (the report computes them).
        let buckets = match report.match_buckets() {
            Ok(buckets) => buckets,
            Err(e) => {
                tracing::info!("report rows not kept: they do not read back ({e})");
                return Ok(());
            }
        };
        let mut numbers: Vec<i32> = (0..report.parts.len() as i32).collect();
        let mut values: Vec<&[u8]> = report.parts.iter().map(Vec::as_slice).collect();
        let count = MATCH_BUCKETS.to_be_bytes();
        numbers.push(BUCKET_COUNT_PART);
        values.push(&count);
        for (b, bucket) in buckets.iter().enumerate() {
            numbers.push(bucket_part(b as u32));
            values.push(bucket);
        }
        self.conn()?
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .map_err(|e| self.explain(e))?;
        let kept = (|| -> Result<()> {
            let locked: bool = self
                .query(
                    "SELECT pg_try_advisory_xact_lock($1)",
                    &[&WRITE_LOCK],
                    |r| r.try_get(0),
                )?
                .pop()
                .unwrap_or(false);
            if !locked {
                tracing::info!("report rows not kept: a write is under way");
                return Ok(());
            }
            let now: Option<String> = self
                .query(
                    "SELECT value FROM settings WHERE key = 'generation'",
                    &[],
                    |r| r.try_get(0),
                )?
                .pop();
            let now: u64 = now.and_then(|v| v.parse().ok()).unwrap_or(0);
            if now != generation {
                // Something was written since the report was computed.
                return Ok(());
            }
            self.execute("DELETE FROM report_cache", &[])?;
            self.execute(
                "INSERT INTO report_cache (part, rows)
                 SELECT t.part, t.rows FROM unnest($1::int4[], $2::bytea[]) AS t(part, rows)",
                &[&numbers, &values],
            )?;
            // Counted as they were encoded, as on SQLite.
            let value = crate::store::settings_value(generation, report.count);
            self.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&GENERATION_KEY, &value],
            )?;
            tracing::info!("report rows written");
            Ok(())
        })();
        match kept {
            Ok(()) => self.commit_write(),
            Err(e) => {
                self.rollback_write();
                Err(e)
            }
        }
    }
}
