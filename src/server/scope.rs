//! The one gate in front of every protected route: who is asking, and whether they may. A full
//! login (the JWT of the CHAP login, `api.md` §1) or a client on the local socket may do
//! everything. A scoped token (`rw_…`, `webhooks.md` §2, presented as `Authorization: Bearer`
//! or `X-API-Key`) may do what the route's [`Scope`] in the route table grants for the task the
//! request names, and nothing else: `403 token "NAME" may not do this`. An unknown, revoked or
//! expired token is 401.
//!
//! The route table declares a route's scope; this file reads the request's path parameters
//! (a run is looked up for its task) and asks the engine
//! ([`TokenScope::allows`](crate::engine::auth::tokens::TokenScope::allows)). No handler checks
//! a token itself.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::local::LocalPeer;
use super::{auth, AppState};
use crate::engine::auth::tokens::{Refusal, Wanted};
use crate::engine::history::{Resolved, RunRef};
use crate::engine::model::TaskName;

/// The header a scoped token may come in instead of `Authorization: Bearer`.
pub const API_KEY: &str = "x-api-key";

/// What a scoped token may do on a route (a full login may do everything). Declared per route
/// in the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Nothing: only a full login.
    #[default]
    Never,
    /// Start the task of the path's `{name}`, when the token may start it.
    TriggerTask,
    /// Read the task of the path's `{name}` (the task, its runs).
    ReadTask,
    /// Read the runs of the task in the query's `task=` (none given: refused).
    ReadRunsOfQueriedTask,
    /// Read the run of the path's `{id}` or its log: the run's task must be the token's.
    ReadRun,
    /// `/metrics`, when the token may read it.
    Metrics,
}

/// The gate's state: the application and the scope of the route it stands in front of.
#[derive(Clone)]
pub struct Gate {
    pub app: AppState,
    pub scope: Scope,
}

/// What a request presents.
enum Credential {
    None,
    /// A full login's JWT.
    Session(String),
    /// A scoped token (`rw_…`).
    Scoped(String),
}

fn credential(parts: &Parts) -> Result<Credential, ApiError> {
    let headers: &HeaderMap = &parts.headers;
    if let Some(t) = auth::bearer(headers) {
        return Ok(if t.starts_with(crate::engine::auth::tokens::PREFIX) {
            Credential::Scoped(t.to_string())
        } else {
            Credential::Session(t.to_string())
        });
    }
    if let Some(key) = headers.get(API_KEY) {
        let key = key.to_str().unwrap_or_default().trim();
        return Ok(Credential::Scoped(key.to_string()));
    }
    Ok(match auth::token(&parts.method, headers)? {
        Some(t) => Credential::Session(t.to_string()),
        None => Credential::None,
    })
}

/// Middleware of every protected route (see the module's header).
pub async fn require(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    if req.extensions().get::<LocalPeer>().is_some() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let presented = match credential(&parts) {
        Ok(c) => c,
        Err(refused) => return refused.into_response(),
    };
    let allowed = match presented {
        Credential::None => Err(ApiError::unauthorized(
            "log in first: GET /api/auth/challenge, then POST /api/auth (or present a token made by `runwisp token create`)",
        )),
        Credential::Session(t) => match gate.app.engine.auth().verify(&t) {
            Ok(_) => Ok(()),
            Err(_) => Err(ApiError::unauthorized(
                "the token is invalid or expired; log in again",
            )),
        },
        Credential::Scoped(t) => scoped(&gate, &mut parts, t).await,
    };
    match allowed {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(refused) => refused.into_response(),
    }
}

/// Checks a scoped token and whether its scope covers this request.
async fn scoped(gate: &Gate, parts: &mut Parts, presented: String) -> Result<(), ApiError> {
    let token = match gate.app.engine.check_token(presented).await {
        Ok(token) => token,
        Err(Refusal::Store(e)) => return Err(e.into()),
        Err(refusal) => return Err(ApiError::unauthorized(refusal.to_string())),
    };
    let wanted = wanted(gate, parts).await?;
    if token.scope.allows(&wanted) {
        return Ok(());
    }
    tracing::info!(token = %token.name, path = %parts.uri.path(), "a scoped token was refused");
    Err(ApiError::forbidden(format!(
        "token \"{}\" may not do this",
        token.name
    )))
}

/// What the request asks for, by the route's scope and its path and query.
async fn wanted(gate: &Gate, parts: &mut Parts) -> Result<Wanted, ApiError> {
    let task = |text: Option<String>| text.and_then(|t| TaskName::parse(&t).ok());
    Ok(match gate.scope {
        Scope::Never => Wanted::Nothing,
        Scope::Metrics => Wanted::Metrics,
        Scope::TriggerTask => {
            task(param(parts, "name").await).map_or(Wanted::Nothing, Wanted::Trigger)
        }
        Scope::ReadTask => task(param(parts, "name").await).map_or(Wanted::Nothing, Wanted::Read),
        Scope::ReadRunsOfQueriedTask => {
            let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .map(|Query(q)| q)
                .unwrap_or_default();
            task(query.get("task").cloned()).map_or(Wanted::Nothing, Wanted::Read)
        }
        Scope::ReadRun => {
            let Some(wanted) = param(parts, "id")
                .await
                .and_then(|id| RunRef::parse(&id).ok())
            else {
                return Ok(Wanted::Nothing);
            };
            // Only a run that is there and named unambiguously can be in a token's scope;
            // anything else is refused alike, so a token cannot probe other tasks' runs.
            match gate.app.engine.resolve_run(wanted).await? {
                Resolved::Found(run) => Wanted::Read(run.task_name),
                Resolved::NotFound | Resolved::Ambiguous { .. } => Wanted::Nothing,
            }
        }
    })
}

/// The path parameter `key` of the matched route, percent-decoded.
async fn param(parts: &mut Parts, key: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}
