//! The `api_keys` and `external_documents` tables.

use serde::Deserialize;
use serde_json::Value;
use worker::D1Database;

use crate::error::ApiError;
use crate::pagination::Page;

/// An api key as stored, without its hash.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiKeyRow {
    /// Key id (UUID).
    pub id: String,
    /// The store it acts for.
    pub store_id: String,
    /// The owner's label.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Space-separated scope names.
    pub scopes: String,
    /// Created (UTC).
    pub created_at: String,
    /// Revoked (UTC), if it was.
    pub revoked_at: Option<String>,
}

/// A key about to be stored.
pub struct NewKey<'a> {
    /// The row (with `revoked_at` unset).
    pub row: &'a ApiKeyRow,
    /// SHA-256 of the key, hex.
    pub secret_hash: &'a str,
    /// The owner creating it.
    pub created_by: &'a str,
}

impl super::CreatedInOrder for ApiKeyRow {
    fn sort_key(&self) -> (&str, &str) {
        (&self.created_at, &self.id)
    }
}

const COLUMNS: &str = "id, store_id, name, prefix, scopes, created_at, revoked_at";

/// Stores a new key.
pub async fn insert(db: &D1Database, key: &NewKey<'_>) -> Result<(), ApiError> {
    let row = key.row;
    db.prepare(
        "INSERT INTO api_keys (id, store_id, name, prefix, secret_hash, scopes, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(&[
        row.id.as_str().into(),
        row.store_id.as_str().into(),
        row.name.as_str().into(),
        row.prefix.as_str().into(),
        key.secret_hash.into(),
        row.scopes.as_str().into(),
        key.created_by.into(),
        row.created_at.as_str().into(),
    ])?
    .run()
    .await?;
    Ok(())
}

/// The key with this hash, unless it was revoked or its store has been closed (a closed
/// store's integrations must not keep reading its guests' names and phones).
pub async fn active_by_hash(
    db: &D1Database,
    secret_hash: &str,
) -> Result<Option<ApiKeyRow>, ApiError> {
    Ok(db
        .prepare(format!(
            "SELECT {COLUMNS} FROM api_keys
             WHERE secret_hash = ?1 AND revoked_at IS NULL
               AND EXISTS (SELECT 1 FROM stores WHERE stores.id = api_keys.store_id AND closed_at IS NULL)"
        ))
        .bind(&[secret_hash.into()])?
        .first::<ApiKeyRow>(None)
        .await?)
}

/// A page of a store's keys (revoked ones included) in creation order, with the next cursor.
pub async fn of_store(
    db: &D1Database,
    store_id: &str,
    page: &Page,
) -> Result<(Vec<ApiKeyRow>, Option<String>), ApiError> {
    super::page_of_store(db, "api_keys", COLUMNS, store_id, page).await
}

/// Revokes a key of `store_id` (keeping the first revocation time); `false` when the store
/// has no such key.
pub async fn revoke(
    db: &D1Database,
    store_id: &str,
    key_id: &str,
    now: &str,
) -> Result<bool, ApiError> {
    Ok(db
        .prepare(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3)
             WHERE id = ?1 AND store_id = ?2 RETURNING id",
        )
        .bind(&[key_id.into(), store_id.into(), now.into()])?
        .first::<Value>(None)
        .await?
        .is_some())
}

/// Records that `store_id` has a partner document `source` (written by `api_key_id`), unless
/// that would make more than `max` of them; `false` then. One statement, so concurrent
/// writers of new sources cannot overshoot.
pub async fn upsert_external(
    db: &D1Database,
    store_id: &str,
    source: &str,
    api_key_id: &str,
    now: &str,
    max: u32,
) -> Result<bool, ApiError> {
    Ok(db
        .prepare(
            "INSERT INTO external_documents (store_id, source, api_key_id, updated_at)
             SELECT ?1, ?2, ?3, ?4
             WHERE EXISTS (SELECT 1 FROM external_documents WHERE store_id = ?1 AND source = ?2)
                OR (SELECT count(*) FROM external_documents WHERE store_id = ?1) < ?5
             ON CONFLICT (store_id, source)
             DO UPDATE SET api_key_id = excluded.api_key_id, updated_at = excluded.updated_at
             RETURNING source",
        )
        .bind(&[
            store_id.into(),
            source.into(),
            api_key_id.into(),
            now.into(),
            f64::from(max).into(),
        ])?
        .first::<Value>(None)
        .await?
        .is_some())
}

/// The sources of a store's partner documents, sorted.
pub async fn external_sources(db: &D1Database, store_id: &str) -> Result<Vec<String>, ApiError> {
    super::text_column(
        db,
        "SELECT source FROM external_documents WHERE store_id = ?1 ORDER BY source",
        &[store_id.into()],
        "source",
    )
    .await
}
