//! The `load` probe over TLS and HTTP/2 against real servers on loopback: a CA made here
//! (rcgen) signs the server's certificate, and the server (hyper-util's auto builder behind an
//! axum router) speaks HTTP/1.1 and HTTP/2, with prior knowledge on plain TCP and by ALPN over
//! TLS; it counts connections and requests by protocol, so every count in the result is
//! checked against what the server saw.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use phasegate_model::Verdict;
use phasegate_probes::load::LoadResult;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::json;

use crate::support::*;

/// What the server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    http1: AtomicU64,
    http2: AtomicU64,
}

impl Seen {
    fn counts(&self) -> (u64, u64, u64) {
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        (get(&self.connections), get(&self.http1), get(&self.http2))
    }
}

struct Server {
    url: url::Url,
    seen: Arc<Seen>,
    /// Holds `ca.pem`, the CA that signed the server's certificate.
    dir: tempfile::TempDir,
}

/// A server on loopback: plain (h1 and h2c) when `alpn` is `None`, else TLS offering `alpn`.
async fn server(alpn: Option<&[&[u8]]>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let acceptor = alpn.map(|alpn| {
        let config = server_tls(&dir.path().join("ca.pem"), alpn);
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    let app = Router::new().route(
        "/",
        get(move |req: axum::extract::Request| async move {
            let n = if req.version() == axum::http::Version::HTTP_2 {
                &counts.http2
            } else {
                &counts.http1
            };
            n.fetch_add(1, Ordering::SeqCst);
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            accepted.connections.fetch_add(1, Ordering::SeqCst);
            let (app, acceptor) = (app.clone(), acceptor.clone());
            tokio::spawn(async move {
                let service = TowerToHyperService::new(app);
                // The auto builder reads the HTTP/2 preface to tell h2 from HTTP/1.1.
                let builder = auto::Builder::new(TokioExecutor::new());
                let _ = match acceptor {
                    Some(a) => match a.accept(tcp).await {
                        Ok(tls) => builder.serve_connection(TokioIo::new(tls), service).await,
                        Err(_) => return,
                    },
                    None => builder.serve_connection(TokioIo::new(tcp), service).await,
                };
            });
        }
    });
    let scheme = if alpn.is_some() { "https" } else { "http" };
    Server {
        url: format!("{scheme}://{addr}/").parse().unwrap(),
        seen,
        dir,
    }
}

/// A new CA (written to `ca_path` in PEM) and the server's configuration with a certificate
/// it signed for 127.0.0.1 and localhost.
fn server_tls(ca_path: &std::path::Path, alpn: &[&[u8]]) -> rustls::ServerConfig {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "phasegate test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    std::fs::write(ca_path, ca.self_signed(&ca_key).unwrap().pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

async fn run_in(s: &Server, p: serde_json::Value) -> phasegate_probes::Outcome {
    phasegate_probes::run("load", &params(p), &ctx_in(&s.url, s.dir.path())).await
}

fn result(o: &phasegate_probes::Outcome) -> LoadResult {
    LoadResult::from_json(o.attachment.as_deref().expect("the result file")).unwrap()
}

const H2_AND_H1: &[&[u8]] = &[b"h2", b"http/1.1"];

#[tokio::test]
async fn https_passes_with_the_staging_ca_and_speaks_http1_unless_h2_is_asked_for() {
    // The server offers h2 too: without `http2`, ALPN offers only http/1.1.
    let s = server(Some(H2_AND_H1)).await;
    let o = run_in(
        &s,
        json!({"connections": 2, "duration": "20s", "max_requests": 60, "ca_file": "ca.pem",
               "thresholds": {"error_rate": "0%"}}),
    )
    .await;
    assert_pass(&o);
    let r = result(&o);
    assert!(r.tls && !r.http2, "{r:?}");
    assert_eq!(r.protocol(), Some("http/1.1"));
    assert_eq!(
        (r.sent, r.answered(), r.opened.http1, r.opened.http2),
        (60, 60, 2, 0)
    );
    assert_eq!(s.seen.counts(), (2, 60, 0));
    assert_eq!(o.measurements["connections_http1"], 2.0);
}

#[tokio::test]
async fn https_without_the_ca_is_an_error_that_names_the_certificate() {
    let s = server(Some(H2_AND_H1)).await;
    let o = run_in(
        &s,
        json!({"connections": 2, "duration": "300ms", "max_requests": 20}),
    )
    .await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    let why = o.reason.unwrap();
    assert!(
        why.contains("TLS handshake with `127.0.0.1` failed: invalid peer certificate"),
        "{why}"
    );
    // Handshakes were made and refused; not one request reached the handler.
    let (connections, h1, h2) = s.seen.counts();
    assert!(connections > 0);
    assert_eq!((h1, h2), (0, 0));
}

#[tokio::test]
async fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_by_name() {
    let s = server(Some(H2_AND_H1)).await;
    std::fs::write(s.dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    for (file, says) in [
        ("absent.pem", "No such file"),
        ("empty.pem", "no PEM certificate in it"),
    ] {
        let o = run_in(&s, json!({"duration": "1s", "ca_file": file})).await;
        assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
        let why = o.reason.unwrap();
        let path = PathBuf::from(s.dir.path()).join(file);
        assert!(
            why.contains(&format!("cannot use the CA file `{}`", path.display()))
                && why.contains(says),
            "{why}"
        );
    }
    assert_eq!(s.seen.counts(), (0, 0, 0));
}

#[tokio::test]
async fn h2c_carries_the_streams_of_each_connection_on_prior_knowledge() {
    let s = server(None).await;
    let o = run_in(
        &s,
        json!({"http2": true, "connections": 2, "streams": 4, "duration": "20s",
               "max_requests": 200, "thresholds": {"error_rate": "0%"}}),
    )
    .await;
    assert_pass(&o);
    let r = result(&o);
    assert!(!r.tls && r.http2, "{r:?}");
    assert_eq!(r.protocol(), Some("h2"));
    // Eight request loops, two TCP connections.
    assert_eq!(
        (r.sent, r.answered(), r.opened.http1, r.opened.http2),
        (200, 200, 0, 2)
    );
    assert_eq!(s.seen.counts(), (2, 0, 200));
}

#[tokio::test]
async fn h2_over_tls_is_negotiated_by_alpn_at_a_constant_rate() {
    let s = server(Some(H2_AND_H1)).await;
    let o = run_in(
        &s,
        json!({"http2": true, "connections": 1, "streams": 3, "rate": 100, "duration": "500ms",
               "ca_file": "ca.pem", "thresholds": {"error_rate": "0%", "p99": "500ms"}}),
    )
    .await;
    assert_pass(&o);
    let r = result(&o);
    assert_eq!(r.protocol(), Some("h2"));
    assert_eq!((r.sent, r.opened.http2), (50, 1));
    assert_eq!(s.seen.counts(), (1, 0, 50));
}

#[tokio::test]
async fn a_server_that_chooses_http1_by_alpn_fails_a_gate_that_asked_for_h2() {
    let s = server(Some(&[b"http/1.1"])).await;
    let o = run_in(
        &s,
        json!({"http2": true, "connections": 2, "duration": "20s", "max_requests": 40,
               "ca_file": "ca.pem"}),
    )
    .await;
    assert_fails_with(&o, "load-not-http2");
    let m = &o.findings[0].message;
    assert!(
        m.contains("HTTP/2 was asked for, but 2 of 2 connections spoke HTTP/1.1"),
        "{m}"
    );
    let r = result(&o);
    assert_eq!(r.protocol(), Some("http/1.1"));
    assert_eq!(s.seen.counts(), (2, 40, 0));
}

#[tokio::test]
async fn streams_without_http2_are_refused() {
    let s = server(None).await;
    let o = run_in(&s, json!({"duration": "1s", "streams": 4})).await;
    assert_eq!(o.verdict, Verdict::Error, "{o:#?}");
    assert!(o.reason.unwrap().contains("need HTTP/2 (http2 = true)"));
    assert_eq!(s.seen.counts(), (0, 0, 0));
}
