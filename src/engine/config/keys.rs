//! Every key of `runwisp.toml` as data: its name, the kind of value it takes (with ranges,
//! choices and whether zero is allowed), whether it is required, and one sentence about it.
//! The loader reads these tables (the known keys of each table, the ranges and choices it
//! checks) and `schema.rs` turns the same tables into the JSON Schema `runwisp schema` prints,
//! so the two cannot drift apart. Rules that are code, not data (cron syntax, zone names, a
//! listen address, exactly one secret source, …) stay in the loader; the schema is looser there.

use super::{Backoff, CatchUp, EmailTls, LogDestination, LogFormat, LogOnFull, OnOverlap, Restart};
use crate::engine::model::{NotifyKind, Severity};

/// The kind of value a key takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Any string (its shape, if any, is checked by the loader's code).
    Text,
    /// A duration string (`units::parse_duration`); `positive` rejects zero.
    Duration {
        positive: bool,
    },
    /// A size string or a bare integer of bytes (`units::parse_size`); `positive` rejects zero.
    Size {
        positive: bool,
    },
    /// An integer within `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    Bool,
    /// An array of strings; `non_empty` rejects `[]`.
    List {
        non_empty: bool,
    },
    /// One of a closed set of strings.
    Choice(fn() -> Vec<&'static str>),
    /// A non-empty array of strings, each one of a closed set.
    ChoiceList(fn() -> Vec<&'static str>),
    /// A table whose values are all strings (`env`, `headers`).
    StringMap,
    /// A string or an integer (a Telegram `chat_id`).
    TextOrInteger,
    /// A sub-table with its own keys.
    Table(&'static [Key]),
    /// An array of tables (`[[notification_route]]`).
    TableArray(&'static [Key]),
    /// A table of named tables (`[tasks.NAME]`), each with the keys of all the lists.
    Named(&'static [&'static [Key]]),
    /// `[[notifier]]`: an array of tables whose keys depend on `type` ([`NOTIFIER_TYPES`]).
    Notifiers,
}

/// One key of a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// The loader reports a missing key.
    pub required: bool,
    pub doc: &'static str,
}

impl Key {
    const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Key {
        Key {
            name,
            kind,
            required: false,
            doc,
        }
    }

    const fn required(self) -> Key {
        Key {
            required: true,
            ..self
        }
    }
}

/// The names of some tables of keys, for `Fields::check_keys`.
pub(crate) fn names(tables: &[&[Key]]) -> Vec<&'static str> {
    tables
        .iter()
        .flat_map(|t| t.iter().map(|k| k.name))
        .collect()
}

fn choice_names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(name, _)| *name).collect()
}

// The closed sets, with the value each spelling stands for.

pub(crate) const LOG_ON_FULL: &[(&str, LogOnFull)] = &[
    ("drop_old", LogOnFull::DropOld),
    ("drop_new", LogOnFull::DropNew),
    ("kill_task", LogOnFull::KillTask),
];

pub(crate) const BACKOFF: &[(&str, Backoff)] = &[
    ("constant", Backoff::Constant),
    ("linear", Backoff::Linear),
    ("exponential", Backoff::Exponential),
];

pub(crate) const CATCH_UP: &[(&str, CatchUp)] = &[
    ("latest", CatchUp::Latest),
    ("all", CatchUp::All),
    ("skip", CatchUp::Skip),
];

pub(crate) const ON_OVERLAP: &[(&str, OnOverlap)] = &[
    ("queue", OnOverlap::Queue),
    ("skip", OnOverlap::Skip),
    ("terminate", OnOverlap::Terminate),
];

/// `restart` on a task; `always` is refused with its own message (use a service).
pub(crate) const RESTART: &[(&str, Restart)] = &[
    ("never", Restart::Never),
    ("on_failure", Restart::OnFailure),
];

pub(crate) const LOG_FORMATS: &[(&str, LogFormat)] =
    &[("text", LogFormat::Text), ("json", LogFormat::Json)];

pub(crate) const LOG_DESTINATIONS: &[(&str, LogDestination)] = &[
    ("file", LogDestination::File),
    ("journald", LogDestination::Journald),
];

