//! `/api/v1/stores/{store_id}/webhooks`: the owner registers, lists and deletes the store's
//! webhooks and reads each one's deliveries log. The secret is in the create answer only.

use safemarket_api::webhooks::{CreateWebhook, Delivery, Webhook};
use worker::{D1Database, Response};

use safemarket_engine::events::EventType;

use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::store::StoreRow;
use crate::error::{ApiError, FieldError};
use crate::notify::{signing, targets};
use crate::pagination::{Listing, Page};
use crate::policy::{self, Action};
use crate::repo::webhooks::{self as repo, DeliveryRow, WebhookRow, MAX_PER_STORE};
use crate::respond;

/// The webhook as listed (never its secret), in the shared wire shape.
fn webhook_view(row: &WebhookRow) -> Webhook {
    Webhook {
        id: row.id.clone(),
        url: row.url.clone(),
        events: row
            .events
            .split(' ')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.created_at.clone(),
        secret: None,
    }
}

/// One logged attempt, in the shared wire shape.
fn delivery_view(row: &DeliveryRow) -> Delivery {
    Delivery {
        event_id: row.event_id.clone(),
        kind: row.event_type.clone(),
        attempt: u32::try_from(row.attempt).unwrap_or(u32::MAX),
        status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
        error: row.error.clone(),
        at: row.at.clone(),
    }
}

/// The subscribed event types, in the API's order without repeats; at least one.
fn parse_events(raw: &[String]) -> Result<Vec<EventType>, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(
            "events",
            "must name at least one event type",
        ));
    }
    let mut wanted = Vec::new();
    for name in raw {
        let t: EventType = name.parse().map_err(|_| {
            FieldError::new(
                "events",
                format!(
                    "unknown event type {name:?}; known: {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            )
        })?;
        wanted.push(t);
    }
    Ok(EventType::ALL
        .into_iter()
        .filter(|t| wanted.contains(t))
        .collect())
}

async fn owned_store(ctx: &Ctx, action: Action) -> Result<(StoreRow, D1Database), ApiError> {
    let caller = policy::user(ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(ctx, &db, &caller, action).await?;
    Ok((store, db))
}

/// The `webhook_id` path parameter of a webhook of `store`; 404 otherwise.
async fn path_webhook(
    ctx: &Ctx,
    db: &D1Database,
    store: &StoreRow,
) -> Result<WebhookRow, ApiError> {
    let raw = ctx.param("webhook_id")?;
    let not_found = || ApiError::NotFound(format!("This store has no webhook {raw}."));
    let id = uuid::Uuid::parse_str(raw)
        .map_err(|_| not_found())?
        .hyphenated()
        .to_string();
    repo::of_store_by_id(db, &store.id, &id)
        .await?
        .ok_or_else(not_found)
}

/// `POST /api/v1/stores/{store_id}/webhooks` (owner) `{url, events}`: 201 `{id, url, events,
/// secret, created_at}`; 422 for a target that is not public https or unknown event types;
/// 409 `webhook-limit` past [`MAX_PER_STORE`].
pub async fn create(mut ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db) = owned_store(&ctx, Action::CreateWebhook).await?;
    let input: CreateWebhook = body::json(&mut ctx.req).await?;
    let url = targets(&ctx.env)
        .check(input.url.trim())
        .map_err(|m| FieldError::new("url", m));
    let (url, events) = match (url, parse_events(&input.events)) {
        (Ok(url), Ok(events)) => (url, events),
        (url, events) => {
            let errors = [url.err(), events.err()].into_iter().flatten().collect();
            return Err(ApiError::invalid_fields(errors));
        }
    };
    let secret = signing::new_secret().map_err(ApiError::internal)?;
    let row = WebhookRow {
        id: uuid::Uuid::new_v4().to_string(),
        store_id: store.id.clone(),
        url: url.as_str().to_string(),
        events: events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        secret,
        created_at: clock::now_rfc3339(),
    };
    if !repo::insert(&db, &row).await? {
        return Err(ApiError::Conflict {
            slug: "webhook-limit",
            detail: format!("A store can have at most {MAX_PER_STORE} webhooks."),
        });
    }
    let created = Webhook {
        secret: Some(row.secret.clone()),
        ..webhook_view(&row)
    };
    let resp = respond::json(&created, 201)?;
    // The only time the secret is ever sent: keep it out of every cache.
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// `GET /api/v1/stores/{store_id}/webhooks?limit=&cursor=` (owner): oldest first, without
/// secrets.
pub async fn list(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db) = owned_store(&ctx, Action::ListWebhooks).await?;
    let page = Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let (rows, next_cursor) = repo::of_store(&db, &store.id, &page).await?;
    respond::json(
        &Listing {
            items: rows.iter().map(webhook_view).collect(),
            next_cursor,
        },
        200,
    )
}

/// `DELETE /api/v1/stores/{store_id}/webhooks/{webhook_id}` (owner): 204; queued retries
/// find it gone and deliver nothing more.
pub async fn delete(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db) = owned_store(&ctx, Action::DeleteWebhook).await?;
    let hook = path_webhook(&ctx, &db, &store).await?;
    repo::delete(&db, &store.id, &hook.id).await?;
    respond::no_content()
}

/// `GET /api/v1/stores/{store_id}/webhooks/{webhook_id}/deliveries?limit=&cursor=` (owner):
/// the recent attempts, newest first.
pub async fn deliveries(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db) = owned_store(&ctx, Action::ListWebhooks).await?;
    let hook = path_webhook(&ctx, &db, &store).await?;
    let page = Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let (rows, next_cursor) = repo::deliveries(&db, &hook.id, &page).await?;
    respond::json(
        &Listing {
            items: rows.iter().map(delivery_view).collect(),
            next_cursor,
        },
        200,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_known_deduplicated_and_ordered() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_events(&names(&[
                "waitlist.offered",
                "booking.created",
                "booking.created"
            ]))
            .unwrap(),
            vec![EventType::BookingCreated, EventType::WaitlistOffered]
        );
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&names(&["booking.*"])).is_err());
    }
}
