//! Fitting a table to the terminal's width. comfy-table's own dynamic
//! arrangement breaks a word that is longer than its column anywhere, which
//! cuts an address such as `sarah.jones@nhs.net` in the middle, and given a
//! terminal that reports no size it makes every column one character wide.
//! Here each column gets a width (whole where the table fits, else a share of
//! the terminal), and each cell is wrapped at spaces, after `.`, `_`, `-` or
//! `/` and before `@` only, so an address breaks as `sarah.jones` /
//! `@nhs.net`. Only tables at a terminal are fitted: piped output is
//! unchanged.

use unicode_width::UnicodeWidthStr;

/// The width tables at a terminal fit, found as clap's help finds it:
/// `COLUMNS`, else the terminal's size, else 80 columns (a fresh
/// pseudo-terminal reports 0 by 0).
pub fn terminal_width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    columns
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(w, _)| usize::from(w.0))
                .filter(|&w| w > 0)
        })
        .unwrap_or(80)
}

/// The pieces a text may be broken into: split at whitespace (which is
/// dropped), after `.`, `_`, `-` and `/`, and before `@`. Each piece keeps
/// whether a space came before it.
fn pieces(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut spaced = true;
        let mut start = 0;
        for (i, c) in word.char_indices() {
            let end = match c {
                '@' if i > start => Some(i),
                '.' | '_' | '-' | '/' => Some(i + c.len_utf8()),
                _ => None,
            };
            if let Some(end) = end
                && end > start
                && end < word.len()
            {
                out.push((spaced, &word[start..end]));
                spaced = false;
                start = end;
            }
        }
        out.push((spaced, &word[start..]));
    }
    out
}

/// The widest piece: a column narrower than this would break a piece.
fn narrowest(text: &str) -> usize {
    pieces(text)
        .iter()
        .map(|(_, p)| p.width())
        .max()
        .unwrap_or(0)
}

