//! Stores: the D1 row, the roles users hold in a store, the input types of create and update
//! (parse, don't validate) and the public representation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::fields::{FieldReader, Presence};
use crate::error::FieldError;

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

pub use safemarket_api::stores::Role;

pub use safemarket_engine::StoreId;

/// Trimmed text of 1..=`max` characters without control characters (also used by the
/// integrations' key and caller names).
pub fn bounded_text(raw: &str, field: &str, max: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    let n = text.chars().count();
    if n == 0 || n > max || text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(text.to_string())
}

/// A store's display name: trimmed, 1..=120 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreName(String);

impl StoreName {
    /// Longest name in characters.
    pub const MAX_CHARS: usize = 120;

    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text(raw, "name", Self::MAX_CHARS).map(StoreName)
    }
}

/// A postal address: trimmed, 1..=300 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    /// Longest address in characters.
    pub const MAX_CHARS: usize = 300;

    /// Parses an address.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text(raw, "address", Self::MAX_CHARS).map(Address)
    }
}

/// What kind of store it is (the fixed list of the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `supermarket`
    Supermarket,
    /// `bakery`
    Bakery,
    /// `pharmacy`
    Pharmacy,
    /// `other`
    Other,
}

impl Category {
    /// Every category, in the order the API lists them.
    pub const ALL: [Category; 4] = [
        Category::Supermarket,
        Category::Bakery,
        Category::Pharmacy,
        Category::Other,
    ];

    /// Parses the exact API spelling; `field` names it in the error (`category`).
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(field, "must be one of supermarket, bakery, pharmacy, other")
            })
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Supermarket => "supermarket",
            Category::Bakery => "bakery",
            Category::Pharmacy => "pharmacy",
            Category::Other => "other",
        }
    }
}

/// `value` if it is a finite number of degrees within `-limit..=limit`.
fn degrees_within(value: f64, field: &str, limit: f64) -> Result<f64, FieldError> {
    if value.is_finite() && (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a number from -{limit} to {limit}"),
        ))
    }
}

/// A WGS84 latitude in degrees, -90..=90.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latitude(f64);

impl Latitude {
    /// Parses a latitude; `field` is `latitude` in bodies and `lat` in queries.
    pub fn parse(value: f64, field: &str) -> Result<Self, FieldError> {
        degrees_within(value, field, 90.0).map(Latitude)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

/// A WGS84 longitude in degrees, -180..=180.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Longitude(f64);

impl Longitude {
    /// Parses a longitude; `field` is `longitude` in bodies and `lon` in queries.
    pub fn parse(value: f64, field: &str) -> Result<Self, FieldError> {
        degrees_within(value, field, 180.0).map(Longitude)
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        self.0
    }
}

/// An IANA time zone name (one of the pinned chrono-tz's, whose tables the assets serve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Parses a zone name (`Europe/Berlin`; `Mars/Olympus` is refused).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        safemarket_engine::zone::canonical_name(raw.trim())
            .map(|name| TimeZoneName(name.to_string()))
            .ok_or_else(|| {
                FieldError::new(
                    "timezone",
                    "must be an IANA time zone such as Europe/Berlin",
                )
            })
    }
}

/// The body of `POST /api/v1/stores`, every field valid.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStore {
    /// Display name.
    pub name: StoreName,
    /// Category.
    pub category: Category,
    /// Postal address.
    pub address: Address,
    /// Latitude.
    pub latitude: Latitude,
    /// Longitude.
    pub longitude: Longitude,
    /// IANA zone.
    pub timezone: TimeZoneName,
}

impl NewStore {
    /// Parses a create body, naming every missing or invalid field.
    pub fn parse(input: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::new(input);
        let patch = StorePatch::read(&mut r, Presence::Required);
        let store = match patch {
            StorePatch {
                name: Some(name),
                category: Some(category),
                address: Some(address),
                latitude: Some(latitude),
                longitude: Some(longitude),
                timezone: Some(timezone),
            } => Some(NewStore {
                name,
                category,
                address,
                latitude,
                longitude,
                timezone,
            }),
            _ => None,
        };
        r.finish(store)
    }

