#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The email channel against a real SMTP server (aiosmtpd, `notifications.md` §6): the mail it
//! receives, refusals mapped to retry or failed, STARTTLS required, implicit TLS, login.
#[path = "common/notify_channel.rs"]
mod channel;
#[path = "common/notify_http.rs"]
#[allow(dead_code)] // only its closed port
mod notify_http;
#[path = "common/notify_smtp.rs"]
mod notify_smtp;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use channel::*;
use notify_http::closed_port;
use notify_smtp::{run_to_end, Sink};
use runwisp::engine::config::EmailTls;
use runwisp::engine::runner::reaper::ExitStatus;
use runwisp::notify::{send, send_with, Outcome};

// ---------------------------------------------------------------------------------------------
// Email, through a real SMTP server.

const MAIL_WAIT: Duration = Duration::from_secs(10);

#[test]
fn email_delivers_a_plain_text_mail() {
    let Some(sink) = Sink::start(&["--tls", "none"]) else {
        return;
    };
    let n = email_at(
        "127.0.0.1",
        sink.port,
        EmailTls::None,
        &["ops@example.com", "Dev Team <dev@example.com>"],
        &["cto@example.com"],
        None,
    );
    let outcome = send(&n, &failed());
    let detail = delivered(&outcome);
    assert!(
        detail.starts_with(&format!(
            "the mail server at 127.0.0.1:{} answered 250",
            sink.port
        )),
        "{detail}"
    );
    let mail = sink.next_mail(MAIL_WAIT);
    assert_eq!(mail["subject"], "backup-db failed (exit 3)");
    assert_eq!(mail["from"], "runwisp <runwisp@db-host-1.example.com>");
    assert_eq!(mail["to"], "ops@example.com, Dev Team <dev@example.com>");
    assert_eq!(mail["cc"], "cto@example.com");
    assert_eq!(mail["mail_from"], "runwisp@db-host-1.example.com");
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["ops@example.com", "dev@example.com", "cto@example.com"])
    );
    assert_eq!(mail["content_type"], "text/plain");
    assert_eq!(mail["tls"], false);
    let body = mail["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(body.starts_with(&failed().text), "{body}");
    assert!(
        body.trim_end().ends_with("-- \ndb-host-1 (a1b2c3)"),
        "{body}"
    );
}

#[test]
fn email_refusals_are_transient_or_permanent() {
    let Some(sink) = Sink::start(&["--tls", "none"]) else {
        return;
    };
    let at = |to: &str| email_at("127.0.0.1", sink.port, EmailTls::None, &[to], &[], None);
    let outcome = send(&at("busy@example.com"), &failed());
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: format!(
                "the mail server at 127.0.0.1:{} refused the mail for now: 451 4.3.0 mailbox \
                 busy, try again later",
                sink.port
            )
        }
    );
    let outcome = send(&at("nobody@example.com"), &failed());
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: format!(
                "the mail server at 127.0.0.1:{} refused the mail: 550 5.1.1 no such user here",
                sink.port
            )
        }
    );
    let outcome = send(&at("not an address"), &failed());
    assert!(
        matches!(&outcome, Outcome::Failed { reason } if reason.contains("\"not an address\" is not valid")),
        "{outcome:?}"
    );
    assert!(sink.no_mail(Duration::from_millis(200)));
}

#[test]
fn email_to_a_closed_port_is_retried() {
    let port = closed_port();
    let outcome = send(
        &email(port, EmailTls::None, &["ops@example.com"], &[]),
        &failed(),
    );
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: format!("could not connect to 127.0.0.1:{port}: connection refused")
        }
    );
}

#[test]
fn email_starttls_is_required_not_opportunistic() {
    // A server that offers no STARTTLS: the mail is not sent in the clear.
    let Some(sink) = Sink::start(&["--tls", "none"]) else {
        return;
    };
    let outcome = send(
        &email(sink.port, EmailTls::StartTls, &["ops@example.com"], &[]),
        &failed(),
    );
    assert!(
        matches!(&outcome, Outcome::Failed { reason } if reason.contains("STARTTLS")),
        "{outcome:?}"
    );
    assert!(sink.no_mail(Duration::from_millis(200)));
}

/// A certificate for 127.0.0.1 and localhost, written as PEM files into `dir`.
fn certificate(dir: &Path) -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    )
}

/// Sends through a TLS sink from a fresh copy of this test binary whose `SSL_CERT_FILE` trusts
/// the test certificate: the system's store is read from the environment, which a test must not
/// change under its neighbours' feet.
fn email_over_tls(mode: &str, host: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let args = [
        "--tls",
        mode,
        "--cert",
        &cert,
        "--key",
        &key,
        "--user",
        "runwisp",
        "--password",
        "hunter2-password",
    ];
    let Some(sink) = Sink::start(&args) else {
        return;
    };
    let finished = run_to_end(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "email_over_tls_child",
                "--ignored",
                "--nocapture",
            ])
            .env("SSL_CERT_FILE", &cert)
            .env("RUNWISP_TEST_SMTP", format!("{mode} {host} {}", sink.port)),
    );
    assert_eq!(
        finished.status,
        Some(ExitStatus::Code(0)),
        "the child failed:\n{}\n{}",
        finished.stdout,
        finished.stderr
    );
    let mail = sink.next_mail(MAIL_WAIT);
    assert_eq!(mail["tls"], true);
    assert_eq!(mail["login"], "runwisp");
    assert_eq!(mail["subject"], "backup-db failed (exit 3)");

    // Without the certificate trusted, the TLS connection fails and no mail is sent.
    let outcome = send_with(
        &email_at(
            host,
            sink.port,
            if mode == "implicit" {
                EmailTls::Implicit
            } else {
                EmailTls::StartTls
            },
            &["ops@example.com"],
            &[],
            Some(("runwisp", "hunter2-password")),
        ),
        &failed(),
        &quick(),
    );
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert!(outcome.message().contains("TLS"), "{outcome:?}");
    assert!(!outcome.message().contains("hunter2"), "{outcome:?}");
    assert!(sink.no_mail(Duration::from_millis(200)));
}

#[test]
fn email_starttls_with_login() {
    email_over_tls("starttls", "localhost");
}

#[test]
fn email_implicit_tls_with_login() {
    email_over_tls("implicit", "127.0.0.1");
}

/// Run by [`email_over_tls`] in a child process, with `RUNWISP_TEST_SMTP=MODE HOST PORT`.
#[test]
#[ignore = "run by email_starttls_with_login and email_implicit_tls_with_login"]
fn email_over_tls_child() {
    let Ok(spec) = std::env::var("RUNWISP_TEST_SMTP") else {
        return;
    };
    let mut parts = spec.split(' ');
    let mode = parts.next().unwrap();
    let host = parts.next().unwrap();
    let port: u16 = parts.next().unwrap().parse().unwrap();
    let tls = if mode == "implicit" {
        EmailTls::Implicit
    } else {
        EmailTls::StartTls
    };
    let n = email_at(
        host,
        port,
        tls,
        &["ops@example.com"],
        &[],
        Some(("runwisp", "hunter2-password")),
    );
    let outcome = send(&n, &failed());
    println!("outcome: {outcome:?}");
    delivered(&outcome);
}
