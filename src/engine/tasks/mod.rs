//! The life of a task's runs (`product.md` §4, §5.1): every firing becomes a row first, then
//! starts, waits in the FIFO queue, is recorded `skipped` or `queue_full`, or stops the oldest
//! run (`terminate`). When a run ends the next queued one starts, and a failing run is retried
//! (`retry_attempts`, with its delay curve capped at 5 minutes) or re-run (`restart =
//! "on_failure"`). Retries do not count against `max_concurrent`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Mutex;

use crate::engine::clock::millis;
use crate::engine::config::{OnOverlap, Restart, Task};
use crate::engine::defs::Def;
use crate::engine::events::Event;
use crate::engine::launch::{self, record_end};
use crate::engine::model::{EndReason, Run, RunId, RunKind, TaskName, TriggeredBy};
use crate::engine::runner::{Outcome, StopHandle};
use crate::engine::store::{self, NewRun, StoreError};
use crate::engine::trigger::Queued;
pub use crate::engine::trigger::{RunEnv, TriggerRequest};
use crate::engine::Inner;

mod control;
pub(crate) use control::fire_detached;

/// Retry and restart delays never exceed this.
pub const RETRY_CAP: Duration = Duration::from_secs(300);
/// Why a queued run of a task a reload removed never starts.
pub(crate) const REMOVED: &str =
    "its task was removed from the configuration before this run started";
/// How long a trigger waits for its run's process to start before answering.
const START_WAIT: Duration = Duration::from_secs(2);

/// A task's runtime state; it outlives a reload that keeps (or changes) the task. Its
/// definition is in [`crate::engine::defs::Defs`] beside it.
#[derive(Default)]
pub(crate) struct TaskSlot {
    state: Mutex<TaskState>,
}

#[derive(Default)]
struct TaskState {
    /// Active runs counted against `max_concurrent`, oldest first.
    counted: Vec<RunId>,
    /// Recorded runs waiting for a free slot, in order.
    queue: VecDeque<Queued>,
    /// Bumped when an operator stops the task, cancelling pending retries.
    generation: u64,
}

/// Why a manual trigger was refused.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("there is no task named \"{0}\"")]
    NotFound(TaskName),
    #[error("API triggering disabled for this task")]
    Forbidden,
    #[error("\"{0}\" is a service; restart it instead of triggering it")]
    IsService(TaskName),
    #[error("the daemon is shutting down")]
    ShuttingDown,
    #[error("{0:?} cannot be set for a run: names are letters, digits and _, RUNWISP_*, LD_*, PATH and the shell's own variables are never set from a trigger, and values hold no NUL byte")]
    BadEnv(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a stop was refused.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("there is no run {0}")]
    NotFound(RunId),
    #[error("run {0} has already ended")]
    AlreadyEnded(RunId),
    #[error("there is no task or service named \"{0}\"")]
    NoSuchTask(TaskName),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A task or service as the interfaces show it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub name: TaskName,
    pub kind: RunKind,
    pub next: Option<Timestamp>,
    pub active: Vec<RunId>,
    pub queued: usize,
    /// For a service: what its replicas are doing.
    pub service: Option<crate::engine::ServiceView>,
}

/// What a firing is.
pub(crate) struct Firing {
    pub by: TriggeredBy,
    /// Extra environment for the run.
    pub env: RunEnv,
    pub scheduled_for: Option<Timestamp>,
    /// For retries and restarts: the attempt number and the run before it.
    pub retry_of: Option<(u32, RunId)>,
    /// For a pipeline step: the pipeline's run and the step's name.
    pub parent: Option<(RunId, String)>,
    /// The run's id, when the caller needs it before the row exists (a webhook's payload
    /// file is named by it); else a new one.
    pub id: Option<RunId>,
    /// The webhook delivery that fired it, recorded with the row (a replay is refused).
    pub webhook: Option<Arc<store::WebhookDelivery>>,
    /// For a pipeline run: the run it resumes.
    pub resume_of: Option<RunId>,
    /// For a scheduled firing recorded ahead of its instant: what holds it until then.
    pub release: Option<crate::engine::scheduler::Release>,
}

