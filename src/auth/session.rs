//! Sessions: a D1 row that decides, a KV copy that serves reads near the user.
//!
//! - D1 `sessions` (migration 0006) is the authority. Spending a refresh token is one
//!   conditional `UPDATE ... WHERE refresh_hash = <presented>`, so of any number of
//!   concurrent refreshes with one token, at any locations, exactly one wins; ending a
//!   session (logout, reuse detection, erasure) deletes its row, which every token check sees
//!   at once because D1 has a single primary.
//! - KV `session:<user id>:<session id>` holds the session's record with the same TTL and is
//!   what a request reads about its session; it is written on start and rotation and deleted
//!   with the row. KV alone could not make these decisions: it has no compare-and-swap and is
//!   cached for up to ~60 s at other locations.
//!
//! Every authenticated request therefore reads both, concurrently (the check costs the slower
//! of the two reads, not their sum).

use futures_util::future::join;
use serde::{Deserialize, Serialize};
use worker::kv::KvStore;
use worker::D1Database;

use crate::auth::tokens::{RefreshToken, SESSION_TTL_SECS};
use crate::domain::user::UserKind;
use crate::error::ApiError;

/// How many spent refresh-token hashes a session remembers for reuse detection.
const SPENT_KEPT: usize = 20;
/// Length of the `spent` column when full: `SPENT_KEPT` hex SHA-256 hashes, each followed by
/// a comma, so truncating at this length never cuts a hash.
const SPENT_CHARS: usize = SPENT_KEPT * 65;

/// A session as stored in KV.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Owner.
    pub user_id: String,
    /// Session id.
    pub session_id: String,
    /// The owner's kind at login (guests cannot become registered within a session).
    pub kind: UserKind,
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

fn kind_str(kind: UserKind) -> &'static str {
    match kind {
        UserKind::Registered => "registered",
        UserKind::Guest => "guest",
    }
}

fn ttl_secs() -> i64 {
    i64::try_from(SESSION_TTL_SECS).unwrap_or(i64::MAX)
}

/// Loads the session of an access token: `None` when it does not exist (expired, logged out,
/// revoked, or its user erased). Both the D1 row and the KV record must be there.
pub async fn load(
    kv: &KvStore,
    db: &D1Database,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> Result<Option<Session>, ApiError> {
    // Only whether the row exists matters: its value is skipped, not built.
    let live = async {
        db.prepare(
            "SELECT 1 AS live FROM sessions WHERE id = ?1 AND user_id = ?2 AND expires_at > ?3",
        )
        .bind(&[session_id.into(), user_id.into(), (now as f64).into()])?
        .first::<serde::de::IgnoredAny>(None)
        .await
        .map(|row| row.is_some())
    };
    let record = kv.get(&key(user_id, session_id)).json::<Session>();
    let (live, record) = join(live, record).await;
    if !live? {
        return Ok(None);
    }
    record.map_err(kv_err)
}

/// Writes the KV record with the session TTL. KV writes can fail transiently (rate of writes
/// to one key, storage hiccups), so a failed write is retried twice after a short pause.
async fn save(kv: &KvStore, session: &Session) -> Result<(), ApiError> {
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
    db: &D1Database,
    user_id: &str,
    kind: UserKind,
    now: i64,
    now_rfc3339: &str,
) -> Result<(Session, RefreshToken), ApiError> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let refresh = RefreshToken::generate(user_id, &session_id).map_err(ApiError::internal)?;
    db.prepare(
        "INSERT INTO sessions (id, user_id, kind, refresh_hash, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&[
        session_id.as_str().into(),
        user_id.into(),
        kind_str(kind).into(),
        refresh.secret_hash().into(),
        (now.saturating_add(ttl_secs()) as f64).into(),
        now_rfc3339.into(),
    ])?
    .run()
    .await?;
    let session = Session {
        user_id: user_id.to_string(),
        session_id,
        kind,
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

#[derive(Deserialize)]
struct RotatedRow {
    kind: UserKind,
    created_at: String,
}

#[derive(Deserialize)]
struct SpentRow {
    reused: i64,
}

/// Exchanges a refresh token for a new one: spent exactly once (one conditional update in
/// D1), with reuse detection, and the session's lifetime extended.
pub async fn rotate(
    kv: &KvStore,
    db: &D1Database,
    presented: &RefreshToken,
    now: i64,
) -> Result<Rotation, ApiError> {
    let hash = presented.secret_hash();
    let next = RefreshToken::generate(&presented.user_id, &presented.session_id)
        .map_err(ApiError::internal)?;
    let rotated = db
        .prepare(format!(
            "UPDATE sessions SET refresh_hash = ?4, expires_at = ?5,
               spent = substr(?3 || ',' || spent, 1, {SPENT_CHARS})
             WHERE id = ?1 AND user_id = ?2 AND refresh_hash = ?3 AND expires_at > ?6
             RETURNING kind, created_at"
        ))
        .bind(&[
            presented.session_id.as_str().into(),
            presented.user_id.as_str().into(),
            hash.as_str().into(),
            next.secret_hash().into(),
            (now.saturating_add(ttl_secs()) as f64).into(),
            (now as f64).into(),
        ])?
        .first::<RotatedRow>(None)
        .await?;
    if let Some(row) = rotated {
        let session = Session {
            user_id: presented.user_id.clone(),
            session_id: presented.session_id.clone(),
            kind: row.kind,
            created_at: row.created_at,
        };
        // Extends the KV record's TTL along with the row's.
        save(kv, &session).await?;
        return Ok(Rotation::Rotated(session, next));
    }
    let spent = db
        .prepare(
            "SELECT instr(spent, ?3) > 0 AS reused FROM sessions WHERE id = ?1 AND user_id = ?2",
        )
        .bind(&[
            presented.session_id.as_str().into(),
            presented.user_id.as_str().into(),
            hash.as_str().into(),
        ])?
        .first::<SpentRow>(None)
        .await?;
    match spent {
        Some(SpentRow { reused: 1 }) => {
            revoke(kv, db, &presented.user_id, &presented.session_id).await?;
            Ok(Rotation::Reused)
        }
        _ => Ok(Rotation::Invalid),
    }
}

/// Ends one session: the row first (from then on no token of it works anywhere), then the
/// KV record.
pub async fn revoke(
    kv: &KvStore,
    db: &D1Database,
    user_id: &str,
    session_id: &str,
) -> Result<(), ApiError> {
    db.prepare("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2")
        .bind(&[session_id.into(), user_id.into()])?
        .run()
        .await?;
    kv.delete(&key(user_id, session_id)).await.map_err(kv_err)
}

/// Deletes the KV records of sessions whose rows are already gone (erasure deletes the rows
/// in its D1 transaction). Also sweeps the user's prefix, which catches records written before
/// sessions had rows.
pub async fn forget_records(
    kv: &KvStore,
    user_id: &str,
    session_ids: &[String],
) -> Result<(), ApiError> {
    for sid in session_ids {
        kv.delete(&key(user_id, sid)).await.map_err(kv_err)?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_list_holds_whole_hashes() {
        let hash = crate::auth::tokens::sha256_hex(b"x");
        assert_eq!(hash.len() + 1, SPENT_CHARS / SPENT_KEPT);
    }
}
