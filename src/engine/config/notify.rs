//! The notification part of the model (`notifications.md` §2): `[notify]`, `[[notifier]]` with
//! its secrets already resolved, and `[[notification_route]]`. Parsing and every rule live in
//! `sections.rs`; what happens to an event lives in `engine::notify`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::engine::model::{NotifyKind, Severity};

/// `[notify]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub append_notifiers: Vec<String>,
    pub coalesce_window: Duration,
    pub occurrence_ring: u32,
    pub history_keep: u32,
    pub history_keep_for: Duration,
}

/// A secret read at load time (inline, from `FIELD_env` or from `FIELD_file`). It prints as
/// `[redacted]` in every `Debug` and `Display`, so no log line or error can carry it by accident;
/// [`SecretValue::expose`] is the one way to the value, used only where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How an `email` notifier talks to its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (the default; port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS at all: allowed only to a loopback host.
    None,
}

/// What a `[[notifier]]` sends to, by `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifierKind {
    Slack {
        webhook_url: SecretValue,
        /// `#channel` or `@user`.
        channel: Option<String>,
    },
    Discord {
        webhook_url: SecretValue,
    },
    Telegram {
        bot_token: SecretValue,
        chat_id: String,
        /// Without a trailing slash; `https://api.telegram.org` unless a self-hosted Bot API.
        api_url: String,
    },
    Email {
        host: String,
        port: u16,
        tls: EmailTls,
        /// Both or neither.
        username: Option<String>,
        password: Option<SecretValue>,
        from: String,
        to: Vec<String>,
        cc: Vec<String>,
    },
    Webhook {
        url: SecretValue,
        headers: BTreeMap<String, String>,
        /// Signs the body: `X-Runwisp-Signature-256: sha256=HEX`.
        secret: Option<SecretValue>,
    },
    Command {
        /// Run by `/bin/sh -c` with the event JSON on stdin.
        run: String,
    },
}

impl NotifierKind {
    /// The `type` as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            NotifierKind::Slack { .. } => "slack",
            NotifierKind::Discord { .. } => "discord",
            NotifierKind::Telegram { .. } => "telegram",
            NotifierKind::Email { .. } => "email",
            NotifierKind::Webhook { .. } => "webhook",
            NotifierKind::Command { .. } => "command",
        }
    }
}

/// `[[notifier]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifier {
    /// Letters, digits, `-` and `_`; never `inapp`.
    pub id: String,
    pub kind: NotifierKind,
}

/// A task-name pattern: `*` any run of characters, `?` one character, `[abc]`, `[a-z]` and
/// `[!abc]` one character of (or not of) a set. Everything else matches itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pub pattern: String,
}

/// `[[notification_route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kinds: Vec<NotifyKind>,
    /// Omitted: every task.
    pub task: Option<Glob>,
    /// The lowest severity that matches; omitted: every severity.
    pub severity: Option<Severity>,
    pub notify: Vec<String>,
}
