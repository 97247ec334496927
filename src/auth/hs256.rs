//! The only signing algorithm SafeMarket uses, HS256, as jsonwebtoken's crypto backend.
//!
//! jsonwebtoken's bundled `rust_crypto` backend links every JWS algorithm (RSA, ECDSA P-256 and
//! P-384, Ed25519): about 340 KB of WebAssembly for algorithms we refuse anyway. This backend
//! answers HS256 with RustCrypto's `hmac` + `sha2` and `InvalidAlgorithm` for everything else,
//! so a token naming another algorithm is refused before any key material is touched.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;
use signature::{Signer, Verifier};

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies with one HMAC-SHA256 key.
struct Hs256(HmacSha256);

impl Hs256 {
    fn new(secret: &[u8]) -> Result<Self> {
        HmacSha256::new_from_slice(secret)
            .map(Self)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    /// Constant-time comparison (`Mac::verify_slice`).
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match algorithm {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match algorithm {
        Algorithm::HS256 => Ok(Box::new(Hs256::new(key.try_get_hmac_secret()?)?)),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // SafeMarket neither publishes nor consumes JWKs.
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes HS256-only the process's jsonwebtoken backend. Call before every encode or decode:
/// the first call installs it, later ones find it installed (jsonwebtoken keeps it in a
/// `OnceLock`, and without a backend feature it has no other to fall back to).
pub fn install() {
    // `Err` only means it is installed already, which is the point.
    let _ = HS256_ONLY.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_algorithms_are_refused() {
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            assert!(signer(&alg, &key).is_err(), "{alg:?} must be refused");
        }
        assert!(signer(&Algorithm::HS256, &key).is_ok());
    }

    #[test]
    fn matches_rfc_4231_test_case_2() {
        let mac = Hs256::new(b"Jefe").and_then(|s| {
            s.try_sign(b"what do ya want for nothing?")
                .map_err(|_| ErrorKind::InvalidSignature.into())
        });
        let hex: String = mac
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
