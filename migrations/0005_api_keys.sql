-- Integrations: api keys of stores (phone systems, partner teams) and the index of the partner
-- documents stored in KV.

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The first characters of the key ("smk_" + 8), shown in listings so owners can tell
    -- keys apart; far too short to guess the rest from.
    prefix      TEXT NOT NULL,
    -- Lower-case hex SHA-256 of the whole key; the key itself is never stored.
    secret_hash TEXT NOT NULL UNIQUE,
    -- Space-separated scope names ("bookings:read bookings:write profile:write").
    scopes      TEXT NOT NULL,
    -- The owner who created it (NULL once that account is erased).
    created_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    -- Set on DELETE; the key is refused from the next request on. Kept for the listing.
    revoked_at  TEXT
);

-- Authentication looks keys up by `secret_hash` (its UNIQUE index); listings by store.
CREATE INDEX api_keys_by_store ON api_keys (store_id, created_at, id);

-- Which partner documents a store has (the documents themselves are in KV under
-- `external:store:<store id>:<source>`). D1 rather than a KV listing: consistent at once,
-- and a public profile read costs one indexed query instead of a KV list operation.
CREATE TABLE external_documents (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    source     TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 40),
    -- The api key that wrote it last.
    api_key_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, source)
);
