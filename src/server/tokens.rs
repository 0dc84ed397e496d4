//! `/api/tokens`: list, create and revoke scoped tokens (`webhooks.md` §2). Full login only (the
//! route table gives a scoped token no scope here). A token's text is answered once, by the
//! create; it is never logged.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::extract::Json;
use super::AppState;
use crate::api::{CreateToken, CreatedToken, Revoked, TokenList, TokenObject};
use crate::engine::auth::tokens::{NewToken, TokenError, TokenName, TokenScope};
use crate::engine::model::{truncate_for_message, TaskName};

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Store(e) => e.into(),
            TokenError::Random(_) => {
                ApiError::internal("a token could not be made; see daemon.log", e)
            }
            TokenError::NameTaken(_) => ApiError::conflict(e.to_string()),
            TokenError::NoSuchToken(_) => ApiError::not_found(e.to_string()),
            TokenError::BadName(_)
            | TokenError::NoScope
            | TokenError::ReadWithoutTasks
            | TokenError::UnknownTask(_)
            | TokenError::BadExpiry => ApiError::bad_request(e.to_string()),
        }
    }
}

pub async fn list(State(app): State<AppState>) -> Result<Response, ApiError> {
    let tokens = app.engine.tokens().await?;
    let list = TokenList {
        tokens: tokens.into_iter().map(TokenObject::from).collect(),
    };
    Ok(axum::Json(list).into_response())
}

pub async fn create(
    State(app): State<AppState>,
    Json(body): Json<CreateToken>,
) -> Result<Response, ApiError> {
    let name = TokenName::parse(&body.name)?;
    let tasks = body
        .tasks
        .iter()
        .map(|t| {
            TaskName::parse(t).map_err(|e| {
                ApiError::bad_request(format!(
                    "{:?} is not a valid task name: {e}",
                    truncate_for_message(t)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewToken {
        name,
        scope: TokenScope {
            tasks,
            trigger: !body.read_only,
            metrics: body.metrics,
        },
        expires_in: body.expires_in_s.map(Duration::from_secs),
    };
    let (token, about) = app.engine.create_token(new).await?;
    tracing::info!(token = %about.name, "a scoped token was created");
    let created = CreatedToken {
        token,
        about: about.into(),
    };
    Ok((StatusCode::CREATED, axum::Json(created)).into_response())
}

pub async fn revoke(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = TokenName::parse(&name)?;
    app.engine.revoke_token(name.clone()).await?;
    tracing::info!(token = %name, "a scoped token was revoked");
    Ok(axum::Json(Revoked {
        revoked: name.to_string(),
    })
    .into_response())
}
