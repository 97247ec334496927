//! Booking codes: short, human-readable, read out on the phone or at the door.
//!
//! Eight characters from a 31-character alphabet without look-alikes (`0`/`O`, `1`/`I`/`L`)
//! give about 39.6 bits, so random codes rarely collide; uniqueness among a store's active
//! bookings is still enforced by the booking engine. The store object gives new bookings
//! codes derived from their numbers instead ([`crate::derived_codes`]), drawing a random one
//! only when that code is taken.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The characters a code is made of: digits 2-9 and letters without `I`, `L` and `O`.
pub const CODE_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a code.
pub const CODE_LEN: usize = 8;

/// A source of random 64-bit words, injected so decisions are deterministic in tests.
///
/// Every `FnMut() -> u64` closure is one (infallible); the store object supplies the platform's
/// cryptographic source (`crypto.getRandomValues` on Workers).
pub trait RandomSource {
    /// The next random word, or why none could be produced.
    fn next_u64(&mut self) -> Result<u64, String>;
}

impl<F: FnMut() -> u64> RandomSource for F {
    fn next_u64(&mut self) -> Result<u64, String> {
        Ok(self())
    }
}

/// A well-formed booking code (normalised: uppercase, no separators).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookingCode(String);

impl BookingCode {
    /// The code as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BookingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<BookingCode> for String {
    fn from(code: BookingCode) -> String {
        code.0
    }
}

impl TryFrom<String> for BookingCode {
    type Error = InvalidCode;
    fn try_from(s: String) -> Result<Self, InvalidCode> {
        parse_code(&s)
    }
}

/// Why a string is not a booking code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCode {
    /// Not [`CODE_LEN`] characters after normalisation.
    Length,
    /// Contains a character outside [`CODE_ALPHABET`].
    Character,
}

impl fmt::Display for InvalidCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidCode::Length => write!(f, "a booking code has {CODE_LEN} characters"),
            InvalidCode::Character => write!(
                f,
                "a booking code uses only the characters {}",
                String::from_utf8_lossy(CODE_ALPHABET)
            ),
        }
    }
}

impl std::error::Error for InvalidCode {}

/// Parses a code as a person types or reads it: surrounding whitespace, lowercase, and
/// spaces or hyphens inside (`"abcd-efgh"`) are accepted.
pub fn parse_code(input: &str) -> Result<BookingCode, InvalidCode> {
    let normalised: String = input
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // Check characters before length so "0O1IL..." says what is really wrong with it.
    if !normalised.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Err(InvalidCode::Character);
    }
    if normalised.len() != CODE_LEN {
        return Err(InvalidCode::Length);
    }
    Ok(BookingCode(normalised))
}

/// Largest multiple of the alphabet size that fits in a byte: bytes at or above it are
/// rejected so every character is equally likely (no modulo bias).
const ACCEPT_BELOW: u8 = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;

/// How many random words one code may consume before the source is declared broken (each
/// byte is accepted with probability 248/256, so 64 words failing is astronomically unlikely
/// for a working source).
const MAX_WORDS_PER_CODE: usize = 64;

/// A uniformly random code.
pub fn generate_code(rng: &mut dyn RandomSource) -> Result<BookingCode, String> {
    let mut code = String::with_capacity(CODE_LEN);
    for _ in 0..MAX_WORDS_PER_CODE {
        for byte in rng.next_u64()?.to_le_bytes() {
            if byte < ACCEPT_BELOW {
                let index = usize::from(byte) % CODE_ALPHABET.len();
                code.push(char::from(CODE_ALPHABET[index]));
                if code.len() == CODE_LEN {
                    return Ok(BookingCode(code));
                }
            }
        }
    }
    Err("random source keeps producing rejected values".to_owned())
}

