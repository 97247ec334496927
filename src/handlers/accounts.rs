//! `/api/v1/auth/*`: register, login, guest, refresh, logout.

use worker::Response;

use crate::auth::password::{self, PasswordHash};
use crate::auth::session::{self, Rotation, Session};
use crate::auth::throttle::{self, Subjects};
use crate::auth::tokens::RefreshToken;
use crate::auth::AuthConfig;
use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::user::{DeviceId, DisplayName, Email, Password, User, UserKind};
use crate::error::ApiError;
use crate::policy;
use crate::repo::users;
use crate::respond;

use safemarket_api::auth::{
    GuestRequest as GuestBody, LoginRequest as LoginBody, RefreshRequest as RefreshBody,
    RegisterRequest as RegisterBody, TokenPair,
};

/// The token pair answer shared by register, login, guest and refresh.
fn token_pair(
    config: &AuthConfig,
    session: &Session,
    refresh: &RefreshToken,
    user: Option<&User>,
) -> Result<TokenPair, ApiError> {
    let tokens = config.tokens();
    let access = tokens
        .issue(
            &session.user_id,
            &session.session_id,
            clock::unix_now().max(0) as u64,
        )
        .map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token: access,
        refresh_token: refresh.encode(),
        token_type: "Bearer".into(),
        expires_in: tokens.access_ttl,
        user: user.cloned(),
    })
}

/// Starts a session for `user` and answers its token pair with `user` (register, login, guest).
async fn signed_in(
    ctx: &Ctx,
    db: &worker::D1Database,
    config: &AuthConfig,
    user: &User,
    status: u16,
) -> Result<Response, ApiError> {
    let (session, refresh) = session::start(
        &ctx.sessions()?,
        db,
        &user.id,
        user.kind,
        clock::unix_now(),
        &clock::now_rfc3339(),
    )
    .await?;
    json_response(&token_pair(config, &session, &refresh, Some(user))?, status)
}

fn json_response(body: &impl serde::Serialize, status: u16) -> Result<Response, ApiError> {
    let resp = Response::from_json(body)?.with_status(status);
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// `POST /api/v1/auth/register`.
pub async fn register(mut ctx: Ctx) -> Result<Response, ApiError> {
    let config = AuthConfig::from_env(&ctx.env)?;
    let input: RegisterBody = body::json(&mut ctx.req).await?;
    let mut errors = Vec::new();
    let email = Email::parse(&input.email, "email")
        .map_err(|e| errors.push(e))
        .ok();
    let password = Password::parse(&input.password)
        .map_err(|e| errors.push(e))
        .ok();
    let display_name = match input.display_name.as_deref() {
        Some(raw) => DisplayName::parse(raw).map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::invalid_fields(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(errors));
    }
    let db = ctx.db()?;
    if users::by_email(&db, email.as_str()).await?.is_some() {
        return Err(ApiError::Conflict {
            slug: "email-taken",
            detail: "An account with this email exists.".into(),
        });
    }
    let hash = password::hash_new(password.as_bytes())
        .await
        .map_err(ApiError::internal)?;
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        email: Some(email.as_str().to_string()),
        kind: UserKind::Registered,
        display_name: display_name.map(|d| d.as_str().to_string()),
        created_at: clock::now_rfc3339(),
    };
    users::insert_registered(&db, &user, &hash.encode()).await?;
    signed_in(&ctx, &db, &config, &user, 201).await
}

fn client_address(ctx: &Ctx) -> Option<String> {
    ctx.req.headers().get("cf-connecting-ip").ok().flatten()
}

/// `POST /api/v1/auth/login`: 401 for unknown email and wrong password alike; 429 when
/// throttled (checked before the password, so even the right one waits).
pub async fn login(mut ctx: Ctx) -> Result<Response, ApiError> {
    let config = AuthConfig::from_env(&ctx.env)?;
    let input: LoginBody = body::json(&mut ctx.req).await?;
    let wrong = || ApiError::Unauthorized("The email or password is wrong.".into());
    // A malformed email cannot belong to an account: answer exactly as for an unknown one.
    let email = Email::parse(&input.email, "email").ok();
    let normalised = email.as_ref().map_or_else(
        || input.email.trim().to_lowercase(),
        |e| e.as_str().to_string(),
    );
    let db = ctx.db()?;
    let subjects = Subjects::new(&normalised, client_address(&ctx).as_deref());
    let now = clock::unix_now();
    let reservation = throttle::reserve(&db, &subjects, now).await?;

    let creds = match &email {
        Some(e) => users::credentials(&db, e.as_str()).await?,
        None => None,
    };
    let stored = creds
        .as_ref()
        .and_then(|c| c.password_hash.as_deref())
        .and_then(PasswordHash::parse);
    // Always derive, against a decoy for unknown emails, so timing does not tell them apart.
    let target = stored.clone().unwrap_or_else(password::decoy);
    let derived = password::derive(input.password.as_bytes(), &target.salt, target.iterations)
        .await
        .map_err(ApiError::internal)?;
    let (Some(creds), true) = (creds, stored.is_some() && target.matches(&derived)) else {
        throttle::prune(&db, now).await?;
        return Err(wrong());
    };
    throttle::forgive(&db, &subjects, reservation).await?;
    if target.needs_upgrade() {
        let upgraded = password::hash_new(input.password.as_bytes())
            .await
            .map_err(ApiError::internal)?;
        users::set_password_hash(&db, &creds.id, &upgraded.encode()).await?;
    }
    let user = users::by_id(&db, &creds.id).await?.ok_or_else(wrong)?;
    signed_in(&ctx, &db, &config, &user, 200).await
}

/// `POST /api/v1/auth/guest`: the guest user of a device (created on first use) and a session.
pub async fn guest(mut ctx: Ctx) -> Result<Response, ApiError> {
    let config = AuthConfig::from_env(&ctx.env)?;
    let input: GuestBody = body::json(&mut ctx.req).await?;
    let device = DeviceId::parse(&input.device_id, "device_id")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let now = clock::now_rfc3339();
    let db = ctx.db()?;
    let user = users::guest_for_device(&db, device.as_str(), &now).await?;
    signed_in(&ctx, &db, &config, &user, 201).await
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token; a spent one revokes the session.
pub async fn refresh(mut ctx: Ctx) -> Result<Response, ApiError> {
    let config = AuthConfig::from_env(&ctx.env)?;
    let input: RefreshBody = body::json(&mut ctx.req).await?;
    let invalid = || ApiError::Unauthorized("The refresh token is invalid or expired.".into());
    let presented = RefreshToken::parse(&input.refresh_token).ok_or_else(invalid)?;
    let rotation =
        session::rotate(&ctx.sessions()?, &ctx.db()?, &presented, clock::unix_now()).await?;
    match rotation {
        Rotation::Rotated(session, next) => {
            json_response(&token_pair(&config, &session, &next, None)?, 200)
        }
        Rotation::Invalid => Err(invalid()),
        Rotation::Reused => Err(ApiError::Unauthorized(
            "This refresh token was already used; the session has been revoked.".into(),
        )),
    }
}

/// `POST /api/v1/auth/logout`: ends the caller's session (access and refresh token).
pub async fn logout(ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    session::revoke(&ctx.sessions()?, &ctx.db()?, &user.id, &user.session_id).await?;
    respond::no_content()
}
