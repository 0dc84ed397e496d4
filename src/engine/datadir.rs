//! The data directory (`product.md` §7): its layout and modes, the exclusive `daemon.lock`, the
//! fingerprint, and safe creation of run log files (never through a symlink).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::engine::model::{RunId, TaskName};

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is a symlink; runwisp does not write through symlinks in its data directory")]
    Symlink { path: PathBuf },
    #[error("a runwisp daemon{pid} is already running for data directory {dir}")]
    Locked { dir: PathBuf, pid: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The run history's file name in the data directory.
pub const DB_FILE: &str = "runwisp.db";

/// A data directory, created with mode 0700.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the directory (and `logs/`) if needed and tightens its mode to 0700.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        let dir = Self {
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        };
        make_private_dir(&dir.root)?;
        make_private_dir(&dir.logs_dir())?;
        Ok(dir)
    }

    /// The data directory at `root` if there is one, creating and changing nothing: for
    /// commands that only read. `None` when nothing is at `root`; an error when something that
    /// is not a directory is.
    pub fn existing(root: &Path) -> Result<Option<Self>, DataDirError> {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => Ok(Some(Self {
                root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
            })),
            Ok(_) => Err(io_err(root)(std::io::Error::other(
                "exists and is not a directory",
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(root)(e)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }

    /// The generated API password (0600), unless `RUNWISP_PASSWORD` is set.
    pub fn password_path(&self) -> PathBuf {
        self.root.join("password")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    pub fn pid_path(&self) -> PathBuf {
        self.root.join("daemon.pid")
    }

    /// The daemon's local socket (0600): the same API, for the daemon's own user, without login.
    pub fn socket_path(&self) -> PathBuf {
        self.root.join("daemon.sock")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `logs/TASK/RUN_ID.log`; both parts are validated types, so the path cannot escape.
    pub fn run_log_path(&self, task: &TaskName, run: &RunId) -> PathBuf {
        self.logs_dir()
            .join(task.as_str())
            .join(format!("{run}.log"))
    }

    /// Where a webhook delivery's body is kept for the run it started (0600, beside its log,
    /// deleted with the run).
    pub fn run_payload_path(&self, task: &TaskName, run: &RunId) -> PathBuf {
        self.logs_dir()
            .join(task.as_str())
            .join(format!("{run}.payload"))
    }

    /// A pipeline run's folder (`RUNWISP_PIPELINE_DIR`), shared by its steps and
    /// sub-pipelines, and handed on to the run that resumes it; deleted with the run.
    pub fn pipeline_dir(&self, task: &TaskName, run: &RunId) -> PathBuf {
        self.logs_dir().join(task.as_str()).join(format!("{run}.d"))
    }

    /// The environment a pipeline run was triggered with (0600), for the run that resumes it.
    pub fn pipeline_env_path(&self, task: &TaskName, run: &RunId) -> PathBuf {
        self.logs_dir()
            .join(task.as_str())
            .join(format!("{run}.env"))
    }

    /// The kept log files of a run, oldest first: the rotated `.prev` generation, then the
    /// current file. `None` when a stored name or id does not validate.
    pub fn run_log_files(&self, task: &TaskName, id: &RunId) -> [PathBuf; 2] {
        let log = self.run_log_path(task, id);
        [prev_log_path(&log), log]
    }

    /// Creates `logs/TASK/` (0700) and a fresh log file (0600) for a run, refusing symlinks.
    #[cfg(test)]
    pub fn create_run_log(
        &self,
        task: &TaskName,
        run: &RunId,
    ) -> Result<(PathBuf, File), DataDirError> {
        let path = self.prepare_run_log(task, run)?;
        let file = create_private_file(&path)?;
        Ok((path, file))
    }

    /// Makes sure the task's log folder exists (0700, not a symlink) and returns where the
    /// run's log goes, for a writer that creates the file itself ([`create_private_file`]).
    pub fn prepare_run_log(&self, task: &TaskName, run: &RunId) -> Result<PathBuf, DataDirError> {
        self.prepare_task_logs(task)?;
        Ok(self.run_log_path(task, run))
    }

    /// Makes `task`'s log directory (private) if it is not there yet.
    pub fn prepare_task_logs(&self, task: &TaskName) -> Result<(), DataDirError> {
        make_private_dir(&self.logs_dir().join(task.as_str()))
    }

    /// Whether a daemon holds this directory's lock, and its pid if it wrote one.
    pub fn daemon_holding_lock(&self) -> Result<Option<String>, DataDirError> {
        let path = self.lock_path();
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_released_on_drop) => Ok(None),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(Some(self.holder())),
            Err((_, errno)) => Err(io_err(&path)(std::io::Error::from(errno))),
        }
    }

    /// Takes the exclusive daemon lock, held until the returned guard is dropped.
    pub fn lock_exclusive(&self) -> Result<DaemonLock, DataDirError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_err(&path))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                let pid = std::process::id().to_string();
                lock.set_len(0).map_err(io_err(&path))?;
                lock.write_all(pid.as_bytes()).map_err(io_err(&path))?;
                Ok(DaemonLock { _lock: lock })
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(DataDirError::Locked {
                dir: self.root.clone(),
                pid: self.holder(),
            }),
            Err((_, errno)) => Err(io_err(&path)(std::io::Error::from(errno))),
        }
    }

    /// The pid of the daemon holding the lock, from the lock file or `daemon.pid`.
    pub fn holder_pid(&self) -> Option<u32> {
        [self.lock_path(), self.pid_path()]
            .into_iter()
            .find_map(|path| {
                let mut text = String::new();
                File::open(&path)
                    .and_then(|f| f.take(256).read_to_string(&mut text))
                    .ok()?;
                text.lines().next()?.trim().parse().ok()
            })
    }

    /// " (pid N)", or "" when the pid is not known.
    fn holder(&self) -> String {
        self.holder_pid()
            .map(|pid| format!(" (pid {pid})"))
            .unwrap_or_default()
    }

    /// The URL the daemon holding the lock announced (the lock file's second line).
    pub fn daemon_url(&self) -> Option<String> {
        let mut text = String::new();
        File::open(self.lock_path())
            .and_then(|f| f.take(256).read_to_string(&mut text))
            .ok()?;
        let url = text.lines().nth(1)?.trim();
        url.starts_with("http://").then(|| url.to_string())
    }

    /// Free bytes on the disk holding the data directory.
    pub fn free_space(&self) -> Result<u64, DataDirError> {
        free_space_at(&self.root).map_err(io_err(&self.root))
    }
}

