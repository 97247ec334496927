//! The typed per-request context: bindings, path parameters and request metadata, read once.

use worker::{kv::KvStore, D1Database, Env, Request};

use crate::auth::api_keys::ApiKey;
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
    /// The api key the request was made with, once admitted (`auth::api_keys::admit`).
    pub api_key: Option<ApiKey>,
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
        let url = self.req.url().ok()?;
        let value = url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned());
        value
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