    /// The row to insert for `owner_id` (D1 assigns `legacy_id`; 0 until then).
    pub fn into_row(self, id: &str, owner_id: &str, now: &str) -> StoreRow {
        StoreRow {
            id: id.to_string(),
            legacy_id: 0,
            name: self.name.0,
            category: self.category.as_str().to_string(),
            address: self.address.0,
            latitude: self.latitude.0,
            longitude: self.longitude.0,
            timezone: self.timezone.0,
            owner_id: owner_id.to_string(),
            place_id: None,
            verified: 0,
            created_at: now.to_string(),
            updated_at: now.to_string(),
            closed_at: None,
        }
    }
}

/// The body of `PATCH /api/v1/stores/{store_id}`: the fields to change, each valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorePatch {
    /// New name.
    pub name: Option<StoreName>,
    /// New category.
    pub category: Option<Category>,
    /// New address.
    pub address: Option<Address>,
    /// New latitude.
    pub latitude: Option<Latitude>,
    /// New longitude.
    pub longitude: Option<Longitude>,
    /// New zone.
    pub timezone: Option<TimeZoneName>,
}

impl StorePatch {
    /// Parses an update body, naming every invalid field; absent fields stay as they are.
    pub fn parse(input: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut r = FieldReader::new(input);
        let patch = Self::read(&mut r, Presence::Optional);
        r.finish(Some(patch))
    }

    fn read(r: &mut FieldReader<'_>, presence: Presence) -> Self {
        let name = r.string("name", presence).map(StoreName::parse);
        let category = r
            .string("category", presence)
            .map(|s| Category::parse(s, "category"));
        let address = r.string("address", presence).map(Address::parse);
        let latitude = r
            .number("latitude", presence)
            .map(|v| Latitude::parse(v, "latitude"));
        let longitude = r
            .number("longitude", presence)
            .map(|v| Longitude::parse(v, "longitude"));
        let timezone = r.string("timezone", presence).map(TimeZoneName::parse);
        StorePatch {
            name: name.and_then(|p| r.check(p)),
            category: category.and_then(|p| r.check(p)),
            address: address.and_then(|p| r.check(p)),
            latitude: latitude.and_then(|p| r.check(p)),
            longitude: longitude.and_then(|p| r.check(p)),
            timezone: timezone.and_then(|p| r.check(p)),
        }
    }

    /// Applies the changes to `row`; returns whether the address changed (which voids an
    /// earlier geocoder verification).
    pub fn apply(self, row: &mut StoreRow) -> bool {
        let mut address_changed = false;
        if let Some(v) = self.name {
            row.name = v.0;
        }
        if let Some(v) = self.category {
            row.category = v.as_str().to_string();
        }
        if let Some(v) = self.address {
            address_changed = v.0 != row.address;
            row.address = v.0;
        }
        if let Some(v) = self.latitude {
            row.latitude = v.0;
        }
        if let Some(v) = self.longitude {
            row.longitude = v.0;
        }
        if let Some(v) = self.timezone {
            row.timezone = v.0;
        }
        if address_changed {
            row.place_id = None;
            row.verified = 0;
        }
        address_changed
    }
}

/// The public representation of a store (`GET /api/v1/stores/{store_id}` and every list).
#[derive(Debug, Serialize)]
pub struct StoreView<'a> {
    id: &'a str,
    legacy_id: i64,
    name: &'a str,
    category: &'a str,
    address: &'a str,
    latitude: f64,
    longitude: f64,
    timezone: &'a str,
    owner_id: &'a str,
    place_id: Option<&'a str>,
    verified: bool,
    created_at: &'a str,
    updated_at: &'a str,
    closed: bool,
    closed_at: Option<&'a str>,
    /// Search results only.
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
    /// `GET /api/v1/me/stores` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
}

