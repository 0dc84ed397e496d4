//! Finding the daemon a command should talk to: `--url` (with `--password`), or the daemon
//! holding this data directory, whose address is in `daemon.lock` and whose password is in
//! `data/password` (or `RUNWISP_PASSWORD`).

use anyhow::{bail, Context};

use super::Cli;
use crate::client::Client;
use crate::engine::datadir::DataDir;

/// Where a daemon is and how to log in to it.
pub struct Target {
    pub url: String,
    pub password: String,
}

fn local_password(dir: &DataDir) -> anyhow::Result<String> {
    let path = dir.password_path();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the daemon's password from {}", path.display()))?;
    Ok(text.trim().to_string())
}

/// The daemon to use: `Some` for `--url` or a running local daemon, `None` when there is none.
pub fn find(cli: &Cli) -> anyhow::Result<Option<Target>> {
    if let Some(url) = &cli.url {
        let Some(password) = cli.password.clone() else {
            bail!("--url needs the daemon's password: give --password or set RUNWISP_PASSWORD");
        };
        return Ok(Some(Target {
            url: url.clone(),
            password,
        }));
    }
    if !cli.data.exists() {
        return Ok(None);
    }
    let dir = DataDir::open(&cli.data)?;
    if dir.daemon_holding_lock()?.is_none() {
        return Ok(None);
    }
    let Some(url) = dir.daemon_url() else {
        bail!(
            "a runwisp daemon holds data directory {} but has not said where it listens yet; try again in a moment",
            dir.root().display()
        );
    };
    let password = match &cli.password {
        Some(p) => p.clone(),
        None => local_password(&dir)?,
    };
    Ok(Some(Target { url, password }))
}

/// The daemon to use, or a clear refusal when none runs.
pub fn require(cli: &Cli) -> anyhow::Result<Target> {
    match find(cli)? {
        Some(t) => Ok(t),
        None => bail!(
            "no runwisp daemon is running for data directory {}; start one with `runwisp --headless`, or give --url",
            cli.data.display()
        ),
    }
}

/// Logs in to the target.
pub fn connect(target: &Target) -> anyhow::Result<Client> {
    Ok(Client::login(&target.url, &target.password)?)
}

/// The daemon's own password, read from the local data directory.
pub fn password(cli: &Cli) -> anyhow::Result<String> {
    let dir = DataDir::open(&cli.data)?;
    if !dir.password_path().exists() {
        bail!(
            "there is no password file in {} yet; the daemon creates it at its first start",
            dir.root().display()
        );
    }
    local_password(&dir)
}
