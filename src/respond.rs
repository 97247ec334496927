//! Success responses shared by the handlers.

use serde::Serialize;
use worker::Response;

use crate::error::ApiError;

/// `204 No Content`.
pub fn no_content() -> Result<Response, ApiError> {
    Ok(Response::empty()?.with_status(204))
}

/// A JSON body with `status`.
pub fn json<T: Serialize>(body: &T, status: u16) -> Result<Response, ApiError> {
    Ok(Response::from_json(body)?.with_status(status))
}
