-- Notifications out: webhooks of stores, their bounded deliveries log, and per-user calendar
-- feed tokens. (0008: 0007 is taken by a parallel branch.)

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY NOT NULL,
    store_id   TEXT NOT NULL REFERENCES stores (id),
    url        TEXT NOT NULL,
    -- Space-separated event types it subscribes to ("booking.created booking.cancelled").
    events     TEXT NOT NULL,
    -- `whsec_` + base64 of 32 random bytes. Stored as is: signing needs the key itself.
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX webhooks_by_store ON webhooks (store_id, created_at, id);

-- The recent delivery attempts of each webhook (the newest 100; older ones are pruned in the
-- statement batch that logs a new one). Response bodies are never stored.
CREATE TABLE webhook_deliveries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    at          TEXT NOT NULL
);

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);

-- One secret calendar feed per user: only the SHA-256 of its token is kept; rotating
-- replaces the row, so the old URL stops working at once.
CREATE TABLE calendar_feeds (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
