//! TLS for the client: which CA a daemon's certificate must be signed by (`--ca`, else the
//! bundled Mozilla roots), and the client certificate to present (`--client-cert` with
//! `--client-key`), set once per process by [`configure`] before the first call and used by
//! every agent of [`super::Client`] and by [`super::health`].

use std::path::Path;
use std::sync::OnceLock;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

static TLS: OnceLock<TlsConfig> = OnceLock::new();

/// What [`configure`] was given.
#[derive(Debug, Default, Clone)]
pub struct Options<'a> {
    pub ca: Option<&'a Path>,
    pub client_cert: Option<&'a Path>,
    pub client_key: Option<&'a Path>,
}

/// Sets the process's TLS options; an unreadable or malformed file is refused in one sentence
/// naming it (never quoting a key). Only the first call counts.
pub fn configure(options: &Options<'_>) -> Result<(), String> {
    let mut builder = TlsConfig::builder();
    if let Some(ca) = options.ca {
        let roots = certificates(ca, "CA certificate (--ca)")?;
        builder = builder.root_certs(RootCerts::new_with_certs(&roots));
    }
    match (options.client_cert, options.client_key) {
        (None, None) => {}
        (Some(_), None) => {
            return Err("--client-cert needs --client-key (or RUNWISP_CLIENT_KEY) beside it".into())
        }
        (None, Some(_)) => {
            return Err(
                "--client-key needs --client-cert (or RUNWISP_CLIENT_CERT) beside it".into(),
            )
        }
        (Some(cert), Some(key)) => {
            let chain = certificates(cert, "client certificate (--client-cert)")?;
            let key = private_key(key)?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
    }
    let _ = TLS.set(builder.build());
    Ok(())
}

/// The TLS options in force (the defaults when [`configure`] was not called).
pub(super) fn config() -> TlsConfig {
    TLS.get().cloned().unwrap_or_default()
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

fn certificates(path: &Path, what: &str) -> Result<Vec<Certificate<'static>>, String> {
    let bytes = read(path, what)?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(_) => return Err(format!("the {what} {} is not valid PEM", path.display())),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "the {what} {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKey<'static>, String> {
    let what = "client key (--client-key)";
    let bytes = read(path, what)?;
    PrivateKey::from_pem(&bytes).map_err(|_| {
        format!(
            "the {what} {} holds no valid PEM private key",
            path.display()
        )
    })
}

/// A TLS failure of a connection as a user should read it, with what to do about it; `None`
/// when `reason` is not about TLS.
pub(super) fn explain(reason: &str) -> Option<String> {
    let lower = reason.to_ascii_lowercase();
    let no_client_cert = TLS.get().is_none_or(|t| t.client_cert().is_none());
    let hint = if lower.contains("certificaterequired")
        || (lower.contains("handshakefailure") && no_client_cert)
    {
        "the daemon asks for a client certificate: give --client-cert and --client-key"
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the daemon's certificate is not signed by a CA runwisp trusts: give --ca with the CA's certificate"
    } else if lower.contains("badcertificate")
        || lower.contains("unknownca")
        || lower.contains("decrypterror")
    {
        "the daemon refused this client certificate: it is not signed by the daemon's client_ca"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "the daemon's certificate is not valid for this host name"
    } else if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("invalid content type")
    {
        "the daemon does not speak TLS on this port: use an http:// URL"
    } else if lower.contains("tls") || lower.contains("alert") || lower.contains("certificate") {
        "the TLS handshake failed"
    } else {
        return None;
    };
    Some(format!("{hint} ({reason})"))
}
