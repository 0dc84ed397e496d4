//! `runwisp init [--force]`: write the starter configuration.

use std::io::Write;

use anyhow::Context;

use super::Cli;
use crate::engine::config::STARTER;

pub fn run(cli: &Cli, force: bool) -> anyhow::Result<i32> {
    let path = &cli.config;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "runwisp: {} already exists; use `runwisp init --force` to overwrite it",
                path.display()
            );
            return Ok(1);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    file.write_all(STARTER.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "wrote {}; edit it, check it with `runwisp validate`, and try `runwisp exec heartbeat`",
        path.display()
    );
    Ok(0)
}
