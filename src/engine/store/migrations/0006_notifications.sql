-- runwisp history, version 6: notifications (notifications.md §3, §4).
--
-- `notifications` holds one row per coalesced event: the bell shows the rows with inapp = 1,
-- and the outbound coalescing counts on the same row (sent_count, closed). `deliveries` is the
-- durable outbox of outbound sends, written in the same transaction as the row it comes from.
-- `notify_streaks` counts each task's consecutive failures, for notify_after_failures and for
-- the recovery message, and remembers which channels heard them.

CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,        -- ULID
    kind         TEXT NOT NULL,           -- model::NotifyKind
    severity     TEXT NOT NULL,           -- model::Severity
    task_name    TEXT,
    run_id       TEXT,                    -- the latest occurrence's run
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    count        INTEGER NOT NULL,
    occurrences  TEXT NOT NULL,           -- JSON array of Unix ms, newest first
    created_at   INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    read_at      INTEGER,
    coalesce_key TEXT NOT NULL,
    inapp        INTEGER NOT NULL,        -- 1 when the bell shows it
    channels     TEXT NOT NULL,           -- JSON array of the outbound notifier ids it goes to
    sent_count   INTEGER NOT NULL,        -- occurrences already told to those channels
    closes_at    INTEGER NOT NULL,        -- the end of its coalescing window (Unix ms)
    closed       INTEGER NOT NULL         -- 1 once the window ended and its summary was queued
);
CREATE INDEX notifications_open ON notifications (closed, coalesce_key, closes_at);
CREATE INDEX notifications_bell ON notifications (inapp, id);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier        TEXT NOT NULL,
    notification_id TEXT,
    payload         TEXT NOT NULL,        -- JSON: what to send (engine::notify::Outgoing)
    created_at      INTEGER NOT NULL,     -- the retry budget runs from here
    next_at         INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,        -- pending, sent, failed
    last_error      TEXT,
    done_at         INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (status, notifier, id);

CREATE TABLE notify_streaks (
    task_name TEXT PRIMARY KEY,
    failures  INTEGER NOT NULL,
    since     INTEGER NOT NULL,           -- Unix ms of the first failure of the streak
    told      TEXT NOT NULL               -- JSON array of the notifier ids told of them
);
