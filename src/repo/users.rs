//! The `users` table.

use serde::Deserialize;
use worker::D1Database;

use crate::domain::user::User;
use crate::error::ApiError;
use safemarket_engine::protocol::erased_user_key;

const COLUMNS: &str = "id, email, kind, display_name, created_at";

/// A user row with its password hash (for login only).
#[derive(Deserialize)]
pub struct Credentials {
    /// User id.
    pub id: String,
    /// Stored password hash.
    pub password_hash: Option<String>,
}

/// Inserts a registered user; 409 `email-taken` when the email exists.
pub async fn insert_registered(
    db: &D1Database,
    user: &User,
    password_hash: &str,
) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO users (id, email, password_hash, kind, display_name, created_at)
         VALUES (?1, ?2, ?3, 'registered', ?4, ?5)",
    )
    .bind(&[
        user.id.as_str().into(),
        user.email.as_deref().unwrap_or_default().into(),
        password_hash.into(),
        super::nullable(user.display_name.as_deref()),
        user.created_at.as_str().into(),
    ])?
    .run()
    .await
    .map_err(|e| {
        super::conflict_or_internal(e, "email-taken", "An account with this email exists.")
    })?;
    Ok(())
}

/// The guest user bound to `device_id`, created on first use (concurrent first uses converge on
/// one row thanks to the UNIQUE device id).
pub async fn guest_for_device(
    db: &D1Database,
    device_id: &str,
    now: &str,
) -> Result<User, ApiError> {
    db.prepare(
        "INSERT INTO users (id, kind, device_id, created_at) VALUES (?1, 'guest', ?2, ?3)
         ON CONFLICT (device_id) DO NOTHING",
    )
    .bind(&[
        uuid::Uuid::new_v4().to_string().into(),
        device_id.into(),
        now.into(),
    ])?
    .run()
    .await?;
    db.prepare(format!("SELECT {COLUMNS} FROM users WHERE device_id = ?1"))
        .bind(&[device_id.into()])?
        .first::<User>(None)
        .await?
        .ok_or_else(|| ApiError::internal("guest user vanished after upsert"))
}

/// A user by id.
pub async fn by_id(db: &D1Database, id: &str) -> Result<Option<User>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))
        .bind(&[id.into()])?
        .first::<User>(None)
        .await?)
}

/// A registered user by normalised email.
pub async fn by_email(db: &D1Database, email: &str) -> Result<Option<User>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM users WHERE email = ?1"))
        .bind(&[email.into()])?
        .first::<User>(None)
        .await?)
}

/// Login credentials by normalised email.
pub async fn credentials(db: &D1Database, email: &str) -> Result<Option<Credentials>, ApiError> {
    Ok(db
        .prepare("SELECT id, password_hash FROM users WHERE email = ?1 AND kind = 'registered'")
        .bind(&[email.into()])?
        .first::<Credentials>(None)
        .await?)
}

/// Replaces a password hash (parameter upgrade on login).
pub async fn set_password_hash(db: &D1Database, id: &str, hash: &str) -> Result<(), ApiError> {
    db.prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .bind(&[id.into(), hash.into()])?
        .run()
        .await?;
    Ok(())
}

/// The placeholder owner of closed stores whose owner erased their account (migration 0003).
pub const ERASED_OWNER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The 409 for erasing an account that still owns open stores.
pub fn owns_stores() -> ApiError {
    ApiError::Conflict {
        slug: "owns-stores",
        detail: "You still own open stores: close or hand over your stores first.".into(),
    }
}

/// Records that a user is being erased (D1 `erased_users`, by [`erased_user_key`]): store
/// objects then refuse to write the user's bookings back into D1. Idempotent.
pub async fn tombstone(db: &D1Database, id: &str, now: i64) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO erased_users (user_hash, erased_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )
    .bind(&[erased_user_key(id).into(), (now as f64).into()])?
    .run()
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct SessionId {
    id: String,
}

/// Deletes a user in one transaction: the user row (memberships cascade), every session row,
/// their document of the booking index, the links from history, and the email's
/// login-throttle rows; the closed stores they owned pass to [`ERASED_OWNER_ID`] so their
/// history stays. Returns the ids of the deleted sessions (their KV records are the caller's
/// to delete). 409 `owns-stores` when they own an open store (callers check first; this
/// catches a store created meanwhile).
pub async fn delete(db: &D1Database, id: &str) -> Result<Vec<String>, ApiError> {
    let statements = vec![
        db.prepare("DELETE FROM sessions WHERE user_id = ?1 RETURNING id")
            .bind(&[id.into()])?,
        db.prepare(
            "DELETE FROM login_failures
             WHERE subject = (SELECT 'email:' || email FROM users WHERE id = ?1)",
        )
        .bind(&[id.into()])?,
        db.prepare("DELETE FROM user_bookings WHERE user_id = ?1")
            .bind(&[id.into()])?,
        db.prepare("UPDATE booking_history SET user_id = NULL WHERE user_id = ?1")
            .bind(&[id.into()])?,
        db.prepare("UPDATE stores SET owner_id = ?2 WHERE owner_id = ?1 AND closed_at IS NOT NULL")
            .bind(&[id.into(), ERASED_OWNER_ID.into()])?,
        db.prepare("DELETE FROM users WHERE id = ?1")
            .bind(&[id.into()])?,
    ];
    let results = db.batch(statements).await.map_err(|e| {
        if super::is_foreign_key_violation(&e) {
            owns_stores()
        } else {
            ApiError::from(e)
        }
    })?;
    let sessions = match results.first() {
        Some(deleted) => deleted.results::<SessionId>()?,
        None => Vec::new(),
    };
    Ok(sessions.into_iter().map(|s| s.id).collect())
}

/// The guest user bound to `device_id`, if that device ever signed in.
pub async fn by_device(db: &D1Database, device_id: &str) -> Result<Option<User>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM users WHERE device_id = ?1"))
        .bind(&[device_id.into()])?
        .first::<User>(None)
        .await?)
}
