//! `runwisp reload`: what SIGHUP does, from the shell, through the local daemon or the one at
//! `--url`: `runwisp.toml` is read again and put in force without stopping anything it keeps.
//! Prints the daemon's one-line summary; a file with errors changes nothing, and every error is
//! printed with its line (exit 1).

use anyhow::Context;

use super::{remote, Cli};

pub fn run(cli: &Cli, json: bool) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    let client = remote::connect(&target)?;
    let answer = client.reload()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).context("encoding JSON")?
        );
    } else {
        println!("{}", answer.summary);
    }
    Ok(0)
}
