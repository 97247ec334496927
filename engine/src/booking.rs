//! Bookings: the state machine and every decision that changes a store's inventory.
//!
//! Storage is abstracted by [`Inventory`], which the Durable Object implements over its SQLite
//! database and tests implement in memory. Every operation is synchronous and does all of its
//! reads before its first write, so when the object runs one inside a single storage
//! transaction (no `await` in between) the check and the write are atomic: two requests can
//! never both see the last free place.
//!
//! State machine:
//!
//! ```text
//!   confirmed --cancel--> cancelled
//!   confirmed --check-in (slot window +- one slot)--> checked_in
//!   confirmed --no-show (slot started)--> no_show
//!   confirmed --reschedule--> confirmed (other slot)
//! ```
//!
//! Capacity counts the party sizes of `confirmed` and `checked_in` bookings, so cancelling
//! frees the places at once and a no-show does not hold them.
//!
//! A slot counts every such booking that *overlaps* it (`b.start < slot.end && b.end >
//! slot.start`), not only those that start with it. In a steady schedule that is the same thing
//! (slots never overlap, bookings sit exactly on slots), but bookings kept across a change of
//! slot length, opening alignment or time zone straddle the new slots: two people booked at
//! 10:30-11:00 are in the shop during the new 10:00-11:00 slot. A booking is accepted only if
//! the overlapping people plus its party fit the capacity, which is conservative and implies the
//! invariant that matters: at no instant do more people hold a place than the capacity of the
//! slot covering that instant. A capacity cut keeps the existing bookings (it may leave a slot
//! over its new capacity) and refuses new ones until there is room.

use std::fmt;
use std::str::FromStr;

use crate::zone::Tz;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::codes::{generate_code, parse_code, RandomSource};
use super::idempotency::{fingerprint, IdempotencyKey, IdempotencyRecord};
use super::ids::Owner;
use super::schedule::Schedule;
use super::slots::{current_slot, slot_at, Slot};
use super::waitlist::{close_entries, erase_entries, offer_freed, WaitEntry};

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Booked and holding its places.
    Confirmed,
    /// Cancelled; holds nothing.
    Cancelled,
    /// The party arrived; still holds its places.
    CheckedIn,
    /// The party did not come; holds nothing.
    NoShow,
}

impl BookingStatus {
    /// The wire/storage name (`confirmed`, `cancelled`, `checked_in`, `no_show`).
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::CheckedIn => "checked_in",
            BookingStatus::NoShow => "no_show",
        }
    }

    /// Whether bookings in this status occupy their slot's capacity.
    pub fn holds_capacity(self) -> bool {
        matches!(self, BookingStatus::Confirmed | BookingStatus::CheckedIn)
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BookingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "confirmed" => Ok(BookingStatus::Confirmed),
            "cancelled" => Ok(BookingStatus::Cancelled),
            "checked_in" => Ok(BookingStatus::CheckedIn),
            "no_show" => Ok(BookingStatus::NoShow),
            other => Err(format!("unknown booking status {other:?}")),
        }
    }
}

/// A caller booked on someone's behalf (phone system / api key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Guest {
    /// Name as given.
    pub name: String,
    /// Phone number as given.
    pub phone: String,
}

/// One booking of one store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// Unique id (UUID, chosen by the caller of [`book`]).
    pub id: String,
    /// Human-readable code, unique among the store's confirmed bookings.
    pub code: String,
    /// The user (or api-key principal) who booked; `None` once anonymised after erasure.
    pub owner: Option<Owner>,
    /// Guest name for bookings made on someone's behalf.
    pub guest_name: Option<String>,
    /// Guest phone for bookings made on someone's behalf.
    pub guest_phone: Option<String>,
    /// Start of the booked slot.
    pub slot_start: DateTime<Utc>,
    /// End of the booked slot (kept, since the schedule's slot length may change later).
    pub slot_end: DateTime<Utc>,
    /// People in the party.
    pub party_size: u32,
    /// Current status.
    pub status: BookingStatus,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Booking {
    /// The booked slot.
    pub fn slot(&self) -> Slot {
        Slot {
            start: self.slot_start,
            end: self.slot_end,
        }
    }

    /// Confirmed and its slot has not ended at `now`: counts against the owner's limit.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.status == BookingStatus::Confirmed && self.slot_end > now
    }
}

