-- Webhook deliveries (webhooks.md §1): what started a run, shown with the run, and each
-- delivery's id for the 72-hour replay check (an id older than that is cleared when it is seen
-- again, so a redelivery days later runs). Rows are deleted with their run.
CREATE TABLE webhook_deliveries (
    run_id      TEXT PRIMARY KEY,
    task_name   TEXT NOT NULL,
    delivery    TEXT,
    provider    TEXT NOT NULL,
    event       TEXT,
    git_ref     TEXT,
    branch      TEXT,
    sha         TEXT,
    repo        TEXT,
    received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_once
    ON webhook_deliveries (task_name, delivery) WHERE delivery IS NOT NULL;
