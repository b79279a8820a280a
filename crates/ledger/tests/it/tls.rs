//! The PostgreSQL store over TLS, against the real server of `PHASEGATE_TEST_PG_URL` (skipped
//! when unset, failing under `CI=true`).
//!
//! Each case makes its own CA and a server certificate for `localhost` (rcgen), writes them
//! where the server can read them, and points the server at them (`ALTER SYSTEM`, then
//! `pg_reload_conf()`: connections already open, other tests' included, keep going). The
//! certificate names `localhost` only, so that connecting to `127.0.0.1` shows the host name
//! check of `verify-full` and its absence in `verify-ca`.
//!
//! The server's previous TLS settings come back when the case ends, even on a panic (a drop
//! guard), before the certificate files go: the server would otherwise fail to reload, or to
//! restart, with `ssl = on` and its files gone. Cases take turns (a lock in this process, an
//! advisory lock for other processes) because they change one server's settings.

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use phasegate_ledger::{Ledger, PostgresStore};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::conformance::append_close_verify_round_trip;
use crate::support::{PgBackend, fresh_schema, pg_skipped, pg_url, run};

/// The server settings a case changes.
const SETTINGS: [&str; 3] = ["ssl_cert_file", "ssl_key_file", "ssl"];

/// Marks the directories of these tests, so that settings a killed run left pointing into
/// one are not "restored" by the next run.
const DIR_PREFIX: &str = "phasegate-pgtls-";

/// `pg_advisory_lock` key shared by every process running these cases ("pgtls").
const ADVISORY_LOCK: i64 = 0x0070_6774_6c73;

/// One case at a time in this process (the advisory lock is per session, not per thread).
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// A CA in PEM and the issuer that signs with it.
fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// The server's TLS for one case: its files, and the guard that puts the server back.
struct ServerTls {
    /// Puts the settings back; dropped before `dir`, so the server never points at removed
    /// files.
    guard: Restore,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// A CA that did not.
    wrong_ca: PathBuf,
    /// The URL of the tests' server (`PHASEGATE_TEST_PG_URL`), as given.
    url: String,
    _dir: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// The server's settings as they were (from `postgresql.auto.conf`; `None`: not set there),
/// restored on drop.
struct Restore {
    admin: postgres::Client,
    previous: Vec<(&'static str, Option<String>)>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        for (name, value) in &self.previous {
            // ALTER SYSTEM refuses to run in a transaction block: one statement at a time.
            let sql = match value {
                Some(v) => format!("ALTER SYSTEM SET {name} = '{}'", v.replace('\'', "''")),
                None => format!("ALTER SYSTEM RESET {name}"),
            };
            if let Err(e) = self.admin.batch_execute(&sql) {
                eprintln!("warning: cannot restore the server's {name}: {e}");
            }
        }
        if let Err(e) = self.admin.batch_execute("SELECT pg_reload_conf()") {
            eprintln!("warning: cannot reload the server's configuration: {e}");
        }
        // Dropping the connection ends the session and with it the advisory lock.
    }
}

