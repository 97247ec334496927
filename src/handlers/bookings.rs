//! Bookings of one store (served by its Durable Object) and the caller's bookings across stores
//! (from the D1 index).

use safemarket_engine::protocol::{
    Book, Cancel, CancelByCode, CheckIn, DayBookings, GetBooking, GetBookingByCode, NoShow,
    Reschedule, StoreCall,
};
use safemarket_engine::{Booking, Guest, IdempotencyKey};
use serde_json::json;
use worker::Response;

use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::booking::{booking_view, parse_date, BookingView, PartySize, SlotStart};
use crate::domain::integration::parse_guest;
use crate::domain::store::StoreRow;
use crate::error::{ApiError, FieldError};
use crate::pagination::{encode_cursor, Listing, Page};
use crate::policy::{self, Action, Caller};
use crate::repo::booking_index::{self, Scope};
use crate::respond;
use crate::store_client;

use safemarket_api::bookings::{
    BookRequest as BookBody, CheckInRequest as CheckInBody, RescheduleRequest as RescheduleBody,
};

/// A booking as the answer (200).
fn booking_response(store: &StoreRow, booking: &Booking) -> Result<Response, ApiError> {
    respond::json(&booking_view(&store.id, booking), 200)
}

async fn call<C: StoreCall>(ctx: &Ctx, store: &StoreRow, call: C) -> Result<C::Reply, ApiError> {
    store_client::call(&ctx.env, store, call).await
}

/// The slot, party size and guest of a booking request, every bad field reported at once.
/// Api keys book for a caller and must name them; users book for themselves and must not.
fn parse_booking(
    caller: &Caller,
    input: BookBody,
) -> Result<(SlotStart, PartySize, Option<Guest>), ApiError> {
    let slot_start = SlotStart::parse(&input.slot_start, "slot_start");
    let party_size = PartySize::parse(input.party_size);
    let guest = match (caller, input.guest) {
        (Caller::Key(_), Some(g)) => parse_guest(&g.name, &g.phone).map(Some),
        (Caller::Key(_), None) => Err(vec![FieldError::new(
            "guest",
            "is required when booking with an api key: {name, phone} of the caller",
        )]),
        (Caller::User(_), None) => Ok(None),
        (Caller::User(_), Some(_)) => Err(vec![FieldError::new(
            "guest",
            "is only for integrations booking for a caller; leave it out",
        )]),
    };
    match (slot_start, party_size, guest) {
        (Ok(slot_start), Ok(party_size), Ok(guest)) => Ok((slot_start, party_size, guest)),
        (slot_start, party_size, guest) => {
            let mut errors: Vec<FieldError> = [slot_start.err(), party_size.err()]
                .into_iter()
                .flatten()
                .collect();
            errors.extend(guest.err().unwrap_or_default());
            Err(ApiError::invalid_fields(errors))
        }
    }
}

/// `POST /api/v1/stores/{store_id}/bookings`: 201 new, 200 idempotent replay. Users book for
/// themselves; the store's api keys (`bookings:write`) book for a `guest`, as `key:<key id>`.
pub async fn create(mut ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::caller(&ctx).await?;
    let input: BookBody = body::json(&mut ctx.req).await?;
    let (slot_start, party_size, guest) = parse_booking(&caller, input)?;
    let idempotency_key = ctx
        .header("idempotency-key")
        .map(|raw| IdempotencyKey::parse(&raw))
        .transpose()
        .map_err(|e| ApiError::invalid("Idempotency-Key", e.to_string()))?;
    let book = Book {
        owner: caller.owner()?,
        party_size: party_size.people(),
        slot_start: slot_start.instant(),
        guest,
        idempotency_key,
    };
    // The hot path: no D1 read of the store (its object knows the zone and whether it closed).
    let (store_id, booked) = store_client::call_path_store(&ctx, book).await?;
    respond::json(
        &booking_view(store_id.as_str(), &booked.booking),
        if booked.replayed { 200 } else { 201 },
    )
}

/// `GET /api/v1/stores/{store_id}/bookings/{booking_id}`: the booking's owner, staff or the
/// store's api keys.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::caller(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::public_store(&ctx, &db).await?;
    let id = ctx.param("booking_id")?.to_string();
    let booking = call(&ctx, &store, GetBooking { id }).await?;
    policy::may_see_booking(&db, &store, &caller, &booking).await?;
    respond::json(&booking_view(&store.id, &booking), 200)
}

