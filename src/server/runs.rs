//! `/api/runs…` and `/api/tasks/{name}/runs`: run history, one run (by its id, or by a unique
//! prefix or suffix of at least 4 characters: 409 listing the candidates when several match),
//! and stopping a run.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::{self, ApiError};
use super::extract::{only_params, param, NameParam, RunIdParam, RunRefParam};
use super::AppState;
use crate::api::{RunObject, RunPage};
use crate::engine::history::{RunQuery, MAX_PAGE};
use crate::engine::model::{truncate_for_message, RunId, TaskName};

const FILTERS: &[&str] = &[
    "task",
    "status",
    "end_reason",
    "triggered_by",
    "limit",
    "before",
];

/// Parses the documented filters; an unknown parameter is an error, not silently ignored.
fn query(params: &HashMap<String, String>) -> Result<RunQuery, ApiError> {
    only_params(params, FILTERS)?;
    let limit: Option<u32> = param(params, "limit")?;
    if limit.is_some_and(|l| l == 0 || l > MAX_PAGE) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_PAGE}"
        )));
    }
    let task = match params.get("task") {
        Some(raw) => Some(TaskName::parse(raw).map_err(|e| {
            ApiError::bad_request(format!(
                "{:?} is not a valid task name: {e}",
                truncate_for_message(raw)
            ))
        })?),
        None => None,
    };
    let before = match params.get("before") {
        Some(raw) => Some(RunId::parse(raw).map_err(ApiError::bad_request)?),
        None => None,
    };
    Ok(RunQuery {
        task,
        status: param(params, "status")?,
        end_reason: param(params, "end_reason")?,
        triggered_by: param(params, "triggered_by")?,
        before,
        limit,
    })
}

async fn page(app: &AppState, q: RunQuery) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(50) as usize;
    let runs = app.engine.runs(q).await?;
    let next_before = (runs.len() == limit)
        .then(|| runs.last().map(|r| r.id.to_string()))
        .flatten();
    let page = RunPage {
        runs: runs.iter().map(RunObject::from).collect(),
        next_before,
    };
    Ok(axum::Json(page).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    page(&app, query(&params)?).await
}

pub async fn of_task(
    State(app): State<AppState>,
    NameParam(name): NameParam,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let known = app.engine.config().tasks.contains_key(&name)
        || app.engine.config().services.contains_key(&name);
    if !known {
        return Err(ApiError::no_task_or_service(&name));
    }
    params.insert("task".into(), name.to_string());
    page(&app, query(&params)?).await
}

pub async fn one(
    State(app): State<AppState>,
    RunRefParam(wanted): RunRefParam,
) -> Result<Response, ApiError> {
    let resolved = app.engine.resolve_run(wanted.clone()).await?;
    let run = errors::one_run(resolved, &wanted)?;
    let webhook = app.engine.webhook_of(&run).await?;
    let mut object = RunObject::from(run);
    object.webhook = webhook.map(Into::into);
    Ok(axum::Json(object).into_response())
}

pub async fn stop(
    State(app): State<AppState>,
    RunIdParam(id): RunIdParam,
) -> Result<Response, ApiError> {
    app.engine.stop_run(id).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(crate::api::Stopping {
            stopping: id.to_string(),
        }),
    )
        .into_response())
}

/// `GET /api/runs/{id}/tree`: a pipeline run with its steps.
pub async fn tree(
    State(app): State<AppState>,
    RunRefParam(wanted): RunRefParam,
) -> Result<Response, ApiError> {
    let resolved = app.engine.resolve_run(wanted.clone()).await?;
    let run = errors::one_run(resolved, &wanted)?;
    let tree = app.engine.run_tree(run.id).await?;
    Ok(axum::Json(crate::api::RunTree::from(&tree)).into_response())
}

/// `POST /api/runs/{id}/resume`: a new pipeline run that skips the steps this one finished.
pub async fn resume(
    State(app): State<AppState>,
    RunRefParam(wanted): RunRefParam,
) -> Result<Response, ApiError> {
    let resolved = app.engine.resolve_run(wanted.clone()).await?;
    let run = errors::one_run(resolved, &wanted)?;
    let new = app.engine.resume(run.id).await?;
    Ok((StatusCode::CREATED, axum::Json(RunObject::from(new))).into_response())
}
