//! The event as sent to `webhook` and `command` notifiers (`notifications.md` §5), and the one
//! value every outbound channel renders. The engine builds it (the headline as `title`, the body
//! lines as `text`); `crate::notify` only sends it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::RunObject;
use crate::engine::model::{NotifyKind, Severity};

/// One notification on its way out. Every key is always present (`null` when there is nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotifyEvent {
    /// `run.failed`, `service.flapping`, …
    pub kind: NotifyKind,
    pub severity: Severity,
    /// The task or service it is about; null for daemon-wide events (`log.disk_pressure`).
    pub task: Option<String>,
    /// The run it is about, as the API shows it.
    pub run: Option<RunObject>,
    /// The headline: `backup-db failed (exit 3)`.
    pub title: String,
    /// The body: duration, trigger, local time, run id, the last lines of output, the link.
    pub text: String,
    /// How many events this message stands for (1 unless coalesced).
    pub count: u32,
    /// The daemon's fingerprint, so a fleet of hosts stays distinguishable.
    pub fingerprint: String,
    /// RFC 3339 UTC.
    pub occurred_at: String,
    /// `{external_url}/runs/{id}` when `[daemon] external_url` is set.
    pub url: Option<String>,
}
