//! Connecting to a PostgreSQL store, by libpq's conventions.
//!
//! `--db` (or `CQRS_ADMIN_DB`) is a `postgres://` or `postgresql://` URL.
//! What the URL leaves out comes from the environment as libpq takes it:
//! `PGUSER` (else the login name), `PGHOST` (else the socket folder
//! /var/run/postgresql if it exists, else localhost; a host that starts
//! with `/` is a socket folder, in a URL written `%2Fpath`), `PGPORT`
//! (5432), `PGDATABASE` (the user's name), `PGSSLMODE` (prefer),
//! `PGSSLROOTCERT` (else ~/.postgresql/root.crt if it exists),
//! `PGCONNECT_TIMEOUT` (10 s here, so that a wrong host fails rather than
//! hangs). The password: the URL's, else `PGPASSWORD`, else the first
//! matching line of `PGPASSFILE` or ~/.pgpass (pgpass.rs).
//!
//! No password is ever shown: every message names the store by
//! [`Target::shown`], the URL with its password removed, and messages built
//! from the server's or the driver's words are scrubbed of it as well.

use std::path::PathBuf;
use std::time::Duration;

use super::pgpass;
use super::tls::{self, Check, SslMode};
use crate::error::UserError;

/// How the environment is read: `std::env::var` in the program, a map in
/// tests.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The real environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether `--db` names a PostgreSQL store rather than an SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Where the password came from (for the message when it is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordFrom {
    Url,
    Environment,
    File(PathBuf),
    None,
}

/// A parsed `--db` URL with libpq's defaults applied: everything needed to
/// connect, and how to name it in messages.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    shown: String,
    password: Option<String>,
    pub password_from: PasswordFrom,
    /// Why a password file was not used, to say so if the login fails.
    pgpass_note: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: postgres::Config's Debug hides it too.
        f.debug_struct("Target")
            .field("shown", &self.shown)
            .field("ssl", &self.ssl)
            .field("root_cert", &self.root_cert)
            .finish_non_exhaustive()
    }
}

/// The URL with any password removed: the user's (`user:secret@`) and a
/// `password=` parameter. Works on the text, so even a URL that does not
/// parse is shown without its password.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{hosts}")
        }
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
                decode(key).as_deref() != Ok("password")
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

fn decode(text: &str) -> Result<String, ()> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ())
}

/// The URL parameters libpq knows and the `postgres` crate does not: taken
/// out of the URL before the crate parses the rest.
const OURS: &[&str] = &["sslmode", "sslrootcert", "passfile"];

impl Target {
    /// Parses `url` with the real environment.
    pub fn parse(url: &str) -> Result<Target, UserError> {
        Target::parse_with(url, &process_env)
    }

    /// Parses `url`, taking libpq's defaults from `env`.
    pub fn parse_with(url: &str, env: Env<'_>) -> Result<Target, UserError> {
        let shown = redact(url);
        let bad = |what: String| {
            UserError::Store(format!(
                "--db {shown} is not a PostgreSQL URL cqrs-admin can use: {what}. \
                 Write it as postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full \
                 (a socket folder as the host: postgres://USER@%2Fvar%2Frun%2Fpostgresql/DATABASE)"
            ))
        };
        if !is_url(url) {
            return Err(bad(
                "it does not start with postgres:// or postgresql://".into()
            ));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut kept = Vec::new();
        let mut ours = std::collections::HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key).map_err(|_| bad("a parameter name is not UTF-8".into()))?;
            if OURS.contains(&key.as_str()) {
                let value =
                    decode(value).map_err(|_| bad(format!("the value of {key} is not UTF-8")))?;
                ours.insert(key, value);
            } else {
                kept.push(pair);
            }
        }
        let rebuilt = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: tokio_postgres::Config =
            rebuilt.parse().map_err(|e: postgres::Error| {
                // The crate's parse errors name options, never their values;
                // scrubbed all the same.
                bad(scrub(&e.to_string(), url_password(url).as_deref()))
            })?;
        let password_in_url = config.get_password().is_some();

