//! `/api/tasks…`: tasks and services as the interfaces show them, and the actions on them (run,
//! restart, stop).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::extract::{NameParam, OptionalJson};
use super::problem::Problem;
use super::AppState;
use crate::engine::model::{rfc3339, RunKind, TaskName, TriggeredBy};
use crate::engine::store;
use crate::engine::{ReplicaState, ServiceError, StopError, TaskInfo, TriggerError};

fn describe(app: &AppState, info: &TaskInfo, last: Option<Value>) -> Value {
    let config = app.engine.config();
    let active: Vec<String> = info.active.iter().map(|id| id.to_string()).collect();
    let next = info.next.map(|t| rfc3339(t.as_millisecond()));
    match info.kind {
        RunKind::Task => {
            let Some(t) = config.tasks.get(&info.name) else {
                return Value::Null;
            };
            json!({
                "name": info.name, "kind": "task", "group": t.common.group, "description": t.common.description,
                "cron": t.cron.as_ref().map(|c| c.expr()), "schedule": t.cron.as_ref().map(|c| c.describe()),
                "timezone": t.timezone_name, "next_run_at": next,
                "api_trigger": t.common.api_trigger, "max_concurrent": t.max_concurrent,
                "on_overlap": t.on_overlap.as_str(), "instances": null, "active_runs": active,
                "queued": info.queued, "last_run": last,
            })
        }
        RunKind::Service => {
            let Some(s) = config.services.get(&info.name) else {
                return Value::Null;
            };
            json!({
                "name": info.name, "kind": "service", "group": s.common.group, "description": s.common.description,
                "cron": null, "schedule": null, "timezone": null, "next_run_at": null, "api_trigger": s.common.api_trigger,
                "max_concurrent": null, "on_overlap": null, "instances": s.instances, "active_runs": active,
                "queued": 0, "last_run": last, "stopped": info.service.as_ref().is_some_and(|v| v.stopped_by_operator),
                "state": info.service.as_ref().map(|v| replica_json(None, &v.state)),
                "replicas": info.service.as_ref().map(|v| v.replicas.iter().enumerate()
                    .map(|(i, r)| replica_json(Some(i), r)).collect::<Vec<_>>()),
            })
        }
    }
}

/// What a service (or one replica, with its index) is doing: `state` (`starting`, `running`,
/// `backoff`, `stopped`), with `run_id` when running and `next_attempt_at` and `attempt` in
/// back-off.
fn replica_json(index: Option<usize>, state: &ReplicaState) -> Value {
    let mut v = match state {
        ReplicaState::Starting => json!({ "state": "starting" }),
        ReplicaState::Running { run } => json!({ "state": "running", "run_id": run.to_string() }),
        ReplicaState::Backoff {
            next_attempt_at,
            attempt,
        } => {
            json!({ "state": "backoff", "next_attempt_at": rfc3339(next_attempt_at.as_millisecond()), "attempt": attempt })
        }
        ReplicaState::Stopped => json!({ "state": "stopped" }),
    };
    if let (Some(i), Some(map)) = (index, v.as_object_mut()) {
        map.insert("index".into(), json!(i));
    }
    v
}

/// The newest run of each task, as the task listing shows it.
async fn last_runs(app: &AppState, names: &[&TaskName]) -> Result<HashMap<String, Value>, Problem> {
    let tasks: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let runs = store::blocking(app.engine.store_handle(), move |s| s.last_runs(&tasks)).await?;
    Ok(runs
        .into_iter()
        .map(|(task, r)| {
            let view = json!({ "id": r.id, "status": r.status, "end_reason": r.end_reason, "exit_code": r.exit_code,
                               "start_at": r.start_at.map(rfc3339), "end_at": r.end_at.map(rfc3339) });
            (task, view)
        })
        .collect())
}

pub async fn list(State(app): State<AppState>) -> Result<Response, Problem> {
    let infos = app.engine.tasks().await;
    let names: Vec<&TaskName> = infos.iter().map(|i| &i.name).collect();
    let mut last = last_runs(&app, &names).await?;
    let out: Vec<Value> = infos
        .iter()
        .map(|info| describe(&app, info, last.remove(info.name.as_str())))
        .collect();
    Ok(axum::Json(json!({ "tasks": out })).into_response())
}

pub async fn one(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, Problem> {
    let info = app
        .engine
        .tasks()
        .await
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            Problem::not_found(format!(
                "there is no task or service named {:?}",
                name.as_str()
            ))
        })?;
    let last = last_runs(&app, &[&name]).await?.remove(name.as_str());
    Ok(axum::Json(describe(&app, &info, last)).into_response())
}

/// The optional body of a trigger: which interface asked (recorded as `triggered_by`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerBody {
    triggered_by: Option<String>,
}

pub async fn run(
    State(app): State<AppState>,
    NameParam(name): NameParam,
    OptionalJson(body): OptionalJson<TriggerBody>,
) -> Result<Response, Problem> {
    let by = match body.and_then(|b| b.triggered_by).as_deref() {
        None => TriggeredBy::Api,
        Some(text) => text
            .parse::<TriggeredBy>()
            .ok()
            .filter(|by| TriggeredBy::INTERFACES.contains(by))
            .ok_or_else(|| {
                let known: Vec<String> = TriggeredBy::INTERFACES
                    .iter()
                    .map(|by| format!("{:?}", by.as_str()))
                    .collect();
                Problem::bad_request(format!(
                    "`triggered_by` must be one of {}, not {:?}",
                    known.join(", "),
                    crate::engine::model::truncate_for_message(text)
                ))
            })?,
    };
    match app.engine.trigger(name.as_str(), by).await {
        Ok(run) => Ok((StatusCode::CREATED, axum::Json(run)).into_response()),
        Err(TriggerError::NotFound(n)) => Err(Problem::not_found(format!("there is no task named {n:?}"))),
        Err(TriggerError::Forbidden) => Err(Problem::new(StatusCode::FORBIDDEN, "API triggering disabled for this task")),
        Err(TriggerError::IsService(n)) => Err(Problem::new(
            StatusCode::CONFLICT,
            format!("{n:?} is a service and is kept running; use POST /api/tasks/{n}/restart to restart it"),
        )),
        Err(TriggerError::ShuttingDown) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the daemon is shutting down")),
        Err(TriggerError::Store(e)) => Err(e.into()),
    }
}

pub async fn restart(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, Problem> {
    match app.engine.restart_service(name.as_str()).await {
        Ok(()) => Ok(axum::Json(json!({ "restarted": name })).into_response()),
        Err(ServiceError::IsTask(n)) => Err(Problem::bad_request(format!(
            "{n:?} is a task; restart applies to services (use POST /api/tasks/{n}/run to start a task)"
        ))),
        Err(ServiceError::NotFound(n)) => Err(Problem::not_found(format!(
            "there is no task or service named {n:?}"
        ))),
        Err(ServiceError::ShuttingDown) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is shutting down",
        )),
        Err(ServiceError::Forbidden(_)) => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "API triggering disabled for this service",
        )),
    }
}

pub async fn stop(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, Problem> {
    match app.engine.stop_task(name.as_str()).await {
        Ok(stopped) => Ok(axum::Json(json!({ "stopped_runs": stopped })).into_response()),
        Err(StopError::NoSuchTask(n)) => Err(Problem::not_found(format!(
            "there is no task or service named {n:?}"
        ))),
        Err(StopError::Store(e)) => Err(e.into()),
        Err(e) => Err(Problem::bad_request(e.to_string())),
    }
}
