//! TLS for the PostgreSQL store: libpq's `sslmode` and `sslrootcert` URL parameters, on
//! rustls with the ring provider.
//!
//! tokio-postgres only decides whether to ask the server for TLS (`disable`, `prefer`,
//! `require`) and rejects parameters it does not know; what the server's certificate must
//! prove is the connector's business. So the store takes both parameters out of the URL
//! ([`Tls::from_params`]), tells tokio-postgres whether to ask ([`Tls::ssl_mode`]), and
//! connects through a rustls configuration built for the mode ([`Tls::connect`]), as libpq
//! does:
//!
//! | `sslmode` | TLS | the certificate is checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | against `sslrootcert` if given, else not |
//! | `require` | always | against `sslrootcert` if given, else not |
//! | `verify-ca` | always | chains to `sslrootcert` |
//! | `verify-full` | always | chains to `sslrootcert` and names the host |
//!
//! Whatever the mode, the server must prove it holds the key of the certificate it shows
//! (the handshake signature is always verified): without a CA that proves nothing about who
//! the server is, but the session is encrypted against a passive listener.

use std::path::Path;
use std::sync::Arc;

use postgres::config::SslMode as WireMode;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq's `allow` (plain first, TLS only when the server insists) is left out: it
            // is never the safer choice, and tokio-postgres cannot express it.
            other => {
                return Err(format!(
                    "unknown sslmode `{other}`: expected disable, prefer, require, verify-ca \
                     or verify-full"
                ));
            }
        })
    }
}

/// How the store connects: whether it asks for TLS, and the rustls connector that checks
/// the server's certificate as the mode says.
#[derive(Clone)]
pub(crate) struct Tls {
    mode: SslMode,
    connector: MakeRustlsConnect,
}

impl Tls {
    /// The TLS of a URL's `sslmode` (default `prefer`, as libpq) and `sslrootcert` (a PEM
    /// file of CA certificates), read now so that a missing file is reported on open. The
    /// error is a reason to show beside the ledger's location.
    pub(crate) fn from_params(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
    ) -> Result<Tls, String> {
        let mode = sslmode.map_or(Ok(SslMode::Prefer), SslMode::parse)?;
        // As libpq, `disable` ignores a root certificate rather than refusing the URL.
        let roots = match sslrootcert {
            Some(path) if mode != SslMode::Disable => Some(load_roots(Path::new(path))?),
            _ => None,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        let config = match (mode, roots) {
            (SslMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots),
            (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
                let name = if mode == SslMode::VerifyCa {
                    "verify-ca"
                } else {
                    "verify-full"
                };
                return Err(format!(
                    "sslmode={name} needs sslrootcert=PATH, a PEM file of the CA certificates \
                     that sign the server's certificate"
                ));
            }
            // libpq checks the chain in `prefer` and `require` too when given a root
            // certificate: asking for a check and silently skipping it would mislead.
            (_, roots) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier {
                    roots: roots.map(Arc::new),
                    algorithms: provider.signature_verification_algorithms,
                })),
        }
        .with_no_client_auth();
        Ok(Tls {
            mode,
            connector: MakeRustlsConnect::new(config),
        })
    }

    /// Whether tokio-postgres asks the server for TLS and may go on without it.
    pub(crate) fn ssl_mode(&self) -> WireMode {
        match self.mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        }
    }

    /// Connects with `config`, whose `ssl_mode` must be [`Tls::ssl_mode`].
    pub(crate) fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match self.mode {
            SslMode::Disable => config.connect(NoTls),
            _ => config.connect(self.connector.clone()),
        }
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read sslrootcert `{shown}`: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("cannot read sslrootcert `{shown}`: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert `{shown}` holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert `{shown}` holds no PEM certificate"));
    }
    Ok(roots)
}

/// The certificate check of `prefer`, `require` and `verify-ca`: the chain against `roots`
/// when there are any, never the host name. The handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mode_is_prefer_as_in_libpq() {
        let tls = Tls::from_params(None, None).unwrap();
        assert_eq!(tls.mode, SslMode::Prefer);
        assert!(matches!(tls.ssl_mode(), WireMode::Prefer));
    }

    #[test]
    fn verifying_modes_need_a_root_certificate() {
        for mode in ["verify-ca", "verify-full"] {
            let err = Tls::from_params(Some(mode), None).err().unwrap();
            assert!(
                err.contains(&format!("sslmode={mode} needs sslrootcert")),
                "{err}"
            );
        }
        for mode in ["disable", "prefer", "require"] {
            assert!(Tls::from_params(Some(mode), None).is_ok(), "{mode}");
        }
    }

    #[test]
    fn unknown_modes_and_unreadable_roots_are_named() {
        let err = Tls::from_params(Some("allow"), None).err().unwrap();
        assert!(err.starts_with("unknown sslmode `allow`"), "{err}");
        let err = Tls::from_params(Some("verify-full"), Some("/nonexistent/ca.pem"))
            .err()
            .unwrap();
        assert!(
            err.starts_with("cannot read sslrootcert `/nonexistent/ca.pem`"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Tls::from_params(Some("require"), empty.to_str())
            .err()
            .unwrap();
        assert!(err.ends_with("holds no PEM certificate"), "{err}");
        // `disable` never reads it.
        assert!(Tls::from_params(Some("disable"), Some("/nonexistent/ca.pem")).is_ok());
    }
}
