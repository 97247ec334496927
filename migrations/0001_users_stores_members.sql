-- Users, stores and store members: the tables SafeMarket needs from the start.
-- Timestamps are RFC 3339 UTC strings; ids are UUID strings.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    -- Normalised (trimmed, lower-case); NULL for guest users, unique otherwise.
    email         TEXT UNIQUE,
    -- Self-describing password hash ("pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>");
    -- NULL for guests.
    password_hash TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('registered', 'guest')),
    -- The device a guest user is bound to; unique, NULL for registered users.
    device_id     TEXT UNIQUE,
    display_name  TEXT,
    created_at    TEXT NOT NULL,
    CHECK ((kind = 'registered' AND email IS NOT NULL AND password_hash IS NOT NULL AND device_id IS NULL)
        OR (kind = 'guest' AND email IS NULL AND password_hash IS NULL AND device_id IS NOT NULL))
);

CREATE TABLE stores (
    -- Stable small integer for the legacy app surface (AUTOINCREMENT: never reused).
    legacy_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    category    TEXT NOT NULL CHECK (category IN ('supermarket', 'bakery', 'pharmacy', 'other')),
    address     TEXT NOT NULL CHECK (length(address) > 0),
    latitude    REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude   REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    timezone    TEXT NOT NULL,
    owner_id    TEXT NOT NULL REFERENCES users (id),
    -- Geocoder result: the provider's place id, and whether the address was confirmed.
    place_id    TEXT,
    verified    INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    -- Set when the owner closes the store: kept for history, hidden from search.
    closed_at   TEXT
);

-- Nearby search: a bounding box on indexed coordinates over open stores, then exact haversine.
CREATE INDEX stores_open_by_latitude ON stores (latitude, longitude) WHERE closed_at IS NULL;
CREATE INDEX stores_by_owner ON stores (owner_id);

CREATE TABLE store_members (
    store_id   TEXT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (store_id, user_id)
);

CREATE INDEX store_members_by_user ON store_members (user_id);
