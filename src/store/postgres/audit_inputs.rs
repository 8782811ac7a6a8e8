//! The audit's inputs on PostgreSQL: the directory, the roles and the
//! accounts, read from ONE snapshot by three connections, each scan on a
//! thread of its own.
//!
//! The first connection opens a `REPEATABLE READ` transaction and exports
//! its snapshot (`pg_export_snapshot()`); the other two open theirs on the
//! same snapshot (`SET TRANSACTION SNAPSHOT`) before the first lets go of
//! anything, so all three see the same committed state: an account is never
//! read before a replacement and its roles after it. Each scan streams its
//! rows with `COPY (SELECT …) TO STDOUT`: the accounts in the binary format
//! (each value's bytes with its length), the roles and the directory in the
//! text format, which costs the server less ([`Format`]). The values are
//! handed to the audit unchecked and uncopied (as the SQLite store's
//! `raw.rs` scans do; a text value is copied only to take out an escape),
//! without a row object per row. The orders are the SQLite scans': accounts and
//! roles in account_id order (the text columns are `COLLATE "C"`: byte
//! order, SQLite's `BINARY`), roles within an account in (ods_code, role)
//! order (the permissions table's key), the directory in no particular order.
//!
//! The first connection locks the three tables (`ACCESS SHARE`) before it
//! takes the snapshot, and each other connection its own table as soon as
//! it joins, so each table stays locked from before the snapshot to the
//! end of its scan. A first import truncates the table it loads (and a
//! directory import the old extract) and loads it frozen (import.rs): an
//! older snapshot reading the table after the import committed would see
//! it emptied, or the new rows beside the other tables as they were. So an
//! audit started while an import is under way waits for the import's
//! commit (or rollback) and reads everything it left; an import started
//! while an audit reads waits for the audit's scans to end.
//!
//! The scans' connections are tokio-postgres clients, each driven by a
//! runtime of its own for the whole of its scan: the synchronous client
//! enters its runtime once per COPY message, which is once per row (4.4M
//! for a national store), and that cost the audit more CPU than decoding
//! the rows.

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;

use super::read::role;
use super::{PgStore, Target, explain};
use crate::model::{MailboxType, Status};
use crate::store::{
    AccountBytes, AuditInputs, DirectoryBytes, ReadAccounts, ReadDirectory, ReadRoles, RoleVisit,
};

/// One scan: its own connection (driven by its own runtime), inside a
/// transaction on the snapshot, and what it was told to expect.
struct Scan {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    target: Target,
    expected: usize,
}

struct DirectoryScan(Scan);
struct RoleScan(Scan);
struct AccountScan(Scan);

impl Scan {
    /// A connection of its own to `target`.
    fn connect(target: Target) -> Result<Scan> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a connection's runtime")?;
        let client = target.connect_async(&runtime)?;
        Ok(Scan {
            runtime,
            client,
            target,
            expected: 0,
        })
    }

    fn batch(&self, sql: &str) -> Result<()> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| explain(&self.target, &e))
    }
}

