//! JSON over `fetch` to a Durable Object stub: the one transport of the store client and the
//! api-key limiter. It sits below both (and below `auth`), so authenticating a key never
//! depends on the store client.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Headers, Method, Request, RequestInit, Response, Stub};

use crate::error::ApiError;

/// Posts `body` as JSON to a Durable Object and decodes its JSON answer.
pub async fn post_json<B: Serialize, R: DeserializeOwned>(
    stub: &Stub,
    url: &str,
    body: &B,
) -> Result<R, ApiError> {
    Ok(post(stub, url, body).await?.json().await?)
}

/// Posts `body` as JSON to a Durable Object and answers its response as it came.
pub async fn post<B: Serialize>(stub: &Stub, url: &str, body: &B) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    let req = Request::new_with_init(url, &init)?;
    Ok(stub.fetch_with_request(req).await?)
}