/// A store's booking storage, as the engine needs it.
///
/// Implementations must be synchronous (the Durable Object runs over its SQLite with no
/// `await`). The engine always finishes its reads before its first write, but one operation may
/// write several times (a booking, its outbox entry, an idempotency record) and report a
/// storage error after some of those writes succeeded. Atomicity is therefore the caller's
/// part of the contract: run every command (one or more engine operations) inside one
/// transaction that is rolled back when the command returns `Err`. The Durable Object does so
/// with SQLite's `transactionSync` around each command; tests use
/// [`MemoryInventory::transaction`](super::memory::MemoryInventory::transaction).
pub trait Inventory {
    /// Storage failure; its text is logged, never shown to clients.
    type Error: fmt::Display;

    /// Sum of `party_size` of confirmed and checked-in bookings whose `[slot_start, slot_end)`
    /// overlaps `slot` (see the module documentation for why overlap, not equal start).
    /// Bookings last at most [`MAX_SLOT_LENGTH`](super::slots::MAX_SLOT_LENGTH), which lets an
    /// implementation bound its search by start instant.
    fn booked_people(&self, slot: Slot) -> Result<u32, Self::Error>;

    /// Number of confirmed bookings of `owner` whose slot has not ended at `now`
    /// (`slot_end > now`).
    fn active_bookings(&self, owner: &Owner, now: DateTime<Utc>) -> Result<u32, Self::Error>;

    /// Whether a confirmed booking has this code.
    fn code_in_use(&self, code: &str) -> Result<bool, Self::Error>;

    /// The code the new booking `id` should have, if the store derives codes from ids (see
    /// [`derived_codes`](crate::derived_codes)); `None` (the default) for a random code.
    /// Either way the code is used only when no confirmed booking has it.
    fn derived_code(&self, id: &str) -> Result<Option<String>, Self::Error> {
        let _ = id;
        Ok(None)
    }

    /// The booking with this id.
    fn get(&self, id: &str) -> Result<Option<Booking>, Self::Error>;

    /// The most relevant booking with this code: the confirmed one if there is one (codes are
    /// unique among confirmed bookings), else the most recently updated one.
    fn get_by_code(&self, code: &str) -> Result<Option<Booking>, Self::Error>;

    /// Stores a new booking.
    fn insert(&mut self, booking: &Booking) -> Result<(), Self::Error>;

    /// Stores a new booking made under an idempotency record (whose `booking_id` is the
    /// booking's). By default the booking and the record are stored one after the other; a
    /// store that keeps the record in the booking's own row overrides this to write once.
    fn insert_keyed(
        &mut self,
        booking: &Booking,
        record: &IdempotencyRecord,
    ) -> Result<(), Self::Error> {
        self.insert(booking)?;
        self.idempotency_put(record)
    }

    /// Overwrites the stored booking with the same id (status, slot, `updated_at`).
    fn update(&mut self, booking: &Booking) -> Result<(), Self::Error>;

