//! The account ids the store holds, for checking the references of a file
//! that names accounts (permissions, activity) on the client, as the rows
//! stream (see import.rs).
//!
//! Reading them (a million ids: 0.7 to 0.9 s of the server's and the
//! client's time, one after the other) held up the load of every such
//! file until they were in. A load straight into an empty table now reads
//! them on a second connection ([`Known::start`]) while its `COPY` starts:
//! the rows sent before they are in are remembered by id and line
//! ([`Deferred`]) and checked as soon as the ids arrive. A row found then
//! to name an unknown account has already gone into the table; the file is
//! refused anyway (the import's transaction is rolled back), and its line
//! is left out when repeated keys are named ([`PgImport`]'s
//! `late_refused`), so the problems are the same, on the same lines, as
//! when each row is checked before it is sent.
//!
//! The second connection reads under the first one's write lock (taken
//! before it starts), so no writer can add an account meanwhile, and it
//! sees every account committed before the lock was taken.

use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::thread::JoinHandle;

use anyhow::{Context as _, Result};
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::PgStore;

/// The account ids the store holds, read once at the start of an import of
/// a file that names accounts (under the write lock, so no replacement is
/// added meanwhile): one buffer, found by hash (a sort of a million ids
/// cost 0.5 s of the client's time, the map a tenth of that). Checking the references on the client, as the
/// rows stream, leaves the server nothing to check them with afterwards
/// (an anti-join of the staged rows cost 4.5 s for two million roles).
#[derive(Default)]
pub(super) struct KnownAccounts {
    text: String,
    /// Where each id is in `text`, by its hash; an id whose hash another
    /// id already has is kept in `collided` instead, so the answer is
    /// exact.
    by_hash: FxHashMap<u64, (u32, u32)>,
    collided: Vec<String>,
}

impl KnownAccounts {
    pub(super) fn read(store: &PgStore) -> Result<KnownAccounts> {
        // Every id, a newline after each but the last, and how many there
        // are, in one row: a COPY out sends a message a row, and reading a
        // million of them cost the client 0.7 s. The ids' lengths as a
        // second aggregate cost the server twice as much as the ids
        // themselves (a million ids: 0.31 s against 0.17 s), so they are
        // asked for only when an id holds a newline itself (then the text
        // has more lines than there are ids).
        let (text, count): (String, i64) = store
            .query(
                "SELECT coalesce(string_agg(account_id, E'\\n'), ''), count(*) FROM accounts",
                &[],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )?
            .pop()
            .unwrap_or_default();
        let (text, spans) = match spans_by_line(&text, count)? {
            Some(spans) => (text, spans),
            None => KnownAccounts::read_with_lengths(store)?,
        };
        tracing::info!(ids = spans.len(), "account ids read");
        let mut known = KnownAccounts {
            by_hash: FxHashMap::with_capacity_and_hasher(spans.len(), Default::default()),
            text,
            collided: Vec::new(),
        };
        for span in spans {
            let id = &known.text[span.0 as usize..span.1 as usize];
            match known.by_hash.entry(KnownAccounts::hash(id)) {
                Entry::Vacant(v) => {
                    v.insert(span);
                }
                Entry::Occupied(o) => {
                    let (s, e) = *o.get();
                    if &known.text[s as usize..e as usize] != id {
                        known.collided.push(id.to_string());
                    }
                }
            }
        }
        known.collided.sort_unstable();
        Ok(known)
    }

    /// Every id end to end, and where each ends by its length in bytes
    /// (both aggregates see the rows in the same order): for ids that hold
    /// a newline.
    fn read_with_lengths(store: &PgStore) -> Result<(String, Vec<(u32, u32)>)> {
        let (text, lengths): (String, Vec<i32>) = store
            .query(
                "SELECT coalesce(string_agg(account_id, ''), ''),
                        coalesce(array_agg(octet_length(account_id)), '{}')
                 FROM accounts",
                &[],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )?
            .pop()
            .unwrap_or_default();
        let not_adding_up = || {
            anyhow::anyhow!(
                "the PostgreSQL store {} gave back account ids that do not add up",
                store.shown()
            )
        };
        let mut spans = Vec::with_capacity(lengths.len());
        let mut end = 0usize;
        for len in lengths {
            let start = end;
            end += usize::try_from(len).unwrap_or(usize::MAX);
            if end > text.len() || !text.is_char_boundary(end) {
                return Err(not_adding_up());
            }
            spans.push((span_end(start)?, span_end(end)?));
        }
        if end != text.len() {
            return Err(not_adding_up());
        }
        Ok((text, spans))
    }

    fn hash(id: &str) -> u64 {
        FxBuildHasher.hash_one(id)
    }

