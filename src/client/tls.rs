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

/// What a connection failure says (lower case) → what the user should read, first match wins.
const HINTS: &[(&[&str], &str)] = &[
    (
        &["certificaterequired"],
        "the daemon asks for a client certificate: give --client-cert and --client-key",
    ),
    (
        &["unknownissuer", "unknown issuer"],
        "the daemon's certificate is not signed by a CA runwisp trusts: give --ca with the CA's certificate",
    ),
    (
        &["badcertificate", "unknownca", "decrypterror", "unsupportedcertificate"],
        "the daemon refused this client certificate: it is not signed by the daemon's client_ca",
    ),
    (
        &["notvalidforname", "not valid for name"],
        "the daemon's certificate is not valid for this host name",
    ),
    (
        &["invalidcontenttype", "invalid content type", "corrupt message"],
        "the daemon does not speak TLS on this port: use an http:// URL",
    ),
    (
        &["http parse fail"],
        "the answer is not HTTP (a daemon with tls_cert answers only https:// URLs)",
    ),
    (
        &["tls", "alert", "certificate"],
        "the TLS handshake failed",
    ),
];

/// A TLS failure of a connection as a user should read it, with what to do about it; `None`
/// when `reason` is not about TLS.
pub(super) fn explain(reason: &str) -> Option<String> {
    let lower = reason.to_ascii_lowercase();
    let (_, hint) = HINTS
        .iter()
        .find(|(marks, _)| marks.iter().any(|mark| lower.contains(mark)))?;
    Some(format!("{hint} ({reason})"))
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn tls_failures_say_what_to_do() {
        let said = explain("io: invalid peer certificate: UnknownIssuer").unwrap();
        assert!(
            said.starts_with("the daemon's certificate is not signed"),
            "{said}"
        );
        let said = explain("io: received fatal alert: CertificateRequired").unwrap();
        assert!(said.contains("--client-cert"), "{said}");
        let said = explain("protocol: http parse fail: invalid HTTP version").unwrap();
        assert!(said.contains("https://"), "{said}");
        assert_eq!(explain("io: Connection refused (os error 111)"), None);
    }
}
