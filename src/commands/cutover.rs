//! `cutover show|set`, and the dates every dated command works from.

use anyhow::Result;
use chrono::NaiveDate;

use super::confirm::Operator;
use crate::store::Store;

/// The dates a run works from: the cutover (stored, or overridden by
/// `--cutover`) and today (the system date, or pinned by `--today`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Dates {
    pub cutover: NaiveDate,
    pub today: NaiveDate,
}

impl Dates {
    pub fn resolve(store: &Store, cutover: Option<NaiveDate>, today: NaiveDate) -> Result<Dates> {
        Ok(Dates {
            cutover: match cutover {
                Some(date) => date,
                None => store.cutover()?,
            },
            today,
        })
    }

    /// Days from today until cutover; negative once it has passed.
    pub fn days_left(&self) -> i64 {
        (self.cutover - self.today).num_days()
    }

    /// "14 days until cutover", "cutover is today", "3 days since cutover".
    pub fn describe(&self) -> String {
        let days = self.days_left();
        let plural = |n: i64| if n == 1 { "day" } else { "days" };
        let when = self.cutover.format("%A %-d %B %Y");
        match days {
            0 => format!("Cutover is today, {when}."),
            d if d > 0 => format!("Cutover is {when}: {d} {} left.", plural(d)),
            d => format!("Cutover was {when}: {} {} ago.", -d, plural(-d)),
        }
    }
}

/// Sets the cutover date, logged (action `cutover`, reason "cutover date
/// changed from OLD to NEW"): it changes what every report says. Returns the
/// date it replaced.
pub fn set(store: &mut Store, date: NaiveDate, op: &Operator) -> Result<NaiveDate> {
    store.set_cutover(date, &Operator::now(), op.actor())
}
