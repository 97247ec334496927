//! `GET /api/health`: whether D1, KV and the Durable Objects answer.
//!
//! Anyone may call it, as often as they like, so the public check is cheap and writes nothing:
//! D1 reads at most one row of `users` (a database without migrations fails), KV reads a key
//! that need not exist (a miss still proves the namespace answers), and a Durable Object reads
//! its schedule (its SQLite is written only on its very first use, when it creates its tables).
//! Each isolate keeps the last result for [`CACHE_MS`], so a flood of checks costs one round
//! of reads per isolate every few seconds.
//!
//! `?deep=1` with `Authorization: Bearer <HEALTH_TOKEN>` runs write + read round trips instead
//! (KV and the object's SQLite), never cached: for operators and benchmarks, not the public.

use std::cell::Cell;

use safemarket_engine::protocol::{GetSchedule, Ping};
use safemarket_engine::StoreId;
use serde::Deserialize;
use serde_json::json;
use worker::{Date, Response};

use crate::context::Ctx;
use crate::error::ApiError;
use crate::policy;
use crate::store_client;

/// The object the health check asks: named like a store so the protocol accepts it, and
/// never a store's, since store ids are random UUIDs.
const HEALTH_OBJECT: &str = "00000000-0000-4000-8000-0000000000a1";

/// How long an isolate answers public checks from its last result.
pub const CACHE_MS: u64 = 5_000;

/// The KV key the public check reads; nothing writes it.
const PROBE_KEY: &str = "health:probe";

/// The outcome of one round of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// D1 answered.
    pub d1: bool,
    /// KV answered.
    pub kv: bool,
    /// A Durable Object answered.
    pub durable_objects: bool,
}

impl Checks {
    /// Whether every check passed.
    pub fn all_ok(&self) -> bool {
        self.d1 && self.kv && self.durable_objects
    }

    /// The response body: `{"status", "checks": {"d1", "kv", "durable_objects"}}`.
    pub fn body(&self) -> serde_json::Value {
        let verdict = |ok: bool| if ok { "ok" } else { "failed" };
        json!({
            "status": if self.all_ok() { "ok" } else { "unavailable" },
            "checks": {
                "d1": verdict(self.d1),
                "kv": verdict(self.kv),
                "durable_objects": verdict(self.durable_objects),
            },
        })
    }
}

/// Which kind of check a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Reads only, cached briefly (the default).
    Public,
    /// Write + read round trips (`?deep=1`, token required).
    Deep,
}

/// Parses the `deep` query parameter: absent, `0` or `false` -> public, `1` or `true` -> deep.
pub fn depth(deep: Option<&str>) -> Result<Depth, ApiError> {
    match deep {
        None | Some("0") | Some("false") => Ok(Depth::Public),
        Some("1") | Some("true") => Ok(Depth::Deep),
        Some(_) => Err(ApiError::invalid("deep", "must be 1 or 0")),
    }
}

/// The cached result when it was taken at most [`CACHE_MS`] before `now` (milliseconds).
pub fn fresh(last: Option<(u64, Checks)>, now: u64) -> Option<Checks> {
    last.filter(|(at, _)| now >= *at && now - at < CACHE_MS)
        .map(|(_, checks)| checks)
}

thread_local! {
    /// The last public result of this isolate and when it was taken.
    static LAST: Cell<Option<(u64, Checks)>> = const { Cell::new(None) };
}

/// 200 when every dependency answers, 503 naming the failing checks otherwise.
pub async fn get(ctx: &Ctx) -> Result<Response, ApiError> {
    let checks = match depth(ctx.query_param("deep").as_deref())? {
        Depth::Public => {
            let now = Date::now().as_millis();
            match fresh(LAST.with(Cell::get), now) {
                Some(checks) => checks,
                None => {
                    let checks = public_checks(ctx).await;
                    LAST.with(|last| last.set(Some((now, checks))));
                    checks
                }
            }
        }
        Depth::Deep => {
            policy::require_operator(ctx)?;
            deep_checks(ctx).await
        }
    };
    let status = if checks.all_ok() { 200 } else { 503 };
    let resp = Response::from_json(&checks.body())?.with_status(status);
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

async fn public_checks(ctx: &Ctx) -> Checks {
    Checks {
        d1: verdict("d1", read_d1(ctx).await),
        kv: verdict("kv", read_kv(ctx).await),
        durable_objects: verdict("durable_objects", read_durable_object(ctx).await),
    }
}

async fn deep_checks(ctx: &Ctx) -> Checks {
    Checks {
        d1: verdict("d1", read_d1(ctx).await),
        kv: verdict("kv", round_trip_kv(ctx).await),
        durable_objects: verdict("durable_objects", round_trip_durable_object(ctx).await),
    }
}

/// Logs a failed check's cause (never shown to the client).
fn verdict(name: &str, result: Result<(), ApiError>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => {
            worker::console_error!(
                "{}",
                json!({"level": "error", "msg": "health check failed", "check": name, "cause": e.to_string()})
            );
            false
        }
    }
}

