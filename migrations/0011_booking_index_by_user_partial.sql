-- One row less written per booking without a user (made by an integration for a caller, or
-- of an erased account): the booking index is read by user only with `user_id = ?`, which
-- no NULL matches, so those rows need no entry in `booking_index_by_user`. SQLite uses the
-- partial index for `user_id = ?` (the term implies `user_id IS NOT NULL`).
DROP INDEX IF EXISTS booking_index_by_user;
CREATE INDEX booking_index_by_user ON booking_index (user_id, slot_start)
    WHERE user_id IS NOT NULL;
