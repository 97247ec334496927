//! `/api/v1/stores/{store_id}/webhooks` (API.md "Notifications out").

use serde::{Deserialize, Serialize};

/// The events a webhook can subscribe to.
pub const EVENTS: [&str; 8] = [
    "booking.created",
    "booking.cancelled",
    "booking.rescheduled",
    "booking.checked_in",
    "booking.no_show",
    "booking.reminder",
    "waitlist.offered",
    "waitlist.expired",
];

/// `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateWebhook {
    /// Where deliveries are posted.
    pub url: String,
    /// Some of [`EVENTS`].
    pub events: Vec<String>,
}

/// A webhook as listed (without its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id.
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Only in the create answer: `whsec_...`, shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event id (`webhook-id`).
    pub event_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// The receiver's status, `null` when it did not answer.
    pub status_code: Option<u16>,
    /// Why the try failed, when it did.
    pub error: Option<String>,
    /// When (RFC 3339 UTC).
    pub at: String,
}
