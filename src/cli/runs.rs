//! `runwisp runs [TASK] [--json]`: run history from the data directory, newest first; and
//! [`find_run`], which every command taking a run id uses to read it from that history.

use anyhow::{anyhow, Context};

use super::{table, Cli};
use crate::api::{RunObject, RunPage};
use crate::engine::config::units::format_duration;
use crate::engine::datadir::DB_FILE;
use crate::engine::history::{Resolved, RunRef};
use crate::engine::model::{Run, TaskName};
use crate::engine::store::{Store, StoreError};

/// Opens the history of `cli.data` for reading only: it is never created, migrated or written,
/// nor is the data directory (a daemon of another version may be using it; see
/// [`Store::open_read_only`]). `None` when nothing was ever recorded there.
pub(crate) fn open_history(cli: &Cli) -> anyhow::Result<Option<Store>> {
    let path = cli.data.join(DB_FILE);
    if !path.exists() {
        return Ok(None);
    }
    match Store::open_read_only(&path) {
        Ok(store) => Ok(Some(store)),
        Err(StoreError::NoSchema { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The run of the local history that `wanted` names (its id, or a unique prefix or suffix of
/// it); when none or several do, why, as one sentence.
pub(crate) fn find_run(cli: &Cli, wanted: &RunRef) -> anyhow::Result<Run> {
    let place = format!(" in data directory {}", cli.data.display());
    let not_found = || anyhow!("no run {}{place}", wanted.what());
    if super::remote::existing_data_dir(cli)?.is_none() {
        return Err(anyhow!(
            "no run {}: {}",
            wanted.what(),
            super::remote::no_data_dir(&cli.data)
        ));
    }
    let store = open_history(cli)?.ok_or_else(not_found)?;
    let resolved = store.resolve_run(wanted)?;
    if let Some(sentence) = resolved.ambiguity(wanted, &place) {
        return Err(anyhow!(sentence));
    }
    match resolved {
        Resolved::Found(run) => Ok(*run),
        _ => Err(not_found()),
    }
}

/// The runs (the API's run object, whichever side they came from) as a table or JSON.
fn print(runs: &[RunObject], json: bool, empty: &str) -> anyhow::Result<i32> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(runs).context("encoding JSON")?
        );
        return Ok(0);
    }
    if runs.is_empty() {
        println!("{empty}");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let duration = match (r.duration_ms, &r.start_at) {
                (Some(ms), _) => {
                    format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
                }
                (None, Some(_)) => "running".into(),
                _ => "-".into(),
            };
            // A service replica shows its index: `web#1`.
            let task = match r.replica_index {
                Some(index) => format!("{}#{index}", r.task_name),
                None => r.task_name.clone(),
            };
            vec![
                r.id.clone(),
                task,
                r.end_reason
                    .map_or_else(|| r.status.to_string(), |e| e.to_string()),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                r.triggered_by.to_string(),
                r.start_at.clone().unwrap_or_else(|| r.created_at.clone()),
                duration,
            ]
        })
        .collect();
    table::print(
        &[
            "ID", "TASK", "RESULT", "EXIT", "TRIGGER", "STARTED", "DURATION",
        ],
        &rows,
    );
    Ok(0)
}

pub fn run(cli: &Cli, task: Option<&str>, limit: u32, json: bool) -> anyhow::Result<i32> {
    let task = task
        .map(|t| TaskName::parse(t).map_err(|e| anyhow!("{t:?} is not a task name: {e}")))
        .transpose()?;
    let runs: Vec<RunObject> = if cli.url.is_some() {
        let target = super::remote::require(cli)?;
        let client = super::remote::connect(&target)?;
        let limit = limit.clamp(1, 1000);
        let page: RunPage = client.get(&match &task {
            Some(t) => format!("/api/runs?task={t}&limit={limit}"),
            None => format!("/api/runs?limit={limit}"),
        })?;
        page.runs
    } else {
        let runs = match open_history(cli)? {
            Some(store) => store.list_runs(task.as_ref().map(TaskName::as_str), limit)?,
            None => Vec::new(),
        };
        runs.iter().map(RunObject::from).collect()
    };
    let empty = if cli.url.is_some() {
        "no runs recorded yet".to_string()
    } else if super::remote::existing_data_dir(cli)?.is_some() {
        format!("no runs recorded yet in {}", cli.data.display())
    } else {
        format!(
            "no runs recorded yet: {}",
            super::remote::no_data_dir(&cli.data)
        )
    };
    print(&runs, json, &empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history of schema version 2, as a runwisp from before migration 0003 left it.
    const RUNS_V2: &[u8] = include_bytes!("../../tests/fixtures/store/runs_v2.db");

    fn cli_on(data: &std::path::Path) -> Cli {
        let mut cli = Cli::parse_args(["runwisp", "runs"]).unwrap();
        cli.data = data.to_path_buf();
        cli
    }

    #[test]
    fn the_history_is_read_without_migrating_or_writing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DB_FILE);
        std::fs::write(&db, RUNS_V2).unwrap();
        let cli = cli_on(dir.path());
        let store = open_history(&cli).unwrap().expect("a history");
        assert_eq!(store.list_runs(None, 100).unwrap().len(), 8);
        drop(store);
        assert!(std::fs::read(&db).unwrap() == RUNS_V2, "runwisp.db changed");
        assert!(
            !dir.path().join("logs").exists(),
            "the data directory was set up"
        );
    }

    #[test]
    fn a_history_never_migrated_holds_no_runs() {
        let dir = tempfile::tempdir().unwrap();
        let cli = cli_on(dir.path());
        assert!(open_history(&cli).unwrap().is_none());
        std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
        assert!(open_history(&cli).unwrap().is_none());
    }
}
