-- Strongly consistent session state (issue: races on credentials, complete erasure).
--
-- KV keeps serving session reads near the user, but three decisions must be made exactly once
-- wherever they are asked, which KV (no compare-and-swap, cached up to ~60 s) cannot do:
-- spending a refresh token, ending a session, and erasing its user. Each is one conditional
-- statement on these rows.

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('registered', 'guest')),
    -- SHA-256 (hex) of the current refresh secret; rotation is
    -- `UPDATE ... WHERE refresh_hash = <presented>`, so of concurrent refreshes one wins.
    refresh_hash TEXT NOT NULL,
    -- Comma-separated hashes of recently spent refresh secrets (newest first, bounded):
    -- presenting one again revokes the session.
    spent        TEXT NOT NULL DEFAULT '',
    -- Unix seconds after which the session is gone (its KV copy has the same TTL).
    expires_at   INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);

-- Erased accounts, by SHA-256 (hex) of the user id so that no row names the user: the token
-- check refuses their sessions and each store object's index flush refuses to write their
-- bookings back (it erases them in the store instead).
CREATE TABLE erased_users (
    user_hash TEXT PRIMARY KEY NOT NULL,
    -- Unix seconds.
    erased_at INTEGER NOT NULL
);

-- Login attempts are reserved before the password is checked: `attempt` names the
-- reservation so a successful login can forgive exactly its own row.
ALTER TABLE login_failures ADD COLUMN attempt TEXT;
