//! The wire contract: requests, responses and stream events as serde types, declared once and
//! used by the server, the client, the CLI and the TUI. A field is named here and nowhere else.
//!
//! Moved here so far: the run object and its page, tasks and services, the log window and
//! log lines.

pub mod daemon;
pub mod hooks;
pub mod logs;
pub mod notifications;
pub mod notify_event;
pub mod pipelines;
pub mod runs;
pub mod tasks;
pub mod tokens;

pub use daemon::{
    AuthStatus, Challenge, ConfigProblem, Health, Info, Login, Reloaded, Restarted, StoppedRuns,
    Stopping, Token,
};
pub use hooks::{HookAccepted, HookDuplicate, HookIgnored, HookPong, WebhookInfo};
pub use logs::{LogLine, LogStream, LogWindow, LogWindowHead};
pub use notifications::{
    MarkedRead, NotificationObject, NotificationPage, NotifierTest, TestOutcome, UnreadCount,
};
pub use notify_event::NotifyEvent;
pub use pipelines::{PipelineStep, RunTree, StepNode, TreeLine};
pub use runs::{RunObject, RunPage};
pub use tasks::{LastRun, Replica, ServiceState, TaskList, TaskObject};
pub use tokens::{CreateToken, CreatedToken, Revoked, TokenList, TokenObject};
