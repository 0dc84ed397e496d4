//! `runwisp logs RUN_ID`: print a run's log (the rotated `.prev` generation first, if any).

use anyhow::{anyhow, Context};

use super::runs::open_history;
use super::Cli;
use crate::engine::datadir::DataDir;
use crate::engine::model::RunId;

pub fn run(cli: &Cli, run_id: &str, follow: bool) -> anyhow::Result<i32> {
    let id = RunId::parse(run_id).map_err(|e| anyhow!(e))?;
    // Through a daemon when following (it knows when new lines arrive) or when asked with --url.
    if follow || cli.url.is_some() {
        if let Some(target) = super::remote::find(cli)? {
            let client = super::remote::connect(&target)?;
            if follow {
                let run = client.run(&id.to_string())?;
                super::follow::follow(&client, &run, 1, super::follow::OnCtrlC::Leave)?;
            } else {
                client.raw_log(&id.to_string(), &mut std::io::stdout().lock())?;
            }
            return Ok(0);
        }
    }
    let not_found = || anyhow!("no run {id} in data directory {}", cli.data.display());
    let store = open_history(cli)?.ok_or_else(not_found)?;
    let run = store.get_run(&id)?.ok_or_else(not_found)?;
    let files = DataDir::open(&cli.data)?
        .run_log_files(&run.task_name, &run.id)
        .ok_or_else(|| anyhow!("run {id} names a task that is not a valid name"))?;
    let mut out = std::io::stdout().lock();
    let mut printed = false;
    for file in files {
        match std::fs::File::open(&file) {
            Ok(mut opened) => {
                // A piece at a time: a log can be larger than memory.
                let copied = std::io::copy(&mut opened, &mut out)
                    .with_context(|| format!("cannot print {}", file.display()))?;
                printed |= copied > 0;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }
    if !printed {
        match run.message {
            Some(message) => println!("[SYSTEM] {message}"),
            None => eprintln!("runwisp: run {id} printed nothing"),
        }
    }
    Ok(0)
}
