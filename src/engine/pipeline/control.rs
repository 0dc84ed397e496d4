//! What the interfaces ask of pipeline runs: resume one (`runwisp resume`, `POST
//! /api/runs/{id}/resume`, `resume_on_boot`) and read one as a tree.

use std::sync::Arc;

use super::tree::{self, TreeView};
use crate::engine::model::{EndReason, Run, RunId, RunKind, RunStatus, TaskName, TriggeredBy};
use crate::engine::store::{self, StoreError};
use crate::engine::tasks::{fire_detached, Firing, TriggerError};
use crate::engine::Engine;

/// Why a run cannot be resumed; each is a conflict with the run's state but `NotFound`.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("there is no run {0}")]
    NotFound(RunId),
    #[error("run {0} is a run of {1:?}, not of a pipeline; only pipeline runs can be resumed")]
    NotPipeline(RunId, TaskName),
    #[error("run {0} is a step of pipeline run {1}; resume that run instead")]
    IsStep(RunId, RunId),
    #[error("run {0} has not ended yet")]
    NotEnded(RunId),
    #[error("run {0} ended {1}; only a run that ended failed, timeout, interrupted or crashed can be resumed")]
    NotResumable(RunId, EndReason),
    #[error(
        "run {0} was already resumed by run {1}; only the latest run of a chain can be resumed"
    )]
    AlreadyResumed(RunId, RunId),
    #[error("pipeline {0:?} is no longer in the configuration")]
    Gone(TaskName),
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a run has no tree.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("there is no run {0}")]
    NotFound(RunId),
    #[error("run {0} is a run of {1:?}, not of a pipeline; only pipeline runs have steps")]
    NotPipeline(RunId, TaskName),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One resume at a time: the check that nothing resumed a run yet and the new run's row
/// are one step.
static RESUMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Engine {
    /// A new pipeline run that skips every step run `id` (and the runs it resumed) finished,
    /// `triggered_by = "resume"`, `resume_of_run_id = id`, with the environment `id` was
    /// triggered with.
    pub async fn resume(&self, id: RunId) -> Result<Run, ResumeError> {
        let _one = RESUMING.lock().await;
        let read = |id: RunId| store::blocking(&self.inner.store, move |s| s.get_run(&id));
        let run = read(id).await?.ok_or(ResumeError::NotFound(id))?;
        if run.kind != RunKind::Pipeline {
            return Err(ResumeError::NotPipeline(id, run.task_name));
        }
        if let Some(parent) = run.parent_run_id {
            return Err(ResumeError::IsStep(id, parent));
        }
        let Some(reason) = run.end_reason.filter(|_| run.status == RunStatus::Ended) else {
            return Err(ResumeError::NotEnded(id));
        };
        if !matches!(
            reason,
            EndReason::Failed | EndReason::Timeout | EndReason::Interrupted | EndReason::Crashed
        ) {
            return Err(ResumeError::NotResumable(id, reason));
        }
        let newer = store::blocking(&self.inner.store, move |s| s.resumed_by(&id)).await?;
        if let Some(newer) = newer {
            return Err(ResumeError::AlreadyResumed(id, newer));
        }
        let name = run.task_name;
        if !self
            .inner
            .task_def(&name)
            .is_some_and(|d| d.spec.is_pipeline())
        {
            return Err(ResumeError::Gone(name));
        }
        let env = super::kept_env(&self.inner, &name, &id);
        let firing = Firing {
            resume_of: Some(id),
            ..Firing::new(TriggeredBy::Resume, Arc::new(env))
        };
        let new = fire_detached(&self.inner, &name, firing).await?;
        drop(_one);
        Ok(self.as_started(new).await?)
    }

    /// Pipeline run `id` with its steps.
    pub async fn run_tree(&self, id: RunId) -> Result<TreeView, TreeError> {
        let config = self.inner.config();
        store::blocking(&self.inner.store, move |s| {
            let Some(run) = s.get_run(&id)? else {
                return Ok(Err(TreeError::NotFound(id)));
            };
            if run.kind != RunKind::Pipeline {
                return Ok(Err(TreeError::NotPipeline(id, run.task_name)));
            }
            tree::build(s, &config, run).map(Ok)
        })
        .await?
    }
}
