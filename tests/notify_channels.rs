#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The outbound notification channels against real local receivers (`notifications.md` §6):
//! HTTP servers answering like Slack, Discord, the Telegram Bot API and a webhook endpoint
//! (email is tests/notify_email.rs, commands tests/notify_command.rs). What each receiver gets
//! is checked, and how each answer maps to delivered / retry / failed (§4). No reason ever
//! carries a secret.
#[path = "common/notify_channel.rs"]
mod channel;
#[path = "common/notify_http.rs"]
mod notify_http;

use std::time::{Duration, Instant};

use channel::*;
use notify_http::{closed_port, Receiver, Reply};
use runwisp::api::NotifyEvent;
use runwisp::engine::config::EmailTls;
use runwisp::engine::model::NotifyKind;
use runwisp::notify::{describe, send, send_with, Limits, Outcome};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// The wire type.

#[test]
fn the_event_json_has_exactly_the_keys_of_the_spec() {
    let json = serde_json::to_value(failed()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "count",
            "fingerprint",
            "kind",
            "occurred_at",
            "run",
            "severity",
            "task",
            "text",
            "title",
            "url"
        ]
    );
    assert_eq!(json["kind"], "run.failed");
    assert_eq!(json["severity"], "error");
    assert_eq!(json["run"]["task_name"], "backup-db");
    let mut empty = failed();
    empty.task = None;
    empty.run = None;
    empty.url = None;
    let json = serde_json::to_value(&empty).unwrap();
    assert!(json["task"].is_null() && json["run"].is_null() && json["url"].is_null());
    let back: NotifyEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, empty);
}

// ---------------------------------------------------------------------------------------------
// What each receiver gets.

#[test]
fn slack_receives_text_and_blocks() {
    let rx = Receiver::start(vec![Reply::status(200, "ok")]);
    let outcome = send(&slack(rx.url(SLACK_PATH), Some("#ops")), &failed());
    assert_eq!(delivered(&outcome), "slack answered 200 OK: ok");

    let got = rx.one();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, SLACK_PATH);
    assert_eq!(got.header("content-type"), Some("application/json"));
    let body = got.json();
    assert_eq!(body["channel"], "#ops");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("backup-db failed (exit 3)\n"), "{text}");
    assert!(
        text.contains("&lt;b&gt;error&lt;/b&gt; &amp; more"),
        "{text}"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "backup-db failed (exit 3)");
    assert_eq!(blocks[1]["type"], "section");
    assert!(blocks[1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("run 01J9Z8Q4M7N2P3R5S6T7V8W9X0"));
    assert_eq!(blocks[2]["type"], "context");
    assert_eq!(blocks[2]["elements"][0]["text"], "db-host-1 (a1b2c3)");

    // Without a channel, none is sent.
    let rx = Receiver::start(vec![Reply::status(200, "ok")]);
    delivered(&send(&slack(rx.url(SLACK_PATH), None), &failed()));
    assert!(rx.one().json().get("channel").is_none());
}

#[test]
fn discord_receives_an_embed_coloured_by_severity() {
    for (kind, colour) in [
        (NotifyKind::RunFailed, 0xE0_1E_5A),
        (NotifyKind::RunMissed, 0xEC_B2_2E),
        (NotifyKind::RunSucceeded, 0x2E_B6_7D),
    ] {
        let rx = Receiver::start(vec![Reply::status(204, "")]);
        let outcome = send(&discord(rx.url(DISCORD_PATH)), &event(kind));
        assert_eq!(delivered(&outcome), "discord answered 204 No Content");
        let got = rx.one();
        assert_eq!(got.path, DISCORD_PATH);
        let body = got.json();
        assert_eq!(body["content"], "backup-db failed (exit 3)");
        let embed = &body["embeds"][0];
        assert_eq!(embed["color"], colour, "{kind:?}");
        assert_eq!(embed["title"], "backup-db failed (exit 3)");
        assert_eq!(embed["description"].as_str().unwrap(), failed().text);
        assert_eq!(embed["footer"]["text"], "db-host-1 (a1b2c3)");
        assert_eq!(embed["url"], failed().url.unwrap().as_str());
        assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    }
}

#[test]
fn telegram_receives_escaped_html_at_the_bot_path() {
    let rx = Receiver::start(vec![Reply::status(
        200,
        r#"{"ok":true,"result":{"message_id":42,"chat":{"id":-1001234567890}}}"#,
    )]);
    let outcome = send(&telegram(rx.url("")), &failed());
    assert_eq!(delivered(&outcome), "telegram answered 200 OK: message 42");

    let got = rx.one();
    assert_eq!(got.path, format!("/bot{TOKEN}/sendMessage"));
    let body = got.json();
    assert_eq!(body["chat_id"], "-1001234567890");
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("<b>backup-db failed (exit 3)</b>\n"),
        "{text}"
    );
    assert!(
        text.contains("pg_dump: &lt;b&gt;error&lt;/b&gt; &amp; more"),
        "{text}"
    );
    assert!(!text.contains("<b>error"), "{text}");
    assert!(text.ends_with("<i>db-host-1 (a1b2c3)</i>"), "{text}");
}

