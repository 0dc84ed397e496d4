//! The blocking client of a runwisp daemon's REST API, shared by the CLI and the TUI: login by
//! challenge-response over TCP, a scoped token presented as it is ([`Client::with_token`]), or
//! no login at all over the local daemon's socket (`DATA/daemon.sock`, see [`Client::local`]);
//! calls, and a reader of server-sent events.
//! Every failure is one sentence (`cannot reach the runwisp daemon at …`, the daemon's own
//! problem detail, …).

mod notifications;
mod sse;
mod tasks;
pub mod tls;
mod tokens;
mod unix;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api;
use crate::engine::auth::challenge_response;

pub use sse::SseEvent;

/// Why a call failed, as a user should read it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the runwisp daemon at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{detail}")]
    Api { status: u16, detail: String },
    #[error("the daemon at {url} sent an answer runwisp does not understand: {reason}")]
    Protocol { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A run as the API returns it: the wire contract's run object.
pub type RunView = crate::api::RunObject;

/// A logged-in connection to a daemon.
#[derive(Clone)]
pub struct Client {
    base: String,
    /// Where the daemon is, as messages name it: the URL, or the socket's path.
    shown: String,
    agent: ureq::Agent,
    streaming: ureq::Agent,
    /// Empty over the local socket, which needs none.
    token: String,
}

fn config(timeout: Option<Duration>) -> ureq::config::Config {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_global(timeout)
        .tls_config(tls::config())
        .build()
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    config(timeout).into()
}

impl Client {
    /// Talks to the local daemon through its socket at `socket`, without a login. Checks that
    /// the daemon answers there and admits this user, so a caller can fall back to TCP.
    pub fn local(socket: &std::path::Path) -> Result<Client, ClientError> {
        let over = |timeout| unix::agent(socket.to_path_buf(), config(timeout));
        let client = Client {
            base: unix::BASE.to_string(),
            shown: socket.display().to_string(),
            agent: over(Some(Duration::from_secs(30))),
            streaming: over(None),
            token: String::new(),
        };
        let status: api::AuthStatus = client.call("GET", "/api/auth/status", None)?;
        if !status.authenticated {
            return Err(ClientError::Protocol {
                url: client.shown,
                reason: "the daemon did not admit this user on its socket".into(),
            });
        }
        Ok(client)
    }

    /// Logs in to the daemon at `url` (`http://127.0.0.1:9477`).
    pub fn login(url: &str, password: &str) -> Result<Client, ClientError> {
        let base = url.trim_end_matches('/').to_string();
        let mut client = Client {
            shown: base.clone(),
            base,
            agent: agent(Some(Duration::from_secs(30))),
            streaming: agent(None),
            token: String::new(),
        };
        let challenge: api::Challenge = client.call("GET", "/api/auth/challenge", None)?;
        let login = api::Login {
            response: challenge_response(password, &challenge.nonce),
            nonce: challenge.nonce,
        };
        let body = serde_json::to_value(&login).map_err(|e| ClientError::Protocol {
            url: client.shown.clone(),
            reason: e.to_string(),
        })?;
        let token: api::Token = client.call("POST", "/api/auth", Some(body))?;
        client.token = token.token;
        Ok(client)
    }

    /// Talks to the daemon at `url` with a scoped token (`rw_…`, `runwisp token create`): no
    /// login, the token goes as the bearer of every request, and the daemon answers 403 for
    /// what it does not cover.
    pub fn with_token(url: &str, token: &str) -> Client {
        let base = url.trim_end_matches('/').to_string();
        Client {
            shown: base.clone(),
            base,
            agent: agent(Some(Duration::from_secs(30))),
            streaming: agent(None),
            token: token.trim().to_string(),
        }
    }

    fn unreachable(&self, e: ureq::Error) -> ClientError {
        let reason = match &e {
            ureq::Error::Io(io) => io.to_string(),
            ureq::Error::ConnectionFailed => "connection failed".into(),
            ureq::Error::Timeout(_) => "it did not answer in time".into(),
            other => other.to_string(),
        };
        let reason = tls::explain(&reason).unwrap_or(reason);
        ClientError::Unreachable {
            url: self.shown.clone(),
            reason,
        }
    }

    /// `POST /api/reload`: what changed; a file with errors is refused (422) with every error
    /// in the message, one a line.
    pub fn reload(&self) -> Result<crate::api::Reloaded, ClientError> {
        self.call("POST", "/api/reload", None)
    }

    fn request(
        &self,
        agent: &ureq::Agent,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let url = format!("{}{path}", self.base);
        let auth = (!self.token.is_empty()).then(|| format!("Bearer {}", self.token));
        let result = match (method, body) {
            ("POST", Some(body)) => authorized(agent.post(&url), &auth).send_json(body),
            ("POST", None) => authorized(agent.post(&url), &auth).send_empty(),
            ("DELETE", _) => authorized(agent.delete(&url), &auth).call(),
            (_, _) => authorized(agent.get(&url), &auth).call(),
        };
        let mut response = result.map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        if status >= 400 {
            let problem = response.body_mut().read_json::<Value>().ok();
            let detail = problem
                .as_ref()
                .map(problem_text)
                .unwrap_or_else(|| format!("the daemon answered HTTP {status}"));
            return Err(ClientError::Api { status, detail });
        }
        Ok(response)
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, ClientError> {
        let mut response = self.request(&self.agent, method, path, body)?;
        response
            .body_mut()
            .read_json::<T>()
            .map_err(|e| ClientError::Protocol {
                url: self.shown.clone(),
                reason: e.to_string(),
            })
    }

    /// `GET` a route answering a wire type of `crate::api`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call("GET", path, None)
    }

    /// Starts `task` now; `by` is recorded as `triggered_by` (`cli`, `tui`, `web` or `api`).
    pub fn trigger(&self, task: &str, by: &str) -> Result<RunView, ClientError> {
        self.call(
            "POST",
            &format!("/api/tasks/{task}/run"),
            Some(serde_json::json!({ "triggered_by": by })),
        )
    }

    /// One run, by its id or a unique prefix or suffix of it (at least 4 characters, checked
    /// by the caller); an ambiguous one is refused (409) with the candidates in the detail.
    pub fn run(&self, id: &str) -> Result<RunView, ClientError> {
        self.call("GET", &format!("/api/runs/{id}"), None)
    }

    /// `POST` a route without a body (restart, stop), ignoring the answer's body.
    pub fn post(&self, path: &str) -> Result<(), ClientError> {
        self.request(&self.agent, "POST", path, None).map(|_| ())
    }

    pub fn stop_run(&self, id: &str) -> Result<(), ClientError> {
        self.post(&format!("/api/runs/{id}/stop"))
    }

    /// Sends a test message through notifier `id` now and returns what its channel answered.
    pub fn test_notifier(&self, id: &str) -> Result<api::NotifierTest, ClientError> {
        self.call(
            "POST",
            &format!("/api/notifiers/{}/test", segment(id)),
            None,
        )
    }

    /// Copies the whole log as on disk into `out`, a piece at a time; returns the bytes copied.
    pub fn raw_log(&self, id: &str, out: &mut dyn std::io::Write) -> Result<u64, ClientError> {
        let mut response =
            self.request(&self.agent, "GET", &format!("/api/runs/{id}/log/raw"), None)?;
        std::io::copy(&mut response.body_mut().as_reader(), out).map_err(|e| {
            ClientError::Protocol {
                url: self.shown.clone(),
                reason: e.to_string(),
            }
        })
    }

    /// Reads the server-sent events of `path`, calling `on_event` for each until it returns
    /// false or the stream ends.
    pub fn stream(
        &self,
        path: &str,
        mut on_event: impl FnMut(&SseEvent) -> bool,
    ) -> Result<(), ClientError> {
        let mut response = self.request(&self.streaming, "GET", path, None)?;
        let reader = std::io::BufReader::new(response.body_mut().as_reader());
        for event in sse::events(reader) {
            let event = event.map_err(|e| ClientError::Protocol {
                url: self.shown.clone(),
                reason: e.to_string(),
            })?;
            if !on_event(&event) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Follows a run's log (replayed from line `from`, then live) until the run is done; calls
    /// `on_event` for every event and returns the run as the `done` event reports it.
    pub fn follow_log(
        &self,
        id: &str,
        from: i64,
        mut on_event: impl FnMut(&SseEvent),
    ) -> Result<RunView, ClientError> {
        let mut done = None;
        self.stream(&format!("/api/runs/{id}/log/stream?from={from}"), |event| {
            if event.name == "done" {
                done = Some(event.data.clone());
                return false;
            }
            on_event(event);
            true
        })?;
        let protocol = |reason: String| ClientError::Protocol {
            url: self.shown.clone(),
            reason,
        };
        let data =
            done.ok_or_else(|| protocol("the log stream ended before the run did".into()))?;
        serde_json::from_str(&data).map_err(|e| protocol(e.to_string()))
    }
}

/// `text` as one path segment: anything but letters, digits, `-` and `_` percent-encoded, so a
/// malformed id reaches the daemon (which says what is wrong with it) instead of another route.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `request` with the `Authorization` header `auth`, if any.
fn authorized<B>(
    request: ureq::RequestBuilder<B>,
    auth: &Option<String>,
) -> ureq::RequestBuilder<B> {
    match auth {
        Some(auth) => request.header("Authorization", auth),
        None => request,
    }
}

/// `GET /health` without logging in: is a daemon answering at `url`?
pub fn health(url: &str) -> Result<api::Health, ClientError> {
    let base = url.trim_end_matches('/');
    let unreachable = |reason: String| ClientError::Unreachable {
        url: base.to_string(),
        reason,
    };
    let mut response = agent(Some(Duration::from_secs(5)))
        .get(&format!("{base}/health"))
        .call()
        .map_err(|e| {
            let reason = e.to_string();
            unreachable(tls::explain(&reason).unwrap_or(reason))
        })?;
    if response.status().as_u16() != 200 {
        return Err(unreachable(format!(
            "it answered HTTP {}",
            response.status().as_u16()
        )));
    }
    response
        .body_mut()
        .read_json::<api::Health>()
        .map_err(|e| ClientError::Protocol {
            url: base.to_string(),
            reason: e.to_string(),
        })
}

/// A problem answer as one message: its detail, then each configuration error it lists
/// (`LINE:COLUMN: KEY: message`, as `runwisp validate` prints them).
fn problem_text(problem: &Value) -> String {
    let mut text = problem
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or("the daemon refused the request")
        .to_string();
    let errors: Vec<crate::api::ConfigProblem> = problem
        .get("errors")
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    for e in errors {
        let key = if e.key.is_empty() {
            String::new()
        } else {
            format!(" {}:", e.key)
        };
        text.push_str(&format!("\n  {}:{}:{key} {}", e.line, e.column, e.message));
    }
    text
}
