//! Email through SMTP (lettre over rustls): a plain-text mail, the headline as its subject and
//! the body with the daemon's fingerprint as a signature. `starttls` requires the upgrade (a
//! server that does not offer it is an error, never a fall back to plain text), `implicit` is
//! TLS from the first byte, `none` is plain (the config allows it to loopback hosts only).
//!
//! Certificates are checked against the bundled Mozilla roots and the system's store (which
//! honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), so a relay signed by an internal CA the host
//! trusts works too. A 4xx reply or a failed connection is retried; a 5xx reply, a refused
//! address or a server without the required STARTTLS or login is final.

use std::error::Error as _;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use super::{http::format_secs, text, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::config::{EmailTls, NotifierKind};

pub fn send(kind: &NotifierKind, event: &NotifyEvent, limits: &Limits) -> Outcome {
    let NotifierKind::Email {
        host,
        port,
        tls,
        username,
        password,
        from,
        to,
        cc,
    } = kind
    else {
        return Outcome::Failed {
            reason: "not an email notifier".into(),
        };
    };
    let server = format!("{host}:{port}");
    let message = match message(from, to, cc, event) {
        Ok(message) => message,
        Err(reason) => return Outcome::Failed { reason },
    };
    let tls = match tls {
        EmailTls::None => Tls::None,
        EmailTls::StartTls | EmailTls::Implicit => {
            let parameters = match tls_parameters(host) {
                Ok(p) => p,
                Err(e) => {
                    return Outcome::Failed {
                        reason: format!("TLS for {server} could not be set up: {e}"),
                    }
                }
            };
            if *tls == EmailTls::Implicit {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        }
    };
    let mut builder = SmtpTransport::builder_dangerous(host.as_str())
        .port(*port)
        .tls(tls)
        .timeout(Some(limits.timeout));
    if let (Some(user), Some(password)) = (username, password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    match builder.build().send(&message) {
        Ok(response) => {
            let said = text::answer(&response.message().collect::<Vec<_>>().join(" "));
            Outcome::Delivered {
                detail: format!(
                    "the mail server at {server} answered {}: {said}",
                    response.code()
                ),
            }
        }
        Err(e) => failure(&server, &e, limits),
    }
}

/// The mail: plain text, subject = the headline.
fn message(
    from: &str,
    to: &[String],
    cc: &[String],
    event: &NotifyEvent,
) -> Result<Message, String> {
    let mailbox = |address: &str| {
        address
            .parse::<Mailbox>()
            .map_err(|e| format!("the address \"{address}\" is not valid: {e}"))
    };
    let mut builder = Message::builder()
        .from(mailbox(from)?)
        .subject(text::flatten(&event.title));
    for address in to {
        builder = builder.to(mailbox(address)?);
    }
    for address in cc {
        builder = builder.cc(mailbox(address)?);
    }
    let mut body = event.text.clone();
    if !event.fingerprint.is_empty() {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str("-- \n");
        body.push_str(&event.fingerprint);
    }
    body.push('\n');
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| format!("the mail could not be built: {e}"))
}

/// Mozilla's roots (lettre's default with `rustls-tls`) plus the system's.
fn tls_parameters(host: &str) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let mut builder = TlsParameters::builder(host.to_string());
    for der in rustls_native_certs::load_native_certs().certs {
        if let Ok(cert) = Certificate::from_der(der.to_vec()) {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build_rustls()
}

fn failure(server: &str, e: &lettre::transport::smtp::Error, limits: &Limits) -> Outcome {
    let cause = e.source().map(|s| text::answer(&s.to_string()));
    let cause = cause.unwrap_or_default();
    let retry = |reason: String| Outcome::Retry {
        after: None,
        reason,
    };
    if let Some(code) = e.status() {
        let said = format!("{code} {cause}").trim().to_string();
        return if e.is_permanent() {
            Outcome::Failed {
                reason: format!("the mail server at {server} refused the mail: {said}"),
            }
        } else {
            retry(format!(
                "the mail server at {server} refused the mail for now: {said}"
            ))
        };
    }
    if e.is_timeout() {
        return retry(format!(
            "the mail server at {server} did not answer within {}",
            format_secs(limits.timeout)
        ));
    }
    if e.is_client() {
        return Outcome::Failed {
            reason: format!("the mail could not be sent through {server}: {cause}"),
        };
    }
    if e.is_tls()
        || in_chain(e, |io| {
            io.get_ref().is_some_and(|i| i.is::<rustls::Error>())
        })
    {
        return retry(format!("the TLS connection to {server} failed: {cause}"));
    }
    if e.is_response() {
        return retry(format!(
            "the mail server at {server} answered something that is not SMTP: {cause}"
        ));
    }
    if in_chain(e, |io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
        return retry(format!("could not connect to {server}: connection refused"));
    }
    retry(format!("the connection to {server} failed: {cause}"))
}

/// Whether the first I/O error in the error's chain is one `is` accepts.
fn in_chain(e: &lettre::transport::smtp::Error, is: impl Fn(&std::io::Error) -> bool) -> bool {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return is(io);
        }
        source = err.source();
    }
    false
}
