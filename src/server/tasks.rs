//! `/api/tasks…`: tasks and services as the interfaces show them, and the actions on them (run,
//! restart, stop).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::extract::{NameParam, OptionalJson};
use super::problem::Problem;
use super::AppState;
use crate::api::{LastRun, Replica, ServiceState, TaskList, TaskObject};
use crate::engine::model::{rfc3339, RunKind, TaskName, TriggeredBy};
use crate::engine::store;
use crate::engine::{ServiceError, StopError, TaskInfo, TriggerError, TriggerRequest};

fn describe(app: &AppState, info: &TaskInfo, last_run: Option<LastRun>) -> Option<TaskObject> {
    let config = app.engine.config();
    let active_runs: Vec<String> = info.active.iter().map(|id| id.to_string()).collect();
    let next_run_at = info.next.map(|t| rfc3339(t.as_millisecond()));
    Some(match info.kind {
        RunKind::Task => {
            let t = config.tasks.get(&info.name)?;
            TaskObject {
                name: info.name.to_string(),
                kind: RunKind::Task,
                group: t.common.group.clone(),
                description: t.common.description.clone(),
                cron: t.cron.as_ref().map(|c| c.expr().to_string()),
                schedule: t.cron.as_ref().map(|c| c.describe()),
                timezone: Some(t.timezone_name.clone()),
                next_run_at,
                api_trigger: t.common.api_trigger,
                max_concurrent: Some(t.max_concurrent),
                on_overlap: Some(t.on_overlap.as_str().to_string()),
                instances: None,
                active_runs,
                queued: info.queued,
                last_run,
                stopped: None,
                state: None,
                replicas: None,
            }
        }
        RunKind::Service => {
            let s = config.services.get(&info.name)?;
            let view = info.service.as_ref();
            TaskObject {
                name: info.name.to_string(),
                kind: RunKind::Service,
                group: s.common.group.clone(),
                description: s.common.description.clone(),
                cron: None,
                schedule: None,
                timezone: None,
                next_run_at: None,
                api_trigger: s.common.api_trigger,
                max_concurrent: None,
                on_overlap: None,
                instances: Some(s.instances),
                active_runs,
                queued: 0,
                last_run,
                stopped: Some(view.is_some_and(|v| v.stopped_by_operator)),
                state: view.map(|v| ServiceState::from(&v.state)),
                replicas: view.map(|v| {
                    v.replicas
                        .iter()
                        .zip(0u32..)
                        .map(|(r, index)| Replica {
                            index,
                            state: ServiceState::from(r),
                        })
                        .collect()
                }),
            }
        }
    })
}

/// The newest run of each task, as the task listing shows it.
async fn last_runs(
    app: &AppState,
    names: &[&TaskName],
) -> Result<HashMap<String, LastRun>, Problem> {
    let tasks: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let runs = store::blocking(app.engine.store_handle(), move |s| s.last_runs(&tasks)).await?;
    Ok(runs
        .into_iter()
        .map(|(task, r)| {
            let view = LastRun {
                id: r.id,
                status: r.status,
                end_reason: r.end_reason,
                exit_code: r.exit_code,
                start_at: r.start_at.map(rfc3339),
                end_at: r.end_at.map(rfc3339),
            };
            (task, view)
        })
        .collect())
}

pub async fn list(State(app): State<AppState>) -> Result<Response, Problem> {
    let infos = app.engine.tasks().await;
    let names: Vec<&TaskName> = infos.iter().map(|i| &i.name).collect();
    let mut last = last_runs(&app, &names).await?;
    let tasks = infos
        .iter()
        .filter_map(|info| describe(&app, info, last.remove(info.name.as_str())))
        .collect();
    Ok(axum::Json(TaskList { tasks }).into_response())
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
    let object = describe(&app, &info, last).ok_or_else(|| {
        Problem::not_found(format!(
            "there is no task or service named {:?}",
            name.as_str()
        ))
    })?;
    Ok(axum::Json(object).into_response())
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
    match app.engine.trigger(&name, TriggerRequest::by(by)).await {
        Ok(run) => Ok((StatusCode::CREATED, axum::Json(crate::api::RunObject::from(run))).into_response()),
        Err(TriggerError::NotFound(n)) => Err(Problem::not_found(format!("there is no task named {n:?}"))),
        Err(TriggerError::Forbidden) => Err(Problem::new(StatusCode::FORBIDDEN, "API triggering disabled for this task")),
        Err(TriggerError::IsService(n)) => Err(Problem::new(
            StatusCode::CONFLICT,
            format!("{n:?} is a service and is kept running; use POST /api/tasks/{n}/restart to restart it"),
        )),
        Err(TriggerError::BadEnv(_)) => Err(Problem::bad_request("a run's environment cannot be set through this route")),
        Err(TriggerError::ShuttingDown) => Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the daemon is shutting down")),
        Err(TriggerError::Store(e)) => Err(e.into()),
    }
}

pub async fn restart(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, Problem> {
    match app.engine.restart_service(name.as_str()).await {
        Ok(()) => Ok(axum::Json(crate::api::Restarted {
            restarted: name.to_string(),
        })
        .into_response()),
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
        Ok(stopped_runs) => {
            Ok(axum::Json(crate::api::StoppedRuns { stopped_runs }).into_response())
        }
        Err(StopError::NoSuchTask(n)) => Err(Problem::not_found(format!(
            "there is no task or service named {n:?}"
        ))),
        Err(StopError::Store(e)) => Err(e.into()),
        Err(e) => Err(Problem::bad_request(e.to_string())),
    }
}
