//! Bookings of one store (served by its Durable Object) and the caller's bookings across stores
//! (from the D1 index).

use safemarket_durable::protocol::{StoreCommand, StoreReply};
use serde::Deserialize;
use serde_json::json;
use worker::Response;

use crate::access::{require_member, role_in, store_or_404};
use crate::auth::{require_user, AuthUser};
use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::booking::{parse_date, BookingView, PartySize, SlotStart};
use crate::domain::store::StoreRow;
use crate::error::ApiError;
use crate::repo::booking_index::{self, Scope};
use crate::respond;
use crate::store_client;

#[derive(Deserialize)]
struct BookBody {
    slot_start: String,
    #[serde(default)]
    party_size: Option<i64>,
}

#[derive(Deserialize)]
struct RescheduleBody {
    slot_start: String,
}

#[derive(Deserialize)]
struct CheckInBody {
    code: String,
}

fn unexpected(reply: StoreReply) -> ApiError {
    ApiError::internal(format!("unexpected store reply {reply:?}"))
}

/// The booking of a single-booking reply as a response with `status`.
fn booking_response(
    store: &StoreRow,
    reply: StoreReply,
    status: u16,
) -> Result<Response, ApiError> {
    match reply {
        StoreReply::Booking { booking } => {
            respond::json(&BookingView::new(&store.id, &booking), status)
        }
        other => Err(unexpected(other)),
    }
}

async fn call(ctx: &Ctx, store: &StoreRow, command: StoreCommand) -> Result<StoreReply, ApiError> {
    store_client::call(&ctx.env, &store.id, &store.timezone, command).await
}

/// `None` for staff (any booking of the store), `Some(caller)` for customers (own only).
async fn owner_constraint(
    ctx: &Ctx,
    store: &StoreRow,
    user: &AuthUser,
) -> Result<Option<String>, ApiError> {
    let db = ctx.db()?;
    Ok(match role_in(&db, store, user).await? {
        Some(_) => None,
        None => Some(user.id.clone()),
    })
}

/// `POST /api/v1/stores/{store_id}/bookings`: 201 new, 200 idempotent replay.
pub async fn create(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let input: BookBody = body::json(&mut ctx.req).await?;
    let slot_start = SlotStart::parse(&input.slot_start, "slot_start")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let party_size =
        PartySize::parse(input.party_size).map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let idempotency_key = ctx.header("idempotency-key");
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    let command = StoreCommand::Book {
        owner: user.id.clone(),
        party_size: party_size.0,
        slot_start: slot_start.0,
        guest: None,
        idempotency_key,
    };
    match call(&ctx, &store, command).await? {
        StoreReply::Booked {
            booking, replayed, ..
        } => respond::json(
            &BookingView::new(&store.id, &booking),
            if replayed { 200 } else { 201 },
        ),
        other => Err(unexpected(other)),
    }
}

/// `GET /api/v1/stores/{store_id}/bookings/{booking_id}`: the booking's owner or staff.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    let id = ctx.param("booking_id")?.to_string();
    let reply = call(&ctx, &store, StoreCommand::GetBooking { id }).await?;
    let StoreReply::Booking { booking } = reply else {
        return Err(unexpected(reply));
    };
    let own = booking.owner.as_deref() == Some(user.id.as_str());
    if !own && role_in(&db, &store, &user).await?.is_none() {
        // Other people's bookings do not exist for a customer.
        return Err(ApiError::NotFound("No such booking.".into()));
    }
    respond::json(&BookingView::new(&store.id, &booking), 200)
}

/// `DELETE /api/v1/stores/{store_id}/bookings/{booking_id}`: cancel; the place is free at once.
pub async fn cancel(ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    let owner = owner_constraint(&ctx, &store, &user).await?;
    let id = ctx.param("booking_id")?.to_string();
    call(&ctx, &store, StoreCommand::Cancel { id, owner }).await?;
    respond::no_content()
}

/// `POST /api/v1/stores/{store_id}/bookings/{booking_id}/reschedule`: atomic move.
pub async fn reschedule(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let input: RescheduleBody = body::json(&mut ctx.req).await?;
    let slot_start = SlotStart::parse(&input.slot_start, "slot_start")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    let owner = owner_constraint(&ctx, &store, &user).await?;
    let id = ctx.param("booking_id")?.to_string();
    let reply = call(
        &ctx,
        &store,
        StoreCommand::Reschedule {
            id,
            owner,
            slot_start: slot_start.0,
        },
    )
    .await?;
    booking_response(&store, reply, 200)
}

/// `GET /api/v1/stores/{store_id}/bookings?date=` (staff): the day's bookings by start.
pub async fn day(ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let date = parse_date(ctx.query_param("date").as_deref(), "date")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    require_member(&db, &store, &user).await?;
    match call(&ctx, &store, StoreCommand::DayBookings { date }).await? {
        StoreReply::Bookings { items } => {
            let items: Vec<BookingView> = items
                .iter()
                .map(|b| BookingView::new(&store.id, b))
                .collect();
            respond::json(&json!({"items": items, "next_cursor": null}), 200)
        }
        other => Err(unexpected(other)),
    }
}

/// `POST /api/v1/stores/{store_id}/check-ins` (staff): `{code}` -> the checked-in booking.
pub async fn check_in(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let input: CheckInBody = body::json(&mut ctx.req).await?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    require_member(&db, &store, &user).await?;
    let reply = call(&ctx, &store, StoreCommand::CheckIn { code: input.code }).await?;
    booking_response(&store, reply, 200)
}

/// `POST /api/v1/stores/{store_id}/bookings/{booking_id}/no-show` (staff).
pub async fn no_show(ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let db = ctx.db()?;
    let store = store_or_404(&ctx, &db).await?;
    require_member(&db, &store, &user).await?;
    let id = ctx.param("booking_id")?.to_string();
    let reply = call(&ctx, &store, StoreCommand::NoShow { id }).await?;
    booking_response(&store, reply, 200)
}

/// `GET /api/v1/me/bookings?scope=upcoming|past&limit=&cursor=`: from the D1 index.
pub async fn mine(ctx: Ctx) -> Result<Response, ApiError> {
    let user = require_user(&ctx).await?;
    let scope = match ctx.query_param("scope").as_deref() {
        None | Some("upcoming") => Scope::Upcoming,
        Some("past") => Scope::Past,
        Some(_) => return Err(ApiError::invalid("scope", "must be upcoming or past")),
    };
    let page = crate::pagination::Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let (items, next_cursor) =
        booking_index::of_user(&ctx.db()?, &user.id, scope, &clock::now_rfc3339(), &page).await?;
    respond::json(&json!({"items": items, "next_cursor": next_cursor}), 200)
}
