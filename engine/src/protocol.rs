//! The typed protocol between the Worker and a store's Durable Object: one request type per
//! call, each naming its reply type ([`StoreCall`]), so a reply of the wrong shape is a
//! compile error on both sides rather than a runtime fallback.
//!
//! On the wire a call is a `POST` to [`call_url`]`(C::NAME)` whose JSON body is a
//! [`StoreRequest`] (the store, its zone as the Worker knows it, and the call). The object
//! answers `200` with the reply's bytes ([`WireReply`]), or [`ERROR_STATUS`] with a
//! [`StoreError`] as JSON.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::zone::Tz;

use crate::booking::Erased;
use crate::history::ArchivedBooking;
use crate::ids::{Owner, StoreId, UserId};
use crate::listing::SlotCounts;
use crate::slots::{local_rfc3339, Slot};
use crate::waitlist::{EntryView, WaitEntry};
use crate::{Booking, BookingError, FieldError, Guest, IdempotencyKey, Occupancy, Schedule};

/// The status of an answer whose body is a [`StoreError`].
pub const ERROR_STATUS: u16 = 409;

/// Where a call is posted (Durable Object stubs need a full URL).
pub fn call_url(name: &str) -> String {
    format!("https://store.internal/call/{name}")
}

/// The call name in a path made by [`call_url`].
pub fn call_name(path: &str) -> Option<&str> {
    path.strip_prefix("/call/")
}

/// One call to a store's object and the type of its successful reply.
pub trait StoreCall: Serialize + DeserializeOwned {
    /// The call's name on the wire (last path segment).
    const NAME: &'static str;
    /// What the object answers on success.
    type Reply: WireReply;
}

/// How a reply travels as the body of the object's answer.
pub trait WireReply: Sized {
    /// The body bytes.
    fn to_body(&self) -> Result<Vec<u8>, String>;
    /// Back from the body bytes.
    fn from_body(body: Vec<u8>) -> Result<Self, String>;
}

macro_rules! json_replies {
    ($($t:ty),* $(,)?) => {$(
        impl WireReply for $t {
            fn to_body(&self) -> Result<Vec<u8>, String> {
                serde_json::to_vec(self).map_err(|e| e.to_string())
            }
            fn from_body(body: Vec<u8>) -> Result<Self, String> {
                serde_json::from_slice(&body).map_err(|e| e.to_string())
            }
        }
    )*};
}

json_replies!(
    Pong,
    ZoneRecorded,
    Closed,
    ScheduleChanged,
    Option<Schedule>,
    Vec<SlotView>,
    Booked,
    Booking,
    Vec<Booking>,
    Vec<NumberedBooking>,
    Occupancy,
    Erased,
    EntryView,
    WaitEntry,
    Vec<ArchivedBooking>,
);

/// A slot listing as the object has it: its entity tag and, unless the caller already has
/// that version (`if_none_match`), the client's JSON as the object rendered it (see
/// `render_slot_listing`), which the Worker passes through without decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedListing {
    /// The strong `ETag` of this listing (quoted), unique to its content.
    pub etag: String,
    /// The JSON, `None` when the caller's `If-None-Match` matched `etag`.
    pub body: Option<Vec<u8>>,
}

impl WireReply for RenderedListing {
    /// The tag, a line feed, then the JSON (nothing when not modified: a listing is never
    /// empty). Bytes, not JSON, so the listing is not escaped into a string.
    fn to_body(&self) -> Result<Vec<u8>, String> {
        let json = self.body.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(self.etag.len() + 1 + json.len());
        out.extend_from_slice(self.etag.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(json);
        Ok(out)
    }
    fn from_body(mut body: Vec<u8>) -> Result<Self, String> {
        let (etag, start) = RenderedListing::tag_of(&body)?;
        let json = body.split_off(start);
        Ok(RenderedListing {
            etag,
            body: (!json.is_empty()).then_some(json),
        })
    }
}

impl RenderedListing {
    /// The longest tag line a reply starts with ([`crate::listing_etag`]'s tags are far shorter).
    pub const MAX_TAG_LINE: usize = 256;

