-- The cross-store booking index and archived history, written by each store's Durable Object
-- from its outbox (retried from an alarm until D1 confirms). The object is the source of
-- truth; these may trail it by a few seconds. `version` orders updates (outbox sequence).

CREATE TABLE booking_index (
    booking_id TEXT PRIMARY KEY NOT NULL,
    store_id   TEXT NOT NULL,
    -- Per-store booking number (the legacy app's reservation id).
    number     INTEGER NOT NULL,
    -- NULL for bookings made by integrations for callers, and after account erasure.
    user_id    TEXT,
    code       TEXT NOT NULL,
    slot_start TEXT NOT NULL,
    slot_end   TEXT NOT NULL,
    party_size INTEGER NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL
);

CREATE INDEX booking_index_by_user ON booking_index (user_id, slot_start);
CREATE INDEX booking_index_by_store ON booking_index (store_id, number);

CREATE TABLE booking_history (
    booking_id  TEXT PRIMARY KEY NOT NULL,
    store_id    TEXT NOT NULL,
    number      INTEGER NOT NULL,
    user_id     TEXT,
    code        TEXT NOT NULL,
    slot_start  TEXT NOT NULL,
    slot_end    TEXT NOT NULL,
    party_size  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    archived_at TEXT
);

CREATE INDEX booking_history_by_user ON booking_history (user_id, slot_start);
