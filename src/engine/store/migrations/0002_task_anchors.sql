-- runwisp history, version 2: when the daemon first saw each scheduled task, so catch-up after
-- downtime starts from there and a fresh install never backfills.

CREATE TABLE task_anchors (
    task_name  TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL          -- Unix ms
);
