//! `/api/v1/stores` and `/api/v1/me/stores`.

use serde::{Deserialize, Serialize};

/// A user's role in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the store; manages everything.
    Owner,
    /// Added by the owner; runs the door and the schedule.
    Staff,
}

/// The store categories `category` accepts.
pub const CATEGORIES: [&str; 4] = ["supermarket", "bakery", "pharmacy", "other"];

/// `POST /api/v1/stores`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewStore {
    /// Display name.
    pub name: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Postal address.
    pub address: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// IANA time zone.
    pub timezone: String,
}

/// A store as every store route answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Store {
    /// UUID.
    pub id: String,
    /// Stable integer id of the legacy app surface.
    pub legacy_id: i64,
    /// Display name.
    pub name: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Postal address.
    pub address: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// IANA time zone of the schedule.
    pub timezone: String,
    /// The owner's user id.
    pub owner_id: String,
    /// Geocoder place id, when verified.
    pub place_id: Option<String>,
    /// Whether the geocoder confirmed the address.
    pub verified: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// Closed by its owner.
    pub closed: bool,
    /// When it was closed.
    pub closed_at: Option<String>,
    /// Search results only: metres from the search point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// `GET /api/v1/me/stores` only: the caller's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}