    /// The idempotency record of `owner` and `key`, expired or not.
    fn idempotency_get(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, Self::Error>;

    /// Stores a record, replacing any existing one of the same owner and key (an expired
    /// record's key may be reused).
    fn idempotency_put(&mut self, record: &IdempotencyRecord) -> Result<(), Self::Error>;

    /// Deletes every idempotency record of `owner` (erasure).
    fn idempotency_forget(&mut self, owner: &Owner) -> Result<(), Self::Error>;

    /// Every booking of `owner`, by slot start.
    fn bookings_of(&self, owner: &Owner) -> Result<Vec<Booking>, Self::Error>;

    /// Confirmed bookings whose slot starts at or after `from`.
    fn confirmed_from(&self, from: DateTime<Utc>) -> Result<Vec<Booking>, Self::Error>;

    /// Confirmed bookings whose slot started at or before `t` and ends after `ended_after`
    /// (release of no-shows; the lower bound keeps the read to the days it looks back over,
    /// not every past booking the store keeps).
    fn confirmed_started_by(
        &self,
        t: DateTime<Utc>,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<Booking>, Self::Error>;

    /// The earliest start after `t` of a confirmed booking.
    fn next_confirmed_start_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, Self::Error>;

    /// Sum of `party_size` of offered waiting-list entries whose slot overlaps `slot`.
    fn held_people(&self, slot: Slot) -> Result<u32, Self::Error>;

    /// The open (waiting or offered) entries of the slot starting at `slot_start`, in the
    /// order they joined.
    fn open_entries(&self, slot_start: DateTime<Utc>) -> Result<Vec<WaitEntry>, Self::Error>;

    /// Waiting entries whose slot has not ended at `now`, in the order they joined.
    fn waiting(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, Self::Error>;

    /// Every open entry.
    fn all_open_entries(&self) -> Result<Vec<WaitEntry>, Self::Error>;

    /// Offered entries whose offer ran out at `now` (`offer_expires_at <= now`).
    fn offers_expired(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, Self::Error>;

    /// The earliest expiry of an open offer.
    fn next_offer_expiry(&self) -> Result<Option<DateTime<Utc>>, Self::Error>;

    /// Every entry of `owner`, any status.
    fn entries_of(&self, owner: &Owner) -> Result<Vec<WaitEntry>, Self::Error>;

    /// The entry with this id.
    fn entry(&self, id: &str) -> Result<Option<WaitEntry>, Self::Error>;

    /// Stores a new entry (after every existing one in the order of joining).
    fn entry_insert(&mut self, entry: &WaitEntry) -> Result<(), Self::Error>;

    /// Overwrites the stored entry with the same id.
    fn entry_update(&mut self, entry: &WaitEntry) -> Result<(), Self::Error>;
}

/// Everything about the store at the moment of a decision.
#[derive(Debug, Clone, Copy)]
pub struct StoreContext<'a> {
    /// The store's schedule; `None` when it has none yet (then nothing is bookable).
    pub schedule: Option<&'a Schedule>,
    /// The store's time zone.
    pub tz: Tz,
    /// The current instant (never read from a clock inside the engine).
    pub now: DateTime<Utc>,
    /// The store was closed down (deleted); nothing can be booked any more.
    pub store_closed: bool,
}

/// A request to book a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRequest {
    /// Who books: a user id, or the principal of an api key booking for a guest.
    pub owner: Owner,
    /// People in the party.
    pub party_size: u32,
    /// Start of the wanted slot.
    pub slot_start: DateTime<Utc>,
    /// The guest, for bookings made on someone's behalf.
    pub guest: Option<Guest>,
    /// The request's `Idempotency-Key`, if it had one.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// The result of [`book`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookOutcome {
    /// The booking (as currently stored, when replayed).
    pub booking: Booking,
    /// `true` when this is the earlier booking of the same idempotent request (answer 200,
    /// not 201).
    pub replayed: bool,
}

/// Why a booking operation was refused or failed. Each variant is one problem type.
/// Serialisable so the Durable Object can hand it to the Worker unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum BookingError {
    /// The idempotency key was used for a different request (422).
    IdempotencyMismatch,
    /// The store has been closed down (409).
    StoreClosed,
    /// No slot starts at that instant: unaligned, outside opening hours, closed date, or no
    /// schedule (422).
    SlotNotOffered,
    /// The slot has ended (422).
    SlotInPast,
    /// The slot starts beyond the booking horizon (422).
    BeyondHorizon {
        /// The store's horizon.
        horizon_days: u32,
    },
    /// Party size is 0 or more than a slot holds (422).
    InvalidPartySize {
        /// Requested size.
        party_size: u32,
        /// Largest allowed size (the slot capacity).
        max: u32,
    },
    /// Not enough places left in the slot (409).
    SlotFull {
        /// Places still free.
        available: u32,
    },
    /// The owner has reached the store's limit of active bookings (409).
    BookingLimit {
        /// The limit.
        limit: u32,
    },
    /// No such booking (or code) in this store (404).
    NotFound,
    /// The booking's status does not allow this (409).
    InvalidTransition {
        /// Current status.
        from: BookingStatus,
        /// Status the operation would have produced.
        to: BookingStatus,
    },
    /// Check-in outside `[slot_start - slot, slot_end + slot]` (409).
    OutsideCheckInWindow,
    /// A no-show can only be recorded once the slot has started (409).
    SlotNotStarted,
    /// The slot has room for the party: book it instead of joining its waiting list (409).
    SlotAvailable,
    /// The owner already waits for that slot (409).
    AlreadyWaiting,
    /// The waiting-list offer ran out (409).
    OfferExpired,
    /// The waiting-list entry has no offer to accept (409).
    NotOffered,
    /// Storage or the random source failed (500; the text is for logs only).
    Storage(String),
}

impl BookingError {
    /// Machine-readable slug, usable as the last segment of a problem type URI.
    pub fn kind(&self) -> &'static str {
        match self {
            BookingError::IdempotencyMismatch => "idempotency-mismatch",
            BookingError::StoreClosed => "store-closed",
            BookingError::SlotNotOffered => "slot-not-offered",
            BookingError::SlotInPast => "slot-in-past",
            BookingError::BeyondHorizon { .. } => "beyond-horizon",
            BookingError::InvalidPartySize { .. } => "invalid-party-size",
            BookingError::SlotFull { .. } => "slot-full",
            BookingError::BookingLimit { .. } => "booking-limit",
            BookingError::NotFound => "not-found",
            BookingError::InvalidTransition { .. } => "invalid-transition",
            BookingError::OutsideCheckInWindow => "outside-check-in-window",
            BookingError::SlotNotStarted => "slot-not-started",
            BookingError::SlotAvailable => "slot-available",
            BookingError::AlreadyWaiting => "already-waiting",
            BookingError::OfferExpired => "offer-expired",
            BookingError::NotOffered => "not-offered",
            BookingError::Storage(_) => "storage",
        }
    }

