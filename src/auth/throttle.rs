//! Login throttling: failures are counted per email and per client address in D1 over a
//! sliding 15-minute window. Each attempt is counted before its password is checked (and
//! forgiven on success), so parallel guessing gets no more tries than sequential guessing. From the 6th failure for one email (or the 101st from one
//! address) every attempt answers 429 with `Retry-After` until the oldest failure in the window
//! ages out, even with the right password.
//!
//! Cloudflare's rate-limiting binding only offers 10 s and 60 s periods, so it cannot express a
//! 15-minute window; D1 is consistent the moment a failure is written.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

use crate::error::ApiError;

/// Sliding window length in seconds.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures for one email within the window before attempts are refused.
pub const EMAIL_LIMIT: usize = 5;
/// Failures from one client address within the window before attempts are refused.
pub const ADDRESS_LIMIT: usize = 100;

/// The throttle keys of one attempt.
pub struct Subjects {
    email: String,
    address: Option<String>,
}

impl Subjects {
    /// Keys for a normalised email and the client address (when known).
    pub fn new(email: &str, address: Option<&str>) -> Self {
        Subjects {
            email: format!("email:{email}"),
            address: address.map(|a| format!("ip:{a}")),
        }
    }
}

/// Seconds to wait before another attempt is admitted, given the newest failures in the
/// window (newest first, at most `limit` of them), or `None` when one is admitted now.
/// Attempts resume once the `limit`-th newest failure ages out. Pure, for tests.
pub fn retry_after(newest: &[i64], limit: usize, now: i64) -> Option<u64> {
    if newest.len() < limit {
        return None;
    }
    let deciding = newest.get(limit - 1)?;
    Some((deciding + WINDOW_SECS - now).max(1) as u64)
}

#[derive(Deserialize)]
struct Failure {
    at: i64,
}

async fn newest_failures(
    db: &D1Database,
    subject: &str,
    limit: usize,
    now: i64,
) -> Result<Vec<i64>, ApiError> {
    let rows = db
        .prepare("SELECT at FROM login_failures WHERE subject = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3")
        .bind(&[
            subject.into(),
            ((now - WINDOW_SECS) as f64).into(),
            (limit as f64).into(),
        ])?
        .all()
        .await?
        .results::<Failure>()?;
    Ok(rows.into_iter().map(|f| f.at).collect())
}

/// An admitted login attempt: already counted as a failure until [`forgive`] says otherwise.
pub struct Reservation {
    attempt: String,
}

/// Admits one attempt, or answers 429. The attempt is recorded as a failure *before* the
/// password is checked, in one statement that also counts (SQLite runs it atomically), so of
/// any number of parallel guesses at most `EMAIL_LIMIT` per email (and `ADDRESS_LIMIT` per
/// address) are admitted within the window; a successful login then forgives its own row.
pub async fn reserve(
    db: &D1Database,
    subjects: &Subjects,
    now: i64,
) -> Result<Reservation, ApiError> {
    let attempt = uuid::Uuid::new_v4().to_string();
    let since = ((now - WINDOW_SECS) as f64).into();
    let address = subjects
        .address
        .as_deref()
        .map(JsValue::from)
        .unwrap_or(JsValue::NULL);
    let reserved = db
        .prepare(
            "INSERT INTO login_failures (subject, at, attempt)
             SELECT s, ?3, ?4 FROM (SELECT ?1 AS s UNION ALL SELECT ?2 WHERE ?2 IS NOT NULL)
             WHERE (SELECT count(*) FROM login_failures WHERE subject = ?1 AND at > ?5) < ?6
               AND (?2 IS NULL
                    OR (SELECT count(*) FROM login_failures WHERE subject = ?2 AND at > ?5) < ?7)
             RETURNING subject",
        )
        .bind(&[
            subjects.email.as_str().into(),
            address,
            (now as f64).into(),
            attempt.as_str().into(),
            since,
            (EMAIL_LIMIT as f64).into(),
            (ADDRESS_LIMIT as f64).into(),
        ])?
        .all()
        .await?
        .results::<serde_json::Value>()?;
    if !reserved.is_empty() {
        return Ok(Reservation { attempt });
    }
    Err(ApiError::TooManyRequests {
        retry_after: wait(db, subjects, now).await?,
        detail: "Too many failed sign-in attempts; try again later.".into(),
    })
}

/// Seconds until the next attempt would be admitted (at least 1).
async fn wait(db: &D1Database, subjects: &Subjects, now: i64) -> Result<u64, ApiError> {
    let email = newest_failures(db, &subjects.email, EMAIL_LIMIT, now).await?;
    let mut wait = retry_after(&email, EMAIL_LIMIT, now).unwrap_or(1);
    if let Some(address) = &subjects.address {
        let failures = newest_failures(db, address, ADDRESS_LIMIT, now).await?;
        if let Some(s) = retry_after(&failures, ADDRESS_LIMIT, now) {
            wait = wait.max(s);
        }
    }
    Ok(wait)
}

/// A failed attempt stays counted; rows older than the window are pruned.
pub async fn prune(db: &D1Database, now: i64) -> Result<(), ApiError> {
    db.prepare("DELETE FROM login_failures WHERE at <= ?1")
        .bind(&[((now - WINDOW_SECS) as f64).into()])?
        .run()
        .await?;
    Ok(())
}

/// A successful login forgets the email's failures and its own reservation under the
/// address (the address's other failures stay).
pub async fn forgive(
    db: &D1Database,
    subjects: &Subjects,
    reservation: Reservation,
) -> Result<(), ApiError> {
    let address = subjects
        .address
        .as_deref()
        .map(JsValue::from)
        .unwrap_or(JsValue::NULL);
    db.prepare("DELETE FROM login_failures WHERE subject = ?1 OR (subject = ?2 AND attempt = ?3)")
        .bind(&[
            subjects.email.as_str().into(),
            address,
            reservation.attempt.as_str().into(),
        ])?
        .run()
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_until_the_limit() {
        assert_eq!(
            retry_after(&[1040, 1030, 1020, 1010], EMAIL_LIMIT, 1100),
            None
        );
        assert_eq!(
            retry_after(&[1040, 1030, 1020, 1010, 1000], EMAIL_LIMIT, 1100),
            Some(800)
        );
    }

    #[test]
    fn the_limit_th_newest_failure_decides() {
        // Seven failures (concurrent attempts): attempts resume when the 5th newest ages out.
        let newest = [1060, 1050, 1040, 1030, 1020, 1010, 1000];
        assert_eq!(retry_after(&newest, EMAIL_LIMIT, 1100), Some(820));
    }

    #[test]
    fn wait_is_at_least_one_second() {
        assert_eq!(
            retry_after(&[1000; 5], EMAIL_LIMIT, 1000 + WINDOW_SECS),
            Some(1)
        );
    }
}
