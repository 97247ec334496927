//! `GET /occupancy`: the slot in progress.

use serde::{Deserialize, Serialize};

/// How full the current slot is, by booked people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// Less than 50 % booked.
    Green,
    /// 50 % to less than 90 %.
    Yellow,
    /// 90 % or more.
    Red,
}

/// The occupancy of the slot in progress (`slot_start: null` and zeros when closed now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occupancy {
    /// Start of the current slot (UTC), `null` when closed.
    pub slot_start: Option<String>,
    /// Places.
    pub capacity: u32,
    /// People booked (confirmed and checked in).
    pub booked: u32,
    /// People checked in.
    pub checked_in: u32,
    /// Green / yellow / red.
    pub fill_status: Fill,
}
