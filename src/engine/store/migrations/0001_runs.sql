-- runwisp history, version 1: runs and a small key/value table for daemon facts
-- (fingerprint, secrets). Migrations are append-only: never edit a released file, add the next.

CREATE TABLE runs (
    id              TEXT PRIMARY KEY,               -- ULID
    task_name       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('task', 'service')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ended')),
    end_reason      TEXT CHECK (end_reason IN ('success', 'failed', 'timeout', 'stopped',
                        'crashed', 'skipped', 'queue_full', 'log_overflow')),
    exit_code       INTEGER,
    triggered_by    TEXT NOT NULL,
    scheduled_for   INTEGER,                        -- Unix ms; NULL for manual triggers
    created_at      INTEGER NOT NULL,               -- Unix ms
    start_at        INTEGER,
    end_at          INTEGER,
    retry_attempt   INTEGER NOT NULL DEFAULT 0,
    retry_of_run_id TEXT,
    replica_index   INTEGER,
    message         TEXT,
    pid             INTEGER,                        -- process group leader, for crash recovery
    pgid            INTEGER,
    pid_start_time  INTEGER,                        -- /proc start time, guards against pid reuse
    UNIQUE (task_name, scheduled_for)
);

CREATE INDEX runs_by_task ON runs (task_name, id);
CREATE INDEX runs_unfinished ON runs (status) WHERE status <> 'ended';

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