#[test]
fn telegram_errors_carry_the_description() {
    let rx = Receiver::start(vec![
        Reply::status(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        ),
        Reply::status(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#,
        ),
        Reply::status(
            401,
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        ),
    ]);
    let n = telegram(rx.url("/"));
    assert_eq!(
        send(&n, &failed()),
        Outcome::Failed {
            reason: "telegram answered 400 Bad Request: Bad Request: chat not found".into()
        }
    );
    assert_eq!(
        send(&n, &failed()),
        Outcome::Retry {
            after: Some(Duration::from_secs(3)),
            reason: "telegram answered 429 Too Many Requests: Too Many Requests: retry after 3"
                .into()
        }
    );
    assert_eq!(
        send(&n, &failed()),
        Outcome::Failed {
            reason: "telegram answered 401 Unauthorized: Unauthorized".into()
        }
    );
}

/// HMAC-SHA256 written out from RFC 2104 on plain SHA-256, so the check does not share code
/// with what it checks.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn webhook_body_is_the_event_signed_over_its_raw_bytes() {
    let rx = Receiver::start(vec![Reply::status(202, "accepted")]);
    let secret = "whsec-0123456789";
    let n = webhook(
        rx.url("/hooks/runwisp?source=test"),
        &[("X-Custom", "yes"), ("Authorization", "Bearer abc")],
        Some(secret),
    );
    let outcome = send(&n, &failed());
    assert_eq!(
        delivered(&outcome),
        "webhook answered 202 Accepted: accepted"
    );

    let got = rx.one();
    assert_eq!(got.path, "/hooks/runwisp?source=test");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-custom"), Some("yes"));
    assert_eq!(got.header("authorization"), Some("Bearer abc"));
    let expected = format!("sha256={}", hmac_sha256(secret.as_bytes(), &got.body));
    assert_eq!(
        got.header("x-runwisp-signature-256"),
        Some(expected.as_str())
    );
    // Checked against a key that is longer than a block, too.
    let long = "k".repeat(100);
    let rx2 = Receiver::start(vec![Reply::status(200, "")]);
    delivered(&send(&webhook(rx2.url("/"), &[], Some(&long)), &failed()));
    let got2 = rx2.one();
    assert_eq!(
        got2.header("x-runwisp-signature-256").unwrap(),
        format!("sha256={}", hmac_sha256(long.as_bytes(), &got2.body))
    );

    let body: NotifyEvent = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body, failed());
}

#[test]
fn webhook_without_a_secret_is_not_signed() {
    let rx = Receiver::start(vec![Reply::status(200, "")]);
    delivered(&send(&webhook(rx.url("/x"), &[], None), &failed()));
    let got = rx.one();
    assert_eq!(got.header("x-runwisp-signature-256"), None);
    assert_eq!(got.json()["title"], "backup-db failed (exit 3)");
}

// ---------------------------------------------------------------------------------------------
// Answers and failures as outcomes (§4).

#[test]
fn answers_map_to_retry_or_failed() {
    let rx = Receiver::start(vec![
        Reply::status(429, "rate_limited").header("Retry-After", "2"),
        Reply::status(503, "").header("Retry-After", "5"),
        Reply::status(500, "oops"),
        Reply::status(502, "").header("Retry-After", "9"),
        Reply::status(404, "no_team"),
        Reply::status(403, "invalid_token"),
        Reply::status(301, "").header("Location", "http://elsewhere/"),
    ]);
    let n = slack(rx.url(SLACK_PATH), None);
    let ev = failed();
    assert_eq!(
        send(&n, &ev),
        Outcome::Retry {
            after: Some(Duration::from_secs(2)),
            reason: "slack answered 429 Too Many Requests: rate_limited".into()
        }
    );
    assert_eq!(
        send(&n, &ev),
        Outcome::Retry {
            after: Some(Duration::from_secs(5)),
            reason: "slack answered 503 Service Unavailable".into()
        }
    );
    assert_eq!(
        send(&n, &ev),
        Outcome::Retry {
            after: None,
            reason: "slack answered 500 Internal Server Error: oops".into()
        }
    );
    // Retry-After counts on 429 and 503 only.
    assert!(matches!(send(&n, &ev), Outcome::Retry { after: None, .. }));
    assert_eq!(
        send(&n, &ev),
        Outcome::Failed {
            reason: "slack answered 404 Not Found: no_team".into()
        }
    );
    assert_eq!(
        send(&n, &ev),
        Outcome::Failed {
            reason: "slack answered 403 Forbidden: invalid_token".into()
        }
    );
    match send(&n, &ev) {
        Outcome::Failed { reason } => assert!(reason.contains("301"), "{reason}"),
        other => panic!("a redirect is final: {other:?}"),
    }
    assert_eq!(rx.requests().len(), 7);
}