/// A tiny deterministic generator (splitmix64) for tests.
#[cfg(test)]
pub(crate) fn splitmix(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alphabet_has_no_ambiguous_characters() {
        assert_eq!(CODE_ALPHABET.len(), 31);
        for bad in b"01OIL" {
            assert!(!CODE_ALPHABET.contains(bad), "{}", char::from(*bad));
        }
        let mut sorted = CODE_ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), 31, "no duplicates");
        assert_eq!(ACCEPT_BELOW, 248);
    }

    #[test]
    fn generated_codes_are_well_formed_and_distinct() {
        let mut rng = splitmix(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let code = generate_code(&mut rng).unwrap();
            assert_eq!(code.as_str().len(), CODE_LEN);
            assert_eq!(parse_code(code.as_str()), Ok(code.clone()));
            assert!(seen.insert(code));
        }
    }

    #[test]
    fn generation_rejects_biased_bytes() {
        // Bytes 248..=255 would map to the first 8 characters a second time: they are skipped.
        let words = [u64::from_le_bytes([255, 248, 0, 30, 31, 247, 1, 2]), 0];
        let mut i = 0;
        let mut rng = move || {
            let w = words[i % 2];
            i += 1;
            w
        };
        let code = generate_code(&mut rng).unwrap();
        // 0 -> '2', 30 -> 'Z', 31 -> '2', 247 -> 247 % 31 = 30 -> 'Z', 1 -> '3', 2 -> '4',
        // then the next word's zero bytes -> '2'.
        assert_eq!(code.as_str(), "2Z2Z3422");
    }

    #[test]
    fn broken_random_sources_fail_instead_of_looping() {
        let mut always_rejected = || u64::MAX;
        assert!(generate_code(&mut always_rejected).is_err());
        struct Failing;
        impl RandomSource for Failing {
            fn next_u64(&mut self) -> Result<u64, String> {
                Err("no entropy".into())
            }
        }
        assert_eq!(generate_code(&mut Failing), Err("no entropy".to_owned()));
    }

    #[test]
    fn parse_normalises_human_input() {
        assert_eq!(parse_code(" abcd-efgh ").unwrap().as_str(), "ABCDEFGH");
        assert_eq!(parse_code("ab cd ef gh").unwrap().as_str(), "ABCDEFGH");
        assert_eq!(parse_code("ABCDEFG"), Err(InvalidCode::Length));
        assert_eq!(parse_code("ABCDEFGHJ"), Err(InvalidCode::Length));
        assert_eq!(parse_code(""), Err(InvalidCode::Length));
        assert_eq!(parse_code("ABCDEFG0"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCDEFGO"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCDEFGI"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCDEFGL"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCDEFG1"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCDÉFGH"), Err(InvalidCode::Character));
        assert_eq!(parse_code("ABCD_EFG"), Err(InvalidCode::Character));
    }

    #[test]
    fn serde_uses_the_plain_string() {
        let code = parse_code("ABCDEFGH").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"ABCDEFGH\"");
        assert!(serde_json::from_str::<BookingCode>("\"0000\"").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics_and_accepts_only_alphabet(s in ".{0,20}") {
            if let Ok(code) = parse_code(&s) {
                prop_assert_eq!(code.as_str().len(), CODE_LEN);
                prop_assert!(code.as_str().bytes().all(|b| CODE_ALPHABET.contains(&b)));
            }
        }

        #[test]
        fn any_word_stream_gives_valid_codes(seed in any::<u64>()) {
            let code = generate_code(&mut splitmix(seed)).unwrap();
            prop_assert_eq!(parse_code(&code.as_str().to_lowercase()), Ok(code));
        }
    }

    #[test]
    fn character_frequencies_are_roughly_uniform() {
        let mut rng = splitmix(42);
        let mut counts = [0u32; 31];
        let n = 4000;
        for _ in 0..n {
            for b in generate_code(&mut rng).unwrap().as_str().bytes() {
                let i = CODE_ALPHABET.iter().position(|c| *c == b).unwrap();
                counts[i] += 1;
            }
        }
        let expected = f64::from(n * 8) / 31.0;
        for c in counts {
            // ~1032 expected per character, sd ~32: a 20 % band is > 6 sd.
            assert!(
                (f64::from(c) - expected).abs() < expected * 0.2,
                "{counts:?}"
            );
        }
    }
}
