//! The `calendar_feeds` table and the feed's query over the booking index.

use serde::Deserialize;
use serde_json::Value;
use worker::D1Database;

use crate::error::ApiError;
use crate::repo::booking_index::ENTRIES_OF_USER;

/// Most bookings one feed lists.
pub const MAX_FEED_BOOKINGS: u32 = 500;

/// Makes `token_hash` the user's only feed token (the previous one stops working).
pub async fn rotate(
    db: &D1Database,
    user_id: &str,
    token_hash: &str,
    now: &str,
) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,
           created_at = excluded.created_at",
    )
    .bind(&[user_id.into(), token_hash.into(), now.into()])?
    .run()
    .await?;
    Ok(())
}

/// The user whose current token has this hash.
pub async fn user_of(db: &D1Database, token_hash: &str) -> Result<Option<String>, ApiError> {
    Ok(db
        .prepare("SELECT user_id FROM calendar_feeds WHERE token_hash = ?1")
        .bind(&[token_hash.into()])?
        .first::<Value>(None)
        .await?
        .and_then(|row| row.get("user_id").and_then(Value::as_str).map(String::from)))
}

/// One booking of the feed, with its store.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedBooking {
    /// Booking id.
    pub booking_id: String,
    /// Code.
    pub code: String,
    /// Slot start (UTC).
    pub slot_start: String,
    /// Slot end (UTC).
    pub slot_end: String,
    /// People.
    pub party_size: i64,
    /// Status.
    pub status: String,
    /// Last change (UTC).
    pub updated_at: String,
    /// Index version (grows with each change).
    pub version: i64,
    /// Store name.
    pub store_name: String,
    /// Store address.
    pub store_address: String,
}

/// The user's indexed bookings whose slot ends at or after `since`, by start.
pub async fn bookings_since(
    db: &D1Database,
    user_id: &str,
    since: &str,
) -> Result<Vec<FeedBooking>, ApiError> {
    Ok(db
        .prepare(format!(
            "{ENTRIES_OF_USER}
             SELECT b.booking_id, b.code, b.slot_start, b.slot_end, b.party_size, b.status,
                    b.updated_at, b.version, s.name AS store_name, s.address AS store_address
             FROM b JOIN stores s ON s.id = b.store_id
             WHERE b.slot_end >= ?2
             ORDER BY b.slot_start, b.booking_id LIMIT ?3"
        ))
        .bind(&[
            user_id.into(),
            since.into(),
            f64::from(MAX_FEED_BOOKINGS).into(),
        ])?
        .all()
        .await?
        .results::<FeedBooking>()?)
}
