//! Booking codes derived from the booking's per-store number.
//!
//! A random code needs an index to find its booking by. A code that is a keyed permutation
//! of the booking's number leads back to the number, so the store object finds the booking
//! by a row-id lookup and keeps no index of these codes: one row written less per booking.
//!
//! The permutation is a Feistel network over 40 bits (two halves of 20), eight rounds with
//! SHA-256 of the store's secret key, the round and the half as the round function, narrowed
//! to the 31^8 codes by cycle walking (a value outside is permuted again until it falls
//! inside; on a permutation that always ends, on average after 1.3 steps). Without the key,
//! codes are as unpredictable as random ones, also to someone who knows the numbers and codes
//! of their own bookings; every number has its own code, so they are unique in the store.

use sha2::{Digest, Sha256};

use crate::codes::{BookingCode, CODE_ALPHABET, CODE_LEN};

/// A store's secret key for its codes (random, kept in the store object).
pub type CodeKey = [u8; 16];

/// How many codes there are: 31^8.
const SPACE: u64 = (CODE_ALPHABET.len() as u64).pow(CODE_LEN as u32);
/// Bits of each Feistel half.
const HALF_BITS: u32 = 20;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
/// Feistel rounds.
const ROUNDS: u8 = 8;
// The two halves hold every code's value.
const _: () = assert!(SPACE <= 1 << (2 * HALF_BITS));

/// The round function: 20 bits of SHA-256(key, round, half).
fn round(key: &CodeKey, round: u8, half: u64) -> u64 {
    let mut hash = Sha256::new();
    hash.update(key);
    hash.update([round]);
    hash.update(half.to_be_bytes());
    let digest = hash.finalize();
    u64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ])) & HALF_MASK
}

fn encrypt(key: &CodeKey, x: u64) -> u64 {
    let (mut left, mut right) = (x >> HALF_BITS, x & HALF_MASK);
    for i in 0..ROUNDS {
        (left, right) = (right, left ^ round(key, i, right));
    }
    (left << HALF_BITS) | right
}

fn decrypt(key: &CodeKey, x: u64) -> u64 {
    let (mut left, mut right) = (x >> HALF_BITS, x & HALF_MASK);
    for i in (0..ROUNDS).rev() {
        (left, right) = (right ^ round(key, i, left), left);
    }
    (left << HALF_BITS) | right
}

/// `step` applied until the value is a code's (cycle walking).
fn walk(key: &CodeKey, mut x: u64, step: fn(&CodeKey, u64) -> u64) -> u64 {
    loop {
        x = step(key, x);
        if x < SPACE {
            return x;
        }
    }
}

/// The code of the booking numbered `number` in the store with `key`; `None` for a number
/// outside `1..31^8`.
pub fn code_of_number(key: &CodeKey, number: i64) -> Option<BookingCode> {
    let number = u64::try_from(number)
        .ok()
        .filter(|n| (1..SPACE).contains(n))?;
    let mut value = walk(key, number, encrypt);
    let mut chars = [0u8; CODE_LEN];
    for c in chars.iter_mut().rev() {
        *c = CODE_ALPHABET[(value % CODE_ALPHABET.len() as u64) as usize];
        value /= CODE_ALPHABET.len() as u64;
    }
    crate::codes::parse_code(std::str::from_utf8(&chars).ok()?).ok()
}

/// The code of the new booking `id`: [`code_of_number`] of the number the id carries
/// ([`crate::booking_ids`]); `None` for an id that carries none.
pub fn code_of_id(key: &CodeKey, id: &str) -> Option<BookingCode> {
    code_of_number(key, crate::booking_ids::number_in_id(id)?)
}

/// The number whose code [`code_of_number`] gives `code` in the store with `key` (every code
/// has one, `0` for none: the caller still compares the stored booking's code).
pub fn number_of_code(key: &CodeKey, code: &BookingCode) -> i64 {
    let value = code.as_str().bytes().fold(0u64, |acc, b| {
        let digit = CODE_ALPHABET.iter().position(|c| *c == b).unwrap_or(0);
        acc * CODE_ALPHABET.len() as u64 + digit as u64
    });
    // Below 2^40, so it fits.
    walk(key, value, decrypt) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: CodeKey = [7; 16];

    #[test]
    fn there_are_31_to_the_8_codes() {
        assert_eq!(SPACE, 852_891_037_441);
    }

    #[test]
    fn numbers_outside_the_codes_have_none() {
        assert!(code_of_number(&KEY, 0).is_none());
        assert!(code_of_number(&KEY, -3).is_none());
        assert!(code_of_number(&KEY, SPACE as i64).is_none());
        assert!(code_of_number(&KEY, SPACE as i64 - 1).is_some());
    }

    #[test]
    fn consecutive_numbers_get_unrelated_distinct_codes() {
        let codes: std::collections::BTreeSet<String> = (1..=2000)
            .map(|n| code_of_number(&KEY, n).unwrap().as_str().to_owned())
            .collect();
        assert_eq!(codes.len(), 2000);
        // No shared prefix structure: the first character takes many values.
        let firsts: std::collections::BTreeSet<char> =
            codes.iter().filter_map(|c| c.chars().next()).collect();
        assert!(firsts.len() > 25, "{firsts:?}");
    }

    #[test]
    fn another_key_gives_other_codes() {
        let other = [8; 16];
        let same = (1..=100)
            .filter(|n| code_of_number(&KEY, *n) == code_of_number(&other, *n))
            .count();
        assert!(same < 3, "{same}");
    }

    proptest! {
        #[test]
        fn a_code_leads_back_to_its_number(key: CodeKey, number in 1i64..SPACE as i64) {
            let code = code_of_number(&key, number).unwrap();
            prop_assert_eq!(number_of_code(&key, &code), number);
        }

        #[test]
        fn feistel_rounds_invert(key: CodeKey, x in 0u64..(1 << 40)) {
            prop_assert_eq!(decrypt(&key, encrypt(&key, x)), x);
        }
    }
}
