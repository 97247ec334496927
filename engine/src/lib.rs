//! SafeMarket's pure slot/booking engine and the protocol of its store objects. This crate
//! depends on no runtime (`worker`, `wasm-bindgen`, `js-sys`), so Cargo, not convention, keeps
//! every booking rule testable natively.
//!
//! - [`schedule`]: the store's opening schedule, validated and normalised.
//! - [`slots`]: expansion of a schedule into slots in the store's time zone (DST-correct).
//! - [`booking`]: bookings, their state machine and every inventory decision, over the
//!   [`Inventory`] storage trait.
//! - [`booking_ids`]: booking ids that carry the booking's per-store number.
//! - [`codes`]: human-readable booking codes; [`derived_codes`]: codes derived from the
//!   booking's number with the store's key.
//! - [`idempotency`]: idempotency keys, records and request fingerprints.
//! - [`listing`]: the client's JSON of a slot listing, written in one pass.
//! - [`history`]: archived bookings, months and the R2 layout of a store's history.
//! - [`export`]: the month export's CSV/NDJSON and its streaming merge of object and archive.
//! - [`memory`]: an in-memory [`Inventory`] for tests.
//! - [`protocol`]: the typed calls the Worker makes to a store's Durable Object.
//! - [`zone`]: IANA time zones read from compact tables (no compiled-in database).
//!
//! Nothing here reads a clock or a random source on its own: `now` and a
//! [`RandomSource`] are always passed in.

pub mod booking;
pub mod booking_ids;
pub mod codes;
pub mod derived_codes;
pub mod events;
pub mod export;
pub mod history;
pub mod idempotency;
pub mod ids;
pub mod listing;
pub mod memory;
pub mod protocol;
pub mod reminders;
pub mod schedule;
pub mod slots;
#[cfg(feature = "sqlite-check")]
pub mod sqlite_check;
pub mod waitlist;
pub mod zone;

#[cfg(test)]
mod proptests;

pub use booking::{
    affected_by_schedule, book, by_code, cancel, cancel_by_code, cancel_for, check_in_by_code,
    close_store, erase_owner, mark_no_show, occupancy, owned_by, reschedule, reschedule_for,
    BookOutcome, BookRequest, Booking, BookingError, BookingStatus, Erased, FillStatus, Guest,
    Inventory, Occupancy, StoreContext,
};
pub use codes::{generate_code, parse_code, BookingCode, InvalidCode, RandomSource};
pub use idempotency::{fingerprint, IdempotencyKey, IdempotencyRecord, InvalidKey};
pub use ids::{KeyId, Owner, StoreId, UserId};
pub use listing::{listing_etag, none_match_names, render_slot_listing, OverlapSweep, SlotCounts};
pub use memory::MemoryInventory;
pub use schedule::{DayOverride, Interval, Schedule, ScheduleInput, WallTime};
pub use slots::{
    current_slot, day_slots, format_utc, local_day_bounds, local_rfc3339, local_to_utc, slot_at,
    slots_between, wall_instant, Slot, MAX_SLOT_LENGTH,
};
pub use waitlist::{EntryStatus, EntryView, JoinRequest, WaitEntry};
pub use zone::Tz;

pub use safemarket_api::FieldError;
