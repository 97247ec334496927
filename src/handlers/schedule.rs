//! A store's schedule, slot listing and live occupancy (all served by its Durable Object).

use safemarket_engine::protocol::{GetOccupancy, PutSchedule};
use safemarket_engine::{format_utc, Schedule};
use serde_json::json;
use worker::Response;

use crate::body;
use crate::context::Ctx;
use crate::domain::booking::{booking_view, listing_range, BookingView};
use crate::error::{ApiError, FieldError};
use crate::policy::{self, Action};
use crate::respond;
use crate::store_client;

/// `PUT /api/v1/stores/{store_id}/schedule` (owner/staff): 200 with the stored schedule and the
/// existing bookings it no longer offers (they stay valid).
pub async fn put(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &user, Action::WriteSchedule).await?;
    let bytes = body::read_bytes(&mut ctx.req, body::DEFAULT_LIMIT).await?;
    let raw: serde_json::Value = body::parse(&bytes)?;
    let schedule = Schedule::from_json(&raw).map_err(|errors| {
        ApiError::invalid_fields(
            errors
                .into_iter()
                .map(|e| {
                    FieldError::new(
                        if e.field.is_empty() {
                            "body".into()
                        } else {
                            e.field
                        },
                        e.message,
                    )
                })
                .collect(),
        )
    })?;
    let changed = store_client::call(&ctx.env, &store, PutSchedule { schedule }).await?;
    let affected: Vec<BookingView> = changed
        .affected_bookings
        .iter()
        .map(|b| booking_view(&store.id, b))
        .collect();
    let mut body = serde_json::to_value(&changed.schedule).map_err(ApiError::internal)?;
    body["affected_bookings"] = serde_json::to_value(affected).map_err(ApiError::internal)?;
    respond::json(&body, 200)
}

/// `GET /api/v1/stores/{store_id}/schedule` (anyone): as stored; 404 when none yet.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let store = policy::public_store(&ctx, &ctx.db()?).await?;
    match store_client::schedule(&ctx.env, &store).await? {
        Some(schedule) => respond::json(&schedule, 200),
        None => Err(ApiError::NotFound("This store has no schedule yet.".into())),
    }
}

/// `GET /api/v1/stores/{store_id}/slots?from=&to=` (anyone): up to 31 days, any dates.
pub async fn slots(ctx: Ctx) -> Result<Response, ApiError> {
    let (from, to) = listing_range(
        ctx.query_param("from").as_deref(),
        ctx.query_param("to").as_deref(),
    )
    .map_err(ApiError::invalid_fields)?;
    // A 31-day listing at 10-minute slots has thousands of items: the object renders the JSON
    // once and it is passed through, not decoded and encoded again here.
    store_client::rendered_slots(&ctx, from, to).await
}

/// `GET /api/v1/stores/{store_id}/occupancy` (anyone): the slot in progress.
pub async fn occupancy(ctx: Ctx) -> Result<Response, ApiError> {
    // Door displays poll this: no D1 read of the store (see `store_client::call_path_store`).
    let (_, o) = store_client::call_path_store(&ctx, GetOccupancy {}).await?;
    respond::json(
        &json!({
            "slot_start": o.slot_start.map(format_utc),
            "capacity": o.capacity,
            "booked": o.booked,
            "checked_in": o.checked_in,
            "fill_status": o.fill_status,
        }),
        200,
    )
}
