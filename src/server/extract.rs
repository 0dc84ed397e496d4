//! Extractors that turn bad input into the documented status before a handler runs: JSON bodies
//! (415 for a wrong content type, 400 naming the problem), path parameters validated as names,
//! run ids or parts of run ids, notification and notifier ids before any lookup or file access,
//! and query parameters (an unknown one is refused).

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::errors::ApiError;
use crate::engine::history::RunRef;
use crate::engine::model::{truncate_for_message, RunId, TaskName};

/// A JSON body; the content type must be `application/json`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::unsupported_media_type(
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(ApiError::from)?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request(format!("the JSON body is malformed: {e}")))
    }
}

/// An optional JSON body: absent (no bytes) is `None`; present, it must be JSON.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let declared_empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if declared_empty
            || (!has_type
                && !req.headers().contains_key(header::TRANSFER_ENCODING)
                && !req.headers().contains_key(header::CONTENT_LENGTH))
        {
            return Ok(OptionalJson(None));
        }
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| OptionalJson(Some(v)))
    }
}

/// A `{name}` path parameter that is a valid task or service name.
pub struct NameParam(pub TaskName);

impl<S: Send + Sync> FromRequestParts<S> for NameParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path is missing a task name"))?;
        TaskName::parse(&raw).map(NameParam).map_err(|e| {
            ApiError::bad_request(format!(
                "{:?} is not a valid task name: {e}",
                truncate_for_message(&raw)
            ))
        })
    }
}

/// An `{id}` path parameter that is a valid run id.
pub struct RunIdParam(pub RunId);

impl<S: Send + Sync> FromRequestParts<S> for RunIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path is missing a run id"))?;
        RunId::parse(&raw)
            .map(RunIdParam)
            .map_err(ApiError::bad_request)
    }
}

/// An `{id}` path parameter that is a run id or a prefix or suffix of one (at least 4 letters
/// and digits), checked by [`RunRef::parse`] before any lookup.
pub struct RunRefParam(pub RunRef);

impl<S: Send + Sync> FromRequestParts<S> for RunRefParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path is missing a run id"))?;
        RunRef::parse(&raw)
            .map(RunRefParam)
            .map_err(ApiError::bad_request)
    }
}

/// Checks a user-supplied notification id: a ULID (26 characters of Crockford's base 32),
/// returned in its canonical (upper-case) spelling, as the store keeps it.
pub fn notification_id(raw: &str) -> Result<String, ApiError> {
    if raw.len() != 26 {
        return Err(ApiError::bad_request(format!(
            "{:?} is not a notification id (an id is a ULID of 26 characters, like 01J9ZK8Q4V6T3M2N1P0R5S7W8X)",
            truncate_for_message(raw)
        )));
    }
    ulid::Ulid::from_string(raw)
        .map(|id| id.to_string())
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{raw:?} is not a notification id (notification ids are ULIDs)"
            ))
        })
}

/// An `{id}` path parameter that is a valid notification id (see [`notification_id`]).
pub struct NotificationIdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for NotificationIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path is missing a notification id"))?;
        notification_id(&raw).map(NotificationIdParam)
    }
}

/// The longest notifier id the configuration accepts.
const MAX_NOTIFIER_ID: usize = 100;

/// An `{id}` path parameter that is a well-formed notifier id (ASCII letters, digits, `-` and
/// `_`, at most 100 characters), as `[[notifier]]` ids are.
pub struct NotifierIdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for NotifierIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("the path is missing a notifier id"))?;
        let well_formed = !raw.is_empty()
            && raw.len() <= MAX_NOTIFIER_ID
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !well_formed {
            return Err(ApiError::bad_request(format!(
                "{:?} is not a notifier id (ids are ASCII letters, digits, '-' and '_', at most {MAX_NOTIFIER_ID} characters)",
                truncate_for_message(&raw)
            )));
        }
        Ok(NotifierIdParam(raw))
    }
}

/// Refuses a query parameter the route does not document, naming the ones it does.
pub fn only_params(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::bad_request(format!(
            "unknown query parameter `{}`; use {}",
            truncate_for_message(unknown),
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// A query parameter parsed as `T`; `None` when absent, 400 naming it when malformed.
pub fn param<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match params.get(key) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter `{key}` has an invalid value {:?}",
                truncate_for_message(raw)
            ))
        }),
    }
}
