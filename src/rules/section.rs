//! What each user must do (rules.md, "What each user must do").

use super::{Category, NhsmailMatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    ContactCommissioner,
    NoNhsmail,
    Administrator,
}

crate::model::spelled_impls!(Section {
    ContactCommissioner => "contact-commissioner",
    NoNhsmail => "no-nhsmail",
    Administrator => "administrator",
});

impl Section {
    /// What the report tells the users in this section, in their words.
    pub fn advice(self) -> &'static str {
        match self {
            Section::ContactCommissioner => {
                "Your CQRS email does not match your NHSmail address: contact your \
                 commissioner (or regional office) before cutover to have a new account \
                 set up with your NHSmail address. You cannot sign in by NHSmail until then."
            }
            Section::NoNhsmail => {
                "No NHSmail account was found for you: keep signing in with your username \
                 and password until further guidance is issued. On your first sign-in after \
                 cutover you may be asked to call the CQRS service desk."
            }
            Section::Administrator => {
                "Your CQRS account needs a CQRS administrator to put it right before \
                 cutover: its email address is not valid, or another account has the same \
                 address."
            }
        }
    }
}

/// The section of the report an account belongs to, if it must do anything.
pub fn section_for(category: Category, nhsmail_match: &NhsmailMatch) -> Option<Section> {
    match category {
        Category::NotInDirectory | Category::NhsmailDisabled | Category::SharedMailbox => {
            Some(Section::ContactCommissioner)
        }
        // A match (even an ambiguous one) means the person has NHSmail, so the
        // fix is a replacement account; without one they have nothing to move to.
        Category::NhsUkDomain | Category::OtherDomain => match nhsmail_match {
            NhsmailMatch::Confident(_) | NhsmailMatch::Ambiguous => {
                Some(Section::ContactCommissioner)
            }
            NhsmailMatch::None => Some(Section::NoNhsmail),
        },
        Category::InvalidEmail | Category::DuplicateEmail => Some(Section::Administrator),
        Category::Ok | Category::Superseded | Category::Disabled => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches() -> [NhsmailMatch; 3] {
        [
            NhsmailMatch::Confident("jo.bloggs@nhs.net".into()),
            NhsmailMatch::Ambiguous,
            NhsmailMatch::None,
        ]
    }

    #[test]
    fn nhs_net_problems_contact_the_commissioner_whatever_the_match() {
        for category in [
            Category::NotInDirectory,
            Category::NhsmailDisabled,
            Category::SharedMailbox,
        ] {
            for m in matches() {
                assert_eq!(
                    section_for(category, &m),
                    Some(Section::ContactCommissioner),
                    "{category} {m:?}"
                );
            }
        }
    }

    #[test]
    fn other_domains_depend_on_the_match() {
        for category in [Category::NhsUkDomain, Category::OtherDomain] {
            let [confident, ambiguous, none] = matches();
            assert_eq!(
                section_for(category, &confident),
                Some(Section::ContactCommissioner)
            );
            assert_eq!(
                section_for(category, &ambiguous),
                Some(Section::ContactCommissioner)
            );
            assert_eq!(section_for(category, &none), Some(Section::NoNhsmail));
        }
    }

    #[test]
    fn administrator_cases() {
        for category in [Category::InvalidEmail, Category::DuplicateEmail] {
            for m in matches() {
                assert_eq!(section_for(category, &m), Some(Section::Administrator));
            }
        }
    }

    #[test]
    fn nothing_to_do() {
        for category in [Category::Ok, Category::Superseded, Category::Disabled] {
            for m in matches() {
                assert_eq!(section_for(category, &m), None, "{category}");
            }
        }
    }

    #[test]
    fn every_category_is_covered_once() {
        let with_section = Category::ALL
            .iter()
            .filter(|&&c| section_for(c, &NhsmailMatch::None).is_some())
            .count();
        assert_eq!(with_section, 7);
    }

    #[test]
    fn spellings_and_advice() {
        assert_eq!(Section::ALL.len(), 3);
        for &s in Section::ALL {
            assert_eq!(Section::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(
                serde_json::to_string(&s).expect("serialises"),
                format!("\"{}\"", s.as_str())
            );
            assert!(s.advice().ends_with('.'));
            assert!(
                !s.advice().contains("  "),
                "no doubled spaces from line joins"
            );
        }
        assert_eq!(
            Section::ContactCommissioner.as_str(),
            "contact-commissioner"
        );
        assert_eq!(Section::NoNhsmail.as_str(), "no-nhsmail");
        assert_eq!(Section::Administrator.as_str(), "administrator");
        assert_eq!(Section::parse("Administrator"), None);
        assert!(
            Section::ContactCommissioner
                .advice()
                .contains("commissioner")
        );
        assert!(Section::NoNhsmail.advice().contains("service desk"));
        assert!(Section::Administrator.advice().contains("administrator"));
    }
}
