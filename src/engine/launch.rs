//! The one path every run takes once its row exists: check the disk, create the log, start the
//! process through the runner, record `running` with the facts crash recovery needs, record the
//! end, and tell subscribers. Tasks and services both come through here; what happens after
//! the end (queues, retries, restarts) is theirs.
//!
//! A task's slot is handed to its next queued run as soon as the process is gone and its end is
//! queued for the commit, not once the commit is on disk: the next run's start is committed
//! after that end (or with it), so the history never shows them out of order, and back-to-back
//! queued runs do not each wait a whole fsync. The end is announced (`RunEnded`) and the run
//! leaves the active set only once it is durable.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::engine::clock::millis;
use crate::engine::config::units::format_size;
use crate::engine::config::Common;
use crate::engine::datadir::DataDir;
use crate::engine::events::Event;
use crate::engine::model::{EndReason, RunId, TaskName, TriggeredBy};
use crate::engine::runner::{self, procs, Chunk, Outcome, RunSpec, StopHandle};
use crate::engine::store::{self, NewRun};
use crate::engine::Inner;

/// A run whose process may be alive.
#[derive(Debug, Clone)]
pub struct ActiveRun {
    pub task: TaskName,
    pub stop: StopHandle,
    /// The process group leader, once started.
    pub pid: Option<i32>,
    pub replica_index: Option<u32>,
    /// Notified once the start is recorded (or the run ended without one): a manual trigger
    /// waits on it to answer with the run as it is then.
    pub started: Arc<Notify>,
    /// A trigger waits for the start to answer: it is committed at once, not with the next
    /// commit.
    pub awaited: bool,
}

/// Registers a pending run as active, so a stop or the shutdown can reach it from now on.
pub(crate) fn register(inner: &Inner, new: &NewRun, task: &TaskName) -> StopHandle {
    let stop = StopHandle::new();
    inner.active().insert(
        new.id,
        ActiveRun {
            task: task.clone(),
            stop: stop.clone(),
            pid: None,
            replica_index: new.replica_index,
            started: Arc::default(),
            awaited: false,
        },
    );
    stop
}

/// A run's end, queued for the commit: once it is durable, [`Ending::recorded`] tells the
/// subscribers and lets the run leave the active set.
#[must_use = "an end is committed and announced by `recorded`"]
pub(crate) struct Ending {
    id: RunId,
    task: TaskName,
    reason: EndReason,
    exit_code: i32,
    end_at: i64,
    /// When its process started (Unix ms), for the duration metric.
    started_at: Option<i64>,
    message: Option<String>,
    pending: store::Pending,
}

/// A run's end that could not be written (a full disk, a locked database) is written again
/// this often until it is: a run that ended is never left `running`.
const END_RETRY: Duration = Duration::from_secs(1);

impl Ending {
    /// Queues the end of run `id`. It keeps its place: a change queued after it (the start of
    /// the next queued run) is never committed before it.
    pub(crate) fn submit(inner: &Inner, id: RunId, task: &TaskName, outcome: &Outcome) -> Self {
        Self::after_start(inner, id, task, outcome, None)
    }

    /// [`Ending::submit`] for a run whose process started at `started_at` (Unix ms). Its start
    /// was queued before it, so `RunStarted` has gone out before this end is answered.
    pub(crate) fn after_start(
        inner: &Inner,
        id: RunId,
        task: &TaskName,
        outcome: &Outcome,
        started_at: Option<i64>,
    ) -> Self {
        let end_at = millis(inner.clock.now());
        let (reason, exit_code) = (outcome.end_reason, outcome.exit_code);
        let pending = inner.store.submit_finish(
            &id,
            reason,
            Some(exit_code),
            end_at,
            outcome.message.as_deref(),
        );
        Self {
            id,
            task: task.clone(),
            reason,
            exit_code,
            end_at,
            started_at,
            message: outcome.message.clone(),
            pending,
        }
    }

