//! The top level of `runwisp.toml`, `[defaults]`, and the keys of tasks and services.

use super::{
    choice_names, Key, Kind, BACKOFF, CATCH_UP, DAEMON, LOG_ON_FULL, NOTIFY, ON_INTERRUPT,
    ON_OVERLAP, RESTART, ROUTE, SCHEDULER, STORAGE,
};

// Keys shared by tasks, services and `[defaults]`.

pub(crate) const RUN: Key = Key::new(
    "run",
    Kind::Text,
    "The shell command, run by /bin/sh -c; several lines with \"\"\".",
)
.required();
pub(crate) const DESCRIPTION: Key = Key::new(
    "description",
    Kind::Text,
    "Shown in `runwisp list`, the terminal UI and the web UI.",
);
pub(crate) const GROUP: Key = Key::new(
    "group",
    Kind::Text,
    "Sidebar group in the UIs (default \"Tasks\" or \"Services\").",
);
pub(crate) const API_TRIGGER: Key = Key::new(
    "api_trigger",
    Kind::Bool,
    "false = only the scheduler may start it; manual triggers are refused (default true).",
);
pub(crate) const GRACEFUL_STOP: Key = Key::new(
    "graceful_stop",
    Kind::Duration { positive: false },
    "SIGTERM-to-SIGKILL window for the whole process group; \"0s\" kills at once (default \"5s\").",
);
pub(crate) const LOG_MAX_SIZE: Key = Key::new(
    "log_max_size",
    Kind::Size { positive: true },
    "Per-run log cap, like \"100MB\" (the default) or a number of bytes.",
);
pub(crate) const LOG_ON_FULL_KEY: Key = Key::new(
    "log_on_full",
    Kind::Choice(|| choice_names(LOG_ON_FULL)),
    "What happens when a run's log reaches log_max_size (default \"drop_old\").",
);
pub(crate) const KEEP_RUNS: Key = Key::new(
    "keep_runs",
    Kind::Integer {
        min: 1,
        max: 1_000_000,
    },
    "How many newest runs are kept (default: [defaults], else unlimited).",
);
pub(crate) const KEEP_FOR: Key = Key::new(
    "keep_for",
    Kind::Duration { positive: true },
    "Runs older than this are deleted (default: [defaults], else kept).",
);
pub(crate) const TIMEOUT: Key = Key::new(
    "timeout",
    Kind::Duration { positive: true },
    "Wall-clock cap of one attempt (default: [defaults], else none).",
);

/// The keys of tasks and services alike.
pub(crate) const COMMON: &[Key] = &[
    RUN,
    DESCRIPTION,
    GROUP,
    API_TRIGGER,
    GRACEFUL_STOP,
    LOG_MAX_SIZE,
    LOG_ON_FULL_KEY,
    KEEP_RUNS,
    KEEP_FOR,
    Key::new(
        "notify_on_failure",
        Kind::List { non_empty: false },
        "Notifier ids told about failed, timed-out, crashed and log_overflow runs.",
    ),
    Key::new(
        "notify_on_success",
        Kind::List { non_empty: false },
        "Notifier ids told about successful runs.",
    ),
    Key::new(
        "notify_after_retries",
        Kind::Bool,
        "true = tell only about the attempt that ends a retry chain, not each failed attempt.",
    ),
    NOTIFY_AFTER_FAILURES,
    Key::new(
        "env",
        Kind::StringMap,
        "Extra environment variables for the command (names of ASCII letters, digits and '_', not RUNWISP_*).",
    ),
    Key::new(
        "working_dir",
        Kind::Text,
        "Where the command runs; relative paths start at the configuration file's folder, ~ is the home.",
    ),
];

pub(crate) const NOTIFY_AFTER_FAILURES: Key = Key::new(
    "notify_after_failures",
    Kind::Integer {
        min: 1,
        max: 1_000_000,
    },
    "Tell about failures only from the Nth consecutive failed run on (1 = every failure).",
);

// Tasks.

