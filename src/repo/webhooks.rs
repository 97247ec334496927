//! The `webhooks` and `webhook_deliveries` tables.

use safemarket_engine::events::EventType;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

use super::nullable;
use crate::error::ApiError;
use crate::pagination::{bad_cursor, encode_cursor, Page};

/// Most webhooks a store may have.
pub const MAX_PER_STORE: u32 = 10;
/// Delivery attempts kept per webhook (older ones are pruned as new ones are logged).
pub const DELIVERIES_KEPT: u32 = 100;

/// A webhook as stored, secret included (the handlers never show it after creation).
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookRow {
    /// Webhook id (UUID).
    pub id: String,
    /// Its store.
    pub store_id: String,
    /// Target URL (checked when it was registered and again before each delivery).
    pub url: String,
    /// Space-separated event types.
    pub events: String,
    /// `whsec_...`.
    pub secret: String,
    /// Created (UTC).
    pub created_at: String,
}

impl WebhookRow {
    /// Whether it subscribes to `event_type`.
    pub fn wants(&self, event_type: EventType) -> bool {
        safemarket_engine::events::subscribes(&self.events, event_type)
    }
}

/// One delivery attempt as logged.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryRow {
    /// Order of logging.
    pub seq: i64,
    /// The event delivered (its `webhook-id`).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// 1 for the first try.
    pub attempt: i64,
    /// The receiver's status, if it answered.
    pub status_code: Option<i64>,
    /// Why there was no answer (timeout, connection failure, refused target).
    pub error: Option<String>,
    /// When (UTC).
    pub at: String,
}

impl super::CreatedInOrder for WebhookRow {
    fn sort_key(&self) -> (&str, &str) {
        (&self.created_at, &self.id)
    }
}

const COLUMNS: &str = "id, store_id, url, events, secret, created_at";

/// Stores a new webhook unless the store has [`MAX_PER_STORE`] already; `false` then.
pub async fn insert(db: &D1Database, row: &WebhookRow) -> Result<bool, ApiError> {
    Ok(db
        .prepare(
            "INSERT INTO webhooks (id, store_id, url, events, secret, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
             WHERE (SELECT count(*) FROM webhooks WHERE store_id = ?2) < ?7
             RETURNING id",
        )
        .bind(&[
            row.id.as_str().into(),
            row.store_id.as_str().into(),
            row.url.as_str().into(),
            row.events.as_str().into(),
            row.secret.as_str().into(),
            row.created_at.as_str().into(),
            f64::from(MAX_PER_STORE).into(),
        ])?
        .first::<Value>(None)
        .await?
        .is_some())
}

/// A page of a store's webhooks, oldest first.
pub async fn of_store(
    db: &D1Database,
    store_id: &str,
    page: &Page,
) -> Result<(Vec<WebhookRow>, Option<String>), ApiError> {
    super::page_of_store(db, "webhooks", COLUMNS, store_id, page).await
}

/// Every webhook of a store (at most [`MAX_PER_STORE`]), for fanning an event out.
pub async fn all_of_store(db: &D1Database, store_id: &str) -> Result<Vec<WebhookRow>, ApiError> {
    Ok(db
        .prepare(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE store_id = ?1 ORDER BY created_at, id"
        ))
        .bind(&[store_id.into()])?
        .all()
        .await?
        .results::<WebhookRow>()?)
}

/// The webhook `id` (of any store), if it still exists.
pub async fn by_id(db: &D1Database, id: &str) -> Result<Option<WebhookRow>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))
        .bind(&[id.into()])?
        .first::<WebhookRow>(None)
        .await?)
}

/// The webhook `id` of `store_id`, if it exists.
pub async fn of_store_by_id(
    db: &D1Database,
    store_id: &str,
    id: &str,
) -> Result<Option<WebhookRow>, ApiError> {
    Ok(by_id(db, id).await?.filter(|w| w.store_id == store_id))
}

/// Deletes webhook `id` of `store_id` and its deliveries log; `false` when there is none.
pub async fn delete(db: &D1Database, store_id: &str, id: &str) -> Result<bool, ApiError> {
    Ok(db
        .prepare("DELETE FROM webhooks WHERE id = ?1 AND store_id = ?2 RETURNING id")
        .bind(&[id.into(), store_id.into()])?
        .first::<Value>(None)
        .await?
        .is_some())
}

/// One attempt to log.
pub struct Attempt<'a> {
    /// The webhook.
    pub webhook_id: &'a str,
    /// The event.
    pub event_id: &'a str,
    /// Its type.
    pub event_type: &'a str,
    /// 1-based.
    pub attempt: u32,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// Why it did not, otherwise.
    pub error: Option<&'a str>,
    /// When.
    pub at: &'a str,
}

/// Logs `attempts` (skipping webhooks deleted meanwhile) and prunes each webhook's log to
/// the newest [`DELIVERIES_KEPT`], in one batch.
pub async fn log_attempts(db: &D1Database, attempts: &[Attempt<'_>]) -> Result<(), ApiError> {
    if attempts.is_empty() {
        return Ok(());
    }
    let mut statements: Vec<D1PreparedStatement> = Vec::with_capacity(attempts.len() * 2);
    for a in attempts {
        statements.push(
            db.prepare(
                "INSERT INTO webhook_deliveries
                   (webhook_id, event_id, type, attempt, status_code, error, at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)",
            )
            .bind(&[
                a.webhook_id.into(),
                a.event_id.into(),
                a.event_type.into(),
                f64::from(a.attempt).into(),
                nullable(a.status_code.map(f64::from)),
                nullable(a.error),
                a.at.into(),
            ])?,
        );
        statements.push(
            db.prepare(
                "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND seq <= (
                   SELECT seq FROM webhook_deliveries WHERE webhook_id = ?1
                   ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
            )
            .bind(&[a.webhook_id.into(), f64::from(DELIVERIES_KEPT).into()])?,
        );
    }
    db.batch(statements).await?;
    Ok(())
}

/// A page of a webhook's logged attempts, newest first.
pub async fn deliveries(
    db: &D1Database,
    webhook_id: &str,
    page: &Page,
) -> Result<(Vec<DeliveryRow>, Option<String>), ApiError> {
    let before = match page.after.as_deref() {
        Some([seq]) => seq.parse::<i64>().map_err(|_| bad_cursor())?,
        Some(_) => return Err(bad_cursor()),
        None => i64::MAX,
    };
    let rows = db
        .prepare(
            "SELECT seq, event_id, type, attempt, status_code, error, at FROM webhook_deliveries
             WHERE webhook_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )
        .bind(&[
            webhook_id.into(),
            // Exact as f64 for every seq D1 will ever assign (< 2^53).
            (before.min(1 << 53) as f64).into(),
            page.fetch_limit().into(),
        ])?
        .all()
        .await?
        .results::<DeliveryRow>()?;
    Ok(page.cut(rows, |d| encode_cursor(&[&d.seq.to_string()])))
}