pub(crate) const EMAIL_TLS: &[(&str, EmailTls)] = &[
    ("starttls", EmailTls::StartTls),
    ("implicit", EmailTls::Implicit),
    ("none", EmailTls::None),
];

fn severities() -> Vec<&'static str> {
    Severity::ALL.iter().map(|s| s.as_str()).collect()
}

fn event_kinds() -> Vec<&'static str> {
    NotifyKind::ALL.iter().map(|k| k.as_str()).collect()
}

fn notifier_types() -> Vec<&'static str> {
    NOTIFIER_TYPES.iter().map(|t| t.name).collect()
}

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

// The other sections.

/// `[defaults]`: values every task and service inherits unless it sets its own.
pub(crate) const DEFAULTS: &[Key] = &[
    TIMEOUT,
    GRACEFUL_STOP,
    LOG_MAX_SIZE,
    LOG_ON_FULL_KEY,
    KEEP_RUNS,
    KEEP_FOR,
];

pub(crate) const SCHEDULER_TIMEZONE: Key = Key::new(
    "timezone",
    Kind::Text,
    "Default IANA zone for cron expressions; unset = the host's zone (TZ, else /etc/localtime), else UTC.",
);

/// `[scheduler]`.
pub(crate) const SCHEDULER: &[Key] = &[SCHEDULER_TIMEZONE];

pub(crate) const SHUTDOWN_TIMEOUT: Key = Key::new(
    "shutdown_timeout",
    Kind::Duration { positive: true },
    "The whole daemon's stop budget on SIGTERM/SIGINT (default \"10s\").",
);
pub(crate) const METRICS_PUBLIC: Key = Key::new(
    "metrics_public",
    Kind::Bool,
    "GET /metrics answers without a token (for a scraper on loopback).",
);
pub(crate) const LOG_FORMAT: Key = Key::new(
    "log_format",
    Kind::Choice(|| choice_names(LOG_FORMATS)),
    "How daemon.log is written: text lines, or one JSON object a line (default \"text\").",
);
pub(crate) const LOG_DESTINATION: Key = Key::new(
    "log",
    Kind::Choice(|| choice_names(LOG_DESTINATIONS)),
    "Where the daemon's own log goes: data/daemon.log, or systemd's journal (default \"file\").",
);

/// `[daemon]`.
pub(crate) const DAEMON: &[Key] = &[
    Key::new(
        "listen",
        Kind::Text,
        "HOST:PORT the REST API and web UI listen on (default \"127.0.0.1:9477\").",
    ),
    SHUTDOWN_TIMEOUT,
    Key::new(
        "external_url",
        Kind::Text,
        "The http:// or https:// URL people reach this daemon at; notifications link to {external_url}/runs/ID.",
    ),
    METRICS_PUBLIC,
    LOG_FORMAT,
    LOG_DESTINATION,
];

pub(crate) const MAX_SIZE_KEY: Key = Key::new(
    "max_size",
    Kind::Size { positive: false },
    "Total size of all run logs; the oldest ended runs are deleted past it (0, the default, = no cap).",
);
pub(crate) const MIN_FREE_SPACE: Key = Key::new(
    "min_free_space",
    Kind::Size { positive: false },
    "Runs are refused while the data disk has less free space (default \"16MB\"; 0 disables it).",
);

/// `[storage]`.
pub(crate) const STORAGE: &[Key] = &[MAX_SIZE_KEY, MIN_FREE_SPACE];

pub(crate) const APPEND_NOTIFIERS: Key = Key::new(
    "append_notifiers",
    Kind::List { non_empty: false },
    "Notifier ids added to every task's lists (default [\"inapp\"]).",
);
pub(crate) const DEFAULT_NOTIFIERS: Key = Key::new(
    "default_notifiers",
    Kind::List { non_empty: false },
    "Another name for append_notifiers; set only one of them.",
);
pub(crate) const COALESCE_WINDOW: Key = Key::new(
    "coalesce_window",
    Kind::Duration { positive: false },
    "Repeats of one event within this window are folded into one notification (default \"1h\"; \"0s\" = never).",
);
pub(crate) const OCCURRENCE_RING: Key = Key::new(
    "occurrence_ring",
    Kind::Integer { min: 1, max: 1000 },
    "Every Nth repeat inside the window is sent on, with its count (default 10).",
);
pub(crate) const HISTORY_KEEP: Key = Key::new(
    "history_keep",
    Kind::Integer {
        min: 1,
        max: 1_000_000,
    },
    "In-app notifications kept at most (default 1024).",
);
pub(crate) const HISTORY_KEEP_FOR: Key = Key::new(
    "history_keep_for",
    Kind::Duration { positive: true },
    "In-app notifications older than this are deleted (default \"90d\").",
);