/// Free bytes (for unprivileged users) on the disk holding `path`.
pub fn free_space_at(path: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok(stat.blocks_available() as u64 * stat.fragment_size() as u64)
}

/// The exclusive lock of a running daemon.
pub struct DaemonLock {
    _lock: Flock<File>,
}

impl DaemonLock {
    /// Records where the daemon listens, so local clients (`runwisp exec`, `status`) find it:
    /// the lock file holds the pid, then the URL.
    pub fn announce(&mut self, url: &str) -> std::io::Result<()> {
        self._lock.set_len(0)?;
        use std::io::Seek;
        self._lock.seek(std::io::SeekFrom::Start(0))?;
        self._lock
            .write_all(format!("{}\n{url}\n", std::process::id()).as_bytes())
    }
}

pub(crate) fn make_private_dir(path: &Path) -> Result<(), DataDirError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(DataDirError::Symlink {
                path: path.to_path_buf(),
            })
        }
        Ok(meta) if meta.is_dir() => {
            if meta.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                    .map_err(io_err(path))?;
            }
            return Ok(());
        }
        Ok(_) => {
            return Err(io_err(path)(std::io::Error::other(
                "exists and is not a directory",
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path)(e)),
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(path))
}

/// The rotated generation beside a run log (`RUN_ID.log.prev`).
pub fn prev_log_path(log: &Path) -> PathBuf {
    let mut prev = log.as_os_str().to_owned();
    prev.push(".prev");
    PathBuf::from(prev)
}

