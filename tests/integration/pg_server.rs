//! A throwaway PostgreSQL server for the tests that need one, started once
//! per run of the test binary: `initdb` and `pg_ctl` into a temporary
//! folder, listening only on a Unix socket in that folder (no TCP port to
//! clash with anything), run as the unprivileged `postgres` user when the
//! tests run as root. Every test gets a database of its own, owned by a
//! login of its own with a password (`database()`).
//!
//! The binaries: `CQRS_ADMIN_PG_BIN`, else the newest
//! /usr/lib/postgresql/*/bin, else `initdb` on PATH (`CQRS_ADMIN_PG_BIN=`
//! set empty: as if there were none). Without them a test
//! returns early, and the run says once on standard error that it skipped
//! the PostgreSQL tests; with `CI` set (`.ci/run`) that is a failure.
//!
//! The server is stopped and its folder removed when the test binary exits,
//! however it exits: a watchdog shell waits on a pipe that only the test
//! process holds open.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use super::common::Run;

/// The superuser initdb creates.
pub const SUPERUSER: &str = "postgres";

pub struct Server {
    /// The temporary folder: data/, the socket, the log.
    pub dir: PathBuf,
    /// The port: on the loopback interface for a TLS server, else only
    /// the number in the socket's name.
    pub port: u16,
    pub bin: PathBuf,
    /// Whom the server runs as, when the tests run as root.
    run_as: Option<String>,
    superuser_password: String,
    /// Kept open for as long as the test process lives (see the module).
    _watchdog: Option<(Child, ChildStdin)>,
}

/// The PostgreSQL binaries' folder, if there is one.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CQRS_ADMIN_PG_BIN") {
        // Set but empty: run as if there were no PostgreSQL (to skip the
        // PostgreSQL tests on purpose, and to see that skip).
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    })
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

impl Server {
    fn start(tls: Option<&Tls>) -> Result<Server, String> {
        let bin = find_bin().ok_or("no PostgreSQL binaries (initdb, pg_ctl) found")?;
        let run_as = running_as_root().then(|| "postgres".to_string());
        let dir = tempfile::Builder::new()
            .prefix("cqrs-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        if let Some(user) = &run_as {
            let user = nix::unistd::User::from_name(user)
                .map_err(|e| e.to_string())?
                .ok_or("running as root, and there is no `postgres` user to run the server as")?;
            std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|e| e.to_string())?;
        }
        let superuser_password = format!("su-{}-{}", std::process::id(), nanos());
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, &superuser_password).map_err(|e| e.to_string())?;
        if let Some(user) = &run_as {
            let user = nix::unistd::User::from_name(user)
                .ok()
                .flatten()
                .ok_or("no postgres user")?;
            std::os::unix::fs::chown(&pwfile, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|e| e.to_string())?;
        }
        let data = dir.join("data");
        let port = match tls {
            Some(_) => free_port()?,
            None => 5432,
        };
        let mut server = Server {
            dir: dir.clone(),
            port,
            bin,
            run_as,
            superuser_password,
            _watchdog: None,
        };
        server.run_checked(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-locale".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let mut options = format!(
            "-c listen_addresses='' -k {} -p {port} -c fsync=off -c full_page_writes=off \
             -c max_connections=200",
            dir.display()
        );
        if let Some(tls) = tls {
            // Loopback only, encrypted only: a connection without TLS is
            // rejected by pg_hba.conf.
            let cert = server.private_file("server.crt", &tls.server_cert)?;
            let key = server.private_file("server.key", &tls.server_key)?;
            options = options.replace("listen_addresses=''", "listen_addresses=127.0.0.1");
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            ));
            server.private_file(
                "data/pg_hba.conf",
                "local all all scram-sha-256\n\
                 hostnossl all all 127.0.0.1/32 reject\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n",
            )?;
        }
        server.run_checked(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                dir.join("log").as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )?;
        // The watchdog: when the test process exits, its end of the pipe
        // closes, `read` returns, and the server is stopped and removed.
        let stop = server.command("pg_ctl");
        let stop = format!(
            "read _; {} -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            shell_words(&stop),
            data.display(),
            dir.display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the watchdog: {e}"))?;
        let stdin = child.stdin.take().ok_or("no watchdog pipe")?;
        server._watchdog = Some((child, stdin));
        Ok(server)
    }

    /// `program` from the binaries' folder, as the server's user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run_checked(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// The socket folder, as a URL's host (percent-encoded) and port.
    pub fn url_host(&self) -> String {
        format!(
            "{}:{}",
            self.dir.display().to_string().replace('/', "%2F"),
            self.port
        )
    }

    /// Writes a file into the server's folder that only the server's user
    /// may read (as PostgreSQL wants its key and its configuration).
    fn private_file(&self, name: &str, content: &str) -> Result<PathBuf, String> {
        let path = self.dir.join(name);
        std::fs::write(&path, content).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        if let Some(user) = &self.run_as {
            let user = nix::unistd::User::from_name(user)
                .ok()
                .flatten()
                .ok_or("no postgres user")?;
            std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(|e| e.to_string())?;
        }
        Ok(path)
    }

    /// Runs psql as `login` (with `password`) on `database`: unaligned,
    /// tuples only, stopping at the first error.
    pub fn psql(&self, login: &str, password: &str, database: &str, sql: &str) -> Run {
        let out = Command::new(self.bin.join("psql"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", password)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", login, "-d", database, "-c", sql])
            .output()
            .expect("run psql");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs psql as the superuser, which must succeed.
    #[track_caller]
    pub fn admin(&self, database: &str, sql: &str) -> String {
        self.psql(SUPERUSER, &self.superuser_password, database, sql)
            .ok()
            .stdout
    }
}