impl PgStore {
    /// The audit's inputs as one consistent snapshot (see [`AuditInputs`]).
    pub(crate) fn audit_inputs(&self) -> Result<AuditInputs> {
        // Three connections at once: each costs a round of authentication.
        let target = self.target();
        let connections: Vec<Result<Scan>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| s.spawn(|| Scan::connect(target.clone())))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| bail!("connecting to {} failed", self.shown()))
                })
                .collect()
        });
        let mut connections = connections.into_iter();
        let mut next =
            || -> Result<Scan> { connections.next().context("three connections were made")? };
        let (mut directory, mut roles, mut accounts) = (next()?, next()?, next()?);
        let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        // The three tables are locked before the snapshot is taken (a LOCK
        // takes none) and each stays locked by its scan's connection to the
        // end of the scan: a first import truncates the table it loads and
        // freezes its rows (import.rs), which an older snapshot would then
        // see (frozen rows are everyone's) or see emptied, so no import
        // may commit between this snapshot and a scan's read. An import
        // under way holds its table's exclusive lock: the audit waits for
        // it to commit or roll back and reads what it left.
        let lock = |tables: &str| format!("LOCK TABLE {tables} IN ACCESS SHARE MODE");
        accounts.batch(&format!(
            "{begin}; {}",
            lock("directory, permissions, accounts")
        ))?;
        // The first connection's snapshot, and how many accounts to make
        // room for: the planner's estimate (the import's ANALYZE keeps it
        // close), not a count, which read every account (0.1 to 0.2 s)
        // before any scan could start; it only sizes the audit's lists.
        let row = accounts
            .runtime
            .block_on(accounts.client.query_one(
                "SELECT pg_export_snapshot(),
                        (SELECT value FROM settings WHERE key = 'directory.entries'),
                        (SELECT greatest(c.reltuples, 0)::int8 FROM pg_class c
                         WHERE c.oid = 'accounts'::regclass)",
                &[],
            ))
            .map_err(|e| explain(&accounts.target, &e))?;
        let snapshot: String = row.get(0);
        let entries: Option<String> = row.get(1);
        let held: Option<i64> = row.get(2);
        let held = held.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        // A snapshot id is digits, letters and dashes; quoted regardless.
        let join = format!(
            "{begin}; SET TRANSACTION SNAPSHOT '{}'",
            snapshot.replace('\'', "''")
        );
        directory.batch(&format!("{join}; {}", lock("directory")))?;
        roles.batch(&format!("{join}; {}", lock("permissions")))?;
        directory.expected = entries.and_then(|v| v.parse().ok()).unwrap_or(0);
        roles.expected = held;
        accounts.expected = held;
        Ok(AuditInputs::new(
            Box::new(DirectoryScan(directory)),
            Box::new(RoleScan(roles)),
            Box::new(AccountScan(accounts)),
        ))
    }
}

impl Scan {
    /// Streams the rows of `query` (a SELECT) in COPY's `format`, each as
    /// its fields' bytes (`None` for NULL), all in one run of the
    /// connection's runtime.
    fn copy(
        self,
        query: &str,
        fields: usize,
        format: Format,
        mut visit: impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<()> {
        let Scan {
            runtime,
            client,
            target,
            ..
        } = self;
        let mut rows = Rows::new(format, fields);
        let read = |e: anyhow::Error| {
            e.context(format!("reading the PostgreSQL store {}", target.shown()))
        };
        runtime.block_on(async {
            let stream = client
                .copy_out(&format!(
                    "COPY ({query}) TO STDOUT (FORMAT {})",
                    format.name()
                ))
                .await
                .map_err(|e| explain(&target, &e))?;
            let mut stream = std::pin::pin!(stream);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| explain(&target, &e))?;
                rows.feed(&chunk, &mut visit).map_err(read)?;
            }
            rows.finish().map_err(read)
        })
    }
}

/// A status and a second flag as the scans select them: one small number
/// rather than two texts.
fn flags(field: Option<&[u8]>) -> Result<i32> {
    let bytes: [u8; 4] = field
        .and_then(|b| b.try_into().ok())
        .context("a scan's flags are not a 4-byte integer")?;
    Ok(i32::from_be_bytes(bytes))
}

/// The flags as a text scan sends them: a small number in decimal.
fn text_flags(field: Option<&[u8]>) -> Result<i32> {
    field
        .filter(|b| !b.is_empty() && b.len() < 4 && b.iter().all(u8::is_ascii_digit))
        .map(|b| b.iter().fold(0, |n, d| n * 10 + i32::from(d - b'0')))
        .context("a scan's flags are not a small number")
}

fn status_of(flags: i32) -> Status {
    if flags & 1 != 0 {
        Status::Disabled
    } else {
        Status::Active
    }
}

impl ReadDirectory for DirectoryScan {
    /// How many entries the last import wrote (0 if unknown).
    fn expected_entries(&self) -> Result<usize> {
        Ok(self.0.expected)
    }

