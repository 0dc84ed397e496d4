//! A run's log on the wire: numbered lines (`GET /api/runs/{id}/log`, the `line` events of
//! `/log/stream`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::runlog::{self, Stream};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    System,
}

impl From<Stream> for LogStream {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => Self::Stdout,
            Stream::Stderr => Self::Stderr,
            Stream::System => Self::System,
        }
    }
}

/// One numbered line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogLine {
    pub n: u64,
    pub stream: LogStream,
    pub text: String,
}

impl LogLine {
    /// Line `n` as read from the log file.
    pub fn from_raw(n: u64, raw: &[u8]) -> Self {
        let (stream, text) = runlog::decode(raw);
        Self {
            n,
            stream: stream.into(),
            text: String::from_utf8_lossy(text).into_owned(),
        }
    }
}

/// `GET /api/runs/{id}/log` answers this object with a `lines` array of [`LogLine`] and
/// `next_from`; the server streams it, so the head is its own type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogWindowHead {
    /// The oldest line still kept (0 when the log is empty).
    pub first_available: u64,
    /// The number of the newest line.
    pub total_lines: u64,
    /// Whether output was cut or rotated away.
    pub truncated: bool,
    /// Whether the run has ended (no more lines will come).
    pub finished: bool,
}

/// The whole answer, as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogWindow {
    #[serde(flatten)]
    pub head: LogWindowHead,
    pub lines: Vec<LogLine>,
    /// The `from` that continues after this window when it stopped before the end (its line
    /// or byte budget ran out), else null.
    pub next_from: Option<u64>,
}