    /// Waits until the end is durable, tells subscribers, and removes the run from the active
    /// set (so the shutdown, which waits for that set to empty, knows every end is recorded).
    pub(crate) async fn recorded(self, inner: &Arc<Inner>) {
        let Ending {
            id,
            task,
            reason,
            exit_code,
            end_at,
            started_at,
            message,
            mut pending,
        } = self;
        // Written until it is on disk: the run stays active (shutdown waits for it) meanwhile.
        // Once the daemon is stopping, only for its shutdown_timeout: the row then stays
        // unfinished and the next start records it (a stop must never hang on a full disk).
        let mut failures = 0u32;
        let mut stopping_since: Option<tokio::time::Instant> = None;
        let mut durable = false;
        loop {
            match inner.store.committed_lazily(pending).await {
                Ok(()) => {
                    durable = true;
                    break;
                }
                Err(e) => {
                    if inner.is_stopping() {
                        let since = *stopping_since.get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() >= inner.config().daemon.shutdown_timeout {
                            tracing::error!(run = %id, task = %task, "the end of run {id} of task {task} could not be recorded before the daemon stopped ({e}); the next start records it as crashed");
                            break;
                        }
                    }
                    if failures % 60 == 0 {
                        tracing::error!(run = %id, task = %task, "cannot record the end of run {id} of task {task} ({reason}, exit code {exit_code}): {e}; retrying every second until it is recorded");
                    }
                    failures += 1;
                    tokio::time::sleep(END_RETRY).await;
                    pending = inner.store.submit_finish(
                        &id,
                        reason,
                        Some(exit_code),
                        end_at,
                        message.as_deref(),
                    );
                }
            }
        }
        if failures > 0 {
            tracing::info!(run = %id, task = %task, "the end of run {id} of task {task} is recorded, after {failures} failed attempt(s)");
        }
        // Counted here, once the end is on disk and before anyone hears of it (see `metrics`).
        if durable {
            inner.metrics.run_ended(&task, reason, started_at, end_at);
        }
        inner.emit(Event::RunEnded {
            run: id,
            task,
            reason,
            exit_code,
        });
        if let Some(run) = inner.active().remove(&id) {
            run.started.notify_one();
        }
    }
}

/// Records an end and tells subscribers.
pub(crate) async fn record_end(inner: &Arc<Inner>, id: RunId, task: &TaskName, outcome: &Outcome) {
    Ending::submit(inner, id, task, outcome)
        .recorded(inner)
        .await;
}

/// How the message of a run refused for lack of disk space begins.
pub const DISK_REFUSAL: &str = "not started: the data disk has";

