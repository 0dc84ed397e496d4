//! Finding the daemon a command should talk to: `--url` (with `--password`, or a scoped token
//! in `RUNWISP_TOKEN`, which is used instead of logging in), always over TCP,
//! or the daemon holding this data directory, reached through its socket `data/daemon.sock`
//! without a login when the socket is there and admits this user, else at the address in
//! `daemon.lock` with the password in `data/password` (or `RUNWISP_PASSWORD`). Looking for a
//! local daemon only reads: it never creates the data directory or anything in it.

use anyhow::{bail, Context};

use std::path::{Path, PathBuf};

use super::Cli;
use crate::client::Client;
use crate::engine::datadir::DataDir;

/// Why a command that only reads found nothing: there is no data directory at `path`.
pub fn no_data_dir(path: &Path) -> String {
    format!(
        "there is no runwisp data directory at {} (it is `data/` beside the configuration file unless --data names another)",
        path.display()
    )
}

/// The data directory of `cli`, if there is one, opened for reading only.
pub fn existing_data_dir(cli: &Cli) -> anyhow::Result<Option<DataDir>> {
    Ok(DataDir::existing(&cli.data)?)
}

/// Where a daemon is and how to log in to it.
pub struct Target {
    pub url: String,
    /// Empty when it could not be read and the local socket is there to use instead.
    pub password: String,
    /// The local daemon's socket, when it exists (never for `--url`).
    pub socket: Option<PathBuf>,
    /// A scoped token from `RUNWISP_TOKEN` (only with `--url`): presented instead of logging in.
    pub token: Option<String>,
}

/// The environment variable a scoped token is read from.
pub const TOKEN_ENV: &str = "RUNWISP_TOKEN";

/// The scoped token in `RUNWISP_TOKEN`, when one is set.
fn env_token() -> Option<String> {
    std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
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
        if let Some(token) = env_token() {
            return Ok(Some(Target {
                url: url.clone(),
                password: String::new(),
                socket: None,
                token: Some(token),
            }));
        }
        let Some(password) = cli.password.clone() else {
            bail!("--url needs the daemon's password: give --password or set RUNWISP_PASSWORD (or set RUNWISP_TOKEN to a token made by `runwisp token create`)");
        };
        return Ok(Some(Target {
            url: url.clone(),
            password,
            socket: None,
            token: None,
        }));
    }
    let Some(dir) = existing_data_dir(cli)? else {
        return Ok(None);
    };
    if dir.daemon_holding_lock()?.is_none() {
        return Ok(None);
    }
    let Some(url) = dir.daemon_url() else {
        bail!(
            "a runwisp daemon holds data directory {} but has not said where it listens yet; try again in a moment",
            dir.root().display()
        );
    };
    let socket = Some(dir.socket_path()).filter(|p| p.exists());
    let password = match &cli.password {
        Some(p) => p.clone(),
        None => match local_password(&dir) {
            Ok(p) => p,
            // The socket needs no password; connecting says why if it cannot be used either.
            Err(_) if socket.is_some() => String::new(),
            Err(e) => return Err(e),
        },
    };
    Ok(Some(Target {
        url,
        password,
        socket,
        token: None,
    }))
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

/// Connects to the target: through the local socket when there is one and it admits this
/// user, else by logging in over TCP.
pub fn connect(target: &Target) -> anyhow::Result<Client> {
    if let Some(token) = &target.token {
        return Ok(Client::with_token(&target.url, token));
    }
    let Some(socket) = &target.socket else {
        return Ok(Client::login(&target.url, &target.password)?);
    };
    match Client::local(socket) {
        Ok(client) => Ok(client),
        Err(e) if target.password.is_empty() => Err(anyhow::anyhow!(
            "{e}; and the daemon's password, to log in at {} instead, cannot be read",
            target.url
        )),
        Err(_) => Ok(Client::login(&target.url, &target.password)?),
    }
}

/// The daemon's own password, read from the local data directory.
pub fn password(cli: &Cli) -> anyhow::Result<String> {
    let Some(dir) = existing_data_dir(cli)? else {
        bail!(
            "{}; the daemon creates it, and its password, at its first start",
            no_data_dir(&cli.data)
        );
    };
    if !dir.password_path().exists() {
        bail!(
            "there is no password file in {} yet; the daemon creates it at its first start",
            dir.root().display()
        );
    }
    local_password(&dir)
}
