//! Where `notify`'s messages go: `.eml` files in an outbox folder, or an
//! SMTP relay (lettre, with its pure-Rust TLS). Both are checked before anything is
//! composed, and credentials come only from the environment.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};

use super::compose::{Message, file_safe};
use crate::error::UserError;
use crate::files::{Guarded, Target};

/// The environment variables holding the relay's user and password: never
/// the command line, where other users of the machine can read them.
pub const USER_VAR: &str = "CQRS_ADMIN_SMTP_USER";
pub const PASSWORD_VAR: &str = "CQRS_ADMIN_SMTP_PASSWORD";

/// Where the messages go.
pub enum Destination {
    Outbox {
        folder: PathBuf,
    },
    Smtp {
        shown: String,
        transport: Box<SmtpTransport>,
    },
}

impl Destination {
    /// How the destination is named in messages and the store (never with
    /// a password).
    pub fn channel(&self) -> String {
        match self {
            Destination::Outbox { folder } => format!("outbox:{}", folder.display()),
            Destination::Smtp { shown, .. } => shown.clone(),
        }
    }
}

/// Checks an outbox folder (a folder or nothing yet; never a link).
pub fn outbox(folder: &Path) -> Result<Destination> {
    crate::files::check_folder(folder).map_err(|e| {
        UserError::Refused(
            e.to_string()
                .replace("cannot export into", "cannot use the outbox"),
        )
    })?;
    Ok(Destination::Outbox {
        folder: folder.to_path_buf(),
    })
}

fn refused(text: String) -> anyhow::Error {
    UserError::Refused(text).into()
}

