//! `POST /hooks/{name}` (`webhooks.md` §1): public, authenticated by its signature alone. The
//! body (at most 1 MiB, cut by the route's kind) is verified before anything else is looked at;
//! a wrong or missing signature, an unknown name and a task without a webhook all answer the
//! same 401, so names cannot be probed. Five rejections from one address within 5 minutes and
//! every webhook request from it answers 429 until the oldest ages out.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::AppState;
use crate::api::{HookAccepted, HookDuplicate, HookIgnored, HookPong};
use crate::engine::config::Provider;
use crate::engine::metrics::HookResult;
use crate::engine::model::TaskName;
use crate::engine::webhook::{verify, Incoming, Outcome};

const WINDOW: Duration = Duration::from_secs(300);
const ALLOWED: usize = 5;
/// Addresses remembered at most (quiet ones are forgotten first).
const MAX_PEERS: usize = 10_000;

/// Rejected signatures by address, for the 429.
#[derive(Clone, Default)]
pub struct Throttle(Arc<Mutex<HashMap<IpAddr, VecDeque<Instant>>>>);

impl Throttle {
    /// How long `peer` must wait, when it has had its five rejections.
    fn check(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let mut peers = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let failures = peers.get_mut(&peer)?;
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            failures.pop_front();
        }
        if failures.len() < ALLOWED {
            return None;
        }
        failures
            .front()
            .map(|oldest| (*oldest + WINDOW).saturating_duration_since(now))
    }

    fn fail(&self, peer: IpAddr, now: Instant) {
        let mut peers = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            peers.retain(|_, f| f.back().is_some_and(|t| now.duration_since(*t) <= WINDOW));
            if peers.len() >= MAX_PEERS {
                // Still full of recent failures: memory stays bounded; this address is not
                // remembered (every delivery is still verified).
                return;
            }
        }
        let failures = peers.entry(peer).or_default();
        failures.push_back(now);
        while failures.len() > ALLOWED {
            failures.pop_front();
        }
    }
}

/// What a delivery for a name without a webhook is checked against (it never matches: no
/// signature is computed with it).
const UNKNOWN_NAME_KEY: &str = "runwisp: no webhook has this name";

/// The one answer to every delivery that does not verify.
fn refused() -> ApiError {
    ApiError::unauthorized("invalid signature")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn deliver(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = Instant::now();
    if let Some(wait) = app.hooks.check(peer.ip(), now) {
        let mut answer = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many webhook deliveries with an invalid signature from this address; try again later",
        );
        answer.retry_after = Some(wait);
        return Err(answer);
    }
    let incoming = Incoming {
        signature: header(&headers, "x-hub-signature-256")
            .or_else(|| header(&headers, "x-signature-256")),
        token: header(&headers, "x-gitlab-token"),
        event: header(&headers, "x-github-event").or_else(|| header(&headers, "x-gitlab-event")),
        delivery: header(&headers, "x-github-delivery")
            .or_else(|| header(&headers, "x-gitlab-event-uuid"))
            .or_else(|| header(&headers, "x-request-id")),
        body: &body,
    };
    let task = TaskName::parse(&name).ok();
    let hook = task.as_ref().and_then(|t| app.engine.webhook(t));
    let (Some(task), Some(hook)) = (task, hook) else {
        // The same work as a wrong signature, so timing cannot tell which names exist.
        let _ = verify(Provider::Github, UNKNOWN_NAME_KEY, &incoming);
        app.hooks.fail(peer.ip(), now);
        return Err(refused());
    };
    if !verify(hook.provider, hook.secret.expose(), &incoming) {
        app.hooks.fail(peer.ip(), now);
        app.engine.count_webhook(&task, HookResult::Rejected);
        return Err(refused());
    }
    let outcome = app.engine.deliver_webhook(&task, &hook, &incoming).await?;
    let result = match outcome {
        Outcome::Pong | Outcome::Ignored(_) => HookResult::Ignored,
        Outcome::Duplicate(_) => HookResult::Duplicate,
        Outcome::Started(_) => HookResult::Accepted,
    };
    app.engine.count_webhook(&task, result);
    Ok(match outcome {
        Outcome::Pong => axum::Json(HookPong { pong: true }).into_response(),
        Outcome::Ignored(ignored) => {
            (StatusCode::ACCEPTED, axum::Json(HookIgnored { ignored })).into_response()
        }
        Outcome::Duplicate(run) => axum::Json(HookDuplicate {
            duplicate: true,
            run_id: run.map(|r| r.to_string()),
        })
        .into_response(),
        Outcome::Started(run) => (
            StatusCode::ACCEPTED,
            axum::Json(HookAccepted {
                run_id: run.to_string(),
            }),
        )
            .into_response(),
    })
}
