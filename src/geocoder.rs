//! Address validation through a Nominatim-compatible geocoder (`GEOCODER_URL`).
//!
//! `GET {GEOCODER_URL}/search?q=<address>&format=json&limit=1` answers a JSON array of places;
//! the first one's `place_id` (number or string) is what we store. The provider is optional
//! and may be down or slow: any failure or a timeout (`GEOCODER_TIMEOUT_MS`, default 3 s)
//! leaves the store unverified instead of failing the request, and is logged as a JSON line.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use serde_json::{json, Value};
use worker::{AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::domain::store::StoreRow;
use crate::error::FieldError;

/// Timeout when `GEOCODER_TIMEOUT_MS` is not set.
pub const DEFAULT_TIMEOUT_MS: u64 = 3_000;
/// Nominatim's usage policy asks for an identifying User-Agent.
const USER_AGENT: &str = "SafeMarket/0.1 (+https://safemarket.dev)";

/// What the provider said about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The address exists; the provider's place id.
    Found(String),
    /// The provider answered and knows no such address.
    NotFound,
    /// No usable answer (unreachable, non-2xx, not the expected JSON, too slow); why.
    Unavailable(String),
}

/// The configured provider.
#[derive(Debug, Clone)]
pub struct Geocoder {
    base: String,
    timeout: Duration,
}

