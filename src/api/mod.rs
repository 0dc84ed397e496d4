//! The wire contract: requests, responses and stream events as serde types, declared once and
//! used by the server, the client, the CLI and the TUI. A field is named here and nowhere else.
//!
//! Moved here so far: the log window and log lines. The run and task objects follow.

pub mod logs;

pub use logs::{LogLine, LogStream, LogWindow, LogWindowHead};
