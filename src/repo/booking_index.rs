//! The D1 booking index (written by the store objects' outboxes) and history.

use serde::{Deserialize, Serialize};
use worker::D1Database;

use crate::error::ApiError;
use crate::pagination::{encode_cursor, Page};

/// Which of a user's bookings to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Confirmed or checked in, slot not ended.
    Upcoming,
    /// Everything else: ended, cancelled or no-show.
    Past,
}

/// One indexed booking as listed by `GET /api/v1/me/bookings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexedBooking {
    /// Booking id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Store id.
    pub store_id: String,
    /// Slot start (UTC).
    pub slot_start: String,
    /// Slot end (UTC).
    pub slot_end: String,
    /// People.
    pub party_size: i64,
    /// Status.
    pub status: String,
    /// Booked at (UTC).
    pub created_at: String,
}

/// A page of a user's bookings sorted by slot start, with the next cursor.
pub async fn of_user(
    db: &D1Database,
    user_id: &str,
    scope: Scope,
    now: &str,
    page: &Page,
) -> Result<(Vec<IndexedBooking>, Option<String>), ApiError> {
    let filter = match scope {
        Scope::Upcoming => "slot_end > ?2 AND status IN ('confirmed', 'checked_in')",
        Scope::Past => "(slot_end <= ?2 OR status IN ('cancelled', 'no_show'))",
    };
    let (after_start, after_id) = page.after_key_and_id()?;
    let sql = format!(
        "SELECT booking_id AS id, code, store_id, slot_start, slot_end, party_size, status, created_at
         FROM booking_index WHERE user_id = ?1 AND {filter}
           AND (slot_start > ?3 OR (slot_start = ?3 AND booking_id > ?4))
         ORDER BY slot_start, booking_id LIMIT ?5"
    );
    let rows = db
        .prepare(sql)
        .bind(&[
            user_id.into(),
            now.into(),
            after_start.into(),
            after_id.into(),
            page.fetch_limit().into(),
        ])?
        .all()
        .await?
        .results::<IndexedBooking>()?;
    Ok(page.cut(rows, |b| encode_cursor(&[&b.slot_start, &b.id])))
}

/// Stores where a user has indexed bookings (for erasure).
pub async fn stores_of_user(db: &D1Database, user_id: &str) -> Result<Vec<String>, ApiError> {
    super::text_column(
        db,
        "SELECT DISTINCT store_id FROM booking_index WHERE user_id = ?1",
        &[user_id.into()],
        "store_id",
    )
    .await
}
