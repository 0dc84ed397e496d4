-- runwisp history: scoped API tokens (webhooks.md §2).
--
-- A token is kept as the SHA-256 of its text only: the text itself is shown once, when it is
-- created, and never stored. A revoked token's row is deleted, so its name can be used again.

CREATE TABLE api_tokens (
    name         TEXT PRIMARY KEY,        -- letters, digits, '-' and '_'
    hash         BLOB NOT NULL UNIQUE,    -- sha256 of the whole token (rw_...), 32 bytes
    tasks        TEXT NOT NULL,           -- JSON array of the task names it may act on
    trigger      INTEGER NOT NULL,        -- 1: may start its tasks; 0: reads only (--read)
    metrics      INTEGER NOT NULL,        -- 1: may read /metrics
    created_at   INTEGER NOT NULL,        -- Unix ms
    expires_at   INTEGER,                 -- Unix ms; NULL: never
    last_used_at INTEGER                  -- Unix ms; NULL: never used
);
