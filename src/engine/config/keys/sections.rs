//! `[scheduler]`, `[daemon]`, `[storage]`, `[notify]` and `[[notification_route]]`.

use super::{choice_names, Key, Kind, LOG_DESTINATIONS, LOG_FORMATS};
use crate::engine::model::{NotifyKind, Severity};

fn severities() -> Vec<&'static str> {
    Severity::ALL.iter().map(|s| s.as_str()).collect()
}

fn event_kinds() -> Vec<&'static str> {
    NotifyKind::ALL.iter().map(|k| k.as_str()).collect()
}

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

pub(crate) const TLS_CERT: Key = Key::new(
    "tls_cert",
    Kind::Text,
    "PEM certificate chain; with tls_key the listener speaks TLS only (reloaded when the file changes).",
);
pub(crate) const TLS_KEY: Key = Key::new(
    "tls_key",
    Kind::Text,
    "PEM private key of tls_cert (reloaded when the file changes).",
);
pub(crate) const CLIENT_CA: Key = Key::new(
    "client_ca",
    Kind::Text,
    "PEM CA certificate: every connection must present a client certificate it signed (needs tls_cert).",
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
    TLS_CERT,
    TLS_KEY,
    CLIENT_CA,
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
