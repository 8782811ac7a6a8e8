//! Plain data shared by the rules, the store and the commands.
//!
//! Every enum here has a fixed spelling (`as_str`/`parse`) that is the one used in
//! the input files, the store and the machine-readable output, so that a value
//! means the same thing wherever it appears.

use serde::Serialize;

macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        spelled_impls!($name { $($variant => $text),+ });
    };
}

/// Gives a fieldless enum its fixed spelling: `ALL`, `as_str`, `parse`,
/// `spellings`, `Display` and `Serialize`. The rules use it for their own
/// enums (categories, sections), so every value reads the same everywhere.
macro_rules! spelled_impls {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in the order the spec lists them.
            #[allow(dead_code, reason = "not every spelled enum is listed whole")]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in files, the store and output.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the exact spelling (callers trim and lower-case first where
            /// the format allows it).
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

pub(crate) use spelled_impls;

spelled_enum!(
    /// An account's or a directory entry's status.
    Status { Active => "active", Disabled => "disabled" }
);

spelled_enum!(
    /// What kind of organisation an ODS code names.
    OrgKind { Practice => "practice", Commissioner => "commissioner", Region => "region" }
);

spelled_enum!(
    /// A directory entry is a person's own mailbox or a shared (generic) one.
    MailboxType { Personal => "personal", Shared => "shared" }
);

spelled_enum!(
    /// What a piece of historical activity records.
    ActivityKind {
        OfferMade => "offer-made",
        OfferAccepted => "offer-accepted",
        AchievementDeclared => "achievement-declared",
        PaymentApproved => "payment-approved",
    }
);

spelled_enum!(
    /// A CQRS role, held by an account at one organisation.
    Role {
        UserAdministrator => "user-administrator",
        View => "view",
        FinanceView => "finance-view",
        AchievementEntry => "achievement-entry",
        ServiceManagement => "service-management",
        DeclarationManagement => "declaration-management",
        Supervisor => "supervisor",
        AdvancedUserAdministrator => "advanced-user-administrator",
        OrganisationAdministrator => "organisation-administrator",
        ApprovalManagement => "approval-management",
        FinanceManagement => "finance-management",
    }
);

impl Role {
    /// Whether this role may be held at an organisation of `kind`
    /// (data-formats.md, permissions.csv).
    pub fn allowed_at(self, kind: OrgKind) -> bool {
        use Role::*;
        match kind {
            OrgKind::Practice => matches!(
                self,
                UserAdministrator
                    | View
                    | FinanceView
                    | AchievementEntry
                    | ServiceManagement
                    | DeclarationManagement
                    | Supervisor
            ),
            OrgKind::Commissioner | OrgKind::Region => matches!(
                self,
                AdvancedUserAdministrator
                    | UserAdministrator
                    | OrganisationAdministrator
                    | View
                    | FinanceView
                    | ApprovalManagement
                    | FinanceManagement
            ),
        }
    }

    /// Roles that can grant access to others: never replaced in bulk without a
    /// second look (rules.md, "Replacement accounts").
    pub fn is_administrator(self) -> bool {
        matches!(
            self,
            Role::UserAdministrator
                | Role::AdvancedUserAdministrator
                | Role::OrganisationAdministrator
        )
    }
}

/// An organisation: a practice, a commissioner or a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub ods_code: String,
    pub name: String,
    pub kind: OrgKind,
    pub parent_code: Option<String>,
    pub contact_email: Option<String>,
}

/// A CQRS user account. `email` is kept exactly as CQRS holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub account_id: String,
    pub username: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub status: Status,
    pub created_at: Option<String>,
    pub last_login_at: Option<String>,
    /// The account that replaced this one, if a replacement was created.
    pub replaced_by: Option<String>,
}

/// One role an account holds at one organisation, with its payment-type
/// restrictions (empty: unrestricted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RoleGrant {
    pub ods_code: String,
    pub role: Role,
    pub payment_types: Vec<String>,
}

/// One mailbox in the NHSmail directory extract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    pub address: String,
    pub given_name: String,
    pub family_name: String,
    pub ods_code: String,
    pub status: Status,
    pub mailbox_type: MailboxType,
}

/// One historical activity record; it belongs to an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub activity_id: String,
    pub ods_code: String,
    pub account_id: String,
    pub kind: ActivityKind,
    pub occurred_at: String,
    pub detail: Option<String>,
}

/// Which input file is being imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileKind {
    Organisations,
    Accounts,
    Permissions,
    Directory,
    Activity,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Organisations => "organisations",
            FileKind::Accounts => "accounts",
            FileKind::Permissions => "permissions",
            FileKind::Directory => "directory",
            FileKind::Activity => "activity",
        }
    }
}
