//! The one path every run takes once its row exists: check the disk, create the log, start the
//! process through the runner, record `running` with the facts crash recovery needs, record the
//! end, and tell subscribers. Tasks and services both come through here; what happens after
//! the end (queues, retries, restarts) is theirs.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::millis;
use crate::engine::config::units::format_size;
use crate::engine::config::Common;
use crate::engine::events::Event;
use crate::engine::model::{EndReason, RunId, TaskName};
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
        },
    );
    stop
}

/// Records an end and tells subscribers.
pub(crate) async fn record_end(inner: &Arc<Inner>, id: RunId, task: &TaskName, outcome: &Outcome) {
    let end_at = millis(inner.clock.now());
    let message = outcome.message.clone();
    let (reason, code) = (outcome.end_reason, outcome.exit_code);
    let result = store::blocking(&inner.store, move |s| {
        s.finish_run(&id, reason, Some(code), end_at, message.as_deref())
    })
    .await;
    if let Err(e) = result {
        tracing::error!(run = %id, task = %task, "cannot record the end of a run: {e}");
    }
    inner.emit(Event::RunEnded {
        run: id,
        task: task.clone(),
        reason,
        exit_code: code,
    });
}

fn refused(message: String) -> Outcome {
    Outcome {
        end_reason: EndReason::Failed,
        exit_code: -1,
        message: Some(message),
    }
}

/// Runs a registered, recorded (`pending`) run to its end and records the outcome.
pub(crate) async fn run_to_end(
    inner: Arc<Inner>,
    new: NewRun,
    task: TaskName,
    common: &Common,
    timeout: Option<Duration>,
    stop: StopHandle,
) -> Outcome {
    let outcome = execute(&inner, &new, &task, common, timeout, stop).await;
    record_end(&inner, new.id, &task, &outcome).await;
    inner.active().remove(&new.id);
    outcome
}

async fn execute(
    inner: &Arc<Inner>,
    new: &NewRun,
    task: &TaskName,
    common: &Common,
    timeout: Option<Duration>,
    stop: StopHandle,
) -> Outcome {
    if inner.is_stopping() {
        return Outcome {
            end_reason: EndReason::Stopped,
            exit_code: -1,
            message: Some("the daemon shut down before this run started".into()),
        };
    }
    let floor = inner.config.storage.min_free_space;
    match inner.dir.free_space() {
        Ok(free) if free < floor => {
            return refused(format!(
                "not started: the data disk has {} free, below [storage] min_free_space ({})",
                format_size(free),
                format_size(floor)
            ))
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot measure free disk space: {e}"),
    }
    let (log_path, log) = match inner.dir.create_run_log(task, &new.id) {
        Ok(created) => created,
        Err(e) => return refused(format!("not started: {e}")),
    };
    let spec = RunSpec {
        run_id: new.id,
        task: task.clone(),
        command: common.run.clone(),
        working_dir: common.working_dir.clone(),
        env: common.env.clone(),
        trigger: new.triggered_by,
        retry_attempt: new.retry_attempt,
        timeout,
        graceful_stop: common.graceful_stop,
        log_max_size: common.log_max_size,
        log_on_full: common.log_on_full,
        disk_floor: floor,
    };
    let echo = {
        let inner = inner.clone();
        let run = new.id;
        Box::new(move |chunk: &Chunk| {
            if inner.events.receiver_count() > 0 {
                inner.emit(Event::LogLines {
                    run,
                    stream: chunk.stream,
                    data: chunk.data.as_slice().into(),
                });
            }
        }) as runner::Echo
    };
    // The start is recorded on the blocking pool (a commit waits for the disk and for the one
    // connection, and must not hold up an async worker serving requests); the end is recorded
    // only after it, and subscribers hear of the start once the row says `running`.
    let marking = std::sync::Mutex::new(None);
    let on_start = |started: runner::Started| {
        if let Some(active) = inner.active().get_mut(&new.id) {
            active.pid = Some(started.pid);
        }
        let (inner, id, task) = (inner.clone(), new.id, task.clone());
        let now = millis(inner.clock.now());
        let handle = tokio::task::spawn_blocking(move || {
            if let Err(e) = inner
                .store
                .mark_running(&id, now, started.pid, started.start_time)
            {
                tracing::error!(run = %id, "cannot record the start of a run: {e}");
            }
            inner.emit(Event::RunStarted { run: id, task });
        });
        *marking.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    };
    let (outcome, _) = runner::execute(&spec, log, log_path, Some(echo), stop, on_start).await;
    let handle = marking.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(handle) = handle {
        let _ = handle.await;
    }
    outcome
}

/// Waits until no run is active, up to `budget`; true when all ended in time.
pub(crate) async fn wait_all_ended(inner: &Inner, budget: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + budget;
    loop {
        if inner.active().is_empty() {
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
