//! Identities that cross the Worker/object boundary, parsed once.
//!
//! - [`StoreId`]: a store (a UUID, normalised lower-case and hyphenated).
//! - [`Owner`]: whom a booking belongs to: a user, or an api key booking for callers. Stored and
//!   sent as one string (`<user id>` or `key:<key id>`), which only this module formats and
//!   parses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A store id: a UUID in lower-case hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(String);

impl StoreId {
    /// `None` for anything that is not a UUID (hyphenated, simple, braced or `urn:uuid:`
    /// form); such a store cannot exist.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.strip_prefix("urn:uuid:").unwrap_or(raw);
        let raw = raw
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .unwrap_or(raw);
        let hex: String = match raw.len() {
            36 => {
                let hyphens_ok = raw
                    .char_indices()
                    .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
                if !hyphens_ok {
                    return None;
                }
                raw.chars().filter(|c| *c != '-').collect()
            }
            32 => raw.to_owned(),
            _ => return None,
        };
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let hex = hex.to_ascii_lowercase();
        Some(StoreId(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StoreId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        StoreId::parse(&raw).ok_or_else(|| format!("not a store id: {raw:?}"))
    }
}

impl From<StoreId> for String {
    fn from(id: StoreId) -> String {
        id.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest id an owner may carry (user ids and key ids are UUIDs).
const MAX_ID_LEN: usize = 64;
/// How an api-key owner is spelled in storage and on the wire.
const KEY_PREFIX: &str = "key:";

/// A user id (as issued by the Worker: a UUID string).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl TryFrom<String> for UserId {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        UserId::parse(&raw).ok_or_else(|| format!("not a user id: {raw:?}"))
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl UserId {
    /// A user id: 1 to 64 characters of letters, digits and hyphens.
    pub fn parse(raw: &str) -> Option<Self> {
        id_shape_ok(raw).then(|| UserId(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An api key's id (not its secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// A key id: 1 to 64 characters of letters, digits and hyphens.
    pub fn parse(raw: &str) -> Option<Self> {
        id_shape_ok(raw).then(|| KeyId(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn id_shape_ok(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_ID_LEN
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whom a booking belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Owner {
    /// A shopper's account: the booking is in their booking index and counts against the
    /// store's per-user limit.
    User(UserId),
    /// An integration (the store's phone system) booking for callers: in no user's index.
    ApiKey(KeyId),
}

impl Owner {
    /// Parses the stored/wire form (`<user id>` or `key:<key id>`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.strip_prefix(KEY_PREFIX) {
            Some(key) => KeyId::parse(key).map(Owner::ApiKey),
            None => UserId::parse(raw).map(Owner::User),
        }
    }

    /// The stored/wire form.
    pub fn to_storage(&self) -> String {
        match self {
            Owner::User(id) => id.0.clone(),
            Owner::ApiKey(id) => format!("{KEY_PREFIX}{}", id.0),
        }
    }

    /// The user, when a user owns it.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Owner::User(id) => Some(id),
            Owner::ApiKey(_) => None,
        }
    }
}

impl From<UserId> for Owner {
    fn from(id: UserId) -> Self {
        Owner::User(id)
    }
}

impl From<KeyId> for Owner {
    fn from(id: KeyId) -> Self {
        Owner::ApiKey(id)
    }
}

impl TryFrom<String> for Owner {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Owner::parse(&raw).ok_or_else(|| format!("not a booking owner: {raw:?}"))
    }
}

impl From<Owner> for String {
    fn from(owner: Owner) -> String {
        owner.to_storage()
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_storage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_are_normalised_uuids() {
        let canonical = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
        for form in [
            canonical,
            "F47AC10B-58CC-4372-A567-0E02B2C3D479",
            "f47ac10b58cc4372a5670e02b2c3d479",
            "{f47ac10b-58cc-4372-a567-0e02b2c3d479}",
            "urn:uuid:f47ac10b-58cc-4372-a567-0e02b2c3d479",
        ] {
            assert_eq!(
                StoreId::parse(form).map(String::from).as_deref(),
                Some(canonical),
                "{form}"
            );
        }
        for bad in [
            "",
            "x",
            "f47ac10b-58cc-4372-a567-0e02b2c3d47g",
            "f47ac10b-58cc4-372-a567-0e02b2c3d479",
        ] {
            assert!(StoreId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn owners_round_trip_their_one_spelling() {
        let user = Owner::parse("0b7c-user").unwrap();
        assert_eq!(user.user().map(UserId::as_str), Some("0b7c-user"));
        let key = Owner::parse("key:k-1").unwrap();
        assert_eq!(key, Owner::ApiKey(KeyId::parse("k-1").unwrap()));
        assert_eq!(key.to_storage(), "key:k-1");
        assert!(key.user().is_none());
        for bad in ["", "key:", "a b", "key:key:x", &"x".repeat(65)] {
            assert!(Owner::parse(bad).is_none(), "{bad}");
        }
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, "\"key:k-1\"");
        assert_eq!(serde_json::from_str::<Owner>(&json).unwrap(), key);
    }
}