    /// The tag of a reply body that starts with `head` (at least its first
    /// [`Self::MAX_TAG_LINE`] bytes, or all of it), and where its JSON starts. The Worker
    /// reads only this much of a listing into its memory and passes the rest through.
    pub fn tag_of(head: &[u8]) -> Result<(String, usize), String> {
        let head = &head[..head.len().min(Self::MAX_TAG_LINE)];
        let split = head
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("a rendered listing without its tag")?;
        let etag = std::str::from_utf8(&head[..split]).map_err(|e| e.to_string())?;
        Ok((etag.to_owned(), split + 1))
    }
}

/// The envelope of every call: which store it is for (the object records it for its alarm's
/// D1 writes), the store's IANA zone as the Worker read it from D1, as the zone's table (or
/// `None` on the hot paths, which skip that read), and the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRequest<C> {
    /// The store (also the object's name).
    pub store_id: StoreId,
    /// IANA zone of the store's schedule as D1 names it, as its table ([`crate::zone::Tz::table`]:
    /// the object has no zone database and keeps only this one); the object records it.
    /// `None`: use the zone recorded last, or answer [`StoreError::UnknownStore`] when there is
    /// none.
    pub timezone: Option<String>,
    /// Answer only once the D1 booking index has this call's changes (the object flushes its
    /// outbox before answering; its alarm still retries should that fail). For the legacy
    /// app, which reads its reservations back from the index right after booking.
    #[serde(default)]
    pub index_now: bool,
    /// What to do.
    pub call: C,
}

