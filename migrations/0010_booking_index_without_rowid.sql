-- One row less written per booking change: `booking_index` kept each row in its rowid b-tree
-- and again in the automatic index of its primary key, so an upsert wrote both. WITHOUT ROWID
-- keeps the rows in the primary key's b-tree itself (rows are small: a few short columns).
-- The table is bounded (the cron prunes rows whose slot ended, migration 0007), so the copy
-- below stays within a migration's time.
CREATE TABLE booking_index_new (
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
) WITHOUT ROWID;

INSERT INTO booking_index_new (booking_id, store_id, number, user_id, code, slot_start,
    slot_end, party_size, status, created_at, updated_at, version)
SELECT booking_id, store_id, number, user_id, code, slot_start,
    slot_end, party_size, status, created_at, updated_at, version
FROM booking_index;

DROP TABLE booking_index;
ALTER TABLE booking_index_new RENAME TO booking_index;

CREATE INDEX booking_index_by_user ON booking_index (user_id, slot_start);
CREATE INDEX booking_index_by_end ON booking_index (slot_end);
