//! `runwisp list [--json]`: `NAME SCHEDULE WHEN NEXT CONCURRENCY POLICY API DESCRIPTION`. The
//! schedule in words (`WHEN`, `schedule_words` in JSON) is [`Schedule::describe_in`]: the words
//! the API and the terminal UI show, followed by the task's zone when it is not UTC.
//!
//! [`Schedule::describe_in`]: crate::engine::schedule::Schedule::describe_in

use anyhow::Context;
use jiff::Timestamp;
use serde::Serialize;

use super::{load_config, table, Cli};
use crate::engine::config::Config;

#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    kind: &'static str,
    schedule: String,
    schedule_words: Option<String>,
    timezone: Option<String>,
    next: Option<String>,
    max_concurrent: Option<u32>,
    on_overlap: Option<&'static str>,
    instances: Option<u32>,
    api_trigger: bool,
    group: String,
    description: String,
}

fn entries(config: &Config, now: Timestamp) -> Vec<Entry> {
    let mut out = Vec::new();
    for (name, task) in &config.tasks {
        let next = task
            .cron
            .as_ref()
            .and_then(|s| s.next_after(now, &task.timezone))
            .map(|t| {
                t.to_zoned(task.timezone.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            });
        out.push(Entry {
            name: name.to_string(),
            kind: "task",
            schedule: task
                .cron
                .as_ref()
                .map_or("(manual)".to_string(), |s| s.expr().to_string()),
            schedule_words: task
                .cron
                .as_ref()
                .map(|s| s.describe_in(&task.timezone_name, false)),
            timezone: task.cron.as_ref().map(|_| task.timezone_name.clone()),
            next,
            max_concurrent: Some(task.max_concurrent),
            on_overlap: Some(task.on_overlap.as_str()),
            instances: None,
            api_trigger: task.common.api_trigger,
            group: task.common.group.clone(),
            description: task.common.description.clone(),
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
        });
    }
    out
}

pub fn run(cli: &Cli, json: bool) -> anyhow::Result<i32> {
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    let entries = entries(&config, Timestamp::now());
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
                e.on_overlap.unwrap_or("-").to_string(),
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