    fn read(self: Box<Self>, visit: &mut dyn FnMut(DirectoryBytes<'_>)) -> Result<()> {
        self.0.copy(
            "SELECT address, given_name, family_name, ods_code,
                    (status = 'disabled')::int | ((mailbox_type = 'shared')::int << 1)
             FROM directory",
            5,
            Format::Text,
            |f| {
                let flags = text_flags(f[4])?;
                visit(DirectoryBytes {
                    address: f[0].unwrap_or_default(),
                    given_name: f[1].unwrap_or_default(),
                    family_name: f[2].unwrap_or_default(),
                    ods_code: f[3].unwrap_or_default(),
                    status: status_of(flags),
                    mailbox_type: if flags & 2 != 0 {
                        MailboxType::Shared
                    } else {
                        MailboxType::Personal
                    },
                });
                Ok(())
            },
        )
    }
}

impl ReadRoles for RoleScan {
    fn expected_accounts(&self) -> Result<usize> {
        Ok(self.0.expected)
    }

    /// Every role in account_id order, and within an account in the
    /// permissions table's key order (ods_code, role), as on SQLite.
    fn read(self: Box<Self>, visit: &mut RoleVisit<'_>) -> Result<()> {
        self.0.copy(
            "SELECT account_id, ods_code, role, payment_types FROM permissions
             ORDER BY account_id, ods_code, role",
            4,
            Format::Text,
            |f| {
                let text = std::str::from_utf8(f[2].unwrap_or_default())
                    .context("a stored role is not UTF-8")?;
                visit(
                    f[0].unwrap_or_default(),
                    f[1].unwrap_or_default(),
                    role(text),
                    f[3].unwrap_or_default(),
                )
            },
        )
    }
}

impl ReadAccounts for AccountScan {
    fn expected_accounts(&self) -> Result<usize> {
        Ok(self.0.expected)
    }

    fn read(self: Box<Self>, visit: &mut dyn FnMut(AccountBytes<'_>) -> Result<()>) -> Result<()> {
        self.0.copy(
            "SELECT account_id, email, given_name, family_name,
                    (status = 'disabled')::int | ((replaced_by IS NOT NULL)::int << 1)
                    | ((replaces IS NOT NULL)::int << 2)
             FROM accounts ORDER BY account_id",
            5,
            Format::Binary,
            |f| {
                let flags = flags(f[4])?;
                visit(AccountBytes {
                    account_id: f[0].unwrap_or_default(),
                    email: f[1].unwrap_or_default(),
                    given_name: f[2].unwrap_or_default(),
                    family_name: f[3].unwrap_or_default(),
                    status: status_of(flags),
                    superseded: flags & 2 != 0,
                    made_here: flags & 4 != 0,
                })
            },
        )
    }
}

/// How a scan's rows travel. COPY's text format costs the server less per
/// value than its binary one (a value's text is sent as it is, not wrapped
/// in a send function's buffer with its length): for the roles and the
/// directory, whose values are short texts, 0.1 to 0.15 s less of the
/// server's CPU each for a national store (measured with `COPY … TO
/// '/dev/null'`: roles 0.92 s binary, 0.78 s text; directory 0.76 s,
/// 0.66 s). For the accounts it made no difference: they stay binary, whose
/// lengths spare the client a search for each field's end.
#[derive(Clone, Copy)]
enum Format {
    Binary,
    Text,
}

impl Format {
    /// As COPY's `FORMAT` option names it.
    fn name(self) -> &'static str {
        match self {
            Format::Binary => "binary",
            Format::Text => "text",
        }
    }
}

/// Either format's rows, fed as the server's messages come (a message
/// holds a row, but nothing relies on it): the rows of a message are
/// visited in place, and only a row cut across messages is copied.
struct Rows {
    /// The bytes of an unfinished row (or header) from earlier messages.
    pending: Vec<u8>,
    format: FormatRows,
}

enum FormatRows {
    Binary(BinaryRows),
    Text(TextRows),
}

impl Rows {
    /// Rows of `fields` fields in `format`.
    fn new(format: Format, fields: usize) -> Rows {
        Rows {
            pending: Vec::new(),
            format: match format {
                Format::Binary => FormatRows::Binary(BinaryRows::new(fields)),
                Format::Text => FormatRows::Text(TextRows::new(fields)),
            },
        }
    }

