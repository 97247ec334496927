//! An in-memory [`Inventory`]: the reference implementation the engine's tests run against,
//! also usable by other crates' tests. Not for production (nothing persists).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::booking::{Booking, BookingStatus, Inventory};
use super::derived_codes::{code_of_id, CodeKey};
use super::idempotency::IdempotencyRecord;
use super::ids::Owner;
use super::slots::Slot;
use super::waitlist::{EntryStatus, WaitEntry};

/// Bookings and idempotency records in memory, with switches to simulate storage failures.
///
/// Like the object's SQLite inventory, every booking write also appends the booking's new state
/// to an outbox (what the object later carries to the D1 index), as a separate write: so a
/// command can fail half-way exactly where the real one can, and [`transaction`](Self::transaction)
/// shows what rolling back has to undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryInventory {
    bookings: Vec<Booking>,
    idempotency: BTreeMap<(Owner, String), IdempotencyRecord>,
    outbox: Vec<Booking>,
    /// Waiting-list entries in the order they joined.
    entries: Vec<WaitEntry>,
    /// When set, every read fails.
    pub fail_reads: bool,
    /// When set, every write fails (and changes nothing).
    pub fail_writes: bool,
    /// Writes left before one fails: `Some(0)` fails the next write (once), `Some(n)` lets `n`
    /// writes succeed first. Set with [`fail_write_after`](Self::fail_write_after).
    fail_after: Option<u32>,
    /// When set, new bookings with numbered ids get codes derived with this key, as the
    /// store object gives them ([`crate::derived_codes`]).
    pub code_key: Option<CodeKey>,
}

/// The simulated storage failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryError(pub &'static str);

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What a rollback restores.
type Saved = (
    Vec<Booking>,
    BTreeMap<(Owner, String), IdempotencyRecord>,
    Vec<Booking>,
    Vec<WaitEntry>,
);

