//! `/api/v1/stores/{store_id}/api-keys`: the owner creates, lists and revokes the store's api
//! keys. The key itself is in the create answer only; D1 keeps its SHA-256.

use serde::Serialize;
use worker::{D1Database, Response};

use crate::auth::{api_keys as keys, AuthUser};
use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::integration::{KeyName, Scopes};
use crate::domain::store::StoreRow;
use crate::error::ApiError;
use crate::pagination::{Listing, Page};
use crate::policy::{self, Action};
use crate::repo::api_keys::{self as repo, ApiKeyRow, NewKey};
use crate::respond;

use safemarket_api::api_keys::CreateKey;

/// A key as listed: never its secret.
#[derive(Serialize)]
struct KeyView<'a> {
    id: &'a str,
    name: &'a str,
    prefix: &'a str,
    scopes: Vec<&'static str>,
    created_at: &'a str,
    revoked_at: Option<&'a str>,
}

impl<'a> KeyView<'a> {
    fn of(row: &'a ApiKeyRow) -> Self {
        KeyView {
            id: &row.id,
            name: &row.name,
            prefix: &row.prefix,
            scopes: Scopes::from_db(&row.scopes)
                .map(|s| s.names())
                .unwrap_or_default(),
            created_at: &row.created_at,
            revoked_at: row.revoked_at.as_deref(),
        }
    }
}

/// The create answer: the listing fields plus the key, shown this once.
#[derive(Serialize)]
struct CreatedKey<'a> {
    #[serde(flatten)]
    view: KeyView<'a>,
    key: &'a str,
}

/// The store named by the path for `action` of its owner, the database and the caller.
async fn owned_store(
    ctx: &Ctx,
    action: Action,
) -> Result<(StoreRow, D1Database, AuthUser), ApiError> {
    let caller = policy::user(ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(ctx, &db, &caller, action).await?;
    Ok((store, db, caller))
}

/// `POST /api/v1/stores/{store_id}/api-keys` (owner) `{name, scopes}`: 201 `{id, key, name,
/// prefix, scopes, created_at, revoked_at: null}`; 409 `store-closed` for a closed store.
pub async fn create(mut ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db, caller) = owned_store(&ctx, Action::CreateApiKey).await?;
    let input: CreateKey = body::json(&mut ctx.req).await?;
    let (name, scopes) = match (KeyName::parse(&input.name), Scopes::parse(&input.scopes)) {
        (Ok(name), Ok(scopes)) => (name, scopes),
        (name, scopes) => {
            let errors = [name.err(), scopes.err()].into_iter().flatten().collect();
            return Err(ApiError::invalid_fields(errors));
        }
    };
    let secret = keys::generate().map_err(ApiError::internal)?;
    let row = ApiKeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        store_id: store.id.clone(),
        name: name.as_str().to_string(),
        prefix: secret.prefix.clone(),
        scopes: scopes.to_db(),
        created_at: clock::now_rfc3339(),
        revoked_at: None,
    };
    repo::insert(
        &db,
        &NewKey {
            row: &row,
            secret_hash: &secret.hash,
            created_by: &caller.id,
        },
    )
    .await?;
    let created = CreatedKey {
        view: KeyView::of(&row),
        key: &secret.key,
    };
    let resp = respond::json(&created, 201)?;
    // The only time the key is ever sent: keep it out of every cache.
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}

/// `GET /api/v1/stores/{store_id}/api-keys?limit=&cursor=` (owner): the store's keys, revoked
/// ones included, oldest first (same-second ties in id order), without secrets.
pub async fn list(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db, _) = owned_store(&ctx, Action::ListApiKeys).await?;
    let page = Page::from_query(
        ctx.query_param("limit").as_deref(),
        ctx.query_param("cursor").as_deref(),
    )?;
    let (rows, next_cursor) = repo::of_store(&db, &store.id, &page).await?;
    let listing = Listing {
        items: rows.iter().map(KeyView::of).collect(),
        next_cursor,
    };
    respond::json(&listing, 200)
}

/// `DELETE /api/v1/stores/{store_id}/api-keys/{key_id}` (owner): 204; the key is refused from
/// the next request on. Repeating it answers 204 again; 404 for keys of other stores.
pub async fn revoke(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, db, _) = owned_store(&ctx, Action::RevokeApiKey).await?;
    let key_id = ctx.param("key_id")?;
    let not_found = || ApiError::NotFound(format!("This store has no api key {key_id}."));
    let key_id = uuid::Uuid::parse_str(key_id)
        .map_err(|_| not_found())?
        .hyphenated()
        .to_string();
    if !repo::revoke(&db, &store.id, &key_id, &clock::now_rfc3339()).await? {
        return Err(not_found());
    }
    respond::no_content()
}