    /// Visits the rows `chunk` completes; keeps the bytes of one it does
    /// not for the next; an error if the stream is not what was asked for.
    fn feed(
        &mut self,
        chunk: &[u8],
        visit: &mut impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<()> {
        let Rows { pending, format } = self;
        // How many bytes the whole rows (and header) at the front took.
        let mut parse = |bytes: &[u8]| match format {
            FormatRows::Binary(rows) => rows.parse(bytes, visit),
            FormatRows::Text(rows) => rows.lines(bytes, visit),
        };
        if pending.is_empty() {
            let used = parse(chunk)?;
            pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut joined = std::mem::take(pending);
            joined.extend_from_slice(chunk);
            let used = parse(&joined)?;
            joined.drain(..used);
            *pending = joined;
        }
        Ok(())
    }

    /// At the end of the stream: an error unless it ended after a whole
    /// row (and in the binary format with the trailer).
    fn finish(&self) -> Result<()> {
        match &self.format {
            FormatRows::Binary(rows) => rows.finish(),
            FormatRows::Text(_) if !self.pending.is_empty() => {
                bail!("the server's COPY output ended inside a row")
            }
            FormatRows::Text(_) => Ok(()),
        }
    }
}

/// Rows of COPY's text format: each row a line, its fields separated by
/// tabs, `\N` a NULL, and within a value a backslash escapes the byte
/// after it (`\b`, `\f`, `\n`, `\r`, `\t`, `\v` stand for those control
/// characters; any other byte stands for itself: `\\` for a backslash). A
/// tab or newline within a value is always escaped, so the raw bytes split
/// into rows and fields before any value is unescaped; only a row holding
/// a backslash is copied, unescaped.
struct TextRows {
    fields: usize,
    /// The unescaped values of a row that held a backslash.
    unescaped: Vec<u8>,
}

impl TextRows {
    fn new(fields: usize) -> TextRows {
        TextRows {
            fields: fields.min(MAX_FIELDS),
            unescaped: Vec::new(),
        }
    }

    /// Visits the whole lines at the front of `bytes`; how many bytes they
    /// took.
    fn lines(
        &mut self,
        bytes: &[u8],
        visit: &mut impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<usize> {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            self.row(&rest[..end], visit)?;
            rest = &rest[end + 1..];
        }
        Ok(bytes.len() - rest.len())
    }

    fn row(
        &mut self,
        line: &[u8],
        visit: &mut impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<()> {
        let mut values: [Option<&[u8]>; MAX_FIELDS] = [None; MAX_FIELDS];
        let fields = self.fields;
        let mut n = 0;
        for raw in line.split(|&b| b == b'\t') {
            if n == fields {
                bail!("the server's COPY output has rows of more than {fields} fields");
            }
            values[n] = (raw != b"\\N").then_some(raw);
            n += 1;
        }
        if n != fields {
            bail!("the server's COPY output has rows of {n} fields where {fields} were asked for");
        }
        if memchr::memchr(b'\\', line).is_none() {
            return visit(&values[..fields]);
        }
        // A value holds an escape: all the row's values unescaped, one
        // after the other, then each seen at its place.
        self.unescaped.clear();
        let mut spans = [None; MAX_FIELDS];
        for (span, value) in spans.iter_mut().zip(&values[..fields]) {
            if let Some(raw) = value {
                let from = self.unescaped.len();
                unescape(raw, &mut self.unescaped)?;
                *span = Some((from, self.unescaped.len()));
            }
        }
        for (value, span) in values.iter_mut().zip(&spans[..fields]) {
            *value = span.map(|(from, to)| &self.unescaped[from..to]);
        }
        visit(&values[..fields])
    }
}

/// A value of COPY's text format without its escapes, added to `out`.
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&escaped) = bytes.next() else {
            bail!("the server's COPY output has a value ending in a lone backslash");
        };
        out.push(match escaped {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            other => other,
        });
    }
    Ok(())
}

