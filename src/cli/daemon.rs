//! `runwisp --headless` (alias `runwisp daemon`): the engine in the foreground, for systemd and
//! containers. Start-up refuses early and clearly: a bad configuration exits 1 before anything
//! starts, a data directory held by another daemon exits 1 naming its pid, a listen port in use
//! exits 2. SIGTERM, SIGINT or SIGQUIT shut it down within `[daemon] shutdown_timeout`;
//! SIGHUP reloads `runwisp.toml` (see `engine::reload`); SIGUSR1 and SIGUSR2 are logged and
//! change nothing. Beside the TCP listener it serves
//! the local socket `data/daemon.sock` (removed when it stops); a socket that cannot be made
//! is logged and local clients then log in over TCP.
//!
//! Under systemd (`Type=notify`, see `runwisp service install`) it says `READY=1` once boot,
//! recovery and the listener are up, `RELOADING=1` then `READY=1` around a reload, `STOPPING=1` when a stop signal arrives, and pets the
//! watchdog when `WatchdogSec` is set; without `NOTIFY_SOCKET` all of that is a no-op.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use sd_notify::NotifyState;

use super::{load_config, Cli};
use crate::engine::clock::SystemClock;
use crate::engine::datadir::{create_private_file, DataDir};

pub fn run(cli: &Cli) -> anyhow::Result<i32> {
    let Some(config) = load_config(&cli.config)? else {
        return Ok(1);
    };
    let dir = DataDir::open(&cli.data)?;
    let mut lock = dir.lock_exclusive()?;
    let host = cli
        .host
        .clone()
        .unwrap_or_else(|| config.daemon.host.clone());
    let port = cli.port.unwrap_or(config.daemon.port);
    // The REST API serves on this listener; holding it now makes a second daemon on the same
    // port fail at once with exit code 2.
    let listener = match std::net::TcpListener::bind((host.as_str(), port)) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            say!("runwisp: cannot listen on {host}:{port}: the port is already in use; choose another with --port or [daemon] listen");
            return Ok(2);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot listen on {host}:{port}")),
    };
    let listen = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| format!("{host}:{port}"));
    let reachable = listen
        .replacen("0.0.0.0:", "127.0.0.1:", 1)
        .replacen("[::]:", "[::1]:", 1);
    let scheme = if config.daemon.tls.is_some() {
        "https"
    } else {
        "http"
    };
    lock.announce(&format!("{scheme}://{reachable}"))
        .context("cannot write the daemon's address to daemon.lock")?;
    let _log_guard =
        super::daemon_log::init(dir.root(), config.daemon.log_format, config.daemon.log)
            .context("cannot open daemon.log")?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let (tasks, services) = (config.tasks.len(), config.services.len());
        let zone = config.scheduler.timezone_name.clone();
        let over_tls = config.daemon.tls.is_some();
        // Listening before daemon.pid exists: a SIGTERM sent as soon as it appears must stop
        // the daemon cleanly (removing the file), not kill it by the default action.
        let mut signals = Signals::listen()?;
        pet_watchdog();
        let daemon = crate::daemon::start(crate::daemon::Options {
            config,
            dir: dir.clone(),
            lock,
            listener,
            clock: Arc::new(SystemClock),
            local_socket: true,
        })
        .await?;
        if !crate::server::is_loopback(&host) && !over_tls {
            tracing::warn!("listening on {host}, which is reachable from other machines; put TLS in front (a reverse proxy) or reach it through an SSH tunnel");
        }
        write_pid(&dir)?;
        tracing::info!(
            "runwisp {} started (pid {}, fingerprint {}): {tasks} task(s), {services} service(s), zone {zone}, listening on {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            daemon.engine().fingerprint(),
            listen,
        );
        tell_systemd(&[
            NotifyState::Ready,
            NotifyState::MainPid(std::process::id()),
            NotifyState::Status(&ready_status(tasks, services, &listen)),
        ]);
        let signal = loop {
            match signals.recv().await {
                Got::Stop(signal) => break signal,
                Got::Reload => {
                    // In the background: a stop signal is heard while a reload works.
                    let (engine, listen) = (daemon.engine().clone(), listen.clone());
                    tokio::spawn(async move {
                        reload(&engine).await;
                        let config = engine.config();
                        let status =
                            ready_status(config.tasks.len(), config.services.len(), &listen);
                        tell_systemd(&[NotifyState::Ready, NotifyState::Status(&status)]);
                    });
                }
            }
        };
        tracing::info!("{signal} received; shutting down");
        tell_systemd(&[
            NotifyState::Stopping,
            NotifyState::Status(&format!("stopping ({signal})")),
        ]);
        daemon.stop().await;
        let _ = std::fs::remove_file(dir.pid_path());
        tracing::info!("runwisp stopped");
        anyhow::Ok(())
    });
    // A notification still being sent (its worker gave up waiting) is not waited for: it
    // stays pending in the outbox and goes out after the next start.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result?;
    Ok(0)
}

