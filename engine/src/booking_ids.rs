//! Booking ids that carry the booking's per-store number.
//!
//! The store object keeps a booking under its number (the SQLite row id). An id that carries
//! that number lets it find the booking by a primary-key lookup, so the id needs no index of
//! its own: one row written less per booking. Such an id is a UUID of version 8 (RFC 9562,
//! custom layout): 74 random bits, then the number in the last 48 bits. It is as unique as
//! a random UUID across stores (the random bits) and within a store (the number).
//!
//! Ids given before this layout are random version-4 UUIDs and stay valid: [`number_in_id`]
//! answers `None` for them, and the object finds them through an index of those ids alone.

use uuid::{Builder, Uuid};

/// The largest number an id can carry (48 bits).
pub const MAX_NUMBERED: i64 = (1 << 48) - 1;

/// The canonical id (lower-case, hyphenated) of the booking numbered `number`, with `random`
/// as its random bits; `Err` for a number that does not fit in 48 bits.
pub fn numbered_id(number: i64, random: [u8; 10]) -> Result<String, String> {
    if !(1..=MAX_NUMBERED).contains(&number) {
        return Err(format!("booking number {number} does not fit in an id"));
    }
    let mut bytes = [0u8; 16];
    bytes[..10].copy_from_slice(&random);
    bytes[10..].copy_from_slice(&number.to_be_bytes()[2..]);
    Ok(Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// The number a booking id carries: `Some` only for an id [`numbered_id`] made, in the
/// canonical form it has; `None` for every other string (older ids, typos, other forms).
pub fn number_in_id(id: &str) -> Option<i64> {
    let uuid = Uuid::try_parse(id).ok()?;
    if uuid.get_version_num() != 8 || uuid.get_variant() != uuid::Variant::RFC4122 {
        return None;
    }
    // Only the canonical spelling: the object stores and compares exactly that string.
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if uuid.hyphenated().encode_lower(&mut buf) != id {
        return None;
    }
    let mut number = [0u8; 8];
    number[2..].copy_from_slice(&uuid.as_bytes()[10..]);
    Some(i64::from_be_bytes(number)).filter(|n| *n >= 1)
}

/// The id of the `booking.created` event of the booking `id`, derived from it (its random
/// bits inverted): the store object builds that event from the booking's row or from the
/// outbox, maybe more than once should a flush be retried, and receivers that deduplicate
/// by event id must see one event. `None` for an id that carries no number.
pub fn creation_event_id(id: &str) -> Option<String> {
    number_in_id(id)?;
    let mut bytes = *Uuid::try_parse(id).ok()?.as_bytes();
    for byte in &mut bytes[..10] {
        *byte ^= 0xff;
    }
    Some(
        Builder::from_custom_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_carries_its_number_and_is_a_version_8_uuid() {
        for number in [1, 2, 255, 65_536, 1_000_000_007, MAX_NUMBERED] {
            let id = numbered_id(number, [0xab; 10]).unwrap();
            assert_eq!(number_in_id(&id), Some(number), "{id}");
            let uuid = Uuid::parse_str(&id).unwrap();
            assert_eq!(uuid.get_version_num(), 8);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
            // The object's SQL tells the two layouts apart by the version digit.
            assert_eq!(&id[14..15], "8");
        }
    }

    #[test]
    fn the_random_bits_make_ids_of_one_number_differ() {
        let a = numbered_id(7, [1; 10]).unwrap();
        let b = numbered_id(7, [2; 10]).unwrap();
        assert_ne!(a, b);
        assert_eq!(number_in_id(&a), number_in_id(&b));
    }

    #[test]
    fn numbers_outside_48_bits_are_refused() {
        assert!(numbered_id(0, [0; 10]).is_err());
        assert!(numbered_id(-1, [0; 10]).is_err());
        assert!(numbered_id(MAX_NUMBERED + 1, [0; 10]).is_err());
    }

    #[test]
    fn other_strings_carry_no_number() {
        let id = numbered_id(42, [0x5c; 10]).unwrap();
        for other in [
            // A random version-4 id, as given before numbered ids.
            "0d9b6f1e-3c2a-4b7d-9e8f-1a2b3c4d5e6f".to_owned(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            String::new(),
            "not-an-id".to_owned(),
            // Version 8 with the other variant bits.
            format!("{}0{}", &id[..19], &id[20..]),
        ] {
            assert_eq!(number_in_id(&other), None, "{other}");
        }
    }

    #[test]
    fn the_creation_event_id_is_a_fixed_other_uuid_of_the_booking_id() {
        let a = numbered_id(9, [0x12; 10]).unwrap();
        let b = numbered_id(9, [0x34; 10]).unwrap();
        let event = creation_event_id(&a).unwrap();
        assert_eq!(creation_event_id(&a).as_deref(), Some(event.as_str()));
        assert_ne!(event, a);
        assert_ne!(creation_event_id(&b).unwrap(), event);
        assert_eq!(Uuid::parse_str(&event).unwrap().get_version_num(), 8);
        assert_eq!(
            creation_event_id("6f1c2a56-3b5e-4c1a-9f0e-1d2c3b4a5f60"),
            None
        );
    }
}
