//! D1 access, one module per table group. Handlers call these; SQL lives only here.

pub mod api_keys;
pub mod booking_index;
pub mod calendar_feeds;
pub mod stores;
pub mod users;
pub mod webhooks;

use serde::de::DeserializeOwned;
use worker::D1Database;

use crate::error::ApiError;
use crate::pagination::{encode_cursor, Page};

/// Whether a D1 error is a UNIQUE constraint violation (a conflict, not a failure).
pub fn is_unique_violation(e: &worker::Error) -> bool {
    e.to_string().contains("UNIQUE constraint failed")
}

/// Maps a D1 error to 409 `slug` when it is a UNIQUE violation, to 500 otherwise.
pub fn conflict_or_internal(e: worker::Error, slug: &'static str, detail: &str) -> ApiError {
    if is_unique_violation(&e) {
        ApiError::Conflict {
            slug,
            detail: detail.to_string(),
        }
    } else {
        ApiError::from(e)
    }
}

/// Whether a D1 error is a FOREIGN KEY violation (a row it refers to is gone, or rows still
/// refer to the one being deleted).
pub fn is_foreign_key_violation(e: &worker::Error) -> bool {
    e.to_string().contains("FOREIGN KEY constraint failed")
}

/// A D1 parameter for an optional value: `NULL` when absent (D1 rejects `undefined`).
pub fn nullable<T: Into<wasm_bindgen::JsValue>>(value: Option<T>) -> wasm_bindgen::JsValue {
    value.map(Into::into).unwrap_or(wasm_bindgen::JsValue::NULL)
}

/// The text values of `column` in the rows `sql` returns (for lists of ids and names).
pub async fn text_column(
    db: &worker::D1Database,
    sql: &str,
    args: &[wasm_bindgen::JsValue],
    column: &str,
) -> Result<Vec<String>, ApiError> {
    let rows = db
        .prepare(sql)
        .bind(args)?
        .all()
        .await?
        .results::<serde_json::Map<String, serde_json::Value>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|mut row| match row.remove(column) {
            Some(serde_json::Value::String(text)) => Some(text),
            _ => None,
        })
        .collect())
}

/// A row of a per-store list kept in creation order: its `(created_at, id)` sort key.
pub trait CreatedInOrder {
    /// `created_at` and `id`, the keyset a page continues after.
    fn sort_key(&self) -> (&str, &str);
}

/// A page of `table`'s rows of `store_id` (the `columns` given) in `(created_at, id)` order,
/// with the next page's cursor: the keyset pagination every per-store list shares.
pub async fn page_of_store<T: DeserializeOwned + CreatedInOrder>(
    db: &D1Database,
    table: &str,
    columns: &str,
    store_id: &str,
    page: &Page,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let (after_created, after_id) = page.after_key_and_id()?;
    let rows = db
        .prepare(format!(
            "SELECT {columns} FROM {table} WHERE store_id = ?1
               AND (created_at > ?2 OR (created_at = ?2 AND id > ?3))
             ORDER BY created_at, id LIMIT ?4"
        ))
        .bind(&[
            store_id.into(),
            after_created.into(),
            after_id.into(),
            page.fetch_limit().into(),
        ])?
        .all()
        .await?
        .results::<T>()?;
    Ok(page.cut(rows, |row| {
        let (created_at, id) = row.sort_key();
        encode_cursor(&[created_at, id])
    }))
}
