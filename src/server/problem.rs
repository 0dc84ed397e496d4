//! Errors as `application/problem+json` (`{"title", "status", "detail"}`), with a one-sentence
//! detail a person can act on and never a secret or a debug dump.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::store::StoreError;

/// An API error.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
}

/// The problem body for `status`.
pub fn body(status: StatusCode, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let text = json!({ "title": title, "status": status.as_u16(), "detail": detail }).to_string();
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        body(self.status, &self.detail)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!("the run history failed a request: {e}");
        let detail = match e {
            StoreError::DiskFull => "the disk holding the run history is full; free some space",
            _ => "the run history could not be read or written; see daemon.log",
        };
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }
}

/// The generic detail for error statuses produced outside the handlers (404, 405, 413, …).
pub fn default_detail(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "there is no such route; see GET /api/openapi.json",
        StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not take that method; the Allow header lists the ones it takes"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than 1 MiB",
        StatusCode::REQUEST_TIMEOUT => "the request took too long to arrive",
        StatusCode::SERVICE_UNAVAILABLE => "the daemon is busy; try again shortly",
        _ => "the request could not be handled",
    }
}
