//! `[[notifier]]` tables (`notifications.md` §2): the id, each type's fields, secrets taken from
//! the file itself, from `X_env` or from `X_file`, URLs and mail addresses checked. A secret's
//! value never reaches an error: messages name the notifier and the key, never what a secret
//! holds. `[notify]`, routes and the check that every named id exists live in `sections.rs`.

mod checks;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use super::fields::{join_path, Ctx, Fields};
use super::keys::{self, notifier_keys, NOTIFIER_TYPES};
use super::sections::INAPP;
use super::{EmailTls, Notifier, NotifierKind};
use crate::engine::model::truncate_for_message;
use checks::{is_address, is_loopback};
pub(super) use table::Table;

pub(super) use checks::is_http_url;

/// `"slack", "discord", …`: the types, as an error lists them.
fn type_list() -> String {
    let names: Vec<String> = NOTIFIER_TYPES
        .iter()
        .map(|t| format!("{:?}", t.name))
        .collect();
    names.join(", ")
}

/// The Bot API a `telegram` notifier talks to unless `api_url` names a self-hosted one.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// The longest notifier id.
const MAX_ID_LEN: usize = 100;

/// Every `[[notifier]]`; those with errors are left out (and the load fails).
pub(super) fn notifiers(ctx: &mut Ctx<'_>, root: &Fields<'_, '_>, dir: &Path) -> Vec<Notifier> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for f in root.array_of_tables(ctx, "notifier") {
        let written_id = f.string(ctx, "id");
        let who = match &written_id {
            Some((id, _)) => format!("notifier {:?}: ", truncate_for_message(id)),
            None => String::new(),
        };
        let table = Table { f: &f, who, dir };
        let id = checked_id(ctx, &table, written_id, &mut seen);
        let kind = kind(ctx, &table);
        if let (Some(id), Some(kind)) = (id, kind) {
            out.push(Notifier { id, kind });
        }
    }
    out
}

