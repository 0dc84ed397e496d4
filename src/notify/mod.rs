//! Outbound notification channels (`notifications.md` §2, §4, §5): Slack, Discord, Telegram,
//! email, webhook and command. Each takes one rendered event and one notifier and answers what
//! happened (delivered, retry later, given up); the engine decides what to send and when, and
//! keeps the durable outbox these sends drain.
//!
//! Every send is blocking (the caller runs it on a blocking thread) and bounded: 10 s per HTTP
//! or SMTP attempt, 30 s for a command. The answer maps §4: a timeout, a connection error, a
//! 5xx or a 429 is worth another attempt (with the receiver's `Retry-After` when it gave one);
//! any other 4xx, a rejected mail or a failing command is final. No reason or detail ever
//! carries a secret: URLs are named by their host only, and whatever a receiver echoes back is
//! scrubbed of the notifier's secrets before it is returned.

pub mod command;
mod discord;
mod email;
mod http;
mod slack;
mod telegram;
mod text;
mod webhook;
pub mod worker;

use std::time::Duration;

use crate::api::NotifyEvent;
use crate::engine::config::{EmailTls, Notifier, NotifierKind};

/// What became of one attempt to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The channel took it; `detail` is its short answer (status and the start of its body).
    Delivered { detail: String },
    /// Worth another attempt: no later than `after` when the receiver said so.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Final: another attempt would fail the same way (a wrong token, a rejected address).
    Failed { reason: String },
}

impl Outcome {
    /// The detail or reason, whichever this outcome carries.
    pub fn message(&self) -> &str {
        match self {
            Outcome::Delivered { detail } => detail,
            Outcome::Retry { reason, .. } | Outcome::Failed { reason } => reason,
        }
    }
}

/// How long a send may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One HTTP request or one SMTP session step.
    pub timeout: Duration,
    /// A `command` notifier, from spawn to exit.
    pub command_timeout: Duration,
    /// Between SIGTERM and SIGKILL when a command is stopped.
    pub kill_grace: Duration,
}

impl Limits {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            kill_grace: Self::DEFAULT_KILL_GRACE,
        }
    }
}

/// Sends `event` through `notifier` with the default limits (§4).
pub fn send(notifier: &Notifier, event: &NotifyEvent) -> Outcome {
    send_with(notifier, event, &Limits::default())
}

/// Sends `event` through `notifier` within `limits`.
pub fn send_with(notifier: &Notifier, event: &NotifyEvent, limits: &Limits) -> Outcome {
    let outcome = match &notifier.kind {
        NotifierKind::Slack {
            webhook_url,
            channel,
        } => slack::send(webhook_url, channel.as_deref(), event, limits),
        NotifierKind::Discord { webhook_url } => discord::send(webhook_url, event, limits),
        NotifierKind::Telegram {
            bot_token,
            chat_id,
            api_url,
        } => telegram::send(bot_token, chat_id, api_url, event, limits),
        NotifierKind::Email { .. } => email::send(&notifier.kind, event, limits),
        NotifierKind::Webhook {
            url,
            headers,
            secret,
        } => webhook::send(url, headers, secret.as_ref(), event, limits),
        NotifierKind::Command { run } => command::send(&notifier.id, run, event, limits),
    };
    scrub(outcome, &secrets(&notifier.kind))
}

/// A one-line description for listings, without any secret:
/// `slack → #ops via hooks.slack.com`.
pub fn describe(notifier: &Notifier) -> String {
    match &notifier.kind {
        NotifierKind::Slack {
            webhook_url,
            channel,
        } => {
            let host = http::host_of(webhook_url.expose());
            match channel {
                Some(channel) => format!("slack → {channel} via {host}"),
                None => format!("slack via {host}"),
            }
        }
        NotifierKind::Discord { webhook_url } => {
            format!("discord via {}", http::host_of(webhook_url.expose()))
        }
        NotifierKind::Telegram {
            chat_id, api_url, ..
        } => format!("telegram → chat {chat_id} via {}", http::host_of(api_url)),
        NotifierKind::Email {
            host,
            port,
            tls,
            to,
            cc,
            ..
        } => {
            let tls = match tls {
                EmailTls::StartTls => "starttls",
                EmailTls::Implicit => "implicit TLS",
                EmailTls::None => "no TLS",
            };
            let cc = if cc.is_empty() {
                String::new()
            } else {
                format!(" (cc {})", cc.join(", "))
            };
            format!("email → {}{cc} via {host}:{port}, {tls}", to.join(", "))
        }
        NotifierKind::Webhook {
            url,
            headers,
            secret,
        } => {
            let mut extras = Vec::new();
            if secret.is_some() {
                extras.push("signed".to_string());
            }
            match headers.len() {
                0 => {}
                1 => extras.push("1 header".to_string()),
                n => extras.push(format!("{n} headers")),
            }
            let extras = if extras.is_empty() {
                String::new()
            } else {
                format!(" ({})", extras.join(", "))
            };
            format!("webhook → POST {}{extras}", http::host_of(url.expose()))
        }
        NotifierKind::Command { run } => {
            format!("command: {}", text::truncate(&text::one_line(run), 80))
        }
    }
}

/// The secret values of a notifier, as they could show up in an answer.
fn secrets(kind: &NotifierKind) -> Vec<String> {
    let values: Vec<&str> = match kind {
        NotifierKind::Slack { webhook_url, .. } | NotifierKind::Discord { webhook_url } => {
            vec![webhook_url.expose()]
        }
        NotifierKind::Telegram { bot_token, .. } => vec![bot_token.expose()],
        NotifierKind::Email { password, .. } => password.iter().map(|p| p.expose()).collect(),
        NotifierKind::Webhook {
            url,
            secret,
            headers,
        } => {
            let mut v = vec![url.expose()];
            v.extend(secret.iter().map(|s| s.expose()));
            // Header values are not declared secrets, but an `Authorization` often is one.
            v.extend(headers.values().map(String::as_str));
            v
        }
        NotifierKind::Command { .. } => Vec::new(),
    };
    let mut out = Vec::new();
    for value in values {
        // A URL's path and query carry its secret (`/services/T0/B0/XXXX`, `?token=`), and a
        // receiver may echo either without the host.
        out.extend(http::secret_parts(value).into_iter().map(str::to_string));
        out.push(value.to_string());
    }
    // Too short to be told from ordinary words; such values are not secrets anyone relies on.
    out.retain(|s| s.len() >= 6);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `outcome` with every secret replaced by `[redacted]`.
fn scrub(outcome: Outcome, secrets: &[String]) -> Outcome {
    let clean = |mut s: String| {
        for secret in secrets {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "[redacted]");
            }
        }
        s
    };
    match outcome {
        Outcome::Delivered { detail } => Outcome::Delivered {
            detail: clean(detail),
        },
        Outcome::Retry { after, reason } => Outcome::Retry {
            after,
            reason: clean(reason),
        },
        Outcome::Failed { reason } => Outcome::Failed {
            reason: clean(reason),
        },
    }
}
