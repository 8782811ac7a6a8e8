//! The words of `notify`'s messages: built-in defaults in plain English,
//! or an operator's edited copies (`--templates DIR`), rendered with
//! minijinja. Every template is tried on a sample message as it is loaded,
//! with undefined values an error, so that a template naming something
//! unknown is refused before anything is sent.

use std::path::{Path, PathBuf};

use anyhow::Result;
use minijinja::{Environment, UndefinedBehavior, Value, context};

use crate::error::UserError;
use crate::files::{Guarded, Target, prepare_folder};

/// Each template's file name, and what it is for.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        ACCOUNT_CONTACT_COMMISSIONER,
        "to an account whose address is not its NHSmail address",
    ),
    (
        ACCOUNT_NO_NHSMAIL,
        "to an account with no NHSmail address found",
    ),
    (
        ACCOUNT_ADMINISTRATOR,
        "to an account an administrator must put right (an address on two accounts)",
    ),
    (
        DIGEST,
        "to each contact: every one of their accounts that needs action",
    ),
    (
        INVALID_ADDRESSES,
        "to the CQRS administrator: accounts whose address cannot be written to",
    ),
];

pub const ACCOUNT_CONTACT_COMMISSIONER: &str = "account-contact-commissioner.txt";
pub const ACCOUNT_NO_NHSMAIL: &str = "account-no-nhsmail.txt";
pub const ACCOUNT_ADMINISTRATOR: &str = "account-administrator.txt";
pub const DIGEST: &str = "digest.txt";
pub const INVALID_ADDRESSES: &str = "invalid-addresses.txt";

/// The CQRS help desk, as the bulletin gives it.
pub const HELP_DESK_EMAIL: &str = "support@cqrs.co.uk";
pub const HELP_DESK_PHONE: &str = "0800 4402777";

const DEFAULT_ACCOUNT_CONTACT_COMMISSIONER: &str = "\
Subject: Action needed before {{ cutover }}: your CQRS account cannot use NHSmail sign-in yet

Dear {{ given_name }} {{ family_name }},

From {{ cutover }} you will sign in to CQRS (the Calculating Quality
Reporting Service) with your NHSmail (@nhs.net) address. {{ when }}

What is wrong: {{ problem }}
Your CQRS account {{ account_id }} is registered with {{ email }}, so you
will not be able to sign in to CQRS through NHSmail with this account.

What to do, before {{ cutover }}:
{%- if address_found %}
  We found this NHSmail address for you: {{ address_found }}
  If this is yours, ask for a new CQRS account with it.
{%- endif %}
  Contact {% for c in contacts %}{% if not loop.first %}{% if loop.last %} or {% else %}, {% endif %}{% endif %}{{ c.name }}{% if c.email %} ({{ c.email }}){% endif %}{% endfor %}
  and ask for a new CQRS account to be set up with your NHSmail address.
  The email address of an existing CQRS account cannot be changed.

Your profile and permissions stay the same: with the same permissions on the
new account you will still see your history (offers, approvals) and so will
the rest of your organisation.

If you have no NHSmail account, keep signing in with your username and
password until further guidance is released.

CQRS help desk: {{ help_desk_email }}, {{ help_desk_phone }}
(8am to 6pm, Monday to Friday, except bank holidays)
";

const DEFAULT_ACCOUNT_NO_NHSMAIL: &str = "\
Subject: Signing in to CQRS from {{ cutover }}: keep using your username and password

Dear {{ given_name }} {{ family_name }},

From {{ cutover }} CQRS (the Calculating Quality Reporting Service) signs
people in through NHSmail (@nhs.net). {{ when }}

Your CQRS account {{ account_id }} is registered with {{ email }}, and we
found no NHSmail account for you: {{ problem }}

What to do:
  Keep signing in to CQRS with your username and password until further
  guidance is released; we will write to you again when it is.
  On your first sign-in on or after {{ cutover }} you may be asked to call
  the CQRS service desk.
  If you do have an NHSmail account, contact {% for c in contacts %}{% if not loop.first %}{% if loop.last %} or {% else %}, {% endif %}{% endif %}{{ c.name }}{% if c.email %} ({{ c.email }}){% endif %}{% endfor %}
  before {{ cutover }} and ask for a new CQRS account with it.

CQRS help desk: {{ help_desk_email }}, {{ help_desk_phone }}
(8am to 6pm, Monday to Friday, except bank holidays)
";

const DEFAULT_ACCOUNT_ADMINISTRATOR: &str = "\
Subject: Your CQRS account needs putting right before {{ cutover }}

Dear {{ given_name }} {{ family_name }},

From {{ cutover }} you will sign in to CQRS (the Calculating Quality
Reporting Service) with your NHSmail (@nhs.net) address. {{ when }}

What is wrong: {{ problem }}
Your CQRS account {{ account_id }} is registered with {{ email }}. Until a
CQRS administrator puts this right you may not be able to sign in through
NHSmail.

