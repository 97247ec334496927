//! The `stores` and `store_members` tables.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

use safemarket_api::members::Membership;

use crate::domain::store::{Role, StoreRow};
use crate::error::ApiError;
use crate::geo::BoundingBox;

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
pub async fn role_of(
    db: &D1Database,
    store_id: &str,
    user_id: &str,
) -> Result<Option<Role>, ApiError> {
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

/// `COLUMNS` qualified with a table alias, for joins.
fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The bind values of the editable columns, `?1..=?9` in both INSERT and UPDATE: id, name,
/// category, address, latitude, longitude, timezone, place_id, verified.
fn editable_values(row: &StoreRow) -> Vec<JsValue> {
    vec![
        row.id.as_str().into(),
        row.name.as_str().into(),
        row.category.as_str().into(),
        row.address.as_str().into(),
        row.latitude.into(),
        row.longitude.into(),
        row.timezone.as_str().into(),
        super::nullable(row.place_id.as_deref()),
        JsValue::from(u8::from(row.verified != 0)),
    ]
}

/// Inserts a store and its owner's membership in one transaction and returns the stored row
/// (with the `legacy_id` D1 assigned). 401 when the owner's account vanished meanwhile.
pub async fn insert(db: &D1Database, row: &StoreRow) -> Result<StoreRow, ApiError> {
    let mut values = editable_values(row);
    values.extend([row.owner_id.as_str().into(), row.created_at.as_str().into()]);
    let store = db
        .prepare(
            "INSERT INTO stores (id, name, category, address, latitude, longitude, timezone,
                place_id, verified, owner_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        )
        .bind(&values)?;
    let owner = db
        .prepare(
            "INSERT INTO store_members (store_id, user_id, role, created_at)
             VALUES (?1, ?2, 'owner', ?3)",
        )
        .bind(&[
            row.id.as_str().into(),
            row.owner_id.as_str().into(),
            row.created_at.as_str().into(),
        ])?;
    let read_back = db
        .prepare(format!("SELECT {COLUMNS} FROM stores WHERE id = ?1"))
        .bind(&[row.id.as_str().into()])?;
    let results = db.batch(vec![store, owner, read_back]).await.map_err(|e| {
        if super::is_foreign_key_violation(&e) {
            ApiError::Unauthorized("This account no longer exists.".into())
        } else {
            ApiError::from(e)
        }
    })?;
    results
        .get(2)
        .map(|r| r.results::<StoreRow>())
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| ApiError::internal("inserted store not read back"))
}

/// Writes every editable column of `row` and its `updated_at`.
pub async fn update(db: &D1Database, row: &StoreRow) -> Result<(), ApiError> {
    let mut values = editable_values(row);
    values.push(row.updated_at.as_str().into());
    db.prepare(
        "UPDATE stores SET name = ?2, category = ?3, address = ?4, latitude = ?5, longitude = ?6,
            timezone = ?7, place_id = ?8, verified = ?9, updated_at = ?10
         WHERE id = ?1",
    )
    .bind(&values)?
    .run()
    .await?;
    Ok(())
}

/// Marks a store closed at `now` (a no-op when it already is).
pub async fn close(db: &D1Database, id: &str, now: &str) -> Result<(), ApiError> {
    db.prepare(
        "UPDATE stores SET closed_at = ?2, updated_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
    )
    .bind(&[id.into(), now.into()])?
    .run()
    .await?;
    Ok(())
}

/// The search candidates: open stores inside `bbox`, optionally of one category.
///
/// `closed_at IS NULL` is spelled exactly as in the partial index `stores_open_by_latitude`
/// (on `latitude, longitude`), so SQLite uses it: a range scan over the box's latitudes with
/// the longitude bounds checked in the index (`EXPLAIN QUERY PLAN` shows
/// `SEARCH stores USING INDEX stores_open_by_latitude (latitude>? AND latitude<?)`).
pub async fn in_box(
    db: &D1Database,
    bbox: &BoundingBox,
    category: Option<&str>,
) -> Result<Vec<StoreRow>, ApiError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stores
         WHERE closed_at IS NULL AND latitude BETWEEN ?1 AND ?2 AND longitude BETWEEN ?3 AND ?4
           AND (?5 IS NULL OR category = ?5)"
    );
    Ok(db
        .prepare(sql)
        .bind(&[
            bbox.min_lat.into(),
            bbox.max_lat.into(),
            bbox.min_lon.into(),
            bbox.max_lon.into(),
            super::nullable(category),
        ])?
        .all()
        .await?
        .results::<StoreRow>()?)
}

