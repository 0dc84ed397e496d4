//! The local socket `DATA/daemon.sock`: the same API as the TCP listener, without a login, for
//! the daemon's own user (and root). The socket is created 0600 inside the 0700 data
//! directory, and every connection's peer credentials (`SO_PEERCRED`) are checked as well: a
//! peer of another uid is closed at once and logged, whatever the file's mode says. Requests of
//! an admitted peer carry [`LocalPeer`], which the token check accepts; they never log in, so
//! failed logins elsewhere (the throttle) never slow them down. Whatever may connect is in
//! without a password, so a proxy running as the daemon's user (or root) must never be put in
//! front of the socket.
//!
//! This module owns the socket file: a stale one left by a crashed daemon is replaced at
//! start (the caller holds the data directory's lock, so no other daemon of it is alive), and
//! the file is removed at shutdown. It does not own the accept loop (see `super::serve`).

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Marks a request that came over the local socket from an admitted peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalPeer {
    pub uid: u32,
}

/// The bound socket; dropping it removes the file.
#[derive(Debug)]
pub struct LocalSocket {
    listener: Option<UnixListener>,
    path: PathBuf,
}

impl LocalSocket {
    /// Binds `path` (0600). A socket already there is a leftover of a daemon that did not stop
    /// cleanly and is replaced; anything else there is refused, never deleted.
    pub fn bind(path: &Path) -> io::Result<Self> {
        // Bound under a temporary name and renamed into place once private, so the socket
        // never exists under its own name with a wider mode.
        let mut fresh = path.as_os_str().to_owned();
        fresh.push(".new");
        let fresh = PathBuf::from(fresh);
        remove_stale(&fresh)?;
        let listener = UnixListener::bind(&fresh)?;
        let placed = std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| remove_stale(path))
            .and_then(|()| std::fs::rename(&fresh, path));
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&fresh);
            return Err(e);
        }
        Ok(Self {
            listener: Some(listener),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The listener, for the accept loop; the file stays until `self` is dropped.
    pub fn take_listener(&mut self) -> Option<UnixListener> {
        self.listener.take()
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {}: {e}", self.path.display());
            }
        }
    }
}

/// Removes a socket file at `path`; nothing there is fine, anything but a socket is an error.
fn remove_stale(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.file_type().is_socket() => {
            tracing::info!(
                "replacing {}, left by a daemon that did not stop cleanly",
                path.display()
            );
            std::fs::remove_file(path)
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; move it away",
                path.display()
            ),
        )),
    }
}

/// Whether `uid` may use the socket of a daemon running as `own`: the same user, or root.
pub fn admitted(uid: u32, own: u32) -> bool {
    uid == own || uid == 0
}

/// The peer of a new connection if it may use the socket; `None` (logged) if not.
pub fn admit(stream: &tokio::net::UnixStream) -> Option<LocalPeer> {
    let own = nix::unistd::geteuid().as_raw();
    match stream.peer_cred() {
        Ok(cred) if admitted(cred.uid(), own) => Some(LocalPeer { uid: cred.uid() }),
        Ok(cred) => {
            let pid = cred.pid().map_or("?".to_string(), |p| p.to_string());
            tracing::warn!(
                "refused a connection on daemon.sock from uid {} (pid {pid}): only uid {own}, the daemon's, and root may use it",
                cred.uid()
            );
            None
        }
        Err(e) => {
            tracing::warn!(
                "refused a connection on daemon.sock: cannot read its peer's credentials: {e}"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_user_and_root_are_admitted() {
        assert!(admitted(1000, 1000));
        assert!(admitted(0, 1000));
        assert!(admitted(0, 0));
        assert!(!admitted(1001, 1000));
        assert!(!admitted(65534, 0));
    }

    #[test]
    fn a_stale_socket_is_replaced_and_removed_at_drop_but_a_file_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("daemon.sock");
        // A crashed daemon's socket: bound, then its listener gone without removing the file.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let socket = LocalSocket::bind(&path).expect("a stale socket is replaced");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(socket);
        assert!(!path.exists());

        std::fs::write(&path, "not a socket").unwrap();
        let refused = LocalSocket::bind(&path).expect_err("a regular file is not replaced");
        assert!(refused.to_string().contains("is not a socket"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
    }
}
