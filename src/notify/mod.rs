//! Notifications out: webhook targets, signing, the retry schedule, and the queue consumer
//! that delivers the events the stores' objects record.

pub mod consumer;
pub mod retries;
pub mod signing;
pub mod target;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::Env;

use safemarket_engine::events::{EventRecord, EventSubject};
use safemarket_engine::{format_utc, EntryView};

use crate::domain::booking::booking_view;
use crate::handlers::waitlist::EntryBody;
use target::Targets;

/// Queue binding: events from the stores' objects, and retries of single deliveries.
pub const EVENTS_QUEUE: &str = "WEBHOOK_EVENTS";
/// Queue binding: deliveries that failed every attempt.
pub const DEAD_LETTERS_QUEUE: &str = "WEBHOOK_DEAD_LETTERS";

/// The targets this deployment accepts: loopback only where `WEBHOOK_ALLOW_LOOPBACK` is
/// `1` (passed by `make dev` and the black-box harness; never set in wrangler.toml).
pub fn targets(env: &Env) -> Targets {
    let allow = env
        .var("WEBHOOK_ALLOW_LOOPBACK")
        .map(|v| v.to_string() == "1")
        .unwrap_or(false);
    Targets {
        allow_loopback: allow,
    }
}

/// One retry of one (event, webhook) delivery, as a queue message: the body is carried so
/// that every attempt sends the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    /// The webhook.
    pub webhook_id: String,
    /// The event (`webhook-id`).
    pub event_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The JSON body to send.
    pub body: String,
    /// Which attempt this message is (2 for the first retry).
    pub attempt: u32,
}

/// A message of the events queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueueMessage {
    /// Try one delivery again.
    Retry {
        /// What to retry.
        retry: Retry,
    },
    /// A new event from a store's object: fan it out to the store's webhooks.
    Event(EventRecord),
}

/// The delivered body: `{"id", "type", "created_at", "store_id", "data"}`, `data` being the
/// booking or waiting-list entry as the API shows it.
#[derive(Serialize)]
struct EventBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created_at: String,
    store_id: &'a str,
    data: Value,
}

/// The JSON body of `record`.
pub fn event_body(record: &EventRecord) -> Result<String, serde_json::Error> {
    let store_id = record.store_id.as_str();
    let data = match &record.subject {
        EventSubject::Booking(b) => serde_json::to_value(booking_view(store_id, b))?,
        EventSubject::Entry(e) => serde_json::to_value(EntryBody::new(
            store_id,
            &EntryView {
                entry: e.clone(),
                position: None,
            },
        ))?,
    };
    serde_json::to_string(&EventBody {
        id: &record.event.id,
        event_type: record.event.event_type.as_str(),
        created_at: format_utc(record.event.created_at),
        store_id,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use safemarket_engine::events::{EventStamp, EventType};
    use safemarket_engine::{Booking, BookingStatus};

    fn record() -> EventRecord {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        EventRecord {
            store_id: "store-1".into(),
            event: EventStamp {
                id: "evt-1".into(),
                event_type: EventType::BookingCancelled,
                created_at: at,
            },
            subject: EventSubject::Booking(Booking {
                id: "b-1".into(),
                code: "ABCDEFGH".into(),
                owner: None,
                guest_name: None,
                guest_phone: None,
                slot_start: at,
                slot_end: at + chrono::TimeDelta::minutes(30),
                party_size: 2,
                status: BookingStatus::Cancelled,
                created_at: at,
                updated_at: at,
            }),
        }
    }

    #[test]
    fn the_body_has_the_contract_fields() {
        let body: Value = serde_json::from_str(&event_body(&record()).unwrap()).unwrap();
        assert_eq!(body["id"], "evt-1");
        assert_eq!(body["type"], "booking.cancelled");
        assert_eq!(body["created_at"], "2027-01-15T08:00:00Z");
        assert_eq!(body["store_id"], "store-1");
        assert_eq!(body["data"]["id"], "b-1");
        assert_eq!(body["data"]["status"], "cancelled");
        assert_eq!(body["data"]["store_id"], "store-1");
    }

    #[test]
    fn queue_messages_are_told_apart() {
        let event = serde_json::to_string(&record()).unwrap();
        assert!(matches!(
            serde_json::from_str::<QueueMessage>(&event).unwrap(),
            QueueMessage::Event(_)
        ));
        let retry = QueueMessage::Retry {
            retry: Retry {
                webhook_id: "w".into(),
                event_id: "e".into(),
                event_type: "booking.created".into(),
                body: "{}".into(),
                attempt: 2,
            },
        };
        let text = serde_json::to_string(&retry).unwrap();
        assert_eq!(serde_json::from_str::<QueueMessage>(&text).unwrap(), retry);
    }
}
