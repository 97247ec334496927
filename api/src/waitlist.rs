//! The waiting list of a full slot (`POST /waitlist` takes the shape of
//! [`crate::bookings::BookRequest`] without `guest`).

use serde::{Deserialize, Serialize};

/// A waiting-list entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitlistEntry {
    /// Entry id.
    pub id: String,
    /// The store.
    pub store_id: String,
    /// The full slot's start (UTC).
    pub slot_start: String,
    /// People.
    pub party_size: u32,
    /// `waiting`, `offered`, `accepted`, `expired` or `left`.
    pub status: String,
    /// Place in the queue while waiting (1 = next).
    #[serde(default)]
    pub position: Option<u32>,
    /// When an open offer runs out (UTC).
    #[serde(default)]
    pub offer_expires_at: Option<String>,
    /// The booking, once accepted.
    #[serde(default)]
    pub booking_id: Option<String>,
    /// When the entry was made.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_decodes_with_its_expiry() {
        let text = r#"{"id":"e1","store_id":"s1","slot_start":"2026-12-01T09:00:00Z","slot_end":"2026-12-01T10:00:00Z","party_size":2,"status":"offered","offer_expires_at":"2026-12-01T08:15:00Z","created_at":"2026-12-01T08:00:00Z"}"#;
        let entry: WaitlistEntry = serde_json::from_str(text).unwrap();
        assert_eq!(entry.status, "offered");
        assert_eq!(
            entry.offer_expires_at.as_deref(),
            Some("2026-12-01T08:15:00Z")
        );
        assert_eq!(entry.position, None);
    }
}
