//! `runwisp restart SERVICE`: what `r` does on a service in the terminal UI, from the shell,
//! through the local daemon or the one at `--url`: every replica is replaced at its own index,
//! and a service stopped with `runwisp stop` starts again. A task is refused with a pointer to
//! `runwisp run-task`; anything else the daemon refuses is said in its own words.

use anyhow::{bail, Context};

use super::{remote, Cli};
use crate::engine::model::RunKind;

pub fn run(cli: &Cli, name: &str, json: bool) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let service = client.task(name)?;
    if service.kind == RunKind::Task {
        bail!(
            "{name:?} is a task; restart applies to services (start a task with `runwisp run-task {name}`)"
        );
    }
    let answer = client.restart_service(&service.name)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).context("encoding JSON")?
        );
        return Ok(0);
    }
    let replicas = service.instances.unwrap_or(1);
    let plural = if replicas == 1 { "" } else { "s" };
    println!(
        "{} restarting ({replicas} replica{plural})",
        answer.restarted
    );
    Ok(0)
}
