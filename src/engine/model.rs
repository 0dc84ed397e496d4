//! The vocabulary every part of runwisp shares: validated names, run ids and the enums stored in
//! a run row. Anything a user can type (a task name, a run id) becomes one of these types at the
//! edge, so deeper code never handles a raw string where a name is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest name a task, service or pipeline may have.
pub const MAX_NAME_LEN: usize = 100;

/// A task, service or pipeline name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`.
///
/// The name is used verbatim in CLI arguments, API paths and the on-disk log folder, so this is
/// the only place that decides what is allowed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TaskName(String);

/// Shown like the string it is (`"backup"`), so `{name:?}` in a message quotes the name.
impl fmt::Debug for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Why a string is not a valid name, phrased for a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name is at most {MAX_NAME_LEN} characters long (this one has {0})")]
    TooLong(usize),
    #[error("a name must start with an ASCII letter or a digit")]
    BadStart,
    #[error("a name may only contain ASCII letters, digits, '.', '_' and '-' (found {0:?})")]
    BadChar(char),
}

impl TaskName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let len = s.chars().count();
        let first = s.chars().next().ok_or(NameError::Empty)?;
        if len > MAX_NAME_LEN {
            return Err(NameError::TooLong(len));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(NameError::BadStart);
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(NameError::BadChar(bad));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TaskName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A run id: a ULID, 26 characters of Crockford base32, sortable by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(ulid::Ulid);

impl RunId {
    /// A new id, strictly greater than every id made before it by this process (ULIDs made in
    /// the same millisecond are incremented, not random), so ids sort in creation order.
    pub fn new() -> Self {
        static GENERATOR: std::sync::Mutex<ulid::Generator> =
            std::sync::Mutex::new(ulid::Generator::new());
        let mut generator = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
        // Overflow needs 2^80 ids in one millisecond; a random id is then still unique.
        Self(generator.generate().unwrap_or_else(|_| ulid::Ulid::new()))
    }

    /// Parses a user-supplied run id; anything but a well-formed ULID is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() != 26 {
            return Err(format!(
                "{:?} is not a run id (a run id is 26 characters, like 01J9ZK8Q4V6T3M2N1P0R5S7W8X)",
                truncate_for_message(s)
            ));
        }
        ulid::Ulid::from_string(s)
            .map(Self)
            .map_err(|_| format!("{s:?} is not a run id (run ids are ULIDs)"))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Keeps hostile input out of error messages: at most 40 characters are echoed back.
pub fn truncate_for_message(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    }
}

/// Declares a string enum stored in the database and shown to users, with one spelling each.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} {:?}", stringify!($name), other)),
                }
            }
        }
    };
}

string_enum!(
    /// Whether a run belongs to a task, a service replica or a pipeline.
    RunKind { Task => "task", Service => "service", Pipeline => "pipeline" }
);

string_enum!(
    /// Where a run is in its life.
    RunStatus { Pending => "pending", Running => "running", Ended => "ended" }
);

string_enum!(
    /// How a run ended (`interrupted`: a pipeline the daemon's shutdown stopped part-way).
    EndReason {
        Success => "success",
        Failed => "failed",
        Timeout => "timeout",
        Stopped => "stopped",
        Crashed => "crashed",
        Skipped => "skipped",
        QueueFull => "queue_full",
        LogOverflow => "log_overflow",
        Interrupted => "interrupted",
    }
);

string_enum!(
    /// What started a run (`pipeline`: a step of a pipeline run; `resume`: a pipeline run
    /// resuming an earlier one).
    TriggeredBy {
        Cron => "cron",
        CatchUp => "catch_up",
        Api => "api",
        Cli => "cli",
        Tui => "tui",
        Web => "web",
        Retry => "retry",
        Restart => "restart",
        Service => "service",
        Webhook => "webhook",
        Pipeline => "pipeline",
        Resume => "resume",
    }
);

string_enum!(
    /// What a pipeline step runs.
    StepKind { Task => "task", Pipeline => "pipeline", Parallel => "parallel" }
);

string_enum!(
    /// Where a pipeline step is (`pipelines.md` §4): its latest run's state, or
    /// `not_started`, or `skipped_by_resume` for a step a resume did not run again.
    StepState {
        NotStarted => "not_started",
        Pending => "pending",
        Running => "running",
        Success => "success",
        Failed => "failed",
        Timeout => "timeout",
        Stopped => "stopped",
        Crashed => "crashed",
        Skipped => "skipped",
        QueueFull => "queue_full",
        LogOverflow => "log_overflow",
        Interrupted => "interrupted",
        SkippedByResume => "skipped_by_resume",
    }
);

impl StepState {
    /// The state a step's latest run shows.
    pub fn of(run: &Run) -> Self {
        match (run.status, run.end_reason) {
            (RunStatus::Pending, _) => Self::Pending,
            (RunStatus::Running, _) => Self::Running,
            (RunStatus::Ended, None) => Self::Failed,
            (RunStatus::Ended, Some(reason)) => match reason {
                EndReason::Success => Self::Success,
                EndReason::Failed => Self::Failed,
                EndReason::Timeout => Self::Timeout,
                EndReason::Stopped => Self::Stopped,
                EndReason::Crashed => Self::Crashed,
                EndReason::Skipped => Self::Skipped,
                EndReason::QueueFull => Self::QueueFull,
                EndReason::LogOverflow => Self::LogOverflow,
                EndReason::Interrupted => Self::Interrupted,
            },
        }
    }

