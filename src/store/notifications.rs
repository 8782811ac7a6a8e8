//! The records of `notify`: every message handed to a relay (or written to
//! an outbox), kept so that a second run sends only what is new or changed.

/// One message the relay accepted or refused, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Which message this is, whatever it says: `account:ID`,
    /// `digest:CONTACT`, `invalid-addresses`.
    pub message_key: String,
    /// `account`, `digest` or `invalid-addresses`.
    pub kind: String,
    /// The address it was sent to, as written on the message.
    pub recipient: String,
    /// The accounts it is about, joined by `;`.
    pub accounts: String,
    /// The hash of what the message tells its reader (see
    /// `commands::notify`): the same hash means the same instructions.
    pub content_hash: String,
    pub message_id: String,
    /// When (UTC, RFC 3339) and by whom.
    pub at: String,
    pub operator: String,
    /// Whether `operator` was given explicitly (`--actor`): a store that
    /// knows the operator itself keeps only such a claim (see `Actor`).
    pub claimed: bool,
    /// Where it went: `smtp://host:port`, `smtps://host:port`, `outbox:DIR`.
    pub channel: String,
    /// `sent` (the relay accepted it) or `refused`.
    pub outcome: String,
    /// The relay's answer, or the file written.
    pub relay_answer: String,
}

/// What identifies a message already sent: the same message, to the same
/// recipient, saying the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentKey {
    pub message_key: String,
    /// The recipient's normal form.
    pub recipient: String,
    pub content_hash: String,
}

/// One `notify` run, for its change-log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyRun<'a> {
    pub at: &'a str,
    pub operator: super::Actor<'a>,
    /// The counts, in words (the change log's reason).
    pub summary: &'a str,
}
