//! The cutover rules of rules.md, as pure functions over plain data.
//!
//! Nothing in here touches the store, prints, or reads the clock: today's date
//! is always an argument. That keeps every rule testable on its own and lets
//! the audit, report, plan, sign-in check and history share one definition.

pub mod address;
pub mod address_problem;
pub mod category;
pub mod contact;
pub mod history;
pub mod matching;
pub mod reconcile;
pub mod replacement;
pub mod section;
pub mod signin;

pub use address::{is_valid, normal_form, same_name};
pub use address_problem::why_invalid;
pub use category::{Category, DirectoryFacts, categorise};
pub use contact::{Contact, contacts_for};
pub use matching::{Candidate, NhsmailMatch, find_match, suggestions};
pub use replacement::{Refusal, ReplacementFacts, check_replacement};
pub use section::{Section, section_for};
pub use signin::{SigninOutcome, signin_outcome};
