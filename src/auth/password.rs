//! Password hashing: PBKDF2-HMAC-SHA256 through the runtime's WebCrypto, stored as a
//! self-describing string so the parameters can be raised later (re-hash on next login).

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Iterations for new hashes: Cloudflare's production WebCrypto caps PBKDF2 at 100,000.
pub const ITERATIONS: u32 = 100_000;
/// Salt length in bytes.
pub const SALT_LEN: usize = 16;
/// Derived key length in bytes.
pub const HASH_LEN: usize = 32;
const ALGORITHM: &str = "pbkdf2-sha256";

/// A parsed stored hash: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 iteration count used for this hash.
    pub iterations: u32,
    /// Per-user random salt.
    pub salt: Vec<u8>,
    /// Derived key.
    pub hash: Vec<u8>,
}

impl PasswordHash {
    /// Parses the stored form; `None` for anything else (unknown algorithm, bad encoding).
    pub fn parse(stored: &str) -> Option<Self> {
        let mut parts = stored.split('$');
        if parts.next()? != ALGORITHM {
            return None;
        }
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = B64.decode(parts.next()?).ok()?;
        let hash = B64.decode(parts.next()?).ok()?;
        if parts.next().is_some() || iterations == 0 || salt.is_empty() || hash.is_empty() {
            return None;
        }
        Some(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        format!(
            "{ALGORITHM}${}${}${}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.hash)
        )
    }

    /// Compares a freshly derived key with this hash in constant time.
    pub fn matches(&self, derived: &[u8]) -> bool {
        self.hash.len() == derived.len() && bool::from(self.hash.as_slice().ct_eq(derived))
    }

    /// Whether this hash uses weaker parameters than new hashes (upgrade on next login).
    pub fn needs_upgrade(&self) -> bool {
        self.iterations != ITERATIONS || self.salt.len() < SALT_LEN || self.hash.len() != HASH_LEN
    }
}

/// Derives the PBKDF2-HMAC-SHA256 key through `crypto.subtle.deriveBits`.
#[cfg(target_arch = "wasm32")]
pub async fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<Vec<u8>, String> {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let err = |e: JsValue| format!("webcrypto: {e:?}");
    let crypto: web_sys::Crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(err)?
        .dyn_into()
        .map_err(err)?;
    let subtle = crypto.subtle();
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let key_data = Uint8Array::from(password);
    let key_promise = subtle
        .import_key_with_str("raw", &key_data, "PBKDF2", false, &usages)
        .map_err(err)?;
    let key: web_sys::CryptoKey = JsFuture::from(key_promise)
        .await
        .map_err(err)?
        .dyn_into()
        .map_err(err)?;
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"PBKDF2".into()).map_err(err)?;
    Reflect::set(&params, &"hash".into(), &"SHA-256".into()).map_err(err)?;
    Reflect::set(&params, &"salt".into(), &Uint8Array::from(salt)).map_err(err)?;
    Reflect::set(&params, &"iterations".into(), &JsValue::from(iterations)).map_err(err)?;
    let bits_promise = subtle
        .derive_bits_with_object(&params, &key, (HASH_LEN * 8) as u32)
        .map_err(err)?;
    let bits = JsFuture::from(bits_promise).await.map_err(err)?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// Native builds (unit tests, clippy) have no WebCrypto; nothing native derives keys.
#[cfg(not(target_arch = "wasm32"))]
pub async fn derive(_password: &[u8], _salt: &[u8], _iterations: u32) -> Result<Vec<u8>, String> {
    Err("PBKDF2 runs on the Workers runtime only".into())
}

/// Hashes a new password with fresh salt and the current parameters.
pub async fn hash_new(password: &[u8]) -> Result<PasswordHash, String> {
    let mut salt = vec![0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| e.to_string())?;
    let hash = derive(password, &salt, ITERATIONS).await?;
    Ok(PasswordHash {
        iterations: ITERATIONS,
        salt,
        hash,
    })
}

/// A fixed hash to verify against when the email is unknown, so that unknown emails and wrong
/// passwords take the same time and give the same answer.
pub fn decoy() -> PasswordHash {
    PasswordHash {
        iterations: ITERATIONS,
        salt: vec![0x5a; SALT_LEN],
        hash: vec![0; HASH_LEN],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        let h = PasswordHash {
            iterations: ITERATIONS,
            salt: (0u8..16).collect(),
            hash: vec![7; 32],
        };
        let s = h.encode();
        assert!(s.starts_with("pbkdf2-sha256$100000$"));
        assert_eq!(PasswordHash::parse(&s), Some(h.clone()));
        assert!(!h.needs_upgrade());
    }

    #[test]
    fn foreign_or_broken_forms_are_rejected() {
        for bad in [
            "",
            "bcrypt$10$abc$def",
            "pbkdf2-sha256$x$AAAA$AAAA",
            "pbkdf2-sha256$0$AAAA$AAAA",
            "pbkdf2-sha256$1000$!!$AAAA",
            "pbkdf2-sha256$1000$AAAA$AAAA$extra",
            "pbkdf2-sha256$1000$$AAAA",
        ] {
            assert_eq!(PasswordHash::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn weaker_parameters_need_upgrade() {
        let old = PasswordHash {
            iterations: 10_000,
            salt: vec![1; 16],
            hash: vec![2; 32],
        };
        assert!(old.needs_upgrade());
    }

    #[test]
    fn comparison_needs_equal_length_and_bytes() {
        let h = decoy();
        assert!(h.matches(&[0; HASH_LEN]));
        assert!(!h.matches(&[0; HASH_LEN - 1]));
        let mut other = [0u8; HASH_LEN];
        other[31] = 1;
        assert!(!h.matches(&other));
    }
}
