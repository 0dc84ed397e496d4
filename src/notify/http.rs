//! One HTTP POST for the channels that speak HTTP (Slack, Discord, Telegram, webhook), and the
//! mapping of its answer to an [`Outcome`] (`notifications.md` §4): 2xx delivered; a timeout, a
//! connection error, 5xx or 429 retried (after `Retry-After` seconds on 429 and 503); any other
//! answer final. Redirects are not followed: a POST is not replayed elsewhere.
//!
//! Messages name a URL by its host only: a Slack or Discord webhook URL is itself a secret, and
//! a Telegram URL carries the bot token.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use super::text;
use super::{Limits, Outcome};

/// How much of an answer is read; the rest is left unread.
const ANSWER_LIMIT: u64 = 16 * 1024;
/// The longest wait a receiver may ask for that is taken as said (a day); longer is ignored.
const MAX_RETRY_AFTER: f64 = 86_400.0;

/// What a receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// From `Retry-After` (or the body's `retry_after`), on 429 and 503 only.
    pub retry_after: Option<Duration>,
    /// At most [`ANSWER_LIMIT`] bytes, lossily decoded.
    pub body: String,
}

impl Answer {
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `404 Not Found`.
    pub fn status_line(&self) -> String {
        let reason = ureq::http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason());
        match reason {
            Some(reason) => format!("{} {reason}", self.status),
            None => self.status.to_string(),
        }
    }

    /// The receiver's own words: a JSON `description`, `message` or `error`, else the text.
    pub fn message(&self) -> String {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&self.body) {
            for key in ["description", "message", "error", "detail"] {
                if let Some(Value::String(s)) = map.get(key) {
                    return text::answer(s);
                }
            }
        }
        text::answer(&self.body)
    }
}

/// `POSTs` `body` to `url` with `headers`; `Err` is the outcome when no answer came.
pub fn post(
    channel: &str,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    limits: &Limits,
) -> Result<Answer, Outcome> {
    let host = host_of(url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(limits.timeout))
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("runwisp/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request
        .send(body)
        .map_err(|e| failure(channel, &host, e, limits))?;
    let status = response.status().as_u16();
    let mut raw = Vec::new();
    // An answer cut short still says what its status says.
    let _ = response
        .body_mut()
        .as_reader()
        .take(ANSWER_LIMIT)
        .read_to_end(&mut raw);
    let body = String::from_utf8_lossy(&raw).into_owned();
    let retry_after = if status == 429 || status == 503 {
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| seconds(v.trim().parse::<f64>().ok()?))
            .or_else(|| retry_after_in_body(&body))
    } else {
        None
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// The usual mapping of an answer, with `message` as what the receiver said.
pub fn outcome(channel: &str, answer: &Answer, message: &str) -> Outcome {
    let said = if message.is_empty() {
        format!("{channel} answered {}", answer.status_line())
    } else {
        format!("{channel} answered {}: {message}", answer.status_line())
    };
    match answer.status {
        200..=299 => Outcome::Delivered { detail: said },
        429 | 500..=599 => Outcome::Retry {
            after: answer.retry_after,
            reason: said,
        },
        300..=399 => Outcome::Failed {
            reason: format!("{said} (a redirect, which is not followed)"),
        },
        _ => Outcome::Failed { reason: said },
    }
}

/// `POST` and map with the receiver's own words.
pub fn send(
    channel: &str,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    limits: &Limits,
) -> Outcome {
    match post(channel, url, body, headers, limits) {
        Ok(answer) => outcome(channel, &answer, &answer.message()),
        Err(outcome) => outcome,
    }
}

fn seconds(value: f64) -> Option<Duration> {
    if !(0.0..=MAX_RETRY_AFTER).contains(&value) {
        return None;
    }
    Duration::try_from_secs_f64(value.ceil()).ok()
}

/// Discord's `retry_after` and Telegram's `parameters.retry_after`.
fn retry_after_in_body(body: &str) -> Option<Duration> {
    let value: Value = serde_json::from_str(body).ok()?;
    let n = value
        .get("retry_after")
        .or_else(|| value.get("parameters")?.get("retry_after"))?;
    seconds(n.as_f64()?)
}

/// Why no answer came, as an outcome.
fn failure(channel: &str, host: &str, error: ureq::Error, limits: &Limits) -> Outcome {
    let retry = |reason: String| Outcome::Retry {
        after: None,
        reason,
    };
    let failed = |reason: String| Outcome::Failed { reason };
    match error {
        ureq::Error::Timeout(_) => retry(format!(
            "{host} did not answer within {}",
            format_secs(limits.timeout)
        )),
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                retry(format!("could not connect to {host}: connection refused"))
            }
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => retry(format!(
                "{host} did not answer within {}",
                format_secs(limits.timeout)
            )),
            _ => retry(format!("the connection to {host} failed: {}", io_text(&io))),
        },
        ureq::Error::HostNotFound => retry(format!("could not resolve {host}")),
        ureq::Error::ConnectionFailed => retry(format!("could not connect to {host}")),
        ureq::Error::Tls(why) => retry(format!("the TLS connection to {host} failed: {why}")),
        ureq::Error::Rustls(e) => retry(format!("the TLS connection to {host} failed: {e}")),
        ureq::Error::Protocol(e) => retry(format!("{host} did not answer in HTTP: {e}")),
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => {
            failed(format!("the {channel} URL is not a valid http(s) URL"))
        }
        ureq::Error::Http(_) => failed(format!(
            "the {channel} request could not be built: a header name or value is not valid"
        )),
        ureq::Error::RedirectFailed | ureq::Error::TooManyRedirects => failed(format!(
            "{host} redirected the request, which is not followed"
        )),
        ureq::Error::LargeResponseHeader(..) => {
            failed(format!("{host} answered with headers too large to read"))
        }
        other => retry(format!("sending to {host} failed: {other}")),
    }
}

fn io_text(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionReset => "the connection was reset".into(),
        K::ConnectionAborted => "the connection was aborted".into(),
        K::BrokenPipe => "the connection was closed".into(),
        K::UnexpectedEof => "the connection closed before an answer".into(),
        _ => io.to_string(),
    }
}

/// `10s`, `1.5s`.
pub fn format_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// How a URL is named in messages: its host, with the port when one is written; never its
/// user, path or query.
pub fn host_of(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => match (uri.host(), uri.port_u16()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => "the configured URL".to_string(),
        },
        Err(_) => "the configured URL".to_string(),
    }
}

/// The parts of a URL that may carry a secret and could be echoed without the rest: the user
/// information and everything from the path on.
pub fn secret_parts(url: &str) -> Vec<&str> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut parts = Vec::new();
    if let Some((user, _)) = authority.rsplit_once('@') {
        parts.push(user);
    }
    if path.len() > 1 {
        parts.push(path);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_secret_parts() {
        let url = "https://hooks.slack.com/services/T0/B0/XXXX";
        assert_eq!(host_of(url), "hooks.slack.com");
        assert_eq!(secret_parts(url), vec!["/services/T0/B0/XXXX"]);
        assert_eq!(host_of("http://u:p@127.0.0.1:8080/x?t=1"), "127.0.0.1:8080");
        assert_eq!(secret_parts("http://u:p@h/x?t=1"), vec!["u:p", "/x?t=1"]);
        assert_eq!(host_of("not a url"), "the configured URL");
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(seconds(2.0), Some(Duration::from_secs(2)));
        assert_eq!(seconds(0.4), Some(Duration::from_secs(1)));
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(
            retry_after_in_body(r#"{"ok":false,"parameters":{"retry_after":7}}"#),
            Some(Duration::from_secs(7))
        );
    }
}
