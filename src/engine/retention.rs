//! Retention (`product.md` §6): `keep_runs` and `keep_for` per task or service, then
//! `[storage] max_size` across all run logs, oldest ended runs first. A deleted run loses its
//! row and its log files together; a run that has not ended is never touched. The sweep runs at
//! boot and hourly, on the blocking pool, without holding up triggers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::millis;
use crate::engine::config::Common;
use crate::engine::datadir::DataDir;
use crate::engine::model::TaskName;
use crate::engine::store::{Store, StoreError};
use crate::engine::Inner;

/// How often the sweep runs after the one at boot.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What a sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub runs: usize,
    pub bytes: u64,
}

fn size_of(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Deletes the rows first (one transaction), then their files.
fn delete(
    store: &Store,
    dir: &DataDir,
    runs: &[(String, String)],
    swept: &mut Swept,
) -> Result<(), StoreError> {
    if runs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = runs.iter().map(|(id, _)| id.as_str()).collect();
    store.delete_ended_runs(&ids)?;
    for (id, task) in runs {
        for file in dir.run_log_files(task, id).into_iter().flatten() {
            let size = std::fs::metadata(&file).map_or(0, |m| m.len());
            match std::fs::remove_file(&file) {
                Ok(()) => swept.bytes += size,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // The row is gone: say so, as nothing will come back for this file.
                Err(e) => tracing::warn!(
                    "retention deleted run {id} but not its log {}: {e}",
                    file.display()
                ),
            }
        }
    }
    swept.runs += runs.len();
    Ok(())
}

/// One sweep over every configured task and service, then the storage cap.
pub fn sweep<'a>(
    store: &Store,
    dir: &DataDir,
    rules: impl Iterator<Item = (&'a TaskName, &'a Common)>,
    max_size: u64,
    now_ms: i64,
) -> Result<Swept, StoreError> {
    let mut swept = Swept::default();
    for (name, common) in rules {
        let cutoff = common
            .keep_for
            .map(|d| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        if common.keep_runs.is_none() && cutoff.is_none() {
            continue;
        }
        let expired = store.expired_runs(name.as_str(), common.keep_runs, cutoff)?;
        delete(store, dir, &expired, &mut swept)?;
    }
    if max_size > 0 {
        // Every log counts towards the cap; only ended runs can be deleted to meet it.
        let mut total: u64 = 0;
        let mut ended = Vec::new();
        for (id, task, is_ended) in store.runs_oldest_first()? {
            let size = dir.run_log_files(&task, &id).map_or(0, |f| size_of(&f));
            total += size;
            if is_ended {
                ended.push((id, task, size));
            }
        }
        let mut doomed = Vec::new();
        for (id, task, size) in ended {
            if total <= max_size {
                break;
            }
            total -= size;
            doomed.push((id, task));
        }
        delete(store, dir, &doomed, &mut swept)?;
    }
    Ok(swept)
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;

/// Sweeps at boot and then every hour, in the background.
pub(crate) fn spawn_sweeper(inner: Arc<Inner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = inner.stopped() => return,
            }
            let worker = inner.clone();
            let result = tokio::task::spawn_blocking(move || {
                let config = &worker.config;
                let rules = config
                    .tasks
                    .iter()
                    .map(|(n, t)| (n, &t.common))
                    .chain(config.services.iter().map(|(n, s)| (n, &s.common)));
                let now = millis(worker.clock.now());
                let keep =
                    i64::try_from(crate::engine::lifecycle::KEEP.as_millis()).unwrap_or(i64::MAX);
                if let Err(e) = worker.store.prune_lifecycle(now.saturating_sub(keep)) {
                    tracing::warn!("cannot prune the lifecycle outbox: {e}");
                }
                sweep(
                    &worker.store,
                    &worker.dir,
                    rules,
                    config.storage.max_size,
                    now,
                )
            })
            .await;
            match result {
                Ok(Ok(swept)) if swept.runs > 0 => {
                    tracing::info!(
                        "retention deleted {} run(s) and {} bytes of logs",
                        swept.runs,
                        swept.bytes
                    )
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("retention sweep failed: {e}"),
                Err(e) => tracing::error!("retention sweep stopped: {e}"),
            }
        }
    });
}
