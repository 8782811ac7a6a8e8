//! The audit's inputs on PostgreSQL: the directory, the roles and the
//! accounts, read from ONE snapshot by three connections, each scan on a
//! thread of its own.
//!
//! The first connection opens a `REPEATABLE READ` transaction and exports
//! its snapshot (`pg_export_snapshot()`); the other two open theirs on the
//! same snapshot (`SET TRANSACTION SNAPSHOT`) before the first lets go of
//! anything, so all three see the same committed state: an account is never
//! read before a replacement and its roles after it. Each scan streams its
//! rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: the server sends
//! each value's bytes with its length, which are handed to the audit
//! unchecked and uncopied (as the SQLite store's `raw.rs` scans do), without
//! a row object per row. The orders are the SQLite scans': accounts and
//! roles in account_id order (the text columns are `COLLATE "C"`: byte
//! order, SQLite's `BINARY`), roles within an account in (ods_code, role)
//! order (the permissions table's key), the directory in no particular order.

use std::io::Read;

use anyhow::{Context, Result, bail};

use super::PgStore;
use super::read::role;
use crate::model::{MailboxType, Status};
use crate::store::{
    AccountBytes, AuditInputs, DirectoryBytes, ReadAccounts, ReadDirectory, ReadRoles, RoleVisit,
};

/// One scan: its own connection, inside a transaction on the snapshot, and
/// what it was told to expect.
struct Scan {
    store: PgStore,
    expected: usize,
}

struct DirectoryScan(Scan);
struct RoleScan(Scan);
struct AccountScan(Scan);

impl PgStore {
    /// The audit's inputs as one consistent snapshot (see [`AuditInputs`]).
    pub(crate) fn audit_inputs(&self) -> Result<AuditInputs> {
        // Three connections at once: each costs a round of authentication.
        let target = self.target();
        let connections: Vec<Result<PgStore>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| s.spawn(|| PgStore::connect_to(target.clone())))
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
            || -> Result<PgStore> { connections.next().context("three connections were made")? };
        let (directory, roles, accounts) = (next()?, next()?, next()?);
        let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        // The first connection's snapshot, and what it holds, counted in it.
        let (snapshot, entries, accounts_held) = {
            let mut client = accounts.conn()?;
            client
                .batch_execute(begin)
                .map_err(|e| accounts.explain(e))?;
            let row = client
                .query_one(
                    "SELECT pg_export_snapshot(),
                            (SELECT value FROM settings WHERE key = 'directory.entries'),
                            (SELECT count(*) FROM accounts)",
                    &[],
                )
                .map_err(|e| accounts.explain(e))?;
            let snapshot: String = row.get(0);
            let entries: Option<String> = row.get(1);
            let held: i64 = row.get(2);
            (
                snapshot,
                entries.and_then(|v| v.parse().ok()).unwrap_or(0),
                usize::try_from(held).unwrap_or(0),
            )
        };
        // A snapshot id is digits, letters and dashes; quoted regardless.
        let join = format!(
            "{begin}; SET TRANSACTION SNAPSHOT '{}'",
            snapshot.replace('\'', "''")
        );
        for other in [&directory, &roles] {
            other
                .conn()?
                .batch_execute(&join)
                .map_err(|e| other.explain(e))?;
        }
        Ok(AuditInputs::new(
            Box::new(DirectoryScan(Scan {
                store: directory,
                expected: entries,
            })),
            Box::new(RoleScan(Scan {
                store: roles,
                expected: accounts_held,
            })),
            Box::new(AccountScan(Scan {
                store: accounts,
                expected: accounts_held,
            })),
        ))
    }
}