fn checked_id(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_, '_>,
    written: Option<(String, Range<usize>)>,
    seen: &mut BTreeSet<String>,
) -> Option<String> {
    let path = t.f.key_path("id");
    let Some((id, span)) = written else {
        if t.f.get("id").is_none() {
            t.missing(ctx, "`id` (the name tasks and routes use to send here)");
        }
        return None;
    };
    let problem = if id.is_empty() {
        Some("an id cannot be empty".to_string())
    } else if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(format!(
            "an id may only contain ASCII letters, digits, '-' and '_' (found {c:?})"
        ))
    } else if id.len() > MAX_ID_LEN {
        Some(format!(
            "an id is at most {MAX_ID_LEN} characters long (this one has {})",
            id.len()
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        let shown = truncate_for_message(&id);
        ctx.error(
            span,
            &path,
            format!("{shown:?} is not a valid notifier id: {problem}"),
        );
        return None;
    }
    if id == INAPP {
        ctx.error(span, &path, format!("notifier id {id:?} is reserved for the built-in in-app notifier; choose another id"));
        return None;
    }
    if !seen.insert(id.clone()) {
        ctx.error(
            span,
            &path,
            format!("notifier id {id:?} is already used by an earlier [[notifier]]"),
        );
        return None;
    }
    Some(id)
}

/// `type`, the check of the table's keys against it, and the type's fields.
fn kind(ctx: &mut Ctx<'_>, t: &Table<'_, '_, '_>) -> Option<NotifierKind> {
    let f = t.f;
    let Some((kind, span)) = f.string(ctx, "type") else {
        if f.get("type").is_none() {
            t.missing(ctx, &format!("`type` (one of {})", type_list()));
        }
        return None;
    };
    let Some(this) = NOTIFIER_TYPES.iter().find(|t| t.name == kind) else {
        let shown = truncate_for_message(&kind);
        t.error(
            ctx,
            span,
            "type",
            &format!("{shown:?} is not one of {}", type_list()),
        );
        return None;
    };
    let name = this.name;
    let mut known = notifier_keys(this);
    known.extend(keys::NOTIFIER.iter().map(|k| k.name.to_string()));
    // A key of another type gets its own explanation rather than "unknown key".
    let mut rejected: Vec<(String, String)> = Vec::new();
    for other in NOTIFIER_TYPES {
        for key in notifier_keys(other) {
            if !known.contains(&key) && !rejected.iter().any(|(k, _)| *k == key) {
                let why = format!(
                    "`{key}` is not a key of a {name} notifier (it belongs to type = \"{}\")",
                    other.name
                );
                rejected.push((key, why));
            }
        }
    }
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let rejected: Vec<(&str, &str)> = rejected
        .iter()
        .map(|(k, why)| (k.as_str(), why.as_str()))
        .collect();
    f.check_keys(ctx, &known, &rejected);
    match name {
        "slack" => slack(ctx, t),
        "discord" => Some(NotifierKind::Discord {
            webhook_url: t.url_secret(ctx, &keys::DISCORD_WEBHOOK_URL)?,
        }),
        "telegram" => telegram(ctx, t),
        "email" => email(ctx, t),
        "webhook" => webhook(ctx, t),
        _ => Some(NotifierKind::Command {
            run: t
                .required(
                    ctx,
                    "run",
                    "the shell command that reads the event on stdin",
                )?
                .0,
        }),
    }
}

fn slack(ctx: &mut Ctx<'_>, t: &Table<'_, '_, '_>) -> Option<NotifierKind> {
    let webhook_url = t.url_secret(ctx, &keys::SLACK_WEBHOOK_URL);
    let channel = t.optional(ctx, "channel").and_then(|(channel, span)| {
        let named = channel.len() > 1 && (channel.starts_with('#') || channel.starts_with('@'));
        if named && !channel.contains(char::is_whitespace) {
            return Some(channel);
        }
        let shown = truncate_for_message(&channel);
        let message =
            format!("channel {shown:?} must be \"#channel\" or \"@user\" (starting with # or @)");
        t.error(ctx, span, "channel", &message);
        None
    });
    Some(NotifierKind::Slack {
        webhook_url: webhook_url?,
        channel,
    })
}

fn telegram(ctx: &mut Ctx<'_>, t: &Table<'_, '_, '_>) -> Option<NotifierKind> {
    let bot_token = t.secret(ctx, &keys::BOT_TOKEN);
    let chat_id = match t.f.get("chat_id") {
        None => {
            t.missing(ctx, "`chat_id` (the chat the bot posts to)");
            None
        }
        Some(v) => {
            let span = v.span();
            if let Some(i) = v.get_ref().as_integer() {
                let digits = i.as_str().replace('_', "");
                let parsed = i64::from_str_radix(digits.trim_start_matches('+'), i.radix());
                match parsed {
                    Ok(n) => Some(n.to_string()),
                    Err(_) => {
                        t.error(ctx, span, "chat_id", "`chat_id` is not a valid integer");
                        None
                    }
                }
            } else if v.get_ref().as_str().is_none() {
                t.error(
                    ctx,
                    span,
                    "chat_id",
                    "`chat_id` must be a string or an integer",
                );
                None
            } else {
                t.optional(ctx, "chat_id").and_then(|(id, span)| {
                    if id.contains(char::is_whitespace) {
                        t.error(ctx, span, "chat_id", "`chat_id` cannot contain spaces");
                        return None;
                    }
                    Some(id)
                })
            }
        }
    };
    let api_url = match t.optional(ctx, "api_url") {
        Some((url, span)) => {
            let url = url.trim_end_matches('/');
            if !is_http_url(url) {
                let shown = truncate_for_message(url);
                let message = format!("{shown:?} is not an http:// or https:// URL");
                t.error(ctx, span, "api_url", &message);
            }
            url.to_string()
        }
        None => TELEGRAM_API_URL.to_string(),
    };
    Some(NotifierKind::Telegram {
        bot_token: bot_token?.value,
        chat_id: chat_id?,
        api_url,
    })
}

fn email(ctx: &mut Ctx<'_>, t: &Table<'_, '_, '_>) -> Option<NotifierKind> {
    let f = t.f;
    let host = t
        .required(ctx, "host", "the SMTP server's name or address")
        .and_then(|(host, span)| {
            if host.contains(|c: char| c.is_whitespace() || c == '/') {
                let shown = truncate_for_message(&host);
                let message = format!("{shown:?} is not a host name or address");
                t.error(ctx, span, "host", &message);
                return None;
            }
            Some(host)
        });
    let tls = f
        .key_choice(ctx, &keys::EMAIL_TLS_KEY, keys::EMAIL_TLS)
        .unwrap_or(EmailTls::StartTls);
    if let (EmailTls::None, Some(host)) = (tls, &host) {
        if !is_loopback(host) {
            let span = f.get("tls").map(|v| v.span()).unwrap_or(f.span.clone());
            let shown = truncate_for_message(host);
            let message = format!("tls = \"none\" sends mail and its password in clear text, so it is allowed only to a loopback host (localhost, 127.0.0.1, ::1), not {shown:?}");
            t.error(ctx, span, "tls", &message);
        }
    }
    let default_port = match tls {
        EmailTls::StartTls => 587,
        EmailTls::Implicit => 465,
        EmailTls::None => 25,
    };
    let port = f
        .key_integer(ctx, &keys::EMAIL_PORT)
        .map_or(default_port, |p| p as u16);
    let username = t.optional(ctx, "username").map(|(u, _)| u);
    let password = t.secret(ctx, &keys::EMAIL_PASSWORD).map(|s| s.value);
    let password_key = ["password", "password_env", "password_file"]
        .into_iter()
        .find(|k| f.get(k).is_some());
    match (f.get("username").is_some(), password_key) {
        (true, None) => {
            let span = t.key_span_or_table("username");
            let message = "`username` needs a `password` (or `password_env` or `password_file`); set both or neither";
            t.error(ctx, span, "username", message);
        }
        (false, Some(key)) => {
            let span = t.key_span_or_table(key);
            let message = format!("`{key}` needs a `username`; set both or neither");
            t.error(ctx, span, key, &message);
        }
        _ => {}
    }
    let from = t
        .required(ctx, "from", "the sender's address")
        .and_then(|(from, span)| {
            if is_address(&from) {
                return Some(from);
            }
            let shown = truncate_for_message(&from);
            let message = format!("{shown:?} is not a mail address (write name@example.com or \"Name <name@example.com>\")");
            t.error(ctx, span, "from", &message);
            None
        });
    let to = t.addresses(ctx, "to", true);
    let cc = t.addresses(ctx, "cc", false);
    Some(NotifierKind::Email {
        host: host?,
        port,
        tls,
        username,
        password,
        from: from?,
        to,
        cc,
    })
}

fn webhook(ctx: &mut Ctx<'_>, t: &Table<'_, '_, '_>) -> Option<NotifierKind> {
    let url = t.url_secret(ctx, &keys::WEBHOOK_URL);
    let headers_path = t.f.key_path("headers");
    let mut headers = BTreeMap::new();
    let mut lower = BTreeSet::new();
    let mut written = t.f.string_table(ctx, "headers").unwrap_or_default();
    // In file order, so a repeated name is reported where it is repeated.
    written.sort_by_key(|(_, _, span)| span.start);
    for (name, value, span) in written {
        let path = join_path(&headers_path, &name);
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        // A header's value is never echoed: it often carries a token.
        let problem = if name.is_empty() || !name.chars().all(token) {
            let shown = truncate_for_message(&name);
            Some(format!("{shown:?} is not a valid HTTP header name"))
        } else if value.chars().any(|c| c.is_control() && c != '\t') {
            Some(format!(
                "the value of header {name:?} contains a line break or another control character"
            ))
        } else if !lower.insert(name.to_ascii_lowercase()) {
            Some(format!(
                "header {name:?} is set twice (header names ignore case)"
            ))
        } else {
            None
        };
        match problem {
            Some(message) => t.error_at(ctx, span, &path, &message),
            None => {
                headers.insert(name, value);
            }
        }
    }
    let secret = t.secret(ctx, &keys::WEBHOOK_SECRET).map(|s| s.value);
    Some(NotifierKind::Webhook {
        url: url?,
        headers,
        secret,
    })
}
