//! The daemon's own log: `daemon.log` in the data directory, rotated by size (`daemon.log.1` …
//! `daemon.log.3`), written off the hot path through `tracing-appender` as text or JSON lines
//! (`[daemon] log_format`), and mirrored to stderr for systemd's journal and containers; or,
//! with `[daemon] log = "journald"`, straight to the journal with its fields.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::layer::SubscriberExt;

use crate::engine::config::{LogDestination, LogFormat};

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

/// journald's socket for structured entries.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Sends `tracing` output to `daemon.log` (text or JSON lines) and stderr, or to journald; the
/// guard flushes the file on drop. `log = "journald"` without a journal to talk to falls back
/// to `daemon.log`, saying so in it.
pub fn init(
    data_dir: &Path,
    format: LogFormat,
    destination: LogDestination,
) -> std::io::Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    let mut notes = Vec::new();
    let journald = match destination {
        LogDestination::File => None,
        LogDestination::Journald if !Path::new(JOURNAL_SOCKET).exists() => {
            notes.push(format!("[daemon] log = \"journald\", but there is no journal here ({JOURNAL_SOCKET} does not exist); logging to daemon.log instead"));
            None
        }
        LogDestination::Journald => match tracing_journald::layer() {
            Ok(layer) => Some(
                layer
                    .with_field_prefix(None)
                    .with_syslog_identifier("runwisp".to_string()),
            ),
            Err(e) => {
                notes.push(format!("[daemon] log = \"journald\", but the journal cannot be reached through {JOURNAL_SOCKET}: {e}; logging to daemon.log instead"));
                None
            }
        },
    };
    let (file, guard) = if journald.is_none() {
        let file = RotatingFile::open(&data_dir.join("daemon.log"))?;
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .buffered_lines_limit(BUFFERED_LINES)
            .finish(file);
        (Some(writer), Some(guard))
    } else {
        (None, None)
    };
    // stderr mirrors the log (for a terminal and containers), except into the journal that
    // already has every entry, with its fields, from the journald layer.
    let mirror = journald.is_none() || !stderr_is_the_journal();
    let writer = match (file, mirror) {
        (Some(file), true) => Some(BoxMakeWriter::new(file.and(std::io::stderr))),
        (Some(file), false) => Some(BoxMakeWriter::new(file)),
        (None, true) => Some(BoxMakeWriter::new(std::io::stderr)),
        (None, false) => None,
    };
    // A closed stderr (the daemon was started in the background by a terminal UI that has
    // since quit) must not kill the daemon: write errors are not reported on stderr.
    let (text, json) = match (writer, format) {
        (None, _) => (None, None),
        (Some(w), LogFormat::Text) => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .log_internal_errors(false)
                    .with_writer(w),
            ),
            None,
        ),
        (Some(w), LogFormat::Json) => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_ansi(false)
                    .log_internal_errors(false)
                    .with_writer(w),
            ),
        ),
    };
    let wanted = std::env::var("RUNWISP_LOG").unwrap_or_default();
    let (filter, refused) = match log_filter(&wanted) {
        Ok(filter) => (filter, None),
        Err(why) => (Targets::new().with_default(LevelFilter::INFO), Some(why)),
    };
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(journald);
    // A second initialisation (tests in one process) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    for note in notes {
        tracing::warn!("{note}");
    }
    if let Some(why) = refused {
        tracing::warn!("RUNWISP_LOG={wanted:?} {why}; logging at info");
    }
    Ok(guard)
}

/// Whether stderr is the journal's stream (`JOURNAL_STREAM` names its device and inode), as it
/// is for a service systemd started.
fn stderr_is_the_journal() -> bool {
    use std::os::fd::AsFd;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    match nix::sys::stat::fstat(std::io::stderr().as_fd()) {
        Ok(st) => {
            dev.parse::<u64>().ok() == Some(st.st_dev) && ino.parse::<u64>().ok() == Some(st.st_ino)
        }
        Err(_) => false,
    }
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
