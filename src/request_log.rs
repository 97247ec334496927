//! The one structured log line per `/api` request.
//!
//! It names the route by its pattern (`/api/v1/stores/{store_id}/bookings/by-code/{code}`),
//! never by the request's path: paths carry booking codes, calendar-feed tokens and other
//! values that must not end up in logs. A path that matches no route is logged as
//! [`UNMATCHED`], not as itself.

use std::fmt::Write as _;

use worker::Env;

/// The route logged for a path that matches no pattern.
pub const UNMATCHED: &str = "(unmatched)";

/// Methods are logged as sent (unknown ones too, to see what clients try), cut to this length.
const MAX_METHOD_LEN: usize = 16;

/// The variable that turns the line off (`REQUEST_LOG=off`): only for the benchmark, which
/// measures what a request costs without it. Deployments leave it unset and log every request.
pub const SWITCH_VAR: &str = "REQUEST_LOG";

thread_local! {
    /// Whether this isolate logs requests: vars are fixed for an isolate's life, so the
    /// environment is asked once.
    static ENABLED: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Whether requests are logged: always, unless [`SWITCH_VAR`] is `off`.
pub fn enabled(env: &Env) -> bool {
    ENABLED.with(|cached| {
        cached.get().unwrap_or_else(|| {
            let on = env
                .var(SWITCH_VAR)
                .map_or(true, |v| !v.to_string().eq_ignore_ascii_case("off"));
            cached.set(Some(on));
            on
        })
    })
}

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

/// Appends `value` as a JSON string (quoted and escaped).
fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl RequestLog<'_> {
    /// The JSON line: level (`error` for 5xx), request id, method, route pattern, status,
    /// duration and, with an api key, `api_key_id`. Written straight into one string (no JSON
    /// tree): it is built for every request.
    pub fn line(&self) -> String {
        let mut out = String::with_capacity(160);
        out.push_str(if self.status >= 500 {
            r#"{"level":"error","request_id":"#
        } else {
            r#"{"level":"info","request_id":"#
        });
        push_json_str(&mut out, self.request_id);
        out.push_str(r#","method":"#);
        let cut = self
            .method
            .char_indices()
            .nth(MAX_METHOD_LEN)
            .map_or(self.method.len(), |(i, _)| i);
        push_json_str(&mut out, &self.method[..cut]);
        out.push_str(r#","route":"#);
        push_json_str(&mut out, self.route.unwrap_or(UNMATCHED));
        let _ = write!(
            out,
            r#","status":{},"duration_ms":{}"#,
            self.status, self.duration_ms
        );
        if let Some(key_id) = self.api_key_id {
            out.push_str(r#","api_key_id":"#);
            push_json_str(&mut out, key_id);
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{resolve, ROUTES};
    use serde_json::Value;

    /// The line as JSON (which also proves it is valid JSON).
    fn parsed(log: RequestLog<'_>) -> Value {
        serde_json::from_str(&log.line()).unwrap()
    }

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
        let line = parsed(entry("GET", Some(matched.pattern)));
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
        let line = parsed(entry("GET", None));
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
            let line = parsed(entry(route.method, Some(route.pattern)));
            assert_eq!(line["route"], route.pattern);
            assert_eq!(line["method"], route.method);
        }
    }

    #[test]
    fn level_api_key_and_long_methods() {
        let mut log = entry("X".repeat(100).as_str(), None);
        log.status = 503;
        log.api_key_id = Some("key-1");
        let line = parsed(log);
        assert_eq!(line["level"], "error");
        assert_eq!(line["api_key_id"], "key-1");
        assert_eq!(line["method"].as_str().unwrap().len(), 16);
        assert_eq!(parsed(entry("GET", None))["level"], "info");
    }

    #[test]
    fn methods_are_escaped() {
        for method in ["GE\"T", "A\\B", "X\nY\u{1}", "ÄÖÜßéèêëàáâãåæçñø"] {
            let line = parsed(entry(method, None));
            let expected: String = method.chars().take(16).collect();
            assert_eq!(line["method"], expected.as_str());
        }
    }
}
