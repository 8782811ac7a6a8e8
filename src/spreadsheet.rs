//! Cells a spreadsheet would run as a formula (OWASP, "CSV Injection"):
//! neutralised in every CSV cell the tool writes, and taken back off the
//! files it reads back (plans). Pure text functions, shared by the output
//! layer (writing) and the commands (reading a plan).

/// The characters that make a spreadsheet treat a cell as a formula (OWASP,
/// "CSV Injection").
const FORMULA_TRIGGERS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would run `cell`, or would once a `'` is taken off
/// it: it starts with a trigger after any number of `'`. A plain negative
/// number (`-2260`, `-3.5`: days since cutover) is a value, not a formula,
/// and is left as it is; `-2+3`, `=1` and `+1` are formulas.
fn looks_like_formula(cell: &str) -> bool {
    // Nearly every cell starts with neither `'` nor a trigger: one byte says
    // so. Trimming and matching every cell against the list was an eighth of
    // a national `report --format csv` (2.7 million cells).
    // The byte is compared with the list itself (every trigger is ASCII), so
    // that the shortcut and the rule cannot drift apart.
    let may_start =
        |b: u8| b == b'\'' || FORMULA_TRIGGERS.iter().any(|&t| t as u32 == u32::from(b));
    if !cell.as_bytes().first().is_some_and(|&b| may_start(b)) {
        return false;
    }
    let rest = cell.trim_start_matches('\'');
    rest.starts_with(FORMULA_TRIGGERS) && !(rest.len() == cell.len() && is_plain_number(cell))
}

/// A negative decimal number and nothing else: `-`, digits, and at most one
/// decimal point with digits after it (`-2260`, `-3.5`). Nothing a
/// spreadsheet could evaluate as an expression or a reference.
fn is_plain_number(cell: &str) -> bool {
    let Some(digits) = cell.strip_prefix('-') else {
        return false;
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Neutralises a cell a spreadsheet would run: prefixes it with `'` so Excel
/// shows it as text. Applied to every CSV cell the tool writes.
///
/// A cell that already starts with `'` before a trigger (a name typed as
/// `'=x`) gets one more, so that [`unneutralise`] gives back exactly what was
/// written: `unneutralise(&neutralise(x)) == x` for every `x`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes [`neutralise`], for files the tool reads back (plans): takes off the
/// one `'` that `neutralise` added. A cell it did not neutralise is left alone.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if looks_like_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_prefixed() {
        for cell in [
            "=1+1",
            "+1",
            "-1+1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
            assert_eq!(unneutralise(&neutralise(cell)), cell);
        }
        for cell in [
            "",
            "Sarah",
            "sarah.jones@nhs.net",
            "O'Brien",
            "'quoted",
            " =x",
        ] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn a_plain_number_is_not_a_formula() {
        for cell in ["-2260", "-3.5", "-1", "0", "12", "-0.25"] {
            assert_eq!(neutralise(cell), cell);
            assert_eq!(unneutralise(cell), cell);
        }
        for cell in [
            "-2+3", "=1", "+1", "+12", "-1e5", "-3.", "-.5", "-", "+", "-1,2", "-A1", "-1 ", "--1",
            "-3.5.1",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell}");
            assert_eq!(unneutralise(&neutralise(cell)), cell);
        }
        // A quote before a number is the user's own, kept as written.
        assert_eq!(neutralise("'-5"), "''-5");
        assert_eq!(unneutralise("''-5"), "'-5");
    }

    #[test]
    fn a_cell_already_starting_with_a_quote_and_a_trigger_round_trips() {
        assert_eq!(neutralise("'=x"), "''=x");
        assert_eq!(unneutralise("''=x"), "'=x");
        assert_eq!(unneutralise("'=x"), "=x");
        assert_eq!(unneutralise("'quoted"), "'quoted");
    }

    /// Strings built from the characters that matter here, so that triggers
    /// and quotes at the start are common.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof!["['=+@\t\r\n -]{0,4}[a-zA-Z0-9'=+@ -]{0,6}", any::<String>(),]
    }

    proptest! {
        #[test]
        fn unneutralise_undoes_neutralise(x in cell()) {
            let written = neutralise(&x);
            prop_assert_eq!(unneutralise(&written), x.as_str());
        }

        #[test]
        fn a_neutralised_cell_never_starts_with_a_trigger(x in cell()) {
            let written = neutralise(&x);
            prop_assert!(
                !written.starts_with(FORMULA_TRIGGERS) || is_plain_number(&written),
                "{:?}",
                x
            );
        }

        #[test]
        fn the_first_byte_shortcut_agrees_with_the_rule(x in cell()) {
            let rest = x.trim_start_matches('\'');
            let by_rule = rest.starts_with(FORMULA_TRIGGERS)
                && !(rest.len() == x.len() && is_plain_number(&x));
            prop_assert_eq!(looks_like_formula(&x), by_rule);
        }

        #[test]
        fn only_cells_starting_with_a_trigger_or_a_quote_change(x in cell()) {
            if !x.starts_with(FORMULA_TRIGGERS) && !x.starts_with('\'') {
                prop_assert_eq!(neutralise(&x), x.as_str());
            }
        }
    }
}
