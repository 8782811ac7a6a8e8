//! The messages of a `notify` run, from the report's rows: one to each
//! account that must act (at its own registered address), one digest to
//! each contact with a `contact_email`, and one list for the CQRS
//! administrator of the accounts that cannot be written to.
//!
//! Each message has a key (which message it is, whatever it says) and a
//! hash of what it tells its reader: the facts (section, category, the
//! address found, the contacts, the cutover date), not today's wording. A
//! run next week, when only the days left have changed, sends nothing; a
//! user whose situation changed gets the new instructions.

use std::collections::BTreeMap;

use anyhow::Result;
use minijinja::{Value, context};
use sha2::{Digest, Sha256};

use super::templates::{self, Rendered, Templates};
use crate::commands::cutover::Dates;
use crate::commands::report::ReportRow;
use crate::rules::{Category, Section, is_valid, normal_form, why_invalid};

/// The kinds of message, as the store records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Account,
    Digest,
    InvalidAddresses,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Account, Kind::Digest, Kind::InvalidAddresses];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Account => "account",
            Kind::Digest => "digest",
            Kind::InvalidAddresses => "invalid-addresses",
        }
    }

    /// Who receives this kind, in words.
    pub fn recipients(self) -> &'static str {
        match self {
            Kind::Account => "users, each at their account's own address",
            Kind::Digest => "contacts (commissioners, regions, the help desk)",
            Kind::InvalidAddresses => "the CQRS administrator",
        }
    }
}

/// A CSV file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub csv: String,
}

/// One message, ready to send.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    /// `account:ID`, `digest:CODE`, `invalid-addresses`.
    pub key: String,
    /// The recipient's address, as registered (trimmed).
    pub to: String,
    /// The recipient's name, when known.
    pub to_name: String,
    /// The accounts it is about.
    pub accounts: Vec<String>,
    pub hash: String,
    pub rendered: Rendered,
    pub attachment: Option<Attachment>,
}

/// The filters of a run (the report's).
pub struct Filter<'a> {
    pub sections: &'a [Section],
    pub contact: Option<&'a str>,
}

impl Filter<'_> {
    fn keeps(&self, row: &ReportRow) -> bool {
        (self.sections.is_empty() || self.sections.contains(&row.section))
            && self
                .contact
                .is_none_or(|c| row.contact.code().eq_ignore_ascii_case(c.trim()))
    }
}

/// What a contact is, for templates.
#[derive(serde::Serialize, Clone)]
struct ContactValue {
    code: String,
    name: String,
    email: String,
}

#[derive(serde::Serialize, Clone)]
struct RowValue {
    section: String,
    account_id: String,
    given_name: String,
    family_name: String,
    email: String,
    category: String,
    /// The NHSmail address found (a confident match), else empty.
    address_found: String,
}

fn address_found(row: &ReportRow) -> String {
    match row.nhsmail_match() {
        "ambiguous" | "none" | "" => String::new(),
        address => address.to_string(),
    }
}

fn row_value(row: &ReportRow) -> RowValue {
    RowValue {
        section: row.section.as_str().to_string(),
        account_id: row.account_id().to_string(),
        given_name: row.given_name().to_string(),
        family_name: row.family_name().to_string(),
        email: row.email().to_string(),
        category: row.category.as_str().to_string(),
        address_found: address_found(row),
    }
}

/// What is wrong with an account's address, in the user's words.
fn problem(category: Category, email: &str) -> String {
    let email = email.trim();
    match category {
        Category::NotInDirectory => {
            format!("{email} is not an NHSmail account in the NHSmail directory")
        }
        Category::NhsmailDisabled => format!("the NHSmail account {email} is disabled"),
        Category::SharedMailbox => {
            format!("{email} is a shared mailbox, and CQRS needs your own personal NHSmail address")
        }
        Category::NhsUkDomain | Category::OtherDomain => {
            format!("{email} is not an NHSmail (@nhs.net) address")
        }
        Category::DuplicateEmail => format!("{email} is the address of more than one CQRS account"),
        other => format!("{email}: {other}"),
    }
}

/// The hash of a message's facts.
fn hash(facts: &impl serde::Serialize) -> Result<String> {
    let bytes = serde_json::to_vec(facts)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn section_title(section: Section) -> &'static str {
    match section {
        Section::ContactCommissioner => "Must ask you for a new account with their NHSmail address",
        Section::NoNhsmail => "No NHSmail address found: keep using username and password",
        Section::Administrator => "A CQRS administrator must put the account right",
    }
}

