//! The password file, as libpq reads it (`~/.pgpass`, or `PGPASSFILE`):
//! lines of `hostname:port:database:username:password`, where `*` in any of
//! the first four fields matches anything, `\:` is a colon and `\\` a
//! backslash, a line starting with `#` is a comment, and the first matching
//! line wins. A file that group or others can read is ignored, as libpq
//! ignores it, so a password shared by mistake is not used.

use std::path::Path;

/// What to look for: the connection's first host, port, database and user.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub host: &'a str,
    pub port: &'a str,
    pub database: &'a str,
    pub user: &'a str,
}

/// Why the file gave no password, when that is worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// Group or others may read it: libpq ignores such a file too.
    Readable { mode: u32 },
    /// Not a regular file.
    NotAFile,
}

/// The password for `wanted` in the file at `path`: `Ok(None)` if the file
/// does not exist or has no matching line, `Err` if it was ignored.
pub fn lookup(path: &Path, wanted: Wanted<'_>) -> Result<Option<String>, Ignored> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Err(Ignored::NotAFile);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Ignored::Readable { mode });
        }
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    Ok(find(&text, wanted))
}

/// The password of the first line of `text` that matches `wanted`.
pub fn find(text: &str, wanted: Wanted<'_>) -> Option<String> {
    let want = [wanted.host, wanted.port, wanted.database, wanted.user];
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let Some(fields) = split(line) else { continue };
        let matches = fields[..4]
            .iter()
            .zip(want)
            .all(|(field, want)| field.text == want || (field.raw == "*"));
        if matches {
            return Some(fields[4].text.clone());
        }
    }
    None
}

struct Field<'a> {
    /// As written, to tell an unescaped `*` from `\*`.
    raw: &'a str,
    /// With the escapes undone.
    text: String,
}

/// The five fields of a line, or None for a line with fewer (libpq skips
/// it). The password is everything after the fourth unescaped colon, with
/// its escapes undone too.
fn split(line: &str) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::with_capacity(5);
    let mut start = 0;
    let mut text = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, next)) => text.push(next),
                None => text.push('\\'),
            },
            ':' if fields.len() < 4 => {
                fields.push(Field {
                    raw: &line[start..i],
                    text: std::mem::take(&mut text),
                });
                start = i + 1;
            }
            c => text.push(c),
        }
    }
    if fields.len() < 4 {
        return None;
    }
    fields.push(Field {
        raw: &line[start..],
        text,
    });
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: Wanted<'static> = Wanted {
        host: "db.example.nhs.uk",
        port: "5432",
        database: "cqrs",
        user: "alice",
    };

    #[test]
    fn the_first_matching_line_wins_and_stars_match_anything() {
        let text = "# a comment\n\
                    other.host:5432:cqrs:alice:wrong\n\
                    db.example.nhs.uk:*:cqrs:alice:right\n\
                    *:*:*:*:fallback\n";
        assert_eq!(find(text, WANTED).as_deref(), Some("right"));
        let bob = Wanted {
            user: "bob",
            ..WANTED
        };
        assert_eq!(find(text, bob).as_deref(), Some("fallback"));
    }

    #[test]
    fn escaped_colons_and_backslashes_are_part_of_a_field() {
        let text = "/tmp/s\\:ock:5432:cqrs:alice:pa\\:ss\\\\word\n";
        let wanted = Wanted {
            host: "/tmp/s:ock",
            ..WANTED
        };
        assert_eq!(find(text, wanted).as_deref(), Some("pa:ss\\word"));
        // An escaped star is a star, not a wildcard.
        assert_eq!(find("\\*:*:*:*:x\n", WANTED), None);
        assert_eq!(
            find(
                "\\*:*:*:*:x\n",
                Wanted {
                    host: "*",
                    ..WANTED
                }
            )
            .as_deref(),
            Some("x")
        );
    }

    #[test]
    fn a_short_line_is_skipped_and_a_password_may_hold_colons() {
        let text = "db.example.nhs.uk:5432:cqrs\n*:*:*:alice:a:b:c\n";
        assert_eq!(find(text, WANTED).as_deref(), Some("a:b:c"));
        assert_eq!(find("", WANTED), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            lookup(&path, WANTED),
            Err(Ignored::Readable { mode: 0o644 })
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&path, WANTED), Ok(Some("secret".to_string())));
        assert_eq!(lookup(&dir.path().join("none"), WANTED), Ok(None));
        assert_eq!(lookup(dir.path(), WANTED), Err(Ignored::NotAFile));
    }
}
