//! `runwisp stop TASK|RUN_ID`: what `s` does in the terminal UI, from the shell, through the
//! local daemon or the one at `--url`. A task or service name stops every active and queued
//! run of the task, or every replica of the service (which stays stopped until
//! `runwisp restart`); a run id, or a unique prefix or suffix of one (at least 4 characters, as
//! `runwisp logs` takes it, resolved by the daemon), stops that run. A word that could be
//! either is tried as a name first; a whole run id always names a run.

use anyhow::{anyhow, Context};
use serde::Serialize;

use super::{remote, Cli};
use crate::api::{RunObject, TaskObject};
use crate::client::{Client, ClientError};
use crate::engine::history::RunRef;
use crate::engine::model::RunKind;

pub fn run(cli: &Cli, what: &str, json: bool) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    // Something a run id could be: a name can be too, but a whole id is never taken as one.
    let run_ref = RunRef::parse(what).ok();
    if let Some(wanted) = run_ref.as_ref().filter(|r| r.full().is_some()) {
        return stop_run(&client, wanted, json);
    }
    match client.task(what) {
        Ok(task) => stop_task(&client, &task, json),
        Err(unknown) if unknown.status() == Some(404) => match &run_ref {
            // Neither a task nor a service: perhaps the start or the end of a run id.
            Some(wanted) => match stop_run(&client, wanted, json) {
                Err(e) if is_not_found(&e) => {
                    Err(anyhow!("{unknown}, and no run {}", wanted.what()))
                }
                other => other,
            },
            None => Err(unknown.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Whether `e` is the daemon saying that what was asked for does not exist.
fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ClientError>()
        .is_some_and(|e| e.status() == Some(404))
}

fn print_json(answer: &impl Serialize) -> anyhow::Result<i32> {
    println!(
        "{}",
        serde_json::to_string_pretty(answer).context("encoding JSON")?
    );
    Ok(0)
}

/// Stops task or service `task` and says what was stopped.
fn stop_task(client: &Client, task: &TaskObject, json: bool) -> anyhow::Result<i32> {
    let answer = client.stop_task(&task.name)?;
    if json {
        return print_json(&answer);
    }
    let name = &task.name;
    match (task.kind, answer.stopped_runs) {
        (RunKind::Service, _) => {
            println!("{name} stopped; it stays stopped until `runwisp restart {name}`")
        }
        (_, 0) => println!("{name} had no active or queued run; nothing to stop"),
        (_, 1) => println!("stopped 1 run of {name}"),
        (_, n) => println!("stopped {n} runs of {name}"),
    }
    Ok(0)
}

/// Stops the one run `wanted` names (the daemon resolves a prefix or suffix, and refuses an
/// ambiguous one naming the candidates).
fn stop_run(client: &Client, wanted: &RunRef, json: bool) -> anyhow::Result<i32> {
    let run = client.run(wanted.as_str())?;
    let answer = client.stop_run_answer(&run.id)?;
    if json {
        return print_json(&answer);
    }
    println!("run {} of {} is stopping", run.id, of_what(&run));
    Ok(0)
}

/// The task of a run, a service replica with its index: `backup`, `web#1`.
fn of_what(run: &RunObject) -> String {
    match run.replica_index {
        Some(index) => format!("{}#{index}", run.task_name),
        None => run.task_name.clone(),
    }
}
