//! How `notify`'s records look: the counts by kind and recipient, one
//! example of each kind (on standard error, before the question), and the
//! templates written.

use std::io;
use std::path::PathBuf;

use super::{Sink, message, print_json, print_text, render_table, shown};
use crate::cli::Format;
use crate::commands::notify::{Kind, Outcome, Proposal};

/// The question asked at a terminal.
pub fn question(proposal: &Proposal) -> String {
    format!(
        "Send these {} message(s) via {}?",
        proposal.to_send.len(),
        proposal.channel
    )
}

/// The counts by kind, then one message of each kind in full, on standard
/// error (standard output keeps the record).
pub fn preview_on_stderr(proposal: &Proposal) -> anyhow::Result<()> {
    let mut text = String::new();
    for kind in Kind::ALL {
        let n = proposal.counts().get(&kind).copied().unwrap_or(0);
        let same = proposal.unchanged.get(&kind).copied().unwrap_or(0);
        text.push_str(&format!(
            "{n} {} message(s) to {} ({same} already sent and unchanged)\n",
            kind.as_str(),
            kind.recipients()
        ));
    }
    for m in proposal.examples() {
        text.push_str(&format!(
            "\n--- example {} message ---\nTo: {} <{}>\nSubject: {}\n\n{}",
            m.kind.as_str(),
            m.to_name,
            m.to,
            m.rendered.subject,
            m.rendered.body
        ));
        if let Some(a) = &m.attachment {
            text.push_str(&format!(
                "[attached: {} ({} rows)]\n",
                a.file_name,
                a.csv.lines().count().saturating_sub(1)
            ));
        }
    }
    message(shown(text.trim_end()).as_ref());
    Ok(())
}

const COLUMNS: &[&str] = &["kind", "recipients", "sent", "unchanged", "channel"];

/// The run's counts: sent (or, for a dry run, would be sent) and left out
/// as unchanged, by kind.
pub fn outcome(outcome: &Outcome, format: Format) -> io::Result<()> {
    let rows: Vec<Vec<String>> = Kind::ALL
        .iter()
        .map(|k| {
            vec![
                k.as_str().to_string(),
                k.recipients().to_string(),
                outcome.sent.get(k).copied().unwrap_or(0).to_string(),
                outcome.unchanged.get(k).copied().unwrap_or(0).to_string(),
                outcome.channel.clone(),
            ]
        })
        .collect();
    match format {
        Format::Json => print_json(outcome),
        Format::Csv => {
            let mut sink = Sink::stdout(format, COLUMNS)?;
            for row in &rows {
                let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                sink.row(&cells)?;
            }
            sink.finish()
        }
        Format::Table => {
            let mut headers = COLUMNS.to_vec();
            if outcome.dry_run {
                headers[2] = "would send";
            }
            let mut text = render_table(&headers, &rows);
            text.push('\n');
            if outcome.not_sent > 0 {
                text.push_str(&format!("not sent: {}\n", outcome.not_sent));
            }
            print_text(&shown(&text))
        }
    }
}

/// The templates `notify --write-templates` wrote.
pub fn templates_written(written: &[PathBuf], format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        print_json(&written)?;
    }
    let folder = written
        .first()
        .and_then(|p| p.parent())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    message(&format!(
        "wrote {} templates to {folder}: edit them, then send with `cqrs-admin notify \
         --templates {folder} ...`",
        written.len()
    ));
    Ok(())
}