        let user = match config.get_user() {
            Some(u) => u.to_string(),
            None => env("PGUSER").unwrap_or_else(login_name),
        };
        config.user(&user);
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            let hosts = env("PGHOST").unwrap_or_else(default_host);
            for host in hosts.split(',') {
                config.host(host);
            }
        }
        if config.get_ports().is_empty()
            && let Some(port) = env("PGPORT")
        {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| bad(format!("PGPORT is `{port}`, which is not a port number")))?;
            config.port(port);
        }
        let database = match config.get_dbname() {
            Some(d) => d.to_string(),
            None => env("PGDATABASE").unwrap_or_else(|| user.clone()),
        };
        config.dbname(&database);
        if config.get_connect_timeout().is_none() {
            let seconds = env("PGCONNECT_TIMEOUT")
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|s| *s > 0)
                .unwrap_or(10);
            config.connect_timeout(Duration::from_secs(seconds));
        }
        if config.get_application_name().is_none() {
            config.application_name("cqrs-admin");
        }

        let ssl_text = ours
            .get("sslmode")
            .cloned()
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".to_string());
        let ssl = SslMode::parse(&ssl_text).ok_or_else(|| {
            bad(format!(
                "sslmode is `{ssl_text}`; it must be one of {}",
                SslMode::NAMES
            ))
        })?;
        let home = env("HOME").map(PathBuf::from);
        let root_cert = ours
            .get("sslrootcert")
            .cloned()
            .or_else(|| env("PGSSLROOTCERT"))
            .map(PathBuf::from)
            .or_else(|| {
                home.as_ref()
                    .map(|h| h.join(".postgresql/root.crt"))
                    .filter(|p| p.is_file())
            });

        let mut password_from = PasswordFrom::None;
        let mut pgpass_note = None;
        let mut password = None;
        if password_in_url {
            password_from = PasswordFrom::Url;
            password = config
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned());
        } else if let Some(p) = env("PGPASSWORD") {
            password_from = PasswordFrom::Environment;
            config.password(&p);
            password = Some(p);
        } else {
            let file = ours
                .get("passfile")
                .cloned()
                .or_else(|| env("PGPASSFILE"))
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".pgpass")));
            if let Some(file) = file {
                let host = first_host(&config);
                let port = config
                    .get_ports()
                    .first()
                    .copied()
                    .unwrap_or(5432)
                    .to_string();
                let wanted = pgpass::Wanted {
                    host: &host,
                    port: &port,
                    database: &database,
                    user: &user,
                };
                match pgpass::lookup(&file, wanted) {
                    Ok(Some(p)) => {
                        config.password(&p);
                        password = Some(p);
                        password_from = PasswordFrom::File(file);
                    }
                    Ok(None) => {}
                    Err(pgpass::Ignored::Readable { mode }) => {
                        pgpass_note = Some(format!(
                            "the password file {} was not read because others can read it \
                             (mode {mode:04o}): `chmod 600 {}`",
                            file.display(),
                            file.display()
                        ));
                    }
                    Err(pgpass::Ignored::NotAFile) => {
                        pgpass_note = Some(format!(
                            "the password file {} is not a regular file, so it was not read",
                            file.display()
                        ));
                    }
                }
            }
        }
        Ok(Target {
            config,
            ssl,
            root_cert,
            shown,
            password,
            password_from,
            pgpass_note,
        })
    }

    /// The URL as messages show it: without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The database's name, as connected to.
    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or("")
    }

    /// The login, as connected with.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("")
    }

    /// Whether the password was written in the URL itself.
    pub fn password_in_url(&self) -> bool {
        self.password_from == PasswordFrom::Url
    }

    /// Refuses a password given in the URL on the command line, where
    /// anyone on the machine can read it (`ps`, /proc/PID/cmdline). The
    /// same URL in `CQRS_ADMIN_DB` is accepted: the environment of another
    /// user's process is not readable.
    pub fn refuse_password_on_command_line(
        &self,
        url: &str,
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<(), UserError> {
        if !self.password_in_url() {
            return Ok(());
        }
        let visible = args.into_iter().any(|a| a.to_string_lossy().contains(url));
        if visible {
            return Err(UserError::Store(format!(
                "--db {} holds a password, and the command line is visible to everyone on this \
                 machine (ps): nothing was done. Remove the password from the URL and give it in \
                 PGPASSWORD, or in ~/.pgpass (a line HOST:PORT:DATABASE:USER:PASSWORD, mode 0600), \
                 or put the whole URL in CQRS_ADMIN_DB instead of --db",
                self.shown
            )));
        }
        Ok(())
    }

    /// `message` with the password taken out, whatever produced it.
    pub fn scrub(&self, message: &str) -> String {
        scrub(message, self.password.as_deref())
    }

    /// Connects, with TLS as `sslmode` says.
    pub fn connect(&self) -> Result<postgres::Client, UserError> {
        self.connect_by(|mode| {
            let (config, tls) = self.attempt(mode)?;
            postgres::Config::from(config)
                .connect(tls)
                .map_err(|e| self.explain(&e))
        })
    }

    /// Connects as [`Target::connect`] does, for a client driven by
    /// `runtime` (the audit's scans, which stream a million rows each: the
    /// synchronous client enters its runtime once per row, which cost more
    /// than reading the row). The connection does its work whenever the
    /// runtime runs.
    pub fn connect_async(
        &self,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<tokio_postgres::Client, UserError> {
        self.connect_by(|mode| {
            let (config, tls) = self.attempt(mode)?;
            let (client, connection) = runtime
                .block_on(config.connect(tls))
                .map_err(|e| self.explain(&e))?;
            runtime.spawn(connection);
            Ok(client)
        })
    }

    /// Tries `attempt` with the TLS modes `sslmode` asks for, in libpq's
    /// order.
    fn connect_by<C>(
        &self,
        attempt: impl Fn(postgres::config::SslMode) -> Result<C, UserError>,
    ) -> Result<C, UserError> {
        let unix_only = !self.config.get_hosts().is_empty()
            && self
                .config
                .get_hosts()
                .iter()
                .all(|h| !matches!(h, postgres::config::Host::Tcp(_)));
        // libpq never uses TLS over a Unix socket, whatever sslmode says.
        if unix_only || self.ssl == SslMode::Disable {
            return attempt(postgres::config::SslMode::Disable);
        }
        if self.ssl.verifies() && self.root_cert.is_none() {
            return Err(UserError::Store(format!(
                "cannot connect to the PostgreSQL store {}: sslmode={} needs the certificate \
                 of the authority that signed the server's certificate, and there is none. \
                 Give it with sslrootcert=/path/to/root.crt in the URL (or PGSSLROOTCERT, or \
                 put it at ~/.postgresql/root.crt), or ask the server's administrator for it",
                self.shown,
                self.ssl.name()
            )));
        }
        match self.ssl {
            SslMode::Allow => match attempt(postgres::config::SslMode::Disable) {
                Err(_) => attempt(postgres::config::SslMode::Require),
                ok => ok,
            },
            SslMode::Prefer => attempt(postgres::config::SslMode::Prefer),
            _ => attempt(postgres::config::SslMode::Require),
        }
    }

    /// The settings and TLS of one attempt in `mode`.
    fn attempt(
        &self,
        mode: postgres::config::SslMode,
    ) -> Result<
        (
            tokio_postgres::Config,
            tokio_postgres_rustls::MakeRustlsConnect,
        ),
        UserError,
    > {
        let check = Check::for_mode(self.ssl, self.root_cert.is_some());
        let tls = tls::client_config(check, self.root_cert.as_ref()).map_err(|e| {
            UserError::Store(format!(
                "cannot connect to the PostgreSQL store {}: {}. Check sslrootcert",
                self.shown,
                self.scrub(&e)
            ))
        })?;
        let mut config = self.config.clone();
        config.ssl_mode(mode);
        tracing::info!(store = %self.shown, sslmode = self.ssl.name(), "connecting");
        Ok((config, tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
    }

    /// What went wrong connecting, where, and what to do.
    pub fn explain(&self, e: &postgres::Error) -> UserError {
        let whole = self.scrub(&error_text(e));
        let at = format!(
            "cannot connect to the PostgreSQL store {} (database {} as {})",
            self.shown,
            self.database(),
            self.user()
        );
        let advice: String = if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            match code {
                "28P01" => {
                    let mut a = format!(
                        "the server refused the password for {}: check it (PGPASSWORD or \
                         ~/.pgpass), or ask the server's administrator to set it",
                        self.user()
                    );
                    if let Some(note) = &self.pgpass_note {
                        a.push_str(&format!("; {note}"));
                    }
                    a
                }
                "28000" if db.message().contains("does not exist") => format!(
                    "there is no login {} on that server: check the user name in the URL (or \
                     PGUSER), or ask the server's administrator to create it",
                    self.user()
                ),
                "28000" => format!(
                    "the server does not let {} connect this way ({}): ask its administrator \
                     to allow it in pg_hba.conf{}",
                    self.user(),
                    self.scrub(db.message()),
                    if db.message().contains("no encryption") {
                        ", or connect with TLS (sslmode=require, or better verify-full)"
                    } else {
                        ""
                    }
                ),
                "3D000" => format!(
                    "there is no database {} on that server: check the name in the URL, or ask \
                     the server's administrator to create it (createdb -O OWNER {})",
                    self.database(),
                    self.database()
                ),
                "57P03" => {
                    "the server is starting up or shutting down: try again in a moment".to_string()
                }
                "53300" => "the server has no free connections: try again later, or ask its \
                     administrator to raise max_connections"
                    .to_string(),
                _ => format!("the server said: {}", self.scrub(db.message())),
            }
        } else if whole.contains("password missing") {
            let mut a = format!(
                "the server asks for a password for {} and none was found: set PGPASSWORD, or \
                 add a line HOST:PORT:DATABASE:USER:PASSWORD to ~/.pgpass (mode 0600)",
                self.user()
            );
            if let Some(note) = &self.pgpass_note {
                a.push_str(&format!("; {note}"));
            }
            a
        } else if whole.contains("TLS") || whole.contains("tls") || whole.contains("certificate") {
            format!(
                "the encrypted connection failed ({whole}): check sslmode and sslrootcert, and \
                 that the server's certificate is signed by that authority and names the host \
                 in the URL"
            )
        } else {
            format!(
                "the server could not be reached ({whole}): check that it is running and that \
                 the host and port in the URL are right"
            )
        };
        UserError::Store(format!("{at}: {advice}"))
    }
}

/// The driver's error and its causes, as one line.
fn error_text(e: &postgres::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => message.replace(p, "********"),
        _ => message.to_string(),
    }
}

/// The password written in a URL's user part, to scrub it from messages
/// about a URL that did not parse.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let raw = userinfo.split_once(':')?.1;
    Some(decode(raw).unwrap_or_else(|_| raw.to_string()))
}

