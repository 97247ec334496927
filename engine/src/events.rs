//! Events for webhooks: which change of a booking or waiting-list entry is which event, and the
//! record the store's object hands to the delivery queue. Pure: the object calls
//! [`booking_event`] and [`entry_event`] inside the transaction that writes the change, and
//! stores the answer in the same outbox row (so an event exists exactly when its change does).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::{Booking, BookingStatus};
use crate::slots::Slot;
use crate::waitlist::{EntryStatus, WaitEntry};

/// The kinds of event a webhook can subscribe to (API.md, Notifications out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A booking was made (also one accepted from the waiting list).
    #[serde(rename = "booking.created")]
    BookingCreated,
    /// A booking was cancelled (by its owner, staff, erasure or the store closing).
    #[serde(rename = "booking.cancelled")]
    BookingCancelled,
    /// A booking moved to another slot.
    #[serde(rename = "booking.rescheduled")]
    BookingRescheduled,
    /// The party arrived.
    #[serde(rename = "booking.checked_in")]
    BookingCheckedIn,
    /// The party did not come (marked by staff or released automatically).
    #[serde(rename = "booking.no_show")]
    BookingNoShow,
    /// The slot starts in the schedule's `reminder_minutes`.
    #[serde(rename = "booking.reminder")]
    BookingReminder,
    /// A waiting-list entry was offered freed places.
    #[serde(rename = "waitlist.offered")]
    WaitlistOffered,
    /// An offer ran out unanswered.
    #[serde(rename = "waitlist.expired")]
    WaitlistExpired,
}

impl EventType {
    /// Every event type, in the order the API lists them.
    pub const ALL: [EventType; 8] = [
        EventType::BookingCreated,
        EventType::BookingCancelled,
        EventType::BookingRescheduled,
        EventType::BookingCheckedIn,
        EventType::BookingNoShow,
        EventType::BookingReminder,
        EventType::WaitlistOffered,
        EventType::WaitlistExpired,
    ];

    /// The wire name (`booking.created`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BookingCreated => "booking.created",
            EventType::BookingCancelled => "booking.cancelled",
            EventType::BookingRescheduled => "booking.rescheduled",
            EventType::BookingCheckedIn => "booking.checked_in",
            EventType::BookingNoShow => "booking.no_show",
            EventType::BookingReminder => "booking.reminder",
            EventType::WaitlistOffered => "waitlist.offered",
            EventType::WaitlistExpired => "waitlist.expired",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// Whether a webhook's stored subscription (its event types separated by spaces, as D1
/// `webhooks.events` holds them) includes `event_type`. The store's object asks it before
/// it queues an event (nothing is queued for a store that nobody listens to), the queue
/// consumer again when it delivers.
pub fn subscribes(subscription: &str, event_type: EventType) -> bool {
    subscription.split(' ').any(|e| e == event_type.as_str())
}

/// Identity of one event, fixed when the change is written: the id is the `webhook-id` of
/// every delivery and retry of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventStamp {
    /// Event id (unique; receivers deduplicate by it).
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSubject {
    /// A booking, as it is after the change.
    Booking(Booking),
    /// A waiting-list entry, as it is after the change.
    Entry(WaitEntry),
}

/// One event as the store's object hands it to the delivery queue (serialised as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The store it happened in.
    pub store_id: String,
    /// Its identity.
    pub event: EventStamp,
    /// The booking or entry.
    pub subject: EventSubject,
}

/// The event a booking write means: `before` is the stored slot and status (`None` for a new
/// booking), `after` the booking as written. Writes that change neither (anonymising a past
/// booking on erasure) and other transitions are no event.
pub fn booking_event(before: Option<(Slot, BookingStatus)>, after: &Booking) -> Option<EventType> {
    let Some((slot, status)) = before else {
        return Some(EventType::BookingCreated);
    };
    match (status, after.status) {
        (BookingStatus::Confirmed, BookingStatus::Cancelled) => Some(EventType::BookingCancelled),
        (BookingStatus::Confirmed, BookingStatus::CheckedIn) => Some(EventType::BookingCheckedIn),
        (BookingStatus::Confirmed, BookingStatus::NoShow) => Some(EventType::BookingNoShow),
        (BookingStatus::Confirmed, BookingStatus::Confirmed) if slot != after.slot() => {
            Some(EventType::BookingRescheduled)
        }
        _ => None,
    }
}

