//! Login routes, and where a login's token is read from for the gate every non-public route
//! sits behind (`scope.rs`). A token comes from `Authorization: Bearer …`, or, for GET only,
//! from the `runwisp_jwt` cookie (so a browser's EventSource works while no cross-site form can
//! start a run). A request that came over the local socket from an admitted peer (marked
//! [`LocalPeer`] by the connection server) needs no token: the kernel vouched for its user.

use std::net::SocketAddr;

use crate::api::{AuthStatus, Challenge, Login, Token};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::extract::Json;
use super::local::LocalPeer;
use super::AppState;
use crate::engine::auth::{AuthError, TOKEN_TTL};

pub const COOKIE: &str = "runwisp_jwt";

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The token a request carries, if it is allowed to carry one that way.
pub(super) fn token<'h>(
    method: &Method,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, ApiError> {
    if let Some(t) = bearer(headers) {
        return Ok(Some(t));
    }
    match cookie(headers) {
        Some(t) if method == Method::GET || method == Method::HEAD => Ok(Some(t)),
        Some(_) => Err(ApiError::unauthorized(
            "a request that changes something must carry its token in the Authorization header; the cookie only authenticates GET",
        )),
        None => Ok(None),
    }
}

pub async fn status(
    State(app): State<AppState>,
    local: Option<axum::Extension<LocalPeer>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let authenticated = local.is_some()
        || matches!(token(&method, &headers), Ok(Some(t)) if app.engine.auth().verify(t).is_ok());
    axum::Json(AuthStatus {
        auth_required: true,
        authenticated,
    })
    .into_response()
}

pub async fn challenge(State(app): State<AppState>) -> Result<Response, ApiError> {
    let nonce = app.engine.auth().challenge()?;
    Ok(axum::Json(Challenge { nonce }).into_response())
}

pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    over_tls: Option<axum::Extension<super::tls::OverTls>>,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let refused = match app
        .engine
        .auth()
        .login(&body.nonce, &body.response, peer.ip())
    {
        Ok(token) => {
            let secure = if over_tls.is_some() { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                TOKEN_TTL.as_secs()
            );
            let mut response = axum::Json(Token { token }).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return Ok(response);
        }
        Err(e) => e,
    };
    match &refused {
        AuthError::Throttled(_) => {
            tracing::warn!(peer = %peer.ip(), "login throttled after repeated failures");
        }
        AuthError::InvalidPassword | AuthError::InvalidChallenge => {
            tracing::info!(peer = %peer.ip(), "failed login: {refused}");
        }
        _ => {}
    }
    Err(refused.into())
}