/// `[notify]`.
pub(crate) const NOTIFY: &[Key] = &[
    APPEND_NOTIFIERS,
    DEFAULT_NOTIFIERS,
    COALESCE_WINDOW,
    OCCURRENCE_RING,
    HISTORY_KEEP,
    HISTORY_KEEP_FOR,
];

/// `match = { kind = [...], task = "glob", severity = "warn" }`.
pub(crate) const ROUTE_MATCH: &[Key] = &[
    Key::new(
        "kind",
        Kind::ChoiceList(event_kinds),
        "The event kinds this route is for.",
    )
    .required(),
    Key::new(
        "task",
        Kind::Text,
        "A task-name pattern: * any characters, ? one, [abc], [a-z], [!abc]; omitted = every task.",
    ),
    Key::new(
        "severity",
        Kind::Choice(severities),
        "The lowest severity matched; omitted = every severity.",
    ),
];

/// `[[notification_route]]`.
pub(crate) const ROUTE: &[Key] = &[
    Key::new(
        "match",
        Kind::Table(ROUTE_MATCH),
        "Which events this route sends.",
    )
    .required(),
    Key::new(
        "notify",
        Kind::List { non_empty: true },
        "The notifier ids this route sends to (\"inapp\" for the in-app bell).",
    )
    .required(),
];

// `[[notifier]]`.

/// One notifier type: its plain keys, and its secret keys (each also as `X_env`, the name of
/// an environment variable, and `X_file`, a file path; exactly one of the three).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotifierType {
    pub name: &'static str,
    pub doc: &'static str,
    pub plain: &'static [Key],
    pub secrets: &'static [Key],
}

/// The keys of every notifier.
pub(crate) const NOTIFIER: &[Key] = &[
    Key::new(
        "id",
        Kind::Text,
        "What tasks and routes name: ASCII letters, digits, '-' and '_', unique, not \"inapp\".",
    )
    .required(),
    Key::new(
        "type",
        Kind::Choice(notifier_types),
        "The channel this notifier sends to.",
    )
    .required(),
];

pub(crate) const SLACK_WEBHOOK_URL: Key = Key::new(
    "webhook_url",
    Kind::Text,
    "The incoming-webhook URL (http:// or https://).",
)
.required();
pub(crate) const DISCORD_WEBHOOK_URL: Key = SLACK_WEBHOOK_URL;
pub(crate) const BOT_TOKEN: Key =
    Key::new("bot_token", Kind::Text, "The Telegram bot's token.").required();
pub(crate) const CHAT_ID: Key = Key::new(
    "chat_id",
    Kind::TextOrInteger,
    "The chat the bot posts to, a string or an integer.",
)
.required();
pub(crate) const EMAIL_PORT: Key = Key::new(
    "port",
    Kind::Integer { min: 1, max: 65535 },
    "The SMTP port (default 587 with starttls, 465 with implicit, 25 with none).",
);
pub(crate) const EMAIL_TLS_KEY: Key = Key::new(
    "tls",
    Kind::Choice(|| choice_names(EMAIL_TLS)),
    "\"starttls\" (default), \"implicit\", or \"none\" (loopback hosts only).",
);
pub(crate) const EMAIL_PASSWORD: Key = Key::new(
    "password",
    Kind::Text,
    "The SMTP password; with username, both or neither.",
);
pub(crate) const WEBHOOK_URL: Key = Key::new(
    "url",
    Kind::Text,
    "Where each event is POSTed as JSON (http:// or https://).",
)
.required();
pub(crate) const WEBHOOK_SECRET: Key = Key::new(
    "secret",
    Kind::Text,
    "Signs each body: X-Runwisp-Signature-256: sha256=HEX (HMAC-SHA256).",
);

