//! The `stores` and `store_members` tables.

use serde::Deserialize;
use worker::D1Database;

use crate::domain::store::{Role, StoreRow};
use crate::error::ApiError;

/// Every column of `stores`, in `StoreRow` order.
pub const COLUMNS: &str = "id, legacy_id, name, category, address, latitude, longitude, timezone, \
    owner_id, place_id, verified, created_at, updated_at, closed_at";

/// A store by id (closed ones included: their history stays readable).
pub async fn by_id(db: &D1Database, id: &str) -> Result<Option<StoreRow>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM stores WHERE id = ?1"))
        .bind(&[id.into()])?
        .first::<StoreRow>(None)
        .await?)
}

/// The role `user_id` holds in `store_id`, if any.
pub async fn role_of(db: &D1Database, store_id: &str, user_id: &str) -> Result<Option<Role>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        role: Role,
    }
    Ok(db
        .prepare("SELECT role FROM store_members WHERE store_id = ?1 AND user_id = ?2")
        .bind(&[store_id.into(), user_id.into()])?
        .first::<Row>(None)
        .await?
        .map(|r| r.role))
}
