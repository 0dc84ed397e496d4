//! What the TUI shows, as the daemon describes it: task and run rows, log lines and the open
//! run's log, and the one way a run id is shown. Plain data; what changes them is in `app`.

use std::collections::VecDeque;

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

/// A run row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub task_name: String,
    pub status: String,
    pub end_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub triggered_by: String,
    pub created_at: String,
    pub start_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub message: Option<String>,
    /// A service replica's index.
    pub replica_index: Option<u32>,
}

impl RunRow {
    /// The theme role of the run as an operator reads it: `running` (or waiting), `ok`, `warn`
    /// (skipped, stopped, refused for a full queue) or `error`.
    pub fn role(&self) -> &'static str {
        match (self.status.as_str(), self.end_reason.as_deref()) {
            ("running" | "pending", _) => "running",
            (_, Some("success")) => "ok",
            (_, Some("skipped" | "stopped" | "queue_full")) => "warn",
            _ => "error",
        }
    }

    /// Whether the run is over (its log cannot grow any more).
    pub fn ended(&self) -> bool {
        self.status == "ended"
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
