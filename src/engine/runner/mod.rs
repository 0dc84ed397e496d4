//! Running one command (`product.md` §5): `/bin/sh -c RUN` (`exec RUN` for a simple command, see
//! [`simple`]) in a new process group with stdin from `/dev/null`, the daemon's environment
//! plus the task's `env` and the `RUNWISP_*` variables, output captured into the run's log, a
//! timeout, and a stop that reaches the whole process group and every escaped descendant. The
//! runner knows nothing of the database: the caller records the start and the outcome.
//!
//! When the main process exits, anything of the run still alive (a background child, a
//! `setsid` grandchild, an orphan runwisp adopted that is the run's by the rule in [`orphans`])
//! is stopped with the same SIGTERM → `graceful_stop` → SIGKILL ladder, so a finished run
//! leaves no process behind; a `[SYSTEM]` line says so in the log.
//!
//! `RUNWISP_ATTEMPT` is 1 for a first run and N+1 for retry N.

mod capture;
pub mod orphans;
pub mod procs;
pub mod reaper;
mod simple;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

pub use capture::LogWriter;
use capture::{read_lines, write_log};
pub use capture::{Chunk, Echo, Stream};

use crate::engine::config::units::format_duration;
use crate::engine::config::LogOnFull;
use crate::engine::model::{EndReason, RunId, TaskName, TriggeredBy};

/// Everything needed to run one attempt of a task or one replica lifetime.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub run_id: RunId,
    pub task: TaskName,
    pub command: String,
    pub working_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    pub trigger: TriggeredBy,
    /// 0 for a first run, N for retry N.
    pub retry_attempt: u32,
    /// A service replica's index (0-based), given to it as `RUNWISP_REPLICA`.
    pub replica: Option<u32>,
    pub timeout: Option<Duration>,
    pub graceful_stop: Duration,
    pub log_max_size: u64,
    pub log_on_full: LogOnFull,
    /// `[storage] min_free_space`: output is dropped when the disk gets this full (0 = never).
    pub disk_floor: u64,
}

/// The process facts recorded when a run starts.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub pid: i32,
    pub start_time: Option<u64>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub end_reason: EndReason,
    /// The exit code, 128 + signal for a signal, -1 when the command could not start.
    pub exit_code: i32,
    pub message: Option<String>,
}

/// Asks a running run to stop; cloneable, usable from any task.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<Notify>);

impl StopHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the stop ladder; the run ends `stopped`.
    pub fn stop(&self) {
        self.0.notify_one();
    }

    /// Resolves when a stop is requested (or was, before this was awaited).
    pub async fn requested(&self) {
        self.0.notified().await;
    }
}

/// Why the runner is stopping a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Timeout,
    Operator,
    LogOverflow,
}

/// What systemd hands to the daemon alone: a task that inherited them could signal readiness or
/// pet the watchdog for the daemon, or believe its stderr is the journal (it is the run's log).
const DAEMON_ONLY_ENV: &[&str] = &[
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "JOURNAL_STREAM",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
];

