//! `notify`: tells every user who must act what to do, and every contact
//! which of their users will come asking, from the same rules as the
//! report; sent once, and resumable.
//!
//! Like a replacement, sending is a change in two steps: [`propose`]
//! composes every message and leaves out those already sent unchanged
//! (the store's `notifications`), and [`commit`] sends the rest one at a
//! time, recording each only once the relay has accepted it. A relay that
//! refuses part-way stops the run; the next run sends exactly the rest.

pub mod compose;
pub mod deliver;
pub mod templates;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use lettre::Address;

pub use compose::{Kind, Message};
pub use deliver::Destination;
use templates::Templates;

use crate::cli::{NotifyArgs, ReportArgs};
use crate::commands::checks;
use crate::commands::confirm::Operator;
use crate::commands::cutover::Dates;
use crate::files::Guarded;
use crate::store::{NotificationRecord, NotifyRun, SentKey, Store};

/// Everything checked before any message is composed: the words, the
/// sender, where the messages go.
pub struct Setup {
    pub templates: Templates,
    pub from: Address,
    pub admin_to: String,
    pub destination: Destination,
}

/// Checks the run's options; refuses (exit 1, nothing sent) what is wrong.
pub fn setup(args: &NotifyArgs) -> Result<Setup> {
    let templates = match &args.templates {
        Some(folder) => Templates::from_folder(folder)?,
        None => Templates::built_in()?,
    };
    let from_text = args.from.as_deref().unwrap_or_default();
    let from = deliver::address("--from", from_text)?;
    let admin_to = match &args.admin_to {
        Some(to) => deliver::address("--admin-to", to)?.to_string(),
        None => from.to_string(),
    };
    let destination = match (&args.outbox, &args.smtp) {
        (Some(folder), _) => deliver::outbox(folder)?,
        (None, Some(url)) => deliver::smtp(url)?,
        (None, None) => {
            return Err(crate::error::UserError::Refused(
                "say where the messages go: --outbox DIR (an .eml file each) or --smtp URL (a \
                 relay); nothing was sent"
                    .into(),
            )
            .into());
        }
    };
    Ok(Setup {
        templates,
        from,
        admin_to,
        destination,
    })
}

/// What a run would send.
pub struct Proposal {
    pub dates: Dates,
    /// New or changed messages, in sending order.
    pub to_send: Vec<Message>,
    /// Messages already sent with the same content: left out.
    pub unchanged: BTreeMap<Kind, usize>,
    pub channel: String,
}

impl Proposal {
    /// How many of each kind would go.
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut counts = BTreeMap::new();
        for m in &self.to_send {
            *counts.entry(m.kind).or_default() += 1;
        }
        counts
    }

    /// The first message of each kind, to show.
    pub fn examples(&self) -> Vec<&Message> {
        Kind::ALL
            .iter()
            .filter_map(|k| self.to_send.iter().find(|m| m.kind == *k))
            .collect()
    }
}

/// Composes every message and leaves out those already sent unchanged.
pub fn propose(
    store: &mut Store,
    args: &NotifyArgs,
    dates: Dates,
    setup: &Setup,
) -> Result<Proposal> {
    if let Some(code) = &args.contact {
        checks::require_known_code(store, "--contact", code, true)?;
    }
    // The whole report: an account's message names all its contacts
    // however the run is narrowed.
    let all = ReportArgs {
        section: Vec::new(),
        contact: None,
        check: false,
        follow_up: Vec::new(),
        ..ReportArgs::default()
    };
    let report = crate::commands::report::run(store, &all, dates)?;
    if let Some(why) = &report.unchecked {
        return Err(crate::error::UserError::Refused(format!(
            "{why}: there is nothing to tell anyone yet; nothing was sent"
        ))
        .into());
    }
    let filter = compose::Filter {
        sections: &args.section,
        contact: args.contact.as_deref(),
    };
    let messages = compose::messages(
        &report.rows,
        &filter,
        &dates,
        &setup.templates,
        &setup.admin_to,
    )?;
    let sent = store.sent_notifications()?;
    let mut unchanged = BTreeMap::new();
    let mut to_send = Vec::new();
    for m in messages {
        let key = SentKey {
            message_key: m.key.clone(),
            recipient: crate::rules::normal_form(&m.to),
            content_hash: m.hash.clone(),
        };
        if sent.contains(&key) {
            *unchanged.entry(m.kind).or_default() += 1;
        } else {
            to_send.push(m);
        }
    }
    Ok(Proposal {
        dates,
        to_send,
        unchanged,
        channel: setup.destination.channel(),
    })
}

/// What a run did.
#[derive(Debug, serde::Serialize)]
pub struct Outcome {
    pub channel: String,
    pub sent: BTreeMap<Kind, usize>,
    pub unchanged: BTreeMap<Kind, usize>,
    /// Messages not sent because the run stopped.
    pub not_sent: usize,
    /// Why the run stopped, if it did.
    pub stopped: Option<String>,
    pub dry_run: bool,
}

impl Outcome {
    pub fn sent_total(&self) -> usize {
        self.sent.values().sum()
    }

    pub fn unchanged_total(&self) -> usize {
        self.unchanged.values().sum()
    }

