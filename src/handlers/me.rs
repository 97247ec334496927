//! `/api/v1/me`: the caller's account and profile document.

use worker::Response;

use crate::auth::{require_user, session};
use crate::context::Ctx;
use crate::documents::{self, user_profile_key, Write};
use crate::error::ApiError;
use crate::repo::{booking_index, stores, users};
use crate::respond;
use crate::store_client;
use safemarket_durable::protocol::StoreCommand;

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
    erase_bookings(&ctx, &db, &caller.id).await?;
    documents::delete(&ctx.documents()?, &user_profile_key(&caller.id)).await?;
    users::delete(&db, &caller.id).await?;
    respond::no_content()
}

/// Cancels the user's future bookings and anonymises the past ones in every store the index
/// knows of, then unlinks the index rows. (A booking made moments before erasure that the
/// index does not show yet is anonymised when its store's outbox delivers it: the outbox
/// carries the object's state, which no longer names the user once erased there.)
async fn erase_bookings(ctx: &Ctx, db: &worker::D1Database, user_id: &str) -> Result<(), ApiError> {
    for store_id in booking_index::stores_of_user(db, user_id).await? {
        let Some(store) = stores::by_id(db, &store_id).await? else {
            continue;
        };
        let command = StoreCommand::EraseUser {
            user_id: user_id.to_string(),
        };
        store_client::call(&ctx.env, &store.id, &store.timezone, command).await?;
    }
    booking_index::forget_user(db, user_id).await
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
