//! The messages of the `/live` WebSocket and the slot items of `/slots`.

use serde::{Deserialize, Serialize};

use crate::occupancy::Occupancy;

/// One slot as `/slots` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotItem {
    /// Start (UTC).
    pub start: String,
    /// End (UTC).
    pub end: String,
    /// Start as store-local wall time with offset.
    pub local_start: String,
    /// Places.
    pub capacity: u32,
    /// People booked.
    pub booked: u32,
    /// People in open waiting-list offers.
    #[serde(default)]
    pub held: u32,
    /// People waiting.
    #[serde(default)]
    pub waiting: u32,
    /// Places free to book.
    pub available: u32,
}

/// One message of the feed, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// First message, and again after a schedule change.
    Snapshot {
        /// The current slot.
        occupancy: Occupancy,
        /// Today's slots.
        slots: Vec<SlotItem>,
    },
    /// One slot whose counts changed.
    Slot {
        /// The slot's new counts.
        item: SlotItem,
    },
    /// The current slot's occupancy changed (its fields at the top level).
    Occupancy(Occupancy),
    /// Answer to a keep-alive ping.
    Pong,
}
