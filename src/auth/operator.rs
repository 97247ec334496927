//! The operators' credential: the deployment's `HEALTH_TOKEN` (a secret in production, a
//! `.dev.vars` line locally), sent as `Authorization: Bearer <token>` for deep health checks.

use subtle::ConstantTimeEq;
use worker::Env;

/// The secret (or var) that holds the token.
const TOKEN_NAME: &str = "HEALTH_TOKEN";

/// Shorter tokens are treated as unset: a deep check must not be guessable.
const MIN_TOKEN_LEN: usize = 16;

/// The deployment's token, `None` when it is unset or too short to be a secret.
pub fn configured(env: &Env) -> Option<String> {
    env.secret(TOKEN_NAME)
        .map(|s| s.to_string())
        .or_else(|_| env.var(TOKEN_NAME).map(|v| v.to_string()))
        .ok()
        .filter(|t| t.len() >= MIN_TOKEN_LEN)
}

/// Whether `authorization` is `Bearer <expected>`, compared in constant time; a missing or
/// too-short expected token never matches.
pub fn token_matches(expected: Option<&str>, authorization: Option<&str>) -> bool {
    let Some(expected) = expected.filter(|t| t.len() >= MIN_TOKEN_LEN) else {
        return false;
    };
    let Some((scheme, token)) = authorization.and_then(|v| v.trim().split_once(' ')) else {
        return false;
    };
    let token = token.trim();
    scheme.eq_ignore_ascii_case("bearer")
        && token.len() == expected.len()
        && bool::from(token.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_needs_the_exact_token() {
        let token = "0123456789abcdef0123";
        assert!(token_matches(Some(token), Some(&format!("Bearer {token}"))));
        assert!(token_matches(
            Some(token),
            Some(&format!("bearer  {token} "))
        ));
        assert!(!token_matches(
            Some(token),
            Some("Bearer 0123456789abcdef012")
        ));
        assert!(!token_matches(Some(token), Some(token)));
        assert!(!token_matches(Some(token), None));
        assert!(!token_matches(None, Some("Bearer ")));
        // A token too short to be a secret enables nothing, even when sent back exactly.
        assert!(!token_matches(Some("short"), Some("Bearer short")));
    }
}