impl Geocoder {
    /// From `GEOCODER_URL` (unset or empty: no geocoding) and `GEOCODER_TIMEOUT_MS`.
    pub fn from_env(env: &Env) -> Option<Self> {
        let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
        let base = var("GEOCODER_URL").filter(|u| !u.trim().is_empty())?;
        let timeout_ms = var("GEOCODER_TIMEOUT_MS")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(100, 30_000);
        Some(Geocoder {
            base: base.trim().to_string(),
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    /// Asks the provider about `address`; failures are logged (with `request_id`) and
    /// reported as [`Outcome::Unavailable`].
    pub async fn lookup(&self, address: &str, request_id: &str) -> Outcome {
        let outcome = match search_url(&self.base, address) {
            Some(url) => self.fetch(url).await,
            None => Outcome::Unavailable(format!("GEOCODER_URL {:?} is not a URL", self.base)),
        };
        if let Outcome::Unavailable(reason) = &outcome {
            worker::console_error!(
                "{}",
                json!({"level": "warn", "msg": "geocoder unavailable", "reason": reason,
                       "request_id": request_id})
            );
        }
        outcome
    }

    async fn fetch(&self, url: String) -> Outcome {
        let controller = AbortController::default();
        let signal = controller.signal();
        let request = async {
            let req = get_request(&url).map_err(|e| e.to_string())?;
            let mut resp = Fetch::Request(req)
                .send_with_signal(&signal)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status_code();
            let body = resp
                .text()
                .await
                .map_err(|e| format!("reading body: {e}"))?;
            Ok::<_, String>((status, body))
        };
        match within(self.timeout, request).await {
            Some(Ok((status, body))) => interpret(status, &body),
            Some(Err(reason)) => Outcome::Unavailable(reason),
            None => {
                controller.abort();
                Outcome::Unavailable(format!("no answer within {:?}", self.timeout))
            }
        }
    }
}

fn get_request(url: &str) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("accept", "application/json")?;
    headers.set("user-agent", USER_AGENT)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    Request::new_with_init(url, &init)
}

/// Runs `fut` until it completes or `timeout` passes (`None`).
pub(crate) async fn within<T>(timeout: Duration, fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = pin!(fut);
    let mut delay = pin!(Delay::from(timeout));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        delay.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// `{base}/search?q=<address>&format=json&limit=1`; `None` when `base` is not an http(s) URL
/// with a host (and without a query or fragment). The URL is assembled as a string, the query
/// encoded as `url::Url::query_pairs_mut` does; `fetch` parses it (a URL parser in the Worker
/// would link the `url` crate and its IDNA tables for this one call).
pub fn search_url(base: &str, address: &str) -> Option<String> {
    let base = base.trim_end_matches('/');
    let (scheme, rest) = base.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    if rest[..host_end].is_empty()
        || base.contains(|c: char| c == '?' || c == '#' || c.is_whitespace())
    {
        return None;
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("q", address)
        .append_pair("format", "json")
        .append_pair("limit", "1")
        .finish();
    Some(format!("{base}/search?{query}"))
}

/// Reads the provider's answer: a 2xx JSON array; its first element's `place_id`.
pub fn interpret(status: u16, body: &str) -> Outcome {
    if !(200..300).contains(&status) {
        return Outcome::Unavailable(format!("HTTP {status}"));
    }
    let places = match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(places)) => places,
        Ok(_) => return Outcome::Unavailable("answer is not a JSON array".into()),
        Err(e) => return Outcome::Unavailable(format!("answer is not JSON: {e}")),
    };
    let Some(first) = places.first() else {
        return Outcome::NotFound;
    };
    match &first["place_id"] {
        Value::Number(n) => Outcome::Found(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Outcome::Found(s.trim().to_string()),
        _ => Outcome::Unavailable("first place has no place_id".into()),
    }
}

/// Records an outcome on the store: found verifies it with the place id; anything else leaves
/// it unverified. An address the provider does not know is refused (`Err`) only when the client
/// just sent it (`address_is_new`); a retry for an address accepted earlier keeps the store.
pub fn apply(outcome: Outcome, row: &mut StoreRow, address_is_new: bool) -> Result<(), FieldError> {
    match outcome {
        Outcome::Found(place_id) => {
            row.place_id = Some(place_id);
            row.verified = 1;
            return Ok(());
        }
        Outcome::NotFound if address_is_new => {
            return Err(FieldError::new("address", "address not found"));
        }
        Outcome::NotFound | Outcome::Unavailable(_) => {}
    }
    row.place_id = None;
    row.verified = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_url_encodes_the_address() {
        let url = search_url("http://127.0.0.1:9999/", "Torstraße 1, Berlin & Co").unwrap();
        let url = worker::Url::parse(&url).unwrap();
        assert_eq!(url.path(), "/search");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("q".into(), "Torstraße 1, Berlin & Co".into()));
        assert_eq!(pairs[1], ("format".into(), "json".into()));
        let nested = search_url("https://geo.example/nominatim", "x").unwrap();
        assert_eq!(
            nested,
            "https://geo.example/nominatim/search?q=x&format=json&limit=1"
        );
        assert!(search_url("not a url", "x").is_none());
        assert!(search_url("ftp://geo.example", "x").is_none());
        assert!(search_url("http:///nohost", "x").is_none());
    }

    #[test]
    fn answers_are_interpreted() {
        assert_eq!(
            interpret(200, r#"[{"place_id": 123}]"#),
            Outcome::Found("123".into())
        );
        assert_eq!(
            interpret(200, r#"[{"place_id": "ab7"}, {}]"#),
            Outcome::Found("ab7".into())
        );
        assert_eq!(interpret(200, "[]"), Outcome::NotFound);
        for (status, body) in [
            (500, "[]"),
            (404, r#"[{"place_id": 1}]"#),
            (200, "<html>"),
            (200, r#"{"error": "x"}"#),
            (200, r#"[{"name": "no id"}]"#),
            (200, r#"[{"place_id": null}]"#),
        ] {
            assert!(
                matches!(interpret(status, body), Outcome::Unavailable(_)),
                "{status} {body}"
            );
        }
    }

    fn row(verified: i64, place_id: Option<&str>) -> StoreRow {
        StoreRow {
            id: "s".into(),
            legacy_id: 1,
            name: "n".into(),
            category: "other".into(),
            address: "a".into(),
            latitude: 0.0,
            longitude: 0.0,
            timezone: "UTC".into(),
            owner_id: "o".into(),
            place_id: place_id.map(String::from),
            verified,
            created_at: "t".into(),
            updated_at: "t".into(),
            closed_at: None,
        }
    }

    #[test]
    fn outcomes_are_applied() {
        let mut r = row(0, None);
        apply(Outcome::Found("9".into()), &mut r, true).unwrap();
        assert_eq!((r.verified, r.place_id.as_deref()), (1, Some("9")));
        let mut r = row(0, None);
        assert_eq!(
            apply(Outcome::NotFound, &mut r, true).unwrap_err().field,
            "address"
        );
        apply(Outcome::NotFound, &mut r, false).unwrap();
        assert_eq!((r.verified, r.place_id), (0, None));
        let mut r = row(1, Some("9"));
        apply(Outcome::Unavailable("down".into()), &mut r, true).unwrap();
        assert_eq!((r.verified, r.place_id), (0, None));
    }
}
