//! `runwisp runs [TASK] [--json]`: run history from the data directory, newest first.

use anyhow::{anyhow, Context};

use super::{table, Cli};
use crate::engine::config::units::format_duration;
use crate::engine::datadir::{DataDir, DB_FILE};
use crate::engine::model::TaskName;
use crate::engine::store::Store;

/// Opens the history of `cli.data` for reading; `None` when nothing was ever recorded there.
pub(crate) fn open_history(cli: &Cli) -> anyhow::Result<Option<Store>> {
    if !cli.data.join(DB_FILE).exists() {
        return Ok(None);
    }
    let dir = DataDir::open(&cli.data)?;
    Ok(Some(Store::open(&dir.db_path())?))
}

/// The runs as JSON values (the API's run object), whichever side they came from.
fn print(runs: &[serde_json::Value], json: bool, empty: &str) -> anyhow::Result<i32> {
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
    let text =
        |r: &serde_json::Value, k: &str| r.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let duration = match (
                r.get("duration_ms").and_then(|v| v.as_i64()),
                text(r, "start_at"),
            ) {
                (Some(ms), _) => {
                    format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
                }
                (None, Some(_)) => "running".into(),
                _ => "-".into(),
            };
            vec![
                text(r, "id").unwrap_or_default(),
                text(r, "task_name").unwrap_or_default(),
                text(r, "end_reason")
                    .or_else(|| text(r, "status"))
                    .unwrap_or_default(),
                r.get("exit_code")
                    .and_then(|v| v.as_i64())
                    .map_or("-".into(), |c| c.to_string()),
                text(r, "triggered_by").unwrap_or_default(),
                text(r, "start_at")
                    .or_else(|| text(r, "created_at"))
                    .unwrap_or_default(),
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
    let runs: Vec<serde_json::Value> = if cli.url.is_some() {
        let target = super::remote::require(cli)?;
        let client = super::remote::connect(&target)?;
        let limit = limit.clamp(1, 1000);
        let page = client.get_json(&match &task {
            Some(t) => format!("/api/runs?task={t}&limit={limit}"),
            None => format!("/api/runs?limit={limit}"),
        })?;
        page["runs"].as_array().cloned().unwrap_or_default()
    } else {
        let runs = match open_history(cli)? {
            Some(store) => store.list_runs(task.as_ref().map(TaskName::as_str), limit)?,
            None => Vec::new(),
        };
        runs.iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .context("encoding JSON")?
    };
    print(
        &runs,
        json,
        &format!("no runs recorded yet in {}", cli.data.display()),
    )
}