impl ServerTls {
    /// Sets the server up for one case, or `None` (skip) without `PHASEGATE_TEST_PG_URL`.
    fn set_up(case: &str) -> Option<ServerTls> {
        let Some(base) = pg_url() else {
            pg_skipped(case);
            return None;
        };
        // A case that panicked poisoned the lock; its guard has restored the server anyway.
        let turn = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        admin
            .execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK])
            .unwrap();
        let previous = SETTINGS
            .iter()
            .map(|&name| {
                let row = admin
                    .query_opt(
                        "SELECT setting FROM pg_file_settings
                         WHERE name = $1 AND sourcefile LIKE '%postgresql.auto.conf'
                         ORDER BY seqno DESC LIMIT 1",
                        &[&name],
                    )
                    .unwrap();
                let value: Option<String> = row.map(|r| r.get(0));
                (name, value.filter(|v| !v.contains(DIR_PREFIX)))
            })
            .collect();
        let guard = Restore { admin, previous };

        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .unwrap();
        let (ca_pem, ca) = new_ca("phasegate test CA");
        let (wrong_pem, _) = new_ca("phasegate wrong CA");
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let write = |name: &str, text: &str, mode: u32| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let cert_file = write("server.crt", &server_cert.pem(), 0o644);
        // The server refuses a key others can read.
        let key_file = write("server.key", &server_key.serialize_pem(), 0o600);
        let ca_file = write("ca.pem", &ca_pem, 0o644);
        let wrong_file = write("wrong-ca.pem", &wrong_pem, 0o644);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // The server runs as its own user and wants its key owned by itself (or root, but
        // then 0640 with its group): as root, hand it the key.
        if std::fs::metadata(&key_file).unwrap().uid() == 0 {
            let uid = uid_of("postgres").expect("no `postgres` user in /etc/passwd");
            std::os::unix::fs::chown(&key_file, Some(uid), None).unwrap();
        }

        let mut ready = ServerTls {
            guard,
            ca: ca_file,
            wrong_ca: wrong_file,
            url: base,
            _dir: dir,
            _turn: turn,
        };
        let admin = &mut ready.guard.admin;
        // The server reads the files as its own user: prove it can before relying on it.
        admin
            .query_one(
                "SELECT pg_read_binary_file($1)",
                &[&key_file.to_str().unwrap()],
            )
            .unwrap_or_else(|e| {
                panic!("the server cannot read {}: {e}", key_file.display());
            });
        for (name, value) in [
            ("ssl_cert_file", cert_file.to_str().unwrap()),
            ("ssl_key_file", key_file.to_str().unwrap()),
            ("ssl", "on"),
        ] {
            admin
                .batch_execute(&format!(
                    "ALTER SYSTEM SET {name} = '{}'",
                    value.replace('\'', "''")
                ))
                .unwrap();
        }
        admin.batch_execute("SELECT pg_reload_conf()").unwrap();
        ready.wait_for_reload(cert_file.to_str().unwrap());
        Some(ready)
    }

    /// `pg_reload_conf()` only signals the server: new sessions see the new settings (and
    /// the certificate loaded with them) once the postmaster has read them.
    fn wait_for_reload(&self, cert_file: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut fresh = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            let shown: String = fresh.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
            if shown == cert_file {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not reload its configuration"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The base URL on `host`, with `params` (`a=b&c=d`, or none) and an `application_name` that
    /// finds the session in `pg_stat_ssl`.
    fn url(&self, host: &str, params: &str, app: &str) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => (format!("{user}@"), hostport),
            None => (String::new(), authority),
        };
        let port = hostport.rsplit_once(':').map_or("", |(_, p)| p);
        let port = if port.is_empty() {
            String::new()
        } else {
            format!(":{port}")
        };
        let sep = if tail.contains('?') { '&' } else { '?' };
        let mut url = format!("{scheme}://{user}{host}{port}{tail}{sep}application_name={app}");
        if !params.is_empty() {
            url = format!("{url}&{params}");
        }
        url
    }

    /// Whether the session of `app` is encrypted, as the server sees it.
    fn is_encrypted(&mut self, app: &str) -> bool {
        self.guard
            .admin
            .query_one(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = $1",
                &[&app],
            )
            .unwrap()
            .get(0)
    }

    fn ca(&self) -> &str {
        self.ca.to_str().unwrap()
    }

    fn wrong_ca(&self) -> &str {
        self.wrong_ca.to_str().unwrap()
    }
}

/// The uid of `user` in `/etc/passwd`.
fn uid_of(user: &str) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(user))
            .then(|| fields.nth(1)?.parse().ok())
            .flatten()
    })
}

/// An application name no other session uses.
fn app_name() -> String {
    format!("pgtls_{}", fresh_schema())
}

/// Opens a ledger at `url` in a fresh schema and drops the schema afterwards.
fn open_and_drop(url: &str) -> Result<(), String> {
    let schema = fresh_schema();
    let store = PostgresStore::open_in_schema(url, &schema).map_err(|e| e.to_string())?;
    drop(store);
    PostgresStore::drop_schema(url, &schema).map_err(|e| e.to_string())
}

#[test]
fn verify_full_with_the_servers_ca_round_trips_over_an_encrypted_session() {
    let Some(mut server) =
        ServerTls::set_up("verify_full_with_the_servers_ca_round_trips_over_an_encrypted_session")
    else {
        return;
    };
    let app = app_name();
    let url = server.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", server.ca()),
        &app,
    );
    append_close_verify_round_trip(&PgBackend::with_url(url.clone()));

    let schema = fresh_schema();
    let mut ledger = Ledger::open_url(&format!("{url}&schema={schema}")).unwrap();
    ledger.open_run(&run("r")).unwrap();
    assert!(
        server.is_encrypted(&app),
        "the store's session is not encrypted"
    );
    drop(ledger);
    PostgresStore::drop_schema(&url, &schema).unwrap();
}