/// Creates (or truncates) a file with mode 0600, refusing to follow a symlink.
pub fn create_private_file(path: &Path) -> Result<File, DataDirError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                DataDirError::Symlink {
                    path: path.to_path_buf(),
                }
            } else {
                io_err(path)(e)
            }
        })
}

const ADJECTIVES: [&str; 32] = [
    "amber", "brave", "calm", "crisp", "dusty", "eager", "fancy", "gentle", "golden", "hidden",
    "icy", "jolly", "keen", "lively", "misty", "noble", "odd", "proud", "quiet", "rapid", "rusty",
    "silent", "sunny", "swift", "tidy", "urban", "vivid", "wild", "windy", "young", "zesty",
    "bold",
];
const NOUNS: [&str; 32] = [
    "river", "falcon", "meadow", "harbor", "comet", "forest", "glacier", "island", "lantern",
    "maple", "canyon", "orchard", "pebble", "quartz", "reef", "summit", "thicket", "valley",
    "willow", "badger", "cedar", "dune", "ember", "fjord", "grove", "heron", "iris", "juniper",
    "kestrel", "lagoon", "marsh", "otter",
];

/// A short, stable, human-readable name (`misty-river`) for this daemon, derived from the
/// machine id and the working directory (FNV-1a, so it is the same on every run).
pub fn derive_fingerprint(machine_id: &str, working_dir: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in machine_id
        .trim()
        .bytes()
        .chain([0u8])
        .chain(working_dir.as_os_str().as_encoded_bytes().iter().copied())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let adjective = ADJECTIVES[(hash % 32) as usize];
    let noun = NOUNS[((hash >> 5) % 32) as usize];
    format!("{adjective}-{noun}")
}

/// The fingerprint in force: `RUNWISP_FINGERPRINT`, else the stored one, else derived and stored.
pub fn fingerprint(
    store: &crate::engine::store::Store,
) -> Result<String, crate::engine::store::StoreError> {
    if let Ok(fixed) = std::env::var("RUNWISP_FINGERPRINT") {
        if !fixed.trim().is_empty() {
            return Ok(fixed.trim().to_string());
        }
    }
    let machine_id = fs::read_to_string("/etc/machine-id")
        .or_else(|_| fs::read_to_string("/var/lib/dbus/machine-id"))
        .unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_default();
    store.meta_get_or_insert("fingerprint", &derive_fingerprint(&machine_id, &cwd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_modes_and_symlink_refusal() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(&tmp.path().join("data")).unwrap();
        let mode = fs::metadata(dir.root()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let task = TaskName::parse("backup").unwrap();
        let run = RunId::new();
        let (path, _file) = dir.create_run_log(&task, &run).unwrap();
        assert_eq!(
            path,
            dir.root().join("logs/backup").join(format!("{run}.log"))
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let target = tmp.path().join("elsewhere");
        fs::write(&target, "keep me").unwrap();
        let other = RunId::new();
        std::os::unix::fs::symlink(&target, dir.run_log_path(&task, &other)).unwrap();
        let err = dir.create_run_log(&task, &other).unwrap_err();
        assert!(matches!(err, DataDirError::Symlink { .. }), "{err}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn one_daemon_per_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        assert_eq!(dir.daemon_holding_lock().unwrap(), None);
        let lock = dir.lock_exclusive().unwrap();
        let me = format!(" (pid {})", std::process::id());
        assert_eq!(dir.daemon_holding_lock().unwrap(), Some(me.clone()));
        let err = dir.lock_exclusive().err().expect("second lock refused");
        assert_eq!(
            err.to_string(),
            format!(
                "a runwisp daemon{me} is already running for data directory {}",
                dir.root().display()
            )
        );
        drop(lock);
        assert_eq!(dir.daemon_holding_lock().unwrap(), None);
    }

    #[test]
    fn fingerprints_are_stable_two_words() {
        let a = derive_fingerprint("abc123", Path::new("/srv/app"));
        assert_eq!(a, derive_fingerprint("abc123", Path::new("/srv/app")));
        assert_eq!(a.split('-').count(), 2);
        assert_ne!(a, derive_fingerprint("abc123", Path::new("/srv/other")));
    }
}
