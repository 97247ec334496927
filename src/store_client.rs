//! Typed calls from the Worker to a store's Durable Object.

use chrono::NaiveDate;
use safemarket_engine::protocol::{
    SlotView, StoreCommand, StoreError, StoreReply, StoreRequest, StoreResult, COMMAND_URL,
    RENDERED_HEADER,
};
use safemarket_engine::{BookingError, Occupancy, Schedule};
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::access::{path_store_id, store_or_404};
use crate::context::{bindings, Ctx};
use crate::domain::store::{StoreId, StoreRow};
use crate::error::ApiError;

/// Sends `command` to the object of `store_id` (whose schedule is in `timezone`) and decodes
/// its answer; refusals become the matching problem.
pub async fn call(
    env: &Env,
    store_id: &str,
    timezone: &str,
    command: StoreCommand,
) -> Result<StoreReply, ApiError> {
    match answer(send(env, store_id, Some(timezone), command).await?).await? {
        Answer::Result(result) => decode(store_id, result),
        Answer::Rendered(_) => Err(rendered_unexpectedly()),
    }
}

/// [`call`] for the store named in the request path, without reading the store from D1 (see
/// [`ask_path_store`]): for the hot paths, booking and occupancy. Answers the store id too.
pub async fn call_path_store(
    ctx: &Ctx,
    command: StoreCommand,
) -> Result<(StoreId, StoreReply), ApiError> {
    match ask_path_store(ctx, command).await? {
        (id, Answer::Result(result)) => {
            let reply = decode(id.as_str(), result)?;
            Ok((id, reply))
        }
        (_, Answer::Rendered(_)) => Err(rendered_unexpectedly()),
    }
}

/// The client's slot listing of local dates `from..=to` of the store named in the path, as
/// its object rendered it, passed through without decoding (see [`StoreCommand::RenderSlots`]).
pub async fn rendered_slots(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Response, ApiError> {
    match ask_path_store(ctx, StoreCommand::RenderSlots { from, to }).await? {
        (_, Answer::Rendered(resp)) => {
            let (_, body) = resp.into_parts();
            let headers = Headers::new();
            headers.set("content-type", "application/json")?;
            Ok(Response::from_body(body)?.with_headers(headers))
        }
        (id, Answer::Result(result)) => Err(unexpected(decode(id.as_str(), result)?)),
    }
}

/// A rendered body where the command has a typed reply: a Worker/object version mismatch.
fn rendered_unexpectedly() -> ApiError {
    ApiError::internal("store object rendered a typed command")
}

/// What an object answered: a typed result or a body it rendered for the client.
enum Answer {
    Result(StoreResult),
    Rendered(Response),
}

async fn answer(mut resp: Response) -> Result<Answer, ApiError> {
    if resp.headers().has(RENDERED_HEADER)? {
        Ok(Answer::Rendered(resp))
    } else {
        Ok(Answer::Result(resp.json().await?))
    }
}

/// Sends `command` to the object of the store named in the path without its zone: an object
/// that has served its store answers in the zone it recorded, which saves the D1 read of the
/// store. Only an object that has recorded none (a store whose object has not been used yet,
/// or no store at all) makes this read the store from D1 (404 when there is none) and send the
/// command again with the zone. D1 writes of a store's zone always go on to its object (see
/// `handlers::stores::update`), so the recorded zone is D1's.
async fn ask_path_store(ctx: &Ctx, command: StoreCommand) -> Result<(StoreId, Answer), ApiError> {
    let id = path_store_id(ctx)?;
    let first = answer(send(&ctx.env, id.as_str(), None, command.clone()).await?).await?;
    if !matches!(first, Answer::Result(Err(StoreError::UnknownStore))) {
        return Ok((id, first));
    }
    let store = store_or_404(ctx, &ctx.db()?).await?;
    let resp = send(&ctx.env, &store.id, Some(&store.timezone), command).await?;
    Ok((id, answer(resp).await?))
}

async fn send(
    env: &Env,
    store_id: &str,
    timezone: Option<&str>,
    command: StoreCommand,
) -> Result<Response, ApiError> {
    let namespace = env.durable_object(bindings::STORES)?;
    let stub = namespace.id_from_name(store_id)?.get_stub()?;
    let request = StoreRequest {
        store_id: store_id.to_string(),
        timezone: timezone.map(str::to_string),
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
        StoreError::UnknownStore => ApiError::internal(format!(
            "store object {store_id} has no zone although sent one"
        )),
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
    ApiError::internal(format!("unexpected store reply {}", reply.name()))
}
