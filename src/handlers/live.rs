//! `GET /api/v1/stores/{store_id}/live` (anyone): the store's live feed, a WebSocket that the
//! store's Durable Object accepts and feeds (`safemarket_durable::object::live`). The Worker
//! only checks the request and forwards the upgrade; the object answers `101` with the socket.

use safemarket_durable::object::live::{
    Watch, ENVELOPE_HEADER, FULL_STATUS, MAX_SOCKETS, RETRY_AFTER_SECS, WATCH_URL,
};
use safemarket_engine::protocol::{StoreError, StoreRequest, ERROR_STATUS};
use safemarket_engine::{BookingError, StoreId};
use worker::{Env, Headers, Method, Request, RequestInit, Response, WebSocket};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::policy::{path_store_id, public_store};
use crate::store_client;

/// `GET /api/v1/stores/{store_id}/live`: 101 and the socket; 426 without `Upgrade: websocket`,
/// 404 for an unknown or closed store, 429 while the store has its maximum of sockets.
pub async fn live(ctx: Ctx) -> Result<Response, ApiError> {
    let id = path_store_id(&ctx)?;
    if !wants_websocket(&ctx.req) {
        // An unknown store is 404 however it is asked for; a known one needs the upgrade.
        public_store(&ctx, &ctx.db()?).await?;
        return Err(ApiError::UpgradeRequired);
    }
    let (env, store) = (&ctx.env, &id);
    let answer =
        store_client::zone_on_demand(&ctx, move |tz| async move { watch(env, store, tz).await })
            .await?;
    match answer {
        // A fresh response: the stub's has immutable headers, and the edge adds its own.
        Ok(socket) => Ok(Response::from_websocket(socket)?),
        Err(StoreError::Booking(BookingError::StoreClosed)) => {
            Err(ApiError::NotFound(format!("Store {id} is closed.")))
        }
        Err(e) => Err(store_client::refusal(&id, e)),
    }
}

/// Whether the request asks for a WebSocket (`Upgrade: websocket`, any case).
fn wants_websocket(req: &Request) -> bool {
    req.headers()
        .get("upgrade")
        .ok()
        .flatten()
        .is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
}

/// Forwards the upgrade to the store's object (with the zone when D1's is needed): its
/// socket, its refusal, or 429 when it is full.
async fn watch(
    env: &Env,
    store: &StoreId,
    timezone: Option<String>,
) -> Result<Result<WebSocket, StoreError>, ApiError> {
    let envelope = StoreRequest {
        store_id: store.clone(),
        timezone: crate::zones::table(env, timezone.as_deref()).await?,
        index_now: false,
        call: Watch {},
    };
    let headers = Headers::new();
    headers.set("upgrade", "websocket")?;
    headers.set(
        ENVELOPE_HEADER,
        &serde_json::to_string(&envelope).map_err(ApiError::internal)?,
    )?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let req = Request::new_with_init(WATCH_URL, &init)?;
    let mut resp = store_client::stub(env, store)?
        .fetch_with_request(req)
        .await?;
    match resp.status_code() {
        101 => resp
            .websocket()
            .map(Ok)
            .ok_or_else(|| ApiError::internal(format!("store object {store}: 101 without a socket"))),
        ERROR_STATUS => Ok(Err(resp.json::<StoreError>().await?)),
        FULL_STATUS => Err(ApiError::TooManyRequests {
            retry_after: RETRY_AFTER_SECS,
            detail: format!(
                "This store has {MAX_SOCKETS} live connections already; retry after {RETRY_AFTER_SECS} s."
            ),
        }),
        other => Err(ApiError::internal(format!(
            "store object {store} answered the live feed with status {other}"
        ))),
    }
}