    /// The HTTP status the API contract gives this problem.
    pub fn http_status(&self) -> u16 {
        match self {
            BookingError::IdempotencyMismatch
            | BookingError::SlotNotOffered
            | BookingError::SlotInPast
            | BookingError::BeyondHorizon { .. }
            | BookingError::InvalidPartySize { .. } => 422,
            BookingError::StoreClosed
            | BookingError::SlotFull { .. }
            | BookingError::BookingLimit { .. }
            | BookingError::InvalidTransition { .. }
            | BookingError::OutsideCheckInWindow
            | BookingError::SlotNotStarted
            | BookingError::SlotAvailable
            | BookingError::AlreadyWaiting
            | BookingError::OfferExpired
            | BookingError::NotOffered => 409,
            BookingError::NotFound => 404,
            BookingError::Storage(_) => 500,
        }
    }
}

impl fmt::Display for BookingError {
    /// A client-safe sentence, except for `Storage`, whose cause is for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookingError::IdempotencyMismatch => {
                f.write_str("this Idempotency-Key was already used for a different request")
            }
            BookingError::StoreClosed => f.write_str("the store is closed"),
            BookingError::SlotNotOffered => {
                f.write_str("the store offers no slot starting at that time")
            }
            BookingError::SlotInPast => f.write_str("the slot is in the past"),
            BookingError::BeyondHorizon { horizon_days } => write!(
                f,
                "slots can be booked at most {horizon_days} days in advance"
            ),
            BookingError::InvalidPartySize { party_size, max } => write!(
                f,
                "party size must be between 1 and {max}, got {party_size}"
            ),
            BookingError::SlotFull { available } => write!(
                f,
                "the slot has not enough places left ({available} available)"
            ),
            BookingError::BookingLimit { limit } => write!(
                f,
                "at most {limit} active bookings per person are allowed at this store"
            ),
            BookingError::NotFound => f.write_str("no such booking"),
            BookingError::InvalidTransition { from, to } => {
                write!(f, "a {from} booking cannot become {to}")
            }
            BookingError::OutsideCheckInWindow => f.write_str(
                "check-in is possible from one slot before the booked slot until one slot after it",
            ),
            BookingError::SlotNotStarted => {
                f.write_str("a no-show can only be recorded once the slot has started")
            }
            BookingError::SlotAvailable => {
                f.write_str("the slot has room for this party: book it instead")
            }
            BookingError::AlreadyWaiting => {
                f.write_str("you are already on the waiting list of this slot")
            }
            BookingError::OfferExpired => f.write_str("the offer has expired"),
            BookingError::NotOffered => f.write_str("this entry has no offer to accept"),
            BookingError::Storage(cause) => write!(f, "storage failure: {cause}"),
        }
    }
}

impl std::error::Error for BookingError {}

#[cfg(test)]
mod tests;

pub(crate) fn storage<E: fmt::Display>(e: E) -> BookingError {
    BookingError::Storage(e.to_string())
}

/// How many freshly generated codes may turn out to be taken before giving up. With 31^8
/// codes, even a store with a million active bookings needs a second try once in ~850,000.
const MAX_CODE_ATTEMPTS: usize = 16;

