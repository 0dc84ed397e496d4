//! Tasks and services on the wire (`GET /api/tasks`, `GET /api/tasks/{name}`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::model::{rfc3339, EndReason, Run, RunKind, RunStatus};
use crate::engine::ReplicaState;

/// What a service, or one of its replicas, is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ServiceState {
    /// Recording its run and starting its process.
    Starting,
    /// Running as run `run_id` since `since` (its uptime); `restarts` counts the times the
    /// replica's process was started again since the daemon (or a reload) started it.
    Running {
        run_id: String,
        /// Null from a daemon older than these fields.
        #[serde(default)]
        since: Option<String>,
        #[serde(default)]
        restarts: u32,
    },
    /// Exited; the next attempt (number `attempt`) starts at `next_attempt_at`.
    Backoff {
        next_attempt_at: String,
        attempt: u32,
    },
    /// Not running (an operator stopped it, or the daemon is stopping).
    Stopped,
}

impl From<&ReplicaState> for ServiceState {
    fn from(state: &ReplicaState) -> Self {
        match state {
            ReplicaState::Starting => Self::Starting,
            ReplicaState::Running {
                run,
                since,
                restarts,
            } => Self::Running {
                run_id: run.to_string(),
                since: Some(rfc3339(since.as_millisecond())),
                restarts: *restarts,
            },
            ReplicaState::Backoff {
                next_attempt_at,
                attempt,
            } => Self::Backoff {
                next_attempt_at: rfc3339(next_attempt_at.as_millisecond()),
                attempt: *attempt,
            },
            ReplicaState::Stopped => Self::Stopped,
        }
    }
}

/// One replica of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Replica {
    pub index: u32,
    #[serde(flatten)]
    pub state: ServiceState,
}

/// The newest run of a task, in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LastRun {
    pub id: String,
    pub status: RunStatus,
    pub end_reason: Option<EndReason>,
    pub exit_code: Option<i32>,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
}

impl From<&Run> for LastRun {
    fn from(r: &Run) -> Self {
        LastRun {
            id: r.id.to_string(),
            status: r.status,
            end_reason: r.end_reason,
            exit_code: r.exit_code,
            start_at: r.start_at.map(rfc3339),
            end_at: r.end_at.map(rfc3339),
        }
    }
}

/// A task or a service. Fields that do not apply to its kind are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskObject {
    pub name: String,
    pub kind: RunKind,
    pub group: String,
    pub description: String,
    /// The schedule as written (tasks).
    pub cron: Option<String>,
    /// The schedule in words (tasks).
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub next_run_at: Option<String>,
    pub api_trigger: bool,
    pub max_concurrent: Option<u32>,
    pub on_overlap: Option<String>,
    /// Replicas (services).
    pub instances: Option<u32>,
    pub active_runs: Vec<String>,
    pub queued: usize,
    pub last_run: Option<LastRun>,
    /// Services: whether an operator stopped it (it stays stopped until restarted).
    pub stopped: Option<bool>,
    /// Services: what the service as a whole is doing.
    #[serde(default)]
    pub state: Option<ServiceState>,
    /// Services: each replica.
    #[serde(default)]
    pub replicas: Option<Vec<Replica>>,
    /// Pipelines: each step, parallel members included, in order.
    #[serde(default)]
    pub steps: Option<Vec<crate::api::PipelineStep>>,
    /// Tasks and pipelines: the retries of a failed run (0: none), the wait before the first
    /// (`"30s"`) and how it grows (`constant`, `linear`, `exponential`).
    #[serde(default)]
    pub retry_attempts: Option<u32>,
    #[serde(default)]
    pub retry_delay: Option<String>,
    #[serde(default)]
    pub retry_backoff: Option<String>,
    /// Tasks and pipelines: how long a run may take (`"1h"`), null for no limit.
    #[serde(default)]
    pub timeout: Option<String>,
    /// The notifiers the task itself names for a failure and for a success (routes of
    /// `[[notification_route]]` may add others).
    #[serde(default)]
    pub notify_on_failure: Vec<String>,
    #[serde(default)]
    pub notify_on_success: Vec<String>,
    /// Scheduled tasks and pipelines, `GET /api/tasks/{name}` only: the next 5 firings (the
    /// first is `next_run_at`). Null in the list, which stays cheap for a thousand tasks.
    #[serde(default)]
    pub next_runs: Option<Vec<String>>,
}

/// `GET /api/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskObject>,
}