impl MemoryInventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// All bookings in insertion order.
    pub fn bookings(&self) -> &[Booking] {
        &self.bookings
    }

    /// The waiting-list entries, in the order they joined.
    pub fn entries(&self) -> &[WaitEntry] {
        &self.entries
    }

    /// All idempotency records.
    pub fn idempotency_records(&self) -> impl Iterator<Item = &IdempotencyRecord> {
        self.idempotency.values()
    }

    /// Every booking state written, in order (the object's outbox to the D1 index).
    pub fn outbox(&self) -> &[Booking] {
        &self.outbox
    }

    /// Lets `n` more writes succeed, then fails the next one (once). Each booking insert or
    /// update is two writes (the booking, then its outbox entry), an idempotency record one.
    pub fn fail_write_after(&mut self, n: u32) {
        self.fail_after = Some(n);
    }

    /// Runs `f` as one transaction, as the object runs each command in SQLite's
    /// `transactionSync`: when `f` returns `Err`, every booking, outbox entry and idempotency
    /// record is restored to what it was before (the failure switches are configuration and
    /// stay as they are).
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, E>) -> Result<T, E> {
        let saved: Saved = (
            self.bookings.clone(),
            self.idempotency.clone(),
            self.outbox.clone(),
            self.entries.clone(),
        );
        let result = f(self);
        if result.is_err() {
            (self.bookings, self.idempotency, self.outbox, self.entries) = saved;
        }
        result
    }

    fn read(&self) -> Result<(), MemoryError> {
        if self.fail_reads {
            Err(MemoryError("simulated read failure"))
        } else {
            Ok(())
        }
    }

    fn write(&mut self) -> Result<(), MemoryError> {
        if self.fail_writes {
            return Err(MemoryError("simulated write failure"));
        }
        match self.fail_after {
            Some(0) => {
                self.fail_after = None;
                Err(MemoryError("simulated write failure"))
            }
            Some(n) => {
                self.fail_after = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The outbox entry of a booking write (a write of its own, like the object's).
    fn append_outbox(&mut self, booking: &Booking) -> Result<(), MemoryError> {
        self.write()?;
        self.outbox.push(booking.clone());
        Ok(())
    }
}

impl Inventory for MemoryInventory {
    type Error = MemoryError;

    fn booked_people(&self, slot: Slot) -> Result<u32, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .filter(|b| b.slot().overlaps(&slot) && b.status.holds_capacity())
            .map(|b| b.party_size)
            .fold(0u32, u32::saturating_add))
    }

    fn active_bookings(&self, owner: &Owner, now: DateTime<Utc>) -> Result<u32, MemoryError> {
        self.read()?;
        let n = self
            .bookings
            .iter()
            .filter(|b| b.owner.as_ref() == Some(owner) && b.is_active(now))
            .count();
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn code_in_use(&self, code: &str) -> Result<bool, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .any(|b| b.code == code && b.status == BookingStatus::Confirmed))
    }

    fn derived_code(&self, id: &str) -> Result<Option<String>, MemoryError> {
        Ok(self
            .code_key
            .and_then(|key| code_of_id(&key, id))
            .map(String::from))
    }

    fn get(&self, id: &str) -> Result<Option<Booking>, MemoryError> {
        self.read()?;
        Ok(self.bookings.iter().find(|b| b.id == id).cloned())
    }

    fn get_by_code(&self, code: &str) -> Result<Option<Booking>, MemoryError> {
        self.read()?;
        let mut matching: Vec<&Booking> = self.bookings.iter().filter(|b| b.code == code).collect();
        // Confirmed first, then the most recently updated.
        matching.sort_by_key(|b| (b.status == BookingStatus::Confirmed, b.updated_at));
        Ok(matching.last().map(|b| (*b).clone()))
    }

    fn insert(&mut self, booking: &Booking) -> Result<(), MemoryError> {
        self.write()?;
        if self.bookings.iter().any(|b| b.id == booking.id) {
            return Err(MemoryError("duplicate booking id"));
        }
        self.bookings.push(booking.clone());
        self.append_outbox(booking)
    }

    fn update(&mut self, booking: &Booking) -> Result<(), MemoryError> {
        self.write()?;
        let stored = self
            .bookings
            .iter_mut()
            .find(|b| b.id == booking.id)
            .ok_or(MemoryError("update of an unknown booking"))?;
        *stored = booking.clone();
        self.append_outbox(booking)
    }

    fn idempotency_get(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, MemoryError> {
        self.read()?;
        Ok(self
            .idempotency
            .get(&(owner.clone(), key.to_owned()))
            .cloned())
    }

    fn idempotency_forget(&mut self, owner: &Owner) -> Result<(), MemoryError> {
        self.write()?;
        self.idempotency.retain(|(o, _), _| o != owner);
        Ok(())
    }

    fn bookings_of(&self, owner: &Owner) -> Result<Vec<Booking>, MemoryError> {
        self.read()?;
        let mut found: Vec<Booking> = self
            .bookings
            .iter()
            .filter(|b| b.owner.as_ref() == Some(owner))
            .cloned()
            .collect();
        found.sort_by_key(|b| b.slot_start);
        Ok(found)
    }

    fn confirmed_started_by(
        &self,
        t: DateTime<Utc>,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<Booking>, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .filter(|b| {
                b.status == BookingStatus::Confirmed
                    && b.slot_start <= t
                    && b.slot_end > ended_after
            })
            .cloned()
            .collect())
    }

    fn next_confirmed_start_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Confirmed && b.slot_start > t)
            .map(|b| b.slot_start)
            .min())
    }

    fn held_people(&self, slot: Slot) -> Result<u32, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.status == EntryStatus::Offered && e.slot().overlaps(&slot))
            .map(|e| e.party_size)
            .sum())
    }

    fn open_entries(&self, slot_start: DateTime<Utc>) -> Result<Vec<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.status.is_open() && e.slot_start == slot_start)
            .cloned()
            .collect())
    }

    fn waiting(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.status == EntryStatus::Waiting && e.slot_end > now)
            .cloned()
            .collect())
    }

    fn all_open_entries(&self) -> Result<Vec<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.status.is_open())
            .cloned()
            .collect())
    }

    fn offers_expired(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| {
                e.status == EntryStatus::Offered && e.offer_expires_at.is_some_and(|t| t <= now)
            })
            .cloned()
            .collect())
    }

    fn next_offer_expiry(&self) -> Result<Option<DateTime<Utc>>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.status == EntryStatus::Offered)
            .filter_map(|e| e.offer_expires_at)
            .min())
    }

    fn entries_of(&self, owner: &Owner) -> Result<Vec<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self
            .entries
            .iter()
            .filter(|e| e.owner.as_ref() == Some(owner))
            .cloned()
            .collect())
    }

    fn entry(&self, id: &str) -> Result<Option<WaitEntry>, MemoryError> {
        self.read()?;
        Ok(self.entries.iter().find(|e| e.id == id).cloned())
    }

    fn entry_insert(&mut self, entry: &WaitEntry) -> Result<(), MemoryError> {
        self.write()?;
        if self.entries.iter().any(|e| e.id == entry.id) {
            return Err(MemoryError("duplicate entry id"));
        }
        self.entries.push(entry.clone());
        Ok(())
    }

    fn entry_update(&mut self, entry: &WaitEntry) -> Result<(), MemoryError> {
        self.write()?;
        let stored = self
            .entries
            .iter_mut()
            .find(|e| e.id == entry.id)
            .ok_or(MemoryError("update of an unknown entry"))?;
        *stored = entry.clone();
        Ok(())
    }

    fn confirmed_from(&self, from: DateTime<Utc>) -> Result<Vec<Booking>, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Confirmed && b.slot_start >= from)
            .cloned()
            .collect())
    }

    fn idempotency_put(&mut self, record: &IdempotencyRecord) -> Result<(), MemoryError> {
        self.write()?;
        self.idempotency
            .insert((record.owner.clone(), record.key.clone()), record.clone());
        Ok(())
    }
}
