//! The typed protocol between the Worker and a store's Durable Object.
//!
//! The Worker sends one [`StoreRequest`] as the JSON body of a `POST` to the object and gets a
//! [`StoreResult`] back. Both sides compile this module (and the engine types it carries), so a
//! field renamed on one side cannot be forgotten on the other.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Booking, BookingError, FieldError, Guest, Occupancy, Schedule};

/// Path the Worker posts commands to (Durable Object stubs need a full URL).
pub const COMMAND_URL: &str = "https://store.internal/command";

/// Set on an object's answer whose body is the client's JSON as is (see
/// [`StoreCommand::RenderSlots`]) rather than a [`StoreResult`].
pub const RENDERED_HEADER: &str = "x-store-rendered";

/// One request to a store's object: which store it is (the object records it for its alarm's
/// D1 writes), the store's IANA zone as the Worker read it from D1 (or `None` on the hot paths,
/// which skip that read), and the command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRequest {
    /// The store id (also the object's name).
    pub store_id: String,
    /// IANA zone of the store's schedule as D1 has it; the object records it. `None`: use the
    /// zone recorded last, or answer [`StoreError::UnknownStore`] when there is none.
    pub timezone: Option<String>,
    /// What to do.
    pub command: StoreCommand,
}

/// A command for a store's Durable Object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StoreCommand {
    /// Round-trips the object's SQLite: writes `nonce` and reads it back (health check).
    Ping {
        /// Any string; echoed back after a write/read through SQLite.
        nonce: String,
    },
    /// The store was closed by its owner: refuse new bookings from now on and cancel the
    /// future ones. Idempotent.
    CloseStore,
    /// Replaces the schedule (already validated by the Worker; validated again on decode).
    PutSchedule {
        /// The new schedule.
        schedule: Schedule,
    },
    /// The stored schedule.
    GetSchedule,
    /// Slots with their counts for local dates `from..=to`.
    ListSlots {
        /// First local date.
        from: NaiveDate,
        /// Last local date (inclusive).
        to: NaiveDate,
    },
    /// The client's slot listing for local dates `from..=to`, rendered by the object: answered
    /// with that JSON as the body and [`RENDERED_HEADER`] set, which the Worker passes through
    /// (refusals still come as a [`StoreResult`]).
    RenderSlots {
        /// First local date.
        from: NaiveDate,
        /// Last local date (inclusive).
        to: NaiveDate,
    },
    /// Books a slot.
    Book {
        /// Principal the booking belongs to: a user id, or `key:<api key id>` for bookings an
        /// integration made for a caller (those are not in any user's booking index).
        owner: String,
        /// People.
        party_size: u32,
        /// Start of the slot.
        slot_start: DateTime<Utc>,
        /// Caller booked on someone's behalf.
        guest: Option<Guest>,
        /// `Idempotency-Key` header, validated.
        idempotency_key: Option<String>,
    },
    /// One booking by id.
    GetBooking {
        /// Booking id.
        id: String,
    },
    /// One booking by code (the most relevant if codes were reused after cancellation).
    GetBookingByCode {
        /// Booking code as typed.
        code: String,
    },
    /// Cancels a booking by id; with `owner`, only if the booking belongs to it.
    Cancel {
        /// Booking id.
        id: String,
        /// Required owner, or `None` for staff.
        owner: Option<String>,
    },
    /// Cancels a booking by its per-store number (the legacy app's reservation id), only if it
    /// belongs to `owner`.
    CancelByNumber {
        /// Per-store booking number.
        number: i64,
        /// Required owner.
        owner: String,
    },
    /// Cancels a booking by code (phone system).
    CancelByCode {
        /// Booking code.
        code: String,
    },
    /// Moves a booking to another slot atomically; with `owner`, only its own.
    Reschedule {
        /// Booking id.
        id: String,
        /// Required owner, or `None` for staff.
        owner: Option<String>,
        /// New slot start.
        slot_start: DateTime<Utc>,
    },
    /// Every booking of one local date.
    DayBookings {
        /// Local date.
        date: NaiveDate,
    },
    /// The confirmed and checked-in bookings of one owner starting at or after `from`, with
    /// their per-store numbers (the legacy app's reservation list).
    OwnerBookings {
        /// The owner.
        owner: String,
        /// Earliest slot start.
        from: DateTime<Utc>,
    },
    /// Door check-in by code.
    CheckIn {
        /// Booking code.
        code: String,
    },
    /// Marks a booking as no-show.
    NoShow {
        /// Booking id.
        id: String,
    },
    /// Occupancy of the slot in progress.
    Occupancy,
    /// Account erasure: cancel the user's future bookings, anonymise the past ones.
    EraseUser {
        /// The erased user.
        user_id: String,
    },
}

impl StoreCommand {
    /// Whether the command may change bookings (and so append to the object's index outbox).
    pub fn writes_bookings(&self) -> bool {
        matches!(
            self,
            Self::CloseStore
                | Self::Book { .. }
                | Self::Cancel { .. }
                | Self::CancelByNumber { .. }
                | Self::CancelByCode { .. }
                | Self::Reschedule { .. }
                | Self::CheckIn { .. }
                | Self::NoShow { .. }
                | Self::EraseUser { .. }
        )
    }
}

