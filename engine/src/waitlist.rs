//! The waiting list: entries for full slots, offers that hold places for a while, and the
//! due work the store object's alarm runs (expiring offers, releasing no-shows).
//!
//! ```text
//!   waiting --places free up, party fits--> offered --accept--> accepted (a booking)
//!   waiting/offered --leave--> left          offered --time up--> expired (passes on)
//! ```
//!
//! Held places (open offers) count against capacity exactly like booked ones, so the
//! invariant is: at every instant, booked + held people never exceed the capacity of the slot
//! covering it. Every operation here does all of its reads before its first write, like the
//! booking operations, and runs inside the object's one transaction per call.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::{
    bookable_slot, check_capacity, insert_booking, mark_no_show, storage, taken_people, Booking,
    BookingError, Inventory, NewBooking, StoreContext,
};
use crate::codes::RandomSource;
use crate::ids::Owner;
use crate::slots::Slot;

/// Where a waiting-list entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// In the queue.
    Waiting,
    /// Places are held for it until `offer_expires_at`.
    Offered,
    /// The offer became a booking.
    Accepted,
    /// The offer ran out (or the store closed).
    Expired,
    /// Its owner left the list (or was erased).
    Left,
}

impl EntryStatus {
    /// The wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Offered => "offered",
            EntryStatus::Accepted => "accepted",
            EntryStatus::Expired => "expired",
            EntryStatus::Left => "left",
        }
    }

    /// Still on the list (waiting or holding an offer).
    pub fn is_open(self) -> bool {
        matches!(self, EntryStatus::Waiting | EntryStatus::Offered)
    }
}

impl fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "waiting" => Ok(EntryStatus::Waiting),
            "offered" => Ok(EntryStatus::Offered),
            "accepted" => Ok(EntryStatus::Accepted),
            "expired" => Ok(EntryStatus::Expired),
            "left" => Ok(EntryStatus::Left),
            other => Err(format!("unknown waiting-list status {other:?}")),
        }
    }
}

/// One entry of a store's waiting list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitEntry {
    /// Unique id (UUID, chosen by the caller of [`join`]).
    pub id: String,
    /// Who waits; `None` once anonymised after erasure.
    pub owner: Option<Owner>,
    /// Start of the wanted slot.
    pub slot_start: DateTime<Utc>,
    /// End of the wanted slot (kept, like a booking's, across schedule changes).
    pub slot_end: DateTime<Utc>,
    /// People in the party.
    pub party_size: u32,
    /// Current status.
    pub status: EntryStatus,
    /// When it joined (the queue's order is the order of joining).
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Until when an offer holds its places (while offered).
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// The booking an accepted offer became.
    pub booking_id: Option<String>,
}

impl WaitEntry {
    /// The wanted slot.
    pub fn slot(&self) -> Slot {
        Slot {
            start: self.slot_start,
            end: self.slot_end,
        }
    }
}

/// An entry with its place in the queue (while waiting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// The entry.
    pub entry: WaitEntry,
    /// 1-based position among the slot's waiting entries, while waiting.
    pub position: Option<u32>,
}

/// A request to join the waiting list of a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Who waits.
    pub owner: Owner,
    /// People in the party.
    pub party_size: u32,
    /// Start of the wanted slot.
    pub slot_start: DateTime<Utc>,
}

/// People booked or held in `slot`, not counting `except` (an entry's own hold).
fn taken<I: Inventory + ?Sized>(
    inv: &I,
    slot: Slot,
    except: Option<&WaitEntry>,
) -> Result<u32, BookingError> {
    let own = except
        .filter(|e| e.status == EntryStatus::Offered && e.slot().overlaps(&slot))
        .map_or(0, |e| e.party_size);
    Ok(taken_people(inv, slot)?.saturating_sub(own))
}

/// 1-based position of a waiting entry among its slot's waiting entries.
pub fn position<I: Inventory + ?Sized>(
    inv: &I,
    entry: &WaitEntry,
) -> Result<Option<u32>, BookingError> {
    if entry.status != EntryStatus::Waiting {
        return Ok(None);
    }
    let ahead = inv
        .open_entries(entry.slot_start)
        .map_err(storage)?
        .into_iter()
        .filter(|e| e.status == EntryStatus::Waiting)
        .take_while(|e| e.id != entry.id)
        .count();
    Ok(Some(
        u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1),
    ))
}

/// The entry `id` with its position, which with `by` must belong to that owner.
pub fn entry_view<I: Inventory + ?Sized>(
    inv: &I,
    id: &str,
    by: Option<&Owner>,
) -> Result<EntryView, BookingError> {
    let entry = owned_entry(inv, id, by)?;
    let position = position(inv, &entry)?;
    Ok(EntryView { entry, position })
}

fn owned_entry<I: Inventory + ?Sized>(
    inv: &I,
    id: &str,
    by: Option<&Owner>,
) -> Result<WaitEntry, BookingError> {
    let entry = inv
        .entry(id)
        .map_err(storage)?
        .ok_or(BookingError::NotFound)?;
    match by {
        Some(owner) if entry.owner.as_ref() != Some(owner) => Err(BookingError::NotFound),
        _ => Ok(entry),
    }
}