    /// What a dry run would send.
    pub fn preview(proposal: &Proposal) -> Outcome {
        Outcome {
            channel: proposal.channel.clone(),
            sent: proposal.counts(),
            unchanged: proposal.unchanged.clone(),
            not_sent: 0,
            stopped: None,
            dry_run: true,
        }
    }
}

/// Sends the proposal's messages, one at a time, each recorded once the
/// relay accepted it; stops at the first refusal. The run's change-log
/// entry is written whatever happened.
pub fn commit(
    store: &Store,
    proposal: Proposal,
    setup: &Setup,
    per_minute: Option<u32>,
    op: &Operator,
) -> Result<Outcome> {
    store.check_notify_writable()?;
    // One run at a time per store; what was sent is read again under the
    // lock, so a run that started while another was sending sends only
    // what that one did not.
    let Some(_lock) = store.notify_lock()? else {
        return Err(crate::error::UserError::Refused(
            "another `cqrs-admin notify` is sending from this store now: wait for it to \
             finish, then run this again (it will send only what that run did not); nothing \
             was sent"
                .into(),
        )
        .into());
    };
    let sent = store.sent_notifications()?;
    let mut proposal = proposal;
    let mut sent_meanwhile = Vec::new();
    proposal.to_send.retain(|m| {
        let already = sent.contains(&SentKey {
            message_key: m.key.clone(),
            recipient: crate::rules::normal_form(&m.to),
            content_hash: m.hash.clone(),
        });
        if already {
            sent_meanwhile.push(m.kind);
        }
        !already
    });
    for kind in sent_meanwhile {
        *proposal.unchanged.entry(kind).or_default() += 1;
    }
    if let Destination::Outbox { folder } = &setup.destination {
        crate::files::prepare_folder(folder, "the outbox")?;
    }
    let guarded = Guarded::store_of(store);
    let pause = per_minute.map(|n| Duration::from_secs_f64(60.0 / f64::from(n.max(1))));
    let total = proposal.to_send.len();
    let mut outcome = Outcome {
        channel: proposal.channel.clone(),
        sent: BTreeMap::new(),
        unchanged: proposal.unchanged.clone(),
        not_sent: 0,
        stopped: None,
        dry_run: false,
    };
    let result = send_all(store, &proposal, setup, pause, op, &guarded, &mut outcome);
    let sent = outcome.sent_total();
    outcome.not_sent = total - sent;
    if let Err(e) = &result {
        outcome.stopped.get_or_insert_with(|| format!("{e:#}"));
    }
    record_run(store, &outcome, op)?;
    Ok(outcome)
}

/// The run's one change-log entry, with its counts.
pub fn record_run(store: &Store, outcome: &Outcome, op: &Operator) -> Result<()> {
    store.record_notify_run(&NotifyRun {
        at: &Operator::now(),
        operator: op.actor(),
        summary: &summary(outcome),
    })
}

fn send_all(
    store: &Store,
    proposal: &Proposal,
    setup: &Setup,
    pause: Option<Duration>,
    op: &Operator,
    guarded: &Guarded,
    outcome: &mut Outcome,
) -> Result<()> {
    for (i, message) in proposal.to_send.iter().enumerate() {
        if i > 0
            && let Some(pause) = pause
        {
            std::thread::sleep(pause);
        }
        let email = deliver::build(message, &setup.from)?;
        let delivery = deliver::deliver(&setup.destination, message, &email, guarded)?;
        let message_id = email
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .to_string();
        let (outcome_word, answer) = match &delivery {
            deliver::Delivery::Accepted(answer) => ("sent", answer.clone()),
            deliver::Delivery::Refused(why) => ("refused", why.clone()),
        };
        store.record_notification(&NotificationRecord {
            message_key: message.key.clone(),
            kind: message.kind.as_str().to_string(),
            recipient: message.to.clone(),
            accounts: message.accounts.join(";"),
            content_hash: message.hash.clone(),
            message_id,
            at: Operator::now(),
            operator: op.actor.clone(),
            claimed: op.claimed,
            channel: proposal.channel.clone(),
            outcome: outcome_word.to_string(),
            relay_answer: answer.clone(),
        })?;
        match delivery {
            deliver::Delivery::Accepted(_) => *outcome.sent.entry(message.kind).or_default() += 1,
            deliver::Delivery::Refused(why) => {
                outcome.stopped = Some(format!(
                    "the {} message to {} ({}) was not accepted: {why}",
                    message.kind.as_str(),
                    message.to,
                    message.key
                ));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The run in words, for the change log.
pub fn summary(outcome: &Outcome) -> String {
    let by_kind = |counts: &BTreeMap<Kind, usize>| {
        Kind::ALL
            .iter()
            .map(|k| format!("{} {}", counts.get(k).copied().unwrap_or(0), k.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "notify via {}: {} sent ({}), {} not sent, {} unchanged since an earlier run ({})",
        outcome.channel,
        outcome.sent_total(),
        by_kind(&outcome.sent),
        outcome.not_sent,
        outcome.unchanged_total(),
        by_kind(&outcome.unchanged)
    );
    if let Some(why) = &outcome.stopped {
        text.push_str(&format!("; stopped: {why}"));
    }
    text
}
