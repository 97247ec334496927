//! The integrations surface: an authenticated api key, api-key scopes and names, the caller a
//! phone system books for (name and E.164 phone), and partner document sources.

use safemarket_engine::{Guest, KeyId, Owner};

use crate::domain::store::bounded_text;
use crate::error::{ApiError, FieldError};

/// An authenticated api key (`auth::api_keys::authenticate` builds it from its D1 row), the
/// principal of integrations.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Key id.
    pub id: String,
    /// The only store it acts on.
    pub store_id: String,
    /// What it may do there.
    pub scopes: Scopes,
}

impl ApiKey {
    /// The owner of the bookings it makes (they are in no user's booking index).
    pub fn owner(&self) -> Result<Owner, ApiError> {
        KeyId::parse(&self.id).map(Owner::ApiKey).ok_or_else(|| {
            ApiError::internal(format!("stored api key id {:?} is malformed", self.id))
        })
    }
}

/// What an api key may do, besides reading its store's public data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Slots, schedule, the day's bookings, bookings by id and by code.
    BookingsRead,
    /// Booking for a caller, cancelling by id and by code.
    BookingsWrite,
    /// Writing the key's partner documents (`PUT .../external/{source}`).
    ProfileWrite,
}

impl Scope {
    /// Every scope, in canonical order.
    pub const ALL: [Scope; 3] = [
        Scope::BookingsRead,
        Scope::BookingsWrite,
        Scope::ProfileWrite,
    ];

    /// The wire name (`bookings:read`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::BookingsRead => "bookings:read",
            Scope::BookingsWrite => "bookings:write",
            Scope::ProfileWrite => "profile:write",
        }
    }

    /// The scope with wire name `raw`.
    pub fn parse(raw: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A non-empty set of scopes, kept sorted and without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses the `scopes` array of a create request: a non-empty subset of the known scopes
    /// (repeats are harmless and collapse).
    pub fn parse(raw: &[String]) -> Result<Self, FieldError> {
        let mut scopes = Vec::with_capacity(raw.len());
        for (i, name) in raw.iter().enumerate() {
            let scope = Scope::parse(name).ok_or_else(|| {
                FieldError::new(
                    format!("scopes[{i}]"),
                    "must be one of bookings:read, bookings:write, profile:write",
                )
            })?;
            scopes.push(scope);
        }
        Self::from_scopes(scopes).ok_or_else(|| FieldError::new("scopes", "must not be empty"))
    }

    /// The scopes as stored in D1 (space-separated wire names); `None` when the column holds
    /// nothing we know, which then grants nothing.
    pub fn from_db(raw: &str) -> Option<Self> {
        Self::from_scopes(raw.split_whitespace().filter_map(Scope::parse).collect())
    }

    fn from_scopes(mut scopes: Vec<Scope>) -> Option<Self> {
        scopes.sort_unstable();
        scopes.dedup();
        (!scopes.is_empty()).then_some(Scopes(scopes))
    }

    /// The form stored in D1.
    pub fn to_db(&self) -> String {
        self.names().join(" ")
    }

    /// Wire names, for responses.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    /// Whether `scope` is granted.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }
}

/// An api key's label, as the owner chose it (1-100 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    /// Parses the `name` of a create request.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text(raw, "name", 100).map(KeyName)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164: `+`, then 8 to 15 digits, the first not 0 (country codes never
/// start with 0). Spaces, dashes and brackets are refused rather than guessed at: the phone
/// system has the number in E.164 already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses `raw` (surrounding whitespace ignored), reporting errors on `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let digits = raw.strip_prefix('+').unwrap_or("");
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Phone(raw.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "must be an E.164 number: + and 8 to 15 digits, e.g. +4930123456",
            ))
        }
    }
}

/// The caller a phone system books for: `guest: {name, phone}`, every problem reported.
pub fn parse_guest(name: &str, phone: &str) -> Result<Guest, Vec<FieldError>> {
    match (
        bounded_text(name, "guest.name", 100),
        Phone::parse(phone, "guest.phone"),
    ) {
        (Ok(name), Ok(phone)) => Ok(Guest {
            name,
            phone: phone.0,
        }),
        (name, phone) => Err([name.err(), phone.err()].into_iter().flatten().collect()),
    }
}

/// The name a partner team files its document about a store under: 1-40 of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(String);

impl Source {
    /// Parses the `{source}` path segment.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let valid = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Source(raw.to_string()))
        } else {
            Err(FieldError::new(
                "source",
                "must be 1 to 40 characters of a-z, 0-9 and -",
            ))
        }
    }

    /// The source name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scopes_are_a_non_empty_known_subset() {
        let s = Scopes::parse(&strings(&[
            "profile:write",
            "bookings:read",
            "profile:write",
        ]))
        .unwrap();
        assert_eq!(s.names(), ["bookings:read", "profile:write"]);
        assert!(s.contains(Scope::ProfileWrite) && !s.contains(Scope::BookingsWrite));
        assert_eq!(Scopes::from_db(&s.to_db()), Some(s));
        assert_eq!(Scopes::parse(&[]).unwrap_err().field, "scopes");
        let e = Scopes::parse(&strings(&["bookings:read", "admin"])).unwrap_err();
        assert_eq!(e.field, "scopes[1]");
        assert!(Scopes::parse(&strings(&["Bookings:Read"])).is_err());
        assert_eq!(Scopes::from_db("nonsense"), None);
    }

    #[test]
    fn key_names_are_trimmed_and_bounded() {
        assert_eq!(KeyName::parse("  Hotline ").unwrap().as_str(), "Hotline");
        assert!(KeyName::parse(&"ä".repeat(100)).is_ok());
        for bad in ["", "   ", "a\u{0}b"] {
            assert_eq!(KeyName::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
        assert!(KeyName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn phones_must_be_e164() {
        for good in [
            "+4930123456",
            "+12025550123",
            "+123456789012345",
            " +49301234 ",
        ] {
            assert!(Phone::parse(good, "phone").is_ok(), "{good}");
        }
        for bad in [
            "",
            "4930123456",
            "+1234567",
            "+1234567890123456",
            "+49 30 123456",
            "+49-30-123456",
            "+0301234567",
            "++4930123456",
            "+４９30123456",
        ] {
            assert!(Phone::parse(bad, "phone").is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("+4930123456", "p").unwrap().0, "+4930123456");
    }

    #[test]
    fn guest_reports_every_bad_field() {
        let g = parse_guest(" Ada ", "+4930123456").unwrap();
        assert_eq!((g.name.as_str(), g.phone.as_str()), ("Ada", "+4930123456"));
        let errors = parse_guest("", "030 123").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["guest.name", "guest.phone"]);
        assert!(parse_guest(&"n".repeat(101), "+4930123456").is_err());
    }

    #[test]
    fn sources_are_short_lowercase_slugs() {
        for good in ["maps", "open-data-2", "a", &"x".repeat(40)] {
            assert_eq!(Source::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "Maps", "a_b", "a b", "a.b", "ä", &"x".repeat(41)] {
            assert_eq!(Source::parse(bad).unwrap_err().field, "source", "{bad:?}");
        }
    }
}
