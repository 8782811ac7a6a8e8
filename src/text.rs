//! Characters that must never reach a terminal raw.
//!
//! A control character (escape sequences, carriage returns, backspaces) in a
//! value would be replayed to the next operator's terminal by `history`,
//! `log` or `accounts show`, and could rewrite what they see; so imports and
//! the command line refuse them ([`control_character`], one definition for
//! both). Other invisible characters (zero-width spaces, bidirectional
//! overrides such as U+202E, which reverse the text after them) are allowed
//! in data, where they may be genuine, but tables show them escaped
//! ([`escape_invisible`]); CSV and JSON output carries every value exactly.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::UserError;

/// The first control character in `value` (Unicode category Cc: U+0000 to
/// U+001F and U+007F to U+009F) and its position in characters, counting
/// from 1; line breaks and tabs are allowed in free text. Values are almost
/// always printable ASCII, which is checked a byte at a time before looking
/// at characters.
pub fn control_character(value: &str, free_text: bool) -> Option<(usize, char)> {
    if value.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return None;
    }
    value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !(free_text && matches!(c, '\n' | '\r' | '\t')))
        .map(|(i, c)| (i + 1, c))
}

/// The names of the C0 control characters and DEL (Unicode name aliases).
const C0_NAMES: [&str; 32] = [
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "BELL",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE",
    "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
];

/// A control character as a person can look it up: `U+001B ESCAPE`.
pub fn describe_control(c: char) -> String {
    let code = c as u32;
    let name = match code {
        0..=0x1F => C0_NAMES[code as usize],
        0x7F => "DELETE",
        0x85 => "NEXT LINE",
        0x9B => "CONTROL SEQUENCE INTRODUCER",
        _ => "a C1 control",
    };
    format!("U+{code:04X} {name}")
}

/// Refuses a value given on the command line (`--actor`, `--reason`) that
/// holds a control character: it would be kept in the append-only change
/// log and replayed to the next operator's terminal.
pub fn refuse_control_characters(what: &str, value: &str) -> Result<(), UserError> {
    match control_character(value, false) {
        None => Ok(()),
        Some((at, c)) => Err(UserError::Refused(format!(
            "{what} contains a control character ({}) at character {at}: \
             remove it (a terminal would act on it when the log is shown); nothing was changed",
            describe_control(c)
        ))),
    }
}

/// Whether a table shows `c` escaped: every control character but the line
/// break (a table cell may span lines), every format character (category
/// Cf: bidirectional controls U+200E, U+200F, U+202A to U+202E, U+2066 to
/// U+2069, zero-width characters U+200B to U+200D, U+2060, U+FEFF, the soft
/// hyphen, tags), the line and paragraph separators U+2028 and U+2029,
/// private-use and unassigned code points, and the characters that draw
/// as nothing although their category says otherwise (U+034F, the Hangul
/// fillers U+115F, U+1160, U+3164, U+FFA0).
pub fn is_invisible(c: char) -> bool {
    if c == '\n' {
        return false;
    }
    if (' '..='~').contains(&c) {
        return false;
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::Surrogate
    ) || matches!(
        c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}'
    )
}

/// `text` with every [`is_invisible`] character written as a Rust-style
/// escape (`\u{202e}`), for tables; unchanged (and not copied) when there
/// is none.
pub fn escape_invisible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_with_their_position() {
        assert_eq!(control_character("plain", false), None);
        assert_eq!(
            control_character("abcd\u{1b}[2J", false),
            Some((5, '\u{1b}'))
        );
        assert_eq!(control_character("é\u{85}", false), Some((2, '\u{85}')));
        assert_eq!(control_character("two\nlines", true), None);
        assert_eq!(control_character("two\nlines", false), Some((4, '\n')));
        // A bidirectional override is not a control character (Cf, not Cc).
        assert_eq!(control_character("a\u{202e}b", false), None);
    }

    #[test]
    fn control_characters_are_named() {
        assert_eq!(describe_control('\u{1b}'), "U+001B ESCAPE");
        assert_eq!(describe_control('\n'), "U+000A LINE FEED");
        assert_eq!(describe_control('\u{7f}'), "U+007F DELETE");
        assert_eq!(
            describe_control('\u{9b}'),
            "U+009B CONTROL SEQUENCE INTRODUCER"
        );
    }

    #[test]
    fn invisible_characters_are_escaped_for_tables() {
        assert_eq!(
            escape_invisible("Sarah O'Brien-Smith"),
            "Sarah O'Brien-Smith"
        );
        assert!(matches!(escape_invisible("Zoë Ng"), Cow::Borrowed(_)));
        assert_eq!(escape_invisible("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(
            escape_invisible("\u{200b}x\u{feff}\u{2066}\r\t\u{1b}"),
            "\\u{200b}x\\u{feff}\\u{2066}\\u{d}\\u{9}\\u{1b}"
        );
        assert_eq!(escape_invisible("line\nbreak"), "line\nbreak");
        assert_eq!(escape_invisible("\u{3164}"), "\\u{3164}");
    }
}