fn command(spec: &RunSpec) -> Command {
    let mut cmd = Command::new("/bin/sh");
    for name in DAEMON_ONLY_ENV {
        cmd.env_remove(name);
    }
    cmd.arg("-c")
        .arg(simple::script(&spec.command).as_ref())
        .current_dir(&spec.working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .envs(&spec.env)
        .env("RUNWISP_TASK", spec.task.as_str())
        .env("RUNWISP_RUN_ID", spec.run_id.to_string())
        .env("RUNWISP_TRIGGER", spec.trigger.as_str())
        .env("RUNWISP_ATTEMPT", (spec.retry_attempt + 1).to_string());
    if let Some(replica) = spec.replica {
        cmd.env("RUNWISP_REPLICA", replica.to_string());
    }
    cmd
}

/// The inodes of the run's output pipes: a process holding one is the run's.
fn pipe_inodes(child: &std::process::Child) -> Vec<u64> {
    let fds = [
        child.stdout.as_ref().map(nix::sys::stat::fstat),
        child.stderr.as_ref().map(nix::sys::stat::fstat),
    ];
    fds.into_iter()
        .flatten()
        .filter_map(|st| st.ok())
        .map(|st| st.st_ino)
        .collect()
}

fn pipe_of(fd: Option<impl Into<OwnedFd>>) -> Option<tokio::net::unix::pipe::Receiver> {
    tokio::net::unix::pipe::Receiver::from_owned_fd(fd?.into()).ok()
}

/// Runs `spec` to its end, writing its log to `log_path` (through `log` when it is already
/// open, else created at the first byte of output). `on_start` is called once the process
/// exists, before any output is read. Must be called inside a tokio runtime.
pub async fn execute(
    spec: &RunSpec,
    log: Option<File>,
    log_path: PathBuf,
    echo: Option<Echo>,
    stop: StopHandle,
    on_start: impl FnOnce(Started),
) -> Outcome {
    let (tx, rx) = mpsc::channel::<Chunk>(64);
    let overflow = Arc::new(Notify::new());
    let writer = LogWriter::new(
        log,
        &log_path,
        spec.log_max_size,
        spec.log_on_full,
        spec.disk_floor,
    );
    let writer = tokio::spawn(write_log(writer, echo, rx, overflow.clone()));
    let system = |tx: &mpsc::Sender<Chunk>, text: String| {
        let tx = tx.clone();
        async move {
            let data = format!("{text}\n").into_bytes();
            let _ = tx
                .send(Chunk {
                    stream: Stream::System,
                    data,
                })
                .await;
        }
    };

    // Every process of the run starts after this: the leftover check needs no older one.
    let since = procs::ticks_now();
    let run_id = spec.run_id.to_string();
    // From before the spawn: the run's orphans are its own from their first instant.
    let registration = orphans::Registration::new(&run_id, since);
    let (mut child, exited) = match reaper::spawn(&mut command(spec)) {
        Ok(spawned) => spawned,
        Err(e) => {
            let message = format!(
                "cannot start /bin/sh in {}: {e}",
                spec.working_dir.display()
            );
            system(&tx, message.clone()).await;
            drop(tx);
            // The message says why it did not start; the log has it too, if it could be written.
            let _ = writer.await;
            return Outcome {
                end_reason: EndReason::Failed,
                exit_code: -1,
                message: Some(message),
            };
        }
    };
    let pid = child.id() as i32;
    let start_time = procs::start_time_of(pid, since);
    registration.started(pid, pipe_inodes(&child));
    on_start(Started { pid, start_time });

    let readers = [
        pipe_of(child.stdout.take())
            .map(|p| tokio::spawn(read_lines(p, Stream::Stdout, tx.clone()))),
        pipe_of(child.stderr.take())
            .map(|p| tokio::spawn(read_lines(p, Stream::Stderr, tx.clone()))),
    ];
    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(exited, timeout);

    let mut cause = None;
    let status = tokio::select! {
        status = &mut exited => status.ok(),
        _ = &mut timeout => { cause = Some(Cause::Timeout); None }
        _ = stop.0.notified() => { cause = Some(Cause::Operator); None }
        _ = overflow.notified() => { cause = Some(Cause::LogOverflow); None }
    };
    registration.ending();
    let status = match (status, cause) {
        (Some(status), _) => Some(status),
        (None, Some(c)) => {
            let why = match c {
                Cause::Timeout => format!(
                    "timeout of {} reached",
                    format_duration(spec.timeout.unwrap_or_default())
                ),
                Cause::Operator => "stop requested".to_string(),
                Cause::LogOverflow => {
                    "log reached log_max_size with log_on_full = \"kill_task\"".to_string()
                }
            };
            system(
                &tx,
                format!(
                    "{why}; sending SIGTERM to the process group (graceful_stop {})",
                    format_duration(spec.graceful_stop)
                ),
            )
            .await;
            if procs::stop_ladder(&run_id, Some(pid), since, spec.graceful_stop)
                .await
                .killed
            {
                system(
                    &tx,
                    "processes still running after graceful_stop were killed (SIGKILL)".into(),
                )
                .await;
            }
            exited.await.ok()
        }
        (None, None) => None,
    };

    // The main process is gone; nothing of the run may outlive it. Nearly always that is
    // proven cheaply; otherwise listing what is left reads all of /proc (more than once when
    // processes are changing), so it runs on the blocking pool, not on the async workers.
    let leftovers = if since.is_some_and(|since| procs::surely_gone(pid, since)) {
        0
    } else {
        let id = run_id.clone();
        tokio::task::spawn_blocking(move || procs::leftovers(&id, pid, since))
            .await
            .map_or(1, |left| left.len())
    };

    if leftovers > 0 {
        system(&tx, format!("the command exited but {leftovers} process(es) it started were still running; stopping them")).await;
        procs::stop_ladder(&run_id, Some(pid), since, spec.graceful_stop).await;
    }
    drop(tx);
    for mut reader in readers.into_iter().flatten() {
        // A descendant that escaped detection could hold the pipe open forever.
        if tokio::time::timeout(Duration::from_secs(2), &mut reader)
            .await
            .is_err()
        {
            reader.abort();
            tracing::warn!(run = %run_id, "output pipe still open after the run ended; stopped reading it");
        }
    }
    // A writer that failed to write (or panicked) is the run's message.
    let (write_error, cuts) = match writer.await {
        Ok(report) => (report.write_error, report.cuts),
        Err(e) => (Some(format!("the log writer failed: {e}")), 0),
    };
    // `kill_task` cut the log, but the command exited on its own before the stop: the run
    // still ends as the cut said it would, not as a success.
    if cause.is_none() && cuts > 0 && spec.log_on_full == LogOnFull::KillTask {
        cause = Some(Cause::LogOverflow);
    }

    let exit_code = status.map(|s| s.code()).unwrap_or(-1);
    let end_reason = match cause {
        Some(Cause::Timeout) => EndReason::Timeout,
        Some(Cause::Operator) => EndReason::Stopped,
        Some(Cause::LogOverflow) => EndReason::LogOverflow,
        None if exit_code == 0 => EndReason::Success,
        None => EndReason::Failed,
    };
    Outcome {
        end_reason,
        exit_code,
        message: write_error,
    }
}

#[cfg(test)]
mod tests;