/// A store with the role of the user it was listed for.
#[derive(Deserialize)]
pub struct MemberStore {
    /// The store.
    #[serde(flatten)]
    pub store: StoreRow,
    /// The user's role in it.
    pub role: Role,
}

/// The stores `user_id` owns or staffs (closed ones included), in creation order, at most
/// `limit` after the store with `legacy_id` `after`.
pub async fn of_member(
    db: &D1Database,
    user_id: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<MemberStore>, ApiError> {
    let sql = format!(
        "SELECT {}, m.role AS role FROM store_members m JOIN stores s ON s.id = m.store_id
         WHERE m.user_id = ?1 AND s.legacy_id > ?2 ORDER BY s.legacy_id LIMIT ?3",
        columns_of("s")
    );
    Ok(db
        .prepare(sql)
        .bind(&[
            user_id.into(),
            (after as f64).into(),
            f64::from(limit).into(),
        ])?
        .all()
        .await?
        .results::<MemberStore>()?)
}

/// Whether `user_id` owns a store that is not closed.
pub async fn owns_open_store(db: &D1Database, user_id: &str) -> Result<bool, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        #[allow(dead_code)]
        one: i64,
    }
    Ok(db
        .prepare("SELECT 1 AS one FROM stores WHERE owner_id = ?1 AND closed_at IS NULL LIMIT 1")
        .bind(&[user_id.into()])?
        .first::<Row>(None)
        .await?
        .is_some())
}

/// Adds `user_id` as staff of `store_id`: 409 `already-member` when they are a member, 404
/// when the account vanished meanwhile.
pub async fn add_staff(
    db: &D1Database,
    store_id: &str,
    user_id: &str,
    now: &str,
) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO store_members (store_id, user_id, role, created_at)
         VALUES (?1, ?2, 'staff', ?3)",
    )
    .bind(&[store_id.into(), user_id.into(), now.into()])?
    .run()
    .await
    .map_err(|e| {
        if super::is_foreign_key_violation(&e) {
            ApiError::NotFound("No account with this email.".into())
        } else {
            super::conflict_or_internal(e, "already-member", "This user is already a member.")
        }
    })?;
    Ok(())
}

/// The members of `store_id` with their emails, the owner first, then by when they joined.
pub async fn members(db: &D1Database, store_id: &str) -> Result<Vec<Membership>, ApiError> {
    Ok(db
        .prepare(
            "SELECT m.store_id AS store_id, m.user_id AS user_id, u.email AS email,
                    m.role AS role, m.created_at AS created_at
             FROM store_members m JOIN users u ON u.id = m.user_id
             WHERE m.store_id = ?1
             ORDER BY m.role = 'staff', m.created_at, m.user_id",
        )
        .bind(&[store_id.into()])?
        .all()
        .await?
        .results::<Membership>()?)
}

/// Removes a staff membership (never the owner's).
pub async fn remove_staff(db: &D1Database, store_id: &str, user_id: &str) -> Result<(), ApiError> {
    db.prepare("DELETE FROM store_members WHERE store_id = ?1 AND user_id = ?2 AND role = 'staff'")
        .bind(&[store_id.into(), user_id.into()])?
        .run()
        .await?;
    Ok(())
}

/// A store by its legacy integer id (the legacy app's `locationId`).
pub async fn by_legacy_id(db: &D1Database, legacy_id: i64) -> Result<Option<StoreRow>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM stores WHERE legacy_id = ?1"))
        .bind(&[(legacy_id as f64).into()])?
        .first::<StoreRow>(None)
        .await?)
}