/// Reads at most one row of a real table, so a database without migrations counts as failed.
async fn read_d1(ctx: &Ctx) -> Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Row {
        #[allow(dead_code)]
        n: i64,
    }
    let row: Option<Row> = ctx
        .db()?
        .prepare("SELECT EXISTS (SELECT 1 FROM users) AS n")
        .first(None)
        .await?;
    row.map(|_| ())
        .ok_or_else(|| ApiError::internal("D1 returned no row"))
}

/// A read of a key nobody writes: a miss is an answer too.
async fn read_kv(ctx: &Ctx) -> Result<(), ApiError> {
    ctx.sessions()?
        .get(PROBE_KEY)
        .text()
        .await
        .map(|_| ())
        .map_err(ApiError::internal)
}

/// A read of the health object's schedule (it has none): no write once its tables exist.
async fn read_durable_object(ctx: &Ctx) -> Result<(), ApiError> {
    store_client::call_object(&ctx.env, &health_object()?, "UTC", GetSchedule {})
        .await
        .map(|_| ())
}

fn health_object() -> Result<StoreId, ApiError> {
    StoreId::parse(HEALTH_OBJECT).ok_or_else(|| ApiError::internal("bad health object id"))
}

async fn round_trip_kv(ctx: &Ctx) -> Result<(), ApiError> {
    let kv = ctx.sessions()?;
    let key = format!("health:{}", ctx.request_id);
    // 60 s is the shortest TTL KV accepts; the key cleans itself up.
    kv.put(&key, &ctx.request_id)
        .map_err(ApiError::internal)?
        .expiration_ttl(60)
        .execute()
        .await
        .map_err(ApiError::internal)?;
    let read = kv.get(&key).text().await.map_err(ApiError::internal)?;
    if read.as_deref() == Some(ctx.request_id.as_str()) {
        Ok(())
    } else {
        Err(ApiError::internal(
            "KV read did not return the value written",
        ))
    }
}

async fn round_trip_durable_object(ctx: &Ctx) -> Result<(), ApiError> {
    let nonce = ctx.request_id.clone();
    let ping = Ping {
        nonce: nonce.clone(),
    };
    let pong = store_client::call_object(&ctx.env, &health_object()?, "UTC", ping).await?;
    if pong.nonce == nonce {
        Ok(())
    } else {
        Err(ApiError::internal(
            "the store object did not echo the nonce",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_OK: Checks = Checks {
        d1: true,
        kv: true,
        durable_objects: true,
    };

    #[test]
    fn body_keeps_the_contract_s_shape() {
        assert_eq!(
            ALL_OK.body(),
            json!({"status": "ok", "checks": {"d1": "ok", "kv": "ok", "durable_objects": "ok"}})
        );
        let d1_down = Checks {
            d1: false,
            ..ALL_OK
        };
        assert!(!d1_down.all_ok());
        assert_eq!(
            d1_down.body(),
            json!({"status": "unavailable", "checks": {"d1": "failed", "kv": "ok", "durable_objects": "ok"}})
        );
    }

    #[test]
    fn results_are_reused_for_a_few_seconds_only() {
        assert_eq!(fresh(None, 10), None);
        assert_eq!(fresh(Some((1_000, ALL_OK)), 1_000), Some(ALL_OK));
        assert_eq!(fresh(Some((1_000, ALL_OK)), 5_999), Some(ALL_OK));
        assert_eq!(fresh(Some((1_000, ALL_OK)), 6_000), None);
        // A clock that went backwards does not keep a result forever.
        assert_eq!(fresh(Some((1_000, ALL_OK)), 999), None);
    }

    #[test]
    fn deep_is_opt_in_and_validated() {
        assert_eq!(depth(None).unwrap(), Depth::Public);
        assert_eq!(depth(Some("0")).unwrap(), Depth::Public);
        assert_eq!(depth(Some("1")).unwrap(), Depth::Deep);
        assert_eq!(depth(Some("true")).unwrap(), Depth::Deep);
        assert_eq!(depth(Some("yes")).unwrap_err().status(), 422);
    }
}