/// Joins the waiting list of a full slot. The slot is validated as for a booking; a slot with
/// room for the party is refused (`SlotAvailable`: book it instead), and so is a second open
/// entry of the same owner for the slot (`AlreadyWaiting`).
pub fn join<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    req: JoinRequest,
    new_id: String,
) -> Result<EntryView, BookingError> {
    let (slot, schedule) = bookable_slot(ctx, req.slot_start, req.party_size)?;
    let taken = taken(inv, slot, None)?;
    if check_capacity(schedule.capacity(), taken, req.party_size).is_ok() {
        return Err(BookingError::SlotAvailable);
    }
    let open = inv.open_entries(slot.start).map_err(storage)?;
    if open.iter().any(|e| e.owner.as_ref() == Some(&req.owner)) {
        return Err(BookingError::AlreadyWaiting);
    }
    let waiting_ahead = open
        .iter()
        .filter(|e| e.status == EntryStatus::Waiting)
        .count();
    let entry = WaitEntry {
        id: new_id,
        owner: Some(req.owner),
        slot_start: slot.start,
        slot_end: slot.end,
        party_size: req.party_size,
        status: EntryStatus::Waiting,
        created_at: ctx.now,
        updated_at: ctx.now,
        offer_expires_at: None,
        booking_id: None,
    };
    inv.entry_insert(&entry).map_err(storage)?;
    let position = u32::try_from(waiting_ahead)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    Ok(EntryView {
        entry,
        position: Some(position),
    })
}

/// Offers freed places to the waiting list: for every slot with waiting entries that overlaps
/// `freed` (every such slot when `None`, e.g. after capacity was raised), the earliest
/// waiting entries whose party fits into what is neither booked nor held get an offer that
/// holds their places for the schedule's `waitlist_offer_minutes`. Slots that have ended and
/// closed stores offer nothing. Returns the new offers.
pub fn offer_freed<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    freed: Option<Slot>,
) -> Result<Vec<WaitEntry>, BookingError> {
    let Some(schedule) = ctx.schedule else {
        return Ok(Vec::new());
    };
    if ctx.store_closed {
        return Ok(Vec::new());
    }
    let waiting: Vec<WaitEntry> = inv
        .waiting(ctx.now)
        .map_err(storage)?
        .into_iter()
        .filter(|e| freed.is_none_or(|f| e.slot().overlaps(&f)))
        .collect();
    let mut offered: Vec<WaitEntry> = Vec::new();
    let mut free_by_slot: Vec<(Slot, u32)> = Vec::new();
    for mut entry in waiting {
        let slot = entry.slot();
        let free = match free_by_slot.iter_mut().find(|(s, _)| *s == slot) {
            Some((_, free)) => free,
            None => {
                let taken = taken(inv, slot, None)?;
                free_by_slot.push((slot, schedule.capacity().saturating_sub(taken)));
                match free_by_slot.last_mut() {
                    Some((_, free)) => free,
                    None => continue,
                }
            }
        };
        if entry.party_size > *free {
            continue;
        }
        *free -= entry.party_size;
        entry.status = EntryStatus::Offered;
        entry.offer_expires_at = ctx
            .now
            .checked_add_signed(schedule.waitlist_offer_duration());
        entry.updated_at = ctx.now;
        inv.entry_update(&entry).map_err(storage)?;
        offered.push(entry);
    }
    Ok(offered)
}

/// Accepts an offer: its held places become a confirmed booking, atomically (the hold is
/// counted out and the booking in within one decision). Only the entry's owner, only while
/// the offer runs (`OfferExpired` after, `NotOffered` for entries without an offer); the
/// owner's booking limit applies.
pub fn accept<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    entry_id: &str,
    owner: &Owner,
    booking_id: String,
    rng: &mut dyn RandomSource,
) -> Result<(WaitEntry, Booking), BookingError> {
    let mut entry = owned_entry(inv, entry_id, Some(owner))?;
    match (entry.status, entry.offer_expires_at) {
        (EntryStatus::Offered, Some(until)) if ctx.now < until => {}
        (EntryStatus::Offered | EntryStatus::Expired, _) => return Err(BookingError::OfferExpired),
        _ => return Err(BookingError::NotOffered),
    }
    if ctx.store_closed {
        return Err(BookingError::StoreClosed);
    }
    let schedule = ctx.schedule.ok_or(BookingError::SlotNotOffered)?;
    let slot = entry.slot();
    let taken = taken(inv, slot, Some(&entry))?;
    check_capacity(schedule.capacity(), taken, entry.party_size)?;
    let booking = insert_booking(
        inv,
        ctx,
        NewBooking {
            id: booking_id,
            owner: owner.clone(),
            slot,
            party_size: entry.party_size,
            guest: None,
        },
        true,
        None,
        rng,
    )?;
    entry.status = EntryStatus::Accepted;
    entry.booking_id = Some(booking.id.clone());
    entry.updated_at = ctx.now;
    inv.entry_update(&entry).map_err(storage)?;
    Ok((entry, booking))
}

