-- runwisp history, version 5: the lifecycle outbox. Every change of a run (created, started,
-- ended) adds a row here in the same transaction as the change, so a consumer (notifications,
-- metrics) that reads from its saved cursor never misses one, across restarts too.

CREATE TABLE lifecycle (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,    -- Unix ms, the change's own time
    kind       TEXT NOT NULL,       -- run.created, run.started, run.ended
    run_id     TEXT NOT NULL,
    task_name  TEXT NOT NULL,
    end_reason TEXT,
    exit_code  INTEGER
);

CREATE TABLE lifecycle_cursors (
    consumer TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL       -- the last event the consumer handled
);