macro_rules! calls {
    ($($(#[$doc:meta])* $name:literal => $call:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? } -> $reply:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $call { $($(#[$fdoc])* pub $field: $ty),* }

        impl StoreCall for $call {
            const NAME: &'static str = $name;
            type Reply = $reply;
        }
    )*
        /// The name of every call, for a server to check that it serves them all.
        pub const ALL_CALLS: &[&str] = &[$($name),*];
    };
}

calls! {
    /// Round-trips the object's SQLite: writes `nonce` and reads it back (deep health check).
    "ping" => Ping {
        /// Any string; echoed back after a write/read through SQLite.
        nonce: String,
    } -> Pong;
    /// The store was closed by its owner: refuse new bookings from now on and cancel the
    /// future ones. Idempotent.
    "close_store" => CloseStore {} -> Closed;
    /// Replaces the schedule (already validated by the Worker; validated again on decode).
    "put_schedule" => PutSchedule {
        /// The new schedule.
        schedule: Schedule,
    } -> ScheduleChanged;
    /// Records the store's zone sent with this call (after the store's zone changed in D1);
    /// answers the zone recorded.
    "record_zone" => RecordZone {} -> ZoneRecorded;
    /// The stored schedule (`None` when the store has none yet).
    "get_schedule" => GetSchedule {} -> Option<Schedule>;
    /// Slots with their counts for local dates `from..=to`.
    "list_slots" => ListSlots {
        /// First local date.
        from: NaiveDate,
        /// Last local date (inclusive).
        to: NaiveDate,
    } -> Vec<SlotView>;
    /// The client's slot listing for local dates `from..=to`, rendered by the object.
    "render_slots" => RenderSlots {
        /// First local date.
        from: NaiveDate,
        /// Last local date (inclusive).
        to: NaiveDate,
        /// The client's `If-None-Match` (absent: always answer the listing).
        if_none_match: Option<String>,
    } -> RenderedListing;
    /// Books a slot.
    "book" => Book {
        /// Whom the booking belongs to.
        owner: Owner,
        /// People.
        party_size: u32,
        /// Start of the slot.
        slot_start: DateTime<Utc>,
        /// Caller booked on someone's behalf (api keys).
        guest: Option<Guest>,
        /// The request's `Idempotency-Key`.
        idempotency_key: Option<IdempotencyKey>,
    } -> Booked;
    /// One booking by id.
    "get_booking" => GetBooking {
        /// Booking id.
        id: String,
    } -> Booking;
    /// One booking by code (the most relevant if codes were reused after cancellation).
    "get_booking_by_code" => GetBookingByCode {
        /// Booking code as typed.
        code: String,
    } -> Booking;
    /// Cancels a booking by id; with `owner`, only if it belongs to them.
    "cancel" => Cancel {
        /// Booking id.
        id: String,
        /// Required owner, or `None` for staff.
        owner: Option<Owner>,
    } -> Booking;
    /// Cancels a booking by its per-store number (the legacy app's reservation id), only if
    /// it belongs to `owner`.
    "cancel_by_number" => CancelByNumber {
        /// Per-store booking number.
        number: i64,
        /// Required owner.
        owner: Owner,
    } -> Booking;
    /// Cancels a booking by code (phone system).
    "cancel_by_code" => CancelByCode {
        /// Booking code.
        code: String,
    } -> Booking;
    /// Moves a booking to another slot atomically; with `owner`, only their own.
    "reschedule" => Reschedule {
        /// Booking id.
        id: String,
        /// Required owner, or `None` for staff.
        owner: Option<Owner>,
        /// New slot start.
        slot_start: DateTime<Utc>,
    } -> Booking;
    /// Every booking of one local date.
    "day_bookings" => DayBookings {
        /// Local date.
        date: NaiveDate,
    } -> Vec<Booking>;
    /// The confirmed and checked-in bookings of one owner starting at or after `from`, with
    /// their per-store numbers (the legacy app's reservation list).
    "owner_bookings" => OwnerBookings {
        /// The owner.
        owner: Owner,
        /// Earliest slot start.
        from: DateTime<Utc>,
    } -> Vec<NumberedBooking>;
    /// Door check-in by code.
    "check_in" => CheckIn {
        /// Booking code.
        code: String,
    } -> Booking;
    /// Marks a booking as no-show.
    "no_show" => NoShow {
        /// Booking id.
        id: String,
    } -> Booking;
    /// Occupancy of the slot in progress.
    "occupancy" => GetOccupancy {} -> Occupancy;
    /// Joins the waiting list of a full slot.
    "join_waitlist" => JoinWaitlist {
        /// Who waits.
        owner: Owner,
        /// People.
        party_size: u32,
        /// Start of the slot.
        slot_start: DateTime<Utc>,
    } -> EntryView;
    /// One waiting-list entry with its position.
    "get_entry" => GetEntry {
        /// Entry id.
        id: String,
    } -> EntryView;
    /// Accepts an offer: the held places become a confirmed booking.
    "accept_offer" => AcceptOffer {
        /// Entry id.
        id: String,
        /// The entry's owner (only they may accept).
        owner: Owner,
    } -> Booked;
    /// Leaves the waiting list; with `owner`, only their own entry.
    "leave_waitlist" => LeaveWaitlist {
        /// Entry id.
        id: String,
        /// Required owner, or `None` for staff.
        owner: Option<Owner>,
    } -> WaitEntry;
    /// One page of the bookings still in the object whose slot starts in `[from, to)`, as the
    /// export shows them, in `(slot_start, id)` order after `after` (the last one of the page
    /// before); at most `limit` (capped at [`EXPORT_PAGE_MAX`]).
    "export_page" => ExportPage {
        /// First slot start (inclusive).
        from: DateTime<Utc>,
        /// Last slot start (exclusive).
        to: DateTime<Utc>,
        /// The `(slot_start, id)` of the last booking of the page before.
        after: Option<(DateTime<Utc>, String)>,
        /// Page size.
        limit: u32,
    } -> Vec<ArchivedBooking>;
    /// Account erasure: cancel the user's future bookings, anonymise every booking of theirs.
    "erase_user" => EraseUser {
        /// The erased user.
        user: UserId,
    } -> Erased;
}

/// The largest [`ExportPage`] the object answers.
pub const EXPORT_PAGE_MAX: u32 = 500;

/// Answer to [`Ping`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The nonce as read back from SQLite.
    pub nonce: String,
}

/// Answer to [`RecordZone`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRecorded {
    /// The IANA zone now recorded.
    pub timezone: String,
}

/// Answer to [`CloseStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// Future bookings cancelled by this call.
    pub cancelled: u32,
}

/// Answer to [`PutSchedule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleChanged {
    /// The schedule as stored.
    pub schedule: Schedule,
    /// Active bookings the new schedule no longer offers (kept valid).
    pub affected_bookings: Vec<Booking>,
}

/// Answer to [`Book`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booked {
    /// The booking.
    pub booking: Booking,
    /// Its per-store number (the legacy app's reservation id).
    pub number: i64,
    /// `true` for an idempotent replay (answer 200, not 201).
    pub replayed: bool,
}