impl Firing {
    /// A first firing (no retry, parent, webhook or resume) with a new id.
    pub fn new(by: TriggeredBy, env: RunEnv) -> Self {
        Self {
            by,
            env,
            scheduled_for: None,
            retry_of: None,
            parent: None,
            id: None,
            webhook: None,
            resume_of: None,
            release: None,
        }
    }
}

/// A firing recorded: its run's id, and the run as its row reads when it did not start (it
/// waits in the queue, or was refused), known without reading the row back.
pub(crate) struct Fired {
    pub id: RunId,
    pub settled: Option<Run>,
}

#[derive(Clone, Copy)]
enum Decision {
    Start,
    Queue,
    Terminate(RunId),
    Skip,
    QueueFull,
    Removed,
}

/// Records a firing of `name` and starts, queues or refuses it by the task's policy; returns
/// the run's id (with the run itself when it did not start).
///
/// The row is written (and synced) before the task's state is locked, and the lock is held only
/// for the decision: a slot freed by an ending run is never handed over behind other firings'
/// disk writes. A refused firing's row is then ended `skipped` or `queue_full`.
pub(crate) async fn fire(
    inner: &Arc<Inner>,
    name: &TaskName,
    firing: Firing,
) -> Result<Fired, TriggerError> {
    // The definition this firing runs under, whatever a reload does meanwhile.
    let Def { spec, slot } = inner
        .task_def(name)
        .ok_or_else(|| TriggerError::NotFound(name.clone()))?;
    let _in_flight = inner.in_flight();
    if inner.is_stopping() {
        return Err(TriggerError::ShuttingDown);
    }
    let mut new = NewRun {
        scheduled_for: firing.scheduled_for.map(millis),
        retry_attempt: firing.retry_of.map_or(0, |(n, _)| n),
        retry_of_run_id: firing.retry_of.map(|(_, id)| id),
        parent: firing.parent.clone(),
        webhook: firing.webhook.clone(),
        resume_of: firing.resume_of,
        ..NewRun::new(
            name.clone(),
            if spec.is_pipeline() {
                RunKind::Pipeline
            } else {
                RunKind::Task
            },
            firing.by,
            millis(inner.clock.now()),
        )
    };
    if let Some(id) = firing.id {
        new.id = id;
    }
    inner
        .store
        .committed(inner.store.submit_insert(&new))
        .await?;
    inner.emit(Event::RunCreated {
        run: new.id,
        task: name.clone(),
    });
    if let Some(release) = &firing.release {
        release.wait().await;
    }
    let retry = firing.retry_of.is_some();
    let mut state = slot.state.lock().await;
    // Shutdown drains the queues under this lock after raising the flag, so a firing that
    // gets here late ends instead of waiting in a queue nobody will run.
    // A reload that removed the task after this firing took its slot has drained the queue
    // already: the firing ends here instead of waiting in a queue nobody will run.
    let removed = inner
        .task_def(name)
        .is_none_or(|now| !Arc::ptr_eq(&now.slot, &slot));
    let decision = if inner.is_stopping() {
        None
    } else if removed {
        Some(Decision::Removed)
    } else if retry || state.counted.len() < spec.max_concurrent as usize {
        Some(Decision::Start)
    } else {
        Some(match spec.on_overlap {
            OnOverlap::Queue if state.queue.len() < spec.queue_max as usize => Decision::Queue,
            OnOverlap::Queue => Decision::QueueFull,
            OnOverlap::Skip => Decision::Skip,
            OnOverlap::Terminate => state
                .counted
                .first()
                .copied()
                .map_or(Decision::Start, Decision::Terminate),
        })
    };
    let mut superseded = Vec::new();
    let refused = match decision {
        None => Some((
            EndReason::Stopped,
            "the daemon shut down before this run started".to_string(),
        )),
        Some(Decision::Start) => {
            if !retry {
                state.counted.push(new.id);
            }
            let stop = launch::register(inner, &new, name);
            spawn_run(
                inner.clone(),
                Started {
                    slot: slot.clone(),
                    spec: spec.clone(),
                    name: name.clone(),
                    new: new.clone(),
                    env: firing.env.clone(),
                    counted: !retry,
                },
                stop,
            );
            None
        }
        Some(Decision::Queue) => {
            state.queue.push_back(Queued {
                new: new.clone(),
                env: firing.env.clone(),
                spec: spec.clone(),
            });
            None
        }
        Some(Decision::Terminate(oldest)) => {
            if let Some(active) = inner.active().get(&oldest) {
                active.stop.stop();
            }
            // The newest trigger wins: older ones still waiting for the terminated run to go
            // are superseded, so what runs last is what was asked for last.
            superseded.extend(state.queue.drain(..).map(|q| q.new));
            state.queue.push_back(Queued {
                new: new.clone(),
                env: firing.env.clone(),
                spec: spec.clone(),
            });
            None
        }
        Some(Decision::Removed) => Some((EndReason::Stopped, REMOVED.to_string())),
        Some(Decision::Skip) => Some((
            EndReason::Skipped,
            "task already running, skipping (policy: skip)".to_string(),
        )),
        Some(Decision::QueueFull) => Some((
            EndReason::QueueFull,
            format!(
                "queue full: {} firings already waiting (queue_max = {})",
                state.queue.len(),
                spec.queue_max
            ),
        )),
    };
    drop(state);
    for run in superseded {
        let outcome = Outcome {
            end_reason: EndReason::Skipped,
            exit_code: -1,
            message: Some(format!(
                "superseded by the newer run {} before it started (on_overlap = \"terminate\")",
                new.id
            )),
        };
        record_end(inner, run.id, name, &outcome).await;
    }
    let id = new.id;
    let Some((reason, message)) = refused else {
        let started = matches!(decision, Some(Decision::Start));
        let settled = (!started).then(|| new.as_pending());
        return Ok(Fired { id, settled });
    };
    let end_at = new.created_at;
    let pending = inner
        .store
        .submit_finish(&id, reason, Some(-1), end_at, Some(&message));
    inner.store.committed(pending).await?;
    inner.metrics.run_ended(name, reason, None, end_at);
    inner.emit(Event::RunEnded {
        run: id,
        task: name.clone(),
        reason,
        exit_code: -1,
    });
    if decision.is_none() {
        return Err(TriggerError::ShuttingDown);
    }
    Ok(Fired {
        id,
        settled: Some(new.as_refused(reason, end_at, message)),
    })
}

