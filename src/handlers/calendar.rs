//! Calendar feeds: `POST /api/v1/me/calendar-feed` makes a new secret feed URL for the caller
//! (the previous one stops working; D1 keeps only the token's SHA-256), and
//! `GET /api/v1/calendar/{feed_token}.ics` serves the feed (RFC 5545) of that user's bookings
//! from the D1 index: upcoming ones and those of the last 30 days.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::TimeDelta;
use serde::Serialize;
use sha2::{Digest, Sha256};

use safemarket_api::ics::{write_calendar, FeedEvent};
use worker::Response;

use crate::clock;
use crate::context::{origin_of, Ctx};
use crate::error::ApiError;
use crate::policy;
use crate::repo::calendar_feeds as repo;
use crate::respond;

/// Characters of a token (base64url of 32 bytes).
const TOKEN_LEN: usize = 43;
/// How far back the feed reaches.
const FEED_DAYS_BACK: i64 = 30;

#[derive(Serialize)]
struct FeedUrl {
    url: String,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST /api/v1/me/calendar-feed` (user): 201 `{url}`.
pub async fn create(ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(ApiError::internal)?;
    let token = B64URL.encode(raw);
    repo::rotate(&ctx.db()?, &user.id, &hash(&token), &clock::now_rfc3339()).await?;
    let url = format!(
        "{}/api/v1/calendar/{token}.ics",
        origin_of(&ctx.req.inner().url())
    );
    let resp = respond::json(&FeedUrl { url }, 201)?;
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// `GET /api/v1/calendar/{feed_token}.ics`: `text/calendar`; `ETag`, 304 on a matching
/// `If-None-Match`; 404 for an unknown or rotated token.
pub async fn feed(ctx: Ctx) -> Result<Response, ApiError> {
    let token = ctx.param("feed_token")?;
    let unknown = || ApiError::NotFound("No calendar feed at this address.".into());
    if token.len() != TOKEN_LEN || B64URL.decode(token).is_err() {
        return Err(unknown());
    }
    let db = ctx.db()?;
    let user_id = repo::user_of(&db, &hash(token))
        .await?
        .ok_or_else(unknown)?;
    let since = safemarket_engine::format_utc(clock::now() - TimeDelta::days(FEED_DAYS_BACK));
    let bookings = repo::bookings_since(&db, &user_id, &since).await?;
    let events: Vec<FeedEvent> = bookings
        .into_iter()
        .map(|b| FeedEvent {
            uid: format!("{}@safemarket.dev", b.booking_id),
            stamp: b.updated_at,
            start: b.slot_start,
            end: b.slot_end,
            summary: format!("{} (booking {})", b.store_name, b.code),
            location: format!("{}, {}", b.store_name, b.store_address),
            description: format!(
                "Booking code {} for {} {}. Show it or its QR code at the door.",
                b.code,
                b.party_size,
                if b.party_size == 1 {
                    "person"
                } else {
                    "people"
                }
            ),
            cancelled: b.status == "cancelled",
            sequence: b.version,
        })
        .collect();
    let body = write_calendar("SafeMarket bookings", &events);
    let etag = format!("\"{}\"", &hash(&body)[..32]);
    let matches = ctx
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let resp = if matches {
        Response::empty()?.with_status(304)
    } else {
        Response::ok(body)?
    };
    let headers = resp.headers();
    headers.set("content-type", "text/calendar; charset=utf-8")?;
    headers.set("etag", &etag)?;
    // The URL is the secret: no shared caches.
    headers.set("cache-control", "private, max-age=300")?;
    Ok(resp)
}
