//! What is known of a run when it is created ([`NewRun`]), and how its row reads until it
//! starts or once it was refused.

use super::WebhookDelivery;
use crate::engine::model::{EndReason, Run, RunId, RunKind, RunStatus, TaskName, TriggeredBy};

/// What is known of a run when it is created.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: RunId,
    pub task_name: TaskName,
    pub kind: RunKind,
    pub triggered_by: TriggeredBy,
    pub scheduled_for: Option<i64>,
    pub created_at: i64,
    pub retry_attempt: u32,
    pub retry_of_run_id: Option<RunId>,
    pub replica_index: Option<u32>,
    /// The pipeline run this run is a step of, and the step's name.
    pub parent: Option<(RunId, String)>,
    /// The webhook delivery that started it, recorded with it.
    pub webhook: Option<std::sync::Arc<WebhookDelivery>>,
    /// The pipeline run this one resumes.
    pub resume_of: Option<RunId>,
}

impl NewRun {
    /// A first run of `task` (no retry, replica or parent), created at `created_at`.
    pub fn new(task: TaskName, kind: RunKind, by: TriggeredBy, created_at: i64) -> Self {
        Self {
            id: RunId::new(),
            task_name: task,
            kind,
            triggered_by: by,
            scheduled_for: None,
            created_at,
            retry_attempt: 0,
            retry_of_run_id: None,
            replica_index: None,
            parent: None,
            webhook: None,
            resume_of: None,
        }
    }

    /// The run as its row reads until it starts: what [`Store::insert_run`] wrote, nothing
    /// else set.
    pub fn as_pending(&self) -> Run {
        Run {
            id: self.id,
            task_name: self.task_name.clone(),
            kind: self.kind,
            status: RunStatus::Pending,
            end_reason: None,
            exit_code: None,
            triggered_by: self.triggered_by,
            scheduled_for: self.scheduled_for,
            created_at: self.created_at,
            start_at: None,
            end_at: None,
            retry_attempt: self.retry_attempt,
            retry_of_run_id: self.retry_of_run_id,
            replica_index: self.replica_index,
            message: None,
            pid: None,
            pgid: None,
            pid_start_time: None,
            parent_run_id: self.parent.as_ref().map(|(id, _)| *id),
            step: self.parent.as_ref().map(|(_, step)| step.clone()),
            resume_of_run_id: self.resume_of,
        }
    }

    /// The run as its row reads once it was refused without starting (`skipped`,
    /// `queue_full`, a shutdown): ended at `end_at` with exit code -1 and `message`, as
    /// [`Store::finish_run`] writes it.
    ///
    /// [`Store::finish_run`]: crate::engine::store::Store::finish_run
    pub fn as_refused(&self, reason: EndReason, end_at: i64, message: String) -> Run {
        Run {
            status: RunStatus::Ended,
            end_reason: Some(reason),
            exit_code: Some(-1),
            end_at: Some(end_at),
            message: Some(message),
            ..self.as_pending()
        }
    }
}
