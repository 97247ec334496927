//! Typed calls from the Worker to a store's Durable Object: `call(env, store, Book {..})`
//! answers `Booked`, and a reply of another shape cannot be asked for.

use chrono::NaiveDate;
use futures_util::future::join_all;
use js_sys::Uint8Array;
use safemarket_engine::protocol::{
    call_url, GetOccupancy, GetSchedule, ListSlots, RenderSlots, RenderedListing, SlotView,
    StoreCall, StoreError, StoreRequest, WireReply, ERROR_STATUS,
};
use safemarket_engine::{BookingError, Occupancy, Schedule, StoreId};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Headers, Response, Stub};

use crate::context::{bindings, Ctx};
use crate::domain::store::StoreRow;
use crate::error::ApiError;
use crate::objects::post;
use crate::policy;

/// Sends `call` to the object of `store` (with the zone D1 has for it) and decodes the reply;
/// refusals become the matching problem.
pub async fn call<C: StoreCall>(
    env: &Env,
    store: &StoreRow,
    call: C,
) -> Result<C::Reply, ApiError> {
    call_object(env, &store_id(store)?, &store.timezone, call).await
}

/// [`call`], answered only once the store's object has written the call's changes to the D1
/// booking index (see `StoreRequest::index_now`): for the legacy app, which reads its
/// reservations back from there right after booking.
pub async fn call_indexed<C: StoreCall>(
    env: &Env,
    store: &StoreRow,
    call: C,
) -> Result<C::Reply, ApiError> {
    let id = store_id(store)?;
    let answer = send(env, &id, Some(&store.timezone), true, &call).await?;
    decode(&id, answer)
}

/// [`call`] for the object named `id`, with the zone `timezone` (the health check's object
/// is no store's).
pub async fn call_object<C: StoreCall>(
    env: &Env,
    id: &StoreId,
    timezone: &str,
    call: C,
) -> Result<C::Reply, ApiError> {
    let answer = send(env, id, Some(timezone), false, &call).await?;
    decode(id, answer)
}

/// [`call`] for the store named in the request path, without reading the store from D1: for
/// the hot paths (booking, listing, occupancy). Answers the store id too.
///
/// The call goes without the zone: an object that has served its store answers in the zone it
/// recorded, which saves the D1 read of the store. Only an object that has recorded none (a
/// store whose object has not been used yet, or no store at all) makes this read the store
/// from D1 (404 when there is none) and send the call again with the zone. D1 writes of a
/// store's zone always go on to its object (see `handlers::stores::update`), so the recorded
/// zone is D1's.
pub async fn call_path_store<C: StoreCall>(
    ctx: &Ctx,
    call: C,
) -> Result<(StoreId, C::Reply), ApiError> {
    let (id, mut reply) = exchange_path_store(ctx, &call).await?;
    let body = reply.bytes().await?;
    let reply = decode(&id, Ok(body))?;
    Ok((id, reply))
}

/// [`call_path_store`] up to the object's reply, undecoded (status 200; refusals are already
/// their problems).
async fn exchange_path_store<C: StoreCall>(
    ctx: &Ctx,
    call: &C,
) -> Result<(StoreId, Response), ApiError> {
    let id = policy::path_store_id(ctx)?;
    let (env, id_ref) = (&ctx.env, &id);
    let answer = zone_on_demand(ctx, move |timezone| async move {
        exchange(env, id_ref, timezone.as_deref(), false, call).await
    })
    .await?;
    let reply = answer.map_err(|e| refusal(&id, e))?;
    Ok((id, reply))
}

/// The zone-on-demand rule of [`call_path_store`] for any exchange with the path's store
/// object: `attempt` first without the zone; only when the object answers `UnknownStore`
/// is the store read from D1 (404 when there is none) and `attempt` made again with its zone.
pub async fn zone_on_demand<T, F, Fut>(
    ctx: &Ctx,
    attempt: F,
) -> Result<Result<T, StoreError>, ApiError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Result<T, StoreError>, ApiError>>,
{
    match attempt(None).await? {
        Err(StoreError::UnknownStore) => {
            let store = policy::public_store(ctx, &ctx.db()?).await?;
            attempt(Some(store.timezone)).await
        }
        other => Ok(other),
    }
}

