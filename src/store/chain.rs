//! The change log's hash chain, the same for every back end: the canonical
//! encoding of an entry and its hash, and what a check can find changed.
//!
//! Anyone with the store's file (or its database owner's password) can edit
//! the log past the tool, so every change-log entry carries the hash of the
//! entry before it (`prev_hash`) and its own hash (`hash`), which covers that
//! `prev_hash` and every column of the entry: editing, removing, inserting or
//! reordering an entry breaks the chain from that entry on. The newest
//! entry's seq and hash are also kept in `settings` (`change_log.head`),
//! written in the same transaction, so removing the newest entries shows too.
//! (Someone who recomputes the whole chain and the head is not caught: keep
//! the head `verify` prints somewhere else to catch that.)
//!
//! # The canonical encoding of an entry (version 1)
//!
//! So another back end (PostgreSQL, later) can compute the same hashes:
//!
//! `hash = lower-case hex of SHA-256(encoding)`, where `encoding` is the
//! ASCII text `cqrs-admin change_log v1` (24 bytes, no terminator) followed by
//! nine fields, in this order:
//!
//! 1. `prev_hash`: the previous entry's `hash` (64 lower-case hex digits);
//!    for the first entry, 64 `0` digits ([`GENESIS`]);
//! 2. `seq`, as decimal digits without sign or leading zeros;
//! 3. `at`, 4. `actor`, 5. `action`, 6. `old_account_id`,
//!    7. `new_account_id`, 8. `email`, 9. `reason`: as stored.
//!
//! Each field is one byte `0x00` when it is NULL, or one byte `0x01`, its
//! length in bytes as an 8-byte big-endian unsigned integer, and its UTF-8
//! bytes. (In PostgreSQL: `'\x01'::bytea || int8send(octet_length(v)) ||
//! convert_to(v, 'UTF8')`, and `'\x00'::bytea` for NULL.) The length prefix
//! means no choice of texts can make two different entries encode alike.
//!
//! # Version 2: an entry with an operator's claim
//!
//! On a database server the operator is the database login, written by the
//! server; a `--actor` given beside it is kept as `actor_claim`. An entry
//! with a claim is encoded as version 1 but with the text
//! `cqrs-admin change_log v2` and the claim as a tenth field after `reason`,
//! so that the claim cannot be changed or removed unnoticed. An entry without
//! one is version 1, byte for byte: chains written before claims existed
//! verify unchanged, and copy between back ends with the same hashes.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The `settings` key holding `SEQ:HASH` of the newest entry.
pub const HEAD_KEY: &str = "change_log.head";

const DOMAIN: &[u8] = b"cqrs-admin change_log v1";

/// The encoding of an entry with an operator's claim (see the module's
/// documentation).
const DOMAIN_V2: &[u8] = b"cqrs-admin change_log v2";

/// One change-log entry's content, as hashed.
#[derive(Debug, Clone, Copy)]
pub struct EntryContent<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub old_account_id: Option<&'a str>,
    pub new_account_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// Who the client said was acting (`--actor`), kept beside the operator
    /// a database server recorded (its login), never instead of it. None on
    /// an SQLite store, where the operator is the name given.
    pub actor_claim: Option<&'a str>,
}

fn field(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0u8]),
        Some(v) => {
            h.update([1u8]);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v.as_bytes());
        }
    }
}

/// The hash of an entry that follows the entry whose hash is `prev`.
pub fn entry_hash(prev: &str, e: &EntryContent<'_>) -> String {
    let mut h = Sha256::new();
    h.update(if e.actor_claim.is_some() {
        DOMAIN_V2
    } else {
        DOMAIN
    });
    field(&mut h, Some(prev));
    field(&mut h, Some(&e.seq.to_string()));
    for v in [
        Some(e.at),
        Some(e.actor),
        Some(e.action),
        e.old_account_id,
        e.new_account_id,
        e.email,
        e.reason,
    ] {
        field(&mut h, v);
    }
    if let Some(claim) = e.actor_claim {
        field(&mut h, Some(claim));
    }
    let digest = h.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// One thing found changed in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tampering {
    TriggerMissing(String),
    TriggerAltered(String),
    TriggerAdded(String),
    /// The entry's content does not match its hash: edited.
    EntryEdited(i64),
    /// The entry does not follow the one before it: an entry before it was
    /// removed or inserted, or the entries were reordered.
    ChainBroken(i64),
    /// The newest entries were removed: the head recorded with the last
    /// write names an entry the log no longer ends with.
    HeadMissing {
        head_seq: i64,
        last_seq: Option<i64>,
    },
    /// The log has entries but the record of its newest one was removed.
    HeadRemoved,
}

impl Tampering {
    /// About a trigger, rather than the change log.
    pub fn is_trigger(&self) -> bool {
        matches!(
            self,
            Tampering::TriggerMissing(_)
                | Tampering::TriggerAltered(_)
                | Tampering::TriggerAdded(_)
        )
    }
}

impl std::fmt::Display for Tampering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tampering::TriggerMissing(name) => {
                write!(f, "the protective trigger {name} is missing")
            }
            Tampering::TriggerAltered(name) => {
                write!(f, "the protective trigger {name} was altered")
            }
            Tampering::TriggerAdded(name) => write!(
                f,
                "the trigger {name} was added (no cqrs-admin store has it)"
            ),
            Tampering::EntryEdited(seq) => write!(
                f,
                "change log entry {seq} was edited (its content no longer matches its hash)"
            ),
            Tampering::ChainBroken(seq) => write!(
                f,
                "the change log is broken at entry {seq}: an entry before it was removed or \
                 inserted, or entries were reordered"
            ),
            Tampering::HeadMissing { head_seq, last_seq } => write!(
                f,
                "the change log ended at entry {head_seq} after the last write, but now {}: \
                 entries were removed",
                match last_seq {
                    Some(s) => format!("ends at entry {s}"),
                    None => "is empty".to_string(),
                }
            ),
            Tampering::HeadRemoved => write!(
                f,
                "the record of the change log's newest entry (settings `{HEAD_KEY}`) was removed"
            ),
        }
    }
}

/// Judges the chain's head record (`SEQ:HASH` in settings, if any) against
/// the last entry the check found (its seq and the hash it should have),
/// adding what that shows to `out`: a later entry than the head was written
/// past cqrs-admin (every append moves the head), a head naming the last
/// entry with another hash means it was edited, a head naming an entry that
/// is not there means entries were removed. The same judgement for every
/// back end.
pub(super) fn judge_head(
    head: Option<&str>,
    last: Option<&(i64, String)>,
    out: &mut Vec<Tampering>,
) {
    let Some((seq, hash)) = head.and_then(|h| h.split_once(':')) else {
        if last.is_some() {
            out.push(Tampering::HeadRemoved);
        }
        return;
    };
    let head_seq: i64 = seq.parse().unwrap_or(-1);
    match last {
        Some((s, h)) if *s == head_seq && h == hash => {}
        Some((s, _)) if *s > head_seq => {
            if !out
                .iter()
                .any(|t| matches!(t, Tampering::ChainBroken(_) | Tampering::EntryEdited(_)))
            {
                out.push(Tampering::ChainBroken(head_seq + 1));
            }
        }
        Some((s, _)) if *s == head_seq => {
            if !out.contains(&Tampering::EntryEdited(*s)) {
                out.push(Tampering::EntryEdited(*s));
            }
        }
        other => out.push(Tampering::HeadMissing {
            head_seq,
            last_seq: other.map(|(s, _)| *s),
        }),
    }
}
