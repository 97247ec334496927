//! `GET /api/health`: round-trips D1, KV and a Durable Object.

use safemarket_engine::protocol::Ping;
use safemarket_engine::StoreId;
use serde::Deserialize;
use serde_json::json;
use worker::Response;

use crate::context::Ctx;
use crate::error::ApiError;
use crate::store_client;

/// The object the health check pings: named like a store so the protocol accepts it, and
/// never a store's, since store ids are random UUIDs.
const HEALTH_OBJECT: &str = "00000000-0000-4000-8000-0000000000a1";

/// 200 when every dependency answers, 503 naming the failing checks otherwise.
pub async fn get(ctx: &Ctx) -> Result<Response, ApiError> {
    let d1 = check_d1(ctx).await;
    let kv = check_kv(ctx).await;
    let durable_objects = check_durable_object(ctx).await;
    let mut all_ok = true;
    let mut verdict = |name: &str, r: Result<(), ApiError>| match r {
        Ok(()) => "ok",
        Err(e) => {
            all_ok = false;
            worker::console_error!(
                "{}",
                json!({"level": "error", "msg": "health check failed", "check": name, "cause": e.to_string()})
            );
            "failed"
        }
    };
    let checks = json!({
        "d1": verdict("d1", d1),
        "kv": verdict("kv", kv),
        "durable_objects": verdict("durable_objects", durable_objects),
    });
    let body = json!({"status": if all_ok { "ok" } else { "unavailable" }, "checks": checks});
    let resp = Response::from_json(&body)?.with_status(if all_ok { 200 } else { 503 });
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// Reads from a real table, so a database without migrations counts as failed.
async fn check_d1(ctx: &Ctx) -> Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Row {
        #[allow(dead_code)]
        n: i64,
    }
    let row: Option<Row> = ctx
        .db()?
        .prepare("SELECT count(*) AS n FROM users")
        .first(None)
        .await?;
    row.map(|_| ())
        .ok_or_else(|| ApiError::internal("D1 returned no row"))
}

async fn check_kv(ctx: &Ctx) -> Result<(), ApiError> {
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

async fn check_durable_object(ctx: &Ctx) -> Result<(), ApiError> {
    let nonce = ctx.request_id.clone();
    let id =
        StoreId::parse(HEALTH_OBJECT).ok_or_else(|| ApiError::internal("bad health object id"))?;
    let ping = Ping {
        nonce: nonce.clone(),
    };
    let pong = store_client::call_object(&ctx.env, &id, "UTC", ping).await?;
    if pong.nonce == nonce {
        Ok(())
    } else {
        Err(ApiError::internal(
            "the store object did not echo the nonce",
        ))
    }
}
