//! Bare `runwisp` and `runwisp tui`: the terminal-first start. No configuration here: offer the
//! starter in an editor (or, without a terminal, say how to make one). A daemon already runs for
//! this data directory: attach to it. Otherwise start one in the background, wait until it is
//! healthy, attach; quitting asks whether to leave it running. Only a daemon this process
//! started, while it still runs, is offered to be stopped: one under systemd, or one other TUIs
//! attached to, is never this TUI's to stop.

use std::io::{IsTerminal, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::{load_config, remote, Cli};
use crate::client;
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
    match remote::find(cli)? {
        Some(target) => attach(cli, target, None),
        None => {
            let (target, daemon) = start_daemon(cli)?;
            attach(cli, target, Some(daemon))
        }
    }
}

/// `runwisp tui [--url URL]`: attach to a running daemon.
pub fn attach_only(cli: &Cli) -> anyhow::Result<i32> {
    let target = remote::require(cli)?;
    attach(cli, target, None)
}

/// Runs the TUI on `target`; `started` is the daemon this process started for it, if it did.
fn attach(cli: &Cli, target: remote::Target, mut started: Option<Child>) -> anyhow::Result<i32> {
    if !on_terminal() {
        bail!("the terminal UI needs a terminal; `runwisp --headless` runs the daemon without one");
    }
    let look = look(cli)?;
    let login = Login {
        url: target.url.clone(),
        password: target.password.clone(),
        socket: target.socket.clone(),
    };
    // Ours while our child runs: once it is gone, whatever answers is someone else's daemon.
    let mut ours = || started.as_mut().is_some_and(still_running);
    let stop_daemon = tui::run(login, &mut ours, &look)?;
    let Some(mut daemon) = started else {
        return Ok(0);
    };
    if stop_daemon && still_running(&mut daemon) {
        stop_started_daemon(&mut daemon)?;
        println!("runwisp: the daemon stopped");
    } else if still_running(&mut daemon) {
        println!(
            "runwisp: the daemon keeps running (pid {}); `runwisp` attaches again, `runwisp status` checks it",
            daemon.id()
        );
    }
    Ok(0)
}

/// Whether the daemon this process started has not exited (a failed check counts as exited).
fn still_running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// Starts `runwisp --headless` detached (its own session, its log in `daemon.log`) and waits
/// until it answers. Returns where it answers and the daemon's process.
fn start_daemon(cli: &Cli) -> anyhow::Result<(remote::Target, Child)> {
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
    #[allow(unsafe_code)]
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
                Ok(_) => {
                    // Nobody reads its stderr from now on (its log is in daemon.log); a pipe
                    // kept open unread would block it once full.
                    drop(child.stderr.take());
                    return Ok((target, child));
                }
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

/// SIGTERM to the daemon this process started, then wait until it has exited.
fn stop_started_daemon(child: &mut Child) -> anyhow::Result<()> {
    let pid = i32::try_from(child.id()).context("the daemon's pid is out of range")?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .with_context(|| format!("cannot signal the daemon (pid {pid})"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child
        .try_wait()
        .with_context(|| format!("cannot tell whether the daemon (pid {pid}) stopped"))?
        .is_none()
    {
        if Instant::now() > deadline {
            bail!(
                "the daemon (pid {pid}) is still stopping; `runwisp status` tells when it is gone"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
