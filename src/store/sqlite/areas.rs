//! Areas on an SQLite store: there are none. An SQLite store is one
//! operator's file, with no logins to register and nothing to narrow, so
//! nothing lies outside anyone's area, and registering operators is refused
//! with what to use instead (a shared PostgreSQL store).

use anyhow::Result;

use super::SqliteStore;
use crate::error::UserError;
use crate::store::{NO_AREAS, OutsideArea, RegisteredOperator};

impl SqliteStore {
    /// No account lies outside an area: there are no areas.
    pub(crate) fn outside_area(&self, _account_ids: &[&str]) -> Result<Vec<OutsideArea>> {
        Ok(Vec::new())
    }

    pub(crate) fn operators(&self) -> Result<Vec<RegisteredOperator>> {
        Err(UserError::Refused(NO_AREAS.to_string()).into())
    }

    pub(crate) fn add_operator(
        &mut self,
        _login: &str,
        _ods_code: Option<&str>,
        _actor: crate::store::Actor<'_>,
    ) -> Result<RegisteredOperator> {
        Err(UserError::Refused(NO_AREAS.to_string()).into())
    }

    pub(crate) fn remove_operator(
        &mut self,
        _login: &str,
        _actor: crate::store::Actor<'_>,
    ) -> Result<RegisteredOperator> {
        Err(UserError::Refused(NO_AREAS.to_string()).into())
    }
}
