//! Slack incoming webhooks: `text` (the plain message, also the notification's preview) and
//! `blocks`: a header with the title, a section with the body, a context line with the
//! daemon's fingerprint. Slack's mrkdwn needs `&`, `<` and `>` escaped; everything else of a
//! task's output is shown as it is.

use serde_json::{json, Value};

use super::{http, text, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::config::SecretValue;

/// Slack's limits: a header's text, a section's text.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;

pub fn send(
    webhook_url: &SecretValue,
    channel: Option<&str>,
    event: &NotifyEvent,
    limits: &Limits,
) -> Outcome {
    let body = payload(channel, event).to_string();
    http::send(
        "slack",
        webhook_url.expose(),
        body.as_bytes(),
        &[("Content-Type", "application/json")],
        limits,
    )
}

/// The webhook's JSON.
pub fn payload(channel: Option<&str>, event: &NotifyEvent) -> Value {
    let plain = if event.text.is_empty() {
        event.title.clone()
    } else {
        format!("{}\n{}", event.title, event.text)
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": text::truncate(&event.title, HEADER_MAX),
            "emoji": true,
        },
    })];
    if !event.text.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": text::truncate(&text::escape_markup(&event.text), SECTION_MAX),
            },
        }));
    }
    if !event.fingerprint.is_empty() {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": text::escape_markup(&event.fingerprint) }],
        }));
    }
    let mut body = json!({
        "text": text::escape_markup(&plain),
        "blocks": blocks,
    });
    if let (Some(channel), Some(map)) = (channel, body.as_object_mut()) {
        map.insert("channel".into(), Value::String(channel.to_string()));
    }
    body
}