/// Checks that `slot_start` is a bookable slot for `party_size` people, in the order the API
/// documents; returns the slot. Capacity and limits are checked by the callers.
pub(crate) fn bookable_slot<'a>(
    ctx: &StoreContext<'a>,
    slot_start: DateTime<Utc>,
    party_size: u32,
) -> Result<(Slot, &'a Schedule), BookingError> {
    if ctx.store_closed {
        return Err(BookingError::StoreClosed);
    }
    let schedule = ctx.schedule.ok_or(BookingError::SlotNotOffered)?;
    let slot = slot_at(schedule, ctx.tz, slot_start).ok_or(BookingError::SlotNotOffered)?;
    if slot.end <= ctx.now {
        return Err(BookingError::SlotInPast);
    }
    let horizon = TimeDelta::days(i64::from(schedule.horizon_days()));
    // `now` near the end of time has no horizon end: nothing later exists to be beyond it.
    if let Some(limit) = ctx.now.checked_add_signed(horizon) {
        if slot.start >= limit {
            return Err(BookingError::BeyondHorizon {
                horizon_days: schedule.horizon_days(),
            });
        }
    }
    if party_size == 0 || party_size > schedule.capacity() {
        return Err(BookingError::InvalidPartySize {
            party_size,
            max: schedule.capacity(),
        });
    }
    Ok((slot, schedule))
}

/// Refuses when `party_size` more people would not fit next to `booked`.
pub(crate) fn check_capacity(
    capacity: u32,
    booked: u32,
    party_size: u32,
) -> Result<(), BookingError> {
    // u64: booked + party can exceed u32 if storage is inconsistent; never overflow.
    if u64::from(booked) + u64::from(party_size) > u64::from(capacity) {
        return Err(BookingError::SlotFull {
            available: capacity.saturating_sub(booked),
        });
    }
    Ok(())
}

/// Books a slot.
///
/// Order of decisions: idempotent replay (same owner and key within 24 h: same request ->
/// the original booking with `replayed`, other request -> `IdempotencyMismatch`), store
/// closed, slot offered, slot not ended, within the horizon, party size, capacity, the
/// owner's limit (not for guest bookings). Then a code unique among confirmed bookings is
/// drawn, the booking inserted and the idempotency record stored.
pub fn book<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    req: BookRequest,
    new_id: String,
    rng: &mut dyn RandomSource,
) -> Result<BookOutcome, BookingError> {
    let request_fingerprint = fingerprint(req.slot_start, req.party_size, req.guest.as_ref());
    if let Some(key) = &req.idempotency_key {
        let earlier = inv
            .idempotency_get(&req.owner, key.as_str())
            .map_err(storage)?
            .filter(|rec| rec.is_live(ctx.now));
        if let Some(rec) = earlier {
            if rec.fingerprint != request_fingerprint {
                return Err(BookingError::IdempotencyMismatch);
            }
            // A record whose booking is gone (purged) cannot be replayed; book afresh and
            // let the new record replace it.
            if let Some(booking) = inv.get(&rec.booking_id).map_err(storage)? {
                return Ok(BookOutcome {
                    booking,
                    replayed: true,
                });
            }
        }
    }

    let (slot, schedule) = bookable_slot(ctx, req.slot_start, req.party_size)?;
    check_capacity(
        schedule.capacity(),
        taken_people(inv, slot)?,
        req.party_size,
    )?;
    // The limit is per shopper account. A booking for a guest is made by the store's own
    // integration (its phone system) for many different callers under one principal, so
    // counting them together would stop the hotline after a handful of calls.
    let limited = req.guest.is_none();
    let record = req.idempotency_key.map(|key| IdempotencyRecord {
        owner: req.owner.clone(),
        key: key.into(),
        fingerprint: request_fingerprint,
        booking_id: new_id.clone(),
        created_at: ctx.now,
    });
    let booking = insert_booking(
        inv,
        ctx,
        NewBooking {
            id: new_id,
            owner: req.owner,
            slot,
            party_size: req.party_size,
            guest: req.guest,
        },
        limited,
        record.as_ref(),
        rng,
    )?;
    Ok(BookOutcome {
        booking,
        replayed: false,
    })
}

/// People holding places in `slot`: booked (confirmed, checked in) and held by open
/// waiting-list offers, by overlap.
pub(crate) fn taken_people<I: Inventory + ?Sized>(
    inv: &I,
    slot: Slot,
) -> Result<u32, BookingError> {
    let booked = inv.booked_people(slot).map_err(storage)?;
    let held = inv.held_people(slot).map_err(storage)?;
    Ok(booked.saturating_add(held))
}

/// A booking about to be made (its slot and capacity already checked).
pub(crate) struct NewBooking {
    pub(crate) id: String,
    pub(crate) owner: Owner,
    pub(crate) slot: Slot,
    pub(crate) party_size: u32,
    pub(crate) guest: Option<Guest>,
}

