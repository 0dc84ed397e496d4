//! Bare `runwisp` and `runwisp tui`: the terminal-first start. No configuration here: offer the
//! starter in an editor (or, without a terminal, say how to make one). A daemon already runs for
//! this data directory: attach to it. Otherwise start one in the background, wait until it is
//! healthy, attach; quitting asks whether to leave it running.

use std::io::{IsTerminal, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{load_config, remote, Cli};
use crate::client;
use crate::engine::datadir::DataDir;
use crate::tui::{self, data::Login, Look};

fn look(cli: &Cli) -> anyhow::Result<Look> {
    let dir = cli
        .config
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    Look::load(&cli.theme, cli.keymap.as_deref(), &dir)
}

fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Bare `runwisp`.
pub fn start(cli: &Cli) -> anyhow::Result<i32> {
    if !cli.config.exists() {
        if !on_terminal() {
            say!(
                "runwisp: there is no {} here; create the starter configuration with `runwisp init`, then edit it",
                cli.config.display()
            );
            return Ok(1);
        }
        if !tui::firstrun::run(&cli.config, &look(cli)?.theme)? {
            say!(
                "runwisp: no {} was written; `runwisp init` writes the starter too",
                cli.config.display()
            );
            return Ok(1);
        }
    }
    if load_config(&cli.config)?.is_none() {
        return Ok(1);
    }
    let target = match remote::find(cli)? {
        Some(t) => t,
        None => start_daemon(cli)?,
    };
    attach(cli, target, cli.url.is_none())
}

/// `runwisp tui [--url URL]`: attach to a running daemon.
pub fn attach_only(cli: &Cli) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    attach(cli, target, cli.url.is_none())
}

fn attach(cli: &Cli, target: remote::Target, local: bool) -> anyhow::Result<i32> {
    if !on_terminal() {
        bail!("the terminal UI needs a terminal; `runwisp --headless` runs the daemon without one");
    }
    let look = look(cli)?;
    let login = Login {
        url: target.url.clone(),
        password: target.password.clone(),
    };
    let stop_daemon = tui::run(login, local, &look)?;
    if local {
        let dir = DataDir::open(&cli.data)?;
        if stop_daemon {
            stop_local_daemon(&dir)?;
            println!("runwisp: the daemon stopped");
        } else if let Some(pid) = dir.daemon_holding_lock()? {
            println!("runwisp: the daemon keeps running{pid}; `runwisp` attaches again, `runwisp status` checks it");
        }
    }
    Ok(0)
}

/// Starts `runwisp --headless` detached (its own session, its log in `daemon.log`) and waits
/// until it answers.
fn start_daemon(cli: &Cli) -> anyhow::Result<remote::Target> {
    let exe =
        std::env::current_exe().context("cannot find the runwisp binary to start the daemon")?;
    let mut command = Command::new(exe);
    command
        .arg("--headless")
        .arg("--config")
        .arg(&cli.config)
        .arg("--data")
        .arg(&cli.data);
    if let Some(host) = &cli.host {
        command.arg("--host").arg(host);
    }
    if let Some(port) = cli.port {
        command.arg("--port").arg(port.to_string());
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe; the child detaches from this terminal's session so
    // closing the SSH session does not take the daemon with it.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = command.spawn().context("cannot start the daemon")?;
    say!(
        "runwisp: starting the daemon (its log is in {})",
        cli.data.join("daemon.log").display()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    // Finding it fails while it boots (no address announced yet); the last reason is kept.
    let mut last_problem = None;
    loop {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut err);
            }
            bail!("the daemon could not start ({status}): {}", err.trim());
        }
        match remote::find(cli) {
            Ok(Some(target)) => match client::health(&target.url) {
                Ok(_) => return Ok(target),
                Err(e) => last_problem = Some(e.to_string()),
            },
            Ok(None) => {}
            Err(e) => last_problem = Some(e.to_string()),
        }
        if Instant::now() > deadline {
            let why = last_problem.map(|p| format!(" ({p})")).unwrap_or_default();
            bail!(
                "the daemon did not become healthy within 15 seconds{why}; see {}",
                cli.data.join("daemon.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM to the daemon holding `dir`, then wait until it has let go of the lock.
fn stop_local_daemon(dir: &DataDir) -> anyhow::Result<()> {
    let Some(pid) = dir.holder_pid().and_then(|pid| i32::try_from(pid).ok()) else {
        bail!("cannot tell which process the daemon is; stop it with its service manager");
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .with_context(|| format!("cannot signal the daemon (pid {pid})"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while dir.daemon_holding_lock()?.is_some() {
        if Instant::now() > deadline {
            bail!(
                "the daemon (pid {pid}) is still stopping; `runwisp status` tells when it is gone"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
