//! `runwisp logs RUN_ID`: print a run's log (the rotated `.prev` generation first, if any).
//! `RUN_ID` is a run id or a unique prefix or suffix of one (at least 4 characters, as the
//! terminal UI shows them), resolved in the local history or, through a daemon, by the daemon.
//! Reading the local history creates nothing, not even a missing data directory.

use anyhow::{anyhow, Context};

use super::runs::find_run;
use super::Cli;
use crate::engine::datadir::DataDir;
use crate::engine::history::RunRef;

pub fn run(cli: &Cli, run_id: &str, follow: bool) -> anyhow::Result<i32> {
    let wanted = RunRef::parse(run_id).map_err(|e| anyhow!(e))?;
    // Through a daemon when following (it knows when new lines arrive) or when asked with --url.
    if follow || cli.url.is_some() {
        if let Some(target) = super::remote::find(cli)? {
            let client = super::remote::connect(&target)?;
            // The daemon resolves a prefix or suffix (409 naming the candidates if ambiguous).
            let run = client.run(wanted.as_str())?;
            if follow {
                super::follow::follow(&client, &run, 1, super::follow::OnCtrlC::Leave)?;
            } else {
                client.raw_log(&run.id, &mut std::io::stdout().lock())?;
            }
            return Ok(0);
        }
    }
    let run = find_run(cli, &wanted)?;
    let id = &run.id;
    let dir = DataDir::existing(&cli.data)?
        .ok_or_else(|| anyhow!(super::remote::no_data_dir(&cli.data)))?;
    let files = dir.run_log_files(&run.task_name, &run.id);
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