/// Checks the owner's limit of active bookings when `limited`, takes the store's derived code
/// or draws one, unique among confirmed bookings either way, and inserts the booking,
/// confirmed, with its idempotency `record`.
pub(crate) fn insert_booking<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    new: NewBooking,
    limited: bool,
    record: Option<&IdempotencyRecord>,
    rng: &mut dyn RandomSource,
) -> Result<Booking, BookingError> {
    let schedule = ctx.schedule.ok_or(BookingError::SlotNotOffered)?;
    if limited {
        let active = inv.active_bookings(&new.owner, ctx.now).map_err(storage)?;
        if active >= schedule.max_active_bookings_per_user() {
            return Err(BookingError::BookingLimit {
                limit: schedule.max_active_bookings_per_user(),
            });
        }
    }
    let code = match inv.derived_code(&new.id).map_err(storage)? {
        Some(code) if !inv.code_in_use(&code).map_err(storage)? => code,
        _ => unique_code(inv, rng)?,
    };
    let (guest_name, guest_phone) = match new.guest {
        Some(g) => (Some(g.name), Some(g.phone)),
        None => (None, None),
    };
    let booking = Booking {
        id: new.id,
        code,
        owner: Some(new.owner),
        guest_name,
        guest_phone,
        slot_start: new.slot.start,
        slot_end: new.slot.end,
        party_size: new.party_size,
        status: BookingStatus::Confirmed,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    match record {
        Some(record) => inv.insert_keyed(&booking, record),
        None => inv.insert(&booking),
    }
    .map_err(storage)?;
    Ok(booking)
}

fn unique_code<I: Inventory + ?Sized>(
    inv: &I,
    rng: &mut dyn RandomSource,
) -> Result<String, BookingError> {
    for _ in 0..MAX_CODE_ATTEMPTS {
        let code = generate_code(rng).map_err(BookingError::Storage)?;
        if !inv.code_in_use(code.as_str()).map_err(storage)? {
            return Ok(code.into());
        }
    }
    Err(BookingError::Storage(
        "no free booking code found; is the random source broken?".to_owned(),
    ))
}

fn require_status(booking: &Booking, to: BookingStatus) -> Result<(), BookingError> {
    if booking.status != BookingStatus::Confirmed {
        return Err(BookingError::InvalidTransition {
            from: booking.status,
            to,
        });
    }
    Ok(())
}

fn load<I: Inventory + ?Sized>(inv: &I, id: &str) -> Result<Booking, BookingError> {
    inv.get(id).map_err(storage)?.ok_or(BookingError::NotFound)
}

fn transition<I: Inventory + ?Sized>(
    inv: &mut I,
    mut booking: Booking,
    to: BookingStatus,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    booking.status = to;
    booking.updated_at = now;
    inv.update(&booking).map_err(storage)?;
    Ok(booking)
}

/// Cancels a confirmed booking; its places are free again at once.
///
/// Cancelling a booking that is not confirmed (including one already cancelled) is an
/// `InvalidTransition`; the API may treat `cancelled -> cancelled` as success (204).
pub fn cancel<I: Inventory + ?Sized>(
    inv: &mut I,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = load(inv, id)?;
    require_status(&booking, BookingStatus::Cancelled)?;
    transition(inv, booking, BookingStatus::Cancelled, now)
}

/// [`cancel`] on someone's behalf: with `by`, only a booking of that owner (another
/// owner's booking does not exist for them: `NotFound`); without, any booking (staff). The
/// freed places are offered to the waiting list at once.
pub fn cancel_for<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    id: &str,
    by: Option<&Owner>,
) -> Result<Booking, BookingError> {
    owned_by(inv, id, by)?;
    let booking = cancel(inv, id, ctx.now)?;
    offer_freed(inv, ctx, Some(booking.slot()))?;
    Ok(booking)
}

/// Cancels the booking with `code` (as typed; a malformed code is simply unknown) and offers
/// the freed places.
pub fn cancel_by_code<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    code: &str,
) -> Result<Booking, BookingError> {
    let booking = by_code(inv, code)?;
    cancel_for(inv, ctx, &booking.id, None)
}

/// The most relevant booking with `code` (as typed; a malformed code is simply unknown).
pub fn by_code<I: Inventory + ?Sized>(inv: &I, code: &str) -> Result<Booking, BookingError> {
    let code = parse_code(code).map_err(|_| BookingError::NotFound)?;
    inv.get_by_code(code.as_str())
        .map_err(storage)?
        .ok_or(BookingError::NotFound)
}

