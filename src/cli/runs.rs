//! `runwisp runs [TASK] [--json]`: run history from the data directory, newest first.

use anyhow::{anyhow, Context};

use super::{table, Cli};
use crate::engine::config::units::format_duration;
use crate::engine::datadir::DataDir;
use crate::engine::model::{rfc3339, Run, TaskName};
use crate::engine::store::Store;

/// Opens the history of `cli.data` for reading; `None` when nothing was ever recorded there.
pub(crate) fn open_history(cli: &Cli) -> anyhow::Result<Option<Store>> {
    if !cli.data.join("runwisp.db").exists() {
        return Ok(None);
    }
    let dir = DataDir::open(&cli.data)?;
    Ok(Some(Store::open(&dir.db_path())?))
}

fn duration(run: &Run) -> String {
    match (run.start_at, run.end_at) {
        (Some(s), Some(e)) => {
            format_duration(std::time::Duration::from_millis((e - s).max(0) as u64))
        }
        (Some(_), None) => "running".into(),
        _ => "-".into(),
    }
}

pub fn run(cli: &Cli, task: Option<&str>, limit: u32, json: bool) -> anyhow::Result<i32> {
    let task = task
        .map(|t| TaskName::parse(t).map_err(|e| anyhow!("{t:?} is not a task name: {e}")))
        .transpose()?;
    if cli.url.is_some() {
        return remote(cli, task.as_ref(), limit, json);
    }
    let runs = match open_history(cli)? {
        Some(store) => store.list_runs(task.as_ref().map(TaskName::as_str), limit)?,
        None => Vec::new(),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs).context("encoding JSON")?
        );
        return Ok(0);
    }
    if runs.is_empty() {
        println!("no runs recorded yet in {}", cli.data.display());
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.task_name.clone(),
                r.end_reason.map_or(r.status.to_string(), |e| e.to_string()),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                r.triggered_by.to_string(),
                rfc3339(r.start_at.unwrap_or(r.created_at)),
                duration(r),
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

/// `runs --url`: the same table from a remote daemon.
fn remote(cli: &Cli, task: Option<&TaskName>, limit: u32, json: bool) -> anyhow::Result<i32> {
    let target = super::remote::require(cli)?;
    let client = super::remote::connect(&target)?;
    let limit = limit.clamp(1, 1000);
    if json {
        let value = client.get_json(&match task {
            Some(t) => format!("/api/runs?task={t}&limit={limit}"),
            None => format!("/api/runs?limit={limit}"),
        })?;
        println!(
            "{}",
            serde_json::to_string_pretty(&value["runs"]).context("encoding JSON")?
        );
        return Ok(0);
    }
    let runs = client.runs(task.map(TaskName::as_str), limit)?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.task_name.clone(),
                r.end_reason.clone().unwrap_or_else(|| r.status.clone()),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                r.triggered_by.clone(),
                r.start_at.clone().unwrap_or_else(|| r.created_at.clone()),
                r.duration_ms
                    .map(|ms| format_duration(std::time::Duration::from_millis(ms.max(0) as u64)))
                    .unwrap_or_else(|| "-".into()),
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
