//! Generic webhooks: `POST` of the [`NotifyEvent`] JSON with the configured headers and, with
//! a secret, `X-Runwisp-Signature-256: sha256=HEX`, the HMAC-SHA256 of the exact body bytes
//! sent, so a receiver can check both origin and integrity.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{http, Limits, Outcome};
use crate::api::NotifyEvent;
use crate::engine::config::SecretValue;

pub const SIGNATURE_HEADER: &str = "X-Runwisp-Signature-256";

pub fn send(
    url: &SecretValue,
    headers: &BTreeMap<String, String>,
    secret: Option<&SecretValue>,
    event: &NotifyEvent,
    limits: &Limits,
) -> Outcome {
    let body = match serde_json::to_vec(event) {
        Ok(body) => body,
        Err(e) => {
            return Outcome::Failed {
                reason: format!("the event could not be encoded as JSON: {e}"),
            }
        }
    };
    let signature = secret.map(|s| signature(s.expose().as_bytes(), &body));
    // Configured headers first; the ones runwisp sets are not overridden by them.
    let mut all: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("content-type")
                && !name.eq_ignore_ascii_case(SIGNATURE_HEADER)
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    all.push(("Content-Type", "application/json"));
    if let Some(signature) = &signature {
        all.push((SIGNATURE_HEADER, signature));
    }
    http::send("webhook", url.expose(), &body, &all, limits)
}

/// `sha256=HEX` of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            mac.finalize().into_bytes()
        }
        Err(_) => return String::new(),
    };
    format!("sha256={}", hex::encode(mac))
}