fn first_host(config: &tokio_postgres::Config) -> String {
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => {
            // libpq matches the default socket folder to `localhost`.
            if p == std::path::Path::new(DEFAULT_SOCKET_DIR) {
                "localhost".to_string()
            } else {
                p.to_string_lossy().into_owned()
            }
        }
        None => config
            .get_hostaddrs()
            .first()
            .map_or_else(|| "localhost".to_string(), |a| a.to_string()),
    }
}

/// Debian's (and libpq's usual) socket folder.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

fn default_host() -> String {
    if std::path::Path::new(DEFAULT_SOCKET_DIR).is_dir() {
        DEFAULT_SOCKET_DIR.to_string()
    } else {
        "localhost".to_string()
    }
}

/// The name of the process's real user, as libpq takes it for `PGUSER`.
fn login_name() -> String {
    #[cfg(unix)]
    {
        if let Ok(Some(user)) = nix::unistd::User::from_uid(nix::unistd::getuid()) {
            return user.name;
        }
    }
    "postgres".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_password_is_removed_from_the_url_shown() {
        assert_eq!(
            redact("postgres://alice:s3cret@db.nhs.uk:5432/cqrs?sslmode=require"),
            "postgres://alice@db.nhs.uk:5432/cqrs?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://alice@h/db?password=s3cret&sslmode=verify-full"),
            "postgresql://alice@h/db?sslmode=verify-full"
        );
        assert_eq!(redact("postgres://h/db?password=x"), "postgres://h/db");
        // A password with an @ in it (the last @ ends the user part).
        assert_eq!(redact("postgres://a:p@ss@h/db"), "postgres://a@h/db");
    }

    #[test]
    fn libpq_defaults_come_from_the_environment() {
        let env = env_of(&[
            ("PGUSER", "bob"),
            ("PGHOST", "db.nhs.uk"),
            ("PGPORT", "6543"),
            ("PGPASSWORD", "pw"),
            ("PGSSLMODE", "verify-ca"),
        ]);
        let t = Target::parse_with("postgres:///cqrs", &env).unwrap();
        assert_eq!(t.user(), "bob");
        assert_eq!(t.database(), "cqrs");
        assert_eq!(t.config.get_ports(), [6543]);
        assert_eq!(t.ssl, SslMode::VerifyCa);
        assert_eq!(t.password_from, PasswordFrom::Environment);
        // The URL wins over the environment.
        let t = Target::parse_with("postgres://carol:x@h:1/d?sslmode=disable", &env).unwrap();
        assert_eq!((t.user(), t.database()), ("carol", "d"));
        assert_eq!(t.ssl, SslMode::Disable);
        assert!(t.password_in_url());
        // No database: the user's name, as libpq.
        let t = Target::parse_with("postgres://h", &env_of(&[("PGUSER", "dave")])).unwrap();
        assert_eq!(t.database(), "dave");
    }

    #[test]
    fn a_socket_folder_may_be_the_host() {
        let t = Target::parse_with("postgres://u@%2Ftmp%2Fpg/db", &env_of(&[])).unwrap();
        assert!(matches!(
            t.config.get_hosts(),
            [postgres::config::Host::Unix(p)] if p == std::path::Path::new("/tmp/pg")
        ));
        let t = Target::parse_with("postgres:///db?host=/tmp/pg", &env_of(&[])).unwrap();
        assert_eq!(first_host(&t.config), "/tmp/pg");
    }

    #[test]
    fn an_unknown_sslmode_is_refused_naming_the_choices_without_the_password() {
        let err = Target::parse_with("postgres://u:hunter2@h/d?sslmode=always", &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode is `always`"), "{err}");
        assert!(err.contains("verify-full"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = Target::parse_with("postgres://u:hunter2@h/d?nonsense=1", &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nonsense"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn the_password_file_is_read_when_nothing_else_gives_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pass");
        std::fs::write(&file, "h:5432:d:u:from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = env_of(&[("PGPASSFILE", file.to_str().unwrap())]);
        let t = Target::parse_with("postgres://u@h/d", &env).unwrap();
        assert_eq!(t.password_from, PasswordFrom::File(file.clone()));
        assert_eq!(t.config.get_password(), Some(&b"from-file"[..]));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let t = Target::parse_with("postgres://u@h/d", &env).unwrap();
        assert_eq!(t.password_from, PasswordFrom::None);
        assert!(t.pgpass_note.as_deref().unwrap().contains("chmod 600"));
    }

    #[test]
    fn a_password_on_the_command_line_is_refused_and_not_shown() {
        let url = "postgres://u:hunter2@h/d";
        let t = Target::parse_with(url, &env_of(&[])).unwrap();
        let err = t
            .refuse_password_on_command_line(url, ["cqrs-admin".into(), "--db".into(), url.into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PGPASSWORD"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        // From CQRS_ADMIN_DB: not on the command line.
        t.refuse_password_on_command_line(url, ["cqrs-admin".into(), "verify".into()])
            .unwrap();
    }
}
