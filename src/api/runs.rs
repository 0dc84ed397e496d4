//! A run on the wire: the run object of every answer and stream event that carries one
//! (`GET /api/runs…`, the trigger's 201, the `done` event of a log stream, the run-changes
//! stream), and the page of runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::model::{rfc3339, EndReason, Run, RunKind, RunStatus, TriggeredBy};

/// One execution of a task or a service replica. Times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunObject {
    pub id: String,
    pub task_name: String,
    pub kind: RunKind,
    pub status: RunStatus,
    /// Null while the run has not ended.
    pub end_reason: Option<EndReason>,
    /// Null while running; -1 when it never started, -2 when it crashed.
    pub exit_code: Option<i32>,
    pub triggered_by: TriggeredBy,
    /// The instant a cron or catch-up firing was for.
    pub scheduled_for: Option<String>,
    pub created_at: String,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub retry_attempt: u32,
    pub retry_of_run_id: Option<String>,
    pub replica_index: Option<u32>,
    /// Why it ended as it did, when runwisp has something to say.
    pub message: Option<String>,
    /// For a run a webhook started: what the delivery said (given by `GET /api/runs/{id}`;
    /// null in lists and stream events).
    #[serde(default)]
    pub webhook: Option<crate::api::WebhookInfo>,
    /// For a step of a pipeline: the pipeline's run and the step's position (`"3"`, `"4.2"`).
    #[serde(default)]
    pub parent_run_id: Option<String>,
    #[serde(default)]
    pub step: Option<String>,
    /// For a pipeline run that resumes another: that run.
    #[serde(default)]
    pub resume_of_run_id: Option<String>,
}

impl RunObject {
    /// Whether the run has ended.
    pub fn ended(&self) -> bool {
        self.status == RunStatus::Ended
    }
}

impl From<&Run> for RunObject {
    fn from(run: &Run) -> Self {
        let time = |ms: Option<i64>| ms.map(rfc3339);
        Self {
            id: run.id.to_string(),
            task_name: run.task_name.to_string(),
            kind: run.kind,
            status: run.status,
            end_reason: run.end_reason,
            exit_code: run.exit_code,
            triggered_by: run.triggered_by,
            scheduled_for: time(run.scheduled_for),
            created_at: rfc3339(run.created_at),
            start_at: time(run.start_at),
            end_at: time(run.end_at),
            duration_ms: run.duration_ms(),
            retry_attempt: run.retry_attempt,
            retry_of_run_id: run.retry_of_run_id.map(|id| id.to_string()),
            replica_index: run.replica_index,
            message: run.message.clone(),
            webhook: None,
            parent_run_id: run.parent_run_id.map(|id| id.to_string()),
            step: run.step.clone(),
            resume_of_run_id: run.resume_of_run_id.map(|id| id.to_string()),
        }
    }
}

impl From<Run> for RunObject {
    fn from(run: Run) -> Self {
        Self::from(&run)
    }
}

/// `GET /api/runs` and `GET /api/tasks/{name}/runs`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunPage {
    pub runs: Vec<RunObject>,
    /// The `before` that continues with older runs, or null at the end.
    pub next_before: Option<String>,
}
