//! `runwisp exec TASK`: run a task now, stream its output to the terminal (stdout to stdout,
//! stderr to stderr, runwisp's own lines to stderr), and exit with the task's exit code.
//!
//! When a daemon holds this data directory (or `--url` names one) the run goes through it: one
//! audit trail, the task's concurrency policy respected, the log followed live. Only when no
//! daemon runs does it run in this process (`engine::standalone`: the daemon's own record →
//! start → end, each write in the lifecycle outbox); `--standalone` insists on that and is
//! refused beside a running daemon. Ctrl-C stops the run either way. A run the daemon queues
//! behind others says so on stderr, then is followed as it starts.

use std::io::Write;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};

use super::{load_config, Cli};
use crate::api::{RunPage, TaskObject};
use crate::client::{Client, RunView};
use crate::engine::config::{Config, Task};
use crate::engine::datadir::DataDir;
use crate::engine::model::{EndReason, RunId, RunStatus, TaskName};
use crate::engine::runner::{self, Chunk, StopHandle, Stream};
use crate::engine::standalone::{Observer, Standalone, END_TRIES};
use crate::engine::store::{Store, StoreError};

/// Finds `name` among the tasks, with a clear refusal for services, unknown names and tasks
/// that may only run on their schedule.
pub(crate) fn find_task<'c>(
    config: &'c Config,
    name: &str,
) -> anyhow::Result<(TaskName, &'c Task)> {
    let task_name =
        TaskName::parse(name).map_err(|e| anyhow!("{name:?} is not a task name: {e}"))?;
    if config.services.contains_key(&task_name) {
        bail!("{name:?} is a service; services are kept alive by the daemon, not run with exec");
    }
    let task = config.task(&task_name).ok_or_else(|| {
        let names: Vec<&str> = config.tasks.keys().map(TaskName::as_str).collect();
        anyhow!(
            "there is no task named {name:?} in {} (tasks: {})",
            config.path.display(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )
    })?;
    if !task.common.api_trigger {
        bail!("API triggering disabled for this task ({name:?} has api_trigger = false and only runs on its schedule)");
    }
    Ok((task_name, task))
}

fn echo_to_terminal() -> runner::Echo {
    Box::new(|chunk: &Chunk| {
        // A closed terminal must not stop the run or its recording, so errors are ignored.
        let _ = match chunk.stream {
            Stream::Stdout => std::io::stdout().lock().write_all(&chunk.data),
            Stream::Stderr => std::io::stderr().lock().write_all(&chunk.data),
            Stream::System => {
                let mut err = std::io::stderr().lock();
                for line in chunk.data.split_inclusive(|b| *b == b'\n') {
                    let _ = err.write_all(b"runwisp: ");
                    let _ = err.write_all(line);
                }
                Ok(())
            }
        };
    })
}

pub fn run(cli: &Cli, name: &str, standalone: bool) -> anyhow::Result<i32> {
    if !standalone {
        if let Some(target) = super::remote::find(cli)? {
            return through_daemon(&target, name);
        }
    }
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    let (task_name, task) = find_task(&config, name)?;
    if task.is_pipeline() {
        bail!("{name:?} is a pipeline; pipelines run in the daemon, which keeps their steps' state through a restart (start one with `runwisp --headless`, then `runwisp exec {name}`)");
    }
    let dir = DataDir::open(&cli.data)?;
    if let Some(pid) = dir.daemon_holding_lock()? {
        bail!(
            "a runwisp daemon{pid} is running for data directory {}; --standalone runs tasks in-process only when no daemon holds it (drop --standalone to run it through the daemon)",
            dir.root().display()
        );
    }
    let store = Arc::new(Store::open(&dir.db_path())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // One stop for the whole exec: Ctrl-C stops the run, or the wait before a retry.
    let stop = StopHandle::new();
    runtime.block_on(async { forward_signals(stop.clone()) });
    let here = Standalone {
        dir: &dir,
        store: &store,
        floor: config.storage.min_free_space,
        task_name: &task_name,
        task,
    };
    let terminal: Arc<dyn Observer + Send + Sync> = Arc::new(Terminal);
    // Retries as the daemon makes them (`retry_attempts`, `retry_delay`, `retry_backoff`).
    let mut attempt = 0;
    let mut retry_of = None;
    let outcome = loop {
        let (id, outcome) = here.attempt(
            &runtime,
            attempt,
            retry_of,
            &stop,
            echo_to_terminal(),
            terminal.clone(),
        )?;
        if outcome.end_reason != EndReason::Success {
            say!(
                "runwisp: run {id} of task {task_name} ended {} (exit code {})",
                outcome.end_reason,
                outcome.exit_code
            );
        }
        if !outcome.end_reason.is_retryable() || attempt >= task.retry_attempts {
            break outcome;
        }
        attempt += 1;
        let delay = task
            .retry_backoff
            .delay(task.retry_delay, attempt, crate::engine::RETRY_CAP);
        say!(
            "runwisp: retry {attempt} of {} in {} (retry_attempts)",
            task.retry_attempts,
            crate::engine::config::units::format_duration(delay)
        );
        let waited = runtime.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(delay) => true,
                _ = stop.requested() => false,
            }
        });
        if !waited {
            say!("runwisp: retries cancelled");
            break outcome;
        }
        retry_of = Some(id);
    };
    Ok(match outcome.exit_code {
        code if code < 0 => 1,
        code => code,
    })
}