pub(crate) const NOTIFIER_TYPES: &[NotifierType] = &[
    NotifierType {
        name: "slack",
        doc: "A Slack incoming webhook.",
        plain: &[Key::new(
            "channel",
            Kind::Text,
            "\"#channel\" or \"@user\" to post to instead of the webhook's own.",
        )],
        secrets: &[SLACK_WEBHOOK_URL],
    },
    NotifierType {
        name: "discord",
        doc: "A Discord webhook.",
        plain: &[],
        secrets: &[DISCORD_WEBHOOK_URL],
    },
    NotifierType {
        name: "telegram",
        doc: "A Telegram bot posting to one chat.",
        plain: &[
            CHAT_ID,
            Key::new(
                "api_url",
                Kind::Text,
                "A self-hosted Bot API server (default https://api.telegram.org).",
            ),
        ],
        secrets: &[BOT_TOKEN],
    },
    NotifierType {
        name: "email",
        doc: "Mail through an SMTP server.",
        plain: &[
            Key::new("host", Kind::Text, "The SMTP server's name or address.").required(),
            EMAIL_PORT,
            EMAIL_TLS_KEY,
            Key::new(
                "username",
                Kind::Text,
                "The SMTP user; with password, both or neither.",
            ),
            Key::new(
                "from",
                Kind::Text,
                "The sender: name@example.com or \"Name <name@example.com>\".",
            )
            .required(),
            Key::new(
                "to",
                Kind::List { non_empty: true },
                "The recipients' addresses.",
            )
            .required(),
            Key::new(
                "cc",
                Kind::List { non_empty: false },
                "Copied recipients' addresses.",
            ),
        ],
        secrets: &[EMAIL_PASSWORD],
    },
    NotifierType {
        name: "webhook",
        doc: "An HTTP POST of each event as JSON.",
        plain: &[Key::new(
            "headers",
            Kind::StringMap,
            "Extra HTTP headers sent with each request.",
        )],
        secrets: &[WEBHOOK_URL, WEBHOOK_SECRET],
    },
    NotifierType {
        name: "command",
        doc: "A shell command that reads each event as JSON on stdin.",
        plain: &[Key::new(
            "run",
            Kind::Text,
            "The shell command, run by /bin/sh -c with the event on stdin (30s timeout).",
        )
        .required()],
        secrets: &[],
    },
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

/// The keys a `[[notifier]]` of `t` takes besides `id` and `type`, secrets with their `_env`
/// and `_file` forms.
pub(crate) fn notifier_keys(t: &NotifierType) -> Vec<String> {
    let mut keys: Vec<String> = t.plain.iter().map(|k| k.name.to_string()).collect();
    for k in t.secrets {
        keys.extend([
            k.name.to_string(),
            format!("{}_env", k.name),
            format!("{}_file", k.name),
        ]);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_tables() -> Vec<(&'static str, &'static [Key])> {
        let mut out = vec![
            ("top", TOP),
            ("common", COMMON),
            ("task", TASK),
            ("service", SERVICE),
            ("defaults", DEFAULTS),
            ("scheduler", SCHEDULER),
            ("daemon", DAEMON),
            ("storage", STORAGE),
            ("notify", NOTIFY),
            ("route", ROUTE),
            ("match", ROUTE_MATCH),
            ("notifier", NOTIFIER),
        ];
        for t in NOTIFIER_TYPES {
            out.push((t.name, t.plain));
            out.push((t.name, t.secrets));
        }
        out
    }

    #[test]
    fn no_table_names_a_key_twice_and_every_key_is_described() {
        for (table, keys) in all_tables() {
            let mut seen = std::collections::BTreeSet::new();
            for k in keys {
                assert!(seen.insert(k.name), "{table}: {} twice", k.name);
                assert!(k.doc.ends_with('.'), "{table}.{}: {:?}", k.name, k.doc);
            }
        }
        let shared: Vec<_> = names(&[COMMON])
            .into_iter()
            .filter(|k| names(&[TASK, SERVICE]).contains(k))
            .collect();
        assert!(shared.is_empty(), "{shared:?}");
    }
}