/// Leaves the list; an open offer passes on at once. Leaving an entry that is no longer on
/// the list changes nothing.
pub fn leave<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    entry_id: &str,
    by: Option<&Owner>,
) -> Result<WaitEntry, BookingError> {
    let mut entry = owned_entry(inv, entry_id, by)?;
    if !entry.status.is_open() {
        return Ok(entry);
    }
    let held = entry.status == EntryStatus::Offered;
    entry.status = EntryStatus::Left;
    entry.updated_at = ctx.now;
    inv.entry_update(&entry).map_err(storage)?;
    if held {
        offer_freed(inv, ctx, Some(entry.slot()))?;
    }
    Ok(entry)
}

/// Records a no-show ([`mark_no_show`]) and offers the freed places.
pub fn no_show_and_offer<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    id: &str,
) -> Result<Booking, BookingError> {
    let booking = mark_no_show(inv, id, ctx.now)?;
    offer_freed(inv, ctx, Some(booking.slot()))?;
    Ok(booking)
}

/// What one run of due work did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueWork {
    /// Offers that ran out.
    pub expired: Vec<WaitEntry>,
    /// Bookings released as no-shows.
    pub released: Vec<Booking>,
    /// Offers made from the places those freed.
    pub offered: Vec<WaitEntry>,
}

/// How far back the release looks: bookings whose slot ended longer ago than this are left
/// as they are (their places no longer matter).
const RELEASE_LOOKBACK: TimeDelta = TimeDelta::days(1);

/// The due work at `ctx.now`: offers past their time expire (and pass on); with
/// `release_after_minutes` set, confirmed bookings not checked in that long after their slot
/// started become no-shows (and their places are offered).
pub fn run_due<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
) -> Result<DueWork, BookingError> {
    let mut done = DueWork::default();
    for mut entry in inv.offers_expired(ctx.now).map_err(storage)? {
        entry.status = EntryStatus::Expired;
        entry.updated_at = ctx.now;
        inv.entry_update(&entry).map_err(storage)?;
        done.expired.push(entry);
    }
    if let Some(after) = ctx.schedule.and_then(|s| s.release_after()) {
        if let Some(started_by) = ctx.now.checked_sub_signed(after) {
            let ended_after = ctx
                .now
                .checked_sub_signed(RELEASE_LOOKBACK)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            for booking in inv
                .confirmed_started_by(started_by, ended_after)
                .map_err(storage)?
            {
                done.released.push(mark_no_show(inv, &booking.id, ctx.now)?);
            }
        }
    }
    let freed: Vec<Slot> = done
        .expired
        .iter()
        .map(WaitEntry::slot)
        .chain(done.released.iter().map(Booking::slot))
        .collect();
    for slot in freed {
        done.offered.extend(offer_freed(inv, ctx, Some(slot))?);
    }
    Ok(done)
}

/// When the next due work is: the earliest running offer's expiry, or the earliest release of
/// a confirmed booking (its start plus `release_after_minutes`), if any.
pub fn next_due<I: Inventory + ?Sized>(
    inv: &I,
    ctx: &StoreContext<'_>,
) -> Result<Option<DateTime<Utc>>, BookingError> {
    let expiry = inv.next_offer_expiry().map_err(storage)?;
    let release = match ctx.schedule.and_then(|s| s.release_after()) {
        Some(after) => match ctx.now.checked_sub_signed(after) {
            Some(started_after) => inv
                .next_confirmed_start_after(started_after)
                .map_err(storage)?
                .and_then(|start| start.checked_add_signed(after)),
            None => None,
        },
        None => None,
    };
    Ok([expiry, release].into_iter().flatten().min())
}

/// Ends every open entry of `owner` (erasure): they leave the list and lose their owner; open
/// offers pass on. Returns how many entries were ended.
pub fn erase_entries<I: Inventory + ?Sized>(
    inv: &mut I,
    ctx: &StoreContext<'_>,
    owner: &Owner,
) -> Result<u32, BookingError> {
    let mut ended = 0u32;
    let mut freed = Vec::new();
    for mut entry in inv.entries_of(owner).map_err(storage)? {
        if entry.status == EntryStatus::Offered {
            freed.push(entry.slot());
        }
        if entry.status.is_open() {
            entry.status = EntryStatus::Left;
            ended += 1;
        }
        entry.owner = None;
        entry.updated_at = ctx.now;
        inv.entry_update(&entry).map_err(storage)?;
    }
    for slot in freed {
        offer_freed(inv, ctx, Some(slot))?;
    }
    Ok(ended)
}

/// Ends every open entry (the store closed): nothing will be offered any more.
pub fn close_entries<I: Inventory + ?Sized>(
    inv: &mut I,
    now: DateTime<Utc>,
) -> Result<u32, BookingError> {
    let open = inv.all_open_entries().map_err(storage)?;
    for mut entry in open.iter().cloned() {
        entry.status = EntryStatus::Expired;
        entry.updated_at = now;
        inv.entry_update(&entry).map_err(storage)?;
    }
    Ok(u32::try_from(open.len()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests;
