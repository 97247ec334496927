-- A bounded D1 (README, "Scaling"): the cron prunes time-boxed rows in batches by their time,
-- which these indexes make a range read instead of a scan of the whole table.
--
-- `booking_history` is retired: nothing writes it any more, and the cron moves its rows to the
-- R2 archive (src/history_drain.rs). It is dropped by a later migration once it is empty.
CREATE INDEX IF NOT EXISTS booking_index_by_end ON booking_index (slot_end);
CREATE INDEX IF NOT EXISTS login_failures_by_at ON login_failures (at);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