/// A booking with its per-store number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberedBooking {
    /// The per-store number (the legacy app's reservation id).
    pub number: i64,
    /// The booking.
    pub booking: Booking,
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
    /// People whose places open waiting-list offers hold.
    pub held: u32,
    /// People waiting on the slot's waiting list.
    pub waiting: u32,
    /// Places neither booked nor held.
    pub available: u32,
}

impl SlotView {
    /// The item of `slot` with `counts` (the one place a slot item is built).
    pub fn new(slot: Slot, capacity: u32, counts: SlotCounts, tz: Tz) -> Self {
        SlotView {
            start: slot.start,
            end: slot.end,
            local_start: local_rfc3339(slot.start, tz),
            capacity,
            booked: counts.booked,
            held: counts.held,
            waiting: counts.waiting,
            available: counts.available(capacity),
        }
    }
}

/// Why the object refused or failed a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", content = "data", rename_all = "snake_case")]
pub enum StoreError {
    /// A booking rule refused the call.
    Booking(BookingError),
    /// Input values are invalid (422 with field errors).
    Invalid(Vec<FieldError>),
    /// The call could not be decoded (a Worker/object version mismatch or a bug).
    BadCall(String),
    /// Storage failed inside the object (the text is for logs).
    Internal(String),
    /// A request without a zone reached an object that has not recorded one: it has never
    /// served its store (or the id is no store's). The Worker asks D1 and sends the zone.
    UnknownStore,
}

impl From<BookingError> for StoreError {
    fn from(e: BookingError) -> Self {
        StoreError::Booking(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_format_names_the_call_by_path() {
        let req = StoreRequest {
            store_id: StoreId::parse("f47ac10b-58cc-4372-a567-0e02b2c3d479").unwrap(),
            timezone: Some("UTC".into()),
            index_now: false,
            call: Ping { nonce: "n".into() },
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"store_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479", "timezone": "UTC", "index_now": false, "call": {"nonce": "n"}})
        );
        assert_eq!(
            serde_json::from_value::<StoreRequest<Ping>>(json).unwrap(),
            req
        );
        assert_eq!(
            call_name(&call_url(Ping::NAME)["https://store.internal".len()..]),
            Some("ping")
        );
    }

    #[test]
    fn replies_and_errors_round_trip() {
        let pong = Pong { nonce: "x".into() };
        assert_eq!(Pong::from_body(pong.to_body().unwrap()).unwrap(), pong);
        for body in [Some(b"{\"items\":[]}".to_vec()), None] {
            let listing = RenderedListing {
                etag: "\"a-1\"".into(),
                body,
            };
            assert_eq!(
                RenderedListing::from_body(listing.to_body().unwrap()).unwrap(),
                listing
            );
        }
        assert!(RenderedListing::from_body(b"no tag".to_vec()).is_err());
        // The Worker looks only at the head of a reply: the tag and where the JSON starts.
        let wire = RenderedListing {
            etag: "\"a-2\"".into(),
            body: Some(vec![b'x'; 4 * RenderedListing::MAX_TAG_LINE]),
        }
        .to_body()
        .unwrap();
        assert_eq!(
            RenderedListing::tag_of(&wire).unwrap(),
            ("\"a-2\"".to_owned(), 6)
        );
        assert_eq!(
            RenderedListing::tag_of(&wire[..8]).unwrap(),
            ("\"a-2\"".to_owned(), 6)
        );
        let mut untagged = vec![b'x'; RenderedListing::MAX_TAG_LINE];
        untagged.push(b'\n');
        assert!(RenderedListing::tag_of(&untagged).is_err());
        for e in [
            StoreError::Booking(BookingError::SlotFull { available: 2 }),
            StoreError::Booking(BookingError::Storage("disk".into())),
            StoreError::Invalid(vec![FieldError::new("slot_minutes", "too small")]),
            StoreError::UnknownStore,
        ] {
            let s = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<StoreError>(&s).unwrap(), e);
        }
    }

    #[test]
    fn a_malformed_idempotency_key_or_owner_does_not_decode() {
        let book = |owner: &str, key: &str| {
            serde_json::from_value::<Book>(serde_json::json!({
                "owner": owner, "party_size": 1, "slot_start": "2026-12-01T09:00:00Z",
                "guest": null, "idempotency_key": key,
            }))
        };
        assert!(book("u-1", "k-1").is_ok());
        assert!(book("u-1", "").is_err());
        assert!(book("key:", "k-1").is_err());
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
