//! Who can see which activity (rules.md, "History").

/// How far above the record's organisation a role still gives sight of it: a
/// practice's commissioner (1) and that commissioner's region (2).
const LEVELS_ABOVE: usize = 2;

/// Whether an account holding roles at `role_ods_codes` can view an activity
/// record of organisation `record_ods`: it holds a role there or at an
/// organisation above it. `parent(code)` gives an organisation's parent code.
///
/// The walk stops after a region's level even if the data has a longer chain,
/// so bad data can widen nobody's view beyond what rules.md allows, and it
/// stops at the first repeat, so a cycle cannot loop.
// The rule as rules.md states it, walked upwards from the record. `history`
// walks the same tree downwards from the roles (reading activity by
// organisation through an index); its test checks the two agree, so this
// stays as the definition that test holds it to.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the definition `history`'s test checks against")
)]
pub fn can_view<'a>(
    record_ods: &str,
    role_ods_codes: &[&str],
    parent: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    let mut seen: [&str; LEVELS_ABOVE + 1] = [""; LEVELS_ABOVE + 1];
    let mut code = record_ods;
    for level in 0..=LEVELS_ABOVE {
        if role_ods_codes.contains(&code) {
            return true;
        }
        seen[level] = code;
        match parent(code) {
            Some(up) if !seen[..=level].contains(&up) => code = up,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parent(code: &str) -> Option<&'static str> {
        match code {
            "A81001" | "A81002" => Some("00K"),
            "B82001" => Some("12A"),
            "00K" => Some("Y56"),
            "12A" => Some("Y58"),
            "Y56" => Some("TOP"),
            "CYC1" => Some("CYC2"),
            "CYC2" => Some("CYC1"),
            "SELF" => Some("SELF"),
            _ => None,
        }
    }

    #[test]
    fn role_at_the_organisation_itself() {
        assert!(can_view("A81001", &["A81001"], parent));
        assert!(can_view("00K", &["00K"], parent));
        assert!(can_view("Y56", &["Y56"], parent));
    }

    #[test]
    fn role_above_the_organisation() {
        assert!(can_view("A81001", &["00K"], parent), "commissioner");
        assert!(can_view("A81001", &["Y56"], parent), "region");
        assert!(can_view("00K", &["Y56"], parent));
    }

    #[test]
    fn no_role_in_the_chain() {
        assert!(!can_view("A81001", &["A81002"], parent), "sibling practice");
        assert!(!can_view("A81001", &["12A", "Y58", "B82001"], parent));
        assert!(!can_view("00K", &["A81001"], parent), "below, not above");
        assert!(!can_view("A81001", &[], parent));
        assert!(!can_view("UNKNOWN", &["00K"], parent));
    }

    #[test]
    fn no_further_than_a_region() {
        // Y56 has a (bad) parent: three levels above a practice is too far.
        assert!(!can_view("A81001", &["TOP"], parent));
        assert!(can_view("00K", &["TOP"], parent));
    }

    #[test]
    fn cycles_end() {
        assert!(!can_view("CYC1", &["X"], parent));
        assert!(can_view("CYC1", &["CYC2"], parent));
        assert!(!can_view("SELF", &["X"], parent));
    }

    #[test]
    fn codes_compare_exactly() {
        assert!(!can_view("A81001", &["a81001"], parent));
    }

    #[test]
    fn parent_may_borrow_from_a_map() {
        let parents: HashMap<String, String> = [("A81001", "00K"), ("00K", "Y56")]
            .into_iter()
            .map(|(c, p)| (c.to_owned(), p.to_owned()))
            .collect();
        let lookup = |code: &str| parents.get(code).map(String::as_str);
        assert!(can_view("A81001", &["Y56"], lookup));
        assert!(!can_view("A81001", &["Y58"], lookup));
    }
}
