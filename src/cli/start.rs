//! Bare `runwisp`, before `tui::start` takes over: when `runwisp.toml` on disk has errors but
//! a healthy daemon already runs for this data directory (it started from an earlier, valid
//! file and keeps that one), attach to it and show what is wrong with the file as warnings on
//! stderr, instead of refusing. Everything else (no file, a valid file, no healthy daemon, a
//! daemon named by `--url`) is `tui::start`'s, which refuses a bad file before starting one.

use super::{remote, tui, Cli};
use crate::client;
use crate::engine::config::{self, LoadError};

pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    if cli.url.is_none() && cli.config.exists() {
        if let Err(LoadError::Invalid(errors)) = config::load_file(&cli.config) {
            if healthy_local_daemon(cli) {
                for e in &errors.0 {
                    say!("runwisp: warning: {e}");
                }
                let n = errors.0.len();
                say!(
                    "runwisp: warning: {} has {n} error{}; attaching to the daemon already running for data directory {}, which keeps the configuration it started with",
                    cli.config.display(),
                    if n == 1 { "" } else { "s" },
                    cli.data.display()
                );
                return tui::attach_only(cli);
            }
        }
    }
    tui::start(cli)
}

/// Whether a daemon holds this data directory and answers its health check. Any doubt is a
/// no: `tui::start` then reports the configuration's errors as it always did.
fn healthy_local_daemon(cli: &Cli) -> bool {
    match remote::find(cli) {
        Ok(Some(target)) => client::health(&target.url).is_ok(),
        _ => false,
    }
}
