//! TLS to a PostgreSQL store, with libpq's `sslmode` meanings, against a
//! server that accepts only encrypted connections on the loopback
//! interface, with a certificate for `localhost` signed by a test
//! authority (pg_server.rs).

use super::common::Run;
use super::pg_server::{self, Db, private_file, run};

/// A fresh database on the TLS server, the authority's certificate in
/// the test's folder.
fn tls_db() -> Option<(Db, String)> {
    let (server, tls) = pg_server::tls_server()?;
    let db = pg_server::database_on(server);
    let ca = private_file(db.home.path(), "ca.crt", &tls.ca_cert);
    Some((db, ca.display().to_string()))
}

/// `verify` as the owner on `host` with URL parameters `params`.
fn verify(db: &Db, host: &str, params: &str) -> Run {
    let mut c = db.cqrs();
    c.env("PGPASSWORD", &db.owner_password).args([
        "--db",
        &format!(
            "postgres://{}@{host}:{}/{}?{params}",
            db.owner, db.server.port, db.name
        ),
        "verify",
    ]);
    run(c)
}

#[test]
fn verify_full_checks_the_authority_and_the_host_name() {
    let Some((db, ca)) = tls_db() else { return };
    let out = verify(
        &db,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .ok();
    assert!(out.stderr.contains("created now"), "{}", out.stderr);
    // The certificate names localhost, not 127.0.0.1.
    let out = verify(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .fails(1);
    assert!(
        out.stderr.contains("the encrypted connection failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("not valid for name \"127.0.0.1\""),
        "{}",
        out.stderr
    );
    // verify-ca checks only the authority.
    verify(
        &db,
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    )
    .ok();
}

#[test]
fn a_certificate_from_another_authority_is_refused() {
    let Some((db, _)) = tls_db() else { return };
    let (other, _) = pg_server::authority();
    let other = private_file(db.home.path(), "other.crt", &other.ca_cert);
    for mode in ["verify-ca", "verify-full"] {
        let out = verify(
            &db,
            "localhost",
            &format!("sslmode={mode}&sslrootcert={}", other.display()),
        )
        .fails(1);
        assert!(
            out.stderr.contains("the encrypted connection failed"),
            "{mode}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("invalid peer certificate"),
            "{mode}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(&db.owner_password), "{}", out.stderr);
    }
    // require encrypts without checking, unless a root certificate is at
    // hand (~/.postgresql/root.crt), as libpq.
    verify(&db, "localhost", "sslmode=require").ok();
    std::fs::create_dir(db.home.path().join(".postgresql")).unwrap();
    std::fs::copy(&other, db.home.path().join(".postgresql/root.crt")).unwrap();
    let out = verify(&db, "localhost", "sslmode=require").fails(1);
    assert!(
        out.stderr.contains("the encrypted connection failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn verify_modes_without_a_root_certificate_say_what_is_missing() {
    let Some((db, _)) = tls_db() else { return };
    let out = verify(&db, "localhost", "sslmode=verify-full").fails(1);
    assert!(
        out.stderr
            .contains("needs the certificate of the authority"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("sslrootcert="), "{}", out.stderr);
}

#[test]
fn disable_allow_and_prefer_behave_as_in_libpq() {
    let Some((db, _)) = tls_db() else { return };
    // The server takes only encrypted connections.
    let out = verify(&db, "localhost", "sslmode=disable").fails(1);
    assert!(out.stderr.contains("does not let"), "{}", out.stderr);
    assert!(out.stderr.contains("no encryption"), "{}", out.stderr);
    assert!(out.stderr.contains("sslmode=require"), "{}", out.stderr);
    // allow tries without, then with TLS; prefer (the default) with.
    verify(&db, "localhost", "sslmode=allow").ok();
    verify(&db, "localhost", "sslmode=prefer").ok();
    let mut c = db.cqrs();
    c.env("PGPASSWORD", &db.owner_password)
        .env("PGHOST", "localhost")
        .env("PGPORT", db.server.port.to_string())
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", db.home.path().join("ca.crt"))
        .args([
            "--db",
            &format!("postgres://{}@/{}", db.owner, db.name),
            "verify",
        ]);
    run(c).ok();
}