/// COPY's binary format: a signature, flags and a header extension, then
/// each row as a 16-bit field count and each field as a 32-bit length (-1:
/// NULL) and its bytes, then a field count of -1. All big-endian.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The most fields a scan selects.
const MAX_FIELDS: usize = 8;

/// Rows of COPY's binary format.
struct BinaryRows {
    header_read: bool,
    ended: bool,
    fields: usize,
}

/// What the unread bytes begin with.
enum Next {
    /// A row of this many bytes, its fields at these (offset, length).
    Row(usize),
    /// The trailer: no more rows.
    End,
    /// Not enough bytes yet.
    Short,
}

impl BinaryRows {
    fn new(fields: usize) -> BinaryRows {
        BinaryRows {
            header_read: false,
            ended: false,
            fields: fields.min(MAX_FIELDS),
        }
    }

    /// At the end of the stream: an error unless it ended with the trailer.
    fn finish(&self) -> Result<()> {
        if !self.header_read {
            bail!("the server's COPY output ended inside its header");
        }
        if !self.ended {
            bail!("the server's COPY output ended inside a row");
        }
        Ok(())
    }

    /// Visits the whole rows at the front of `bytes`; how many bytes they
    /// (and the header) took.
    fn parse(
        &mut self,
        bytes: &[u8],
        visit: &mut impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<usize> {
        let mut at = 0;
        if !self.header_read {
            // The header: signature, flags, extension length, extension.
            if bytes.len() < SIGNATURE.len() + 8 {
                return Ok(0);
            }
            if &bytes[..SIGNATURE.len()] != SIGNATURE {
                bail!("the server's COPY output is not in the binary format");
            }
            let after = SIGNATURE.len() + 4;
            let extension = u32::from_be_bytes(bytes[after..after + 4].try_into()?) as usize;
            if bytes.len() < after + 4 + extension {
                return Ok(0);
            }
            at = after + 4 + extension;
            self.header_read = true;
        }
        let mut spans = [None; MAX_FIELDS];
        let fields = self.fields;
        while !self.ended {
            let unread = &bytes[at..];
            match next(unread, &mut spans[..fields])? {
                Next::Row(len) => {
                    let row = &unread[..len];
                    let mut values: [Option<&[u8]>; MAX_FIELDS] = [None; MAX_FIELDS];
                    for (value, span) in values.iter_mut().zip(&spans[..fields]) {
                        *value = span.map(|(from, n)| &row[from..from + n]);
                    }
                    visit(&values[..fields])?;
                    at += len;
                }
                Next::End => {
                    self.ended = true;
                    at += 2;
                }
                Next::Short => break,
            }
        }
        Ok(at)
    }
}

/// Parses the row at the front of `unread` into `spans` (offsets within
/// the row).
fn next(unread: &[u8], spans: &mut [Option<(usize, usize)>]) -> Result<Next> {
    if unread.len() < 2 {
        return Ok(Next::Short);
    }
    let count = i16::from_be_bytes([unread[0], unread[1]]);
    if count == -1 {
        return Ok(Next::End);
    }
    if usize::try_from(count).ok() != Some(spans.len()) {
        bail!(
            "the server's COPY output has rows of {count} fields where {} were asked for",
            spans.len()
        );
    }
    let mut at = 2;
    for span in spans.iter_mut() {
        let Some(len) = unread.get(at..at + 4) else {
            return Ok(Next::Short);
        };
        let len = i32::from_be_bytes(len.try_into()?);
        at += 4;
        if len < 0 {
            *span = None;
            continue;
        }
        let len = len as usize;
        if unread.len() < at + len {
            return Ok(Next::Short);
        }
        *span = Some((at, len));
        at += len;
    }
    Ok(Next::Row(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// COPY's binary output of these rows (two text fields, `None` NULL).
    fn encoded(rows: &[[Option<&str>; 2]]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend(0u32.to_be_bytes());
        for row in rows {
            out.extend(2i16.to_be_bytes());
            for field in row {
                match field {
                    None => out.extend((-1i32).to_be_bytes()),
                    Some(text) => {
                        out.extend((text.len() as i32).to_be_bytes());
                        out.extend(text.as_bytes());
                    }
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    /// The rows of `bytes` (two fields) in `format`, fed in messages of
    /// `size` bytes (1: every row is split across messages at every
    /// possible place).
    fn read_rows(format: Format, bytes: &[u8], size: usize) -> Result<Vec<Vec<Option<String>>>> {
        let mut rows = Rows::new(format, 2);
        let mut out = Vec::new();
        let mut visit = |f: &[Option<&[u8]>]| {
            out.push(
                f.iter()
                    .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            );
            Ok(())
        };
        for chunk in bytes.chunks(size) {
            rows.feed(chunk, &mut visit)?;
        }
        rows.finish()?;
        Ok(out)
    }

    fn read_all(bytes: Vec<u8>, size: usize) -> Result<Vec<Vec<Option<String>>>> {
        read_rows(Format::Binary, &bytes, size)
    }

    fn read_text(bytes: &[u8], size: usize) -> Result<Vec<Vec<Option<String>>>> {
        read_rows(Format::Text, bytes, size)
    }

    #[test]
    fn rows_split_across_messages_anywhere_read_back_whole() {
        let long = "x".repeat(1000);
        let rows = [
            [Some("U1"), Some("a@nhs.net")],
            [Some(""), None],
            [Some(long.as_str()), Some("é")],
        ];
        for size in [1, 3, 7, 64, 1 << 20] {
            let got = read_all(encoded(&rows), size).unwrap();
            let want: Vec<Vec<Option<String>>> = rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect();
            assert_eq!(got, want);
        }
    }

    /// Values as the server escapes them in the text format (a backslash,
    /// a tab, a newline and the other control characters it names, a
    /// literal `\N` apart from a NULL), read back as they were stored,
    /// whatever the messages they come in.
    #[test]
    fn text_rows_read_back_escaped_values_and_nulls_whole() {
        let stream = b"U1\ta@nhs.net\nO\\\\Brien\t\\\\N\n\\N\tx\\ty\\nz\\r\\b\\f\\v\n\t\n";
        let want: Vec<Vec<Option<String>>> = vec![
            vec![Some("U1".into()), Some("a@nhs.net".into())],
            vec![Some("O\\Brien".into()), Some("\\N".into())],
            vec![None, Some("x\ty\nz\r\u{8}\u{c}\u{b}".into())],
            vec![Some(String::new()), Some(String::new())],
        ];
        for size in [1, 2, 5, 64, 1 << 20] {
            assert_eq!(read_text(stream, size).unwrap(), want, "messages of {size}");
        }
    }

    #[test]
    fn a_cut_or_misshapen_text_stream_is_an_error() {
        let e = read_text(b"U1\ta@nhs.net\nU2\tb@", 4)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ended inside a row"), "{e}");
        let e = read_text(b"U1\ta\tb\n", 4).unwrap_err().to_string();
        assert!(e.contains("more than 2 fields"), "{e}");
        let e = read_text(b"U1\n", 4).unwrap_err().to_string();
        assert!(e.contains("rows of 1 fields where 2"), "{e}");
        let e = read_text(b"U1\ta\\\n", 4).unwrap_err().to_string();
        assert!(e.contains("lone backslash"), "{e}");
        assert_eq!(text_flags(Some(b"3")).unwrap(), 3);
        assert!(text_flags(Some(b"")).is_err() && text_flags(None).is_err());
    }

    #[test]
    fn a_cut_or_foreign_stream_is_an_error_not_a_short_read() {
        let mut cut = encoded(&[[Some("U1"), Some("a@nhs.net")]]);
        cut.truncate(cut.len() - 5);
        let e = read_all(cut, 1).unwrap_err().to_string();
        assert!(e.contains("ended inside a row"), "{e}");
        // COPY's text format, as a server asked wrongly would send it.
        let e = read_all(b"U1\tann.smith@nhs.net\tAnn\tSmith\t0\n".to_vec(), 1 << 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in the binary format"), "{e}");
        let e = read_all(SIGNATURE[..5].to_vec(), 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ended inside its header"), "{e}");
    }
}