    /// Done for the pipeline's purpose: succeeded, or skipped by a resume.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Success | Self::SkippedByResume)
    }

    /// Still going.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }
}

string_enum!(
    /// What a notification is about (`notifications.md` §1).
    NotifyKind {
        RunFailed => "run.failed",
        RunTimeout => "run.timeout",
        RunCrashed => "run.crashed",
        RunSucceeded => "run.succeeded",
        RunRecovered => "run.recovered",
        RunStarted => "run.started",
        RunStopped => "run.stopped",
        RunMissed => "run.missed",
        ServiceFlapping => "service.flapping",
        LogDiskPressure => "log.disk_pressure",
        DeliveryFailed => "notify.delivery_failed",
        ReloadFailed => "config.reload_failed",
    }
);

string_enum!(
    /// How loud a notification is; routes match this level and above.
    Severity { Info => "info", Warn => "warn", Error => "error" }
);

impl Severity {
    /// `info` < `warn` < `error`.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warn => 1,
            Severity::Error => 2,
        }
    }
}

impl NotifyKind {
    pub fn severity(self) -> Severity {
        match self {
            NotifyKind::RunFailed
            | NotifyKind::RunTimeout
            | NotifyKind::RunCrashed
            | NotifyKind::ServiceFlapping => Severity::Error,
            NotifyKind::RunMissed
            | NotifyKind::LogDiskPressure
            | NotifyKind::DeliveryFailed
            | NotifyKind::ReloadFailed => Severity::Warn,
            NotifyKind::RunSucceeded
            | NotifyKind::RunRecovered
            | NotifyKind::RunStarted
            | NotifyKind::RunStopped => Severity::Info,
        }
    }
}

impl TriggeredBy {
    /// What a trigger request may say it came from: runwisp's own interfaces and the API.
    pub const INTERFACES: &'static [TriggeredBy] = &[
        TriggeredBy::Api,
        TriggeredBy::Cli,
        TriggeredBy::Tui,
        TriggeredBy::Web,
    ];
}

impl EndReason {
    /// Retries and `restart = "on_failure"` follow these end reasons and no others.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            EndReason::Failed | EndReason::Timeout | EndReason::Crashed | EndReason::LogOverflow
        )
    }
}

/// One execution as stored in the `runs` table. Times are Unix milliseconds here; on the wire
/// it is [`crate::api::RunObject`] (RFC 3339 times, `duration_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub task_name: TaskName,
    pub kind: RunKind,
    pub status: RunStatus,
    pub end_reason: Option<EndReason>,
    pub exit_code: Option<i32>,
    pub triggered_by: TriggeredBy,
    pub scheduled_for: Option<i64>,
    pub created_at: i64,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub retry_attempt: u32,
    pub retry_of_run_id: Option<RunId>,
    pub replica_index: Option<u32>,
    pub message: Option<String>,
    pub pid: Option<i32>,
    pub pgid: Option<i32>,
    pub pid_start_time: Option<u64>,
    /// The pipeline run this run is a step of, and the step's name.
    pub parent_run_id: Option<RunId>,
    pub step: Option<String>,
    /// The interrupted run this one resumes.
    pub resume_of_run_id: Option<RunId>,
}

impl Run {
    /// How long the run ran, once it has ended.
    pub fn duration_ms(&self) -> Option<i64> {
        Some((self.end_at? - self.start_at?).max(0))
    }
}

/// Unix milliseconds as RFC 3339 UTC with millisecond precision.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pattern() {
        for ok in ["backup", "a", "db.backup-2_x", "9lives", &"a".repeat(100)] {
            assert!(TaskName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(TaskName::parse(""), Err(NameError::Empty));
        assert_eq!(TaskName::parse("../x"), Err(NameError::BadStart));
        assert_eq!(TaskName::parse("-x"), Err(NameError::BadStart));
        assert_eq!(TaskName::parse("a/b"), Err(NameError::BadChar('/')));
        assert_eq!(TaskName::parse("tâche"), Err(NameError::BadChar('â')));
        assert_eq!(TaskName::parse("a b"), Err(NameError::BadChar(' ')));
        assert_eq!(
            TaskName::parse(&"a".repeat(200)),
            Err(NameError::TooLong(200))
        );
    }

    #[test]
    fn run_ids_sort_in_creation_order() {
        let ids: Vec<RunId> = (0..1000).map(|_| RunId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.windows(2).all(|w| w[0].to_string() < w[1].to_string()));
    }

    #[test]
    fn run_ids_must_be_ulids() {
        let id = RunId::new();
        assert_eq!(RunId::parse(&id.to_string()), Ok(id));
        assert!(RunId::parse("../../etc/passwd").is_err());
        assert!(RunId::parse("UUUUUUUUUUUUUUUUUUUUUUUUUU").is_err());
    }

    #[test]
    fn enums_round_trip_their_spelling() {
        for r in EndReason::ALL {
            assert_eq!(r.as_str().parse::<EndReason>(), Ok(*r));
        }
        for t in TriggeredBy::ALL {
            assert_eq!(t.as_str().parse::<TriggeredBy>(), Ok(*t));
        }
    }
}
