//! Typed calls from the Worker to a store's Durable Object.

use safemarket_durable::protocol::{
    StoreCommand, StoreErrorKind, StoreReply, StoreResult, COMMAND_URL,
};
use worker::{Env, Headers, Method, Request, RequestInit};

use crate::context::bindings;
use crate::error::ApiError;

/// Sends `cmd` to the object named `object_name` (a store id) and decodes its answer.
pub async fn call(
    env: &Env,
    object_name: &str,
    cmd: &StoreCommand,
) -> Result<StoreReply, ApiError> {
    let namespace = env.durable_object(bindings::STORES)?;
    let stub = namespace.id_from_name(object_name)?.get_stub()?;
    let body = serde_json::to_string(cmd).map_err(ApiError::internal)?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(COMMAND_URL, &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    let result: StoreResult = resp.json().await?;
    result.map_err(|e| match e.kind {
        StoreErrorKind::BadCommand | StoreErrorKind::Internal => {
            ApiError::internal(format!("store object {object_name}: {}", e.detail))
        }
    })
}
