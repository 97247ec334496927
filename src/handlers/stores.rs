//! `/api/v1/stores` and `/api/v1/stores/{store_id}`: create, read, update, close.
//!
//! A closed store stays readable by id (with `closed: true`), is hidden from search, and is
//! read-only: PATCH, adding members and profile writes answer 409 `store-closed`. A repeated
//! DELETE answers 204 again and re-sends the close to the store's object (which is idempotent),
//! so a close that failed half-way can be completed by retrying.

use safemarket_engine::protocol::{CloseStore, RecordZone};
use serde_json::{Map, Value};
use worker::Response;

use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::store::{NewStore, StorePatch, StoreRow, StoreView};
use crate::error::ApiError;
use crate::geocoder::{self, Geocoder};
use crate::policy::{self, Action};
use crate::repo::{stores, users};
use crate::respond;
use crate::store_client;

/// Asks the geocoder (when configured) about the store's address and records the outcome;
/// 422 on `address` when the provider does not know an address the client just sent.
async fn verify_address(
    ctx: &Ctx,
    row: &mut StoreRow,
    address_is_new: bool,
) -> Result<(), ApiError> {
    let Some(geocoder) = Geocoder::from_env(&ctx.env) else {
        return Ok(());
    };
    let outcome = geocoder.lookup(&row.address, &ctx.request_id).await;
    geocoder::apply(outcome, row, address_is_new).map_err(|e| ApiError::invalid_fields(vec![e]))
}

fn view(store: &StoreRow, status: u16) -> Result<Response, ApiError> {
    respond::json(&StoreView::of(store), status)
}

/// `POST /api/v1/stores` (registered users): 201 with the store; the caller becomes its owner.
pub async fn create(mut ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::registered_user(&ctx).await?;
    let input: Map<String, Value> = body::json(&mut ctx.req).await?;
    let new = NewStore::parse(&input).map_err(ApiError::invalid_fields)?;
    let db = ctx.db()?;
    if users::by_id(&db, &caller.id).await?.is_none() {
        return Err(ApiError::Unauthorized(
            "This account no longer exists.".into(),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut row = new.into_row(&id, &caller.id, &clock::now_rfc3339());
    verify_address(&ctx, &mut row, true).await?;
    let stored = stores::insert(&db, &row).await?;
    let resp = view(&stored, 201)?;
    resp.headers()
        .set("location", &format!("/api/v1/stores/{}", stored.id))?;
    Ok(resp)
}

/// `GET /api/v1/stores/{store_id}` (anyone), closed stores included.
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let store = policy::public_store(&ctx, &ctx.db()?).await?;
    view(&store, 200)
}

/// `GET /api/v1/stores/{store_id}/poster-qr.svg` (anyone): the QR code of the store's booking
/// page, `{origin}/book/{store_id}` with the origin the request came to, for the poster at the
/// door (the staff app's "Poster"); 404 for an unknown store.
pub async fn poster_qr(ctx: Ctx) -> Result<Response, ApiError> {
    let store = policy::public_store(&ctx, &ctx.db()?).await?;
    let url = ctx.req.url()?;
    let page = format!("{}/book/{}", url.origin().ascii_serialization(), store.id);
    let svg = crate::qr::url_svg(&page).map_err(|e| ApiError::internal(format!("{e:?}")))?;
    let resp = Response::ok(svg)?;
    resp.headers().set("content-type", "image/svg+xml")?;
    resp.headers()
        .set("cache-control", "public, max-age=3600")?;
    Ok(resp)
}

/// `PATCH /api/v1/stores/{store_id}` (owner, open stores): partial update with the create
/// rules. The geocoder is asked again when the address changes or the store is not verified
/// yet.
pub async fn update(mut ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let mut store = policy::store(&ctx, &db, &caller, Action::UpdateStore).await?;
    let input: Map<String, Value> = body::json(&mut ctx.req).await?;
    let patch = StorePatch::parse(&input).map_err(ApiError::invalid_fields)?;
    let address_changed = patch.apply(&mut store);
    if address_changed || store.verified == 0 {
        verify_address(&ctx, &mut store, address_changed).await?;
    }
    store.updated_at = clock::now_rfc3339();
    stores::update(&db, &store).await?;
    // The object records the zone it is sent and the hot paths rely on it (they do not read
    // D1): every update goes on to the object, so a retried PATCH also repairs a failed one.
    store_client::call(&ctx.env, &store, RecordZone {}).await?;
    view(&store, 200)
}

/// `DELETE /api/v1/stores/{store_id}` (owner): 204; marks the store closed in D1, then tells
/// its object, which refuses new bookings and cancels the future ones.
pub async fn close(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::CloseStore).await?;
    if store.closed_at.is_none() {
        stores::close(&db, &store.id, &clock::now_rfc3339()).await?;
    }
    store_client::call(&ctx.env, &store, CloseStore {}).await?;
    respond::no_content()
}
