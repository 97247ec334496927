//! Idempotent booking: a client retrying `POST .../bookings` with the same `Idempotency-Key`
//! gets the booking it already made instead of a second one.
//!
//! Records are scoped per store (each store's object has its own), per owner and per key,
//! and expire after [`IDEMPOTENCY_TTL_HOURS`].

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::booking::Guest;
use super::ids::Owner;

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;

/// A valid `Idempotency-Key`: 1 to 255 printable ASCII characters (space included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a key as received (no trimming: the key is opaque to us).
    pub fn parse(key: &str) -> Result<Self, InvalidKey> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(InvalidKey::Length);
        }
        if !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(InvalidKey::Character);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidKey;
    fn try_from(s: String) -> Result<Self, InvalidKey> {
        Self::parse(&s)
    }
}

/// Why a string is not an idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKey {
    /// Empty or longer than [`MAX_KEY_LEN`].
    Length,
    /// Contains a character that is not printable ASCII.
    Character,
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidKey::Length => write!(f, "must be 1 to {MAX_KEY_LEN} characters long"),
            InvalidKey::Character => write!(f, "must contain only printable ASCII characters"),
        }
    }
}

impl std::error::Error for InvalidKey {}

/// What a store remembers about one idempotent booking request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Who sent the request (keys of different owners never clash).
    pub owner: Owner,
    /// The `Idempotency-Key`.
    pub key: String,
    /// [`fingerprint`] of the request's semantic content.
    pub fingerprint: String,
    /// The booking the request created.
    pub booking_id: String,
    /// When the booking was created.
    pub created_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// Whether the record still counts at `now` (younger than the TTL); older ones are
    /// treated as absent and may be purged.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(self.created_at) < TimeDelta::hours(IDEMPOTENCY_TTL_HOURS)
    }
}

/// Records created before this instant are expired at `now` (for purging storage).
pub fn expiry_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(TimeDelta::hours(IDEMPOTENCY_TTL_HOURS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bit: tiny, dependency-free and fixed by its definition, so fingerprints stay
/// comparable across versions of this code. Not collision-resistant against an adversary,
/// which is fine: a collision only lets a client replay its own earlier booking.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    })
}

/// A stable hash of what a booking request means: the slot start (as UTC seconds, so any
/// RFC 3339 spelling of the same instant matches), the party size and the guest.
///
/// Format: `fnv1a64:` followed by 16 lowercase hex digits. Strings are length-prefixed so
/// that no two different requests share an encoding.
pub fn fingerprint(slot_start: DateTime<Utc>, party_size: u32, guest: Option<&Guest>) -> String {
    let mut canonical = format!("v1|{}|{}|", slot_start.timestamp(), party_size);
    match guest {
        None => canonical.push('-'),
        Some(g) => {
            canonical.push_str(&format!(
                "g|{}:{}|{}:{}",
                g.name.len(),
                g.name,
                g.phone.len(),
                g.phone
            ));
        }
    }
    format!("fnv1a64:{:016x}", fnv1a64(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_is_stable_and_semantic() {
        let t = utc("2026-12-01T09:00:00Z");
        let fp = fingerprint(t, 2, None);
        // Pinned: changing the encoding would make stored records mismatch after a deploy.
        assert_eq!(
            fp,
            format!("fnv1a64:{:016x}", fnv1a64(b"v1|1796115600|2|-"))
        );
        assert_eq!(fingerprint(utc("2026-12-01T10:00:00+01:00"), 2, None), fp);
        assert_ne!(fingerprint(t, 3, None), fp);
        assert_ne!(fingerprint(utc("2026-12-01T09:30:00Z"), 2, None), fp);
        let g = |n: &str, p: &str| Guest {
            name: n.into(),
            phone: p.into(),
        };
        assert_ne!(fingerprint(t, 2, Some(&g("Ann", "1"))), fp);
        assert_ne!(
            fingerprint(t, 2, Some(&g("Ann", "12"))),
            fingerprint(t, 2, Some(&g("Ann1", "2")))
        );
        assert_eq!(
            fingerprint(t, 2, Some(&g("Ann", "1"))),
            fingerprint(t, 2, Some(&g("Ann", "1")))
        );
    }

    #[test]
    fn key_validation() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("with space ~!").is_ok());
        assert_eq!(IdempotencyKey::parse(""), Err(InvalidKey::Length));
        assert_eq!(
            IdempotencyKey::parse(&"k".repeat(256)),
            Err(InvalidKey::Length)
        );
        assert_eq!(
            IdempotencyKey::parse("tab\there"),
            Err(InvalidKey::Character)
        );
        assert_eq!(IdempotencyKey::parse("ünï"), Err(InvalidKey::Character));
        assert_eq!(IdempotencyKey::parse("\u{7f}"), Err(InvalidKey::Character));
        assert!(serde_json::from_str::<IdempotencyKey>("\"\"").is_err());
    }

    #[test]
    fn records_expire_after_24_hours() {
        let created = utc("2026-12-01T09:00:00Z");
        let rec = IdempotencyRecord {
            owner: Owner::parse("u").unwrap(),
            key: "k".into(),
            fingerprint: "f".into(),
            booking_id: "b".into(),
            created_at: created,
        };
        assert!(rec.is_live(created));
        assert!(rec.is_live(utc("2026-12-02T08:59:59Z")));
        assert!(!rec.is_live(utc("2026-12-02T09:00:00Z")));
        assert_eq!(expiry_cutoff(utc("2026-12-02T09:00:00Z")), created);
        assert_eq!(
            expiry_cutoff(DateTime::<Utc>::MIN_UTC),
            DateTime::<Utc>::MIN_UTC
        );
    }
}