/// Triggers the task on the daemon and follows it live. A run that waits in the task's queue
/// says so first: nothing else is printed until it starts.
fn through_daemon(target: &super::remote::Target, name: &str) -> anyhow::Result<i32> {
    let client = super::remote::connect(target)?;
    let run = client.trigger(name, "cli")?;
    if run.status == RunStatus::Pending {
        if let Some(ahead) = queued_behind(&client, &run) {
            say!(
                "runwisp: run {} is queued behind {ahead} run(s) of {}; waiting",
                run.id,
                run.task_name
            );
        }
    }
    Ok(super::follow::to_end(
        &client,
        &run,
        super::follow::OnCtrlC::StopRun,
    )?)
}

/// How many runs of its task are ahead of `run` while it waits in the queue: the task's active
/// runs and the runs queued before it (the queue is first in, first out). `None` when it is
/// not waiting (it is starting, or has started meanwhile) or the daemon could not say: the
/// line is a courtesy, never a reason to fail the run.
fn queued_behind(client: &Client, run: &RunView) -> Option<usize> {
    let task: TaskObject = client.get(&format!("/api/tasks/{}", run.task_name)).ok()?;
    if task.queued == 0 || task.active_runs.contains(&run.id) {
        return None;
    }
    let older: RunPage = client
        .get(&format!(
            "/api/runs?task={}&status=pending&before={}&limit=1000",
            run.task_name, run.id
        ))
        .ok()?;
    let queued_ahead = older
        .runs
        .iter()
        .filter(|r| !task.active_runs.contains(&r.id))
        .count();
    Some(task.active_runs.len() + queued_ahead).filter(|n| *n > 0)
}

/// Ctrl-C, SIGTERM and SIGHUP stop the run instead of killing runwisp before it records it.
fn forward_signals(stop: StopHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ] {
        let stop = stop.clone();
        match signal(kind) {
            Ok(mut stream) => {
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        stop.stop();
                    }
                });
            }
            Err(e) => say!("runwisp: cannot listen for signals: {e}"),
        }
    }
}

/// Says on the terminal what a standalone attempt could not record.
struct Terminal;

impl Observer for Terminal {
    fn start_not_recorded(&self, _run: &RunId, error: &StoreError) {
        say!("runwisp: {error}");
    }

    fn end_retrying(&self, run: &RunId, error: &StoreError) {
        say!("runwisp: cannot record the end of run {run}: {error}; retrying every second for {END_TRIES} s");
    }
}
