-- runwisp history, version 3: the runs table without CHECK constraints on kind, status and
-- end_reason (the enums of model.rs validate what is written, and new kinds such as `pipeline`
-- or end reasons such as `interrupted` must fit), with three nullable columns for pipeline
-- steps and resumed runs.
--
-- SQLite cannot drop a CHECK constraint, so the table is rebuilt (create, copy, drop, rename,
-- index; https://sqlite.org/lang_altertable.html#otheralter). The whole file runs inside the
-- migration's transaction together with the new user_version, so it is applied entirely or not
-- at all: no BEGIN or COMMIT here. No table, trigger or view refers to runs, so foreign_keys
-- can stay on. Rows are copied with their rowid, so they are kept exactly.

CREATE TABLE runs_new (
    id               TEXT PRIMARY KEY,              -- ULID
    task_name        TEXT NOT NULL,
    kind             TEXT NOT NULL,                 -- model::RunKind
    status           TEXT NOT NULL,                 -- model::RunStatus
    end_reason       TEXT,                          -- model::EndReason
    exit_code        INTEGER,
    triggered_by     TEXT NOT NULL,
    scheduled_for    INTEGER,                       -- Unix ms; NULL for manual triggers
    created_at       INTEGER NOT NULL,              -- Unix ms
    start_at         INTEGER,
    end_at           INTEGER,
    retry_attempt    INTEGER NOT NULL DEFAULT 0,
    retry_of_run_id  TEXT,
    replica_index    INTEGER,
    message          TEXT,
    pid              INTEGER,                       -- process group leader, for crash recovery
    pgid             INTEGER,
    pid_start_time   INTEGER,                       -- /proc start time, guards against pid reuse
    parent_run_id    TEXT,                          -- the pipeline run this run is a step of
    step             TEXT,                          -- the name of that step in its pipeline
    resume_of_run_id TEXT,                          -- the run this one resumes
    UNIQUE (task_name, scheduled_for)
);

INSERT INTO runs_new (rowid, id, task_name, kind, status, end_reason, exit_code, triggered_by,
                      scheduled_for, created_at, start_at, end_at, retry_attempt,
                      retry_of_run_id, replica_index, message, pid, pgid, pid_start_time)
    SELECT rowid, id, task_name, kind, status, end_reason, exit_code, triggered_by,
           scheduled_for, created_at, start_at, end_at, retry_attempt,
           retry_of_run_id, replica_index, message, pid, pgid, pid_start_time
    FROM runs;

DROP TABLE runs;

ALTER TABLE runs_new RENAME TO runs;

CREATE INDEX runs_by_task ON runs (task_name, id);
CREATE INDEX runs_unfinished ON runs (status) WHERE status <> 'ended';
-- Most runs belong to no pipeline; `parent_run_id = ?` still uses this partial index.
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
