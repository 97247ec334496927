//! Authentication: who is calling, from the `Authorization: Bearer` header (access tokens
//! with their sessions, api keys, the operators' health token). What a caller may do is
//! decided in `crate::policy`, which builds on this module; this module never asks it.

pub mod api_keys;
pub mod hs256;
pub mod operator;
pub mod password;
pub mod public_limit;
pub mod session;
pub mod throttle;
pub mod tokens;

use worker::Env;

use crate::context::Ctx;
use crate::domain::user::UserKind;
use crate::error::ApiError;
use safemarket_engine::{Owner, UserId};
use tokens::{TokenConfig, ACCESS_TTL_VAR, MIN_SECRET_LEN};

/// Token signing settings read from the environment once per request.
pub struct AuthConfig {
    secret: Vec<u8>,
    issuer: String,
    audience: String,
    access_ttl: u64,
}

impl AuthConfig {
    /// Reads `JWT_SECRET` (a secret in production, `.dev.vars` locally), `JWT_ISSUER`,
    /// `JWT_AUDIENCE` and the test-only [`ACCESS_TTL_VAR`]. Without a usable secret no request that needs tokens is served.
    pub fn from_env(env: &Env) -> Result<Self, ApiError> {
        let secret = env
            .secret("JWT_SECRET")
            .map(|s| s.to_string())
            .or_else(|_| env.var("JWT_SECRET").map(|v| v.to_string()))
            .ok()
            .filter(|s| s.len() >= MIN_SECRET_LEN);
        let Some(secret) = secret else {
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "JWT_SECRET is missing or shorter than 32 bytes"})
            );
            return Err(ApiError::Unavailable(
                "Authentication is not configured on this server.".into(),
            ));
        };
        let var = |name: &str, default: &str| {
            env.var(name)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| default.to_string())
        };
        Ok(AuthConfig {
            secret: secret.into_bytes(),
            issuer: var("JWT_ISSUER", "https://safemarket.dev"),
            audience: var("JWT_AUDIENCE", "safemarket-api"),
            access_ttl: tokens::access_ttl(
                env.var(ACCESS_TTL_VAR)
                    .ok()
                    .map(|v| v.to_string())
                    .as_deref(),
            ),
        })
    }

    /// The token signer/verifier.
    pub fn tokens(&self) -> TokenConfig<'_> {
        TokenConfig {
            secret: &self.secret,
            issuer: &self.issuer,
            audience: &self.audience,
            access_ttl: self.access_ttl,
        }
    }
}

/// An authenticated user (by access token with a live session).
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: String,
    /// Session id of the token.
    pub session_id: String,
    /// Registered or guest.
    pub kind: UserKind,
}

impl AuthUser {
    /// The user as the owner of bookings.
    pub fn owner(&self) -> Result<Owner, ApiError> {
        UserId::parse(&self.id).map(Owner::User).ok_or_else(|| {
            ApiError::internal(format!("session user id {:?} is malformed", self.id))
        })
    }
}

/// The bearer token of the request, if any; a malformed `Authorization` header is a 401.
pub fn bearer(ctx: &Ctx) -> Result<Option<String>, ApiError> {
    let Some(value) = ctx.req.headers().get("authorization").ok().flatten() else {
        return Ok(None);
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::Unauthorized(
            "Use an Authorization: Bearer <token> header.".into(),
        ));
    }
    Ok(Some(token.to_string()))
}

/// The user whose access token the request carries, with a live session: 401 without a
/// bearer token, for a malformed header, an invalid or expired token and an ended session.
/// Whether that user may do what they ask is `policy`'s question.
pub async fn signed_in_user(ctx: &Ctx) -> Result<AuthUser, ApiError> {
    let token = bearer(ctx)?
        .ok_or_else(|| ApiError::Unauthorized("Sign in to use this resource.".into()))?;
    user_from_token(ctx, &token).await
}

async fn user_from_token(ctx: &Ctx, token: &str) -> Result<AuthUser, ApiError> {
    let config = AuthConfig::from_env(&ctx.env)?;
    let claims = config
        .tokens()
        .verify(token)
        .ok_or_else(|| ApiError::Unauthorized("The access token is invalid or expired.".into()))?;
    let session = session::load(
        &ctx.sessions()?,
        &ctx.db()?,
        &claims.sub,
        &claims.sid,
        crate::clock::unix_now(),
    )
    .await?
    .ok_or_else(|| ApiError::Unauthorized("The session has ended; sign in again.".into()))?;
    Ok(AuthUser {
        id: session.user_id,
        session_id: session.session_id,
        kind: session.kind,
    })
}
