//! Typed calls from the Worker to a store's Durable Object.

use chrono::NaiveDate;
use safemarket_durable::engine::{BookingError, Occupancy, Schedule};
use safemarket_durable::protocol::{
    SlotView, StoreCommand, StoreError, StoreReply, StoreRequest, StoreResult, COMMAND_URL,
    RENDERED_HEADER,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::context::bindings;
use crate::domain::store::StoreRow;
use crate::error::ApiError;

/// Sends `command` to the object of `store_id` (whose schedule is in `timezone`) and decodes
/// its answer; refusals become the matching problem.
pub async fn call(
    env: &Env,
    store_id: &str,
    timezone: &str,
    command: StoreCommand,
) -> Result<StoreReply, ApiError> {
    let mut resp = send(env, store_id, timezone, command).await?;
    decode(store_id, resp.json().await?)
}

/// The client's slot listing of local dates `from..=to` as the object rendered it, passed
/// through without decoding (see [`StoreCommand::RenderSlots`]).
pub async fn rendered_slots(
    env: &Env,
    store: &StoreRow,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Response, ApiError> {
    let command = StoreCommand::RenderSlots { from, to };
    let mut resp = send(env, &store.id, &store.timezone, command).await?;
    if resp.headers().has(RENDERED_HEADER)? {
        let (_, body) = resp.into_parts();
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        return Ok(Response::from_body(body)?.with_headers(headers));
    }
    Err(unexpected(decode(&store.id, resp.json().await?)?))
}

async fn send(
    env: &Env,
    store_id: &str,
    timezone: &str,
    command: StoreCommand,
) -> Result<Response, ApiError> {
    let namespace = env.durable_object(bindings::STORES)?;
    let stub = namespace.id_from_name(store_id)?.get_stub()?;
    let request = StoreRequest {
        store_id: store_id.to_string(),
        timezone: timezone.to_string(),
        command,
    };
    post(&stub, COMMAND_URL, &request).await
}

fn decode(store_id: &str, result: StoreResult) -> Result<StoreReply, ApiError> {
    result.map_err(|e| match e {
        StoreError::Booking(b) => booking_problem(b),
        StoreError::Invalid(errors) => ApiError::invalid_fields(errors),
        StoreError::BadCommand(d) | StoreError::Internal(d) => {
            ApiError::internal(format!("store object {store_id}: {d}"))
        }
    })
}

/// Posts `body` as JSON to a Durable Object and decodes its JSON answer.
pub async fn post_json<B: Serialize, R: DeserializeOwned>(
    stub: &Stub,
    url: &str,
    body: &B,
) -> Result<R, ApiError> {
    Ok(post(stub, url, body).await?.json().await?)
}

async fn post<B: Serialize>(stub: &Stub, url: &str, body: &B) -> Result<Response, ApiError> {
    let body = serde_json::to_string(body).map_err(ApiError::internal)?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init)?;
    Ok(stub.fetch_with_request(req).await?)
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

/// The store's schedule, `None` when it has none yet.
pub async fn schedule(env: &Env, store: &StoreRow) -> Result<Option<Schedule>, ApiError> {
    match call(env, &store.id, &store.timezone, StoreCommand::GetSchedule).await? {
        StoreReply::Schedule { schedule, .. } => Ok(schedule),
        other => Err(unexpected(other)),
    }
}

/// The slots of local dates `from..=to` with their counts.
pub async fn slots(
    env: &Env,
    store: &StoreRow,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlotView>, ApiError> {
    match call(
        env,
        &store.id,
        &store.timezone,
        StoreCommand::ListSlots { from, to },
    )
    .await?
    {
        StoreReply::Slots { items } => Ok(items),
        other => Err(unexpected(other)),
    }
}

/// Occupancy of the slot in progress.
pub async fn occupancy(env: &Env, store: &StoreRow) -> Result<Occupancy, ApiError> {
    match call(env, &store.id, &store.timezone, StoreCommand::Occupancy).await? {
        StoreReply::Occupancy { occupancy } => Ok(occupancy),
        other => Err(unexpected(other)),
    }
}

/// A reply the command cannot produce: a Worker/object version mismatch or a bug.
pub fn unexpected(reply: StoreReply) -> ApiError {
    ApiError::internal(format!("unexpected store reply {reply:?}"))
}