impl<'a> StoreView<'a> {
    /// The view of a row.
    pub fn of(row: &'a StoreRow) -> Self {
        StoreView {
            id: &row.id,
            legacy_id: row.legacy_id,
            name: &row.name,
            category: &row.category,
            address: &row.address,
            latitude: row.latitude,
            longitude: row.longitude,
            timezone: &row.timezone,
            owner_id: &row.owner_id,
            place_id: row.place_id.as_deref(),
            verified: row.verified != 0,
            created_at: &row.created_at,
            updated_at: &row.updated_at,
            closed: row.closed_at.is_some(),
            closed_at: row.closed_at.as_deref(),
            distance_m: None,
            role: None,
        }
    }

    /// With the distance from the search point, in metres rounded to 0.1 m.
    pub fn with_distance(mut self, metres: f64) -> Self {
        self.distance_m = Some((metres * 10.0).round() / 10.0);
        self
    }

    /// With the caller's role in the store.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Worker's borrowed view is the wire shape the app decodes (`safemarket_api::stores::Store`).
    #[test]
    fn store_view_is_the_shared_wire_shape() {
        let row = StoreRow {
            id: "s1".into(),
            legacy_id: 7,
            name: "Bakery".into(),
            category: "bakery".into(),
            address: "Street 1".into(),
            latitude: 52.5,
            longitude: 13.4,
            timezone: "Europe/Berlin".into(),
            owner_id: "u1".into(),
            place_id: None,
            verified: 0,
            created_at: "2026-12-01T09:00:00Z".into(),
            updated_at: "2026-12-01T09:00:00Z".into(),
            closed_at: None,
        };
        let json = serde_json::to_value(StoreView::of(&row).with_role(Role::Owner)).unwrap();
        let store: safemarket_api::stores::Store = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&store).unwrap(), json);
        assert_eq!(store.role, Some(Role::Owner));
    }
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn valid() -> Value {
        json!({
            "name": "  Bäckerei Schmidt ",
            "category": "bakery",
            "address": "Torstraße 1, 10119 Berlin",
            "latitude": 52.5291,
            "longitude": 13.4013,
            "timezone": "Europe/Berlin",
        })
    }

    const ALL_FIELDS: [&str; 6] = [
        "name",
        "category",
        "address",
        "latitude",
        "longitude",
        "timezone",
    ];

    fn error_fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_store_parses_and_is_normalised() {
        let store = NewStore::parse(&object(valid())).unwrap();
        assert_eq!(store.name.0, "Bäckerei Schmidt");
        assert_eq!(store.category, Category::Bakery);
        assert_eq!(store.timezone.0, "Europe/Berlin");
        let row = store.into_row("id", "owner", "2026-01-01T00:00:00Z");
        assert_eq!((row.verified, row.place_id, row.closed_at), (0, None, None));
    }

    #[test]
    fn every_invalid_field_is_named() {
        let bad = json!({
            "name": "",
            "category": "florist",
            "address": "   ",
            "latitude": 90.5,
            "longitude": -180.5,
            "timezone": "Mars/Olympus",
        });
        let errors = NewStore::parse(&object(bad)).unwrap_err();
        assert_eq!(error_fields(errors), ALL_FIELDS);
        let missing = NewStore::parse(&Map::new()).unwrap_err();
        assert_eq!(missing.len(), 6);
        assert!(missing.iter().all(|e| e.message == "is required"));
        let wrong_types = json!({"name": 1, "category": null, "address": [], "latitude": "52",
            "longitude": true, "timezone": {}});
        assert_eq!(NewStore::parse(&object(wrong_types)).unwrap_err().len(), 6);
    }

    #[test]
    fn field_bounds() {
        assert!(StoreName::parse(&"x".repeat(120)).is_ok());
        assert!(StoreName::parse(&"x".repeat(121)).is_err());
        assert!(StoreName::parse("a\nb").is_err());
        assert!(Address::parse(&"ä".repeat(300)).is_ok());
        assert!(Address::parse(&"ä".repeat(301)).is_err());
        for (lat, ok) in [
            (90.0, true),
            (-90.0, true),
            (90.0001, false),
            (f64::NAN, false),
        ] {
            assert_eq!(Latitude::parse(lat, "latitude").is_ok(), ok, "{lat}");
        }
        for (lon, ok) in [
            (180.0, true),
            (-180.0, true),
            (180.1, false),
            (f64::INFINITY, false),
        ] {
            assert_eq!(Longitude::parse(lon, "lon").is_ok(), ok, "{lon}");
        }
        assert_eq!(Longitude::parse(200.0, "lon").unwrap_err().field, "lon");
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str(), "category"), Ok(c));
        }
        assert!(Category::parse("Bakery", "category").is_err());
    }

    #[test]
    fn time_zones_must_be_real() {
        assert_eq!(
            TimeZoneName::parse(" America/New_York ").unwrap().0,
            "America/New_York"
        );
        assert!(TimeZoneName::parse("UTC").is_ok());
        for bad in ["Mars/Olympus", "", "Europe/Berlin/Mitte", "GMT+25"] {
            assert_eq!(
                TimeZoneName::parse(bad).unwrap_err().field,
                "timezone",
                "{bad}"
            );
        }
    }

    #[test]
    fn store_ids_are_uuids() {
        let id = StoreId::parse("7D1C5A3E-8A3B-4F0E-9A51-1F2E3D4C5B6A").unwrap();
        assert_eq!(id.as_str(), "7d1c5a3e-8a3b-4f0e-9a51-1f2e3d4c5b6a");
        assert!(StoreId::parse("not-a-uuid").is_none());
    }

    #[test]
    fn a_patch_changes_only_its_fields_and_a_new_address_voids_verification() {
        let mut row = NewStore::parse(&object(valid()))
            .unwrap()
            .into_row("id", "owner", "t");
        row.verified = 1;
        row.place_id = Some("42".into());
        let rename = StorePatch::parse(&object(json!({"name": "New name"}))).unwrap();
        assert!(!rename.apply(&mut row));
        assert_eq!((row.name.as_str(), row.verified), ("New name", 1));
        let same_address = StorePatch::parse(&object(json!({"address": row.address}))).unwrap();
        assert!(!same_address.apply(&mut row));
        assert_eq!(row.place_id.as_deref(), Some("42"));
        let moved = StorePatch::parse(&object(json!({"address": "Elsewhere 2"}))).unwrap();
        assert!(moved.apply(&mut row));
        assert_eq!((row.verified, row.place_id.as_deref()), (0, None));
        assert_eq!(
            StorePatch::parse(&Map::new()).unwrap(),
            StorePatch::default()
        );
    }

    #[test]
    fn a_patch_refuses_null_and_invalid_values() {
        let bad = json!({"name": null, "timezone": "Mars/Olympus", "latitude": 100});
        let errors = StorePatch::parse(&object(bad)).unwrap_err();
        assert_eq!(error_fields(errors), ["name", "latitude", "timezone"]);
    }

    #[test]
    fn the_view_shows_flags_and_extras() {
        let mut row = NewStore::parse(&object(valid()))
            .unwrap()
            .into_row("id", "owner", "t");
        row.closed_at = Some("t2".into());
        let v = serde_json::to_value(StoreView::of(&row)).unwrap();
        assert_eq!(
            (v["closed"].clone(), v["verified"].clone()),
            (json!(true), json!(false))
        );
        assert!(v.get("distance_m").is_none() && v.get("role").is_none());
        let v = serde_json::to_value(
            StoreView::of(&row)
                .with_distance(12.345)
                .with_role(Role::Staff),
        )
        .unwrap();
        assert_eq!(
            (v["distance_m"].clone(), v["role"].clone()),
            (json!(12.3), json!("staff"))
        );
    }
}
