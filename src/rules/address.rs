//! Addresses: normal form, validity and domain class (rules.md, "Addresses").
//!
//! `is_valid` and `domain_class` run once or more per account on national-scale
//! data (a million accounts), so they work on bytes and never allocate on the
//! common, all-ASCII path. No regex: the grammar is small enough to check by
//! hand, and a hand check cannot backtrack.

/// Where an address's domain puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainClass {
    NhsNet,
    NhsUk,
    Other,
}

/// The address trimmed, then lower-cased. Two addresses are the same when
/// their normal forms are equal.
///
/// Only ASCII whitespace is trimmed and only ASCII letters are lower-cased.
/// Every valid address is ASCII, so for those this is exactly "trimmed, then
/// lower-cased". For the rest it keeps look-alikes apart from real addresses:
/// by Unicode's rules a no-break space (or an ideographic space) around an
/// address would be trimmed away, and the KELVIN SIGN `\u{212A}` would
/// lower-case to an ASCII `k`, so `sarah.jones@nhs.net\u{A0}` or
/// `\u{212A}ate@nhs.net` would be "the same" as a real NHSmail address: the
/// sign-in check would let the look-alike in to the real account, and the
/// look-alike account would make the real one a duplicate.
pub fn normal_form(address: &str) -> String {
    trim_ascii_whitespace(address).to_ascii_lowercase()
}

/// Trims the whitespace `str::trim` trims from an ASCII string (space, tab,
/// line feed, vertical tab, form feed, carriage return) and nothing else:
/// the trimming of [`normal_form`].
pub fn trim_ascii_whitespace(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii() && c.is_whitespace())
}

/// A person's name as compared by the NHSmail match: trimmed, case-insensitive.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Whether two names are the same for the NHSmail match, i.e.
/// `name_key(a) == name_key(b)`, without allocating when both are ASCII (the
/// match compares names against many directory entries).
pub fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        // Unicode lower-casing can change lengths and depends on context (final
        // sigma), so only the real thing gives the same answer as `name_key`.
        name_key(a) == name_key(b)
    }
}

/// Whether two addresses are the same (equal normal forms), without allocating
/// when both are ASCII.
pub fn same_address(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.trim().eq_ignore_ascii_case(b.trim())
    } else {
        normal_form(a) == normal_form(b)
    }
}

const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Whether the address is valid by rules.md.
///
/// Judged on the trimmed address; letters may be in either case. A non-ASCII
/// character anywhere, even at the ends where trimming might remove it (a
/// no-break space pasted from a spreadsheet), makes the address invalid: the
/// stored email is never edited, so such an account needs an administrator
/// rather than a guess about what the address was meant to be.
pub fn is_valid(address: &str) -> bool {
    if !address.is_ascii() {
        return false;
    }
    let address = address.trim().as_bytes();
    if address.len() > MAX_ADDRESS {
        return false;
    }
    // `@` is allowed in neither part, so splitting at the first one and
    // checking both parts' characters also enforces "exactly one `@`".
    let Some(at) = address.iter().position(|&b| b == b'@') else {
        return false;
    };
    valid_local_part(&address[..at]) && valid_domain(&address[at + 1..])
}

fn valid_local_part(local: &[u8]) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL {
        return false;
    }
    if local[0] == b'.' || local[local.len() - 1] == b'.' {
        return false;
    }
    let mut previous_dot = false;
    for &b in local {
        if b == b'.' {
            if previous_dot {
                return false;
            }
            previous_dot = true;
        } else if b.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(&b) {
            previous_dot = false;
        } else {
            return false;
        }
    }
    true
}

/// The characters besides letters, digits and `.` that rules.md allows in a
/// local part (RFC 5322's `atext`; no quoted strings).
const LOCAL_SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";

