-- One row written per booking change instead of three: the booking index becomes one document
-- per user (`user_bookings`), the only way it is ever read (`GET /me/bookings`, calendar
-- feeds, erasure's stores of a user). A change rewrites its entry in the user's document (the
-- row, in the primary key's b-tree); there is no secondary index to keep in step, so
-- `booking_index_by_user` and `booking_index_by_end` go. Bookings without a user (made by an
-- integration for a caller, or of an erased account) are never read, so they are not kept.
-- The cron prunes ended entries by walking the documents in pages (`prune_cursors`, below)
-- instead of reading an index by end.
CREATE TABLE user_bookings (
    user_id  TEXT PRIMARY KEY NOT NULL,
    -- JSON object: booking id -> {store_id, code, slot_start, slot_end, party_size, status,
    -- created_at, updated_at, version}; instants RFC 3339 UTC (fixed width, so text order is
    -- time order); `version` orders updates (the object's outbox sequence).
    bookings TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO user_bookings (user_id, bookings)
SELECT user_id, json_group_object(booking_id, json_object('store_id', store_id, 'code', code,
    'slot_start', slot_start, 'slot_end', slot_end, 'party_size', party_size, 'status', status,
    'created_at', created_at, 'updated_at', updated_at, 'version', version))
FROM booking_index WHERE user_id IS NOT NULL GROUP BY user_id;

DROP TABLE booking_index;

-- Where a paged walk of a table stopped (the key it reached; '' when the last pass is done),
-- saved with each page, so that a table larger than one cron run covers is walked across runs,
-- and when the current pass began (Unix seconds), so that passes start at most so often.
CREATE TABLE prune_cursors (
    name            TEXT PRIMARY KEY NOT NULL,
    after           TEXT NOT NULL,
    pass_started_at INTEGER NOT NULL
) WITHOUT ROWID;
