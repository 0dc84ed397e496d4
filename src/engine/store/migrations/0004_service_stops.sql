-- runwisp history, version 4: services an operator stopped, so they stay stopped when the
-- daemon restarts (until an operator restarts them).

CREATE TABLE service_stops (
    service_name TEXT PRIMARY KEY,
    stopped_at   INTEGER NOT NULL    -- Unix ms
);
