//! Who may do what with a store: loading the store (404) and checking roles (403).

use worker::D1Database;

use crate::auth::{AuthUser, Caller};
use crate::context::Ctx;
use crate::domain::store::{Role, StoreId, StoreRow};
use crate::error::ApiError;
use crate::repo::stores;

/// The store named by the `store_id` path parameter, or 404 (also for ids that are not UUIDs).
pub async fn store_or_404(ctx: &Ctx, db: &D1Database) -> Result<StoreRow, ApiError> {
    let id = path_store_id(ctx)?;
    stores::by_id(db, id.as_str())
        .await?
        .ok_or_else(|| no_store(id.as_str()))
}

/// The `store_id` path parameter as a store id (without asking D1 whether the store exists);
/// 404 for anything that is not a UUID.
pub fn path_store_id(ctx: &Ctx) -> Result<StoreId, ApiError> {
    let raw = ctx.param("store_id")?;
    StoreId::parse(raw).ok_or_else(|| no_store(raw))
}

fn no_store(id: &str) -> ApiError {
    ApiError::NotFound(format!("No store {id}."))
}

/// The caller's role in `store`, or 403 when they have none.
pub async fn require_member(
    db: &D1Database,
    store: &StoreRow,
    user: &AuthUser,
) -> Result<Role, ApiError> {
    stores::role_of(db, &store.id, &user.id)
        .await?
        .ok_or_else(|| ApiError::Forbidden("Only the store's owner and staff may do this.".into()))
}

/// Whether `caller` has staff-level access to `store`: one of its owner and staff, or its own
/// api key (whose scope `auth::api_keys::admit` checked for the route).
pub async fn staff_or_key(
    db: &D1Database,
    store: &StoreRow,
    caller: &Caller,
) -> Result<bool, ApiError> {
    Ok(match caller {
        Caller::Key(key) => key.store_id == store.id,
        Caller::User(user) => stores::role_of(db, &store.id, &user.id).await?.is_some(),
    })
}

/// 403 unless `caller` has staff-level access to `store` ([`staff_or_key`]).
pub async fn require_staff_or_key(
    db: &D1Database,
    store: &StoreRow,
    caller: &Caller,
) -> Result<(), ApiError> {
    if staff_or_key(db, store, caller).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only the store's owner and staff (or its api keys) may do this.".into(),
        ))
    }
}
