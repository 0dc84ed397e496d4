//! Retention (`product.md` §6): `keep_runs` and `keep_for` per task or service, then
//! `[storage] max_size` across all run logs, oldest ended runs first. A deleted run loses its
//! row and its log files together; a run that has not ended is never touched. The sweep runs at
//! boot and hourly, on the blocking pool, without holding up triggers.
//!
//! A task's log folder (`logs/TASK/`) goes once it is empty: when the sweep deleted its last
//! log, or when the task is no longer configured. It stays while the task has a run that has
//! not ended, since that run's log file is created in it with its first line of output.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::clock::millis;
use crate::engine::config::Common;
use crate::engine::datadir::{make_private_dir, DataDir};
use crate::engine::model::{NotifyKind, RunId, TaskName};
use crate::engine::notify;
use crate::engine::store::{Store, StoreError};
use crate::engine::Inner;

/// How often the sweep runs after the one at boot.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What a sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub runs: usize,
    /// Of those, deleted to keep `[storage] max_size`.
    pub for_size: usize,
    pub bytes: u64,
    /// Empty task log folders removed.
    pub folders: usize,
}

fn size_of(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Deletes the rows first (one transaction), then their files; the tasks whose logs went are
/// added to `touched`.
fn delete(
    store: &Store,
    dir: &DataDir,
    runs: &[(String, String)],
    swept: &mut Swept,
    touched: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    if runs.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = runs.iter().map(|(id, _)| id.as_str()).collect();
    store.delete_ended_runs(&ids)?;
    for (id, task) in runs {
        touched.insert(task.clone());
        for file in stored_log_files(dir, task, id).into_iter().flatten() {
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
        remove_pipeline_dir(dir, task, id);
    }
    swept.runs += runs.len();
    Ok(())
}

/// The files of a row as stored: its log generations and a webhook's payload (a hand-edited
/// row with an invalid name has none).
fn stored_log_files(dir: &DataDir, task: &str, id: &str) -> Option<[std::path::PathBuf; 4]> {
    let (task, id) = (TaskName::parse(task).ok()?, RunId::parse(id).ok()?);
    let [prev, log] = dir.run_log_files(&task, &id);
    Some([
        prev,
        log,
        dir.run_payload_path(&task, &id),
        dir.pipeline_env_path(&task, &id),
    ])
}

/// A pipeline run's shared folder, deleted with its row (a resume took it over by renaming).
fn remove_pipeline_dir(dir: &DataDir, task: &str, id: &str) {
    let (Ok(task), Ok(id)) = (TaskName::parse(task), RunId::parse(id)) else {
        return;
    };
    let path = dir.pipeline_dir(&task, &id);
    match std::fs::remove_dir_all(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(
            "retention deleted run {id} but not its pipeline folder {}: {e}",
            path.display()
        ),
    }
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
    let mut touched = BTreeSet::new();
    let mut configured = BTreeSet::new();
    for (name, common) in rules {
        configured.insert(name.to_string());
        let cutoff = common
            .keep_for
            .map(|d| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
        if common.keep_runs.is_none() && cutoff.is_none() {
            continue;
        }
        let expired = store.expired_runs(name.as_str(), common.keep_runs, cutoff)?;
        delete(store, dir, &expired, &mut swept, &mut touched)?;
    }
    if max_size > 0 {
        // Every log counts towards the cap; only ended runs can be deleted to meet it.
        let mut total: u64 = 0;
        let mut ended = Vec::new();
        for (id, task, is_ended) in store.runs_oldest_first()? {
            let size = stored_log_files(dir, &task, &id).map_or(0, |f| size_of(&f));
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
        swept.for_size += doomed.len();
        delete(store, dir, &doomed, &mut swept, &mut touched)?;
    }
    // Tidying folders never fails a sweep that deleted runs: a problem is logged instead.
    swept.folders = prune_log_folders(store, dir, &touched, &configured).unwrap_or_else(|e| {
        tracing::warn!("retention cannot tell which log folders are in use: {e}");
        0
    });
    // Webhook deliveries past the replay window whose run is gone.
    if let Err(e) = store.prune_deliveries(now_ms) {
        tracing::warn!("retention cannot forget old webhook deliveries: {e}");
    }
    Ok(swept)
}

/// The tasks with a run that has not ended.
fn busy_tasks(store: &Store) -> Result<BTreeSet<String>, StoreError> {
    Ok(store
        .unfinished_runs()?
        .into_iter()
        .map(|run| run.task_name.to_string())
        .collect())
}

/// Removes the empty log folders of the tasks in `touched` and of tasks not `configured`,
/// except those of tasks with a run that has not ended. `remove_dir` refuses a folder with
/// anything in it, so a log written meanwhile is never lost. Returns how many went.
fn prune_log_folders(
    store: &Store,
    dir: &DataDir,
    touched: &BTreeSet<String>,
    configured: &BTreeSet<String>,
) -> Result<usize, StoreError> {
    let logs = dir.logs_dir();
    let entries = match std::fs::read_dir(&logs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            tracing::warn!("retention cannot list {}: {e}", logs.display());
            return Ok(0);
        }
    };
    let candidates: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            TaskName::parse(&name).ok()?;
            (touched.contains(&name) || !configured.contains(&name)).then(|| (name, entry.path()))
        })
        .collect();
    if candidates.is_empty() {
        return Ok(0);
    }
    let busy = busy_tasks(store)?;
    let mut removed = Vec::new();
    for (name, path) in candidates {
        if busy.contains(&name) {
            continue;
        }
        match std::fs::remove_dir(&path) {
            Ok(()) => removed.push((name, path)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "retention cannot remove the empty folder {}: {e}",
                path.display()
            ),
        }
    }
    // A run recorded between the look at the history and the removal may have made its
    // folder ready just before it went: put those back, so its output has somewhere to go
    // (all of them when the history cannot say).
    if removed.is_empty() {
        return Ok(0);
    }
    let busy = busy_tasks(store);
    let mut restored = 0;
    for (name, path) in &removed {
        if busy.as_ref().map_or(true, |busy| busy.contains(name)) {
            restored += 1;
            if let Err(e) = make_private_dir(path) {
                tracing::warn!(
                    "retention cannot restore the log folder {}: {e}",
                    path.display()
                );
            }
        }
    }
    busy.map(|_| removed.len() - restored)
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
                let config = worker.config();
                let rules = config
                    .tasks
                    .iter()
                    .map(|(n, t)| (n, &t.common))
                    .chain(config.services.iter().map(|(n, s)| (n, &s.common)));
                let now = millis(worker.clock.now());
                let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                let keep = ms(crate::engine::lifecycle::KEEP);
                let at_most = ms(crate::engine::lifecycle::KEEP_AT_MOST);
                if let Err(e) = worker
                    .store
                    .prune_lifecycle(now.saturating_sub(keep), now.saturating_sub(at_most))
                {
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
            if let Ok(Ok(swept)) = &result {
                if swept.for_size > 0 {
                    notify::raise(
                        &inner,
                        notify::Raised {
                            kind: NotifyKind::LogDiskPressure,
                            task: None,
                            run: None,
                            key_extra: "max_size".into(),
                            title: format!(
                                "[storage] max_size deleted {} run(s) to keep the logs within {}",
                                swept.for_size,
                                crate::engine::config::units::format_size(
                                    inner.config().storage.max_size
                                )
                            ),
                            lines: vec![
                                "The oldest ended runs and their logs were deleted.".to_string()
                            ],
                            at: millis(inner.clock.now()),
                        },
                    );
                }
            }
            match result {
                Ok(Ok(swept)) if swept.runs > 0 || swept.folders > 0 => {
                    tracing::info!(
                        "retention deleted {} run(s), {} bytes of logs and {} empty log folder(s)",
                        swept.runs,
                        swept.bytes,
                        swept.folders
                    )
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("retention sweep failed: {e}"),
                Err(e) => tracing::error!("retention sweep stopped: {e}"),
            }
        }
    });
}
