//! The one structured log line per `/api` request.
//!
//! It names the route by its pattern (`/api/v1/stores/{store_id}/bookings/by-code/{code}`),
//! never by the request's path: paths carry booking codes, calendar-feed tokens and other
//! values that must not end up in logs. A path that matches no route is logged as
//! [`UNMATCHED`], not as itself.

use serde_json::{json, Value};

/// The route logged for a path that matches no pattern.
pub const UNMATCHED: &str = "(unmatched)";

/// Methods are logged as sent (unknown ones too, to see what clients try), cut to this length.
const MAX_METHOD_LEN: usize = 16;

/// What one request's log line records.
#[derive(Debug, Clone, Copy)]
pub struct RequestLog<'a> {
    /// Correlates the line with the response's `x-request-id`.
    pub request_id: &'a str,
    /// The method as sent.
    pub method: &'a str,
    /// The pattern of the route the path matched, `None` when it matched none.
    pub route: Option<&'static str>,
    /// The response status.
    pub status: u16,
    /// Time from the request's arrival to its response.
    pub duration_ms: u64,
    /// The api key's id (never the key) for requests made with one.
    pub api_key_id: Option<&'a str>,
}

impl RequestLog<'_> {
    /// The JSON line: level (`error` for 5xx), request id, method, route pattern, status,
    /// duration and, with an api key, `api_key_id`.
    pub fn line(&self) -> Value {
        let method: String = self.method.chars().take(MAX_METHOD_LEN).collect();
        let mut line = json!({
            "level": if self.status >= 500 { "error" } else { "info" },
            "request_id": self.request_id,
            "method": method,
            "route": self.route.unwrap_or(UNMATCHED),
            "status": self.status,
            "duration_ms": self.duration_ms,
        });
        if let Some(key_id) = self.api_key_id {
            line["api_key_id"] = key_id.into();
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{resolve, ROUTES};

    fn entry(method: &str, route: Option<&'static str>) -> RequestLog<'static> {
        RequestLog {
            request_id: "r-1",
            method: Box::leak(method.to_string().into_boxed_str()),
            route,
            status: 200,
            duration_ms: 3,
            api_key_id: None,
        }
    }

    #[test]
    fn logs_the_pattern_never_the_path() {
        let path = "/api/v1/stores/0b5c/bookings/by-code/K7M2PQ9X";
        let matched = resolve("GET", path).unwrap();
        let line = entry("GET", Some(matched.pattern)).line();
        assert_eq!(
            line["route"],
            "/api/v1/stores/{store_id}/bookings/by-code/{code}"
        );
        let text = line.to_string();
        assert!(
            !text.contains("K7M2PQ9X") && !text.contains("0b5c"),
            "{text}"
        );
        assert!(line.get("path").is_none(), "{text}");
    }

    #[test]
    fn unmatched_paths_are_a_placeholder() {
        let line = entry("GET", None).line();
        assert_eq!(line["route"], UNMATCHED);
        assert_eq!(
            line.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "duration_ms",
                "level",
                "method",
                "request_id",
                "route",
                "status"
            ]
        );
    }

    #[test]
    fn every_logged_route_is_a_pattern_of_the_table() {
        for route in ROUTES {
            let line = entry(route.method, Some(route.pattern)).line();
            assert_eq!(line["route"], route.pattern);
            assert_eq!(line["method"], route.method);
        }
    }

    #[test]
    fn level_api_key_and_long_methods() {
        let mut log = entry("X".repeat(100).as_str(), None);
        log.status = 503;
        log.api_key_id = Some("key-1");
        let line = log.line();
        assert_eq!(line["level"], "error");
        assert_eq!(line["api_key_id"], "key-1");
        assert_eq!(line["method"].as_str().unwrap().len(), 16);
        assert_eq!(entry("GET", None).line()["level"], "info");
    }
}