/// The longest `If-None-Match` passed on to the object (a few of its tags).
const MAX_IF_NONE_MATCH: usize = 512;

/// The client's slot listing of local dates `from..=to` of the store named in the path, as its
/// object rendered it (or kept it since), passed through without decoding, with its `ETag`;
/// `304 Not Modified` when the request's `If-None-Match` names the current listing.
pub async fn rendered_slots(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Response, ApiError> {
    // A client's tag list is short; a longer header is not ours and is ignored.
    let if_none_match = ctx
        .header("if-none-match")
        .filter(|value| value.len() <= MAX_IF_NONE_MATCH);
    let call = RenderSlots {
        from,
        to,
        if_none_match,
    };
    let (id, reply) = exchange_path_store(ctx, &call).await?;
    pass_listing_through(&id, reply).await
}

/// The client's response for the object's reply to [`RenderSlots`] (see
/// `RenderedListing::to_body`: the tag line, then the JSON). The reply is read as one buffer
/// outside this Worker's memory: only its first line is copied in, and the JSON is handed on
/// as a view of that buffer, so a 31-day listing of hundreds of KB is never copied into (and
/// out of) the wasm heap.
async fn pass_listing_through(store_id: &StoreId, reply: Response) -> Result<Response, ApiError> {
    let unreadable =
        |e: JsValue| ApiError::internal(format!("store object {store_id}: listing: {e:?}"));
    let raw: web_sys::Response = reply.into();
    let buffer = JsFuture::from(raw.array_buffer().map_err(unreadable)?)
        .await
        .map_err(unreadable)?;
    let all = Uint8Array::new(&buffer);
    let len = all.length();
    let head_len = len.min(u32::try_from(RenderedListing::MAX_TAG_LINE).unwrap_or(u32::MAX));
    let (etag, start) = RenderedListing::tag_of(&all.subarray(0, head_len).to_vec())
        .map_err(|e| ApiError::internal(format!("store object {store_id}: {e}")))?;
    let start = u32::try_from(start).unwrap_or(len);
    let headers = Headers::new();
    headers.set("etag", &etag)?;
    if start >= len {
        // 304: the client's copy is current (RFC 9110 15.4.5: no body, the tag again).
        return Ok(Response::empty()?.with_status(304).with_headers(headers));
    }
    headers.set("content-type", "application/json")?;
    let init = web_sys::ResponseInit::new();
    init.set_headers(headers.as_ref());
    let json = web_sys::Response::new_with_opt_buffer_source_and_init(
        Some(&all.subarray(start, len)),
        &init,
    )
    .map_err(unreadable)?;
    Ok(Response::from(json))
}

/// How many store objects one request asks at once: a request that concerns many stores must
/// turn neither into a long chain of calls nor into a burst of them.
pub const FAN_OUT: usize = 10;

/// `ask` for every item, [`FAN_OUT`] at a time; the answers in order, the first error wins.
pub async fn fan_out<'a, T, R, Fut>(
    items: &'a [T],
    ask: impl Fn(&'a T) -> Fut,
) -> Result<Vec<R>, ApiError>
where
    Fut: std::future::Future<Output = Result<R, ApiError>>,
{
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(FAN_OUT) {
        for answer in join_all(chunk.iter().map(&ask)).await {
            out.push(answer?);
        }
    }
    Ok(out)
}

/// The store's schedule, `None` when it has none yet.
pub async fn schedule(env: &Env, store: &StoreRow) -> Result<Option<Schedule>, ApiError> {
    call(env, store, GetSchedule {}).await
}

/// The slots of local dates `from..=to` with their counts.
pub async fn slots(
    env: &Env,
    store: &StoreRow,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlotView>, ApiError> {
    call(env, store, ListSlots { from, to }).await
}

/// Occupancy of the slot in progress.
pub async fn occupancy(env: &Env, store: &StoreRow) -> Result<Occupancy, ApiError> {
    call(env, store, GetOccupancy {}).await
}

fn store_id(store: &StoreRow) -> Result<StoreId, ApiError> {
    StoreId::parse(&store.id)
        .ok_or_else(|| ApiError::internal(format!("stored store id {:?} is no UUID", store.id)))
}

/// What an object answered to a call: the reply's bytes, or its refusal.
type Answer = Result<Vec<u8>, StoreError>;

async fn send<C: StoreCall>(
    env: &Env,
    store_id: &StoreId,
    timezone: Option<&str>,
    index_now: bool,
    call: &C,
) -> Result<Answer, ApiError> {
    match exchange(env, store_id, timezone, index_now, call).await? {
        Ok(mut reply) => Ok(Ok(reply.bytes().await?)),
        Err(e) => Ok(Err(e)),
    }
}

/// Sends `call` to the object of `store_id`: its reply as it came (status 200), or its
/// refusal.
async fn exchange<C: StoreCall>(
    env: &Env,
    store_id: &StoreId,
    timezone: Option<&str>,
    index_now: bool,
    call: &C,
) -> Result<Result<Response, StoreError>, ApiError> {
    let stub = stub(env, store_id)?;
    let request = StoreRequest {
        store_id: store_id.clone(),
        timezone: crate::zones::table(env, timezone).await?,
        index_now,
        call,
    };
    let resp = post(&stub, &call_url(C::NAME), &request).await?;
    sort_answer(store_id, C::NAME, resp).await
}

/// An object's response to the call `name`: the reply (200) or the refusal it carries. Not
/// generic over the call, so it is compiled once, not once per call type.
async fn sort_answer(
    store_id: &StoreId,
    name: &str,
    mut resp: Response,
) -> Result<Result<Response, StoreError>, ApiError> {
    match resp.status_code() {
        200 => Ok(Ok(resp)),
        ERROR_STATUS => Ok(Err(resp.json::<StoreError>().await?)),
        other => Err(ApiError::internal(format!(
            "store object {store_id} answered {name} with status {other}"
        ))),
    }
}

/// The stub of the object of `store_id`.
pub fn stub(env: &Env, store_id: &StoreId) -> Result<Stub, ApiError> {
    let namespace = env.durable_object(bindings::STORES)?;
    Ok(namespace.id_from_name(store_id.as_str())?.get_stub()?)
}

fn decode<R: WireReply>(store_id: &StoreId, answer: Answer) -> Result<R, ApiError> {
    let body = answer.map_err(|e| refusal(store_id, e))?;
    R::from_body(body).map_err(|e| ApiError::internal(format!("store object {store_id}: {e}")))
}

/// The problem for the object's refusal `e` of a call (sent with the zone).
pub fn refusal(store_id: &StoreId, e: StoreError) -> ApiError {
    match e {
        StoreError::Booking(b) => booking_problem(b),
        StoreError::Invalid(errors) => ApiError::invalid_fields(errors),
        StoreError::BadCall(d) | StoreError::Internal(d) => {
            ApiError::internal(format!("store object {store_id}: {d}"))
        }
        StoreError::UnknownStore => ApiError::internal(format!(
            "store object {store_id} has no zone although sent one"
        )),
    }
}

/// The problem for a refused booking operation (status and slug from the engine).
pub fn booking_problem(e: BookingError) -> ApiError {
    let detail = e.to_string();
    match e.http_status() {
        404 => ApiError::NotFound(detail),
        409 => ApiError::Conflict {
            slug: e.kind(),
            detail,
        },
        422 => ApiError::Unprocessable {
            slug: e.kind(),
            detail,
        },
        _ => ApiError::internal(detail),
    }
}