/// A command as words for `sh -c`.
fn shell_words(c: &Command) -> String {
    std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|w| format!("'{}'", w.to_string_lossy().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The run's server, started on first use; None (after saying so once)
/// where there is no PostgreSQL and `CI` is not set.
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Option<Server>> = OnceLock::new();
    static SKIP: Once = Once::new();
    let server = SERVER.get_or_init(|| match Server::start(None) {
        Ok(s) => Some(s),
        Err(why) if std::env::var_os("CI").is_none() && find_bin().is_none() => {
            SKIP.call_once(|| {
                // Straight to the terminal, past the test harness's capture.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL tests skipped: {why} (install PostgreSQL 15, or set CQRS_ADMIN_PG_BIN)"
                );
            });
            None
        }
        Err(why) => panic!("cannot start a PostgreSQL server for the tests: {why}"),
    });
    server.as_ref()
}

/// A database of one test's own, owned by a login of its own.
pub struct Db {
    pub server: &'static Server,
    pub name: String,
    pub owner: String,
    pub owner_password: String,
    /// A folder for HOME, password files, and the like.
    pub home: tempfile::TempDir,
}

static NEXT: AtomicUsize = AtomicUsize::new(1);

/// A fresh database and its owner, or None when the PostgreSQL tests are
/// skipped.
pub fn database() -> Option<Db> {
    Some(database_on(server()?))
}

/// A fresh database and its owner on `server`.
pub fn database_on(server: &'static Server) -> Db {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let name = format!("t{n}");
    let owner = format!("owner_{n}");
    let owner_password = format!("pw-{n}-{}", nanos());
    server.admin(
        "postgres",
        &format!("CREATE ROLE {owner} LOGIN PASSWORD '{owner_password}'"),
    );
    server.admin(
        "postgres",
        &format!("CREATE DATABASE {name} OWNER {owner} ENCODING 'UTF8' TEMPLATE template0"),
    );
    Db {
        server,
        name,
        owner,
        owner_password,
        home: tempfile::tempdir().expect("home"),
    }
}

impl Db {
    /// The store's URL for `login`, without a password.
    pub fn url_for(&self, login: &str) -> String {
        format!(
            "postgres://{login}@{}/{}",
            self.server.url_host(),
            self.name
        )
    }

    /// The owner's URL, without a password.
    pub fn url(&self) -> String {
        self.url_for(&self.owner)
    }

