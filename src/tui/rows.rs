//! What the TUI shows, as the daemon describes it: task and run rows, log lines and the open
//! run's log, and the one way a run id is shown. Plain data; what changes them is in `app`.

use std::collections::VecDeque;

use crate::api::RunObject;
use crate::engine::model::{EndReason, TriggeredBy};

/// The most log lines kept in memory for the open run (older ones scroll away).
pub const MAX_LOG_LINES: usize = 10_000;

/// A task or service row, as `GET /api/tasks` describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskRow {
    pub name: String,
    pub service: bool,
    pub group: String,
    pub description: String,
    pub cron: Option<String>,
    pub schedule_words: Option<String>,
    pub timezone: Option<String>,
    pub next_run_at: Option<String>,
    pub api_trigger: bool,
    pub max_concurrent: Option<u32>,
    pub on_overlap: Option<String>,
    pub instances: Option<u32>,
    pub active_runs: Vec<String>,
    pub last: Option<RunRow>,
    /// Services: what the daemon says the service is doing (never guessed from its runs).
    pub service_state: Option<crate::api::ServiceState>,
}

/// A run row, from the wire's run object ([`crate::api::RunObject`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub task_name: String,
    /// The status as the daemon spells it, for display only: what a run is comes from
    /// `end_reason` (null exactly while the run has not ended).
    pub status: String,
    pub end_reason: Option<EndReason>,
    pub exit_code: Option<i32>,
    /// Unknown for a task's last run (the task list does not say).
    pub triggered_by: Option<TriggeredBy>,
    pub created_at: String,
    pub start_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    /// A service replica's index.
    pub replica_index: Option<u32>,
    /// A pipeline run: opening it shows its steps.
    pub pipeline: bool,
}

impl RunRow {
    /// The theme role of the run as an operator reads it: `running` (or waiting), `ok`, `warn`
    /// (skipped, stopped, refused for a full queue) or `error`.
    pub fn role(&self) -> &'static str {
        match self.end_reason {
            None => "running",
            Some(EndReason::Success) => "ok",
            Some(EndReason::Skipped | EndReason::Stopped | EndReason::QueueFull) => "warn",
            Some(_) => "error",
        }
    }

    /// Whether the run is over (its log cannot grow any more).
    pub fn ended(&self) -> bool {
        self.end_reason.is_some()
    }

    /// What the run's result column says: how it ended, else its status.
    pub fn result(&self) -> &str {
        match self.end_reason {
            Some(reason) => reason.as_str(),
            None => &self.status,
        }
    }

    /// What started the run (`cron`, `tui`, …); empty when unknown.
    pub fn trigger(&self) -> &'static str {
        self.triggered_by.map_or("", TriggeredBy::as_str)
    }
}

impl From<&RunObject> for RunRow {
    fn from(r: &RunObject) -> Self {
        RunRow {
            id: r.id.clone(),
            task_name: r.task_name.clone(),
            status: r.status.to_string(),
            end_reason: r.end_reason,
            exit_code: r.exit_code,
            triggered_by: Some(r.triggered_by),
            created_at: r.created_at.clone(),
            start_at: r.start_at.clone(),
            duration_ms: r.duration_ms,
            message: r.message.clone(),
            replica_index: r.replica_index,
            pipeline: r.kind == crate::engine::model::RunKind::Pipeline,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Stdout,
    Stderr,
    System,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub n: u64,
    pub kind: LineKind,
    pub text: String,
}

/// The open run's log.
#[derive(Debug, Clone, Default)]
pub struct LogState {
    pub run: Option<RunRow>,
    pub lines: VecDeque<LogLine>,
    /// Following the end; scrolling up pauses it.
    pub follow: bool,
    /// Index (into `lines`) of the first line shown when not following.
    pub top: usize,
    pub finished: bool,
    /// For a run a webhook started: what the delivery was (`push main@0123456 acme/app`).
    pub webhook: Option<String>,
}

/// The last four characters of a run id, as the UIs show it (whole when shorter).
pub fn short(id: &str) -> &str {
    let start = id.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    &id[start..]
}

/// How a run is named wherever the TUI shows it (history, log header, dialogs, notices):
/// `…` and the last four characters of its id.
pub fn run_label(id: &str) -> String {
    format!("…{}", short(id))
}
