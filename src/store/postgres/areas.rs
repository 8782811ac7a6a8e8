//! Operators and their areas on PostgreSQL (issue 12, item 4). The
//! database enforces the areas itself (schema.rs, migration 2: grants given
//! to each registered login, and row-level security narrowing every table
//! to the login's area); this module registers operators (the owner only),
//! tells a command which accounts lie outside the operator's area and who
//! can act on them, and refuses what only the owner or a national operator
//! may do before anything is written.

use anyhow::Result;

use super::{PgStore, quote_ident, schema};
use crate::error::UserError;
use crate::store::{Actor, OutsideArea, RegisteredOperator};

/// The database's clock as the change log writes it.
const NOW: &str =
    "to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

/// Who the session is, as far as areas go.
struct Session {
    is_owner: bool,
    owner: String,
    login: String,
}

impl PgStore {
    /// The organisations of this login's area, or None when it sees the
    /// whole store (the owner, a national operator).
    pub(crate) fn area(&self) -> Result<Option<Vec<String>>> {
        Ok(self
            .query("SELECT public.cqrs_area()", &[], |r| {
                r.try_get::<_, Option<Vec<String>>>(0)
            })?
            .pop()
            .flatten())
    }

    fn session(&self) -> Result<Session> {
        self.query(
            "SELECT public.cqrs_is_owner(), pg_get_userbyid(d.datdba)::text, session_user::text
             FROM pg_database d WHERE d.datname = current_database()",
            &[],
            |r| {
                Ok(Session {
                    is_owner: r.try_get(0)?,
                    owner: r.try_get(1)?,
                    login: r.try_get(2)?,
                })
            },
        )?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the store's database was not found"))
    }

    /// Refuses, before anything is written, what only the store's owner may
    /// do (imports, registering operators).
    pub(crate) fn refuse_unless_owner(&self, what: &str) -> Result<()> {
        let s = self.session()?;
        if s.is_owner {
            return Ok(());
        }
        Err(UserError::Refused(format!(
            "only the store's owner ({}) may {what}: you are logged in as {}. Nothing was \
             changed; ask {} to do it",
            s.owner, s.login, s.owner
        ))
        .into())
    }

    /// Refuses, before anything is written, what only the whole store's
    /// operators (the owner, a national operator) may do.
    pub(crate) fn refuse_unless_national(&self, what: &str) -> Result<()> {
        if self.area()?.is_none() {
            return Ok(());
        }
        let s = self.session()?;
        Err(UserError::Refused(format!(
            "only a national operator or the store's owner ({}) may {what}: you are logged in \
             as {}, an operator for one area. Nothing was changed; ask a national operator \
             or {}",
            s.owner, s.login, s.owner
        ))
        .into())
    }

    /// Of these accounts, those this login may not act on, with who can.
    pub(crate) fn outside_area(&self, account_ids: &[&str]) -> Result<Vec<OutsideArea>> {
        if account_ids.is_empty() || self.area()?.is_none() {
            return Ok(Vec::new());
        }
        self.query(
            "SELECT account_id, outside_codes, national_logins, covering_logins
             FROM public.cqrs_outside_area($1)",
            &[&account_ids],
            |r| {
                Ok(OutsideArea {
                    account_id: r.try_get(0)?,
                    outside: r.try_get(1)?,
                    national: r.try_get(2)?,
                    covering: r.try_get(3)?,
                })
            },
        )
    }

    /// Every registered operator, by login (the owner only).
    pub(crate) fn operators(&self) -> Result<Vec<RegisteredOperator>> {
        self.refuse_unless_owner("list the operators")?;
        self.query(
            "SELECT login, ods_code, added_at, added_by FROM operators ORDER BY login",
            &[],
            |r| {
                Ok(RegisteredOperator {
                    login: r.try_get(0)?,
                    ods_code: r.try_get(1)?,
                    added_at: r.try_get(2)?,
                    added_by: r.try_get(3)?,
                })
            },
        )
    }

