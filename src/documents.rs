//! Free-form JSON object documents in KV (user and store profiles, partner documents), with
//! strong `ETag`s, `If-Match` preconditions and JSON Merge Patch (RFC 7396).
//!
//! KV has no compare-and-set: `If-Match` protects against stale writers that read a while ago,
//! not against two writers racing within the same few milliseconds.

use serde_json::{Map, Value};
use worker::kv::KvStore;
use worker::{Request, Response};

use crate::auth::tokens::sha256_hex;
use crate::body;
use crate::error::ApiError;

/// KV key of a user's profile.
pub fn user_profile_key(user_id: &str) -> String {
    format!("profile:user:{user_id}")
}

/// KV key of a store's own profile.
pub fn store_profile_key(store_id: &str) -> String {
    format!("profile:store:{store_id}")
}

/// KV key of a partner team's document about a store (its own key, so partner and owner
/// writes never overwrite each other).
pub fn partner_document_key(store_id: &str, source: &str) -> String {
    format!("external:store:{store_id}:{source}")
}

fn kv_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("documents KV: {e}"))
}

/// The strong entity tag of a document (hash of its serialised form).
pub fn etag(doc: &Map<String, Value>) -> String {
    let bytes = serde_json::to_vec(doc).unwrap_or_default();
    format!("\"{}\"", &sha256_hex(&bytes)[..32])
}

/// Whether an `If-Match` header value admits the current tag (RFC 9110 strong comparison).
pub fn if_match_admits(header: &str, current: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || (!tag.starts_with("W/") && tag == current))
}

/// Loads a document; a missing one is the empty object.
pub async fn load(kv: &KvStore, key: &str) -> Result<Map<String, Value>, ApiError> {
    Ok(load_existing(kv, key).await?.unwrap_or_default())
}

/// Loads a document, `None` when there is none.
pub async fn load_existing(
    kv: &KvStore,
    key: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    // Stored and read as text so the bytes (and so the ETag) survive the round trip exactly.
    match kv.get(key).text().await.map_err(kv_err)? {
        Some(text) => serde_json::from_str(&text).map(Some).map_err(kv_err),
        None => Ok(None),
    }
}

/// Stores a document.
pub async fn store(kv: &KvStore, key: &str, doc: &Map<String, Value>) -> Result<(), ApiError> {
    let text = serde_json::to_string(doc).map_err(kv_err)?;
    kv.put(key, text)
        .map_err(kv_err)?
        .execute()
        .await
        .map_err(kv_err)
}

/// Deletes a document.
pub async fn delete(kv: &KvStore, key: &str) -> Result<(), ApiError> {
    kv.delete(key).await.map_err(kv_err)
}

/// Reads a request body that must be a JSON object of at most 64 KiB.
pub async fn read_object(req: &mut Request) -> Result<Map<String, Value>, ApiError> {
    let bytes = body::read_bytes(req, body::DOCUMENT_LIMIT).await?;
    match body::parse::<Value>(&bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid("body", "must be a JSON object")),
    }
}

/// 412 unless the request's `If-Match` (when present) admits `current`.
pub fn check_precondition(req: &Request, current: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(header) = req.headers().get("if-match").ok().flatten() {
        if !if_match_admits(&header, &etag(current)) {
            return Err(ApiError::PreconditionFailed(
                "The document changed since you read it; read it again and retry.".into(),
            ));
        }
    }
    Ok(())
}

/// Applies a JSON Merge Patch; the result must still be an object.
pub fn merge_patch(doc: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    let mut value = Value::Object(doc.clone());
    json_patch::merge(&mut value, &Value::Object(patch.clone()));
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A 200 answer with the document and its `ETag`.
pub fn respond(doc: &Map<String, Value>) -> Result<Response, ApiError> {
    let resp = Response::from_json(doc)?;
    resp.headers().set("etag", &etag(doc))?;
    resp.headers().set("cache-control", "no-cache")?;
    Ok(resp)
}

/// What a write does with the current document.
pub enum Write {
    /// PUT: replace.
    Replace,
    /// PATCH: JSON Merge Patch.
    Merge,
}

/// GET/PUT/PATCH of a plain document at `key`: the whole protocol for owner-edited documents.
pub async fn write(
    req: &mut Request,
    kv: &KvStore,
    key: &str,
    mode: Write,
) -> Result<Map<String, Value>, ApiError> {
    write_reserving(req, kv, key, mode, &[], &Map::new()).await
}

/// The document as clients see it: `doc` with the top-level members of `overlay` (maintained
/// elsewhere, never stored in `doc`) on top.
pub fn with_overlay(
    mut doc: Map<String, Value>,
    overlay: &Map<String, Value>,
) -> Map<String, Value> {
    doc.extend(overlay.iter().map(|(k, v)| (k.clone(), v.clone())));
    doc
}

/// [`write`] for a document whose top-level `reserved` keys are maintained elsewhere (a store
/// profile's `external` partner documents): the request may not contain them (422), and a
/// replace keeps their current values. `overlay` holds what is maintained elsewhere right now:
/// `If-Match` is checked against, and the answer is, the document with it (as `GET` shows it),
/// while only the document itself is stored.
pub async fn write_reserving(
    req: &mut Request,
    kv: &KvStore,
    key: &str,
    mode: Write,
    reserved: &[&str],
    overlay: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let input = read_object(req).await?;
    if let Some(name) = reserved.iter().find(|k| input.contains_key(**k)) {
        return Err(ApiError::invalid(
            *name,
            "is maintained by partner integrations and cannot be written here",
        ));
    }
    let current = load(kv, key).await?;
    check_precondition(req, &with_overlay(current.clone(), overlay))?;
    let mut next = match mode {
        Write::Replace => input,
        Write::Merge => merge_patch(&current, &input),
    };
    for name in reserved {
        if let Some(kept) = current.get(*name) {
            next.insert((*name).to_string(), kept.clone());
        }
    }
    let size = serde_json::to_vec(&next)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > body::DOCUMENT_LIMIT {
        return Err(ApiError::PayloadTooLarge {
            limit: body::DOCUMENT_LIMIT,
        });
    }
    store(kv, key, &next).await?;
    Ok(with_overlay(next, overlay))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let doc = obj(json!({"a": "b", "c": {"d": "e", "f": "g"}}));
        let patch = obj(json!({"a": "z", "c": {"f": null}}));
        assert_eq!(
            Value::Object(merge_patch(&doc, &patch)),
            json!({"a": "z", "c": {"d": "e"}})
        );
    }

    #[test]
    fn overlay_members_win_and_change_the_etag() {
        let doc = obj(json!({"name": "Bakery", "external": "stale"}));
        let overlay = obj(json!({"external": {"maps": {"stars": 4}}}));
        let shown = with_overlay(doc.clone(), &overlay);
        assert_eq!(
            Value::Object(shown.clone()),
            json!({"name": "Bakery", "external": {"maps": {"stars": 4}}})
        );
        assert_ne!(etag(&shown), etag(&doc));
        assert_eq!(with_overlay(doc.clone(), &Map::new()), doc);
    }

    #[test]
    fn etag_changes_with_content_and_if_match_compares_strongly() {
        let a = etag(&obj(json!({"x": 1})));
        let b = etag(&obj(json!({"x": 2})));
        assert_ne!(a, b);
        assert!(if_match_admits(&a, &a));
        assert!(if_match_admits(&format!("\"nope\", {a}"), &a));
        assert!(if_match_admits("*", &a));
        assert!(!if_match_admits(&b, &a));
        assert!(!if_match_admits(&format!("W/{a}"), &a));
    }
}