    /// Of these ids, those not held.
    pub(super) fn missing<'i>(&self, ids: &[&'i str]) -> Vec<&'i str> {
        ids.iter()
            .copied()
            .filter(|&id| {
                let held = self
                    .by_hash
                    .get(&KnownAccounts::hash(id))
                    .is_some_and(|&(s, e)| &self.text[s as usize..e as usize] == id);
                !held
                    && self
                        .collided
                        .binary_search_by(|c| c.as_str().cmp(id))
                        .is_err()
            })
            .collect()
    }
}

/// Where each of `count` ids is in `text`, one a line; `None` when the
/// text has more lines than that (an id holds a newline).
fn spans_by_line(text: &str, count: i64) -> Result<Option<Vec<(u32, u32)>>> {
    let count = usize::try_from(count).unwrap_or(0);
    if count == 0 {
        return Ok(Some(Vec::new()));
    }
    let mut spans = Vec::with_capacity(count);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        if spans.len() == count {
            return Ok(None);
        }
        spans.push((span_end(start)?, span_end(end)?));
        start = end + 1;
    }
    Ok((spans.len() == count).then_some(spans))
}

fn span_end(at: usize) -> Result<u32> {
    u32::try_from(at).context("too many account ids")
}

/// The known account ids, or their read on a second connection.
pub(super) enum Known {
    Ready(KnownAccounts),
    Reading(JoinHandle<Result<KnownAccounts>>),
}

impl Known {
    /// Reads the ids on a second connection to `store`, started now.
    pub(super) fn start(store: &PgStore) -> Known {
        let target = store.target().clone();
        Known::Reading(std::thread::spawn(move || {
            let second = PgStore::connect_to(target)?;
            KnownAccounts::read(&second)
        }))
    }

    /// The ids, if read: waiting for them when `wait`.
    pub(super) fn ready(&mut self, wait: bool) -> Result<Option<&KnownAccounts>> {
        if let Known::Reading(reading) = self {
            if !wait && (!reading.is_finished() || held_back()) {
                return Ok(None);
            }
            let Known::Reading(reading) =
                std::mem::replace(self, Known::Ready(KnownAccounts::default()))
            else {
                unreachable!("matched above")
            };
            let known = reading
                .join()
                .map_err(|_| anyhow::anyhow!("reading the known account ids failed"))??;
            *self = Known::Ready(known);
        }
        match self {
            Known::Ready(known) => Ok(Some(known)),
            Known::Reading(_) => Ok(None),
        }
    }

    /// Whether the ids are still being read.
    pub(super) fn is_reading(&self) -> bool {
        matches!(self, Known::Reading(_))
    }
}

/// Whether a test asked for the ids to be taken only at the end of the
/// load (`CQRS_ADMIN_TEST_IDS_LATE`, heeded by debug builds only), so that
/// every row goes the deferred way whatever the timing.
fn held_back() -> bool {
    cfg!(debug_assertions) && std::env::var_os("CQRS_ADMIN_TEST_IDS_LATE").is_some()
}

/// The (account id, line) of the rows sent before the known ids were in,
/// the ids end to end in one text.
#[derive(Default)]
pub(super) struct Deferred {
    ids: String,
    rows: Vec<(u32, u32, u64)>,
}

impl Deferred {
    pub(super) fn push(&mut self, id: &str, line: u64) {
        let start = self.ids.len() as u32;
        self.ids.push_str(id);
        self.rows.push((start, self.ids.len() as u32, line));
    }

    /// The (line, id) of the remembered rows whose account `known` does
    /// not hold; forgets them all.
    pub(super) fn take_unknown(&mut self, known: &KnownAccounts) -> Vec<(u64, String)> {
        let unknown = self
            .rows
            .iter()
            .map(|&(s, e, line)| (line, &self.ids[s as usize..e as usize]))
            .filter(|&(_, id)| !known.missing(&[id]).is_empty())
            .map(|(line, id)| (line, id.to_string()))
            .collect();
        self.ids = String::new();
        self.rows = Vec::new();
        unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_line_unless_one_holds_a_newline() {
        let text = "U1\nU22\n\nU4";
        let spans = spans_by_line(text, 4).expect("spans").expect("one a line");
        let ids: Vec<&str> = spans
            .iter()
            .map(|&(s, e)| &text[s as usize..e as usize])
            .collect();
        assert_eq!(ids, ["U1", "U22", "", "U4"]);
        // Three ids, one of them "U22\n": more lines than ids.
        assert_eq!(spans_by_line(text, 3).expect("spans"), None);
        assert_eq!(spans_by_line("", 0).expect("spans"), Some(Vec::new()));
        assert_eq!(spans_by_line("", 1).expect("spans"), Some(vec![(0, 0)]));
    }
}