What to do, before {{ cutover }}:
  Contact {% for c in contacts %}{% if not loop.first %}{% if loop.last %} or {% else %}, {% endif %}{% endif %}{{ c.name }}{% if c.email %} ({{ c.email }}){% endif %}{% endfor %}
  and ask for your account to be put right.
{%- if address_found %}
  The NHSmail address we found for you is {{ address_found }}: tell them
  whether it is yours.
{%- endif %}

CQRS help desk: {{ help_desk_email }}, {{ help_desk_phone }}
(8am to 6pm, Monday to Friday, except bank holidays)
";

const DEFAULT_DIGEST: &str = "\
Subject: CQRS sign-in from {{ cutover }}: {{ count }} of your users must act

Dear {{ contact_name }},

From {{ cutover }} CQRS (the Calculating Quality Reporting Service) signs
people in through NHSmail. {{ when }}

{{ count }} CQRS account(s) for which you are the contact will need your help.
Each of these users has been written to at their account's own address
(except those whose address is not valid) and told to contact you.
The same list is attached as a spreadsheet (CSV).
{% for group in groups %}
{{ group.title }} ({{ group.accounts | length }}):
{%- for a in group.accounts %}
  {{ a.account_id }}  {{ a.given_name }} {{ a.family_name }}  {{ a.email }}
{%- if a.address_found %}  NHSmail address found: {{ a.address_found }}{% endif %}
{%- endfor %}
{% endfor %}
For those asking for a new account: the email address of an existing CQRS
account cannot be changed; set up a new account with the user's NHSmail
address and the same permissions, and their history stays visible.

CQRS help desk: {{ help_desk_email }}, {{ help_desk_phone }}
";

const DEFAULT_INVALID_ADDRESSES: &str = "\
Subject: CQRS accounts that cannot be written to: {{ count }} invalid address(es)

These accounts need action before {{ cutover }} but their registered address
is not valid, so no message was sent to them. {{ when }}
Put each one right, or reach the user another way.
{% for a in accounts %}
  {{ a.account_id }}  {{ a.given_name }} {{ a.family_name }}
    address: {{ a.email }}
    why: {{ a.why }}
    contact: {{ a.contacts }}
{%- endfor %}
{% if contacts_without_address %}
These contacts have no valid contact_email, so no digest was sent to them:
{%- for c in contacts_without_address %}
  {{ c.code }}  {{ c.name }}{% if c.email %} ({{ c.email }}){% endif %}
{%- endfor %}
{% endif %}
The same list is attached as a spreadsheet (CSV).
";

fn default_text(name: &str) -> &'static str {
    match name {
        ACCOUNT_CONTACT_COMMISSIONER => DEFAULT_ACCOUNT_CONTACT_COMMISSIONER,
        ACCOUNT_NO_NHSMAIL => DEFAULT_ACCOUNT_NO_NHSMAIL,
        ACCOUNT_ADMINISTRATOR => DEFAULT_ACCOUNT_ADMINISTRATOR,
        DIGEST => DEFAULT_DIGEST,
        _ => DEFAULT_INVALID_ADDRESSES,
    }
}

/// The templates a run uses, each tried on a sample message.
pub struct Templates {
    env: Environment<'static>,
    /// Where they came from, for messages.
    origin: Option<PathBuf>,
}

/// A rendered message: its subject line and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl Templates {
    /// The built-in templates.
    pub fn built_in() -> Result<Templates> {
        let sources = TEMPLATES
            .iter()
            .map(|(name, _)| (name.to_string(), default_text(name).to_string()))
            .collect();
        Templates::from_sources(sources, None)
    }

    /// The templates in `folder`: every one of [`TEMPLATES`] must be there.
    pub fn from_folder(folder: &Path) -> Result<Templates> {
        let mut sources = Vec::new();
        for (name, _) in TEMPLATES {
            let path = folder.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                UserError::Refused(format!(
                    "cannot read the template {}: {e}; every template must be in the folder \
                     (write the built-in ones there with `cqrs-admin notify --write-templates {}` \
                     and edit them); nothing was sent",
                    path.display(),
                    folder.display()
                ))
            })?;
            sources.push((name.to_string(), text));
        }
        Templates::from_sources(sources, Some(folder.to_path_buf()))
    }

    fn from_sources(sources: Vec<(String, String)>, origin: Option<PathBuf>) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut templates = Templates { env, origin };
        for (name, text) in sources {
            if !text.starts_with("Subject:") {
                return Err(templates.problem(
                    &name,
                    Some(1),
                    "its first line must be `Subject: ...` (the message's subject), then a \
                     blank line, then the body",
                ));
            }
            let result = templates.env.add_template_owned(name.clone(), text);
            if let Err(e) = result {
                return Err(templates.problem(&name, e.line(), &e.to_string()));
            }
        }
        // Try each on a sample, so that an unknown variable is found now.
        for (name, _) in TEMPLATES {
            templates.render(name, sample(name))?;
        }
        Ok(templates)
    }

    fn describe(&self, name: &str) -> String {
        match &self.origin {
            Some(folder) => folder.join(name).display().to_string(),
            None => format!("the built-in template {name}"),
        }
    }

    fn problem(&self, name: &str, line: Option<usize>, what: &str) -> anyhow::Error {
        let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
        UserError::Refused(format!(
            "{}{at}: {what}. A template may use only the values listed in `cqrs-admin help \
             notify` (and in the built-in templates: `cqrs-admin notify --write-templates DIR`); \
             fix the template; nothing was sent",
            self.describe(name)
        ))
        .into()
    }

    /// Renders template `name` for one message.
    pub fn render(&self, name: &str, values: Value) -> Result<Rendered> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| self.problem(name, None, &e.to_string()))?;
        let text = template.render(values).map_err(|e| {
            let mut what = e.to_string();
            if let Some(detail) = e.detail() {
                what = format!("{what} ({detail})");
            }
            self.problem(name, e.line(), &what)
        })?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        // One line, whatever the values held: a subject never carries a
        // line break into the message's headers.
        let subject = first
            .trim_start_matches("Subject:")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut body = body.strip_prefix('\n').unwrap_or(body).to_string();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Ok(Rendered { subject, body })
    }
}

