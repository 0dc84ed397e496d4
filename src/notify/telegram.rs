//! Telegram Bot API: `POST {api_url}/bot{token}/sendMessage` with the headline in bold and
//! every piece of text escaped for Telegram's HTML (`&`, `<`, `>`), so a task's output can
//! neither break the markup nor format itself. Telegram answers `{"ok": false, "description"}`
//! on errors, and `parameters.retry_after` on 429; both end up in the outcome. The URL holds the
//! token, so messages name only its host.

use serde_json::{json, Value};

use super::{http, text, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::config::SecretValue;

/// Telegram takes 4096 characters after the markup is parsed; the pieces are cut before
/// escaping so an entity is never cut in half.
const TITLE_MAX: usize = 256;
const TEXT_MAX: usize = 3500;
const FOOTER_MAX: usize = 200;

pub fn send(
    bot_token: &SecretValue,
    chat_id: &str,
    api_url: &str,
    event: &NotifyEvent,
    limits: &Limits,
) -> Outcome {
    let url = format!(
        "{}/bot{}/sendMessage",
        api_url.trim_end_matches('/'),
        bot_token.expose()
    );
    let body = json!({
        "chat_id": chat_id,
        "text": message(event),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    })
    .to_string();
    let answer = match http::post(
        "telegram",
        &url,
        body.as_bytes(),
        &[("Content-Type", "application/json")],
        limits,
    ) {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let parsed: Option<Value> = serde_json::from_str(&answer.body).ok();
    let ok = parsed.as_ref().and_then(|v| v.get("ok")?.as_bool());
    let description = parsed
        .as_ref()
        .and_then(|v| v.get("description")?.as_str())
        .map(text::answer);
    if answer.success() {
        if ok == Some(false) {
            return Outcome::Failed {
                reason: format!(
                    "telegram answered {} but refused the message: {}",
                    answer.status_line(),
                    description.unwrap_or_else(|| answer.message())
                ),
            };
        }
        let id = parsed
            .as_ref()
            .and_then(|v| v.get("result")?.get("message_id")?.as_i64());
        if let Some(id) = id {
            return Outcome::Delivered {
                detail: format!("telegram answered {}: message {id}", answer.status_line()),
            };
        }
    }
    http::outcome(
        "telegram",
        &answer,
        &description.unwrap_or_else(|| answer.message()),
    )
}

/// The message in Telegram's HTML.
pub fn message(event: &NotifyEvent) -> String {
    let mut out = format!(
        "<b>{}</b>",
        text::escape_markup(&text::truncate(&event.title, TITLE_MAX))
    );
    if !event.text.trim().is_empty() {
        out.push('\n');
        out.push_str(&text::escape_markup(&text::truncate(&event.text, TEXT_MAX)));
    }
    if !event.fingerprint.is_empty() {
        out.push_str("\n\n<i>");
        out.push_str(&text::escape_markup(&text::truncate(
            &event.fingerprint,
            FOOTER_MAX,
        )));
        out.push_str("</i>");
    }
    out
}
