//! `runwisp resume RUN_ID [--wait] [--json]`: a new run of an interrupted, crashed, failed or
//! timed-out pipeline run that skips every step that succeeded (through the daemon, which
//! refuses with the reason a run that cannot be resumed).

use anyhow::{anyhow, Context};

use super::{follow, remote, Cli};
use crate::engine::history::RunRef;

pub fn run(cli: &Cli, run_id: &str, wait: bool, json: bool) -> anyhow::Result<i32> {
    // Checked here so a malformed id gets the same sentence as everywhere else.
    RunRef::parse(run_id).map_err(|e| anyhow!(e))?;
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let run = client.resume(run_id)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&run).context("encoding JSON")?
        );
    } else {
        let old = run.resume_of_run_id.as_deref().unwrap_or(run_id);
        println!(
            "resumed run {old} of pipeline {:?} as run {}",
            run.task_name, run.id
        );
    }
    if wait {
        return Ok(follow::to_end(&client, &run, follow::OnCtrlC::Leave)?);
    }
    Ok(0)
}
