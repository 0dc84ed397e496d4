//! `runwisp run-task TASK [--wait]`: ask the running daemon to trigger a task; with `--wait`,
//! follow it and exit with its exit code.

use super::{follow, remote, Cli};

pub fn run(cli: &Cli, task: &str, wait: bool) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let run = client.trigger(task, "cli")?;
    println!("triggered run {} for task {task:?}", run.id);
    if wait {
        return Ok(follow::to_end(&client, &run, follow::OnCtrlC::Leave)?);
    }
    if run.ended() {
        follow::report(&run);
    }
    Ok(0)
}
