//! `/api/tasks…`: tasks and services as the interfaces show them, and the actions on them (run,
//! restart, stop).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::extract::{NameParam, OptionalJson};
use super::AppState;
use crate::api::{LastRun, PipelineStep, Replica, ServiceState, TaskList, TaskObject};
use crate::engine::config::units::format_duration;
use crate::engine::model::{rfc3339, RunKind, TaskName, TriggeredBy};
use crate::engine::{TaskInfo, TriggerRequest};

fn describe(app: &AppState, info: &TaskInfo, last_run: Option<LastRun>) -> Option<TaskObject> {
    let config = app.engine.config();
    let active_runs: Vec<String> = info.active.iter().map(|id| id.to_string()).collect();
    let next_run_at = info.next.map(|t| rfc3339(t.as_millisecond()));
    Some(match info.kind {
        RunKind::Task | RunKind::Pipeline => {
            let t = config.tasks.get(&info.name)?;
            TaskObject {
                name: info.name.to_string(),
                kind: info.kind,
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
                steps: t.pipeline.as_deref().map(PipelineStep::list),
                retry_attempts: Some(t.retry_attempts),
                retry_delay: Some(format_duration(t.retry_delay)),
                retry_backoff: Some(t.retry_backoff.as_str().to_string()),
                timeout: t.timeout.map(format_duration),
                notify_on_failure: t.common.notify_on_failure.clone(),
                notify_on_success: t.common.notify_on_success.clone(),
                next_runs: None,
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
                steps: None,
                retry_attempts: None,
                retry_delay: None,
                retry_backoff: None,
                timeout: None,
                notify_on_failure: s.common.notify_on_failure.clone(),
                notify_on_success: s.common.notify_on_success.clone(),
                next_runs: None,
            }
        }
    })
}

/// The newest run of each task, as the task listing shows it.
async fn last_runs(
    app: &AppState,
    names: &[&TaskName],
) -> Result<HashMap<TaskName, LastRun>, ApiError> {
    let tasks: Vec<TaskName> = names.iter().map(|n| (*n).clone()).collect();
    let runs = app.engine.last_runs(tasks).await?;
    Ok(runs
        .into_iter()
        .map(|(task, r)| (task, LastRun::from(&r)))
        .collect())
}

/// How many upcoming firings a task's own page lists.
const UPCOMING: usize = 5;

/// The next firings of a scheduled task: its next one, then those after it.
fn next_runs(app: &AppState, info: &TaskInfo) -> Option<Vec<String>> {
    let config = app.engine.config();
    let task = config.tasks.get(&info.name)?;
    let cron = task.cron.as_ref()?;
    let first = info.next?;
    let later = cron.upcoming(first, &task.timezone, UPCOMING - 1);
    Some(
        std::iter::once(first)
            .chain(later)
            .map(|t| rfc3339(t.as_millisecond()))
            .collect(),
    )
}

pub async fn list(State(app): State<AppState>) -> Result<Response, ApiError> {
    let infos = app.engine.tasks().await;
    let names: Vec<&TaskName> = infos.iter().map(|i| &i.name).collect();
    let mut last = last_runs(&app, &names).await?;
    let tasks = infos
        .iter()
        .filter_map(|info| describe(&app, info, last.remove(&info.name)))
        .collect();
    Ok(axum::Json(TaskList { tasks }).into_response())
}

pub async fn one(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, ApiError> {
    let info = app
        .engine
        .tasks()
        .await
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ApiError::no_task_or_service(&name))?;
    let last = last_runs(&app, &[&name]).await?.remove(&name);
    let mut object =
        describe(&app, &info, last).ok_or_else(|| ApiError::no_task_or_service(&name))?;
    object.next_runs = next_runs(&app, &info);
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
) -> Result<Response, ApiError> {
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
                ApiError::bad_request(format!(
                    "`triggered_by` must be one of {}, not {:?}",
                    known.join(", "),
                    crate::engine::model::truncate_for_message(text)
                ))
            })?,
    };
    let run = app.engine.trigger(&name, TriggerRequest::by(by)).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(crate::api::RunObject::from(run)),
    )
        .into_response())
}

pub async fn restart(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, ApiError> {
    app.engine.restart_service(&name).await?;
    Ok(axum::Json(crate::api::Restarted {
        restarted: name.to_string(),
    })
    .into_response())
}

pub async fn stop(
    State(app): State<AppState>,
    NameParam(name): NameParam,
) -> Result<Response, ApiError> {
    let stopped_runs = app.engine.stop_task(&name).await?;
    Ok(axum::Json(crate::api::StoppedRuns { stopped_runs }).into_response())
}