/// The booking `id`, which with `by` must belong to that owner (`NotFound` otherwise).
pub fn owned_by<I: Inventory + ?Sized>(
    inv: &I,
    id: &str,
    by: Option<&Owner>,
) -> Result<Booking, BookingError> {
    let booking = load(inv, id)?;
    match by {
        Some(owner) if booking.owner.as_ref() != Some(owner) => Err(BookingError::NotFound),
        _ => Ok(booking),
    }
}

/// What erasing an owner did in one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// Future bookings cancelled.
    pub cancelled: u32,
    /// Bookings whose owner was removed (all of them, the cancelled ones included).
    pub anonymised: u32,
}

/// Erases an owner from the store: confirmed bookings that have not started are cancelled,
/// every booking and waiting-list entry of theirs loses its owner, their open entries leave
/// the list, their idempotency records go, and the places freed are offered to the waiting
/// list. Idempotent.
pub fn erase_owner<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    owner: &Owner,
) -> Result<Erased, BookingError> {
    let now = ctx.now;
    let mut freed = Vec::new();
    let mut erased = Erased {
        cancelled: 0,
        anonymised: 0,
    };
    for mut booking in inv.bookings_of(owner).map_err(storage)? {
        if booking.status == BookingStatus::Confirmed && booking.slot_start >= now {
            booking.status = BookingStatus::Cancelled;
            erased.cancelled += 1;
            freed.push(booking.slot());
        }
        booking.owner = None;
        booking.updated_at = now;
        inv.update(&booking).map_err(storage)?;
        erased.anonymised += 1;
    }
    inv.idempotency_forget(owner).map_err(storage)?;
    erase_entries(inv, ctx, owner)?;
    for slot in freed {
        offer_freed(inv, ctx, Some(slot))?;
    }
    Ok(erased)
}

/// Closing a store down cancels every confirmed booking that has not started yet and ends the
/// waiting list (the store refuses new ones through [`StoreContext::store_closed`]); returns
/// how many bookings were cancelled. Idempotent.
pub fn close_store<I: Inventory + ?Sized>(
    inv: &mut I,
    now: DateTime<Utc>,
) -> Result<u32, BookingError> {
    let future = inv.confirmed_from(now).map_err(storage)?;
    for booking in &future {
        cancel(inv, &booking.id, now)?;
    }
    close_entries(inv, now)?;
    Ok(u32::try_from(future.len()).unwrap_or(u32::MAX))
}

/// Checks in the booking with `code` (as typed: normalised by [`parse_code`]; a malformed
/// code is simply unknown).
///
/// Only confirmed bookings, and only within `[slot_start - len, slot_end + len]` where `len`
/// is the booking's own slot length (both ends inclusive).
pub fn check_in_by_code<I: Inventory + ?Sized>(
    inv: &mut I,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = by_code(inv, code)?;
    require_status(&booking, BookingStatus::CheckedIn)?;
    let len = booking.slot().duration();
    // Differences of two valid instants always fit a TimeDelta, unlike `start - len`.
    let early_by = booking.slot_start.signed_duration_since(now);
    let late_by = now.signed_duration_since(booking.slot_end);
    if early_by > len || late_by > len {
        return Err(BookingError::OutsideCheckInWindow);
    }
    transition(inv, booking, BookingStatus::CheckedIn, now)
}

/// Records that a confirmed booking's party did not come; only once its slot has started.
pub fn mark_no_show<I: Inventory + ?Sized>(
    inv: &mut I,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let booking = load(inv, id)?;
    require_status(&booking, BookingStatus::NoShow)?;
    if now < booking.slot_start {
        return Err(BookingError::SlotNotStarted);
    }
    transition(inv, booking, BookingStatus::NoShow, now)
}

/// Moves a confirmed booking to the slot starting at `new_slot_start`, atomically: the new
/// slot is validated exactly as by [`book`] (its capacity not counting this booking itself),
/// then the owner's limit is checked if the move adds an active booking, and only then the
/// booking updated. On any error nothing changes.
///
/// The limit: moving an active booking leaves the owner's count of active bookings as it was,
/// but a confirmed booking whose slot has ended is not active, so moving it into the future adds
/// one and must fit the limit like a new booking (guest bookings are exempt, as in [`book`]).
pub fn reschedule<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    id: &str,
    new_slot_start: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let mut booking = load(inv, id)?;
    require_status(&booking, BookingStatus::Confirmed)?;
    let (slot, schedule) = bookable_slot(ctx, new_slot_start, booking.party_size)?;
    let mut booked = taken_people(inv, slot)?;
    // The booking holds places until it moves: where it overlaps the new slot it is counted
    // in `booked`, and it must not stand in its own way.
    if booking.slot().overlaps(&slot) {
        booked = booked.saturating_sub(booking.party_size);
    }
    check_capacity(schedule.capacity(), booked, booking.party_size)?;
    if !booking.is_active(ctx.now) && booking.guest_name.is_none() {
        // An anonymised booking (no owner) counts against nobody.
        if let Some(owner) = booking.owner.as_ref() {
            let active = inv.active_bookings(owner, ctx.now).map_err(storage)?;
            if active >= schedule.max_active_bookings_per_user() {
                return Err(BookingError::BookingLimit {
                    limit: schedule.max_active_bookings_per_user(),
                });
            }
        }
    }
    booking.slot_start = slot.start;
    booking.slot_end = slot.end;
    booking.updated_at = ctx.now;
    inv.update(&booking).map_err(storage)?;
    Ok(booking)
}

