//! The daemon's own log: `daemon.log` in the data directory, rotated by size (`daemon.log.1` …
//! `daemon.log.3`), written off the hot path through `tracing-appender`, and mirrored to stderr
//! for systemd's journal and containers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::EnvFilter;

/// A log file past this size is rotated.
const ROTATE_AT: u64 = 10 << 20;
/// Rotated generations kept.
const KEEP: u32 = 3;
/// Lines waiting for the writer thread before new ones are dropped. `tracing-appender`'s default
/// (128,000) preallocates a 4 MB queue, the largest share of an idle daemon's memory; a burst of
/// this many lines (a boot with thousands of tasks catching up) still fits.
const BUFFERED_LINES: usize = 8192;

/// `daemon.log` with size-based rotation.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

impl RotatingFile {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let generation = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..KEEP).rev() {
            let _ = std::fs::rename(generation(n), generation(n + 1));
        }
        std::fs::rename(&self.path, generation(1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.size + buf.len() as u64 > ROTATE_AT && self.size > 0 {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Sends `tracing` output to `daemon.log` and stderr; the guard flushes the file on drop.
pub fn init(data_dir: &Path) -> std::io::Result<tracing_appender::non_blocking::WorkerGuard> {
    let file = RotatingFile::open(&data_dir.join("daemon.log"))?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .finish(file);
    let filter = EnvFilter::try_from_env("RUNWISP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        // A closed stderr (the daemon was started in the background by a terminal UI that has
        // since quit) must not kill the daemon: write errors are not reported on stderr.
        .log_internal_errors(false)
        .with_writer(writer.and(std::io::stderr))
        .finish();
    // A second initialisation (tests in one process) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(guard)
}