/// The text's own width (its longest line).
fn natural(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// `text` wrapped to lines of at most `width`. A piece of an address wider
/// than that stands alone on its line, whole; a piece of other text (a word
/// such as `commissioner`, when even the words do not fit) is cut.
pub fn wrap(text: &str, width: usize) -> String {
    if natural(text) <= width {
        return text.to_string();
    }
    let address = text.contains('@');
    // A cell's own lines are kept: each is wrapped by itself.
    text.lines()
        .map(|line| wrap_line(line, width, address))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `piece` cut into parts at most `width` wide.
fn cut(piece: &str, width: usize) -> Vec<&str> {
    use unicode_width::UnicodeWidthChar;
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in piece.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width.max(1) && i > start {
            parts.push(&piece[start..i]);
            start = i;
            used = 0;
        }
        used += w;
    }
    parts.push(&piece[start..]);
    parts
}

fn wrap_line(text: &str, width: usize, address: bool) -> String {
    let mut split = Vec::new();
    for (spaced, piece) in pieces(text) {
        if address || piece.width() <= width {
            split.push((spaced, piece));
        } else {
            for (i, part) in cut(piece, width).into_iter().enumerate() {
                split.push((spaced && i == 0, part));
            }
        }
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (spaced, piece) in split {
        let gap = usize::from(spaced && !line.is_empty());
        if !line.is_empty() && line.width() + gap + piece.width() > width {
            lines.push(std::mem::take(&mut line));
        } else if gap == 1 {
            line.push(' ');
        }
        line.push_str(piece);
    }
    lines.push(line);
    lines.join("\n")
}

/// The narrowest a column may be when even the words do not fit: words
/// are then cut, down to this, but never an address's pieces.
const CUT_WORDS_TO: usize = 4;

/// The width of each column so that the table, with its frame (a space
/// either side of each column and a border between), fits `total`: whole
/// columns where they fit, narrow columns kept whole first, the rest sharing
/// what is left; no column narrower than its widest piece if those fit,
/// else than its widest piece of an address (an address is never cut; a
/// table of long addresses at a very narrow terminal is wider than it).
pub fn widths(headers: &[&str], rows: &[Vec<impl AsRef<str>>], total: usize) -> Vec<usize> {
    let n = headers.len();
    let mut want: Vec<usize> = headers.iter().map(|h| natural(h)).collect();
    let mut words: Vec<usize> = headers.iter().map(|h| narrowest(h)).collect();
    let mut addresses = vec![0; n];
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            let cell = cell.as_ref();
            want[i] = want[i].max(natural(cell));
            let piece = narrowest(cell);
            words[i] = words[i].max(piece);
            if cell.contains('@') {
                addresses[i] = addresses[i].max(piece);
            }
        }
    }
    let frame = 3 * n + 1;
    let available = total.saturating_sub(frame);
    if want.iter().sum::<usize>() <= available {
        return want;
    }
    let floor: Vec<usize> = if words.iter().sum::<usize>() <= available {
        words
    } else {
        (0..n)
            .map(|i| addresses[i].max(words[i].min(CUT_WORDS_TO)))
            .collect()
    };
    let mut width = floor;
    let mut left = available.saturating_sub(width.iter().sum());
    // The columns that need least are made whole first (an id, a name),
    // then the rest share what is left.
    let mut short: Vec<usize> = (0..n).filter(|&i| width[i] < want[i]).collect();
    short.sort_by_key(|&i| want[i] - width[i]);
    let mut rest = Vec::new();
    for i in short {
        let need = want[i] - width[i];
        if need <= left && rest.is_empty() {
            width[i] = want[i];
            left -= need;
        } else {
            rest.push(i);
        }
    }
    let count = rest.len().max(1);
    let (share, mut extra) = (left / count, left % count);
    for i in rest {
        let more = share + usize::from(extra > 0);
        extra = extra.saturating_sub(1);
        width[i] = (width[i] + more).min(want[i]);
    }
    width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_breaks_only_before_the_at_sign_or_after_a_dot() {
        assert_eq!(wrap("sarah.jones@nhs.net", 12), "sarah.jones\n@nhs.net");
        assert_eq!(wrap("sarah.jones@nhs.net", 8), "sarah.\njones\n@nhs.net");
        // Narrower than its pieces: each piece whole on its own line.
        assert_eq!(wrap("sarah.jones@nhs.net", 3), "sarah.\njones\n@nhs.\nnet");
        assert_eq!(wrap("sarah.jones@nhs.net", 19), "sarah.jones@nhs.net");
    }

    #[test]
    fn text_wraps_at_spaces_and_a_word_wider_than_its_column_is_cut() {
        assert_eq!(
            wrap("no match in the directory", 10),
            "no match\nin the\ndirectory"
        );
        // A word that is not an address is cut when it must be.
        assert_eq!(wrap("U0000001", 3), "U00\n000\n01");
    }

    #[test]
    fn columns_share_the_width_and_never_go_below_their_widest_piece() {
        let rows = vec![vec![
            "U0000001",
            "sarah.jones@nhs.net",
            "contact the commissioner",
        ]];
        let headers = ["account_id", "email", "section"];
        // Room for everything: each column its own width.
        assert_eq!(widths(&headers, &rows, 80), vec![10, 19, 24]);
        // 40 columns: 30 for text; the id is kept whole, the rest share.
        let w = widths(&headers, &rows, 40);
        assert_eq!(w.iter().sum::<usize>(), 40 - 10);
        assert_eq!(w[0], 10);
        assert!(w[1] >= narrowest("sarah.jones@nhs.net"));
        // Too narrow for the words: words are cut, the address's pieces
        // are not.
        let w = widths(&headers, &rows, 10);
        assert_eq!(
            w,
            vec![CUT_WORDS_TO, narrowest("sarah.jones@nhs.net"), CUT_WORDS_TO]
        );
        assert_eq!(wrap("commissioner", 4), "comm\nissi\noner");
    }
}