/// [`reschedule`] on someone's behalf: with `by`, only a booking of that owner. The places
/// it leaves are offered to the waiting list at once.
pub fn reschedule_for<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    id: &str,
    by: Option<&Owner>,
    new_slot_start: DateTime<Utc>,
) -> Result<Booking, BookingError> {
    let before = owned_by(inv, id, by)?;
    let moved = reschedule(inv, ctx, id, new_slot_start)?;
    if moved.slot() != before.slot() {
        offer_freed(inv, ctx, Some(before.slot()))?;
    }
    Ok(moved)
}

/// The active bookings (confirmed, slot not ended at `now`) that the schedule `new` no longer
/// offers: no slot of `new` has exactly their start and end. They are kept; this only reports
/// them so staff can contact the people.
pub fn affected_by_schedule(
    bookings: &[Booking],
    new: &Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<Booking> {
    bookings
        .iter()
        .filter(|b| b.is_active(now))
        .filter(|b| slot_at(new, tz, b.slot_start) != Some(b.slot()))
        .cloned()
        .collect()
}

/// How full the current slot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillStatus {
    /// Less than 50 % of the places booked.
    Green,
    /// 50 % to less than 90 %.
    Yellow,
    /// 90 % or more.
    Red,
}

impl FillStatus {
    /// The status for `booked` people out of `capacity` (an empty/closed store is green).
    pub fn for_load(booked: u32, capacity: u32) -> Self {
        let (booked, capacity) = (u64::from(booked) * 100, u64::from(capacity));
        if capacity == 0 || booked < 50 * capacity {
            FillStatus::Green
        } else if booked < 90 * capacity {
            FillStatus::Yellow
        } else {
            FillStatus::Red
        }
    }

    /// The legacy app's integer (0 red, 1 yellow, 2 green).
    pub fn legacy_code(self) -> u8 {
        match self {
            FillStatus::Red => 0,
            FillStatus::Yellow => 1,
            FillStatus::Green => 2,
        }
    }
}

/// Occupancy of the slot in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occupancy {
    /// Start of the current slot; `None` when the store is closed now.
    pub slot_start: Option<DateTime<Utc>>,
    /// Places per slot (0 when closed).
    pub capacity: u32,
    /// People booked (confirmed + checked in) in bookings that overlap the slot.
    pub booked: u32,
    /// People checked in, of those.
    pub checked_in: u32,
    /// Traffic light by booked people.
    pub fill_status: FillStatus,
}

impl Occupancy {
    /// The answer when the store is closed now: no slot, zeros, green.
    pub fn closed() -> Self {
        Occupancy {
            slot_start: None,
            capacity: 0,
            booked: 0,
            checked_in: 0,
            fill_status: FillStatus::Green,
        }
    }
}

/// The occupancy at `now`. `counts` is asked for `(booked people, checked-in people)` of the
/// current slot only, so the counts always belong to the slot reported; like capacity checks,
/// they count the bookings that overlap that slot.
pub fn occupancy<E>(
    schedule: Option<&Schedule>,
    tz: Tz,
    now: DateTime<Utc>,
    counts: impl FnOnce(Slot) -> Result<(u32, u32), E>,
) -> Result<Occupancy, E> {
    let Some((schedule, slot)) =
        schedule.and_then(|s| current_slot(s, tz, now).map(|slot| (s, slot)))
    else {
        return Ok(Occupancy::closed());
    };
    let (booked, checked_in) = counts(slot)?;
    Ok(Occupancy {
        slot_start: Some(slot.start),
        capacity: schedule.capacity(),
        booked,
        checked_in,
        fill_status: FillStatus::for_load(booked, schedule.capacity()),
    })
}