/// A CSV attachment's text: every cell neutralised, so a spreadsheet never
/// runs one as a formula.
fn csv_text(headers: &[&str], rows: &[Vec<String>]) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(headers)?;
    for row in rows {
        out.write_record(
            row.iter()
                .map(|c| crate::spreadsheet::neutralise(c).into_owned()),
        )?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

const DIGEST_COLUMNS: &[&str] = &[
    "section",
    "account_id",
    "given_name",
    "family_name",
    "email",
    "category",
    "address_found",
];

/// Every message of the run, in order: accounts, digests, the list.
pub fn messages(
    rows: &[ReportRow],
    filter: &Filter<'_>,
    dates: &Dates,
    templates: &Templates,
    admin_to: &str,
) -> Result<Vec<Message>> {
    let common = templates::common(dates);
    let cutover = dates.cutover.format("%Y-%m-%d").to_string();
    let mut by_account: BTreeMap<&str, Vec<&ReportRow>> = BTreeMap::new();
    for row in rows {
        by_account.entry(row.account_id()).or_default().push(row);
    }
    let mut out = Vec::new();
    let mut invalid: Vec<&ReportRow> = Vec::new();
    for (id, rows) in &by_account {
        if !rows.iter().any(|r| filter.keeps(r)) {
            continue;
        }
        let first = rows[0];
        let email = first.email().trim();
        if !is_valid(email) || lettre::Address::try_from(email.to_string()).is_err() {
            invalid.push(first);
            continue;
        }
        // Every contact of the account, whatever the filter: the message
        // is the same however the run was narrowed.
        let contacts: Vec<ContactValue> = rows
            .iter()
            .map(|r| ContactValue {
                code: r.contact.code().to_string(),
                name: r.contact_name.to_string(),
                email: r.contact_email.to_string(),
            })
            .collect();
        let template = match first.section {
            Section::ContactCommissioner => templates::ACCOUNT_CONTACT_COMMISSIONER,
            Section::NoNhsmail => templates::ACCOUNT_NO_NHSMAIL,
            Section::Administrator => templates::ACCOUNT_ADMINISTRATOR,
        };
        let found = address_found(first);
        let key = format!("account:{id}");
        let hash = hash(&(
            &key,
            normal_form(email),
            first.section.as_str(),
            first.category.as_str(),
            &found,
            contacts
                .iter()
                .map(|c| (&c.code, &c.name, &c.email))
                .collect::<Vec<_>>(),
            &cutover,
            first.given_name(),
            first.family_name(),
        ))?;
        let values = context! {
            account_id => *id,
            given_name => first.given_name(),
            family_name => first.family_name(),
            email => email,
            section => first.section.as_str(),
            category => first.category.as_str(),
            problem => problem(first.category, email),
            address_found => found,
            contacts => Value::from(minijinja::value::Serde(&contacts)),
            ..common.clone()
        };
        out.push(Message {
            kind: Kind::Account,
            key,
            to: email.to_string(),
            to_name: format!("{} {}", first.given_name(), first.family_name()),
            accounts: vec![id.to_string()],
            hash,
            rendered: templates.render(template, values)?,
            attachment: None,
        });
    }
    // Digests: every kept row of each contact, grouped by section.
    let mut by_contact: BTreeMap<&str, Vec<&ReportRow>> = BTreeMap::new();
    for row in rows.iter().filter(|r| filter.keeps(r)) {
        by_contact.entry(row.contact.code()).or_default().push(row);
    }
    let mut without_address = Vec::new();
    for (code, rows) in &by_contact {
        let first = rows[0];
        let to = first.contact_email.trim();
        if !is_valid(to) || lettre::Address::try_from(to.to_string()).is_err() {
            without_address.push(ContactValue {
                code: code.to_string(),
                name: first.contact_name.to_string(),
                email: to.to_string(),
            });
            continue;
        }
        let values: Vec<RowValue> = rows.iter().map(|r| row_value(r)).collect();
        let groups: Vec<Value> = Section::ALL
            .iter()
            .filter_map(|s| {
                let accounts: Vec<&RowValue> = values
                    .iter()
                    .filter(|v| v.section == s.as_str())
                    .collect();
                (!accounts.is_empty()).then(|| {
                    context! { section => s.as_str(), title => section_title(*s), accounts => Value::from(minijinja::value::Serde(&accounts)) }
                })
            })
            .collect();
        let table: Vec<Vec<String>> = values
            .iter()
            .map(|v| {
                vec![
                    v.section.clone(),
                    v.account_id.clone(),
                    v.given_name.clone(),
                    v.family_name.clone(),
                    v.email.clone(),
                    v.category.clone(),
                    v.address_found.clone(),
                ]
            })
            .collect();
        let key = format!("digest:{code}");
        let hash = hash(&(
            &key,
            normal_form(to),
            first.contact_name.as_ref(),
            &cutover,
            &table,
        ))?;
        let context = context! {
            contact_code => *code,
            contact_name => first.contact_name.as_ref(),
            contact_email => to,
            count => values.len(),
            groups => groups,
            accounts => Value::from(minijinja::value::Serde(&values)),
            ..common.clone()
        };
        let mut accounts: Vec<String> = rows.iter().map(|r| r.account_id().to_string()).collect();
        accounts.dedup();
        out.push(Message {
            kind: Kind::Digest,
            key,
            to: to.to_string(),
            to_name: first.contact_name.to_string(),
            accounts,
            hash,
            rendered: templates.render(templates::DIGEST, context)?,
            attachment: Some(Attachment {
                file_name: format!("cqrs-accounts-{}.csv", file_safe(code)),
                csv: csv_text(DIGEST_COLUMNS, &table)?,
            }),
        });
    }
    if !invalid.is_empty() || !without_address.is_empty() {
        out.push(invalid_list(
            &invalid,
            &by_account,
            &without_address,
            &common,
            &cutover,
            templates,
            admin_to,
        )?);
    }
    Ok(out)
}

fn invalid_list(
    invalid: &[&ReportRow],
    by_account: &BTreeMap<&str, Vec<&ReportRow>>,
    without_address: &[ContactValue],
    common: &Value,
    cutover: &str,
    templates: &Templates,
    admin_to: &str,
) -> Result<Message> {
    #[derive(serde::Serialize)]
    struct Invalid {
        account_id: String,
        given_name: String,
        family_name: String,
        email: String,
        why: String,
        contacts: String,
    }
    let list: Vec<Invalid> = invalid
        .iter()
        .map(|r| Invalid {
            account_id: r.account_id().to_string(),
            given_name: r.given_name().to_string(),
            family_name: r.family_name().to_string(),
            // Shown escaped: an invisible character is the fault itself.
            email: crate::text::escape_invisible(r.email()).into_owned(),
            why: why_invalid(r.email())
                .unwrap_or_else(|| "the address cannot be written to".to_string()),
            contacts: by_account
                .get(r.account_id())
                .map(|rows| {
                    rows.iter()
                        .map(|c| {
                            format!(
                                "{} ({}) {}",
                                c.contact_name,
                                c.contact.code(),
                                c.contact_email
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
        })
        .collect();
    let table: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.account_id.clone(),
                a.given_name.clone(),
                a.family_name.clone(),
                a.email.clone(),
                a.why.clone(),
                a.contacts.clone(),
            ]
        })
        .collect();
    let key = "invalid-addresses".to_string();
    let hash = hash(&(
        &key,
        normal_form(admin_to),
        cutover,
        &table,
        without_address
            .iter()
            .map(|c| (&c.code, &c.email))
            .collect::<Vec<_>>(),
    ))?;
    let values = context! {
        count => list.len(),
        accounts => Value::from(minijinja::value::Serde(&list)),
        contacts_without_address => Value::from(minijinja::value::Serde(without_address)),
        ..common.clone()
    };
    Ok(Message {
        kind: Kind::InvalidAddresses,
        key,
        to: admin_to.to_string(),
        to_name: "CQRS administrator".to_string(),
        accounts: invalid.iter().map(|r| r.account_id().to_string()).collect(),
        hash,
        rendered: templates.render(templates::INVALID_ADDRESSES, values)?,
        attachment: Some(Attachment {
            file_name: "cqrs-invalid-addresses.csv".to_string(),
            csv: csv_text(
                &[
                    "account_id",
                    "given_name",
                    "family_name",
                    "email",
                    "why",
                    "contacts",
                ],
                &table,
            )?,
        }),
    })
}

/// A code as part of a file name: letters, digits and `-` only.
pub fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