fn valid_domain(domain: &[u8]) -> bool {
    // `split` yields an empty label for a leading, trailing or doubled dot, so
    // those fail the label check and need no case of their own.
    let mut labels = 0;
    for label in domain.split(|&b| b == b'.') {
        if !valid_label(label) {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

fn valid_label(label: &[u8]) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && label[0] != b'-'
        && label[label.len() - 1] != b'-'
        && label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The domain class of an address (computed on its normal form).
pub fn domain_class(address: &str) -> DomainClass {
    if address.is_ascii() {
        // On ASCII, comparing the trimmed address case-insensitively is the
        // same as comparing its normal form.
        class_of_lowercase_or_ascii(address.trim())
    } else {
        // The rare non-ASCII address gets the real normal form, to stay
        // exactly "on the normal form".
        class_of_lowercase_or_ascii(&normal_form(address))
    }
}

/// `address` is either ASCII (compared case-insensitively) or already in
/// normal form (where the ASCII-insensitive compare is exact equality).
fn class_of_lowercase_or_ascii(address: &str) -> DomainClass {
    let bytes = address.as_bytes();
    let mut ats = bytes.iter().enumerate().filter(|&(_, &b)| b == b'@');
    let (Some((at, _)), None) = (ats.next(), ats.next()) else {
        return DomainClass::Other;
    };
    let domain = &bytes[at + 1..];
    if domain.eq_ignore_ascii_case(b"nhs.net") {
        DomainClass::NhsNet
    } else if domain.eq_ignore_ascii_case(b"nhs.uk")
        || (domain.len() > b".nhs.uk".len()
            && domain[domain.len() - b".nhs.uk".len()..].eq_ignore_ascii_case(b".nhs.uk"))
    {
        DomainClass::NhsUk
    } else {
        DomainClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form_trims_then_lowercases() {
        assert_eq!(normal_form("  Jo.Bloggs@NHS.Net \t"), "jo.bloggs@nhs.net");
    }

    #[test]
    fn same_name_ignores_case_and_surrounding_space() {
        assert!(same_name(" Jo ", "jO"));
        assert!(!same_name("Jo", "Joe"));
        // Non-ASCII falls back to Unicode lower-casing.
        assert!(same_name("ÉLODIE", "élodie"));
        assert!(!same_name("Élodie", "Elodie"));
        // Agrees with name_key on final sigma, where char-by-char lower-casing
        // would not.
        assert_eq!(
            same_name("ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
            name_key("ΟΔΥΣΣΕΥΣ") == name_key("οδυσσευς")
        );
    }

    #[test]
    fn same_address_compares_normal_forms() {
        assert!(same_address(" Jo@NHS.net", "jo@nhs.net "));
        assert!(!same_address("jo@nhs.net", "jo2@nhs.net"));
        assert!(same_address("JÖ@NHS.net", "jÖ@nhs.net"));
        // Non-ASCII letters are not case-folded: such addresses are invalid,
        // and are never taken for another address.
        assert!(!same_address("JÖ@nhs.net", "jö@nhs.net"));
    }

    #[test]
    fn look_alikes_never_have_the_normal_form_of_a_real_address() {
        let real = "kate.bell@nhs.net";
        for look_alike in [
            "kate.bell@nhs.net\u{A0}",   // no-break space after
            "\u{A0}kate.bell@nhs.net",   // no-break space before
            "kate.bell@nhs.net\u{3000}", // ideographic space
            "kate.bell@nhs.net\u{2003}", // em space
            "kate.bell@nhs.net\u{85}",   // next line
            "kate.bell@nhs.net\u{2028}", // line separator
            "kate.bell@nhs.net\u{200B}", // zero-width space
            "kate.bell@nhs.net\u{FEFF}", // byte-order mark
            "\u{212A}ate.bell@nhs.net",  // KELVIN SIGN, lower-cases to `k`
            "KATE.BELL@NHS.NE\u{1E6A}",  // T with dot above
            "kate.bеll@nhs.net",         // Cyrillic ie
            "kate.bell＠nhs.net",        // full-width at sign
            "kate.be\u{AD}ll@nhs.net",   // soft hyphen
            "kate.bell@nhs.net.",        // trailing dot
            "\"kate.bell\"@nhs.net",     // quoted local part
        ] {
            assert!(!is_valid(look_alike), "{look_alike:?} is valid");
            assert_ne!(normal_form(look_alike), real, "{look_alike:?}");
            assert!(!same_address(look_alike, real), "{look_alike:?}");
        }
        // ASCII padding and case are still ignored.
        assert_eq!(normal_form(" \t\x0BKate.Bell@NHS.net\r\n"), real);
    }

    #[test]
    fn ordinary_addresses_are_valid() {
        for a in [
            "john.smith@nhs.net",
            "john.smith2@nhs.net",
            "j.smith@somewhere.nhs.uk",
            "joe.bloggs1+news@nhs.net",
            "a@b.co",
            "x!#$%&'*+/=?^_`{|}~-y@example.org",
            "1@2.3",
            "a@a-b.c-d",
        ] {
            assert!(is_valid(a), "{a}");
        }
    }

    #[test]
    fn case_and_surrounding_whitespace_do_not_change_validity() {
        assert!(is_valid("  John.Smith@NHS.NET\t\r\n"));
        assert!(!is_valid("  John Smith@NHS.NET  "));
    }

    #[test]
    fn at_sign_count() {
        assert!(!is_valid("john.smith.nhs.net"));
        assert!(!is_valid("john@smith@nhs.net"));
        assert!(!is_valid("@nhs.net"));
        assert!(!is_valid("john@"));
        assert!(!is_valid("@"));
        assert!(!is_valid(""));
        assert!(!is_valid("   "));
    }

    #[test]
    fn local_part_dots() {
        assert!(!is_valid(".john@nhs.net"));
        assert!(!is_valid("john.@nhs.net"));
        assert!(!is_valid("jo..hn@nhs.net"));
        assert!(!is_valid(".@nhs.net"));
        assert!(is_valid("j.o.h.n@nhs.net"));
    }

    #[test]
    fn local_part_characters() {
        assert!(!is_valid("\"john smith\"@nhs.net"), "quoted local part");
        assert!(!is_valid("john smith@nhs.net"));
        assert!(!is_valid("john,smith@nhs.net"));
        assert!(!is_valid("john(smith)@nhs.net"));
        assert!(!is_valid("john\\smith@nhs.net"));
        assert!(!is_valid("john;smith@nhs.net"));
    }

    #[test]
    fn local_part_length() {
        let at = |n: usize| format!("{}@nhs.net", "a".repeat(n));
        assert!(is_valid(&at(64)));
        assert!(!is_valid(&at(65)));
    }

    #[test]
    fn domain_labels() {
        assert!(!is_valid("john@nhs"), "one label");
        assert!(!is_valid("john@nhs.net."), "trailing dot");
        assert!(!is_valid("john@.nhs.net"), "leading dot");
        assert!(!is_valid("john@nhs..net"), "empty label");
        assert!(!is_valid("john@-nhs.net"));
        assert!(!is_valid("john@nhs-.net"));
        assert!(!is_valid("john@nhs.net-"));
        assert!(!is_valid("john@nhs_trust.nhs.uk"));
        assert!(!is_valid("john@[10.0.0.1]"), "address literal");
        assert!(is_valid("john@my-trust.nhs.uk"));
    }

    #[test]
    fn label_length() {
        let with = |n: usize| format!("john@{}.nhs.uk", "a".repeat(n));
        assert!(is_valid(&with(63)));
        assert!(!is_valid(&with(64)));
    }

    #[test]
    fn total_length() {
        // 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254.
        let local = "l".repeat(64);
        let label = "d".repeat(63);
        let a254 = format!("{local}@{label}.{label}.{}", "e".repeat(61));
        assert_eq!(a254.len(), 254);
        assert!(is_valid(&a254));
        let a255 = format!("{local}@{label}.{label}.{}", "e".repeat(62));
        assert_eq!(a255.len(), 255);
        assert!(!is_valid(&a255));
        // The limit applies to the trimmed address.
        assert!(is_valid(&format!("  {a254}  ")));
    }

    #[test]
    fn non_ascii_is_invalid() {
        assert!(!is_valid("jo.bloggѕ@nhs.net"), "Cyrillic dze");
        assert!(!is_valid("jo.bloggs@nhs.nеt"), "Cyrillic ie in the domain");
        assert!(!is_valid("jo.bloggs＠nhs.net"), "full-width at sign");
        assert!(!is_valid("jo.\u{200B}bloggs@nhs.net"), "zero-width space");
        assert!(
            !is_valid("jo.bloggs@nhs.net\u{200B}"),
            "trailing zero-width"
        );
        assert!(
            !is_valid("jo.bloggs@nhs.net\u{A0}"),
            "trailing no-break space"
        );
        assert!(!is_valid("josé@nhs.net"));
    }

    #[test]
    fn domain_classes() {
        assert_eq!(domain_class("a@nhs.net"), DomainClass::NhsNet);
        assert_eq!(domain_class("  A@NHS.Net  "), DomainClass::NhsNet);
        assert_eq!(domain_class("a@nhs.uk"), DomainClass::NhsUk);
        assert_eq!(domain_class("a@trust.nhs.uk"), DomainClass::NhsUk);
        assert_eq!(domain_class("a@a.b.NHS.UK"), DomainClass::NhsUk);
        assert_eq!(domain_class("a@xnhs.uk"), DomainClass::Other);
        assert_eq!(domain_class("a@xnhs.net"), DomainClass::Other);
        assert_eq!(domain_class("a@nhs.net.evil.com"), DomainClass::Other);
        assert_eq!(domain_class("a@nhs.uk.evil.com"), DomainClass::Other);
        assert_eq!(domain_class("a@mail.nhs.net"), DomainClass::Other);
        assert_eq!(domain_class("a@nhs.net."), DomainClass::Other);
        assert_eq!(domain_class("a@gmail.com"), DomainClass::Other);
    }

    #[test]
    fn domain_class_needs_exactly_one_at() {
        assert_eq!(domain_class("nhs.net"), DomainClass::Other);
        assert_eq!(domain_class("a@b@nhs.net"), DomainClass::Other);
        assert_eq!(domain_class("a@b@x.nhs.uk"), DomainClass::Other);
    }

    #[test]
    fn domain_class_of_non_ascii_follows_the_normal_form() {
        // KELVIN SIGN is not folded to ASCII `k` in the normal form, so this
        // domain is not `nhs.uk`. (Such an address is invalid in any case,
        // which is checked first.)
        assert_eq!(domain_class("a@nhs.u\u{212A}"), DomainClass::Other);
        assert_eq!(domain_class("a@nhs.nеt"), DomainClass::Other);
        assert_eq!(domain_class("jö@NHS.NET"), DomainClass::NhsNet);
        assert_eq!(domain_class("a＠nhs.net"), DomainClass::Other);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Local parts by the grammar: dot-separated runs of the allowed characters.
    fn local_part() -> impl Strategy<Value = String> {
        prop::collection::vec("[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}", 1..6)
            .prop_map(|atoms| atoms.join("."))
            .prop_filter("local part of at most 64", |l| l.len() <= MAX_LOCAL)
    }

    fn label() -> impl Strategy<Value = String> {
        prop_oneof!["[A-Za-z0-9]", "[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]",]
    }

    fn valid_address() -> impl Strategy<Value = String> {
        (local_part(), prop::collection::vec(label(), 2..5))
            .prop_map(|(local, labels)| format!("{local}@{}", labels.join(".")))
            .prop_filter("address of at most 254", |a| a.len() <= MAX_ADDRESS)
    }

    /// Addresses near the rules' edges as well as anything at all.
    fn any_address() -> impl Strategy<Value = String> {
        prop_oneof![
            valid_address(),
            valid_address().prop_map(|a| a.replace('@', "")),
            valid_address().prop_map(|a| format!("{a}.")),
            "[a-zA-Z.@-]{0,20}(@nhs\\.net|@nhs\\.uk|\\.nhs\\.uk|@NHS\\.NET)?",
            any::<String>(),
        ]
    }

    /// Changes the case of the ASCII letters chosen by `mask`.
    fn flip_case(s: &str, mask: &[bool]) -> String {
        s.chars()
            .zip(mask.iter().copied().cycle())
            .map(|(c, flip)| {
                if !flip {
                    c
                } else if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn normal_form_is_idempotent(s in any::<String>()) {
            let once = normal_form(&s);
            prop_assert_eq!(normal_form(&once), once);
        }

        #[test]
        fn generated_addresses_are_valid(a in valid_address()) {
            prop_assert!(is_valid(&a), "{}", a);
        }

        #[test]
        fn validity_and_class_ignore_case_and_surrounding_whitespace(
            a in any_address(),
            mask in prop::collection::vec(any::<bool>(), 1..8),
            before in "[ \t\r\n]{0,3}",
            after in "[ \t\r\n]{0,3}",
        ) {
            let changed = format!("{before}{}{after}", flip_case(&a, &mask));
            prop_assert_eq!(is_valid(&changed), is_valid(&a));
            prop_assert_eq!(domain_class(&changed), domain_class(&a));
        }

        #[test]
        fn domain_class_is_that_of_the_normal_form(a in any_address()) {
            prop_assert_eq!(domain_class(&a), domain_class(&normal_form(&a)));
        }

        #[test]
        fn any_non_ascii_character_makes_an_address_invalid(
            a in prop_oneof![valid_address(), any::<String>()],
            c in any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
            at in any::<prop::sample::Index>(),
        ) {
            let mut chars: Vec<char> = a.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            let with: String = chars.into_iter().collect();
            prop_assert!(!is_valid(&with), "{:?}", with);
        }

        #[test]
        fn on_ascii_the_normal_form_is_trimmed_then_lower_cased(
            s in "[ -~\t\r\n\x0B\x0C]{0,40}",
        ) {
            prop_assert_eq!(normal_form(&s), s.trim().to_lowercase());
        }

        #[test]
        fn a_non_ascii_character_anywhere_keeps_an_address_apart_from_a_valid_one(
            a in valid_address(),
            c in any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
            at in any::<prop::sample::Index>(),
            mask in prop::collection::vec(any::<bool>(), 1..8),
        ) {
            let mut chars: Vec<char> = a.chars().collect();
            chars.insert(at.index(chars.len() + 1), c);
            let with: String = chars.into_iter().collect();
            let other = flip_case(&a, &mask);
            prop_assert_ne!(normal_form(&with), normal_form(&other), "{:?}", with);
            prop_assert!(!same_address(&with, &other), "{:?}", with);
        }

        #[test]
        fn two_at_signs_make_an_address_invalid(
            a in valid_address(),
            at in any::<prop::sample::Index>(),
        ) {
            let mut with = a.clone();
            let boundaries: Vec<usize> = (0..=a.len()).collect();
            with.insert(*at.get(&boundaries), '@');
            prop_assert!(!is_valid(&with), "{}", with);
            prop_assert_eq!(domain_class(&with), DomainClass::Other);
        }
    }
}
