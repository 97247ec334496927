//! The single error type of the HTTP edge.
//!
//! Every handler returns `Result<Response, ApiError>`; the router turns an `ApiError` into an
//! RFC 9457 problem document (`application/problem+json`). Each variant is one problem type with
//! a fixed status and slug, so clients can switch on `type` and the OpenAPI document can list them.

use serde::Serialize;
use worker::{Headers, Response};

/// Base of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://safemarket.dev/problems/";

/// One invalid input field, reported in a problem's `errors` array (`field` is the JSON path or
/// parameter name). The engine's type, so the store object's validation errors pass unchanged.
pub use safemarket_engine::FieldError;

/// Everything that can go wrong at the edge, one variant per problem type.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON, or a header/parameter cannot be read at all.
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 422: the input is well-formed but its values are not acceptable.
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 401: no credentials, or credentials that are not (or no longer) valid.
    Unauthorized(String),
    /// 403: authenticated, but not allowed to do this.
    Forbidden(String),
    /// 404: the resource does not exist (or the caller may not know it exists).
    NotFound(String),
    /// 405: the path exists, the method does not; `allow` lists the methods that do.
    MethodNotAllowed { allow: Vec<&'static str> },
    /// 409: the request conflicts with the current state; `slug` names the conflict
    /// (`email-taken`, `slot-full`, `booking-limit`, ...).
    Conflict { slug: &'static str, detail: String },
    /// 422 with its own problem type: a well-formed request the domain refuses
    /// (`slot-not-offered`, `slot-in-past`, `idempotency-mismatch`, ...).
    Unprocessable { slug: &'static str, detail: String },
    /// 412: `If-Match` did not match the current `ETag`.
    PreconditionFailed(String),
    /// 413: the body exceeds the limit for this route.
    PayloadTooLarge { limit: usize },
    /// 415: the body is not `application/json` (or a JSON subtype).
    UnsupportedMediaType,
    /// 426: the resource is a WebSocket and the request did not ask to upgrade to one.
    UpgradeRequired,
    /// 429: rate limited; the client may retry after `retry_after` seconds.
    TooManyRequests { retry_after: u64, detail: String },
    /// 503: a dependency is unavailable; `detail` is safe to show.
    Unavailable(String),
    /// 500: a bug or a storage failure; the cause is logged, never shown.
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    /// A 422 with a single field error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let errors = vec![FieldError::new(field, message)];
        ApiError::Validation {
            detail: "The request contains invalid values.".into(),
            errors,
        }
    }

    /// A 422 with several field errors.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        ApiError::Validation {
            detail: "The request contains invalid values.".into(),
            errors,
        }
    }

    /// A 400 naming one field (or parameter/header) that cannot be read.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let errors = vec![FieldError::new(field, message)];
        ApiError::BadRequest {
            detail: "The request could not be read.".into(),
            errors,
        }
    }

    /// A 500 whose cause is logged but not shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// HTTP status of this problem.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Validation { .. } | ApiError::Unprocessable { .. } => 422,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict { .. } => 409,
            ApiError::PreconditionFailed(_) => 412,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::UpgradeRequired => 426,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// The problem type slug (last segment of `type`) and its title.
    pub fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "Bad request"),
            ApiError::Validation { .. } => ("validation-failed", "Validation failed"),
            ApiError::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            ApiError::Forbidden(_) => ("forbidden", "Forbidden"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { slug, .. } => (slug, "Conflict"),
            ApiError::Unprocessable { slug, .. } => (slug, "Unprocessable request"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Payload too large"),
            ApiError::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            ApiError::UpgradeRequired => ("upgrade-required", "Upgrade required"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The human-readable detail the problem document shows.
    pub fn detail(&self) -> String {
        match self {
            ApiError::BadRequest { detail, .. } | ApiError::Validation { detail, .. } => {
                detail.clone()
            }
            ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::Unavailable(d) => d.clone(),
            ApiError::MethodNotAllowed { allow } => {
                format!("This resource supports {}.", allow.join(", "))
            }
            ApiError::Conflict { detail, .. }
            | ApiError::Unprocessable { detail, .. }
            | ApiError::TooManyRequests { detail, .. } => detail.clone(),
            ApiError::PayloadTooLarge { limit } => {
                format!("The request body exceeds the limit of {limit} bytes.")
            }
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::UpgradeRequired => {
                "This is a WebSocket: connect with `Upgrade: websocket`.".into()
            }
            // Never leak the cause of a 500: it is logged by `into_response`.
            ApiError::Internal(_) => "Something went wrong on our side.".into(),
        }
    }

    /// The problem document as JSON, without transport concerns (also used by tests).
    pub fn to_problem_json(&self) -> String {
        let (slug, title) = self.slug_and_title();
        let no_errors: [FieldError; 0] = [];
        let errors = match self {
            ApiError::BadRequest { errors, .. } | ApiError::Validation { errors, .. } => {
                errors.as_slice()
            }
            _ => &no_errors,
        };
        let detail = self.detail();
        let problem = Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: self.status(),
            detail: &detail,
            errors,
        };
        serde_json::to_string(&problem).unwrap_or_else(|_| String::from("{}"))
    }

    /// Render as an HTTP response with `application/problem+json` and the headers the
    /// problem needs (`Allow`, `Retry-After`).
    pub fn into_response(self) -> worker::Result<Response> {
        if let ApiError::Internal(cause) = &self {
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "internal error", "cause": cause})
            );
        }
        let headers = Headers::new();
        // Header names and values below are static ASCII, so these cannot fail.
        let _ = headers.set("content-type", "application/problem+json");
        let _ = headers.set("cache-control", "no-store");
        match &self {
            ApiError::MethodNotAllowed { allow } => {
                let _ = headers.set("allow", &allow.join(", "));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                let _ = headers.set("retry-after", &retry_after.to_string());
            }
            // RFC 9110: a 426 names the protocol to upgrade to (local workerd drops this
            // hop-by-hop header; the edge may too).
            ApiError::UpgradeRequired => {
                let _ = headers.set("upgrade", "websocket");
            }
            _ => {}
        }
        let body = self.to_problem_json();
        Ok(Response::ok(body)?
            .with_status(self.status())
            .with_headers(headers))
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// For logs: unlike the problem document, this shows the cause of a 500.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (slug, _) = self.slug_and_title();
        match self {
            ApiError::Internal(cause) => write!(f, "500 {slug}: {cause}"),
            _ => write!(f, "{} {}: {}", self.status(), slug, self.detail()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_lists_fields() {
        let e = ApiError::invalid("email", "not an email address");
        let v: serde_json::Value = serde_json::from_str(&e.to_problem_json()).unwrap();
        assert_eq!(v["status"], 422);
        assert_eq!(
            v["type"],
            "https://safemarket.dev/problems/validation-failed"
        );
        assert_eq!(v["errors"][0]["field"], "email");
    }

    #[test]
    fn internal_problem_hides_cause() {
        let e = ApiError::internal("D1_ERROR: no such table: users");
        let json = e.to_problem_json();
        assert!(!json.contains("D1_ERROR"));
        assert!(json.contains("\"status\":500"));
    }

    #[test]
    fn conflict_uses_its_slug() {
        let e = ApiError::Conflict {
            slug: "slot-full",
            detail: "full".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_problem_json()).unwrap();
        assert_eq!(v["type"], "https://safemarket.dev/problems/slot-full");
        assert!(v.get("errors").is_none());
    }
}
