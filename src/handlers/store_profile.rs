//! `/api/v1/stores/{store_id}/profile`: the store's free-form document in KV. Anyone reads it;
//! owner and staff write it with the protocol of `/api/v1/me/profile` (ETag, If-Match, merge
//! patch, objects of at most 64 KiB). The top-level `external` key is reserved for partner
//! documents (written through api keys), so owner and staff cannot write it.

use worker::Response;

use crate::context::Ctx;
use crate::documents::{self, store_profile_key, Write};
use crate::error::ApiError;
use crate::handlers::external;
use crate::policy::{self, Action};

/// Top-level keys of a store profile that only integrations write.
pub const RESERVED_KEYS: &[&str] = &["external"];

/// `GET /api/v1/stores/{store_id}/profile` (anyone).
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let store = policy::public_store(&ctx, &ctx.db()?).await?;
    let doc = documents::load(&ctx.documents()?, &store_profile_key(&store.id)).await?;
    let partners = external::profile_overlay(&ctx, &store.id).await?;
    documents::respond(&documents::with_overlay(doc, &partners))
}

/// `PUT` (replace) and `PATCH` (JSON Merge Patch) `/api/v1/stores/{store_id}/profile`
/// (owner, staff).
pub async fn write(mut ctx: Ctx, mode: Write) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::WriteStoreProfile).await?;
    let kv = ctx.documents()?;
    let key = store_profile_key(&store.id);
    let partners = external::profile_overlay(&ctx, &store.id).await?;
    let doc =
        documents::write_reserving(&mut ctx.req, &kv, &key, mode, RESERVED_KEYS, &partners).await?;
    documents::respond(&doc)
}