/// One slot in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC).
    pub end: DateTime<Utc>,
    /// Start as store-local wall time with offset.
    pub local_start: String,
    /// Places per slot.
    pub capacity: u32,
    /// People booked (confirmed + checked in).
    pub booked: u32,
    /// Places left.
    pub available: u32,
}

/// A successful answer of the object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum StoreReply {
    /// Answer to [`StoreCommand::Ping`].
    Pong {
        /// The nonce as read back from SQLite.
        nonce: String,
    },
    /// Answer to [`StoreCommand::CloseStore`].
    Closed {
        /// Future bookings cancelled by this call.
        cancelled: u32,
    },
    /// The stored schedule (after `PutSchedule`, with the active bookings it no longer offers).
    Schedule {
        /// The schedule, `None` when the store has none.
        schedule: Option<Schedule>,
        /// Active bookings outside the new schedule (kept valid); empty for `GetSchedule`.
        affected_bookings: Vec<Booking>,
    },
    /// Slot listing.
    Slots {
        /// Slots sorted by start.
        items: Vec<SlotView>,
    },
    /// A booking was made (or replayed for a repeated idempotent request).
    Booked {
        /// The booking.
        booking: Booking,
        /// Its per-store number (the legacy app's reservation id).
        number: i64,
        /// `true` for an idempotent replay.
        replayed: bool,
    },
    /// One booking.
    Booking {
        /// The booking.
        booking: Booking,
    },
    /// Several bookings, sorted by slot start.
    Bookings {
        /// The bookings.
        items: Vec<Booking>,
    },
    /// Bookings with their per-store numbers, sorted by slot start.
    NumberedBookings {
        /// `(number, booking)` pairs.
        items: Vec<(i64, Booking)>,
    },
    /// Occupancy now.
    Occupancy {
        /// The occupancy.
        occupancy: Occupancy,
    },
    /// Answer to [`StoreCommand::EraseUser`].
    Erased {
        /// Future bookings cancelled.
        cancelled: u32,
        /// Past bookings whose owner was removed.
        anonymised: u32,
    },
}

impl StoreReply {
    /// The variant's name (its `reply` tag), for messages that must not pull in `Debug` of
    /// every protocol type.
    pub fn name(&self) -> &'static str {
        match self {
            StoreReply::Pong { .. } => "pong",
            StoreReply::Closed { .. } => "closed",
            StoreReply::Schedule { .. } => "schedule",
            StoreReply::Slots { .. } => "slots",
            StoreReply::Booked { .. } => "booked",
            StoreReply::Booking { .. } => "booking",
            StoreReply::Bookings { .. } => "bookings",
            StoreReply::NumberedBookings { .. } => "numbered_bookings",
            StoreReply::Occupancy { .. } => "occupancy",
            StoreReply::Erased { .. } => "erased",
        }
    }
}

/// Why the object refused or failed a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", content = "data", rename_all = "snake_case")]
pub enum StoreError {
    /// A booking rule refused the command.
    Booking(BookingError),
    /// Input values are invalid (422 with field errors).
    Invalid(Vec<FieldError>),
    /// The command could not be decoded (a Worker/object version mismatch or a bug).
    BadCommand(String),
    /// Storage failed inside the object (the text is for logs).
    Internal(String),
    /// A request without a zone reached an object that has not recorded one: it has never
    /// served its store (or the id is no store's). The Worker asks D1 and sends the zone.
    UnknownStore,
}

/// What the object answers to every command.
pub type StoreResult = Result<StoreReply, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_format_is_tagged() {
        let req = StoreRequest {
            store_id: "s".into(),
            timezone: Some("UTC".into()),
            command: StoreCommand::Ping { nonce: "n".into() },
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"store_id": "s", "timezone": "UTC", "command": {"op": "ping", "nonce": "n"}})
        );
        assert_eq!(serde_json::from_value::<StoreRequest>(json).unwrap(), req);
    }

    #[test]
    fn results_round_trip() {
        for result in [
            Ok(StoreReply::Pong { nonce: "x".into() }),
            Err(StoreError::Booking(BookingError::SlotFull { available: 2 })),
            Err(StoreError::Booking(BookingError::Storage("disk".into()))),
            Err(StoreError::Invalid(vec![FieldError::new(
                "slot_minutes",
                "too small",
            )])),
        ] {
            let s = serde_json::to_string(&result).unwrap();
            assert_eq!(serde_json::from_str::<StoreResult>(&s).unwrap(), result);
        }
    }
}

/// How D1's `erased_users` names an erased account: the SHA-256 (lower-case hex) of its id,
/// so the tombstone itself names no one. The Worker writes it on erasure; each store object's
/// index flush looks its bookings' owners up by it.
pub fn erased_user_key(user_id: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    Sha256::digest(user_id.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[cfg(test)]
mod erased_key_tests {
    use super::erased_user_key;

    #[test]
    fn is_hex_sha256_of_the_id() {
        assert_eq!(
            erased_user_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
