//! An in-memory [`Inventory`]: the reference implementation the engine's tests run against,
//! also usable by other crates' tests. Not for production (nothing persists).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::booking::{Booking, BookingStatus, Inventory};
use super::idempotency::IdempotencyRecord;

/// Bookings and idempotency records in memory, with switches to simulate storage failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryInventory {
    bookings: Vec<Booking>,
    idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    /// When set, every read fails.
    pub fail_reads: bool,
    /// When set, every write fails (and changes nothing).
    pub fail_writes: bool,
}

/// The simulated storage failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryError(pub &'static str);

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl MemoryInventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// All bookings in insertion order.
    pub fn bookings(&self) -> &[Booking] {
        &self.bookings
    }

    /// All idempotency records.
    pub fn idempotency_records(&self) -> impl Iterator<Item = &IdempotencyRecord> {
        self.idempotency.values()
    }

    fn read(&self) -> Result<(), MemoryError> {
        if self.fail_reads {
            Err(MemoryError("simulated read failure"))
        } else {
            Ok(())
        }
    }

    fn write(&self) -> Result<(), MemoryError> {
        if self.fail_writes {
            Err(MemoryError("simulated write failure"))
        } else {
            Ok(())
        }
    }
}

impl Inventory for MemoryInventory {
    type Error = MemoryError;

    fn booked_people(&self, slot_start: DateTime<Utc>) -> Result<u32, MemoryError> {
        self.read()?;
        Ok(self
            .bookings
            .iter()
            .filter(|b| b.slot_start == slot_start && b.status.holds_capacity())
            .map(|b| b.party_size)
            .fold(0u32, u32::saturating_add))
    }

    fn active_bookings(&self, owner: &str, now: DateTime<Utc>) -> Result<u32, MemoryError> {
        self.read()?;
        let n = self
            .bookings
            .iter()
            .filter(|b| b.owner.as_deref() == Some(owner) && b.is_active(now))
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
        Ok(())
    }

    fn update(&mut self, booking: &Booking) -> Result<(), MemoryError> {
        self.write()?;
        let stored = self
            .bookings
            .iter_mut()
            .find(|b| b.id == booking.id)
            .ok_or(MemoryError("update of an unknown booking"))?;
        *stored = booking.clone();
        Ok(())
    }

    fn idempotency_get(
        &self,
        owner: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, MemoryError> {
        self.read()?;
        Ok(self
            .idempotency
            .get(&(owner.to_owned(), key.to_owned()))
            .cloned())
    }

    fn idempotency_put(&mut self, record: &IdempotencyRecord) -> Result<(), MemoryError> {
        self.write()?;
        self.idempotency
            .insert((record.owner.clone(), record.key.clone()), record.clone());
        Ok(())
    }
}
