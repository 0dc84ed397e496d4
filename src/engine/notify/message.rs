//! What a notification says (`notifications.md` §5): a headline (the task, a verb and the
//! outcome) and a body of short lines: duration, trigger, local time in the task's zone, run
//! id, the last lines of output of a failure, a link when `[daemon] external_url` is set, and
//! the daemon's fingerprint as a footer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::config::units::format_duration;
use crate::engine::config::Config;
use crate::engine::model::{EndReason, NotifyKind, Run, RunKind, Severity};
use crate::engine::store::NoticeRow;

/// At most this much of a failure's output is quoted.
const OUTPUT_BYTES: usize = 300;
/// How many of its last lines.
const OUTPUT_LINES: usize = 3;

/// What a delivery sends, as stored in the outbox: the channel formats it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub kind: NotifyKind,
    pub severity: Severity,
    pub task: Option<String>,
    pub run_id: Option<String>,
    pub title: String,
    pub text: String,
    pub count: u32,
    /// Unix ms of the newest occurrence.
    pub occurred_at: i64,
}

impl Outgoing {
    /// The delivery of `row` (after its latest occurrence was counted): repeats say how many.
    pub fn of(row: &NoticeRow) -> String {
        let title = if row.count > 1 {
            let span = Duration::from_millis((row.last_at - row.created_at).max(0) as u64);
            format!(
                "{} ({} times in {})",
                row.title,
                row.count,
                format_duration(round_to_seconds(span))
            )
        } else {
            row.title.clone()
        };
        let outgoing = Outgoing {
            kind: row.kind,
            severity: row.severity,
            task: row.task.clone(),
            run_id: row.run_id.clone(),
            title,
            text: row.body.clone(),
            count: row.count,
            occurred_at: row.last_at,
        };
        serde_json::to_string(&outgoing).unwrap_or_default()
    }
}

fn round_to_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().max(1))
}

/// `backup-db`, or `web#1` for a service replica.
pub(super) fn who(run: &Run) -> String {
    match (run.kind, run.replica_index) {
        (RunKind::Service, Some(index)) => format!("{}#{index}", run.task_name),
        _ => run.task_name.to_string(),
    }
}

fn ran_for(run: &Run) -> Option<String> {
    run.duration_ms()
        .map(|ms| format_duration(round_to_seconds(Duration::from_millis(ms.max(0) as u64))))
}

/// The headline of a run event.
pub(super) fn headline(kind: NotifyKind, run: &Run, failures: u32, since_ms: i64) -> String {
    let who = who(run);
    let code = run.exit_code.unwrap_or(-1);
    match kind {
        NotifyKind::RunFailed if run.end_reason == Some(EndReason::LogOverflow) => {
            format!("{who} failed: its log reached log_max_size")
        }
        NotifyKind::RunFailed => format!("{who} failed (exit {code})"),
        NotifyKind::RunTimeout => match ran_for(run) {
            Some(d) => format!("{who} timed out after {d}"),
            None => format!("{who} timed out"),
        },
        NotifyKind::RunCrashed => format!("{who} crashed: runwisp stopped while it ran"),
        NotifyKind::RunSucceeded => match ran_for(run) {
            Some(d) => format!("{who} succeeded in {d}"),
            None => format!("{who} succeeded"),
        },
        NotifyKind::RunRecovered => {
            let over = run.end_at.unwrap_or(since_ms) - since_ms;
            let over = format_duration(round_to_seconds(Duration::from_millis(over.max(0) as u64)));
            let plural = if failures == 1 { "" } else { "s" };
            format!("{who} recovered after {failures} failure{plural} over {over}")
        }
        NotifyKind::RunStarted => format!("{who} started"),
        NotifyKind::RunStopped => format!("{who} was stopped"),
        NotifyKind::RunMissed => format!("{who} did not start"),
        other => format!("{who}: {other}"),
    }
}

/// Removes control characters (a task's output must not steer a terminal or a chat client).
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The last lines of output, at most [`OUTPUT_BYTES`], cleaned.
pub(super) fn quote(lines: &[String]) -> Option<String> {
    let mut kept: Vec<String> = lines
        .iter()
        .rev()
        .take(OUTPUT_LINES)
        .map(|l| clean(l))
        .collect();
    kept.reverse();
    let mut text = kept.join("\n");
    if text.trim().is_empty() {
        return None;
    }
    if text.len() > OUTPUT_BYTES {
        let mut cut = text.len() - OUTPUT_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = format!("…{}", &text[cut..]);
    }
    Some(text)
}

/// The body lines of a run event ([`finish`] adds the link and the footer).
pub(super) fn lines(config: &Config, run: &Run, output: Option<String>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = ran_for(run) {
        lines.push(format!("Duration: {d}"));
    }
    lines.push(format!("Trigger: {}", run.triggered_by));
    let at = run.end_at.or(run.start_at).unwrap_or(run.created_at);
    let (zone, zone_name) = match config.tasks.get(&run.task_name) {
        Some(task) => (task.timezone.clone(), task.timezone_name.as_str()),
        None => (
            config.scheduler.timezone.clone(),
            config.scheduler.timezone_name.as_str(),
        ),
    };
    if let Ok(ts) = jiff::Timestamp::from_millisecond(at) {
        let local = ts.to_zoned(zone);
        lines.push(format!(
            "Time: {} ({zone_name})",
            local.strftime("%Y-%m-%d %H:%M:%S %Z")
        ));
    }
    lines.push(format!("Run: {}", run.id));
    if let Some(message) = &run.message {
        lines.push(clean(message));
    }
    if let Some(output) = output {
        lines.push(format!("Last output:\n{output}"));
    }
    lines
}

/// Adds the link (when `external_url` is set) and the fingerprint footer.
pub(super) fn finish(
    config: &Config,
    fingerprint: &str,
    run_id: Option<&str>,
    mut lines: Vec<String>,
) -> String {
    if let Some(url) = run_id.and_then(|id| run_url(config, id)) {
        lines.push(url);
    }
    lines.push(format!("— runwisp {fingerprint}"));
    lines.join("\n")
}

/// The link to a run, when `external_url` is set.
pub fn run_url(config: &Config, run_id: &str) -> Option<String> {
    config
        .daemon
        .external_url
        .as_ref()
        .map(|base| format!("{base}/runs/{run_id}"))
}
