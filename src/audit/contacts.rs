//! The organisations, and whom an account must contact about its cutover.
//!
//! `audit`, `report`, `plan` and `accounts show` name each account's contacts
//! (rules.md: the practice, its commissioner or region, else the CQRS help
//! desk). The rule itself is `rules::contacts_for`, a pure function; this
//! holds the few thousand organisations it asks about, by ODS code, and
//! turns a contact into the name and address shown.

use std::collections::HashMap;

use anyhow::Result;

use crate::model::Organisation;
use crate::rules::{Contact, contacts_for};
use crate::store::{RoleView, Store};

/// The organisations by ODS code, for naming contacts.
pub struct Organisations {
    by_code: HashMap<String, Organisation>,
}

impl Organisations {
    pub fn load(store: &Store) -> Result<Organisations> {
        Ok(Organisations::new(store.organisations()?))
    }

    fn new(list: Vec<Organisation>) -> Organisations {
        Organisations {
            by_code: list.into_iter().map(|o| (o.ods_code.clone(), o)).collect(),
        }
    }

    fn get(&self, code: &str) -> Option<&Organisation> {
        self.by_code.get(code)
    }

    /// Whom an account holding roles at these organisations must contact.
    pub fn contacts(&self, roles: &[RoleView<'_>]) -> Vec<Contact> {
        let mut codes: Vec<&str> = roles.iter().map(|r| r.ods_code).collect();
        codes.sort_unstable();
        codes.dedup();
        contacts_for(&codes, |code| {
            self.get(code).map(|o| (o.kind, o.parent_code.as_deref()))
        })
    }

    /// The contact's display name and email.
    pub fn contact_details(&self, contact: &Contact) -> (String, String) {
        match contact {
            Contact::Organisation(code) => match self.get(code) {
                Some(o) => (o.name.clone(), o.contact_email.clone().unwrap_or_default()),
                None => (code.clone(), String::new()),
            },
            Contact::CqrsAdministrator => (
                CQRS_ADMINISTRATOR_NAME.to_string(),
                CQRS_ADMINISTRATOR_EMAIL.to_string(),
            ),
        }
    }
}

/// Who handles accounts no organisation can: the CQRS help desk of the seeds.
const CQRS_ADMINISTRATOR_NAME: &str = "CQRS administrator (help desk)";
const CQRS_ADMINISTRATOR_EMAIL: &str = "support@cqrs.co.uk";
