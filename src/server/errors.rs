//! Errors mapped to HTTP answers, in one place. [`ApiError`] is what every handler, extractor
//! and gate answers a failure with; the engine's errors become API errors here (the `From`
//! impls: 404 for an unknown task or run, 409 for a conflict, 400 for bad input, 403 where a
//! task forbids it, 503 while shutting down, 500 for the rest); so do the bare error statuses
//! produced outside the handlers (404, 405, 413, 408: [`problemize`]) and panics
//! ([`panicked`]).
//!
//! An answer is `application/problem+json` `{"title", "status", "detail"}` whose detail is one
//! sentence a person can act on. An internal failure is logged in full and answered with a
//! generic sentence: never a debug dump, a path of the data directory or a secret. Which
//! headers an answer carries (caching, nosniff) is the route table's business, not this
//! module's.

use std::fmt::Display;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::auth::AuthError;
use crate::engine::history::{Resolved, RunRef};
use crate::engine::model::{Run, RunId, TaskName};
use crate::engine::pipeline::{ResumeError, TreeError};
use crate::engine::store::StoreError;
use crate::engine::{ServiceError, StopError, TriggerError};

/// A failed request, as it is answered.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// One sentence for the person who sent the request.
    pub detail: String,
    /// When to try again (429), as `Retry-After`.
    pub retry_after: Option<Duration>,
    /// A configuration's errors (422 to a reload), as the answer's `errors` member.
    pub config_errors: Vec<crate::api::ConfigProblem>,
}

impl ApiError {
    /// An answer with `status`; prefer the named constructors below.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
            config_errors: Vec::new(),
        }
    }

    /// 422: a configuration file with errors; every one is listed with its line, column and
    /// key.
    pub fn invalid_config(errors: &crate::engine::config::ConfigErrors) -> Self {
        let n = errors.0.len();
        let mut answer = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the configuration file has {n} error{}; nothing was reloaded",
                if n == 1 { "" } else { "s" }
            ),
        );
        answer.config_errors = errors
            .0
            .iter()
            .map(|e| crate::api::ConfigProblem {
                line: e.line,
                column: e.column,
                key: e.key_path.clone(),
                message: e.message.clone(),
            })
            .collect();
        answer
    }

    /// 400: the request itself is malformed (a name, an id, a query parameter, the body).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: the configuration forbids it.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404: the named thing does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 404 for a task or service name that names neither.
    pub fn no_task_or_service(name: &TaskName) -> Self {
        Self::not_found(format!(
            "there is no task or service named {:?}",
            name.as_str()
        ))
    }

    /// 404 for a run id no run has.
    pub fn no_run(id: RunId) -> Self {
        Self::not_found(format!("there is no run {id}"))
    }

    /// 409: the request conflicts with the state of what it names.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 415: the body is not of the type the route takes.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail)
    }

    /// 503: the daemon cannot take this now, but may shortly.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
    }

    /// 503 while the daemon stops.
    pub fn shutting_down() -> Self {
        Self::unavailable("the daemon is shutting down")
    }

    /// 500: logs `cause` with what was being done, and answers `sentence` (which names no
    /// path and no secret, and ends by pointing at daemon.log).
    pub fn internal(sentence: &'static str, cause: impl Display) -> Self {
        tracing::error!("{sentence}: {cause}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, sentence)
    }
}

/// The problem answer for `status` with `detail` (and a configuration's `errors`, if any).
fn problem(status: StatusCode, detail: &str, errors: &[crate::api::ConfigProblem]) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut body = json!({ "title": title, "status": status.as_u16(), "detail": detail });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    let text = body.to_string();
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem(self.status, &self.detail, &self.config_errors);
        if let Some(wait) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DiskFull => {
                tracing::error!("the run history failed a request: {e}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the disk holding the run history is full; free some space",
                )
            }
            e => Self::internal(
                "the run history could not be read or written; see daemon.log",
                e,
            ),
        }
    }
}

