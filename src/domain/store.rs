//! Stores: the D1 row and the roles users hold in a store.

use serde::{Deserialize, Serialize};

/// A store as stored in D1 (`stores` row).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreRow {
    /// UUID.
    pub id: String,
    /// Stable integer id for the legacy app surface.
    pub legacy_id: i64,
    /// Display name.
    pub name: String,
    /// `supermarket`, `bakery`, `pharmacy` or `other`.
    pub category: String,
    /// Postal address.
    pub address: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// IANA time zone of the store's schedule.
    pub timezone: String,
    /// The owner's user id.
    pub owner_id: String,
    /// Geocoder place id, when verified.
    pub place_id: Option<String>,
    /// Whether the geocoder confirmed the address (SQLite integer 0/1).
    pub verified: i64,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// Set once the owner closed the store.
    pub closed_at: Option<String>,
}

impl StoreRow {
    /// The store's zone; rows are validated on write, so a bad zone means corrupted data.
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| format!("store {} has an invalid time zone {}", self.id, self.timezone))
    }
}

/// A user's role in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the store; manages everything.
    Owner,
    /// Added by the owner; runs the door and the schedule.
    Staff,
}
