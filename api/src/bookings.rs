//! Bookings, check-ins and no-shows.

use serde::{Deserialize, Serialize};

/// `POST /bookings`: `{slot_start, party_size?, guest?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookRequest {
    /// Slot start, RFC 3339 with offset.
    pub slot_start: String,
    /// People (default 1); wide so that out-of-range values get a 422 naming the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_size: Option<i64>,
    /// The caller an integration books for (api keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestRequest>,
}

/// The caller an integration books for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestRequest {
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: String,
}

/// `POST /bookings/{id}/reschedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescheduleRequest {
    /// The new slot's start.
    pub slot_start: String,
}

/// `POST /check-ins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInRequest {
    /// The booking code as shown to the shopper.
    pub code: String,
}

/// A booking as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingView {
    /// Booking id.
    pub id: String,
    /// Code to show at the door.
    pub code: String,
    /// Store id.
    pub store_id: String,
    /// Slot start (UTC).
    pub slot_start: String,
    /// Slot end (UTC).
    pub slot_end: String,
    /// People.
    pub party_size: u32,
    /// `confirmed`, `cancelled`, `checked_in` or `no_show`.
    pub status: String,
    /// When it was booked (UTC).
    pub created_at: String,
    /// The caller a phone system booked for (staff and integrations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<GuestView>,
}

/// Name and phone of a caller booked by an integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestView {
    /// Name.
    pub name: String,
    /// E.164 phone number.
    pub phone: String,
}
