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
    // Fewer rows written per booking: the idempotency record moves into its booking's row
    // (no second table with its primary key and age index), and `number` stays the row id
    // without AUTOINCREMENT (whose `sqlite_sequence` row was written with every booking).
    // The highest number ever given is kept as `meta.booking_number_floor` (from
    // `sqlite_sequence` here, by the archive from then on), so numbers of archived bookings
    // are never given again. Expired records are no longer purged: they go with their booking.
    "CREATE TABLE bookings_new (
        number           INTEGER PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        code             TEXT NOT NULL,
        owner            TEXT,
        guest_name       TEXT,
        guest_phone      TEXT,
        slot_start       INTEGER NOT NULL,
        slot_end         INTEGER NOT NULL,
        party_size       INTEGER NOT NULL CHECK (party_size > 0),
        status           TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled', 'checked_in', 'no_show')),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        idem_key         TEXT,
        idem_fingerprint TEXT,
        reminded         INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO bookings_new (number, id, code, owner, guest_name, guest_phone, slot_start,
        slot_end, party_size, status, created_at, updated_at, idem_key, idem_fingerprint,
        reminded)
      SELECT b.number, b.id, b.code, b.owner, b.guest_name, b.guest_phone, b.slot_start,
        b.slot_end, b.party_size, b.status, b.created_at, b.updated_at,
        (SELECT i.key FROM idempotency i WHERE i.booking_id = b.id AND i.owner = b.owner
           ORDER BY i.created_at DESC LIMIT 1),
        (SELECT i.fingerprint FROM idempotency i WHERE i.booking_id = b.id AND i.owner = b.owner
           ORDER BY i.created_at DESC LIMIT 1),
        b.reminded
      FROM bookings b;
    INSERT INTO meta (key, value)
      SELECT 'booking_number_floor', CAST(seq AS TEXT) FROM sqlite_sequence
      WHERE name = 'bookings'
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    DROP TABLE bookings;
    DROP TABLE idempotency;
    ALTER TABLE bookings_new RENAME TO bookings;
    CREATE INDEX bookings_by_slot ON bookings (slot_start, status);
    CREATE INDEX bookings_by_owner ON bookings (owner, status, slot_end);
    CREATE INDEX bookings_by_code ON bookings (code, status);",
    // One row less per booking: the outbox without `AUTOINCREMENT` (whose `sqlite_sequence`
    // row was written with every append). Its `seq` is the D1 index rows' `version`, so it
    // must keep growing after the outbox is emptied: a flush records the highest it sent as
    // `meta.outbox_seq_floor` before deleting, and appends go one above both (from
    // `sqlite_sequence` here).
    "CREATE TABLE outbox_new (
        seq     INTEGER PRIMARY KEY,
        payload TEXT NOT NULL
    );
    INSERT INTO outbox_new (seq, payload) SELECT seq, payload FROM outbox;
    INSERT INTO meta (key, value)
      SELECT 'outbox_seq_floor', CAST(seq AS TEXT) FROM sqlite_sequence WHERE name = 'outbox'
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;
    DROP TABLE outbox;
    ALTER TABLE outbox_new RENAME TO outbox;",
    // One row less per booking: ids carry their booking's number
    // (`safemarket_engine::booking_ids`, version-8 UUIDs, `8` as the 15th character), so the
    // object finds them by row id and `id` loses its `UNIQUE` index. Only the random ids given
    // before (version 4) are indexed, by a partial index whose condition the lookups repeat
    // word for word (`sqlite::IdKey`), as SQLite needs to use it.
    "CREATE TABLE bookings_new (
        number           INTEGER PRIMARY KEY,
        id               TEXT NOT NULL,
        code             TEXT NOT NULL,
        owner            TEXT,
        guest_name       TEXT,
        guest_phone      TEXT,
        slot_start       INTEGER NOT NULL,
        slot_end         INTEGER NOT NULL,
        party_size       INTEGER NOT NULL CHECK (party_size > 0),
        status           TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled', 'checked_in', 'no_show')),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        idem_key         TEXT,
        idem_fingerprint TEXT,
        reminded         INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO bookings_new (number, id, code, owner, guest_name, guest_phone, slot_start,
        slot_end, party_size, status, created_at, updated_at, idem_key, idem_fingerprint,
        reminded)
      SELECT number, id, code, owner, guest_name, guest_phone, slot_start, slot_end,
        party_size, status, created_at, updated_at, idem_key, idem_fingerprint, reminded
      FROM bookings;
    DROP TABLE bookings;
    ALTER TABLE bookings_new RENAME TO bookings;
    CREATE INDEX bookings_by_slot ON bookings (slot_start, status);
    CREATE INDEX bookings_by_owner ON bookings (owner, status, slot_end);
    CREATE INDEX bookings_by_code ON bookings (code, status);
    CREATE UNIQUE INDEX bookings_by_random_id ON bookings (id) WHERE substr(id, 15, 1) <> '8';",
    // Two rows less per booking: a new booking is no outbox row (appended, then deleted by
    // the flush); the flush reads the bookings numbered above `meta.index_number_floor`, the
    // highest whose creation it carried (every booking so far: they went through the
    // outbox). A booking changed before a flush carried it has its creation appended to the
    // outbox by that change, ahead of the change, and `creation_queued` set, so the flush
    // leaves it out of the new bookings. (`WHERE true`: without a `WHERE`, SQLite would read
    // `ON CONFLICT` as a join constraint of the `FROM`.)
    "ALTER TABLE bookings ADD COLUMN creation_queued INTEGER NOT NULL DEFAULT 0;
    INSERT INTO meta (key, value)
      SELECT 'index_number_floor', CAST(coalesce(max(number), 0) AS TEXT) FROM bookings
      WHERE true
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
    // One row less per booking: new bookings' codes are derived from their numbers with the
    // store's key (`safemarket_engine::derived_codes`, key in `meta.code_key`), so a code
    // leads to its row by number. Only the random codes given before (and the rare random
    // code drawn when a derived one is taken) are indexed, by a partial index whose condition
    // the lookups repeat word for word (`sqlite::BY_CODE`).
    "ALTER TABLE bookings ADD COLUMN code_derived INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX bookings_by_random_code ON bookings (code, status) WHERE code_derived = 0;
    DROP INDEX bookings_by_code;",
    // One row less per flush: a flush raises the floor of carried creations in the object's
    // memory only, and each new booking's row records the floor as it was at its insert
    // (`sqlite::RECOVER_CARRIED_FLOOR` reads it back in a new instance). `NULL` in the rows
    // from before, for which `meta.index_number_floor` stays the record.
    "ALTER TABLE bookings ADD COLUMN carried_floor INTEGER;",
    // Two rows less per change of status (cancel, check-in, no-show): `status` leaves the
    // slot's and the owner's indexes, so such an update (which sets only the columns it
    // changes, see `SqlInventory::update`) rewrites no index entry. Every query that filters
    // on status still seeks by slot range or owner first and reads the status from the row.
    "DROP INDEX bookings_by_slot;
    CREATE INDEX bookings_by_slot ON bookings (slot_start);
    DROP INDEX bookings_by_owner;
    CREATE INDEX bookings_by_owner ON bookings (owner, slot_end);",
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