/// Writes the built-in templates into `folder` (created owner-only if
/// missing), each through the file checks; returns the files written.
pub fn write_defaults(folder: &Path, force: bool, guarded: &Guarded) -> Result<Vec<PathBuf>> {
    prepare_folder(folder, "the templates")?;
    let mut targets = Vec::new();
    for (name, _) in TEMPLATES {
        let target = Target::check(&folder.join(name), force, guarded, "the template")?;
        targets.push((name, target));
    }
    let mut written = Vec::new();
    for (name, target) in targets {
        if let Target::File(file) = target {
            use std::io::Write;
            let mut out = file.create("the template")?;
            out.write_all(default_text(name).as_bytes())?;
            out.commit(guarded, "the template")?;
            written.push(file.path().to_path_buf());
        }
    }
    Ok(written)
}

/// The values every message has.
pub fn common(dates: &crate::commands::cutover::Dates) -> Value {
    context! {
        cutover => dates.cutover.format("%A %-d %B %Y").to_string(),
        cutover_date => dates.cutover.format("%Y-%m-%d").to_string(),
        days_left => dates.days_left(),
        when => dates.describe(),
        help_desk_email => HELP_DESK_EMAIL,
        help_desk_phone => HELP_DESK_PHONE,
    }
}

/// A message of each kind with every value set, to try a template on.
fn sample(name: &str) -> Value {
    let dates = crate::commands::cutover::Dates {
        cutover: chrono::NaiveDate::from_ymd_opt(2020, 9, 23).unwrap_or_default(),
        today: chrono::NaiveDate::from_ymd_opt(2020, 9, 9).unwrap_or_default(),
    };
    let contact = context! { code => "07L", name => "NHS Barking and Dagenham CCG",
    email => "bdccg.primarycare@nhs.net" };
    let own = match name {
        DIGEST => context! {
            contact_code => "07L",
            contact_name => "NHS Barking and Dagenham CCG",
            contact_email => "bdccg.primarycare@nhs.net",
            count => 1,
            groups => vec![context! {
                section => "contact-commissioner",
                title => "Must ask for a new account",
                accounts => vec![sample_row()],
            }],
            accounts => vec![sample_row()],
        },
        INVALID_ADDRESSES => context! {
            count => 1,
            accounts => vec![context! {
                account_id => "U1", given_name => "Susan", family_name => "Baker",
                email => "susan.baker@nhs.net",
                why => "character 1 is U+0455 CYRILLIC SMALL LETTER DZE",
                contacts => "NHS Devon CCG (15N) d-ccg.primarycare@nhs.net",
            }],
            contacts_without_address => vec![context! { code => "Y63",
                name => "North East and Yorkshire", email => "" }],
        },
        _ => context! {
            account_id => "U1",
            given_name => "Sarah",
            family_name => "Jones",
            email => "sarah.jones@example.nhs.uk",
            section => "contact-commissioner",
            category => "nhs-uk-domain",
            problem => "sarah.jones@example.nhs.uk is not an NHSmail (@nhs.net) address",
            address_found => "sarah.jones@nhs.net",
            contacts => vec![contact],
        },
    };
    context! { ..own, ..common(&dates) }
}

fn sample_row() -> Value {
    context! {
        section => "contact-commissioner", account_id => "U1", given_name => "Sarah",
        family_name => "Jones", email => "sarah.jones@example.nhs.uk", category => "nhs-uk-domain",
        address_found => "sarah.jones@nhs.net",
    }
}
