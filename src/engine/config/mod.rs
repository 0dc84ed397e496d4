//! The `runwisp.toml` model (`product.md` §2): what a loaded, validated configuration looks like.
//! Loading and every rule live in `load.rs` (tasks and services), `notifiers.rs` (`[[notifier]]`)
//! and `sections.rs` (the other tables), reading the key tables of `keys/`, from which
//! `schema.rs` also builds the JSON Schema `runwisp schema` prints; errors point at file, line,
//! column and key path. The starter file is embedded here.

mod errors;
mod fields;
mod keys;
mod load;
mod notifiers;
mod notify;
mod pipeline;
mod schema;
mod sections;
mod tls;
pub mod units;
mod webhook;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;

pub use errors::{ConfigError, ConfigErrors, LoadError, SourceMap};
pub use load::{digest, load_file, load_str};
pub use notify::{EmailTls, Glob, Notifier, NotifierKind, Notify, Route, SecretValue};
pub use schema::json_schema;
pub use sections::{host_zone, INAPP};
pub use tls::{provider as tls_provider, server_config as tls_server_config, Tls, TlsError};
pub use webhook::{Provider, Webhook, MIN_SECRET};

use crate::engine::model::TaskName;
use crate::engine::schedule::Schedule;

/// The starter configuration written by `runwisp init`: every key, commented, with its default.
pub const STARTER: &str = include_str!("../../../runwisp.toml");

/// A whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// The SHA-256 of the text it was loaded from: `runwisp status` compares it with the file
    /// on disk to say when what runs is not what the file says.
    pub digest: String,
    /// Tasks and pipelines (a pipeline is a [`Task`] with [`Task::pipeline`] set).
    pub tasks: BTreeMap<TaskName, Task>,
    pub services: BTreeMap<TaskName, Service>,
    pub scheduler: Scheduler,
    pub daemon: Daemon,
    pub storage: Storage,
    pub notify: Notify,
    pub notifiers: Vec<Notifier>,
    pub routes: Vec<Route>,
    /// Problems that do not stop loading (a task that can never run, …), one sentence each.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn task(&self, name: &TaskName) -> Option<&Task> {
        self.tasks.get(name)
    }

    /// The pipelines (kept among the tasks, which they are scheduled and triggered like).
    pub fn pipelines(&self) -> impl Iterator<Item = (&TaskName, &Task)> {
        self.tasks.iter().filter(|(_, t)| t.is_pipeline())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOnFull {
    DropOld,
    DropNew,
    KillTask,
}

impl LogOnFull {
    pub fn as_str(self) -> &'static str {
        match self {
            LogOnFull::DropOld => "drop_old",
            LogOnFull::DropNew => "drop_new",
            LogOnFull::KillTask => "kill_task",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    Latest,
    All,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOverlap {
    Queue,
    Skip,
    Terminate,
}

impl OnOverlap {
    pub fn as_str(self) -> &'static str {
        match self {
            OnOverlap::Queue => "queue",
            OnOverlap::Skip => "skip",
            OnOverlap::Terminate => "terminate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    Constant,
    Linear,
    Exponential,
}

impl Backoff {
    /// The word the file uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backoff::Constant => "constant",
            Backoff::Linear => "linear",
            Backoff::Exponential => "exponential",
        }
    }

    /// The wait before attempt `attempt` (1-based): `base` × 1, × N or × 2^(N-1), capped.
    pub fn delay(self, base: Duration, attempt: u32, cap: Duration) -> Duration {
        let n = attempt.max(1);
        let factor: u32 = match self {
            Backoff::Constant => 1,
            Backoff::Linear => n,
            Backoff::Exponential => 2u32.saturating_pow(n - 1),
        };
        base.checked_mul(factor).unwrap_or(cap).min(cap)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Never,
    OnFailure,
}

/// What tasks and services share: the command, its environment, logs, retention, notifications.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    pub name: TaskName,
    pub run: String,
    pub description: String,
    pub group: String,
    pub api_trigger: bool,
    pub graceful_stop: Duration,
    pub log_max_size: u64,
    pub log_on_full: LogOnFull,
    pub keep_runs: Option<u32>,
    pub keep_for: Option<Duration>,
    pub notify_on_failure: Vec<String>,
    pub notify_on_success: Vec<String>,
    /// Tell only about the attempt that ends a retry chain, not each failed attempt.
    pub notify_after_retries: bool,
    /// Tell about failures only from the Nth consecutive failed run on (1 = every failure).
    pub notify_after_failures: u32,
    pub env: BTreeMap<String, String>,
    pub working_dir: PathBuf,
}

/// `[tasks.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub common: Common,
    pub cron: Option<Schedule>,
    pub timezone: TimeZone,
    /// The zone's name as shown to users (`Europe/Bratislava`, `UTC`).
    pub timezone_name: String,
    pub catch_up: CatchUp,
    pub max_catch_up_runs: u32,
    pub max_concurrent: u32,
    pub on_overlap: OnOverlap,
    pub queue_max: u32,
    pub retry_attempts: u32,
    pub retry_delay: Duration,
    pub retry_backoff: Backoff,
    pub restart: Restart,
    pub timeout: Option<Duration>,
    /// `[tasks.NAME.webhook]`: a signed `POST /hooks/NAME` starts it.
    pub webhook: Option<Webhook>,
    /// Set for a `[pipelines.NAME]`: its runs run these steps instead of a command. The
    /// pipeline's schedule, overlap policy (`max_concurrent` is 1), timeout, notifications and
    /// retention are the fields above, with the task meanings.
    pub pipeline: Option<std::sync::Arc<Pipeline>>,
}

impl Task {
    pub fn is_pipeline(&self) -> bool {
        self.pipeline.is_some()
    }
}

/// What a `[pipelines.NAME]` runs (`pipelines.md` §1).
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub steps: Vec<Step>,
    /// An interrupted or crashed run is resumed once at the next start.
    pub resume_on_boot: bool,
}

