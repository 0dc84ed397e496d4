//! `runwisp list [--json] [--url [URL]]`: `NAME SCHEDULE WHEN NEXT CONCURRENCY POLICY API
//! DESCRIPTION`. Without `--url` the list comes from `runwisp.toml`, each task's next firing
//! computed in the task's own zone (its `timezone`, else `[scheduler] timezone`, else the host's
//! zone, the rule the daemon applies), whatever the caller's `TZ`. With `--url URL` (or a bare
//! `--url`: the daemon of this data directory) it is what that daemon reports (`GET
//! /api/tasks`), since its configuration and zone may differ from the file here. Either way a
//! time is shown in the zone it was computed in, followed by that zone's name.
//!
//! The schedule in words (`WHEN`, `schedule_words` in JSON) is [`Schedule::describe_in`]: the
//! words the API and the terminal UI show, followed by the task's zone when it is not UTC.
//!
//! [`Schedule::describe_in`]: crate::engine::schedule::Schedule::describe_in

use anyhow::Context;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use super::{load_config, remote, table, Cli};
use crate::api::{TaskList, TaskObject};
use crate::engine::config::Config;
use crate::engine::model::RunKind;
use crate::engine::schedule::Schedule;

#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    kind: &'static str,
    schedule: String,
    schedule_words: Option<String>,
    timezone: Option<String>,
    next: Option<String>,
    max_concurrent: Option<u32>,
    on_overlap: Option<String>,
    instances: Option<u32>,
    api_trigger: bool,
    group: String,
    description: String,
    /// A pipeline's top-level steps (a parallel group counts once).
    steps: Option<usize>,
}

/// How a task without a schedule is shown: `(manual)`, or `(pipeline: 5 steps)`.
fn manual(steps: Option<usize>) -> String {
    match steps {
        Some(1) => "(pipeline: 1 step)".into(),
        Some(n) => format!("(pipeline: {n} steps)"),
        None => "(manual)".into(),
    }
}

/// `t` in `zone`, as the list shows it (`2025-03-09T03:00:00-04:00`).
fn in_zone(t: Timestamp, zone: &TimeZone) -> String {
    t.to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn entries(config: &Config, now: Timestamp) -> Vec<Entry> {
    let mut out = Vec::new();
    for (name, task) in &config.tasks {
        let next = task
            .cron
            .as_ref()
            .and_then(|s| s.next_after(now, &task.timezone))
            .map(|t| in_zone(t, &task.timezone));
        let steps = task.pipeline.as_ref().map(|p| p.steps.len());
        out.push(Entry {
            name: name.to_string(),
            kind: if steps.is_some() { "pipeline" } else { "task" },
            schedule: task
                .cron
                .as_ref()
                .map_or_else(|| manual(steps), |s| s.expr().to_string()),
            schedule_words: task
                .cron
                .as_ref()
                .map(|s| s.describe_in(&task.timezone_name, false)),
            timezone: task.cron.as_ref().map(|_| task.timezone_name.clone()),
            next,
            max_concurrent: Some(task.max_concurrent),
            on_overlap: Some(task.on_overlap.as_str().to_string()),
            instances: None,
            api_trigger: task.common.api_trigger,
            group: task.common.group.clone(),
            description: task.common.description.clone(),
            steps,
        });
    }
    for (name, service) in &config.services {
        out.push(Entry {
            name: name.to_string(),
            kind: "service",
            schedule: format!("(service x{})", service.instances),
            schedule_words: None,
            timezone: None,
            next: None,
            max_concurrent: None,
            on_overlap: None,
            instances: Some(service.instances),
            api_trigger: service.common.api_trigger,
            group: service.common.group.clone(),
            description: service.common.description.clone(),
            steps: None,
        });
    }
    out
}

/// A task or service as a daemon reported it. Its next firing (UTC on the wire) is shown in the
/// task's zone; should this binary not know that zone, in UTC, named so.
fn remote_entry(t: &TaskObject) -> Entry {
    let service = t.kind == RunKind::Service;
    let cron = t.cron.as_deref().filter(|_| !service);
    let zone_name = cron.and(t.timezone.clone());
    let zone = zone_name.as_deref().and_then(|n| TimeZone::get(n).ok());
    let next = t
        .next_run_at
        .as_deref()
        .and_then(|text| text.parse::<Timestamp>().ok());
    let (next, timezone) = match (next, zone, zone_name) {
        (Some(next), Some(zone), name) => (Some(in_zone(next, &zone)), name),
        (Some(next), None, _) => (Some(in_zone(next, &TimeZone::UTC)), Some("UTC".into())),
        (None, _, name) => (None, name),
    };
    let words = cron.map(
        |expr| match (Schedule::parse(expr), t.timezone.as_deref()) {
            (Ok(schedule), Some(zone)) => schedule.describe_in(zone, false),
            _ => t.schedule.clone().unwrap_or_default(),
        },
    );
    let steps = t.steps.as_ref().map(|list| {
        let tops: std::collections::BTreeSet<&str> = list
            .iter()
            .filter_map(|s| s.step.split('.').next())
            .collect();
        tops.len()
    });
    Entry {
        name: t.name.clone(),
        kind: match t.kind {
            RunKind::Service => "service",
            RunKind::Pipeline => "pipeline",
            RunKind::Task => "task",
        },
        schedule: match (cron, t.instances) {
            (Some(expr), _) => expr.to_string(),
            (None, Some(n)) if service => format!("(service x{n})"),
            _ => manual(steps),
        },
        schedule_words: words,
        timezone,
        next,
        max_concurrent: t.max_concurrent,
        on_overlap: t.on_overlap.clone(),
        instances: t.instances,
        api_trigger: t.api_trigger,
        group: t.group.clone(),
        description: t.description.clone(),
        steps,
    }
}

/// What the daemon (`--url`, or the local one) reports.
fn from_daemon(cli: &Cli) -> anyhow::Result<Vec<Entry>> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let list: TaskList = client.get("/api/tasks")?;
    Ok(list.tasks.iter().map(remote_entry).collect())
}

pub fn run(cli: &Cli, json: bool, ask_daemon: bool) -> anyhow::Result<i32> {
    let entries = if ask_daemon {
        from_daemon(cli)?
    } else {
        let Some(config) = load_config(&cli.config)? else {
            return Ok(1);
        };
        entries(
            &config,
            crate::engine::clock::Clock::now(&crate::engine::clock::SystemClock),
        )
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).context("encoding JSON")?
        );
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.schedule.clone(),
                e.schedule_words.clone().unwrap_or_else(|| "-".into()),
                match (&e.next, &e.timezone) {
                    (Some(next), Some(zone)) => format!("{next} ({zone})"),
                    _ => "-".into(),
                },
                e.max_concurrent
                    .or(e.instances)
                    .map_or("-".into(), |n| n.to_string()),
                e.on_overlap.clone().unwrap_or_else(|| "-".into()),
                if e.api_trigger { "yes" } else { "no" }.to_string(),
                e.description.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "NAME",
            "SCHEDULE",
            "WHEN",
            "NEXT",
            "CONCURRENCY",
            "POLICY",
            "API",
            "DESCRIPTION",
        ],
        &rows,
    );
    Ok(0)
}