impl From<TriggerError> for ApiError {
    fn from(e: TriggerError) -> Self {
        match e {
            TriggerError::NotFound(n) => Self::not_found(format!("there is no task named {n:?}")),
            TriggerError::Forbidden => Self::forbidden("API triggering disabled for this task"),
            TriggerError::IsService(n) => Self::conflict(format!(
                "{n:?} is a service and is kept running; use POST /api/tasks/{n}/restart to restart it"
            )),
            TriggerError::BadEnv(_) => {
                Self::bad_request("a run's environment cannot be set through this route")
            }
            TriggerError::ShuttingDown => Self::shutting_down(),
            TriggerError::Store(e) => e.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(n) => Self::no_task_or_service(&n),
            ServiceError::IsTask(n) => Self::bad_request(format!(
                "{n:?} is a task; restart applies to services (use POST /api/tasks/{n}/run to start a task)"
            )),
            ServiceError::Forbidden(_) => {
                Self::forbidden("API triggering disabled for this service")
            }
            ServiceError::ShuttingDown => Self::shutting_down(),
        }
    }
}

impl From<ResumeError> for ApiError {
    fn from(e: ResumeError) -> Self {
        match e {
            ResumeError::NotFound(id) => Self::no_run(id),
            ResumeError::Trigger(e) => e.into(),
            ResumeError::Store(e) => e.into(),
            other => Self::conflict(other.to_string()),
        }
    }
}

impl From<TreeError> for ApiError {
    fn from(e: TreeError) -> Self {
        match e {
            TreeError::NotFound(id) => Self::no_run(id),
            TreeError::NotPipeline(..) => Self::bad_request(e.to_string()),
            TreeError::Store(e) => e.into(),
        }
    }
}

impl From<StopError> for ApiError {
    fn from(e: StopError) -> Self {
        match e {
            StopError::NotFound(id) => Self::no_run(id),
            StopError::AlreadyEnded(id) => Self::conflict(format!("run {id} has already ended")),
            StopError::NoSuchTask(n) => Self::no_task_or_service(&n),
            StopError::Store(e) => e.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidPassword | AuthError::InvalidChallenge | AuthError::InvalidToken => {
                Self::unauthorized(e.to_string())
            }
            AuthError::Throttled(wait) => Self {
                retry_after: Some(wait),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
            },
            AuthError::Random(_) => Self::internal(
                "the daemon cannot log anyone in right now; see daemon.log",
                e,
            ),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                default_detail(StatusCode::PAYLOAD_TOO_LARGE),
            ),
            status => Self::new(status, e.body_text()),
        }
    }
}

/// The one run a reference names: 409 listing the candidates when it names several, 404 when
/// none.
pub fn one_run(resolved: Resolved, wanted: &RunRef) -> Result<Run, ApiError> {
    if let Some(sentence) = resolved.ambiguity(wanted, "") {
        return Err(ApiError::conflict(sentence));
    }
    match resolved {
        Resolved::Found(run) => Ok(*run),
        _ => Err(ApiError::not_found(format!(
            "there is no run {}",
            wanted.what()
        ))),
    }
}

/// The detail of an error status produced outside the handlers.
pub fn default_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "there is no such route; see GET /api/openapi.json",
        StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not take that method; the Allow header lists the ones it takes"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than 1 MiB",
        StatusCode::REQUEST_TIMEOUT => {
            "the request took too long to arrive or to answer; try again"
        }
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "the request headers are larger than 64 KiB",
        StatusCode::SERVICE_UNAVAILABLE => "the daemon is busy; try again shortly",
        _ => "the request could not be handled",
    }
}

/// The answer for `status` alone, with its default detail.
pub fn bare(status: StatusCode) -> Response {
    problem(status, default_detail(status), &[])
}

/// Middleware: turns bare error statuses (404, 405, 413, timeouts, axum's own rejections) into
/// problems, keeping their other headers (`Allow`, the route's header policy).
pub async fn problemize(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !status.is_client_error() && !status.is_server_error() || is_problem {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut fresh = bare(status);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

/// The answer when a handler panicked: logged, and a 500 that says where to look.
pub fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!("a request handler panicked; answering 500");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the daemon failed to answer this request; see daemon.log",
        &[],
    )
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
