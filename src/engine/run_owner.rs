//! Who runs a run when no daemon does. `runwisp exec --standalone` records and runs a task in
//! its own process; while it does, it holds an exclusive lock on `DATA/owners/RUN_ID`. Crash
//! recovery leaves alone every unfinished run whose owner lock is held: only runs whose owner
//! is gone (the lock is released by the kernel when its process dies) are recovered, so
//! starting a daemon never stops a live `exec`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use crate::engine::datadir::{make_private_dir, DataDir, DataDirError};
use crate::engine::model::RunId;

/// The lock of a run's owner; released, and its file removed, when dropped.
pub struct RunOwner {
    _lock: Flock<File>,
    path: PathBuf,
}

impl Drop for RunOwner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Only ever called with a parsed run id, so the name is 26 letters and digits.
fn owner_path(dir: &DataDir, id: &RunId) -> PathBuf {
    dir.root().join("owners").join(id.to_string())
}

/// Takes ownership of run `id` for this process, before its row is written.
pub fn claim(dir: &DataDir, id: &RunId) -> Result<RunOwner, DataDirError> {
    let owners = dir.root().join("owners");
    make_private_dir(&owners)?;
    let path = owner_path(dir, id);
    let io = |source| DataDirError::Io {
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io)?;
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map_err(|(_, errno)| io(std::io::Error::from(errno)))?;
    Ok(RunOwner { _lock: lock, path })
}

/// Whether a living process owns run `id` (an `exec --standalone` still running it). A
/// leftover file of a dead owner is removed.
pub fn is_owned(dir: &DataDir, id: &RunId) -> bool {
    let path = owner_path(dir, id);
    let Ok(file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    else {
        return false;
    };
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_dead_owner) => {
            let _ = std::fs::remove_file(&path);
            false
        }
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_run_is_owned_until_its_owner_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let id = RunId::new();
        assert!(!is_owned(&dir, &id));
        let owner = claim(&dir, &id).unwrap();
        assert!(is_owned(&dir, &id), "held by this process");
        drop(owner);
        assert!(!is_owned(&dir, &id));
        assert!(!owner_path(&dir, &id).exists());
    }
}
