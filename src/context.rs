//! The typed per-request context: bindings, path parameters and request metadata, read once.

use std::cell::Cell;

use worker::{kv::KvStore, D1Database, Env, Request};

use crate::auth::AuthUser;
use crate::domain::integration::ApiKey;
use crate::error::ApiError;
use crate::router::Params;

/// Binding names as declared in `wrangler.toml`.
pub mod bindings {
    /// D1: users, stores, members, api keys, booking index.
    pub const DB: &str = "DB";
    /// KV: sessions (short-lived, TTL'd).
    pub const SESSIONS: &str = "SESSIONS";
    /// KV: free-form profile documents of users and stores.
    pub const DOCUMENTS: &str = "DOCUMENTS";
    /// Durable Object namespace: one object per store.
    pub const STORES: &str = "STORES";
    /// Durable Object namespace: one rate limiter per api key.
    pub const KEY_LIMITER: &str = "KEY_LIMITER";
    /// R2: archived bookings (`history/{store_id}/{YYYY-MM}/...`, NDJSON).
    pub const HISTORY: &str = "HISTORY";
    /// Static assets (the Hugo site, Swagger UI).
    pub const ASSETS: &str = "ASSETS";
}

/// Everything a handler needs about the request it serves.
pub struct Ctx {
    /// The incoming request (body not yet read).
    pub req: Request,
    /// The Worker environment (bindings, vars, secrets).
    pub env: Env,
    /// Path parameters captured by the route pattern.
    pub params: Params,
    /// Correlates the log line with the response (`x-request-id`).
    pub request_id: String,
    /// The api key the request was made with, once authenticated (`policy::admit`).
    pub api_key: Option<ApiKey>,
    /// The signed-in user, when `policy::admit` checked the session already (concurrently
    /// with the public rate limit); taken by the handler's `policy::user`.
    pub signed_in: Cell<Option<Result<AuthUser, ApiError>>>,
}

impl Ctx {
    /// The D1 database.
    pub fn db(&self) -> Result<D1Database, ApiError> {
        self.env.d1(bindings::DB).map_err(ApiError::from)
    }

    /// The sessions KV namespace.
    pub fn sessions(&self) -> Result<KvStore, ApiError> {
        self.env.kv(bindings::SESSIONS).map_err(ApiError::from)
    }

    /// The documents KV namespace.
    pub fn documents(&self) -> Result<KvStore, ApiError> {
        self.env.kv(bindings::DOCUMENTS).map_err(ApiError::from)
    }

    /// The first value of a query parameter (percent-decoded), if present.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_param(&self.req.inner().url(), name)
    }

    /// A request header value, if present and readable.
    pub fn header(&self, name: &str) -> Option<String> {
        self.req.headers().get(name).ok().flatten()
    }

    /// A path parameter; the route table guarantees it exists for the matched pattern.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .get(name)
            .ok_or_else(|| ApiError::internal(format!("route has no parameter {name}")))
    }
}

/// The first value of the query parameter `name` of `url`, an already-serialized WHATWG URL (as
/// `Request.url` is): its query is what follows the first `?` up to a `#`, decoded as
/// `application/x-www-form-urlencoded` like `url::Url::query_pairs` does, without linking the
/// whole URL parser (and its IDNA tables) into the Worker.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The scheme, authority and port of `url`, an already-serialized WHATWG URL with a special
/// scheme (whose path always starts with the first `/` after `://`).
pub fn origin_of(url: &str) -> &str {
    let host_start = url.find("://").map_or(0, |i| i + 3);
    match url[host_start..].find(['/', '?', '#']) {
        Some(i) => &url[..host_start + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_param_matches_url_query_pairs() {
        let urls = [
            "https://h.example/api/v1/x?limit=10&cursor=a%2Bb+c&limit=2",
            "https://h.example/api?q=Torstra%C3%9Fe%201&empty=&flag#frag?limit=9",
            "https://h.example/api/v1/x",
            "https://h.example/api/v1/x?",
            "http://u:p@h.example:8787/a%3Fb?cursor=%E2%82%AC&x=%zz",
        ];
        for url in urls {
            let parsed = worker::Url::parse(url).unwrap();
            for name in ["limit", "cursor", "q", "empty", "flag", "x", "missing"] {
                let expected = parsed
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned());
                assert_eq!(query_param(url, name), expected, "{url} {name}");
            }
        }
    }

    #[test]
    fn origin_of_keeps_scheme_authority_and_port() {
        for url in [
            "https://h.example/api/docs?x=1",
            "http://127.0.0.1:8787/api/openapi.json",
            "http://u:p@h.example:8787/a/b",
        ] {
            let mut parsed = worker::Url::parse(url).unwrap();
            parsed.set_path("/api-docs/x.json");
            parsed.set_query(None);
            assert_eq!(
                format!("{}/api-docs/x.json", origin_of(url)),
                parsed.as_str()
            );
        }
    }
}