/// Everything a recorded run needs before its process starts, checked alike by the daemon and
/// by `runwisp exec --standalone`: room on the data disk (`[storage] min_free_space`), its log
/// file, and the runner's spec (the task's environment with `extra_env` over it). On a refusal,
/// the sentence to record as the run's message.
pub fn prepare(
    dir: &DataDir,
    disk_floor: u64,
    new: &NewRun,
    common: &Common,
    extra_env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
) -> Result<(RunSpec, PathBuf), String> {
    match dir.free_space() {
        Ok(free) if free < disk_floor => {
            return Err(format!(
                "{DISK_REFUSAL} {} free, below [storage] min_free_space ({})",
                format_size(free),
                format_size(disk_floor)
            ))
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot measure free disk space: {e}"),
    }
    let log_path = dir
        .prepare_run_log(&new.task_name, &new.id)
        .map_err(|e| format!("not started: {e}"))?;
    let mut env = common.env.clone();
    env.extend(extra_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let spec = RunSpec {
        run_id: new.id,
        task: new.task_name.clone(),
        command: common.run.clone(),
        working_dir: common.working_dir.clone(),
        env,
        trigger: new.triggered_by,
        retry_attempt: new.retry_attempt,
        replica: new.replica_index,
        timeout,
        graceful_stop: common.graceful_stop,
        log_max_size: common.log_max_size,
        log_on_full: common.log_on_full,
        disk_floor,
    };
    Ok((spec, log_path))
}

fn refused(message: String) -> (Outcome, Option<i64>) {
    let outcome = Outcome {
        end_reason: EndReason::Failed,
        exit_code: -1,
        message: Some(message),
    };
    (outcome, None)
}

/// Runs a registered, recorded (`pending`) run until nothing of it is left, and queues its
/// end; the caller awaits [`Ending::recorded`], after freeing the run's slot if it has one.
pub(crate) async fn run_to_end(
    inner: &Arc<Inner>,
    new: &NewRun,
    task: &TaskName,
    common: &Common,
    extra_env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    stop: StopHandle,
) -> (Outcome, Ending) {
    let (outcome, started_at) = execute(inner, new, task, common, extra_env, timeout, stop).await;
    let ending = Ending::after_start(inner, new.id, task, &outcome, started_at);
    (outcome, ending)
}

async fn execute(
    inner: &Arc<Inner>,
    new: &NewRun,
    task: &TaskName,
    common: &Common,
    extra_env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
    stop: StopHandle,
) -> (Outcome, Option<i64>) {
    if inner.is_stopping() {
        let outcome = Outcome {
            end_reason: EndReason::Stopped,
            exit_code: -1,
            message: Some("the daemon shut down before this run started".into()),
        };
        return (outcome, None);
    }
    let floor = inner.config().storage.min_free_space;
    let (spec, log_path) = match prepare(&inner.dir, floor, new, common, extra_env, timeout) {
        Ok(prepared) => prepared,
        Err(message) => return refused(message),
    };
    let echo = {
        let inner = inner.clone();
        let run = new.id;
        let log_bytes = inner.metrics.log_bytes(task);
        Box::new(move |chunk: &Chunk| {
            if let Some(n) = &log_bytes {
                n.fetch_add(
                    chunk.data.len() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            if inner.has_listeners() {
                inner.emit(Event::LogAppended { run });
            }
        }) as runner::Echo
    };
    // The start is queued for the commit here, in order before the end, and nothing waits for
    // it: the thread that commits it sends `RunStarted` and wakes a trigger waiting to answer,
    // before it answers the end (queued later), so `RunStarted` goes before `RunEnded`. A
    // worker blocked on a commit would hold up every other run due now, and a task spawned to
    // wait for it cost a hand-off between threads per run. It goes with the next commit (a
    // trigger's row, or when the commit thread's linger runs out) unless a trigger waits to
    // answer with it: a busy daemon then commits a run's start, its end and the next trigger's
    // row together.
    let mut started_at = None;
    let on_start = |started: runner::Started| {
        let now = millis(inner.clock.now());
        started_at = Some(now);
        if let (TriggeredBy::Cron, Some(due)) = (new.triggered_by, new.scheduled_for) {
            inner.metrics.scheduling_skew(now - due);
        }
        let (told, id, task) = (inner.clone(), new.id, task.clone());
        let then = Box::new(move |result: &store::Result<()>| {
            if let Err(e) = result {
                tracing::error!(run = %id, "cannot record the start of a run: {e}");
            }
            told.emit(Event::RunStarted { run: id, task });
            if let Some(run) = told.active().get(&id) {
                run.started.notify_one();
            }
        });
        // Queued under the lock of the active runs, where the pid is set: a trigger that
        // comes to wait for the start finds it either not queued yet (and marks it awaited)
        // or queued (and hurries the commit itself).
        let mut active = inner.active();
        let awaited = active.get_mut(&id).is_some_and(|run| {
            run.pid = Some(started.pid);
            run.awaited
        });
        let (pid, start_time) = (started.pid, started.start_time);
        inner
            .store
            .submit_start_then(&id, now, pid, start_time, then, awaited);
        drop(active);
    };
    let outcome = runner::execute(&spec, None, log_path, Some(echo), stop, on_start).await;
    (outcome, started_at)
}

/// Waits until no run is active and no firing is in flight, up to `budget`; true when all
/// ended in time.
pub(crate) async fn wait_all_ended(inner: &Inner, budget: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + budget;
    loop {
        if inner.live.settled() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// SIGKILL to every process of every active run.
pub(crate) fn kill_all(inner: &Inner) {
    for (id, run) in inner.active().iter() {
        if let Some(pid) = run.pid {
            procs::kill_now(&id.to_string(), Some(pid));
        }
    }
}
