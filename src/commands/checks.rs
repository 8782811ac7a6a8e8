//! Checks a command makes before it reads the accounts, so that it never
//! answers "no account needs action" about something it did not look at:
//! a store with nothing to check, or an ODS code that is not in the store.

use anyhow::Result;

use crate::error::UserError;
use crate::rules::Contact;
use crate::rules::contact::nearest_codes;
use crate::store::Store;

/// Why the accounts cannot be checked on this store, if they cannot: no
/// accounts imported, or no NHSmail directory extract to match them with.
pub fn why_unchecked(store: &Store) -> Result<Option<String>> {
    let holdings = store.holdings()?;
    Ok(if !holdings.accounts {
        Some(
            "the store has no CQRS accounts: import them first with \
             `cqrs-admin import accounts FILE` (after `cqrs-admin import organisations FILE`), \
             then the NHSmail directory extract with `cqrs-admin import directory FILE`"
                .to_string(),
        )
    } else if !holdings.directory {
        Some(
            "the store has no NHSmail directory extract: import it first with \
             `cqrs-admin import directory FILE`"
                .to_string(),
        )
    } else {
        None
    })
}

/// For `--check`: refuses (exit 1) a check that cannot be made.
pub fn require_checkable(store: &Store, command: &str) -> Result<()> {
    match why_unchecked(store)? {
        Some(why) => Err(UserError::Refused(format!(
            "`{command} --check` cannot check anything: {why}"
        ))
        .into()),
        None => Ok(()),
    }
}

/// Refuses an ODS code given to `flag` that no organisation or role in the
/// store has, naming the nearest known codes: a mistyped code would
/// otherwise filter everything out and read as an all-clear. `contact`
/// flags also accept the CQRS administrator's code.
pub fn require_known_code(store: &Store, flag: &str, code: &str, contact: bool) -> Result<()> {
    let code = code.trim();
    if (contact && code.eq_ignore_ascii_case(Contact::ADMINISTRATOR_CODE))
        || store.knows_ods_code(code)?
    {
        return Ok(());
    }
    let known = store.ods_codes()?;
    let mut candidates: Vec<&str> = known.iter().map(String::as_str).collect();
    if contact {
        candidates.push(Contact::ADMINISTRATOR_CODE);
    }
    let advice = if known.is_empty() {
        "the store has no organisations: import them first with \
         `cqrs-admin import organisations FILE`"
            .to_string()
    } else {
        format!(
            "the nearest known codes are {}: check the code, or import the organisations file that has it",
            nearest_codes(code, candidates).join(", ")
        )
    };
    Err(UserError::Refused(format!(
        "{flag} `{code}` is not an ODS code in the store (no organisation or role has it); {advice}"
    ))
    .into())
}
