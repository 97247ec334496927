//! The platform's randomness for the engine's booking codes.

use safemarket_engine::RandomSource;

/// The platform's cryptographic random source (`crypto.getRandomValues` on Workers).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn next_u64(&mut self) -> Result<u64, String> {
        let mut buf = [0u8; 8];
        getrandom::getrandom(&mut buf).map_err(|e| format!("random source failed: {e}"))?;
        Ok(u64::from_le_bytes(buf))
    }
}

/// A random tag for an object instance (its listings' entity tags start with it); the clock
/// should the random source fail, which still differs between instances.
pub fn instance_tag() -> u64 {
    OsRandom
        .next_u64()
        .unwrap_or_else(|_| chrono::Utc::now().timestamp_micros().unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use safemarket_engine::generate_code;

    #[test]
    fn produces_distinct_codes() {
        let a = generate_code(&mut OsRandom).unwrap();
        let b = generate_code(&mut OsRandom).unwrap();
        assert_ne!(a, b);
    }
}
