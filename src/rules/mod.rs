//! The cutover rules of rules.md, as pure functions over plain data.
//!
//! Nothing in here touches the store, prints, or reads the clock: today's date
//! is always an argument. That keeps every rule testable on its own and lets
//! the audit, report, plan, sign-in check and history share one definition.

/// Gives a fieldless enum of the rules its fixed spelling, the same way the
/// model's enums have theirs, so a category or section reads the same in the
/// audit, the report, CSV and JSON.
macro_rules! spelled {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in the order rules.md lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in rules.md, output and files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted spellings, for error messages.
            pub fn spellings() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub mod address;
pub mod category;
pub mod contact;
pub mod history;
pub mod matching;
pub mod replacement;
pub mod section;
pub mod signin;

pub use address::{
    DomainClass, domain_class, is_valid, name_key, normal_form, same_address, same_name,
};
pub use category::{Category, DirectoryFacts, categorise};
pub use contact::{Contact, contacts_for};
pub use history::can_view;
pub use matching::{Candidate, NhsmailMatch, find_match, suggestions};
pub use replacement::{Refusal, ReplacementFacts, check_replacement};
pub use section::{Section, section_for};
pub use signin::{SigninOutcome, signin_outcome};
