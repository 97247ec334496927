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