#[test]
fn verify_full_refuses_another_ca_and_another_host_name() {
    let Some(server) = ServerTls::set_up("verify_full_refuses_another_ca_and_another_host_name")
    else {
        return;
    };
    let url = server.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={}", server.wrong_ca()),
        &app_name(),
    );
    let err = Ledger::open_url(&url).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot open ledger `{url}&schema=phasegate`")),
        "{err}"
    );
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );

    // The right CA, but the certificate does not name 127.0.0.1.
    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", server.ca()),
        &app_name(),
    );
    let err = open_and_drop(&url).unwrap_err();
    assert!(
        err.contains("invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{err}"
    );
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let Some(mut server) = ServerTls::set_up("verify_ca_checks_the_chain_but_not_the_host_name")
    else {
        return;
    };
    let app = app_name();
    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", server.ca()),
        &app,
    );
    let schema = fresh_schema();
    let store = PostgresStore::open_in_schema(&url, &schema).unwrap();
    assert!(server.is_encrypted(&app));
    drop(store);
    PostgresStore::drop_schema(&url, &schema).unwrap();

    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", server.wrong_ca()),
        &app_name(),
    );
    let err = open_and_drop(&url).unwrap_err();
    assert!(
        err.contains("invalid peer certificate: UnknownIssuer"),
        "{err}"
    );
}

#[test]
fn require_and_the_default_prefer_encrypt_without_a_root_certificate() {
    let Some(mut server) =
        ServerTls::set_up("require_and_the_default_prefer_encrypt_without_a_root_certificate")
    else {
        return;
    };
    // No `sslmode` at all: libpq's default, `prefer`.
    for params in ["sslmode=require", "", "sslmode=prefer"] {
        let app = app_name();
        let url = server.url("127.0.0.1", params, &app);
        let schema = fresh_schema();
        let store = PostgresStore::open_in_schema(&url, &schema).unwrap();
        assert!(server.is_encrypted(&app), "{params}");
        drop(store);
        PostgresStore::drop_schema(&url, &schema).unwrap();
    }
    // `disable` stays plain even though the server offers TLS.
    let app = app_name();
    let url = server.url("127.0.0.1", "sslmode=disable", &app);
    let schema = fresh_schema();
    let store = PostgresStore::open_in_schema(&url, &schema).unwrap();
    assert!(!server.is_encrypted(&app));
    drop(store);
    PostgresStore::drop_schema(&url, &schema).unwrap();
}

/// A server that answers the client's TLS request with `N` (no TLS), as one built without
/// or configured without TLS does. No real server needed: the refusal comes first.
#[test]
fn require_refuses_a_server_without_tls_naming_the_ledger_but_not_its_password() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).unwrap();
        // SSLRequest: length 8, then the code 1234 5679.
        assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
        socket.write_all(b"N").unwrap();
    });
    let url = format!("postgres://who:s3cret@127.0.0.1:{port}/db?sslmode=require");
    let err = PostgresStore::open(&url).unwrap_err().to_string();
    server.join().unwrap();
    assert_eq!(
        err,
        format!(
            "cannot open ledger `postgres://who:***@127.0.0.1:{port}/db?sslmode=require\
             &schema=phasegate`: error performing TLS handshake: server does not support TLS"
        )
    );
}

#[test]
fn a_bad_sslmode_or_a_missing_root_certificate_is_named_with_the_ledger() {
    let err = PostgresStore::open("postgres://u:pw@127.0.0.1:1/db?sslmode=verify-full")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ledger `postgres://u:***@127.0.0.1:1/db?sslmode=verify-full"),
        "{err}"
    );
    assert!(
        err.contains("sslmode=verify-full needs sslrootcert=PATH"),
        "{err}"
    );
    let err = PostgresStore::open("postgres://u@127.0.0.1:1/db?sslmode=always")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown sslmode `always`"), "{err}");
    let missing = Path::new("/nonexistent/ca.pem");
    let err = PostgresStore::open(&format!(
        "postgres://u@127.0.0.1:1/db?sslmode=require&sslrootcert={}",
        missing.display()
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot read sslrootcert `/nonexistent/ca.pem`"),
        "{err}"
    );
}
