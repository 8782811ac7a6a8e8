//! Why an address is not valid (rules.md, "Addresses"), in words a help desk
//! can read out: which character, at which position, and for one that only
//! looks like a letter, its Unicode name, since on screen it looks right.

use super::address::is_valid;

/// The first thing wrong with `address`, or None when it is valid.
/// Positions count characters from 1 in the address as stored.
pub fn why_invalid(address: &str) -> Option<String> {
    if is_valid(address) {
        return None;
    }
    let chars: Vec<char> = address.chars().collect();
    if let Some((i, &c)) = chars.iter().enumerate().find(|(_, c)| !c.is_ascii()) {
        return Some(format!(
            "character {} is {}, which is not an ASCII character: an address may hold only \
             ASCII letters, digits and {ALLOWED}",
            i + 1,
            describe(c)
        ));
    }
    // All ASCII from here: byte positions are character positions.
    let lead = address.len() - address.trim_start().len();
    let trimmed = address.trim();
    let at_pos = |i: usize| lead + i + 1;
    if trimmed.len() > 254 {
        return Some(format!(
            "it is {} characters long; an address may have at most 254",
            trimmed.len()
        ));
    }
    let Some(at) = trimmed.find('@') else {
        return Some("it has no `@`".to_string());
    };
    if let Some(second) = trimmed[at + 1..].find('@') {
        return Some(format!(
            "character {} is a second `@`; an address has exactly one",
            at_pos(at + 1 + second)
        ));
    }
    let local = &trimmed[..at];
    let domain = &trimmed[at + 1..];
    if local.is_empty() {
        return Some("there is nothing before the `@`".to_string());
    }
    if local.len() > 64 {
        return Some(format!(
            "the part before the `@` is {} characters long; it may have at most 64",
            local.len()
        ));
    }
    for (i, b) in local.bytes().enumerate() {
        let allowed = b.is_ascii_alphanumeric() || b == b'.' || ALLOWED.as_bytes().contains(&b);
        if !allowed {
            return Some(format!(
                "character {} is {}, which is not allowed before the `@`",
                at_pos(i),
                describe(b as char)
            ));
        }
    }
    if local.starts_with('.') {
        return Some(format!(
            "character {} is a `.` at the start of the address",
            at_pos(0)
        ));
    }
    if local.ends_with('.') {
        return Some(format!(
            "character {} is a `.` just before the `@`",
            at_pos(at - 1)
        ));
    }
    if let Some(i) = local.find("..") {
        return Some(format!(
            "characters {} and {} are two dots in a row (`..`)",
            at_pos(i),
            at_pos(i + 1)
        ));
    }
    let d0 = at + 1;
    for (i, b) in domain.bytes().enumerate() {
        if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
            return Some(format!(
                "character {} is {}, which is not allowed after the `@` (only letters, digits, \
                 `-` and `.` are)",
                at_pos(d0 + i),
                describe(b as char)
            ));
        }
    }
    if !domain.contains('.') {
        return Some(format!(
            "the part after the `@` (`{domain}`) has no `.`: it needs at least two parts, \
             e.g. nhs.net"
        ));
    }
    let mut start = 0;
    for label in domain.split('.') {
        let pos = at_pos(d0 + start);
        if label.is_empty() {
            return Some(format!(
                "character {} leaves an empty part after the `@` (a `.` at the start or end, \
                 or two in a row)",
                if start == 0 { pos } else { pos - 1 }
            ));
        }
        if label.len() > 63 {
            return Some(format!(
                "the part `{label}` after the `@` is {} characters long; each may have at most 63",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "the part `{label}` after the `@` starts or ends with `-`"
            ));
        }
        start += label.len() + 1;
    }
    Some("it is not a valid address".to_string())
}

/// The characters besides letters, digits and `.` allowed before the `@`.
const ALLOWED: &str = "!#$%&'*+/=?^_`{|}~-";

/// A character as a help desk can name it: `U+0455 CYRILLIC SMALL LETTER
/// DZE`, or a visible ASCII character in backquotes.
pub fn describe(c: char) -> String {
    if c.is_ascii_graphic() {
        return format!("`{c}`");
    }
    let name = unicode_names2::name(c)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "(a character with no Unicode name)".to_string());
    format!("U+{:04X} {name}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_look_alike_and_its_position() {
        assert_eq!(
            why_invalid("\u{455}usan.baker@nhs.net").unwrap(),
            "character 1 is U+0455 CYRILLIC SMALL LETTER DZE, which is not an ASCII character: \
             an address may hold only ASCII letters, digits and !#$%&'*+/=?^_`{|}~-"
        );
        assert!(
            why_invalid("ab\u{200b}c@nhs.net")
                .unwrap()
                .starts_with("character 3 is U+200B ZERO WIDTH SPACE")
        );
    }

    #[test]
    fn names_each_structural_fault() {
        assert_eq!(why_invalid("sarah.jones@nhs.net"), None);
        assert_eq!(
            why_invalid("nicola.white.nhs.net").unwrap(),
            "it has no `@`"
        );
        assert_eq!(
            why_invalid("mark..lewis@nhs.net").unwrap(),
            "characters 5 and 6 are two dots in a row (`..`)"
        );
        assert!(
            why_invalid("anne.scott@nhs,net")
                .unwrap()
                .starts_with("character 15 is `,`")
        );
        assert!(
            why_invalid("a b@nhs.net")
                .unwrap()
                .starts_with("character 2 is U+0020 SPACE")
        );
        assert!(
            why_invalid("a@b@nhs.net")
                .unwrap()
                .contains("character 4 is a second `@`")
        );
        assert!(why_invalid("a@localhost").unwrap().contains("has no `.`"));
        assert!(
            why_invalid("a@nhs..net")
                .unwrap()
                .contains("character 6 leaves an empty part")
        );
        // Every invalid address gets a reason.
        for bad in [
            ".a@nhs.net",
            "a.@nhs.net",
            "@nhs.net",
            "a@-x.net",
            "a@x.net.",
        ] {
            assert!(why_invalid(bad).is_some(), "{bad}");
        }
    }
}
