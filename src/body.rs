//! Reading request bodies: media type, size limit, JSON syntax and shape, each failure a
//! problem that names the field.

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use worker::Request;

use crate::error::{ApiError, FieldError};

/// Body limit of every route except documents.
pub const DEFAULT_LIMIT: usize = 16 * 1024;
/// Body limit of free-form JSON documents (profiles, partner documents).
pub const DOCUMENT_LIMIT: usize = 64 * 1024;

/// Reads the raw body, enforcing `limit` (413) and a JSON media type (415).
pub async fn read_bytes(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get("content-type").ok().flatten();
    let is_json = content_type.as_deref().is_some_and(|ct| {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Refuse early when the client announces too much; the stream below still counts,
    // because the header can be absent (chunked) or wrong.
    let announced = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let unreadable = || ApiError::bad_field("body", "the body could not be read");
    // Read chunk by chunk and stop at the limit: `Request::bytes` would buffer a chunked
    // body of any size before its length could be checked.
    let mut stream = req.stream().map_err(|_| unreadable())?;
    let mut body = LimitedBody::new(limit, announced.unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        body.push(&chunk.map_err(|_| unreadable())?)?;
    }
    Ok(body.into_bytes())
}

/// A request body collected chunk by chunk, refused as soon as it grows past its limit.
#[derive(Debug)]
pub struct LimitedBody {
    bytes: Vec<u8>,
    limit: usize,
}

impl LimitedBody {
    /// An empty body of at most `limit` bytes, with room for `expected` (capped at the limit).
    pub fn new(limit: usize, expected: usize) -> Self {
        LimitedBody {
            bytes: Vec::with_capacity(expected.min(limit)),
            limit,
        }
    }

    /// Appends `chunk`; 413 once the total exceeds the limit (nothing past it is kept, and
    /// the caller stops reading).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        if chunk.len() > self.limit - self.bytes.len() {
            return Err(ApiError::PayloadTooLarge { limit: self.limit });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes read.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Parses JSON into `T`: syntax errors are 400, wrong types and missing fields 422, each with
/// the JSON path of the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_field("body", "a JSON body is required"));
    }
    // Syntax first, so that "not JSON" and "wrong shape" get different statuses.
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_field("body", format!("malformed JSON: {e}")))?;
    from_value(value)
}

/// Converts an already parsed JSON value into `T` with field-naming 422s.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = missing_field(&message)
            .map(|name| join_path(&path, name))
            .unwrap_or_else(|| if path == "." { "body".into() } else { path });
        ApiError::invalid_fields(vec![FieldError::new(field, message)])
    })
}

/// Parses a body that must be a JSON object into `T` (every typed request body is one).
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match parse::<Value>(bytes)? {
        value @ Value::Object(_) => from_value(value),
        _ => Err(ApiError::invalid("body", "must be a JSON object")),
    }
}

/// Reads and parses a JSON object body with the default limit.
pub async fn json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let bytes = read_bytes(req, DEFAULT_LIMIT).await?;
    parse_object(&bytes)
}

/// serde reports a missing field on its parent path; name the field itself instead.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        email: String,
        inner: Inner,
    }

    fn field_of(e: ApiError) -> (u16, String) {
        let status = e.status();
        let v: Value = serde_json::from_str(&e.to_problem_json()).unwrap();
        (
            status,
            v["errors"][0]["field"].as_str().unwrap().to_string(),
        )
    }

    #[test]
    fn malformed_json_is_400_naming_body() {
        let e = parse::<Outer>(b"{not json").unwrap_err();
        assert_eq!(field_of(e), (400, "body".into()));
        assert_eq!(
            field_of(parse::<Outer>(b"  ").unwrap_err()),
            (400, "body".into())
        );
    }

    #[test]
    fn missing_field_names_the_field() {
        let e = parse::<Outer>(br#"{"inner": {"n": 1}}"#).unwrap_err();
        assert_eq!(field_of(e), (422, "email".into()));
        let e = parse::<Outer>(br#"{"email": "a", "inner": {}}"#).unwrap_err();
        assert_eq!(field_of(e), (422, "inner.n".into()));
    }

    #[test]
    fn wrong_type_names_the_path() {
        let e = parse::<Outer>(br#"{"email": 5, "inner": {"n": 1}}"#).unwrap_err();
        assert_eq!(field_of(e), (422, "email".into()));
        let e = parse::<Outer>(br#"{"email": "x", "inner": {"n": -1}}"#).unwrap_err();
        assert_eq!(field_of(e), (422, "inner.n".into()));
        let e = parse_object::<Outer>(b"[1]").unwrap_err();
        assert_eq!(field_of(e), (422, "body".into()));
    }

    #[test]
    fn limited_body_stops_at_the_limit() {
        let mut body = LimitedBody::new(10, 1 << 30);
        body.push(b"12345").unwrap();
        body.push(b"").unwrap();
        body.push(b"67890").unwrap();
        assert_eq!(body.push(b"x").unwrap_err().status(), 413);
        assert_eq!(body.into_bytes(), b"1234567890");
        let mut body = LimitedBody::new(10, 0);
        assert_eq!(body.push(&[b'a'; 11]).unwrap_err().status(), 413);
        assert!(body.into_bytes().is_empty());
    }
}
