//! `/api/v1/me`: the caller's account and profile document.

use worker::Response;

use crate::auth::session;
use crate::clock;
use crate::context::Ctx;
use crate::documents::{self, user_profile_key, Write};
use crate::error::ApiError;
use crate::policy;
use crate::repo::{booking_index, stores, users};
use crate::respond;
use crate::store_client;
use safemarket_engine::protocol::EraseUser;
use safemarket_engine::UserId;

/// `GET /api/v1/me`.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let user = users::by_id(&ctx.db()?, &caller.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("This account no longer exists.".into()))?;
    Ok(Response::from_json(&user)?)
}

/// `DELETE /api/v1/me`: erases the account. Refused (409 `owns-stores`) before anything is
/// deleted while the caller owns an open store.
///
/// The order makes erasure complete whatever runs concurrently, and retryable until it
/// answers 204:
/// 1. a tombstone in D1: from now on no store object writes a booking of this user back into
///    D1; each erases such bookings in its store instead (see the object's index flush);
/// 2. every store the index knows of erases the user's bookings (future ones cancelled,
///    past ones anonymised); bookings the index does not show yet are caught by step 1;
/// 3. the profile document;
/// 4. one D1 transaction: the user row, every session row (from then on no token of the user
///    works anywhere), the index links and the email's login-throttle rows;
/// 5. the sessions' KV records, and the profile once more, in case a write admitted before
///    step 4 landed after step 3.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    if stores::owns_open_store(&db, &caller.id).await? {
        return Err(users::owns_stores());
    }
    users::tombstone(&db, &caller.id, clock::unix_now()).await?;
    erase_bookings(&ctx, &db, &caller.id).await?;
    let documents = ctx.documents()?;
    let profile = user_profile_key(&caller.id);
    documents::delete(&documents, &profile).await?;
    let sessions = users::delete(&db, &caller.id).await?;
    session::forget_records(&ctx.sessions()?, &caller.id, &sessions).await?;
    documents::delete(&documents, &profile).await?;
    respond::no_content()
}

/// Cancels the user's future bookings and anonymises the past ones in every store the index
/// knows of (a few stores at a time).
async fn erase_bookings(ctx: &Ctx, db: &worker::D1Database, user_id: &str) -> Result<(), ApiError> {
    let user = UserId::parse(user_id)
        .ok_or_else(|| ApiError::internal(format!("user id {user_id:?} is malformed")))?;
    let user = &user;
    let store_ids = booking_index::stores_of_user(db, user_id).await?;
    store_client::fan_out(&store_ids, |store_id| async move {
        let Some(store) = stores::by_id(db, store_id).await? else {
            return Ok(());
        };
        store_client::call(&ctx.env, &store, EraseUser { user: user.clone() })
            .await
            .map(|_| ())
    })
    .await
    .map(|_| ())
}

/// `GET /api/v1/me/profile`.
pub async fn get_profile(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let doc = documents::load(&ctx.documents()?, &user_profile_key(&caller.id)).await?;
    documents::respond(&doc)
}

/// `PUT /api/v1/me/profile` (replace) and `PATCH` (JSON Merge Patch).
pub async fn write_profile(mut ctx: Ctx, mode: Write) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let kv = ctx.documents()?;
    let key = user_profile_key(&caller.id);
    let doc = documents::write(&mut ctx.req, &kv, &key, mode).await?;
    // Erasure may have ended the session while this write was under way: then the document
    // must not outlive the account (erasure deletes it again after the sessions, so one of
    // the two deletes comes after this write).
    if policy::user(&ctx).await.is_err() {
        documents::delete(&kv, &key).await?;
        return Err(ApiError::Unauthorized(
            "The session has ended; sign in again.".into(),
        ));
    }
    documents::respond(&doc)
}
