-- Failed logins, for throttling: per email and per client address within 15 minutes.
-- D1 rather than KV because the count must be consistent the moment it is written.
CREATE TABLE login_failures (
    -- 'email:<normalised email>' or 'ip:<client address>'
    subject TEXT NOT NULL,
    -- Unix seconds.
    at      INTEGER NOT NULL
);

CREATE INDEX login_failures_by_subject ON login_failures (subject, at);
