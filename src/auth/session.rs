//! Sessions in KV: one key per session, `session:<user id>:<session id>`, with a TTL.
//!
//! Every authenticated request reads its session, so deleting the key (logout, erasure, token
//! theft detection) takes effect on the next request at the location that deleted it. KV is
//! eventually consistent across locations (up to ~60 s), which bounds how long a revoked
//! access token can still work elsewhere; access tokens live 15 minutes at most anyway.

use serde::{Deserialize, Serialize};
use worker::kv::KvStore;

use crate::auth::tokens::{RefreshToken, SESSION_TTL_SECS};
use crate::domain::user::UserKind;
use crate::error::ApiError;

/// How many spent refresh-token hashes a session remembers for reuse detection.
const SPENT_KEPT: usize = 20;

/// A session as stored in KV.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Owner.
    pub user_id: String,
    /// Session id.
    pub session_id: String,
    /// The owner's kind at login (guests cannot become registered within a session).
    pub kind: UserKind,
    /// SHA-256 of the current refresh secret.
    pub refresh_hash: String,
    /// Hashes of refresh secrets already exchanged: presenting one again revokes the session.
    #[serde(default)]
    pub spent: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// The KV key of a session.
pub fn key(user_id: &str, session_id: &str) -> String {
    format!("session:{user_id}:{session_id}")
}

fn kv_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("sessions KV: {e}"))
}

/// Loads a session, `None` when it does not exist (expired, logged out, revoked).
pub async fn load(
    kv: &KvStore,
    user_id: &str,
    session_id: &str,
) -> Result<Option<Session>, ApiError> {
    kv.get(&key(user_id, session_id))
        .json::<Session>()
        .await
        .map_err(kv_err)
}

/// Stores (creates or replaces) a session with the session TTL. KV writes can fail
/// transiently (rate of writes to one key, storage hiccups), so a failed write is retried
/// twice after a short pause before the request fails.
pub async fn save(kv: &KvStore, session: &Session) -> Result<(), ApiError> {
    let key = key(&session.user_id, &session.session_id);
    let mut attempt = 0u64;
    loop {
        let result = kv
            .put(&key, session)
            .map_err(kv_err)?
            .expiration_ttl(SESSION_TTL_SECS)
            .execute()
            .await;
        match result {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 2 => return Err(kv_err(e)),
            Err(_) => {
                attempt += 1;
                worker::Delay::from(std::time::Duration::from_millis(50 * attempt)).await;
            }
        }
    }
}

/// Starts a session for a user; returns it with its first refresh token.
pub async fn start(
    kv: &KvStore,
    user_id: &str,
    kind: UserKind,
    now_rfc3339: &str,
) -> Result<(Session, RefreshToken), ApiError> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let refresh = RefreshToken::generate(user_id, &session_id).map_err(ApiError::internal)?;
    let session = Session {
        user_id: user_id.to_string(),
        session_id,
        kind,
        refresh_hash: refresh.secret_hash(),
        spent: Vec::new(),
        created_at: now_rfc3339.to_string(),
    };
    save(kv, &session).await?;
    Ok((session, refresh))
}

/// Outcome of presenting a refresh token.
pub enum Rotation {
    /// The token was current: here is the session with its new refresh token.
    Rotated(Session, RefreshToken),
    /// Unknown session or unknown token.
    Invalid,
    /// A spent token was presented again: the session has been revoked.
    Reused,
}

/// Exchanges a refresh token for a new one (rotation with reuse detection).
pub async fn rotate(kv: &KvStore, presented: &RefreshToken) -> Result<Rotation, ApiError> {
    let Some(mut session) = load(kv, &presented.user_id, &presented.session_id).await? else {
        return Ok(Rotation::Invalid);
    };
    let hash = presented.secret_hash();
    if hash == session.refresh_hash {
        let next = RefreshToken::generate(&session.user_id, &session.session_id)
            .map_err(ApiError::internal)?;
        session.spent.push(std::mem::replace(
            &mut session.refresh_hash,
            next.secret_hash(),
        ));
        let excess = session.spent.len().saturating_sub(SPENT_KEPT);
        session.spent.drain(..excess);
        save(kv, &session).await?;
        Ok(Rotation::Rotated(session, next))
    } else if session.spent.contains(&hash) {
        revoke(kv, &session.user_id, &session.session_id).await?;
        Ok(Rotation::Reused)
    } else {
        Ok(Rotation::Invalid)
    }
}

/// Deletes one session.
pub async fn revoke(kv: &KvStore, user_id: &str, session_id: &str) -> Result<(), ApiError> {
    kv.delete(&key(user_id, session_id)).await.map_err(kv_err)
}

/// Deletes every session of a user (erasure).
pub async fn revoke_all(kv: &KvStore, user_id: &str) -> Result<(), ApiError> {
    let prefix = format!("session:{user_id}:");
    let mut cursor: Option<String> = None;
    loop {
        let mut list = kv.list().prefix(prefix.clone()).limit(1000);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await.map_err(kv_err)?;
        for k in &page.keys {
            kv.delete(&k.name).await.map_err(kv_err)?;
        }
        match page.cursor {
            Some(c) if !page.list_complete => cursor = Some(c),
            _ => return Ok(()),
        }
    }
}