pub(crate) const TASK_TIMEZONE: Key = Key::new(
    "timezone",
    Kind::Text,
    "IANA zone the cron is read in (default: [scheduler] timezone).",
);
pub(crate) const CATCH_UP_KEY: Key = Key::new(
    "catch_up",
    Kind::Choice(|| choice_names(CATCH_UP)),
    "Missed firings after downtime: run the latest once, all of them, or skip them (default \"latest\").",
);
pub(crate) const MAX_CATCH_UP_RUNS: Key = Key::new(
    "max_catch_up_runs",
    Kind::Integer {
        min: 1,
        max: 1_000_000,
    },
    "At most this many missed firings are caught up (default 100).",
);
pub(crate) const MAX_CONCURRENT: Key = Key::new(
    "max_concurrent",
    Kind::Integer { min: 1, max: 1024 },
    "How many runs of the task may be active at once (default 1).",
);
pub(crate) const ON_OVERLAP_KEY: Key = Key::new(
    "on_overlap",
    Kind::Choice(|| choice_names(ON_OVERLAP)),
    "A firing while max_concurrent runs are active: queue it, skip it, or terminate the oldest (default \"queue\").",
);
pub(crate) const QUEUE_MAX: Key = Key::new(
    "queue_max",
    Kind::Integer {
        min: 1,
        max: 10_000,
    },
    "The longest queue with on_overlap = \"queue\" (default 100).",
);
pub(crate) const RETRY_ATTEMPTS: Key = Key::new(
    "retry_attempts",
    Kind::Integer { min: 0, max: 100 },
    "Additional attempts after a failed one (default 0).",
);
pub(crate) const RETRY_DELAY: Key = Key::new(
    "retry_delay",
    Kind::Duration { positive: true },
    "Base delay before a retry (default \"5s\").",
);
pub(crate) const RETRY_BACKOFF: Key = Key::new(
    "retry_backoff",
    Kind::Choice(|| choice_names(BACKOFF)),
    "How the retry delay grows (default \"constant\").",
);
pub(crate) const RESTART_KEY: Key = Key::new(
    "restart",
    Kind::Choice(|| choice_names(RESTART)),
    "\"on_failure\" runs the task again when it fails (not together with retry_attempts); \"always\" is for services (default \"never\").",
);

pub(crate) const HOOK_SECRET: Key = Key::new(
    "secret",
    Kind::Text,
    "The shared secret (at least 16 bytes); or secret_env / secret_file: exactly one.",
);

/// `[tasks.NAME.webhook]`: a signed `POST /hooks/NAME` starts the task.
pub(crate) const HOOK: &[Key] = &[
    Key::new(
        "provider",
        Kind::Choice(|| vec!["github", "gitlab", "generic"]),
        "Who signs the deliveries: github (X-Hub-Signature-256), gitlab (X-Gitlab-Token) or generic (X-Signature-256).",
    )
    .required(),
    HOOK_SECRET,
    Key::new(
        "secret_env",
        Kind::Text,
        "The environment variable holding the secret.",
    ),
    Key::new(
        "secret_file",
        Kind::Text,
        "The file holding the secret (relative to the configuration file).",
    ),
    Key::new(
        "events",
        Kind::List { non_empty: true },
        "The events that start a run (default [\"push\"]; generic ignores it).",
    ),
    Key::new(
        "branches",
        Kind::List { non_empty: true },
        "Globs on the pushed branch, like \"main\" or \"release/*\" (default: any branch; tags never match).",
    ),
];

/// The keys only tasks take.
pub(crate) const TASK: &[Key] = &[
    Key::new(
        "cron",
        Kind::Text,
        "Five fields, or @hourly, @daily, @weekly, @monthly, @yearly, @every 1h30m; none = manual-only.",
    ),
    TASK_TIMEZONE,
    CATCH_UP_KEY,
    MAX_CATCH_UP_RUNS,
    MAX_CONCURRENT,
    ON_OVERLAP_KEY,
    QUEUE_MAX,
    RETRY_ATTEMPTS,
    RETRY_DELAY,
    RETRY_BACKOFF,
    RESTART_KEY,
    TIMEOUT,
    Key::new(
        "webhook",
        Kind::Table(HOOK),
        "A signed webhook (POST /hooks/NAME) from GitHub, GitLab or anything that signs like them.",
    ),
];

// Pipelines.

pub(crate) const ON_INTERRUPT_KEY: Key = Key::new(
    "on_interrupt",
    Kind::Choice(|| choice_names(ON_INTERRUPT)),
    "What a resume does with this step when the daemon went down during it: run it again, count it as done, or fail (default \"retry\").",
);
pub(crate) const CONTINUE_ON_FAILURE: Key = Key::new(
    "continue_on_failure",
    Kind::Bool,
    "true = a failure of this step does not fail the pipeline (default false).",
);

/// A step written as a table: `{ task = NAME, ... }` or `{ pipeline = NAME, ... }`.
pub(crate) const STEP: &[Key] = &[
    Key::new("task", Kind::Text, "The task this step runs."),
    Key::new(
        "pipeline",
        Kind::Text,
        "The pipeline this step runs, as a sub-pipeline.",
    ),
    CONTINUE_ON_FAILURE,
    ON_INTERRUPT_KEY,
];

/// `{ parallel = [...], fail_fast = false }`: members start at once.
pub(crate) const PARALLEL: &[Key] = &[
    Key::new(
        "parallel",
        Kind::Steps,
        "The members: task or pipeline names, or step tables; they start at once.",
    ),
    Key::new(
        "fail_fast",
        Kind::Bool,
        "true = the first failing member stops its siblings (default false).",
    ),
];

