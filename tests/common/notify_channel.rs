//! The notifiers and the event the channel tests (tests/notify_channels.rs, notify_email.rs,
//! notify_command.rs) send, and what they expect of an outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use runwisp::api::{NotifyEvent, RunObject};
use runwisp::engine::config::{EmailTls, Notifier, NotifierKind, SecretValue};
use runwisp::engine::model::{EndReason, NotifyKind, RunKind, RunStatus, TriggeredBy};
use runwisp::notify::{Limits, Outcome};

pub const SLACK_PATH: &str = "/services/T000SECRET/B000SECRET/XXXXslacksecretXXXX";
pub const DISCORD_PATH: &str = "/api/webhooks/1234/discordSECRETtoken";
pub const TOKEN: &str = "123456:AAF-telegramSECRETtoken";

pub fn event(kind: NotifyKind) -> NotifyEvent {
    let run = RunObject {
        id: "01J9Z8Q4M7N2P3R5S6T7V8W9X0".into(),
        task_name: "backup-db".into(),
        kind: RunKind::Task,
        status: RunStatus::Ended,
        end_reason: Some(EndReason::Failed),
        exit_code: Some(3),
        triggered_by: TriggeredBy::Cron,
        scheduled_for: Some("2025-03-01T02:00:00Z".into()),
        created_at: "2025-03-01T02:00:00Z".into(),
        start_at: Some("2025-03-01T02:00:00Z".into()),
        end_at: Some("2025-03-01T02:02:14Z".into()),
        duration_ms: Some(134_000),
        retry_attempt: 0,
        retry_of_run_id: None,
        replica_index: None,
        message: None,
        webhook: None,
        parent_run_id: None,
        step: None,
        resume_of_run_id: None,
    };
    NotifyEvent {
        kind,
        severity: kind.severity(),
        task: Some("backup-db".into()),
        run: Some(run),
        title: "backup-db failed (exit 3)".into(),
        text: "took 2m14s, cron, 2025-03-01 03:00 CET\nrun 01J9Z8Q4M7N2P3R5S6T7V8W9X0\n\
               pg_dump: <b>error</b> & more"
            .into(),
        count: 1,
        fingerprint: "db-host-1 (a1b2c3)".into(),
        occurred_at: "2025-03-01T02:02:14Z".into(),
        url: Some("https://runwisp.example.com/runs/01J9Z8Q4M7N2P3R5S6T7V8W9X0".into()),
    }
}

pub fn failed() -> NotifyEvent {
    event(NotifyKind::RunFailed)
}

pub fn notifier(kind: NotifierKind) -> Notifier {
    Notifier {
        id: "test".into(),
        kind,
    }
}

pub fn slack(url: String, channel: Option<&str>) -> Notifier {
    notifier(NotifierKind::Slack {
        webhook_url: SecretValue::new(url),
        channel: channel.map(str::to_string),
    })
}

pub fn discord(url: String) -> Notifier {
    notifier(NotifierKind::Discord {
        webhook_url: SecretValue::new(url),
    })
}

pub fn telegram(api_url: String) -> Notifier {
    notifier(NotifierKind::Telegram {
        bot_token: SecretValue::new(TOKEN),
        chat_id: "-1001234567890".into(),
        api_url,
    })
}

pub fn webhook(url: String, headers: &[(&str, &str)], secret: Option<&str>) -> Notifier {
    notifier(NotifierKind::Webhook {
        url: SecretValue::new(url),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        secret: secret.map(SecretValue::new),
    })
}

pub fn command(run: &str) -> Notifier {
    notifier(NotifierKind::Command { run: run.into() })
}

pub fn quick() -> Limits {
    Limits {
        timeout: Duration::from_secs(1),
        command_timeout: Duration::from_secs(1),
        kill_grace: Duration::from_millis(500),
    }
}

pub fn delivered(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Delivered { detail } => detail,
        other => panic!("expected delivered, got {other:?}"),
    }
}

pub fn email(port: u16, tls: EmailTls, to: &[&str], cc: &[&str]) -> Notifier {
    email_at(
        "127.0.0.1",
        port,
        tls,
        to,
        cc,
        Some(("runwisp", "hunter2-password")),
    )
}

pub fn email_at(
    host: &str,
    port: u16,
    tls: EmailTls,
    to: &[&str],
    cc: &[&str],
    login: Option<(&str, &str)>,
) -> Notifier {
    notifier(NotifierKind::Email {
        host: host.into(),
        port,
        tls,
        username: login.map(|(u, _)| u.to_string()),
        password: login.map(|(_, p)| SecretValue::new(p)),
        from: "runwisp <runwisp@db-host-1.example.com>".into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: cc.iter().map(|s| s.to_string()).collect(),
    })
}
