//! Notifications on the wire (`notifications.md` §3): the in-app notification object of the
//! bell (`GET /api/notifications…`, the `notification` events of its stream), its page, the
//! unread count, and the answer of `POST /api/notifiers/{id}/test`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::model::{rfc3339, NotifyKind, Severity};
use crate::engine::notify::Notification;

/// One in-app notification: one event, or several of the same kind, task and end reason folded
/// together within `coalesce_window`. Times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationObject {
    pub id: String,
    pub kind: NotifyKind,
    pub severity: Severity,
    /// Null for daemon-wide events (`log.disk_pressure`).
    pub task_name: Option<String>,
    /// The latest occurrence's run.
    pub run_id: Option<String>,
    /// The headline: `backup-db failed (exit 3)`.
    pub title: String,
    pub body: String,
    /// How many events it stands for.
    pub count: u32,
    /// The newest `occurrence_ring` times, newest first.
    pub occurrences: Vec<String>,
    pub created_at: String,
    pub last_at: String,
    /// Null while unread.
    pub read_at: Option<String>,
}

impl From<Notification> for NotificationObject {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            severity: n.severity,
            task_name: n.task,
            run_id: n.run_id,
            title: n.title,
            body: n.body,
            count: n.count,
            occurrences: n.occurrences.into_iter().map(rfc3339).collect(),
            created_at: rfc3339(n.created_at),
            last_at: rfc3339(n.last_at),
            read_at: n.read_at.map(rfc3339),
        }
    }
}

/// `GET /api/notifications?unread=&limit=&before=`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationObject>,
    /// Pass as `before` for the next page; null on the last.
    pub next_before: Option<String>,
}

/// `GET /api/notifications/unread-count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// `POST /api/notifications/read`: how many were unread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// What became of a test message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// The channel took it.
    Delivered,
    /// The channel could not take it now (a timeout, 5xx, 429): a real notification would be
    /// retried.
    Retry,
    /// The channel refused it (another 4xx, a failing command).
    Failed,
}

/// `POST /api/notifiers/{id}/test`: one test message sent through one notifier, at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotifierTest {
    pub notifier: String,
    /// `slack`, `telegram`, …
    pub r#type: String,
    pub outcome: TestOutcome,
    /// The channel's answer, or why it failed (never a secret).
    pub detail: String,
}

/// The data of the `read_all` event of `GET /api/notifications/stream`: every notification was
/// just marked read (an empty object; re-read the list or the unread count).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReadAll {}
