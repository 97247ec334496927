//! Store lists: nearby search (`GET /api/v1/stores`) and the caller's stores
//! (`GET /api/v1/me/stores`).

use worker::Response;

use crate::context::Ctx;
use crate::domain::search::SearchQuery;
use crate::domain::store::{Category, StoreRow, StoreView};
use crate::error::ApiError;
use crate::geo;
use crate::pagination::{self, Listing, Page};
use crate::policy;
use crate::repo::stores;
use crate::respond;

fn store_id(store: &StoreRow) -> &str {
    &store.id
}

/// `GET /api/v1/stores?lat=&lon=&radius_m=&category=&limit=&cursor=` (anyone): open stores
/// within the radius, nearest first (ties by id), each with `distance_m`.
pub async fn search(ctx: Ctx) -> Result<Response, ApiError> {
    let query = SearchQuery::parse(|name| ctx.query_param(name))?;
    let origin = (query.lat.degrees(), query.lon.degrees());
    let radius_m = f64::from(query.radius_m);
    let bbox = geo::bounding_box(origin.0, origin.1, radius_m);
    let rows = stores::in_box(&ctx.db()?, &bbox, query.category.map(Category::as_str)).await?;
    let candidates = rows
        .into_iter()
        .map(|r| (r.latitude, r.longitude, r))
        .collect();
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let page = geo::nearest_page(
        origin,
        radius_m,
        candidates,
        store_id,
        query.after.as_ref(),
        limit,
    );
    let items: Vec<StoreView> = page
        .items
        .iter()
        .map(|(d, store)| StoreView::of(store).with_distance(*d))
        .collect();
    let next_cursor = page.next.map(|c| c.encode());
    respond::json(&Listing { items, next_cursor }, 200)
}

/// `GET /api/v1/me/stores?limit=&cursor=` (user): the stores the caller owns or staffs, each
/// with `role`, oldest first (closed ones included).
pub async fn mine(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let page = Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let after = match page.after.as_deref() {
        None => 0,
        Some([legacy_id]) => legacy_id.parse().map_err(|_| pagination::bad_cursor())?,
        Some(_) => return Err(pagination::bad_cursor()),
    };
    let mut rows = stores::of_member(&ctx.db()?, &caller.id, after, page.limit + 1).await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(pagination::encode_cursor(&[&last
            .store
            .legacy_id
            .to_string()])),
        _ => None,
    };
    let items: Vec<StoreView> = rows
        .iter()
        .map(|m| StoreView::of(&m.store).with_role(m.role))
        .collect();
    respond::json(&Listing { items, next_cursor }, 200)
}
