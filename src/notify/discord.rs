//! Discord webhooks: `content` is the headline, one embed carries the body, coloured by
//! severity, with the fingerprint as its footer and the run's link when there is one. Mentions
//! are switched off, so an `@everyone` in a task's output pings nobody.

use serde_json::{json, Value};

use super::{http, text, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::config::SecretValue;
use crate::engine::model::Severity;

/// Discord's limits (in characters; these are bytes, so stricter): message content, embed
/// title, embed description; the footer is kept short so an embed stays under its 6000 total.
const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FOOTER_MAX: usize = 256;

pub fn send(webhook_url: &SecretValue, event: &NotifyEvent, limits: &Limits) -> Outcome {
    let body = payload(event).to_string();
    http::send(
        "discord",
        webhook_url.expose(),
        body.as_bytes(),
        &[("Content-Type", "application/json")],
        limits,
    )
}

/// Error red, warning amber, info green.
pub fn color(severity: Severity) -> u32 {
    match severity {
        Severity::Error => 0xE0_1E_5A,
        Severity::Warn => 0xEC_B2_2E,
        Severity::Info => 0x2E_B6_7D,
    }
}

/// The webhook's JSON.
pub fn payload(event: &NotifyEvent) -> Value {
    let mut embed = json!({
        "title": text::truncate(&event.title, TITLE_MAX),
        "description": text::truncate(&event.text, DESCRIPTION_MAX),
        "color": color(event.severity),
    });
    if let Some(map) = embed.as_object_mut() {
        if !event.fingerprint.is_empty() {
            map.insert(
                "footer".into(),
                json!({ "text": text::truncate(&event.fingerprint, FOOTER_MAX) }),
            );
        }
        if let Some(url) = &event.url {
            map.insert("url".into(), Value::String(url.clone()));
        }
        if !event.occurred_at.is_empty() {
            map.insert("timestamp".into(), Value::String(event.occurred_at.clone()));
        }
    }
    json!({
        "content": text::truncate(&event.title, CONTENT_MAX),
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    })
}
