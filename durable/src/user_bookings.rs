//! How the store objects write the D1 booking index: one JSON document per user in
//! `user_bookings` (D1 migration 0012), an entry per booking keyed by its id. One row written
//! per booking change, as the table has no secondary index; the Worker reads the documents
//! with `json_each` (`src/repo/booking_index.rs`).

/// Upsert of one booking's entry into its user's document.
///
/// Parameters: `?1` user id, `?2` booking id, `?3` store id, `?4` code, `?5`/`?6` slot
/// start/end, `?7` party size, `?8` status, `?9`/`?10` created/updated (RFC 3339 UTC), `?11`
/// version, `?12` the user's [`erased_user_key`], `?13` the entry's JSON path
/// ([`entry_path`]), `?14` [`TRIM_AT`].
///
/// `version` orders updates, so a late retry never overwrites a newer state (an equal one is
/// the same state sent again). Nothing is written for a user who has been erased (D1
/// `erased_users`): the flush erases such bookings in the store instead, so no document names
/// an erased user again.
///
/// A document that has grown to [`TRIM_AT`] bytes keeps only its upcoming bookings (confirmed
/// or checked in, slot ending after this change) when it is next written, and one that is
/// still twice that size is not written at all: D1 refuses rows over 2 MB, and a statement
/// that fails would fail the store's whole flush batch, for every user, at every retry. Only
/// a user with thousands of bookings in the index's window (31 days back and the horizon
/// ahead) meets either.
///
/// [`erased_user_key`]: safemarket_engine::protocol::erased_user_key
pub const UPSERT: &str = "INSERT INTO user_bookings (user_id, bookings)
    SELECT ?1, json_object(?2, json_object('store_id', ?3, 'code', ?4, 'slot_start', ?5,
        'slot_end', ?6, 'party_size', ?7, 'status', ?8, 'created_at', ?9, 'updated_at', ?10,
        'version', ?11))
    WHERE NOT EXISTS (SELECT 1 FROM erased_users WHERE user_hash = ?12)
    ON CONFLICT (user_id) DO UPDATE
      SET bookings = json_set(
          CASE WHEN length(user_bookings.bookings) < ?14 THEN user_bookings.bookings
          ELSE (SELECT json_group_object(key, json(value)) FROM json_each(user_bookings.bookings)
                WHERE json_extract(value, '$.status') IN ('confirmed', 'checked_in')
                  AND json_extract(value, '$.slot_end') > ?10) END,
          ?13, json(json_extract(excluded.bookings, ?13)))
      WHERE coalesce(json_extract(user_bookings.bookings, ?13 || '.version'), -1) <= ?11
        AND length(user_bookings.bookings) < 2 * ?14";

/// The size in bytes from which a document is trimmed to its upcoming bookings ([`UPSERT`]);
/// twice this stays below D1's 2 MB row limit. About 3,000 entries of some 300 bytes.
pub const TRIM_AT: u32 = 900_000;

/// The JSON path of booking `booking_id`'s entry in a document (`$."<id>"`). Booking ids are
/// UUIDs, which need no escaping inside the quotes.
pub fn entry_path(booking_id: &str) -> String {
    format!("$.\"{booking_id}\"")
}

#[cfg(test)]
mod tests {
    use super::entry_path;

    #[test]
    fn entry_paths_quote_the_id() {
        assert_eq!(
            entry_path("0198c4a2-0000-8000-8000-000000000001"),
            "$.\"0198c4a2-0000-8000-8000-000000000001\""
        );
    }
}
