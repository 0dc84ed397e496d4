//! `runwisp run-task TASK [--wait]`: ask the running daemon to trigger a task; with `--wait`,
//! follow it and exit with its exit code.

use super::{follow, remote, Cli};

pub fn run(cli: &Cli, task: &str, wait: bool) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let run = client.trigger(task, "cli")?;
    println!("triggered run {} for task {task:?}", run.id);
    if run.status == "ended" {
        follow::report(&run);
        return Ok(if wait { follow::exit_code(&run) } else { 0 });
    }
    if !wait {
        return Ok(0);
    }
    let ended = follow::follow(&client, &run, 1)?;
    follow::report(&ended);
    Ok(follow::exit_code(&ended))
}
