//! `/api/v1/me`: the caller's account and profile document.

use worker::Response;

use crate::auth::{require_user, session};
use crate::context::Ctx;
use crate::documents::{self, user_profile_key, Write};
use crate::error::ApiError;
use crate::repo::{stores, users};
use crate::respond;

/// `GET /api/v1/me`.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = require_user(&ctx).await?;
    let user = users::by_id(&ctx.db()?, &caller.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("This account no longer exists.".into()))?;
    Ok(Response::from_json(&user)?)
}

/// `DELETE /api/v1/me`: erases the account: sessions, profile document, user row. Refused
/// (409 `owns-stores`) before anything is deleted while the caller owns an open store.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = require_user(&ctx).await?;
    let db = ctx.db()?;
    if stores::owns_open_store(&db, &caller.id).await? {
        return Err(users::owns_stores());
    }
    // Sessions first: once the row is gone nothing may still act as this user.
    session::revoke_all(&ctx.sessions()?, &caller.id).await?;
    documents::delete(&ctx.documents()?, &user_profile_key(&caller.id)).await?;
    users::delete(&db, &caller.id).await?;
    respond::no_content()
}

/// `GET /api/v1/me/profile`.
pub async fn get_profile(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = require_user(&ctx).await?;
    let doc = documents::load(&ctx.documents()?, &user_profile_key(&caller.id)).await?;
    documents::respond(&doc)
}

/// `PUT /api/v1/me/profile` (replace) and `PATCH` (JSON Merge Patch).
pub async fn write_profile(mut ctx: Ctx, mode: Write) -> Result<Response, ApiError> {
    let caller = require_user(&ctx).await?;
    let kv = ctx.documents()?;
    let doc = documents::write(&mut ctx.req, &kv, &user_profile_key(&caller.id), mode).await?;
    documents::respond(&doc)
}
