//! Standard Webhooks signing: secrets are `whsec_` + base64 of 32 random bytes; a delivery is
//! signed with HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` keyed with the
//! secret's decoded bytes, sent as `webhook-signature: v1,<base64>`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret from 32 random bytes.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key)?;
    Ok(format!("{SECRET_PREFIX}{}", B64.encode(key)))
}

/// The `webhook-signature` header value of `body` sent as event `id` at Unix second
/// `timestamp` with `secret`; `None` for a secret that is not `whsec_` + base64.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_have_the_prefix_and_32_bytes() {
        let s = new_secret().unwrap();
        let raw = B64.decode(s.strip_prefix(SECRET_PREFIX).unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(new_secret().unwrap(), s);
        assert!(signature("nope", "id", 1, "{}").is_none());
        assert!(signature("whsec_!!", "id", 1, "{}").is_none());
    }
}
