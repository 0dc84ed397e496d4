//! The daemon's composition root: [`start`] boots the engine and starts what serves it (the
//! HTTP server on its TCP listener and the local Unix socket), [`Daemon::stop`] stops them in
//! the reverse order, in one readable place. `runwisp --headless` (src/cli/daemon.rs) wraps it
//! with the process concerns (lock file, daemon.log, signals, pid file), and tests start it
//! in-process. What comes next plugs in here: the notifier and metrics read the engine's
//! lifecycle lane, webhook receivers join the router.

use std::net::TcpListener;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::engine::clock::Clock;
use crate::engine::config::Config;
use crate::engine::datadir::{DaemonLock, DataDir};
use crate::engine::runner::reaper;
use crate::engine::{BootError, Engine};
use crate::server::local::LocalSocket;

/// What a daemon is made of.
pub struct Options {
    pub config: Config,
    pub dir: DataDir,
    /// The data directory's exclusive lock, already taken.
    pub lock: DaemonLock,
    /// The TCP listener of the REST API, already bound (so a port in use fails early).
    pub listener: TcpListener,
    pub clock: Arc<dyn Clock>,
    /// Serve local clients on `DATA/daemon.sock` too.
    pub local_socket: bool,
}

/// Why a daemon could not start; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the process reaper: {0}")]
    Reaper(std::io::Error),
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error("cannot serve the REST API on its listener: {0}")]
    Listener(std::io::Error),
}

/// How long the daemon's stop waits for notifications being sent.
const NOTIFY_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A running daemon.
pub struct Daemon {
    engine: Engine,
    listen: String,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    /// The outbound notification senders.
    notifiers: crate::notify::worker::Workers,
    /// Removed when dropped, after the server stopped.
    socket: Option<LocalSocket>,
}

/// Boots the engine (recovery, catch-up, services) and starts serving it. Must be called
/// inside a tokio runtime.
pub async fn start(options: Options) -> Result<Daemon, StartError> {
    let Options {
        config,
        dir,
        lock,
        listener,
        clock,
        local_socket,
    } = options;
    reaper::init().map_err(StartError::Reaper)?;
    let listen = listener
        .local_addr()
        .map(|a| a.to_string())
        .map_err(StartError::Listener)?;
    let mut socket = local_socket.then(|| bind_socket(&dir)).flatten();
    let local = socket.as_mut().and_then(LocalSocket::take_listener);
    let engine = Engine::boot(config, dir, lock, clock).await?;
    let notifiers = crate::notify::worker::start(&engine);
    let (stop_server, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve(
        engine.clone(),
        listener,
        local,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Daemon {
        engine,
        listen,
        stop_server,
        server,
        notifiers,
        socket,
    })
}

impl Daemon {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The address the REST API listens on.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// Stops serving (open connections are closed), then stops the engine within
    /// `[daemon] shutdown_timeout`: no new firings, queued runs end `stopped`, active runs get
    /// the stop ladder.
    pub async fn stop(self) {
        let _ = self.stop_server.send(());
        match self.server.await {
            Ok(Err(e)) => tracing::error!("the API server failed: {e}"),
            Err(e) => tracing::error!("the API server stopped: {e}"),
            Ok(Ok(())) => {}
        }
        drop(self.socket);
        // A send in flight gets a moment; what is not sent stays pending for the next start.
        tokio::join!(self.notifiers.stop(NOTIFY_GRACE), self.engine.shutdown());
        // A command notifier still running is stopped with its whole tree.
        let _ = tokio::task::spawn_blocking(crate::notify::command::kill_running).await;
    }
}

/// The local socket, or `None` (logged) when it cannot be made.
fn bind_socket(dir: &DataDir) -> Option<LocalSocket> {
    let path = dir.socket_path();
    match LocalSocket::bind(&path) {
        Ok(socket) => Some(socket),
        Err(e) => {
            tracing::warn!(
                "cannot serve the local socket {}: {e}; local clients log in over TCP instead",
                path.display()
            );
            None
        }
    }
}
