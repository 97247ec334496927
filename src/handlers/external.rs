//! `PUT /api/v1/stores/{store_id}/external/{source}`: a partner team's JSON document about a
//! store, written with the store's api key (`profile:write`). Each document has its own KV key
//! (so partner and owner writes never overwrite each other) and a row in D1 (so the store
//! profile lists them consistently); `GET .../profile` shows them under `external.{source}`.

use futures_util::future::join_all;
use serde_json::{Map, Value};
use worker::Response;

use crate::clock;
use crate::context::Ctx;
use crate::documents::{self, partner_document_key};
use crate::domain::integration::Source;
use crate::error::ApiError;
use crate::policy::{self, Action};
use crate::repo::api_keys as repo;

/// The most partner documents one store can have: every public profile read loads them all.
pub const MAX_DOCUMENTS_PER_STORE: u32 = 20;

/// `PUT /api/v1/stores/{store_id}/external/{source}` (api key with `profile:write` of that
/// store): stores the JSON object (at most 64 KiB) and answers 200 with it. 422 for a bad
/// source or a body that is not an object, 409 `store-closed`, 409 `too-many-documents`.
pub async fn put(mut ctx: Ctx) -> Result<Response, ApiError> {
    let key = policy::partner_key(&ctx).await?;
    let source =
        Source::parse(ctx.param("source")?).map_err(|e| ApiError::invalid_fields(vec![e]))?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &key, Action::WritePartnerDocument).await?;
    let doc = documents::read_object(&mut ctx.req).await?;
    // D1 first: it enforces the per-store limit; a document listed there but not (yet) in KV
    // is simply left out of the profile.
    let now = clock::now_rfc3339();
    let max = MAX_DOCUMENTS_PER_STORE;
    if !repo::upsert_external(&db, &store.id, source.as_str(), &key.id, &now, max).await? {
        return Err(ApiError::Conflict {
            slug: "too-many-documents",
            detail: format!("A store can have at most {max} partner documents."),
        });
    }
    let kv = ctx.documents()?;
    documents::store(&kv, &partner_document_key(&store.id, source.as_str()), &doc).await?;
    documents::respond(&doc)
}

/// What the store profile shows on top of the owner's document: `{"external": {source: doc}}`
/// with every partner document of `store_id`, or nothing when it has none.
pub async fn profile_overlay(ctx: &Ctx, store_id: &str) -> Result<Map<String, Value>, ApiError> {
    let sources = repo::external_sources(&ctx.db()?, store_id).await?;
    let mut overlay = Map::new();
    if sources.is_empty() {
        return Ok(overlay);
    }
    let kv = ctx.documents()?;
    let keys: Vec<String> = sources
        .iter()
        .map(|source| partner_document_key(store_id, source))
        .collect();
    let loaded = join_all(keys.iter().map(|key| documents::load_existing(&kv, key))).await;
    let mut external = Map::new();
    for (source, doc) in sources.into_iter().zip(loaded) {
        // Listed in D1 but not visible in KV here yet (KV is eventually consistent): skip.
        if let Some(doc) = doc? {
            external.insert(source, Value::Object(doc));
        }
    }
    overlay.insert("external".into(), Value::Object(external));
    Ok(overlay)
}
