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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::occupancy::Fill;

    #[test]
    fn feed_messages_decode_by_type() {
        let occupancy = r#"{"type":"occupancy","slot_start":null,"capacity":0,"booked":0,"checked_in":0,"fill_status":"green"}"#;
        match serde_json::from_str::<LiveMessage>(occupancy).unwrap() {
            LiveMessage::Occupancy(o) => {
                assert_eq!((o.slot_start, o.fill_status), (None, Fill::Green))
            }
            other => panic!("{other:?}"),
        }
        let slot = r#"{"type":"slot","item":{"start":"2026-12-01T09:00:00Z","end":"2026-12-01T10:00:00Z","local_start":"2026-12-01T10:00:00+01:00","capacity":10,"booked":2,"available":8}}"#;
        match serde_json::from_str::<LiveMessage>(slot).unwrap() {
            LiveMessage::Slot { item } => assert_eq!((item.held, item.available), (0, 8)),
            other => panic!("{other:?}"),
        }
        assert!(serde_json::from_str::<LiveMessage>(r#"{"type":"unknown"}"#).is_err());
    }
}
