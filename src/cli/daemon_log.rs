//! The daemon's own log: `daemon.log` in the data directory, rotated by size (`daemon.log.1` …
//! `daemon.log.3`), written off the hot path through `tracing-appender`, and mirrored to stderr
//! for systemd's journal and containers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;

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
    let wanted = std::env::var("RUNWISP_LOG").unwrap_or_default();
    let (filter, refused) = match log_filter(&wanted) {
        Ok(filter) => (filter, None),
        Err(why) => (Targets::new().with_default(LevelFilter::INFO), Some(why)),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        // A closed stderr (the daemon was started in the background by a terminal UI that has
        // since quit) must not kill the daemon: write errors are not reported on stderr.
        .log_internal_errors(false)
        .with_writer(writer.and(std::io::stderr))
        .finish()
        .with(filter);
    // A second initialisation (tests in one process) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(why) = refused {
        tracing::warn!("RUNWISP_LOG={wanted:?} {why}; logging at info");
    }
    Ok(guard)
}

/// What `RUNWISP_LOG` asks for: a level (`trace`, `debug`, `info`, `warn`, `error`, `off`;
/// `info` when empty), or levels by target, `runwisp=debug,hyper=warn`, with an optional bare
/// level for the rest. Anything else is refused with the reason.
pub fn log_filter(text: &str) -> Result<Targets, String> {
    let mut filter = Targets::new().with_default(LevelFilter::INFO);
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let level = |l: &str| {
            l.parse::<LevelFilter>().map_err(|_| {
                format!("names {l:?}, which is not a level (trace, debug, info, warn, error, off)")
            })
        };
        filter = match item.split_once('=') {
            Some((target, l)) if !target.trim().is_empty() => {
                filter.with_target(target.trim().to_string(), level(l.trim())?)
            }
            Some(_) => return Err(format!("has {item:?}, a level without a target")),
            None => filter.with_default(level(item)?),
        };
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_from_the_environment() {
        use tracing::Level;
        let enabled = |f: &Targets, target: &str, level: Level| f.would_enable(target, &level);
        let default = log_filter("").unwrap();
        assert!(enabled(&default, "runwisp", Level::INFO));
        assert!(!enabled(&default, "runwisp", Level::DEBUG));
        let debug = log_filter("debug").unwrap();
        assert!(enabled(&debug, "hyper", Level::DEBUG));
        let mixed = log_filter("warn, runwisp=trace,hyper=error").unwrap();
        assert!(enabled(&mixed, "runwisp::engine", Level::TRACE));
        assert!(!enabled(&mixed, "hyper", Level::WARN));
        assert!(!enabled(&mixed, "axum", Level::INFO));
        assert!(enabled(&mixed, "axum", Level::WARN));
        assert_eq!(
            log_filter("loud").err().as_deref(),
            Some("names \"loud\", which is not a level (trace, debug, info, warn, error, off)")
        );
        assert_eq!(
            log_filter("=debug").err().as_deref(),
            Some("has \"=debug\", a level without a target")
        );
        assert!(log_filter("runwisp=verbose").is_err());
    }
}