/// Runs Python `script` against a real SQLite, with the migrations as `MIGRATIONS`, for
/// tests of the object's SQL.
#[cfg(test)]
pub fn python_sqlite(script: &str) -> String {
    safemarket_engine::sqlite_check::python("MIGRATIONS", MIGRATIONS, script)
}

/// The start of a test script for [`python_sqlite`]: `db`, a database at schema `version`,
/// and `row`, an insert of a booking from its `(number, id)`.
#[cfg(test)]
pub fn python_db_at(version: usize) -> String {
    format!(
        r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS[:{version}]:
    db.executescript(sql)
row = "INSERT INTO bookings (number, id, code, owner, slot_start, slot_end, party_size, status, created_at, updated_at) VALUES (?, ?, 'C', 'u', 10, 20, 1, 'confirmed', 5, 5)"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::python_sqlite;

    #[test]
    fn version_5_moves_idempotency_into_bookings_and_keeps_numbers() {
        // A database at version 4 with bookings (the newest deleted, as the archive does, one
        // reminded), idempotency records and outbox rows; then version 5.
        let out = python_sqlite(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS[:4]:
    db.executescript(sql)
row = "INSERT INTO bookings (id, code, owner, slot_start, slot_end, party_size, status, created_at, updated_at) VALUES (?, 'C', ?, 10, 20, 1, 'confirmed', 5, 5)"
for i in range(1, 5):
    db.execute(row, (f"b{i}", "user:u1"))
db.execute("INSERT INTO idempotency VALUES ('user:u1', 'k1', 'fp1', 'b1', 5)")
db.execute("INSERT INTO idempotency VALUES ('user:u1', 'k3', 'fp3', 'b3', 5)")
db.execute("INSERT INTO outbox (payload) VALUES ('{}')")
db.execute("DELETE FROM bookings WHERE id = 'b4'")
db.execute("UPDATE bookings SET reminded = 1 WHERE id = 'b2'")
db.executescript(MIGRATIONS[4])
print(db.execute("SELECT group_concat(number || ':' || id || ':' || coalesce(idem_key, '-') || ':' || coalesce(idem_fingerprint, '-'), ' ') FROM (SELECT * FROM bookings ORDER BY number)").fetchone()[0])
print(db.execute("SELECT value FROM meta WHERE key = 'booking_number_floor'").fetchone()[0])
print(db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'idempotency'").fetchone()[0])
print(db.execute("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' AND name NOT LIKE 'sqlite_%' ORDER BY name)").fetchone()[0])
print(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
print(db.execute("SELECT group_concat(id, ' ') FROM bookings WHERE reminded = 1").fetchone()[0])
"#,
        );
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "1:b1:k1:fp1 2:b2:-:- 3:b3:k3:fp3",
                "4",
                "0",
                "bookings_by_code bookings_by_owner bookings_by_slot",
                "1",
                "b2"
            ]
        );
    }

    #[test]
    fn version_6_keeps_the_outbox_and_its_sequence() {
        // Version 5 with two outbox rows of which the first was flushed; then version 6, a
        // flush of the rest, and an append to the empty outbox.
        let script = format!(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS[:5]:
    db.executescript(sql)
for p in ("a", "b", "c"):
    db.execute("INSERT INTO outbox (payload) VALUES (?)", (p,))
db.execute("DELETE FROM outbox WHERE seq = 1")
db.executescript(MIGRATIONS[5])
print(db.execute("SELECT group_concat(seq || ':' || payload, ' ') FROM outbox").fetchone()[0])
print(db.execute("SELECT value FROM meta WHERE key = 'outbox_seq_floor'").fetchone()[0])
print(db.execute("SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'").fetchone()[0])
db.execute({floor:?}, ("outbox_seq_floor", 3))
db.execute("DELETE FROM outbox")
db.execute({append:?}, ("d",))
db.execute({append:?}, ("e",))
print(db.execute("SELECT group_concat(seq || ':' || payload, ' ') FROM outbox").fetchone()[0])
"#,
            floor = crate::object::sync::RAISE_FLOOR,
            append = crate::object::sqlite::APPEND_OUTBOX,
        );
        assert_eq!(
            python_sqlite(&script).lines().collect::<Vec<_>>(),
            ["2:b 3:c", "3", "0", "4:d 5:e"]
        );
    }

    #[test]
    fn version_7_keeps_every_booking_column() {
        // Every column filled with a distinct value at version 6, then version 7.
        let out = python_sqlite(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS[:6]:
    db.executescript(sql)
db.execute("INSERT INTO bookings VALUES (4, 'id', 'code', 'owner', 'name', 'phone', 10, 20, 3, 'checked_in', 5, 6, 'key', 'fp', 1)")
before = db.execute("SELECT * FROM bookings").fetchall()
names = [c[1] for c in db.execute("PRAGMA table_info(bookings)")]
db.executescript(MIGRATIONS[6])
print(before == db.execute("SELECT * FROM bookings").fetchall())
print(names == [c[1] for c in db.execute("PRAGMA table_info(bookings)")])
print(db.execute("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' ORDER BY name)").fetchone()[0])
"#,
        );
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "True",
                "True",
                "bookings_by_code bookings_by_owner bookings_by_random_id bookings_by_slot"
            ]
        );
    }

    #[test]
    fn pending_skips_applied_versions() {
        let all: Vec<_> = super::pending(0).collect();
        assert_eq!(all.len(), super::MIGRATIONS.len());
        assert_eq!(all[0].0, 1);
        assert_eq!(super::pending(super::MIGRATIONS.len()).count(), 0);
    }
}
