//! Api keys: the principal of integrations (a store's phone system, partner teams).
//!
//! A key is `smk_` + 256 random bits (base64url), shown once at creation and stored only as its
//! SHA-256. Every request whose bearer token starts with `smk_` is authenticated here before
//! any handler runs ([`authenticate`], called by `policy::admit`): the key is looked up by hash
//! in D1 (unknown or revoked: 401, so a revocation takes effect on the next request) and
//! counted against the key's rate limit (429). `policy` then checks it against the route (its
//! own store, its scopes: 403), and handlers see it as [`Ctx::api_key`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use safemarket_durable::limiter::{AdmitRequest, Decision, ADMIT_URL};
use worker::Env;

use super::tokens::sha256_hex;
use crate::context::{bindings, Ctx};
use crate::domain::integration::{ApiKey, Scopes};
use crate::error::ApiError;
use crate::objects;
use crate::repo::api_keys::{self, ApiKeyRow};

/// What every api key starts with (and what tells it apart from an access token).
pub const KEY_PREFIX: &str = "smk_";
/// Random bytes in a key.
const SECRET_BYTES: usize = 32;
/// Length of a whole key: the prefix and 32 bytes in unpadded base64url.
const KEY_LEN: usize = KEY_PREFIX.len() + 43;
/// How much of a key listings show (`smk_` + 8 characters).
const SHOWN_PREFIX_LEN: usize = KEY_PREFIX.len() + 8;
/// Requests per key per 60 s when `API_KEY_RATE_PER_MINUTE` is unset or unusable.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 120;
/// The largest configurable rate (the limiter keeps one timestamp per admitted request).
const MAX_RATE_PER_MINUTE: u32 = 100_000;

/// A freshly generated key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The whole key, shown to the owner once.
    pub key: String,
    /// Its first characters, stored and listed.
    pub prefix: String,
    /// Its SHA-256 (hex), the only form stored.
    pub hash: String,
}

/// A new random key.
pub fn generate() -> Result<NewSecret, String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
    let key = format!("{KEY_PREFIX}{}", B64URL.encode(bytes));
    Ok(NewSecret {
        prefix: key[..SHOWN_PREFIX_LEN].to_string(),
        hash: hash(&key),
        key,
    })
}

/// The stored form of a key.
pub fn hash(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

/// Whether `key` has the shape of one of our keys (checked before touching D1).
pub fn well_formed(key: &str) -> bool {
    key.len() == KEY_LEN
        && key.starts_with(KEY_PREFIX)
        && key[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The api key in an `Authorization` header value, if it carries one (`Bearer smk_...`).
/// Anything else (no header, access tokens, other schemes) is left to the handlers.
pub fn key_in_header(value: Option<&str>) -> Option<&str> {
    let (scheme, token) = value?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && token.starts_with(KEY_PREFIX)).then_some(token)
}

/// The requests per 60 s a key may make: `API_KEY_RATE_PER_MINUTE` when it is an integer in
/// `1..=100000`, otherwise the default.
pub fn rate_per_minute(raw: Option<&str>) -> u32 {
    raw.and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| (1..=MAX_RATE_PER_MINUTE).contains(n))
        .unwrap_or(DEFAULT_RATE_PER_MINUTE)
}

/// The key of a stored row; a row without a known scope is corrupted data (500), never a key
/// that may do nothing.
fn key_of(row: ApiKeyRow) -> Result<ApiKey, ApiError> {
    let scopes = Scopes::from_db(&row.scopes)
        .ok_or_else(|| ApiError::internal(format!("api key {} has no known scope", row.id)))?;
    Ok(ApiKey {
        id: row.id,
        store_id: row.store_id,
        scopes,
    })
}

/// Authenticates a request made with an api key, before its handler runs: 401 for an unknown
/// or revoked key, else records it in `ctx.api_key` (so the request log names it, 429s
/// included) and counts it against the key's rate limit (429). Requests without a key pass
/// untouched.
pub async fn authenticate(ctx: &mut Ctx) -> Result<(), ApiError> {
    let Some(token) = key_in_header(ctx.header("authorization").as_deref()).map(String::from)
    else {
        return Ok(());
    };
    let unknown = || ApiError::Unauthorized("The api key is unknown or revoked.".into());
    if !well_formed(&token) {
        return Err(unknown());
    }
    let row = api_keys::active_by_hash(&ctx.db()?, &hash(&token))
        .await?
        .ok_or_else(unknown)?;
    let key = ctx.api_key.insert(key_of(row)?);
    let limit = rate_per_minute(
        ctx.env
            .var("API_KEY_RATE_PER_MINUTE")
            .ok()
            .map(|v| v.to_string())
            .as_deref(),
    );
    let decision = count_request(&ctx.env, &key.id, limit).await;
    if !decision.allowed {
        return Err(ApiError::TooManyRequests {
            retry_after: decision.retry_after_secs,
            detail: format!(
                "This api key may make {limit} requests per 60 seconds; retry after {} s.",
                decision.retry_after_secs
            ),
        });
    }
    Ok(())
}

/// Asks the key's limiter object whether one more request may pass. When the limiter itself
/// fails the request passes (and the failure is logged): an outage of the counter must not
/// take the phone hotline down with it.
async fn count_request(env: &Env, key_id: &str, limit: u32) -> Decision {
    let asked = async {
        let namespace = env.durable_object(bindings::KEY_LIMITER)?;
        let stub = namespace.id_from_name(key_id)?.get_stub()?;
        objects::post_json::<_, Decision>(&stub, ADMIT_URL, &AdmitRequest { limit }).await
    };
    match asked.await {
        Ok(decision) => decision,
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "rate limiter unavailable",
                    "api_key_id": key_id, "cause": e.to_string()})
            );
            Decision {
                allowed: true,
                remaining: 0,
                retry_after_secs: 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_random_and_stored_hashed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.key, b.key);
        assert!(well_formed(&a.key), "{}", a.key);
        assert!(a.key.starts_with(&a.prefix) && a.prefix.len() == 12);
        assert_eq!(a.hash, hash(&a.key));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.key[4..]));
    }

    #[test]
    fn only_well_formed_keys_reach_the_database() {
        let k = generate().unwrap().key;
        assert!(well_formed(&k));
        assert!(!well_formed(&k[..k.len() - 1]));
        assert!(!well_formed(&format!("{k}x")));
        assert!(!well_formed(&k.replacen("smk_", "smx_", 1)));
        assert!(!well_formed(&format!("smk_{}", "!".repeat(43))));
    }

    #[test]
    fn keys_are_found_only_in_bearer_headers() {
        assert_eq!(key_in_header(Some("Bearer smk_abc")), Some("smk_abc"));
        assert_eq!(key_in_header(Some("bearer   smk_abc ")), Some("smk_abc"));
        assert_eq!(key_in_header(Some("Bearer eyJhbGciOi")), None);
        assert_eq!(key_in_header(Some("Basic smk_abc")), None);
        assert_eq!(key_in_header(Some("smk_abc")), None);
        assert_eq!(key_in_header(None), None);
    }

    #[test]
    fn rate_comes_from_the_variable_when_usable() {
        assert_eq!(rate_per_minute(None), DEFAULT_RATE_PER_MINUTE);
        assert_eq!(rate_per_minute(Some("5")), 5);
        assert_eq!(rate_per_minute(Some(" 300 ")), 300);
        for bad in ["0", "-1", "lots", "", "100001"] {
            assert_eq!(rate_per_minute(Some(bad)), DEFAULT_RATE_PER_MINUTE, "{bad}");
        }
    }
}
