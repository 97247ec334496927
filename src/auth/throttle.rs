//! Login throttling: failures are counted per email and per client address in D1 over a
//! sliding 15-minute window. From the 6th failure for one email (or the 101st from one
//! address) every attempt answers 429 with `Retry-After` until the oldest failure in the window
//! ages out, even with the right password.
//!
//! Cloudflare's rate-limiting binding only offers 10 s and 60 s periods, so it cannot express a
//! 15-minute window; D1 is consistent the moment a failure is written.

use serde::Deserialize;
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

/// 429 when either key is over its limit.
pub async fn check(db: &D1Database, subjects: &Subjects, now: i64) -> Result<(), ApiError> {
    let email = newest_failures(db, &subjects.email, EMAIL_LIMIT, now).await?;
    let mut wait = retry_after(&email, EMAIL_LIMIT, now);
    if let Some(address) = &subjects.address {
        let failures = newest_failures(db, address, ADDRESS_LIMIT, now).await?;
        if let Some(s) = retry_after(&failures, ADDRESS_LIMIT, now) {
            wait = Some(wait.map_or(s, |e| e.max(s)));
        }
    }
    match wait {
        Some(retry_after) => Err(ApiError::TooManyRequests {
            retry_after,
            detail: "Too many failed sign-in attempts; try again later.".into(),
        }),
        None => Ok(()),
    }
}

/// Records one failed attempt under both keys and prunes rows older than the window.
pub async fn record_failure(
    db: &D1Database,
    subjects: &Subjects,
    now: i64,
) -> Result<(), ApiError> {
    let mut statements = vec![db
        .prepare("INSERT INTO login_failures (subject, at) VALUES (?1, ?2)")
        .bind(&[subjects.email.as_str().into(), (now as f64).into()])?];
    if let Some(address) = &subjects.address {
        statements.push(
            db.prepare("INSERT INTO login_failures (subject, at) VALUES (?1, ?2)")
                .bind(&[address.as_str().into(), (now as f64).into()])?,
        );
    }
    statements.push(
        db.prepare("DELETE FROM login_failures WHERE at <= ?1")
            .bind(&[((now - WINDOW_SECS) as f64).into()])?,
    );
    db.batch(statements).await?;
    Ok(())
}

/// A successful login forgets the email's failures (not the address's).
pub async fn clear_email(db: &D1Database, subjects: &Subjects) -> Result<(), ApiError> {
    db.prepare("DELETE FROM login_failures WHERE subject = ?1")
        .bind(&[subjects.email.as_str().into()])?
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