/// What `systemctl status` shows of a daemon that is up.
fn ready_status(tasks: usize, services: usize, listen: &str) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, listening on {listen}",
        count(tasks, "task"),
        count(services, "service")
    )
}

/// Tells systemd the daemon's state through `NOTIFY_SOCKET`; does nothing when it is unset
/// (not started by systemd as `Type=notify`). The variable stays set for the runs, whose
/// messages systemd ignores (`NotifyAccess=main` in the unit).
fn tell_systemd(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("cannot tell systemd the daemon's state through NOTIFY_SOCKET: {e}");
    }
}

/// When systemd watches the daemon (`WatchdogSec`, so `WATCHDOG_USEC` is set for this pid),
/// a task on the daemon's runtime sends `WATCHDOG=1` at half the interval: a runtime too busy
/// or stuck to run it gets the daemon restarted.
fn pet_watchdog() {
    let Some(limit) = sd_notify::watchdog_enabled().filter(|l| !l.is_zero()) else {
        return;
    };
    tracing::info!(
        "systemd's watchdog is on ({limit:?}); telling it every {:?}",
        limit / 2
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(limit / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut said = false;
        loop {
            tick.tick().await;
            if let Err(e) = sd_notify::notify(&[NotifyState::Watchdog]) {
                if !std::mem::replace(&mut said, true) {
                    tracing::warn!("cannot pet systemd's watchdog through NOTIFY_SOCKET: {e}");
                }
            }
        }
    });
}

/// Raises the soft limit of open files to the hard limit: runs, their logs and API clients
/// all need descriptors, and the common soft limit of 1,024 is easy to reach. The server caps
/// its connections at a share of whatever the limit is.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!("cannot raise the open-files limit from {soft} to {hard}: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the open-files limit: {e}"),
    }
}

fn write_pid(dir: &DataDir) -> anyhow::Result<()> {
    let path = dir.pid_path();
    let mut file = create_private_file(&path)?;
    writeln!(file, "{}", std::process::id())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// SIGHUP: reads `runwisp.toml` again. systemd hears `RELOADING=1` first and `READY=1` after;
/// a file with errors changes nothing, and its errors go to the log and to the bell.
async fn reload(engine: &crate::engine::Engine) {
    tracing::info!("SIGHUP received; reloading the configuration");
    match NotifyState::monotonic_usec_now() {
        Ok(now) => tell_systemd(&[NotifyState::Reloading, now]),
        Err(_) => tell_systemd(&[NotifyState::Reloading]),
    }
    // The summary line is logged by the reload itself.
    if let Err(e) = engine.reload().await {
        tracing::error!("reload on SIGHUP failed: {e}");
        engine.tell_reload_failed(&e);
    }
}

/// What a signal asks of the daemon.
enum Got {
    Stop(&'static str),
    Reload,
}

/// The signals the daemon answers, caught from the moment [`Signals::listen`] returns.
/// SIGTERM, SIGINT and SIGQUIT stop it cleanly; SIGHUP reloads the configuration. SIGUSR1 and
/// SIGUSR2 are logged and leave it running: the default action of each would kill it silently
/// and leave its services behind. SIGPIPE is ignored by the Rust runtime.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let on = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("cannot listen for {name}"))
        };
        Ok(Self {
            term: on(SignalKind::terminate(), "SIGTERM")?,
            int: on(SignalKind::interrupt(), "SIGINT")?,
            quit: on(SignalKind::quit(), "SIGQUIT")?,
            hup: on(SignalKind::hangup(), "SIGHUP")?,
            usr1: on(SignalKind::user_defined1(), "SIGUSR1")?,
            usr2: on(SignalKind::user_defined2(), "SIGUSR2")?,
        })
    }

    /// Waits for a signal that stops or reloads the daemon; says what it does with the others
    /// meanwhile.
    async fn recv(&mut self) -> Got {
        loop {
            tokio::select! {
                _ = self.term.recv() => return Got::Stop("SIGTERM"),
                _ = self.int.recv() => return Got::Stop("SIGINT"),
                _ = self.quit.recv() => return Got::Stop("SIGQUIT"),
                _ = self.hup.recv() => return Got::Reload,
                _ = self.usr1.recv() => tracing::warn!("SIGUSR1 received: runwisp does nothing with it and keeps running"),
                _ = self.usr2.recv() => tracing::warn!("SIGUSR2 received: runwisp does nothing with it and keeps running"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_status_systemd_shows_once_ready() {
        assert_eq!(
            super::ready_status(3, 1, "127.0.0.1:9477"),
            "3 tasks, 1 service, listening on 127.0.0.1:9477"
        );
        assert_eq!(
            super::ready_status(1, 0, "[::1]:80"),
            "1 task, 0 services, listening on [::1]:80"
        );
    }
}