type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A run on its way to its process: its task's slot, the definition it was fired under, and
/// whether it counts against `max_concurrent` (retries do not).
struct Started {
    slot: Arc<TaskSlot>,
    spec: Arc<Task>,
    name: TaskName,
    new: NewRun,
    env: RunEnv,
    counted: bool,
}

fn spawn_run(inner: Arc<Inner>, run: Started, stop: StopHandle) {
    let future: Boxed = Box::pin(run_task(inner, run, stop));
    tokio::spawn(future);
}

async fn run_task(inner: Arc<Inner>, run: Started, stop: StopHandle) {
    let Started {
        slot,
        spec,
        name,
        new,
        env,
        counted,
    } = run;
    let (outcome, ending) = match &spec.pipeline {
        Some(pipeline) => {
            crate::engine::pipeline::run_to_end(&inner, &new, pipeline, &spec, &env, stop).await
        }
        None => {
            launch::run_to_end(&inner, &new, &name, &spec.common, &env, spec.timeout, stop).await
        }
    };
    // A pipeline waiting for this step goes on now; its next step is committed after this end.
    if new.parent.is_some() {
        crate::engine::pipeline::step_ended(new.id, &outcome);
    }
    // The slot goes to the next queued run now; its start is committed after this end.
    let mut handed = false;
    {
        let mut state = slot.state.lock().await;
        if counted {
            state.counted.retain(|r| *r != new.id);
        }
        // The task's limit now (a reload may have changed it since this run was fired); none
        // for a task a reload removed, whose queue that reload is ending.
        let limit = inner
            .task_def(&name)
            .filter(|now| Arc::ptr_eq(&now.slot, &slot))
            .map_or(0, |now| now.spec.max_concurrent) as usize;
        while state.counted.len() < limit && !inner.is_stopping() {
            let Some(next) = state.queue.pop_front() else {
                break;
            };
            state.counted.push(next.new.id);
            let stop = launch::register(&inner, &next.new, &name);
            let next = Started {
                slot: slot.clone(),
                spec: next.spec,
                name: name.clone(),
                new: next.new,
                env: next.env,
                counted: true,
            };
            spawn_run(inner.clone(), next, stop);
            handed = true;
        }
    }
    // The next run goes first: it spawns its process and queues its start while this end
    // waits in the queue, so the two share one commit (and its fsync comes after the spawn,
    // not in its way) instead of two back to back.
    if handed {
        tokio::task::yield_now().await;
    }
    ending.recorded(&inner).await;
    // A step's retries are its pipeline's to run (`pipeline/`): it waits for them.
    if new.parent.is_some() {
        return;
    }
    schedule_retry(
        &inner,
        &name,
        new.retry_attempt,
        new.id,
        outcome.end_reason,
        env,
    )
    .await;
}

