//! Crash recovery at boot (`product.md` §6.1), before anything is scheduled: every run a dead
//! daemon left unfinished has whatever is left of its processes stopped, then is recorded
//! `crashed` (exit code -2) with its partial log kept. A process group is signalled only when
//! its leader's start time proves the pid was not reused; the run id in the environment finds
//! the rest, including escapees. A run whose owner is alive (an `exec --standalone` holding
//! its [`run_owner`] lock) is not a leftover and is left alone.

use std::time::Duration;

use crate::engine::clock::{millis, Clock};
use crate::engine::config::Config;
use crate::engine::datadir::DataDir;
use crate::engine::model::{EndReason, Run, TaskName};
use crate::engine::run_owner;
use crate::engine::runner::procs;
use crate::engine::store::{Store, StoreError};

/// Recovery never waits longer than this for one run's leftovers to exit on SIGTERM.
const MAX_GRACE: Duration = Duration::from_secs(5);

const MESSAGE: &str = "runwisp stopped while this run was active (a crash, kill -9 or power loss); anything left of it was stopped at the next start";

fn grace(config: &Config, name: &TaskName) -> Duration {
    let common = config
        .tasks
        .get(name)
        .map(|t| &t.common)
        .or_else(|| config.services.get(name).map(|s| &s.common));
    common
        .map_or(Duration::ZERO, |c| c.graceful_stop)
        .min(MAX_GRACE)
}

/// Stops the leftovers of every unfinished run at once (so boot waits one grace period, not
/// one per run), then records them `crashed`; returns them (a crashed task run is retried
/// when its `retry_attempts` allow).
pub(crate) async fn recover(
    store: &Store,
    dir: &DataDir,
    config: &Config,
    clock: &dyn Clock,
) -> Result<Vec<Run>, StoreError> {
    let mut runs = store.unfinished_runs()?;
    // A run whose owner is alive (`exec --standalone` running it) is not a leftover.
    runs.retain(|run| {
        let owned = run_owner::is_owned(dir, &run.id);
        if owned {
            tracing::info!(run = %run.id, task = %run.task_name, "run {} of task {} is being run by a runwisp exec; left alone", run.id, run.task_name);
        }
        !owned
    });
    let mut ladders = tokio::task::JoinSet::new();
    for run in &runs {
        let pgid = match (run.pid, run.pid_start_time) {
            (Some(pid), Some(start)) => procs::stat(pid)
                .filter(|s| s.start_time == start && s.pgid == pid)
                .map(|_| pid),
            _ => None,
        };
        // Every process of the run started after its first one.
        let since = run.pid_start_time;
        let (id, task, grace) = (run.id, run.task_name.clone(), grace(config, &run.task_name));
        ladders.spawn(async move {
            let stopped = procs::stop_ladder(&id.to_string(), pgid, since, grace).await;
            tracing::warn!(run = %id, task = %task, killed = stopped.killed, "recovered an unfinished run as crashed");
        });
    }
    while ladders.join_next().await.is_some() {}
    for run in &runs {
        let id = run.id;
        store.finish_run(
            &id,
            EndReason::Crashed,
            Some(-2),
            millis(clock.now()),
            Some(MESSAGE),
        )?;
    }
    Ok(runs)
}