impl Pipeline {
    /// Every step reference, parallel members included, with its position (`"3"`, `"4.2"`).
    pub fn positions(&self) -> Vec<(String, &StepRef)> {
        let mut out = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::One(r) => out.push(((i + 1).to_string(), r)),
                Step::Parallel { members, .. } => {
                    for (j, r) in members.iter().enumerate() {
                        out.push((format!("{}.{}", i + 1, j + 1), r));
                    }
                }
            }
        }
        out
    }
}

/// One step of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    One(StepRef),
    /// Members start at once; the step succeeds when each succeeded or may fail.
    Parallel {
        members: Vec<StepRef>,
        fail_fast: bool,
    },
}

/// A task or a sub-pipeline run as a step, with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRef {
    pub name: TaskName,
    /// The name is a pipeline's: the step is a sub-pipeline.
    pub pipeline: bool,
    pub continue_on_failure: bool,
    pub on_interrupt: OnInterrupt,
}

/// What a resume does with the step that was active when the daemon went down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Run it again (a sub-pipeline continues where it stopped).
    Retry,
    /// Count it as done (a step that restarts runwisp itself).
    Continue,
    /// End the resumed pipeline `failed` at this step.
    Fail,
}

/// `[services.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub common: Common,
    pub instances: u32,
    pub restart_delay: Duration,
    pub restart_backoff: Backoff,
    pub backoff_reset_after: Duration,
}

/// `[scheduler]`, with the zone resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduler {
    pub timezone: TimeZone,
    pub timezone_name: String,
    /// Whether the zone came from `[scheduler] timezone` (else from the host).
    pub from_config: bool,
}

/// `[daemon]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub host: String,
    pub port: u16,
    pub shutdown_timeout: Duration,
    /// Where operators reach this daemon (`https://runwisp.example.com`): notifications link
    /// to `{external_url}/runs/{id}`. No trailing slash.
    pub external_url: Option<String>,
    /// `GET /metrics` answers without a token (for a scraper on loopback).
    pub metrics_public: bool,
    /// How `daemon.log` lines are written (`log_format`).
    pub log_format: LogFormat,
    /// Where the daemon's own log goes (`log`).
    pub log: LogDestination,
    /// `tls_cert`, `tls_key`, `client_ca`: the listener speaks TLS only when set.
    pub tls: Option<Tls>,
}

/// `[daemon] log_format`: plain text lines, or one JSON object a line for log shippers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[daemon] log`: `daemon.log` in the data directory, or systemd's journal (structured, with
/// the task and run id as fields); the daemon falls back to the file when there is no journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogDestination {
    #[default]
    File,
    Journald,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// Total bytes of run logs; 0 means no cap.
    pub max_size: u64,
    /// A run does not start when the data disk has less free space than this; 0 disables it.
    pub min_free_space: u64,
}

/// The defaults of `[storage]`, `[daemon]` and `[notify]` as documented in the starter file.
pub mod defaults {
    use std::time::Duration;

    pub const LISTEN_HOST: &str = "127.0.0.1";
    pub const LISTEN_PORT: u16 = 9477;
    pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
    pub const GRACEFUL_STOP: Duration = Duration::from_secs(5);
    pub const LOG_MAX_SIZE: u64 = 100 << 20;
    pub const MIN_FREE_SPACE: u64 = 16 << 20;
    pub const RETRY_DELAY: Duration = Duration::from_secs(5);
    pub const RESTART_DELAY: Duration = Duration::from_secs(1);
    pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(60);
    pub const COALESCE_WINDOW: Duration = Duration::from_secs(3600);
    pub const HISTORY_KEEP_FOR: Duration = Duration::from_secs(90 * 86_400);
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_notify;
