//! The one event enum the engine broadcasts. Interfaces (the API's server-sent events, the TUI)
//! subscribe and redraw; they never hold their own copy of the truth.

use crate::engine::model::{EndReason, RunId, TaskName};

/// Something that happened in the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A run row was created (pending, queued, or already ended as skipped / queue_full).
    RunCreated { run: RunId, task: TaskName },
    /// A run's process started.
    RunStarted { run: RunId, task: TaskName },
    /// A run ended.
    RunEnded {
        run: RunId,
        task: TaskName,
        reason: EndReason,
        exit_code: i32,
    },
    /// Lines were appended to a run's log file (read them there: events stay small, so a slow
    /// subscriber never holds output in memory).
    LogAppended { run: RunId },
    /// A service was stopped by an operator and stays stopped.
    ServiceStopped { service: TaskName },
    /// A service was (re)started by an operator.
    ServiceRestarted { service: TaskName },
    /// An in-app notification was created or changed (a repeat, read).
    Notification { id: String },
    /// Every in-app notification was marked read.
    NotificationsRead,
    /// Outbound deliveries were queued: the delivery workers look again.
    DeliveriesQueued,
    /// A reload put new definitions in force: interfaces read the task list again.
    ConfigReloaded,
}

/// How many events a slow subscriber may fall behind before it misses some (it is told how
/// many it missed and can re-read the state).
pub const CAPACITY: usize = 4096;
