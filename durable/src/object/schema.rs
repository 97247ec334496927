//! The object's SQLite schema, applied in order and recorded in `meta.schema_version`.

/// Schema migrations; index + 1 is the version a migration brings the database to.
/// Append only: a deployed object may be at any earlier version.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // Instants are Unix seconds. `number` is the per-store integer id the legacy app uses.
    "CREATE TABLE bookings (
        number      INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL UNIQUE,
        code        TEXT NOT NULL,
        owner       TEXT,
        guest_name  TEXT,
        guest_phone TEXT,
        slot_start  INTEGER NOT NULL,
        slot_end    INTEGER NOT NULL,
        party_size  INTEGER NOT NULL CHECK (party_size > 0),
        status      TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled', 'checked_in', 'no_show')),
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX bookings_by_slot ON bookings (slot_start, status);
    CREATE INDEX bookings_by_owner ON bookings (owner, status, slot_end);
    CREATE INDEX bookings_by_code ON bookings (code, status);
    CREATE TABLE idempotency (
        owner       TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        booking_id  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (owner, key)
    );
    CREATE INDEX idempotency_by_age ON idempotency (created_at);
    CREATE TABLE outbox (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        payload TEXT NOT NULL
    );",
    // The waiting list; `seq` is the order of joining.
    "CREATE TABLE waitlist (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        owner            TEXT,
        slot_start       INTEGER NOT NULL,
        slot_end         INTEGER NOT NULL,
        party_size       INTEGER NOT NULL CHECK (party_size > 0),
        status           TEXT NOT NULL
                         CHECK (status IN ('waiting', 'offered', 'accepted', 'expired', 'left')),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        offer_expires_at INTEGER,
        booking_id       TEXT
    );
    CREATE INDEX waitlist_by_slot ON waitlist (slot_start, status);
    CREATE INDEX waitlist_by_status ON waitlist (status, offer_expires_at);
    CREATE INDEX waitlist_by_owner ON waitlist (owner);",
    // Whether a booking's `booking.reminder` went out (reset when it moves to another slot).
    "ALTER TABLE bookings ADD COLUMN reminded INTEGER NOT NULL DEFAULT 0;",
];

/// Statements that bring a database at `current` to the latest version, with the version
/// each one reaches.
pub fn pending(current: usize) -> impl Iterator<Item = (usize, &'static str)> {
    MIGRATIONS
        .iter()
        .enumerate()
        .skip(current)
        .map(|(i, sql)| (i + 1, *sql))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pending_skips_applied_versions() {
        let all: Vec<_> = super::pending(0).collect();
        assert_eq!(all.len(), super::MIGRATIONS.len());
        assert_eq!(all[0].0, 1);
        assert_eq!(super::pending(super::MIGRATIONS.len()).count(), 0);
    }
}