/// Checks `--smtp URL` and builds its transport: `smtps://` is TLS from the
/// start; `smtp://` requires STARTTLS, except to a loopback address (a relay
/// on this machine), where plain SMTP is allowed.
pub fn smtp(url: &str) -> Result<Destination> {
    let hint = "give --smtp as smtps://HOST[:PORT] (TLS) or smtp://HOST[:PORT] (STARTTLS; plain \
                SMTP only to a loopback address such as 127.0.0.1)";
    let parsed = url::Url::parse(url)
        .map_err(|e| refused(format!("--smtp `{url}` is not a URL ({e}): {hint}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // The URL itself is not repeated: it holds the password.
        return Err(refused(format!(
            "--smtp must not carry a user or password: a command line can be read by other \
             users of this machine and is kept in shell histories. Set {USER_VAR} and \
             {PASSWORD_VAR} in the environment instead; nothing was sent"
        )));
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(refused(format!("--smtp `{url}` names no relay: {hint}"))),
    };
    if (parsed.path() != "" && parsed.path() != "/") || parsed.query().is_some() {
        return Err(refused(format!(
            "--smtp `{url}` has a path or options, which are not used: {hint}"
        )));
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let tls_for = |host: &str| {
        TlsParameters::new(host.to_string()).map_err(|e| {
            refused(format!(
                "cannot set up TLS for the relay {host}: {e}; nothing was sent"
            ))
        })
    };
    let (tls, default_port) = match parsed.scheme() {
        "smtps" => (Tls::Wrapper(tls_for(&host)?), 465),
        "smtp" if loopback => (Tls::None, 25),
        "smtp" => (Tls::Required(tls_for(&host)?), 587),
        other => {
            return Err(refused(format!(
                "--smtp `{url}`: `{other}` is not smtps or smtp: {hint}"
            )));
        }
    };
    let port = parsed.port().unwrap_or(default_port);
    let mut builder = SmtpTransport::builder_dangerous(host.clone())
        .port(port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(60)));
    match (std::env::var(USER_VAR), std::env::var(PASSWORD_VAR)) {
        (Ok(user), Ok(password)) => {
            builder = builder.credentials(Credentials::new(user, password));
        }
        (Err(_), Err(_)) => {}
        _ => {
            return Err(refused(format!(
                "only one of {USER_VAR} and {PASSWORD_VAR} is set: set both for a relay that \
                 needs signing in to, or neither; nothing was sent"
            )));
        }
    }
    Ok(Destination::Smtp {
        shown: format!("{}://{host}:{port}", parsed.scheme()),
        transport: Box::new(builder.build()),
    })
}

/// Checks `--from` (and `--admin-to`): an address a message can carry.
pub fn address(flag: &str, text: &str) -> Result<Address> {
    text.trim().parse::<Address>().map_err(|e| {
        refused(format!(
            "{flag} `{text}` is not an email address ({e}): give one such as \
             cqrs.admin@nhs.net; nothing was sent"
        ))
    })
}

/// The message as lettre builds it: From, To, Subject, Date, Message-ID,
/// a plain-text body, and the CSV attached.
pub fn build(message: &Message, from: &Address) -> Result<lettre::Message> {
    let to: Address = message.to.parse().map_err(|e| {
        anyhow::anyhow!(
            "{}: the address {} cannot be written to ({e})",
            message.key,
            message.to
        )
    })?;
    let name = message.to_name.trim();
    let to = Mailbox::new((!name.is_empty()).then(|| name.to_string()), to);
    // The same message always has the same Message-ID: a message sent
    // again after an interrupted run is recognisably the same one.
    let message_id = format!(
        "<{}.{}@{}>",
        &message.hash[..32.min(message.hash.len())],
        file_safe(&message.key),
        from.domain()
    );
    let builder = lettre::Message::builder()
        .from(Mailbox::new(
            Some("CQRS administrator".into()),
            from.clone(),
        ))
        .to(to)
        .subject(message.rendered.subject.clone())
        .message_id(Some(message_id))
        .date_now();
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(message.rendered.body.clone());
    let built = match &message.attachment {
        None => builder.singlepart(body),
        Some(a) => builder.multipart(MultiPart::mixed().singlepart(body).singlepart(
            Attachment::new(a.file_name.clone()).body(
                a.csv.clone(),
                ContentType::parse("text/csv; charset=utf-8")?,
            ),
        )),
    };
    Ok(built?)
}

/// What became of one message.
pub enum Delivery {
    /// Accepted: the relay's answer, or the file written.
    Accepted(String),
    /// Refused or not known to have arrived: why (the relay's answer, or
    /// the connection's failure). Nothing after it is tried.
    Refused(String),
}

/// The file an outbox message is written to.
pub fn outbox_file(folder: &Path, message: &Message) -> PathBuf {
    folder.join(format!(
        "{}-{}.eml",
        file_safe(&message.key),
        &message.hash[..16.min(message.hash.len())]
    ))
}

/// Hands one message to its destination.
pub fn deliver(
    destination: &Destination,
    message: &Message,
    email: &lettre::Message,
    guarded: &Guarded,
) -> Result<Delivery> {
    match destination {
        Destination::Outbox { folder } => {
            let path = outbox_file(folder, message);
            // The name holds the message's hash: a file already there is
            // this message, written by a run stopped before recording it.
            let target = Target::check(&path, true, guarded, "the message")?;
            if let Target::File(file) = target {
                use std::io::Write;
                let mut out = file.create("the message")?;
                out.write_all(&email.formatted())?;
                out.commit(guarded, "the message")?;
            }
            Ok(Delivery::Accepted(format!("written to {}", path.display())))
        }
        Destination::Smtp { transport, .. } => match transport.send(email) {
            Ok(response) => Ok(Delivery::Accepted(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            ))),
            Err(e) => {
                let what = match e.status() {
                    Some(code) => format!("the relay answered {code}: {e}"),
                    None if e.is_timeout() => format!("the relay did not answer in time: {e}"),
                    None => format!("the connection to the relay failed: {e}"),
                };
                Ok(Delivery::Refused(what))
            }
        },
    }
}