    /// Registers an existing login as an operator, national or for the
    /// area of `ods_code`: its row, its grants and the change-log entry,
    /// in one transaction (the owner only).
    pub(crate) fn add_operator(
        &mut self,
        login: &str,
        ods_code: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<RegisteredOperator> {
        self.refuse_unless_owner("register operators")?;
        let s = self.session()?;
        let refuse = |why: String| -> anyhow::Error {
            UserError::Refused(format!(
                "cannot register {login} as an operator: {why}; nothing was changed"
            ))
            .into()
        };
        let found: Vec<(bool, bool)> = self.query(
            "SELECT rolcanlogin, pg_has_role(oid, (SELECT datdba FROM pg_database
                                                   WHERE datname = current_database()), 'MEMBER')
             FROM pg_roles WHERE rolname = $1",
            &[&login],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )?;
        match found.first() {
            None => {
                return Err(refuse(format!(
                    "there is no database login {login} on this server (create it first, e.g. \
                     `createuser {login}`, then run this again)"
                )));
            }
            Some((false, _)) => {
                return Err(refuse(format!(
                    "the role {login} cannot log in (ALTER ROLE {login} LOGIN, or name a login)"
                )));
            }
            Some((_, true)) => {
                return Err(refuse(format!(
                    "{login} acts as the store's owner ({}) and already sees and may do everything",
                    s.owner
                )));
            }
            Some(_) => {}
        }
        if let Some(existing) = self
            .query(
                "SELECT ods_code FROM operators WHERE login = $1",
                &[&login],
                |r| r.try_get::<_, Option<String>>(0),
            )?
            .pop()
        {
            return Err(refuse(format!(
                "it is already an operator ({}): to change its area, run `cqrs-admin operators \
                 remove {login}` first",
                area_words(existing.as_deref())
            )));
        }
        let ods_code = match ods_code {
            None => None,
            Some(code) => Some(
                self.query(
                    "SELECT ods_code FROM organisations
                     WHERE lower(ods_code) = lower($1 COLLATE \"C\") ORDER BY ods_code LIMIT 1",
                    &[&code],
                    |r| r.try_get::<_, String>(0),
                )?
                .pop()
                .ok_or_else(|| {
                    refuse(format!(
                        "the store has no organisation {code} (import the organisations file \
                         first, or check the ODS code)"
                    ))
                })?,
            ),
        };
        let reason = format!("{login} registered as {}", area_words(ods_code.as_deref()));
        let ident = quote_ident(login);
        self.transaction(postgres::IsolationLevel::ReadCommitted, |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO operators (login, ods_code, added_at, added_by)
                     VALUES ($1, $2, {NOW}, session_user)"
                ),
                &[&login, &ods_code],
            )?;
            for grant in schema::OPERATOR_GRANTS {
                tx.batch_execute(&grant.replace("{login}", &ident))?;
            }
            tx.execute(
                "INSERT INTO change_log (action, reason, actor) VALUES ('operator add', $1, $2)",
                &[&reason, &actor.claim()],
            )?;
            Ok(())
        })?;
        self.registered(login)
    }

    /// Takes a login's registration and grants back, with the change-log
    /// entry, in one transaction (the owner only).
    pub(crate) fn remove_operator(
        &mut self,
        login: &str,
        actor: Actor<'_>,
    ) -> Result<RegisteredOperator> {
        self.refuse_unless_owner("remove operators")?;
        let Ok(was) = self.registered(login) else {
            return Err(UserError::Refused(format!(
                "{login} is not a registered operator (`cqrs-admin operators list` shows who \
                 is): nothing was changed"
            ))
            .into());
        };
        let reason = format!("{login} no longer {}", area_words(was.ods_code.as_deref()));
        let ident = quote_ident(login);
        self.transaction(postgres::IsolationLevel::ReadCommitted, |tx| {
            tx.execute("DELETE FROM operators WHERE login = $1", &[&login])?;
            for revoke in schema::OPERATOR_REVOKES {
                tx.batch_execute(&revoke.replace("{login}", &ident))?;
            }
            tx.execute(
                "INSERT INTO change_log (action, reason, actor) VALUES ('operator remove', $1, $2)",
                &[&reason, &actor.claim()],
            )?;
            Ok(())
        })?;
        Ok(was)
    }

    fn registered(&self, login: &str) -> Result<RegisteredOperator> {
        self.query(
            "SELECT login, ods_code, added_at, added_by FROM operators WHERE login = $1",
            &[&login],
            |r| {
                Ok(RegisteredOperator {
                    login: r.try_get(0)?,
                    ods_code: r.try_get(1)?,
                    added_at: r.try_get(2)?,
                    added_by: r.try_get(3)?,
                })
            },
        )?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("{login} is not a registered operator"))
    }
}

/// "a national operator", or "an operator for the area of ODS".
fn area_words(ods_code: Option<&str>) -> String {
    match ods_code {
        None => "a national operator".to_string(),
        Some(code) => format!("an operator for the area of {code}"),
    }
}
