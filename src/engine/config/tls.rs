//! `[daemon] tls_cert`, `tls_key` and `client_ca`: the files that make the listener speak TLS
//! (1.2 and 1.3, rustls with ring) and, with `client_ca`, require a client certificate signed
//! by that CA. Relative paths start at the configuration file's folder. The files are read
//! when the configuration is loaded, so one that cannot be read, does not parse or does not
//! match is a configuration error naming the file; [`server_config`] is what the daemon's
//! listener builds from them, at start and each time the files change on disk.
//!
//! No message ever carries key material: a private key that does not parse is named, not shown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::fields::{Ctx, Fields};
use super::keys;

/// The TLS files of `[daemon]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// With it, a client must present a certificate signed by this CA.
    pub client_ca: Option<PathBuf>,
}

impl Tls {
    /// Every file the listener is built from (what is watched for changes).
    pub fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.cert.as_path(), self.key.as_path()];
        files.extend(self.client_ca.as_deref());
        files
    }
}

/// Why the TLS files cannot be used: the key whose file is at fault, and one sentence naming
/// the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TlsError {
    pub key: &'static str,
    pub message: String,
}

fn fail(key: &'static str, message: String) -> TlsError {
    TlsError { key, message }
}

/// Reads `tls_cert`, `tls_key` and `client_ca` of `f` (the `[daemon]` table), with relative
/// paths resolved against `dir`, and checks the files; `None` when TLS is off or after errors.
pub(super) fn tls(ctx: &mut Ctx<'_>, f: &Fields<'_, '_>, dir: &Path) -> Option<Tls> {
    let cert = f.string(ctx, keys::TLS_CERT.name);
    let key = f.string(ctx, keys::TLS_KEY.name);
    let ca = f.string(ctx, keys::CLIENT_CA.name);
    let (cert, key) = match (cert, key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => {
            if let Some((_, span)) = ca {
                let message = "client_ca needs tls_cert and tls_key: client certificates are asked for in a TLS handshake";
                ctx.error(span, &f.key_path(keys::CLIENT_CA.name), message);
            }
            return None;
        }
        (Some((_, span)), None) => {
            let message =
                "tls_cert needs tls_key beside it (give both, or neither to serve plain HTTP)";
            ctx.error(span, &f.key_path(keys::TLS_CERT.name), message);
            return None;
        }
        (None, Some((_, span))) => {
            let message =
                "tls_key needs tls_cert beside it (give both, or neither to serve plain HTTP)";
            ctx.error(span, &f.key_path(keys::TLS_KEY.name), message);
            return None;
        }
    };
    let tls = Tls {
        cert: dir.join(&cert.0),
        key: dir.join(&key.0),
        client_ca: ca.as_ref().map(|(path, _)| dir.join(path)),
    };
    if let Err(e) = server_config(&tls) {
        let span = match e.key {
            "tls_key" => key.1,
            "client_ca" => ca.map_or(cert.1, |(_, span)| span),
            _ => cert.1,
        };
        ctx.error(span, &f.key_path(e.key), e.message);
        return None;
    }
    Some(tls)
}

fn read(key: &'static str, what: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        fail(
            key,
            format!("cannot read the {what} {}: {e}", path.display()),
        )
    })
}

/// The certificates of the PEM file `path` (at least one).
fn certificates(
    key: &'static str,
    what: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(key, what, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            fail(
                key,
                format!("the {what} {} is not valid PEM: {e}", path.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(fail(
            key,
            format!(
                "the {what} {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// The private key of the PEM file `path`. A parse error is not shown: it could quote the key.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read("tls_key", "TLS private key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
        fail(
            "tls_key",
            format!(
                "the TLS private key {} holds no valid PEM private key (PKCS#8, PKCS#1 or SEC1)",
                path.display()
            ),
        )
    })
}

/// The crypto provider of every TLS connection runwisp makes or takes: ring.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listener's TLS configuration built from the files of `tls` as they are on disk now.
pub fn server_config(tls: &Tls) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates("tls_cert", "TLS certificate", &tls.cert)?;
    let key = private_key(&tls.key)?;
    let provider = provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| fail("tls_cert", format!("cannot set up TLS: {e}")))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let what = "client CA certificate";
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates("client_ca", what, ca)? {
                roots.add(cert).map_err(|e| {
                    fail(
                        "client_ca",
                        format!("the {what} {} cannot be used: {e}", ca.display()),
                    )
                })?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| {
                        fail(
                            "client_ca",
                            format!("the {what} {} cannot be used: {e}", ca.display()),
                        )
                    })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        let message = match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "the TLS private key {} does not match the certificate {}",
                tls.key.display(),
                tls.cert.display()
            ),
            _ => format!(
                "the TLS certificate {} cannot be used with the private key {}: {}",
                tls.cert.display(),
                tls.key.display(),
                key_free(&e)
            ),
        };
        fail("tls_key", message)
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls error as a sentence; none of rustls' errors carries key bytes, but only the kinds
/// that name a certificate problem are spelled out.
fn key_free(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(reason) => format!("invalid certificate: {reason:?}"),
        rustls::Error::General(_) => "the key is not one runwisp can use".into(),
        other => other.to_string(),
    }
}
