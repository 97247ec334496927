//! Access tokens (JWT HS256) and refresh tokens (opaque, random, stored hashed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of an access token in seconds.
pub const ACCESS_TTL_SECS: u64 = 15 * 60;
/// A var that shortens the access-token lifetime to this many seconds. For black-box tests of
/// the staff app's refresh before expiry, which cannot wait 15 minutes; only the test harness
/// passes it, never wrangler.toml or a deployment.
pub const ACCESS_TTL_VAR: &str = "ACCESS_TOKEN_TTL_SECONDS";
/// The shortest lifetime [`ACCESS_TTL_VAR`] may set (seconds).
pub const MIN_ACCESS_TTL_SECS: u64 = 10;
/// Lifetime of a session (and its refresh token) in seconds.
pub const SESSION_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// The shortest signing key accepted (bytes).
pub const MIN_SECRET_LEN: usize = 32;

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id (checked against KV on every request).
    pub sid: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Who signs and who may accept tokens.
pub struct TokenConfig<'a> {
    /// HMAC key.
    pub secret: &'a [u8],
    /// `iss` claim.
    pub issuer: &'a str,
    /// `aud` claim.
    pub audience: &'a str,
    /// Lifetime of the access tokens it signs (seconds).
    pub access_ttl: u64,
}

/// The access-token lifetime for the value of [`ACCESS_TTL_VAR`] (`None`: unset): a whole number
/// of seconds from [`MIN_ACCESS_TTL_SECS`] up to [`ACCESS_TTL_SECS`]; anything else, and unset,
/// is the full [`ACCESS_TTL_SECS`] (the var can only shorten it).
pub fn access_ttl(var: Option<&str>) -> u64 {
    var.and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (MIN_ACCESS_TTL_SECS..=ACCESS_TTL_SECS).contains(s))
        .unwrap_or(ACCESS_TTL_SECS)
}