    /// Creates a login with a password (not the owner).
    pub fn login(&self, name: &str, password: &str) {
        self.server.admin(
            "postgres",
            &format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
        );
    }

    /// psql as the owner on this database.
    pub fn psql_owner(&self, sql: &str) -> Run {
        self.server
            .psql(&self.owner, &self.owner_password, &self.name, sql)
    }

    /// A psql session as the owner on this database, kept open and fed
    /// SQL on its standard input (to hold a lock or a transaction open
    /// while the binary runs); its output is discarded.
    pub fn psql_session(&self) -> (Child, ChildStdin) {
        let mut psql = Command::new(self.server.bin.join("psql"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PGPASSWORD", &self.owner_password)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.server.dir)
            .args(["-p", &self.server.port.to_string()])
            .args(["-U", &self.owner, "-d", &self.name])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run psql");
        let stdin = psql.stdin.take().expect("psql's stdin");
        (psql, stdin)
    }

    /// psql as any login on this database.
    pub fn psql(&self, login: &str, password: &str, sql: &str) -> Run {
        self.server.psql(login, password, &self.name, sql)
    }

    /// The binary, with no PostgreSQL settings from the test's own
    /// environment and HOME in a folder of this test's.
    pub fn cqrs(&self) -> Command {
        let mut c = Command::new(super::common::binary());
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("USER", "tester");
        c
    }

    /// Runs the binary as the owner (password in PGPASSWORD) on this store.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&[], args)
    }

    /// [`Db::run`] with these environment variables set too.
    pub fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.cqrs();
        c.envs(env.iter().copied())
            .env("PGPASSWORD", &self.owner_password)
            .arg("--db")
            .arg(self.url())
            .args(args);
        run(c)
    }
}

/// Runs a prepared command.
pub fn run(mut c: Command) -> Run {
    let out = c.stdin(Stdio::null()).output().expect("run the binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A file in `dir` with `content`, owner-only.
pub fn private_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// The certificates of a TLS server: a test authority's, and the server's
/// for `localhost` signed by it.
pub struct Tls {
    pub ca_cert: String,
    pub server_cert: String,
    pub server_key: String,
}

/// A certificate authority of the tests' own, and a server certificate
/// for `localhost` signed by it.
pub fn authority() -> (Tls, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "cqrs-admin test authority");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = params.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::new(params, ca_key);
    let mut server = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    server
        .extended_key_usages
        .push(rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = server.signed_by(&key, &issuer).unwrap().pem();
    (
        Tls {
            ca_cert,
            server_cert: cert,
            server_key: key.serialize_pem(),
        },
        issuer,
    )
}

/// The run's TLS server (loopback TCP, encrypted connections only) and
/// its authority's certificate; None as [`server`].
pub fn tls_server() -> Option<&'static (Server, Tls)> {
    static TLS: OnceLock<Option<(Server, Tls)>> = OnceLock::new();
    // Without binaries, [`server`] says so once (or fails in CI).
    server()?;
    TLS.get_or_init(|| {
        let (tls, _) = authority();
        // A port found free can be taken before the server binds it:
        // try a few.
        let mut last = String::new();
        for _ in 0..5 {
            match Server::start(Some(&tls)) {
                Ok(server) => return Some((server, tls)),
                Err(why) => last = why,
            }
        }
        panic!("cannot start a TLS PostgreSQL server for the tests: {last}")
    })
    .as_ref()
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The SQL that makes a store's schema as a version that knew only the first
/// `count` migrations made it, each recorded in `schema_migrations`: the
/// start of every "a store made before migration N is upgraded" test.
pub fn schema_of_first_migrations(count: usize) -> String {
    let mut sql = String::new();
    for (i, migration) in cqrs_admin::store::postgres::schema::MIGRATIONS
        .iter()
        .take(count)
        .enumerate()
    {
        sql.push_str(migration);
        sql.push_str(&format!(
            ";\nINSERT INTO schema_migrations (version) VALUES ({});\n",
            i + 1
        ));
    }
    sql
}
