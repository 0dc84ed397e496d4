//! The notification part of the model (`notifications.md` §2): `[notify]`, `[[notifier]]` with
//! its secrets already resolved, and `[[notification_route]]` with its task pattern ([`Glob`]).
//! Parsing and every rule live in `notifiers.rs` and `sections.rs`; what happens to an event
//! lives in `engine::notify`.

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

/// What a `[[notifier]]` sends to, by `type`. Its `Debug` shows secrets and header values as
/// `[redacted]` (a header often carries a token: `Authorization = "Bearer …"`).
#[derive(Clone, PartialEq, Eq)]
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

/// Header names with their values hidden.
struct RedactedValues<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, format_args!("[redacted]"))))
            .finish()
    }
}

impl fmt::Debug for NotifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifierKind::Slack {
                webhook_url,
                channel,
            } => f
                .debug_struct("Slack")
                .field("webhook_url", webhook_url)
                .field("channel", channel)
                .finish(),
            NotifierKind::Discord { webhook_url } => f
                .debug_struct("Discord")
                .field("webhook_url", webhook_url)
                .finish(),
            NotifierKind::Telegram {
                bot_token,
                chat_id,
                api_url,
            } => f
                .debug_struct("Telegram")
                .field("bot_token", bot_token)
                .field("chat_id", chat_id)
                .field("api_url", api_url)
                .finish(),
            NotifierKind::Email {
                host,
                port,
                tls,
                username,
                password,
                from,
                to,
                cc,
            } => f
                .debug_struct("Email")
                .field("host", host)
                .field("port", port)
                .field("tls", tls)
                .field("username", username)
                .field("password", password)
                .field("from", from)
                .field("to", to)
                .field("cc", cc)
                .finish(),
            NotifierKind::Webhook {
                url,
                headers,
                secret,
            } => f
                .debug_struct("Webhook")
                .field("url", url)
                .field("headers", &RedactedValues(headers))
                .field("secret", secret)
                .finish(),
            NotifierKind::Command { run } => f.debug_struct("Command").field("run", run).finish(),
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
/// `[!abc]` one character of (or not of) a set. Everything else matches itself. Made by
/// [`Glob::parse`], which rejects an unclosed `[`, an empty set and a backwards range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pub pattern: String,
}

/// One step of a pattern.
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `[…]`: inclusive ranges (`a` alone is `a-a`).
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::One => true,
            Token::Star => false,
            Token::Set { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

fn tokens(pattern: &str) -> Result<Vec<Token>, String> {
    if pattern.is_empty() {
        return Err(
            "an empty pattern matches no task; leave `task` out to match every task".into(),
        );
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::One);
                i += 1;
            }
            '[' => {
                let open = i;
                i += 1;
                let negated = chars.get(i) == Some(&'!');
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(format!(
                                "the `[` at character {} is never closed by a `]`",
                                open + 1
                            ))
                        }
                        Some(']') => {
                            i += 1;
                            break;
                        }
                        Some(&lo) => match (chars.get(i + 1), chars.get(i + 2)) {
                            (Some('-'), Some(&hi)) if hi != ']' => {
                                if hi < lo {
                                    return Err(format!(
                                        "the range `{lo}-{hi}` is backwards; write `{hi}-{lo}`"
                                    ));
                                }
                                ranges.push((lo, hi));
                                i += 3;
                            }
                            _ => {
                                ranges.push((lo, lo));
                                i += 1;
                            }
                        },
                    }
                }
                if ranges.is_empty() {
                    let set: String = chars[open..i].iter().collect();
                    return Err(format!(
                        "`{set}` is an empty set; a set lists at least one character, like `[abc]` or `[a-z]`"
                    ));
                }
                out.push(Token::Set { negated, ranges });
            }
            c => {
                out.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

impl Glob {
    /// Checks `pattern`; the error is one sentence without the pattern itself.
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        tokens(pattern)?;
        Ok(Glob {
            pattern: pattern.to_string(),
        })
    }

    /// Whether the whole of `text` matches. A pattern that does not parse matches nothing.
    pub fn matches(&self, text: &str) -> bool {
        let Ok(tokens) = tokens(&self.pattern) else {
            return false;
        };
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut s) = (0, 0);
        // Where the last `*` was, and how much of the text it has swallowed so far.
        let mut star: Option<(usize, usize)> = None;
        while s < text.len() {
            match tokens.get(t) {
                Some(Token::Star) => {
                    star = Some((t, s));
                    t += 1;
                    continue;
                }
                Some(token) if token.accepts(text[s]) => {
                    t += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((star_t, star_s)) => {
                    t = star_t + 1;
                    s = star_s + 1;
                    star = Some((star_t, star_s + 1));
                }
                None => return false,
            }
        }
        tokens[t..].iter().all(|token| matches!(token, Token::Star))
    }
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