impl TokenConfig<'_> {
    /// Signs an access token for `user_id` in session `sid`, issued at `now` (Unix seconds).
    pub fn issue(&self, user_id: &str, sid: &str, now: u64) -> Result<String, String> {
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: sid.to_string(),
            iat: now,
            exp: now + self.access_ttl,
            iss: self.issuer.to_string(),
            aud: self.audience.to_string(),
        };
        super::hs256::install();
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret),
        )
        .map_err(|e| e.to_string())
    }

    /// Verifies signature (HS256 only: `none` and every other algorithm are refused), expiry
    /// (no leeway), issuer and audience.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        super::hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[self.issuer]);
        validation.set_audience(&[self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        decode::<AccessClaims>(token, &DecodingKey::from_secret(self.secret), &validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// A refresh token as handed to the client: `<user id>.<session id>.<secret>`. The ids let the
/// server find the session; only the secret's hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// Owner of the session.
    pub user_id: String,
    /// Session id.
    pub session_id: String,
    /// 256 random bits, base64url.
    pub secret: String,
}

impl RefreshToken {
    /// A new token for a session with a fresh random secret.
    pub fn generate(user_id: &str, session_id: &str) -> Result<Self, String> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
        Ok(RefreshToken {
            user_id: user_id.to_string(),
            session_id: session_id.to_string(),
            secret: B64URL.encode(bytes),
        })
    }

    /// Parses the client's form; `None` when it cannot be ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split('.');
        let user_id = parts.next()?;
        let session_id = parts.next()?;
        let secret = parts.next()?;
        let id_ok = |s: &str| uuid::Uuid::parse_str(s).is_ok();
        if parts.next().is_some() || !id_ok(user_id) || !id_ok(session_id) || secret.len() != 43 {
            return None;
        }
        Some(RefreshToken {
            user_id: user_id.to_string(),
            session_id: session_id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// The client's form.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.user_id, self.session_id, self.secret)
    }

    /// SHA-256 of the secret, hex: what the session stores.
    pub fn secret_hash(&self) -> String {
        sha256_hex(self.secret.as_bytes())
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn config() -> TokenConfig<'static> {
        TokenConfig {
            secret: SECRET,
            issuer: "https://safemarket.dev",
            audience: "safemarket-api",
            access_ttl: ACCESS_TTL_SECS,
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn issued_token_verifies_with_all_claims() {
        let t = config().issue("user-1", "sid-1", now()).unwrap();
        let c = config().verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.sid.as_str()), ("user-1", "sid-1"));
        assert_eq!(c.exp - c.iat, ACCESS_TTL_SECS);
        assert_eq!(c.iss, "https://safemarket.dev");
        assert_eq!(c.aud, "safemarket-api");
    }

    #[test]
    fn the_test_var_only_shortens_the_lifetime() {
        assert_eq!(access_ttl(None), ACCESS_TTL_SECS);
        assert_eq!(access_ttl(Some("20")), 20);
        assert_eq!(access_ttl(Some(" 60 ")), 60);
        for refused in ["", "abc", "-5", "0", "9", "901", "1e3", "20.5"] {
            assert_eq!(access_ttl(Some(refused)), ACCESS_TTL_SECS, "{refused:?}");
        }
        let short = TokenConfig {
            access_ttl: 20,
            ..config()
        };
        let c = short
            .verify(&short.issue("u", "s", now()).unwrap())
            .unwrap();
        assert_eq!(c.exp - c.iat, 20);
    }

    #[test]
    fn expired_token_is_refused() {
        let t = config()
            .issue("u", "s", now() - ACCESS_TTL_SECS - 1)
            .unwrap();
        assert!(config().verify(&t).is_none());
    }

    #[test]
    fn wrong_key_audience_or_issuer_is_refused() {
        let t = config().issue("u", "s", now()).unwrap();
        let other_key = TokenConfig {
            secret: b"another-secret-another-secret-xx",
            ..config()
        };
        assert!(other_key.verify(&t).is_none());
        let other_aud = TokenConfig {
            audience: "someone-else",
            ..config()
        };
        assert!(other_aud.verify(&t).is_none());
        let other_iss = TokenConfig {
            issuer: "https://evil.example",
            ..config()
        };
        assert!(other_iss.verify(&t).is_none());
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let claims = serde_json::json!({"sub": "u", "sid": "s", "iat": now(), "exp": now() + 60,
            "iss": "https://safemarket.dev", "aud": "safemarket-api"});
        let payload = B64URL.encode(claims.to_string());
        let none = format!(
            "{}.{payload}.",
            B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert!(config().verify(&none).is_none());
        // Signed by hand: the HS256-only backend cannot produce it, which is the point.
        let signing_input = format!(
            "{}.{payload}",
            B64URL.encode(r#"{"alg":"HS512","typ":"JWT"}"#)
        );
        let mut mac = <hmac::Hmac<sha2::Sha512> as hmac::Mac>::new_from_slice(SECRET).unwrap();
        hmac::Mac::update(&mut mac, signing_input.as_bytes());
        let signature = B64URL.encode(hmac::Mac::finalize(mac).into_bytes());
        let hs512 = format!("{signing_input}.{signature}");
        assert!(config().verify(&hs512).is_none());
        assert!(config().verify("garbage").is_none());
    }

    #[test]
    fn refresh_token_round_trips_and_hashes() {
        let uid = uuid::Uuid::new_v4().to_string();
        let sid = uuid::Uuid::new_v4().to_string();
        let t = RefreshToken::generate(&uid, &sid).unwrap();
        let parsed = RefreshToken::parse(&t.encode()).unwrap();
        assert_eq!(parsed, t);
        assert_eq!(t.secret_hash().len(), 64);
        assert_ne!(
            t.secret_hash(),
            RefreshToken::generate(&uid, &sid).unwrap().secret_hash()
        );
        assert!(RefreshToken::parse("a.b.c").is_none());
        assert!(RefreshToken::parse(&format!("{uid}.{sid}")).is_none());
    }
}