/// Task runs that a dead daemon left unfinished, now recorded `crashed`, are retried like any
/// failure when their task's `retry_attempts` (or `restart = "on_failure"`) allow.
pub(crate) async fn retry_crashed(inner: &Arc<Inner>, crashed: &[Run]) {
    for run in crashed {
        let (name, id) = (run.task_name.clone(), run.id);
        // Only a run recovery really ended: one whose owner recorded its own end meanwhile
        // (an `exec --standalone` that finished) is not run again.
        let recorded = store::blocking(&inner.store, move |s| s.get_run(&id)).await;
        let crashed =
            matches!(recorded, Ok(Some(ref r)) if r.end_reason == Some(EndReason::Crashed));
        // A crashed step is its pipeline's to run again, by a resume.
        let step = run.parent_run_id.is_some();
        if crashed && run.kind == RunKind::Task && !step && inner.task_def(&name).is_some() {
            // What extra environment it had died with the daemon.
            let env = RunEnv::default();
            schedule_retry(inner, &name, run.retry_attempt, id, EndReason::Crashed, env).await;
        }
    }
}

/// After a failing run: the next retry attempt, or the next `on_failure` restart.
/// `attempt_done` is the retry attempt of the run that ended (0 for a first run).
async fn schedule_retry(
    inner: &Arc<Inner>,
    name: &TaskName,
    attempt_done: u32,
    ended: RunId,
    reason: EndReason,
    env: RunEnv,
) {
    // Retries follow the task's definition now; a task removed by a reload is not retried.
    let Some(Def { spec, slot }) = inner.task_def(name) else {
        return;
    };
    if !reason.is_retryable() || inner.is_stopping() {
        return;
    }
    let by = if attempt_done < spec.retry_attempts {
        TriggeredBy::Retry
    } else if spec.restart == Restart::OnFailure {
        TriggeredBy::Restart
    } else {
        return;
    };
    let attempt = attempt_done + 1;
    let delay = spec
        .retry_backoff
        .delay(spec.retry_delay, attempt, RETRY_CAP);
    let generation = slot.state.lock().await.generation;
    let (inner, name, previous) = (inner.clone(), name.clone(), ended);
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = inner.stopped() => return,
        }
        let Some(Def { slot, .. }) = inner.task_def(&name) else {
            return;
        };
        if slot.state.lock().await.generation != generation {
            return;
        }
        let firing = Firing {
            retry_of: Some((attempt, previous)),
            ..Firing::new(by, env)
        };
        if let Err(e) = fire(&inner, &name, firing).await {
            tracing::error!(task = %name, "cannot start attempt {attempt}: {e}");
        }
    });
}

/// Ends every queued run `stopped` (shutdown, an operator stopping the task, or a reload
/// removing it).
pub(crate) async fn drop_queue(
    inner: &Arc<Inner>,
    name: &TaskName,
    slot: &TaskSlot,
    message: &str,
) -> usize {
    let queued: Vec<NewRun> = slot
        .state
        .lock()
        .await
        .queue
        .drain(..)
        .map(|q| q.new)
        .collect();
    let n = queued.len();
    for run in queued {
        let outcome = Outcome {
            end_reason: EndReason::Stopped,
            exit_code: -1,
            message: Some(message.to_string()),
        };
        record_end(inner, run.id, name, &outcome).await;
    }
    n
}

pub(crate) async fn drop_queues(inner: &Arc<Inner>, message: &str) {
    for (name, def) in &inner.defs().tasks {
        drop_queue(inner, name, &def.slot, message).await;
    }
}