/// `GET /api/v1/stores/{store_id}/bookings/{booking_id}/qr.svg` (booking owner, staff): the
/// booking code as a QR code for the door.
pub async fn qr(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::caller(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::public_store(&ctx, &db).await?;
    let id = ctx.param("booking_id")?.to_string();
    let booking = call(&ctx, &store, GetBooking { id }).await?;
    policy::may_see_booking(&db, &store, &caller, &booking).await?;
    let svg = crate::qr::svg(&booking.code).map_err(|e| ApiError::internal(format!("{e:?}")))?;
    let resp = Response::ok(svg)?;
    resp.headers().set("content-type", "image/svg+xml")?;
    resp.headers()
        .set("cache-control", "private, max-age=3600")?;
    Ok(resp)
}

/// `DELETE /api/v1/stores/{store_id}/bookings/{booking_id}`: cancel; the place is free at once.
pub async fn cancel(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::caller(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::public_store(&ctx, &db).await?;
    let owner = policy::booking_owner_filter(&db, &store, &caller).await?;
    let id = ctx.param("booking_id")?.to_string();
    call(&ctx, &store, Cancel { id, owner }).await?;
    respond::no_content()
}

/// `POST /api/v1/stores/{store_id}/bookings/{booking_id}/reschedule`: atomic move.
pub async fn reschedule(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let input: RescheduleBody = body::json(&mut ctx.req).await?;
    let slot_start = SlotStart::parse(&input.slot_start, "slot_start")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let db = ctx.db()?;
    let store = policy::public_store(&ctx, &db).await?;
    let owner = policy::booking_owner_filter(&db, &store, &user).await?;
    let id = ctx.param("booking_id")?.to_string();
    let moved = call(
        &ctx,
        &store,
        Reschedule {
            id,
            owner,
            slot_start: slot_start.instant(),
        },
    )
    .await?;
    booking_response(&store, &moved)
}

/// `GET /api/v1/stores/{store_id}/bookings?date=&limit=&cursor=` (staff, the store's api
/// keys): the day's bookings by start (then id), in pages.
pub async fn day(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::caller(&ctx).await?;
    let date = parse_date(ctx.query_param("date").as_deref(), "date")
        .map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let page = Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let (after_start, after_id) = page.after_key_and_id()?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::ListDayBookings).await?;
    let bookings = call(&ctx, &store, DayBookings { date }).await?;
    // One day of one store is bounded, so the page is cut from the whole day. `slot_start` is
    // fixed-width RFC 3339, so its text order is its time order.
    let mut views: Vec<BookingView> = bookings
        .iter()
        .map(|b| booking_view(&store.id, b))
        .collect();
    views.sort_by(|a, b| (&a.slot_start, &a.id).cmp(&(&b.slot_start, &b.id)));
    views.retain(|v| (v.slot_start.as_str(), v.id.as_str()) > (&after_start, &after_id));
    let (items, next_cursor) = page.cut(views, |v| encode_cursor(&[&v.slot_start, &v.id]));
    respond::json(&Listing { items, next_cursor }, 200)
}

/// `GET /api/v1/stores/{store_id}/bookings/by-code/{code}` (staff, the store's api keys with
/// `bookings:read`): the booking a caller reads out; 404 for unknown or malformed codes.
pub async fn get_by_code(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, code) = staff_store_and_code(&ctx).await?;
    let booking = call(&ctx, &store, GetBookingByCode { code }).await?;
    booking_response(&store, &booking)
}

/// `DELETE /api/v1/stores/{store_id}/bookings/by-code/{code}` (staff, the store's api keys with
/// `bookings:write`): cancel -> 204; the place is free again at once.
pub async fn cancel_by_code(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, code) = staff_store_and_code(&ctx).await?;
    call(&ctx, &store, CancelByCode { code }).await?;
    respond::no_content()
}

/// The store of a by-code route, which the caller staffs or holds a key of, and the code.
async fn staff_store_and_code(ctx: &Ctx) -> Result<(StoreRow, String), ApiError> {
    let caller = policy::caller(ctx).await?;
    let store = policy::store(ctx, &ctx.db()?, &caller, Action::UseBookingCode).await?;
    Ok((store, ctx.param("code")?.to_string()))
}

/// `POST /api/v1/stores/{store_id}/check-ins` (staff): `{code}` -> the checked-in booking.
pub async fn check_in(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let input: CheckInBody = body::json(&mut ctx.req).await?;
    let store = policy::store(&ctx, &ctx.db()?, &user, Action::CheckIn).await?;
    let booking = call(&ctx, &store, CheckIn { code: input.code }).await?;
    booking_response(&store, &booking)
}

/// `POST /api/v1/stores/{store_id}/bookings/{booking_id}/no-show` (staff).
pub async fn no_show(ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let store = policy::store(&ctx, &ctx.db()?, &user, Action::MarkNoShow).await?;
    let id = ctx.param("booking_id")?.to_string();
    let booking = call(&ctx, &store, NoShow { id }).await?;
    booking_response(&store, &booking)
}

/// `GET /api/v1/me/bookings?scope=upcoming|past&limit=&cursor=`: from the D1 index.
pub async fn mine(ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
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
