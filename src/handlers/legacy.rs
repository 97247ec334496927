//! The legacy customer app's six endpoints, on top of the same stores, schedules and per-store
//! Durable Objects as the v1 API (no second booking store). Devices are guest users; bad or
//! missing parameters answer 400 as the old backend did.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join;
use safemarket_engine::protocol::{Book, CancelByNumber, NumberedBooking, OwnerBookings};
use safemarket_engine::zone::Tz;
use safemarket_engine::{current_slot, local_rfc3339, wall_instant, Schedule};
use safemarket_engine::{Owner, UserId};
use serde_json::json;
use worker::{D1Database, Response};

use crate::clock;
use crate::context::Ctx;
use crate::domain::legacy::{default_zone, parse_id, parse_time, Location};
use crate::domain::store::StoreRow;
use crate::domain::user::DeviceId;
use crate::error::ApiError;
use crate::geo;
use crate::repo::{booking_index, stores, users};
use crate::respond;
use crate::store_client;

/// Most locations one search returns (each needs its object's schedule and occupancy).
const SEARCH_LIMIT: usize = 50;
/// Most windows one `GetReservationPerSlot` answer holds.
const MAX_WINDOWS: usize = 1440;

fn bad(param: &str, message: &str) -> ApiError {
    ApiError::bad_field(param, message)
}

async fn tz_of(ctx: &Ctx, store: &StoreRow) -> Result<Tz, ApiError> {
    crate::zones::zone(&ctx.env, &store.timezone).await
}

/// The guest user of a device as the owner of its bookings.
fn device_owner(user_id: &str) -> Result<Owner, ApiError> {
    UserId::parse(user_id)
        .map(Owner::User)
        .ok_or_else(|| ApiError::internal(format!("guest user id {user_id:?} is malformed")))
}

fn device(ctx: &Ctx) -> Result<DeviceId, ApiError> {
    let raw = ctx.query_param("deviceId").unwrap_or_default();
    DeviceId::parse(&raw, "deviceId").map_err(|e| bad(&e.field, &e.message))
}

/// The location object: schedule and current fill status from the store's object.
async fn location(ctx: &Ctx, store: &StoreRow) -> Result<Location, ApiError> {
    let (schedule, occupancy) = join(
        store_client::schedule(&ctx.env, store),
        store_client::occupancy(&ctx.env, store),
    )
    .await;
    let (schedule, fill) = (schedule?, occupancy?.fill_status);
    Ok(Location::new(
        store,
        schedule.as_ref(),
        tz_of(ctx, store).await?,
        fill,
        clock::now(),
    ))
}

/// The location objects of `stores`, in order, a few stores' objects at a time.
async fn locations(ctx: &Ctx, stores: &[&StoreRow]) -> Result<Vec<Location>, ApiError> {
    store_client::fan_out(stores, |store| location(ctx, store)).await
}

/// An open store by the `locationId` parameter (400 when it is not a positive integer), or the
/// given error.
async fn store_by_legacy(
    db: &D1Database,
    raw: Option<&str>,
    missing: impl Fn() -> ApiError,
) -> Result<StoreRow, ApiError> {
    let id = parse_id(raw).ok_or_else(|| bad("locationId", "must be a positive integer"))?;
    open_store(db, id, missing).await
}

/// The open store with `legacy_id`, or the given error.
async fn open_store(
    db: &D1Database,
    legacy_id: i64,
    missing: impl Fn() -> ApiError,
) -> Result<StoreRow, ApiError> {
    stores::by_legacy_id(db, legacy_id)
        .await?
        .filter(|s| s.closed_at.is_none())
        .ok_or_else(missing)
}

/// `GET /api/Location/{id}`: 404 for every id that names no open store, integer or not (the
/// contract's only error for this path).
pub async fn get_location(ctx: Ctx) -> Result<Response, ApiError> {
    let raw = ctx.param("id")?.to_string();
    let missing = || ApiError::NotFound(format!("No location {raw}."));
    let id = parse_id(Some(&raw)).ok_or_else(missing)?;
    let db = ctx.db()?;
    let store = open_store(&db, id, missing).await?;
    respond::json(&location(&ctx, &store).await?, 200)
}

