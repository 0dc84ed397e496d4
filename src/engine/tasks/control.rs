//! What the interfaces ask of tasks: a manual trigger, stopping a run or a whole task, and the
//! list of tasks and services with their next firing and active runs.

use std::sync::Arc;

use super::{drop_queue, fire, Fired, Firing, StopError, TaskInfo, TriggerError, START_WAIT};
use crate::engine::launch::record_end;
use crate::engine::model::{EndReason, Run, RunId, RunKind, TaskName};
use crate::engine::runner::Outcome;
use crate::engine::store::{self, StoreError};
use crate::engine::trigger::TriggerRequest;
use crate::engine::Engine;

/// Fires as its own task: a caller that gives up (an HTTP client hanging up drops the
/// handler's future) must not cancel it between recording the row and starting or queueing
/// the run, which would leave the row pending for good.
pub(crate) async fn fire_detached(
    inner: &std::sync::Arc<crate::engine::Inner>,
    task: &TaskName,
    firing: Firing,
) -> Result<Fired, TriggerError> {
    let (inner, task) = (inner.clone(), task.clone());
    tokio::spawn(async move { fire(&inner, &task, firing).await })
        .await
        .unwrap_or_else(|e| Err(TriggerError::Store(StoreError::Worker(e.to_string()))))
}

impl Engine {
    /// A manual trigger (`runwisp run-task`, the TUI's `r`, the API): refused for unknown
    /// tasks, services and tasks with `api_trigger = false`.
    pub async fn trigger(
        &self,
        task: &TaskName,
        request: TriggerRequest,
    ) -> Result<Run, TriggerError> {
        let defs = self.inner.defs();
        if defs.services.contains_key(task) {
            return Err(TriggerError::IsService(task.clone()));
        }
        let def = defs
            .tasks
            .get(task)
            .ok_or_else(|| TriggerError::NotFound(task.clone()))?;
        if !def.spec.common.api_trigger {
            return Err(TriggerError::Forbidden);
        }
        request.check_env()?;
        let firing = Firing::new(request.by, Arc::new(request.env));
        let fired = fire_detached(&self.inner, task, firing).await?;
        self.as_started(fired).await
    }

    /// A run just fired, as callers see it: one that started now is answered as `running` (or
    /// already ended) after waiting briefly for its process, rather than a transient
    /// `pending`; a queued or refused run is answered at once, as `fire` left it (its row has
    /// not changed since: it is not read back).
    pub(crate) async fn as_started(&self, fired: Fired) -> Result<Run, TriggerError> {
        let id = fired.id;
        if let Some(run) = fired.settled {
            return Ok(run);
        }
        // A start is committed with the next commit unless someone waits for it: this answer
        // does (see `launch::execute`).
        let waiting = self.inner.active().get_mut(&id).map(|run| {
            run.awaited = true;
            (run.started.clone(), run.pid.is_some())
        });
        if let Some((started, queued)) = waiting {
            if queued {
                self.inner.store.hurry();
            }
            let _ = tokio::time::timeout(START_WAIT, started.notified()).await;
        }
        // Read here, not on the blocking pool: the reader connection never waits for a commit,
        // and the hop to a blocking thread and back was a tenth of a trigger's CPU.
        let read = match self.inner.store.get_run_now(&id) {
            Some(read) => read,
            None => store::blocking(&self.inner.store, move |s| s.get_run(&id)).await,
        };
        read?.ok_or_else(|| {
            TriggerError::Store(StoreError::Worker(format!(
                "run {id} vanished after it was recorded"
            )))
        })
    }

    /// Stops one run: an active run gets the stop ladder, a queued one ends at once.
    pub async fn stop_run(&self, id: RunId) -> Result<(), StopError> {
        let active = self.inner.active().get(&id).map(|a| a.stop.clone());
        if let Some(stop) = active {
            // A run is recorded ended a moment before it leaves the active set.
            let row = store::blocking(&self.inner.store, move |s| s.get_run(&id)).await?;
            if row.is_some_and(|r| r.status == crate::engine::model::RunStatus::Ended) {
                return Err(StopError::AlreadyEnded(id));
            }
            stop.stop();
            return Ok(());
        }
        // A queued run of a task a reload removed was ended by that reload.
        for (name, def) in &self.inner.defs().tasks {
            let mut state = def.slot.state.lock().await;
            if let Some(pos) = state.queue.iter().position(|r| r.new.id == id) {
                state.queue.remove(pos);
                drop(state);
                let outcome = Outcome {
                    end_reason: EndReason::Stopped,
                    exit_code: -1,
                    message: Some("stopped before it started".into()),
                };
                record_end(&self.inner, id, name, &outcome).await;
                return Ok(());
            }
        }
        match store::blocking(&self.inner.store, move |s| s.get_run(&id)).await? {
            Some(_) => Err(StopError::AlreadyEnded(id)),
            None => Err(StopError::NotFound(id)),
        }
    }

    /// Stops a task: its queued runs end, its active runs get the stop ladder, and pending
    /// retries are cancelled. Services are stopped through the supervisor. Returns how many
    /// runs were stopped.
    pub async fn stop_task(&self, task: &TaskName) -> Result<usize, StopError> {
        let defs = self.inner.defs();
        if defs.services.contains_key(task) {
            let replicas = self
                .inner
                .active()
                .values()
                .filter(|r| r.task == *task)
                .count();
            self.stop_service(task)
                .await
                .map_err(|_| StopError::NoSuchTask(task.clone()))?;
            return Ok(replicas);
        }
        let slot = &defs
            .tasks
            .get(task)
            .ok_or_else(|| StopError::NoSuchTask(task.clone()))?
            .slot;
        slot.state.lock().await.generation += 1;
        let mut stopped = drop_queue(&self.inner, task, slot, "stopped before it started").await;
        for run in self.inner.active().values().filter(|r| r.task == *task) {
            run.stop.stop();
            stopped += 1;
        }
        Ok(stopped)
    }

    /// Every task and service with its next firing and its active runs.
    pub async fn tasks(&self) -> Vec<TaskInfo> {
        let now = self.inner.clock.now();
        let active = self.inner.active().clone();
        let runs_of = |name: &TaskName| -> Vec<RunId> {
            let mut ids: Vec<RunId> = active
                .iter()
                .filter(|(_, r)| &r.task == name)
                .map(|(id, _)| *id)
                .collect();
            ids.sort();
            ids
        };
        let mut out = Vec::new();
        let defs = self.inner.defs();
        for (name, def) in &defs.tasks {
            let spec = &def.spec;
            let next = spec
                .cron
                .as_ref()
                .and_then(|s| s.next_after(now, &spec.timezone));
            let queued = def.slot.state.lock().await.queue.len();
            out.push(TaskInfo {
                name: name.clone(),
                kind: if spec.is_pipeline() {
                    RunKind::Pipeline
                } else {
                    RunKind::Task
                },
                next,
                active: runs_of(name),
                queued,
                service: None,
            });
        }
        for name in defs.services.keys() {
            out.push(TaskInfo {
                name: name.clone(),
                kind: RunKind::Service,
                next: None,
                active: runs_of(name),
                queued: 0,
                service: self.service_view(name).await,
            });
        }
        out
    }
}
