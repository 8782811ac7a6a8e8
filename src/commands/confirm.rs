//! Who is making a change, for the change log. (Asking before a change is
//! the output layer's: `output::Shell::confirm`.)

use chrono::{NaiveDate, SecondsFormat, Utc};

/// Who is making a change and when: recorded in the change log.
#[derive(Debug, Clone)]
pub struct Operator {
    pub actor: String,
    /// Whether `actor` was given (`--actor`, `CQRS_ADMIN_ACTOR`) rather
    /// than taken from the environment (`USER`, ...).
    pub claimed: bool,
    /// Today's date (pinned by `--today`): a new account's `created_at`.
    pub today: NaiveDate,
}

impl Operator {
    /// The change log's time: now, UTC, RFC 3339 to the second.
    pub fn now() -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Who is acting, as the store records it.
    pub fn actor(&self) -> crate::store::Actor<'_> {
        crate::store::Actor {
            name: &self.actor,
            claimed: self.claimed,
        }
    }

    pub fn created_at(&self) -> String {
        self.today.format("%Y-%m-%d").to_string()
    }
}

/// What `revert` or `reinstate` was asked to do: the replacement account and
/// the reason given (trimmed; an empty one is none).
#[derive(Debug, Clone)]
pub struct OnReplacement {
    pub(crate) new_account_id: String,
    pub(crate) reason: Option<String>,
}

impl OnReplacement {
    pub fn new(new_account_id: &str, reason: Option<&str>) -> OnReplacement {
        OnReplacement {
            new_account_id: new_account_id.trim().to_string(),
            reason: reason
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        }
    }
}