#[test]
fn discord_error_message_is_quoted() {
    let rx = Receiver::start(vec![Reply::status(
        404,
        r#"{"message": "Unknown Webhook", "code": 10015}"#,
    )]);
    assert_eq!(
        send(&discord(rx.url(DISCORD_PATH)), &failed()),
        Outcome::Failed {
            reason: "discord answered 404 Not Found: Unknown Webhook".into()
        }
    );
}

#[test]
fn a_closed_port_is_retried() {
    let port = closed_port();
    let n = slack(format!("http://127.0.0.1:{port}{SLACK_PATH}"), None);
    assert_eq!(
        send(&n, &failed()),
        Outcome::Retry {
            after: None,
            reason: format!("could not connect to 127.0.0.1:{port}: connection refused")
        }
    );
}

#[test]
fn a_receiver_that_never_answers_is_retried_after_the_timeout() {
    assert_eq!(Limits::default().timeout, Duration::from_secs(10));
    assert_eq!(Limits::default().command_timeout, Duration::from_secs(30));
    let rx = Receiver::start(vec![Reply::Hang]);
    let started = Instant::now();
    let outcome = send_with(&slack(rx.url(SLACK_PATH), None), &failed(), &quick());
    let took = started.elapsed();
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: format!("{} did not answer within 1s", rx.addr)
        }
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_bad_url_is_final() {
    let outcome = send(&slack("hooks.slack.com/no-scheme".into(), None), &failed());
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert!(!outcome.message().contains("no-scheme"), "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[test]
fn no_secret_shows_in_reasons_details_or_descriptions() {
    let secrets = [
        SLACK_PATH,
        DISCORD_PATH,
        TOKEN,
        "/hooks/private-path",
        "whsec-0123456789",
    ];
    let check = |what: &str, text: &str| {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows a secret: {text}");
        }
        assert!(!text.contains("SECRET"), "{what} shows a secret: {text}");
    };
    // Receivers that echo the request's path and URL back, as error pages do.
    for status in [200, 404, 500] {
        let rx = Receiver::start(vec![Reply::EchoPath { status }]);
        let all = [
            slack(rx.url(SLACK_PATH), Some("#ops")),
            discord(rx.url(DISCORD_PATH)),
            telegram(rx.url("")),
            webhook(rx.url("/hooks/private-path"), &[], Some("whsec-0123456789")),
        ];
        for n in &all {
            let outcome = send(n, &failed());
            assert!(
                outcome.message().contains("[redacted]"),
                "the echo is kept, scrubbed: {outcome:?}"
            );
            check("an outcome", &format!("{outcome:?}"));
            check("a description", &describe(n));
            check("a notifier's Debug", &format!("{n:?}"));
        }
    }
    // Nobody there, nobody answering.
    let port = closed_port();
    let hang = Receiver::start(vec![Reply::Hang]);
    for base in [format!("http://127.0.0.1:{port}"), hang.url("")] {
        for n in [
            slack(format!("{base}{SLACK_PATH}"), None),
            discord(format!("{base}{DISCORD_PATH}")),
            telegram(base.clone()),
            webhook(format!("{base}/hooks/private-path"), &[], None),
        ] {
            let outcome = send_with(&n, &failed(), &quick());
            assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
            check("an outcome", &format!("{outcome:?}"));
        }
    }
    // A password refused by the mail server.
    let n = email(closed_port(), EmailTls::None, &["a@example.com"], &[]);
    let outcome = send_with(&n, &failed(), &quick());
    check("an email outcome", &format!("{outcome:?}"));
    assert!(!format!("{outcome:?}").contains("hunter2-password"));
    assert!(!describe(&n).contains("hunter2-password"));
}

#[test]
fn descriptions_name_hosts_only() {
    assert_eq!(
        describe(&slack(
            format!("https://hooks.slack.com{SLACK_PATH}"),
            Some("#ops")
        )),
        "slack → #ops via hooks.slack.com"
    );
    assert_eq!(
        describe(&discord(format!("https://discord.com{DISCORD_PATH}"))),
        "discord via discord.com"
    );
    assert_eq!(
        describe(&telegram("https://api.telegram.org".into())),
        "telegram → chat -1001234567890 via api.telegram.org"
    );
    assert_eq!(
        describe(&webhook(
            "https://user:pw@hooks.example.com:8443/in?token=abc".into(),
            &[("Authorization", "Bearer xyz")],
            Some("s3cret-value")
        )),
        "webhook → POST hooks.example.com:8443 (signed, 1 header)"
    );
    assert_eq!(
        describe(&email(
            587,
            EmailTls::StartTls,
            &["ops@example.com"],
            &["cto@example.com"]
        )),
        "email → ops@example.com (cc cto@example.com) via 127.0.0.1:587, starttls"
    );
    assert_eq!(
        describe(&command("/usr/local/bin/page-me --loud\nsecond line")),
        "command: /usr/local/bin/page-me --loud"
    );
}
