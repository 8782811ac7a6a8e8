//! The change log's hash chain on PostgreSQL: the database computes the
//! hash of an entry that comes without one (schema.rs,
//! `cqrs_change_log_append`) and checks the hash of one that comes with it
//! (`cqrs_change_log_move_head`, migration 6: cqrs-admin's writes compute
//! theirs with [`entry_hash_with_claim`]); this module checks the chain
//! in Rust, with the same `entry_hash` as the SQLite store
//! (`crate::store::chain`, whose version 2 covers an operator's claim), so
//! one definition judges both back ends.

use crate::store::{EntryContent, GENESIS, Tampering, entry_hash};

/// The hash of an entry with its claim, as `entry_hash` computes it.
pub fn entry_hash_with_claim(prev: &str, e: &EntryContent<'_>, claim: Option<&str>) -> String {
    entry_hash(
        prev,
        &EntryContent {
            actor_claim: claim,
            ..*e
        },
    )
}

/// One entry as the log holds it.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub old_account_id: Option<String>,
    pub new_account_id: Option<String>,
    pub email: Option<String>,
    pub reason: Option<String>,
    pub actor_claim: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl StoredEntry {
    pub fn content(&self) -> EntryContent<'_> {
        EntryContent {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            old_account_id: self.old_account_id.as_deref(),
            new_account_id: self.new_account_id.as_deref(),
            email: self.email.as_deref(),
            reason: self.reason.as_deref(),
            actor_claim: self.actor_claim.as_deref(),
        }
    }

    /// The hash its content and link give.
    pub fn computed_hash(&self) -> String {
        entry_hash_with_claim(
            self.prev_hash.as_deref().unwrap_or(GENESIS),
            &self.content(),
            self.actor_claim.as_deref(),
        )
    }
}

pub const SELECT_ENTRIES: &str = "SELECT seq, at, actor, action, old_account_id, new_account_id, \
     email, reason, actor_claim, prev_hash, hash FROM change_log ORDER BY seq";

pub fn entry(row: &postgres::Row) -> Result<StoredEntry, postgres::Error> {
    Ok(StoredEntry {
        seq: row.try_get(0)?,
        at: row.try_get(1)?,
        actor: row.try_get(2)?,
        action: row.try_get(3)?,
        old_account_id: row.try_get(4)?,
        new_account_id: row.try_get(5)?,
        email: row.try_get(6)?,
        reason: row.try_get(7)?,
        actor_claim: row.try_get(8)?,
        prev_hash: row.try_get(9)?,
        hash: row.try_get(10)?,
    })
}

/// One entry's place in the chain: its stored links and the hash its
/// content gives.
pub struct Link<'a> {
    pub seq: i64,
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
    pub computed: String,
}

/// Every break in the chain of `entries` (in seq order) and the head
/// recorded in settings, judged as the SQLite store judges its own.
pub fn check(entries: &[StoredEntry], head: Option<&str>) -> Vec<Tampering> {
    check_links(
        entries.iter().map(|e| Link {
            seq: e.seq,
            prev_hash: e.prev_hash.as_deref(),
            hash: e.hash.as_deref(),
            computed: e.computed_hash(),
        }),
        head,
    )
}

/// Every break in a chain of links (in seq order) and the head: what
/// [`check`] judges, from links alone, for a session that may not read
/// every entry's content (an area operator: the database computes each
/// hash, with the function the append trigger uses).
pub fn check_links<'a>(
    links: impl Iterator<Item = Link<'a>>,
    head: Option<&str>,
) -> Vec<Tampering> {
    let mut out = Vec::new();
    let mut expected_prev = GENESIS.to_string();
    let mut last: Option<(i64, String)> = None;
    for e in links {
        if e.prev_hash != Some(expected_prev.as_str()) {
            out.push(Tampering::ChainBroken(e.seq));
        }
        if e.hash != Some(e.computed.as_str()) {
            out.push(Tampering::EntryEdited(e.seq));
        }
        expected_prev = e.hash.map(str::to_string).unwrap_or(e.computed);
        last = Some((e.seq, expected_prev.clone()));
    }
    crate::store::chain::judge_head(head, last.as_ref(), &mut out);
    out
}

/// The chain's breaks as this session can judge them, with the head, in
/// whatever transaction `client` is in: from every entry when the session
/// sees the whole log (`whole`), else from the links alone
/// (`cqrs_change_log_links`, schema migration 2).
pub fn breaks(
    client: &mut impl postgres::GenericClient,
    whole: bool,
) -> Result<Vec<Tampering>, postgres::Error> {
    let head: Option<String> = client
        .query_opt(
            "SELECT value FROM settings WHERE key = $1",
            &[&crate::store::HEAD_KEY],
        )?
        .map(|r| r.get(0));
    if whole {
        let entries = client
            .query(SELECT_ENTRIES, &[])?
            .iter()
            .map(entry)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(check(&entries, head.as_deref()));
    }
    let rows = client.query(
        "SELECT seq, prev_hash, hash, computed FROM cqrs_change_log_links()",
        &[],
    )?;
    let mut links = Vec::with_capacity(rows.len());
    for r in &rows {
        links.push(Link {
            seq: r.try_get(0)?,
            prev_hash: r.try_get(1)?,
            hash: r.try_get(2)?,
            computed: r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
        });
    }
    Ok(check_links(links.into_iter(), head.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, claim: Option<&str>, prev: &str) -> StoredEntry {
        let mut e = StoredEntry {
            seq,
            at: "2026-12-01T10:00:00Z".into(),
            actor: "alice".into(),
            action: "replace".into(),
            old_account_id: Some("U1".into()),
            new_account_id: None,
            email: None,
            reason: Some("why".into()),
            actor_claim: claim.map(str::to_string),
            prev_hash: Some(prev.to_string()),
            hash: None,
        };
        e.hash = Some(e.computed_hash());
        e
    }

    #[test]
    fn without_a_claim_the_hash_is_the_sqlite_stores() {
        let e = entry(1, None, GENESIS);
        assert_eq!(
            e.hash.as_deref(),
            Some(entry_hash(GENESIS, &e.content()).as_str())
        );
        let claimed = entry(1, Some("alice"), GENESIS);
        assert_ne!(claimed.hash, e.hash);
        // An empty claim is still a claim, not its absence.
        assert_ne!(entry(1, Some(""), GENESIS).hash, e.hash);
    }

    #[test]
    fn removing_or_changing_a_claim_breaks_the_chain() {
        let first = entry(1, Some("bob"), GENESIS);
        let second = entry(2, None, first.hash.as_deref().unwrap());
        let head = format!("2:{}", second.hash.as_deref().unwrap());
        assert_eq!(check(&[first.clone(), second.clone()], Some(&head)), []);
        let mut forged = first.clone();
        forged.actor_claim = None;
        assert_eq!(
            check(&[forged, second.clone()], Some(&head)),
            [Tampering::EntryEdited(1)]
        );
        assert_eq!(
            check(&[first], Some(&head)),
            [Tampering::HeadMissing {
                head_seq: 2,
                last_seq: Some(1)
            }]
        );
    }
}
