//! TLS on the daemon's TCP listener (`[daemon] tls_cert`, `tls_key`, `client_ca`): the
//! handshake in front of every connection, bounded by [`HANDSHAKE_TIMEOUT`] so a silent client
//! cannot hold a connection slot, and the watcher that rebuilds the TLS configuration when the
//! files change on disk.
//!
//! Every [`RELOAD_EVERY`] the watcher reads the files and compares their modification times and
//! SHA-256 digests with the last ones seen. On a change it builds a new configuration with
//! [`tls_server_config`]: new connections use it, open ones keep theirs. A file that cannot be
//! used is logged in one sentence and the configuration in force is kept, until the files change
//! again. Failed handshakes (a plain-HTTP client, no or a wrong client certificate) are the
//! client's problem and are logged at debug only.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::engine::config::{tls_server_config, Tls, TlsError};

/// A client must finish the TLS handshake within this time.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate, key and CA files are checked for changes.
pub const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// Put on every request that came over TLS (the login cookie is then `Secure`).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// The TLS configuration in force, shared by the accept loop and the watcher.
#[derive(Clone)]
pub struct Listener {
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

/// What the files were when last read: modification time and digest of each.
type Stamp = Vec<(Option<SystemTime>, [u8; 32])>;

fn stamp(files: &Tls) -> Stamp {
    files.files().into_iter().map(stamp_of).collect()
}

fn stamp_of(path: &Path) -> (Option<SystemTime>, [u8; 32]) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    // An unreadable file digests as empty; building the configuration then says why.
    let bytes = std::fs::read(path).unwrap_or_default();
    (modified, Sha256::digest(&bytes).into())
}

impl Listener {
    /// Builds the configuration from `files` and starts the watcher (until the returned guard
    /// is dropped). Must be called inside a tokio runtime.
    pub fn start(files: Tls) -> Result<(Listener, Watcher), TlsError> {
        let seen = stamp(&files);
        let listener = Listener {
            current: Arc::new(RwLock::new(tls_server_config(&files)?)),
        };
        let task = tokio::spawn(watch(files, seen, listener.clone()));
        Ok((listener, Watcher(task)))
    }

    fn config(&self) -> Arc<rustls::ServerConfig> {
        match self.current.read() {
            Ok(config) => config.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, config: Arc<rustls::ServerConfig>) {
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }

    /// The TLS handshake on `socket`; `None` (logged at debug) when it fails or takes longer
    /// than [`HANDSHAKE_TIMEOUT`].
    pub async fn handshake(
        &self,
        socket: TcpStream,
        peer: SocketAddr,
    ) -> Option<TlsStream<TcpStream>> {
        let acceptor = TlsAcceptor::from(self.config());
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer, "TLS handshake failed: {e}");
                None
            }
            Err(_) => {
                tracing::debug!(peer = %peer, "TLS handshake not finished within {}s; closed", HANDSHAKE_TIMEOUT.as_secs());
                None
            }
        }
    }
}

/// Stops the watcher when dropped.
pub struct Watcher(tokio::task::JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn watch(files: Tls, mut seen: Stamp, listener: Listener) {
    let files = Arc::new(files);
    let mut every = tokio::time::interval(RELOAD_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let (on_disk, last) = (files.clone(), seen.clone());
        let checked = tokio::task::spawn_blocking(move || {
            let now = stamp(&on_disk);
            let built = (now != last).then(|| tls_server_config(&on_disk));
            (now, built)
        })
        .await;
        let Ok((now, built)) = checked else {
            continue;
        };
        seen = now;
        match built {
            None => {}
            Some(Ok(config)) => {
                listener.replace(config);
                tracing::info!("the TLS files changed; new connections use them");
            }
            Some(Err(e)) => {
                tracing::warn!("the TLS files changed but cannot be used, so the previous ones stay in force: {e}");
            }
        }
    }
}