/// The keys of `[pipelines.NAME]`: the task keys that apply to a whole pipeline, and its steps.
pub(crate) const PIPELINE: &[Key] = &[
    Key::new(
        "steps",
        Kind::Steps,
        "In order: task or pipeline names, { task = NAME, ... } / { pipeline = NAME, ... } tables, or { parallel = [...] } groups.",
    )
    .required(),
    DESCRIPTION,
    Key::new(
        "group",
        Kind::Text,
        "Sidebar group in the UIs (default \"Pipelines\").",
    ),
    API_TRIGGER,
    Key::new(
        "cron",
        Kind::Text,
        "Five fields, or @hourly, @daily, @weekly, @monthly, @yearly, @every 1h30m; none = manual-only.",
    ),
    TASK_TIMEZONE,
    CATCH_UP_KEY,
    MAX_CATCH_UP_RUNS,
    ON_OVERLAP_KEY,
    QUEUE_MAX,
    Key::new(
        "timeout",
        Kind::Duration { positive: true },
        "Wall-clock cap of the whole pipeline; its active steps are stopped (default none).",
    ),
    KEEP_RUNS,
    KEEP_FOR,
    Key::new(
        "notify_on_failure",
        Kind::List { non_empty: false },
        "Notifier ids told when the pipeline fails, times out or crashes.",
    ),
    Key::new(
        "notify_on_success",
        Kind::List { non_empty: false },
        "Notifier ids told when the pipeline succeeds.",
    ),
    Key::new(
        "webhook",
        Kind::Table(HOOK),
        "A signed webhook (POST /hooks/NAME) from GitHub, GitLab or anything that signs like them.",
    ),
    Key::new(
        "resume_on_boot",
        Kind::Bool,
        "true = a run the daemon's shutdown or crash interrupted is resumed once at the next start (default false).",
    ),
];

// Services.

pub(crate) const INSTANCES: Key = Key::new(
    "instances",
    Kind::Integer { min: 1, max: 64 },
    "Replicas to keep alive, each with its own replica index (default 1).",
);
pub(crate) const RESTART_DELAY: Key = Key::new(
    "restart_delay",
    Kind::Duration { positive: true },
    "Base delay before restarting a replica that exited (default \"1s\").",
);
pub(crate) const RESTART_BACKOFF: Key = Key::new(
    "restart_backoff",
    Kind::Choice(|| choice_names(BACKOFF)),
    "How the restart delay grows, capped at 60s (default \"exponential\").",
);
pub(crate) const BACKOFF_RESET_AFTER: Key = Key::new(
    "backoff_reset_after",
    Kind::Duration { positive: true },
    "A replica that stayed up this long starts its back-off from zero again (default \"60s\").",
);

/// The keys only services take.
pub(crate) const SERVICE: &[Key] = &[
    INSTANCES,
    RESTART_DELAY,
    RESTART_BACKOFF,
    BACKOFF_RESET_AFTER,
];

/// `[defaults]`: values every task and service inherits unless it sets its own.
pub(crate) const DEFAULTS: &[Key] = &[
    TIMEOUT,
    GRACEFUL_STOP,
    LOG_MAX_SIZE,
    LOG_ON_FULL_KEY,
    KEEP_RUNS,
    KEEP_FOR,
];

/// The top level of `runwisp.toml`.
pub(crate) const TOP: &[Key] = &[
    Key::new(
        "tasks",
        Kind::Named(&[COMMON, TASK]),
        "Tasks, by name: commands run on a cron schedule or on demand.",
    ),
    Key::new(
        "services",
        Kind::Named(&[COMMON, SERVICE]),
        "Services, by name: processes kept alive and restarted with back-off.",
    ),
    Key::new(
        "pipelines",
        Kind::Named(&[PIPELINE]),
        "Pipelines, by name: tasks run in order, some side by side, other pipelines as steps.",
    ),
    Key::new(
        "defaults",
        Kind::Table(DEFAULTS),
        "Values every task and service inherits unless it sets its own.",
    ),
    Key::new("scheduler", Kind::Table(SCHEDULER), "The scheduler."),
    Key::new(
        "daemon",
        Kind::Table(DAEMON),
        "The daemon: where it listens, how it stops and logs.",
    ),
    Key::new(
        "storage",
        Kind::Table(STORAGE),
        "Limits on the run logs kept under the data directory.",
    ),
    Key::new(
        "notify",
        Kind::Table(NOTIFY),
        "How notifications are folded, kept and sent by default.",
    ),
    Key::new(
        "notifier",
        Kind::Notifiers,
        "Outbound notifiers, one [[notifier]] table each.",
    ),
    Key::new(
        "notification_route",
        Kind::TableArray(ROUTE),
        "Routes send matching events to notifiers, on top of each task's own lists.",
    ),
];