impl Scan {
    /// Streams the rows of `query` (a SELECT) in COPY's binary format,
    /// each as its fields' bytes (`None` for NULL).
    fn copy(
        self,
        query: &str,
        fields: usize,
        mut visit: impl FnMut(&[Option<&[u8]>]) -> Result<()>,
    ) -> Result<()> {
        let store = self.store;
        let mut client = store.conn()?;
        let reader = client
            .copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))
            .map_err(|e| store.explain(e))?;
        let mut rows = BinaryRows::new(reader, fields);
        rows.read(&mut visit)
            .with_context(|| format!("reading the PostgreSQL store {}", store.shown()))
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
            |f| {
                let flags = flags(f[4])?;
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

/// COPY's binary format: a signature, flags and a header extension, then
/// each row as a 16-bit field count and each field as a 32-bit length (-1:
/// NULL) and its bytes, then a field count of -1. All big-endian.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The most fields a scan selects.
const MAX_FIELDS: usize = 8;

/// Rows of COPY's binary format read from a stream, through one buffer
/// that the rows' bytes are borrowed from.
struct BinaryRows<R> {
    reader: R,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
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

impl<R: Read> BinaryRows<R> {
    fn new(reader: R, fields: usize) -> BinaryRows<R> {
        BinaryRows {
            reader,
            buf: vec![0; 1 << 18],
            start: 0,
            end: 0,
            fields,
        }
    }

    /// Reads more bytes, keeping the unread ones (moved to the front, the
    /// buffer grown if one row fills it); false at the end of the stream.
    fn fill(&mut self) -> Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.reader.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n > 0)
    }

    /// Visits every row; an error if the stream is not what was asked for.
    fn read(&mut self, visit: &mut impl FnMut(&[Option<&[u8]>]) -> Result<()>) -> Result<()> {
        // The header: signature, flags, extension length, extension.
        loop {
            let unread = &self.buf[self.start..self.end];
            if unread.len() >= SIGNATURE.len() + 8 {
                if &unread[..SIGNATURE.len()] != SIGNATURE {
                    bail!("the server's COPY output is not in the binary format");
                }
                let at = SIGNATURE.len() + 4;
                let extension = u32::from_be_bytes(unread[at..at + 4].try_into()?) as usize;
                if unread.len() >= at + 4 + extension {
                    self.start += at + 4 + extension;
                    break;
                }
            }
            if !self.fill()? {
                bail!("the server's COPY output ended inside its header");
            }
        }
        let mut spans = [None; MAX_FIELDS];
        let fields = self.fields.min(MAX_FIELDS);
        loop {
            match self.next(&mut spans[..fields])? {
                Next::Row(len) => {
                    let row = &self.buf[self.start..self.start + len];
                    let mut values: [Option<&[u8]>; MAX_FIELDS] = [None; MAX_FIELDS];
                    for (value, span) in values.iter_mut().zip(&spans[..fields]) {
                        *value = span.map(|(at, n)| &row[at..at + n]);
                    }
                    visit(&values[..fields])?;
                    self.start += len;
                }
                Next::End => return Ok(()),
                Next::Short => {
                    if !self.fill()? {
                        bail!("the server's COPY output ended inside a row");
                    }
                }
            }
        }
    }

    /// Parses the row at the front of the unread bytes into `spans`
    /// (offsets within the row).
    fn next(&self, spans: &mut [Option<(usize, usize)>]) -> Result<Next> {
        let unread = &self.buf[self.start..self.end];
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

    /// A reader that gives one byte at a time: every row is split across
    /// reads at every possible place.
    struct Trickle(std::io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    fn read_all(bytes: Vec<u8>, small_buffer: bool) -> Result<Vec<Vec<Option<String>>>> {
        let mut rows = BinaryRows::new(Trickle(std::io::Cursor::new(bytes)), 2);
        if small_buffer {
            rows.buf = vec![0; 3];
        }
        let mut out = Vec::new();
        rows.read(&mut |f: &[Option<&[u8]>]| {
            out.push(
                f.iter()
                    .map(|v| v.map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect(),
            );
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn rows_split_across_reads_and_a_growing_buffer_read_back_whole() {
        let long = "x".repeat(1000);
        let rows = [
            [Some("U1"), Some("a@nhs.net")],
            [Some(""), None],
            [Some(long.as_str()), Some("é")],
        ];
        for small in [false, true] {
            let got = read_all(encoded(&rows), small).unwrap();
            let want: Vec<Vec<Option<String>>> = rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_cut_or_foreign_stream_is_an_error_not_a_short_read() {
        let mut cut = encoded(&[[Some("U1"), Some("a@nhs.net")]]);
        cut.truncate(cut.len() - 5);
        let e = read_all(cut, false).unwrap_err().to_string();
        assert!(e.contains("ended inside a row"), "{e}");
        // COPY's text format, as a server asked wrongly would send it.
        let e = read_all(b"U1\tann.smith@nhs.net\tAnn\tSmith\t0\n".to_vec(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in the binary format"), "{e}");
        let e = read_all(SIGNATURE[..5].to_vec(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ended inside its header"), "{e}");
    }
}
