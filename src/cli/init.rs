//! `runwisp init [--force]`: write the starter configuration.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Cli;
use crate::engine::config::STARTER;

/// The schema file the starter's first line names.
const SCHEMA_FILE: &str = "runwisp.schema.json";

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
    // The starter's `#:schema ./runwisp.schema.json` line points editors here. It is generated,
    // so it is always (re)written, to match this version of runwisp.
    let schema = schema_path(path);
    std::fs::write(&schema, super::schema::text()?)
        .with_context(|| format!("cannot write {}", schema.display()))?;
    println!(
        "wrote {} (and {} for editors); edit it, check it with `runwisp validate`, and try `runwisp exec heartbeat`",
        path.display(),
        schema.display()
    );
    Ok(0)
}

/// `runwisp.schema.json` in the configuration file's folder.
fn schema_path(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new("")).join(SCHEMA_FILE)
}