/// `GET /api/Location/SearchRegistered?type=&longitude=&latitude=&radiusInMeters=`.
pub async fn search(ctx: Ctx) -> Result<Response, ApiError> {
    let number = |name: &str| {
        ctx.query_param(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let lat = number("latitude")
        .filter(|v| (-90.0..=90.0).contains(v))
        .ok_or_else(|| bad("latitude", "must be between -90 and 90"))?;
    let lon = number("longitude")
        .filter(|v| (-180.0..=180.0).contains(v))
        .ok_or_else(|| bad("longitude", "must be between -180 and 180"))?;
    let radius = number("radiusInMeters")
        .filter(|v| *v >= 1.0 && *v <= 50_000.0)
        .ok_or_else(|| bad("radiusInMeters", "must be between 1 and 50000"))?;
    let category = ctx.query_param("type").map(|t| t.trim().to_lowercase());
    let category = match category.as_deref() {
        Some(c @ ("supermarket" | "bakery" | "pharmacy")) => c.to_string(),
        _ => return Err(bad("type", "must be supermarket, bakery or pharmacy")),
    };
    let bbox = geo::bounding_box(lat, lon, radius);
    let rows = stores::in_box(&ctx.db()?, &bbox, Some(&category)).await?;
    let candidates = rows
        .into_iter()
        .map(|r| (r.latitude, r.longitude, r))
        .collect();
    let page = geo::nearest_page(
        (lat, lon),
        radius,
        candidates,
        |s: &StoreRow| s.id.as_str(),
        None,
        SEARCH_LIMIT,
    );
    let stores: Vec<&StoreRow> = page.items.iter().map(|(_, store)| store).collect();
    let locations = locations(&ctx, &stores).await?;
    respond::json(&json!({"locations": locations}), 200)
}

/// `GET /api/Location/GetReservationPerSlot?locationId=&startTime=&slotSizeInMinutes=`: people
/// booked per window from `startTime` to that day's closing time.
pub async fn reservations_per_slot(ctx: Ctx) -> Result<Response, ApiError> {
    let db = ctx.db()?;
    let store = store_by_legacy(&db, ctx.query_param("locationId").as_deref(), || {
        bad("locationId", "unknown location")
    })
    .await?;
    let tz = tz_of(&ctx, &store).await?;
    let step = parse_id(ctx.query_param("slotSizeInMinutes").as_deref())
        .filter(|m| *m <= 1440)
        .ok_or_else(|| bad("slotSizeInMinutes", "must be an integer from 1 to 1440"))?;
    let start = ctx
        .query_param("startTime")
        .and_then(|raw| parse_time(&raw, tz))
        .ok_or_else(|| bad("startTime", "must be a date-time like 2026-12-01T10:00:00"))?;
    let date = start.with_timezone(&tz).date_naive();
    let Some(schedule) = store_client::schedule(&ctx.env, &store).await? else {
        return respond::json(&json!({"items": []}), 200);
    };
    let closing = schedule
        .intervals_on(date)
        .iter()
        .filter_map(|i| wall_instant(tz, date, i.close()))
        .max();
    let booked = store_client::slots(&ctx.env, &store, date, date).await?;
    let step = Duration::minutes(step);
    let mut items = Vec::new();
    let mut window = start;
    while closing.is_some_and(|c| window < c) && items.len() < MAX_WINDOWS {
        let end = window + step;
        let count: u32 = booked
            .iter()
            .filter(|s| s.start >= window && s.start < end)
            // Places held for the waiting list are taken as far as the app can tell.
            .map(|s| s.booked + s.held)
            .sum();
        items.push(json!({"start": local_rfc3339(window, tz), "end": local_rfc3339(end, tz), "registrationCount": count}));
        window = end;
    }
    respond::json(&json!({"items": items}), 200)
}

/// The start of the slot of `schedule` that contains `at`, not only one starting there (the
/// app sends the moment the shopper picked): the engine's slot in progress at `at`.
fn slot_containing(schedule: &Schedule, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    current_slot(schedule, tz, at).map(|slot| slot.start)
}

/// `POST /api/Reservation/Reserve?locationId=&dateTime=&deviceId=`: one person in the slot that
/// contains `dateTime`; 400 when closed or full, 404 for an unknown location.
pub async fn reserve(ctx: Ctx) -> Result<Response, ApiError> {
    let device = device(&ctx)?;
    let db = ctx.db()?;
    let store = store_by_legacy(&db, ctx.query_param("locationId").as_deref(), || {
        ApiError::NotFound("Unknown location.".into())
    })
    .await?;
    let tz = tz_of(&ctx, &store).await?;
    let at = ctx
        .query_param("dateTime")
        .and_then(|raw| parse_time(&raw, tz))
        .ok_or_else(|| bad("dateTime", "must be a date-time like 2026-12-01T10:00:00"))?;
    let schedule = store_client::schedule(&ctx.env, &store).await?;
    let slot_start = schedule
        .as_ref()
        .and_then(|s| slot_containing(s, tz, at))
        .ok_or_else(|| bad("dateTime", "the store is closed at that time"))?;
    let user = users::guest_for_device(&db, device.as_str(), &clock::now_rfc3339()).await?;
    let book = Book {
        owner: device_owner(&user.id)?,
        party_size: 1,
        slot_start,
        guest: None,
        idempotency_key: None,
    };
    // Answered once the index has the booking, so the app's next `ReservationsByDevice`
    // finds the store (the index is written by the store's object alone).
    let booked = match store_client::call_indexed(&ctx.env, &store, book).await {
        Ok(booked) => booked,
        Err(e) if (400..500).contains(&e.status()) => return Err(bad("dateTime", &e.detail())),
        Err(e) => return Err(e),
    };
    let booking = booked.booking;
    respond::json(
        &json!({"humanReadableToken": booking.code, "reservationToken": booking.id}),
        200,
    )
}

/// `GET /api/Reservation/ReservationsByDevice?deviceId=&minDate=`: the device's bookings starting
/// at or after `minDate` (Berlin wall time when offset-less; now when absent).
pub async fn by_device(ctx: Ctx) -> Result<Response, ApiError> {
    let device = device(&ctx)?;
    let from = match ctx.query_param("minDate") {
        Some(raw) => parse_time(&raw, default_zone()).ok_or_else(|| {
            bad(
                "minDate",
                "must be a date-time like 2026-12-01 08:00:00.000",
            )
        })?,
        None => clock::now(),
    };
    let db = ctx.db()?;
    let Some(user) = users::by_device(&db, device.as_str()).await? else {
        return respond::json(&json!({"reservations": []}), 200);
    };
    let store_ids = booking_index::stores_of_user(&db, &user.id).await?;
    let found = store_client::fan_out(&store_ids, |store_id| {
        reservations_at(&ctx, &db, store_id, &user.id, &device, from)
    })
    .await?;
    let mut reservations: Vec<_> = found.into_iter().flatten().collect();
    reservations.sort_by_key(|(start, _)| *start);
    let reservations: Vec<_> = reservations.into_iter().map(|(_, r)| r).collect();
    respond::json(&json!({"reservations": reservations}), 200)
}

/// The device's bookings in one store from `from` on, each with its start for sorting.
async fn reservations_at(
    ctx: &Ctx,
    db: &D1Database,
    store_id: &str,
    owner: &str,
    device: &DeviceId,
    from: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, serde_json::Value)>, ApiError> {
    let Some(store) = stores::by_id(db, store_id).await? else {
        return Ok(Vec::new());
    };
    let tz = tz_of(ctx, &store).await?;
    let owner = device_owner(owner)?;
    let items = store_client::call(&ctx.env, &store, OwnerBookings { owner, from }).await?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let location = location(ctx, &store).await?;
    Ok(items
        .into_iter()
        .map(|NumberedBooking { number, booking }| {
            (
                booking.slot_start,
                json!({"id": number, "startTime": local_rfc3339(booking.slot_start, tz), "deviceId": device.as_str(), "location": location}),
            )
        })
        .collect())
}

/// `DELETE /api/Reservation/RevokeSpecificReservation?deviceId=&locationId=&reservationId=`:
/// cancels that device's booking; 200 with an empty body.
pub async fn revoke(ctx: Ctx) -> Result<Response, ApiError> {
    let device = device(&ctx)?;
    let number = parse_id(ctx.query_param("reservationId").as_deref())
        .ok_or_else(|| bad("reservationId", "must be a positive integer"))?;
    let db = ctx.db()?;
    let store = store_by_legacy(&db, ctx.query_param("locationId").as_deref(), || {
        ApiError::NotFound("Unknown location.".into())
    })
    .await?;
    let not_found = || ApiError::NotFound("No such reservation for this device.".into());
    let user = users::by_device(&db, device.as_str())
        .await?
        .ok_or_else(not_found)?;
    let command = CancelByNumber {
        number,
        owner: device_owner(&user.id)?,
    };
    // The cancellation reaches the index through the store object's outbox.
    match store_client::call(&ctx.env, &store, command).await {
        Ok(_) => {}
        Err(e) if e.status() == 404 => return Err(not_found()),
        Err(e) if (400..500).contains(&e.status()) => {
            return Err(bad("reservationId", &e.detail()))
        }
        Err(e) => return Err(e),
    }
    Ok(Response::empty()?.with_status(200))
}