/// The event a waiting-list write means: an entry that becomes offered or expired (`before`
/// is its stored status, `None` for a new entry, which is no event).
pub fn entry_event(before: Option<EntryStatus>, after: &WaitEntry) -> Option<EventType> {
    let before = before?;
    if before == after.status {
        return None;
    }
    match after.status {
        EntryStatus::Offered => Some(EventType::WaitlistOffered),
        EntryStatus::Expired => Some(EventType::WaitlistExpired),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn a_subscription_names_whole_event_types() {
        let sub = "booking.cancelled waitlist.offered";
        assert!(subscribes(sub, EventType::BookingCancelled));
        assert!(subscribes(sub, EventType::WaitlistOffered));
        assert!(!subscribes(sub, EventType::BookingCreated));
        assert!(!subscribes("", EventType::BookingCreated));
        // Whole names only: no prefix or substring matches.
        assert!(!subscribes(
            "booking.cancelled_x booking",
            EventType::BookingCancelled
        ));
        let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        let all = all.join(" ");
        for t in EventType::ALL {
            assert!(subscribes(&all, t));
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn booking(start: i64, status: BookingStatus) -> Booking {
        Booking {
            id: "b".into(),
            code: "ABCDEFGH".into(),
            owner: None,
            guest_name: None,
            guest_phone: None,
            slot_start: at(start),
            slot_end: at(start + 1800),
            party_size: 1,
            status,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    fn entry(status: EntryStatus) -> WaitEntry {
        WaitEntry {
            id: "e".into(),
            owner: None,
            slot_start: at(3600),
            slot_end: at(5400),
            party_size: 1,
            status,
            created_at: at(0),
            updated_at: at(0),
            offer_expires_at: None,
            booking_id: None,
        }
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert!("booking.*".parse::<EventType>().is_err());
    }

    #[test]
    fn booking_transitions_map_to_events() {
        use BookingStatus::*;
        let b = booking(3600, Confirmed);
        let same = Some((b.slot(), Confirmed));
        assert_eq!(booking_event(None, &b), Some(EventType::BookingCreated));
        assert_eq!(booking_event(same, &b), None, "anonymised, nothing changed");
        let moved = booking(7200, Confirmed);
        assert_eq!(
            booking_event(same, &moved),
            Some(EventType::BookingRescheduled)
        );
        for (status, event) in [
            (Cancelled, EventType::BookingCancelled),
            (CheckedIn, EventType::BookingCheckedIn),
            (NoShow, EventType::BookingNoShow),
        ] {
            assert_eq!(booking_event(same, &booking(3600, status)), Some(event));
        }
        // A past booking anonymised on erasure keeps its final status: no event.
        let done = booking(3600, CheckedIn);
        assert_eq!(booking_event(Some((done.slot(), CheckedIn)), &done), None);
        let shifted = Slot {
            start: b.slot_start + TimeDelta::minutes(1),
            end: b.slot_end,
        };
        assert_eq!(
            booking_event(Some((shifted, Cancelled)), &booking(3600, Cancelled)),
            None
        );
    }

    #[test]
    fn entries_announce_offers_and_expiries_only() {
        use EntryStatus::*;
        assert_eq!(entry_event(None, &entry(Waiting)), None);
        assert_eq!(
            entry_event(Some(Waiting), &entry(Offered)),
            Some(EventType::WaitlistOffered)
        );
        assert_eq!(
            entry_event(Some(Offered), &entry(Expired)),
            Some(EventType::WaitlistExpired)
        );
        assert_eq!(entry_event(Some(Offered), &entry(Offered)), None);
        assert_eq!(entry_event(Some(Offered), &entry(Accepted)), None);
        assert_eq!(entry_event(Some(Waiting), &entry(Left)), None);
    }

    #[test]
    fn records_round_trip_as_json() {
        let record = EventRecord {
            store_id: "s".into(),
            event: EventStamp {
                id: "evt".into(),
                event_type: EventType::BookingReminder,
                created_at: at(60),
            },
            subject: EventSubject::Booking(booking(3600, BookingStatus::Confirmed)),
        };
        let text = serde_json::to_string(&record).unwrap();
        assert!(text.contains("\"type\":\"booking.reminder\""));
        assert_eq!(serde_json::from_str::<EventRecord>(&text).unwrap(), record);
    }
}
