//! The Cron Trigger (`[triggers] crons` in wrangler.toml): keeps D1 proportional to what is
//! active. Each run deletes time-boxed rows in bounded batches (a batch is one statement over
//! at most [`PRUNE_BATCH`] rows, at most [`MAX_ROUNDS`] batches per table and run, so no run
//! holds the database long and a backlog drains over a few runs), walks up to
//! [`INDEX_WALK_PAGES`] pages of the booking index's documents to take ended bookings out of
//! them, and moves what is left of the retired `booking_history` table to R2
//! ([`crate::history_drain`]).

use chrono::{DateTime, TimeDelta, Utc};
use safemarket_engine::format_utc;
use safemarket_engine::history::ARCHIVE_AFTER_DAYS;
use worker::{D1Database, Env};

use crate::auth::throttle;
use crate::context::bindings;
use crate::history_drain;
use crate::repo::booking_index;

/// Rows one prune statement deletes at most.
pub const PRUNE_BATCH: u32 = 1000;
/// Batches per table and run at most.
pub const MAX_ROUNDS: u32 = 50;
/// Pages of [`PRUNE_BATCH`] documents the booking index's prune walk reads per run at most:
/// each is two D1 calls (the page, then one batch of three statements), so a run stays well
/// within a Worker invocation's D1 query limit, and runs every 5 minutes walk millions of
/// documents a day.
pub const INDEX_WALK_PAGES: u32 = 10;
/// Days after its slot ended that a booking's index row is kept: one more than the store's
/// object keeps the booking, so an account erasure (which finds the stores to erase in through
/// the index) still reaches every store that holds a booking naming the user; the archive
/// names no one.
pub const INDEX_KEPT_DAYS: i64 = ARCHIVE_AFTER_DAYS + 1;

/// One kind of time-boxed row and the statement that deletes a batch of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prune {
    /// The table, for logs.
    pub table: &'static str,
    /// `DELETE ... WHERE rowid IN (SELECT rowid ... LIMIT ?2)` with the cutoff as `?1`.
    pub sql: &'static str,
    /// Rows older than this go (Unix seconds).
    pub cutoff: i64,
}

/// The booking index's entries whose slot ended before this go at `now`: more than
/// [`INDEX_KEPT_DAYS`] ago (the store archives them to R2 after 30; `GET
/// /me/bookings?scope=past` covers the last 30 days). The index is pruned by a walk of its
/// documents ([`booking_index::prune_ended`]), in pages of [`PRUNE_BATCH`] documents.
pub fn index_cutoff(now: DateTime<Utc>) -> String {
    format_utc(now - TimeDelta::days(INDEX_KEPT_DAYS))
}

/// The time-boxed rows a run at `now` deletes:
/// - failed-login rows older than the throttle's window;
/// - sessions past their expiry (their KV copies expired with the same TTL).
pub fn plan(now: DateTime<Utc>) -> Vec<Prune> {
    vec![
        Prune {
            table: "login_failures",
            sql: "DELETE FROM login_failures WHERE rowid IN
                    (SELECT rowid FROM login_failures WHERE at <= ?1 LIMIT ?2)",
            cutoff: now.timestamp() - throttle::WINDOW_SECS,
        },
        Prune {
            table: "sessions",
            sql: "DELETE FROM sessions WHERE rowid IN
                    (SELECT rowid FROM sessions WHERE expires_at < ?1 LIMIT ?2)",
            cutoff: now.timestamp(),
        },
    ]
}

fn log(level: &str, msg: &str, detail: serde_json::Value) {
    let line = serde_json::json!({"level": level, "msg": msg, "detail": detail});
    if level == "error" {
        worker::console_error!("{line}");
    } else {
        worker::console_log!("{line}");
    }
}

/// Deletes batches of one kind until one comes back short or [`MAX_ROUNDS`] ran; the rows
/// deleted.
async fn prune(db: &D1Database, p: &Prune) -> worker::Result<u64> {
    let mut deleted = 0u64;
    for _ in 0..MAX_ROUNDS {
        let result = db
            .prepare(p.sql)
            .bind(&[(p.cutoff as f64).into(), f64::from(PRUNE_BATCH).into()])?
            .run()
            .await?;
        let changes = result.meta()?.and_then(|m| m.changes).unwrap_or_default() as u64;
        deleted += changes;
        if changes < u64::from(PRUNE_BATCH) {
            break;
        }
    }
    Ok(deleted)
}

/// One scheduled run at `now`: the booking index's prune walk, every other prune, then the
/// history drain; a failure of one is logged and the others still run (the next run retries).
pub async fn run(env: &Env, now: DateTime<Utc>) {
    let db = match env.d1(bindings::DB) {
        Ok(db) => db,
        Err(e) => return log("error", "cron: no D1 binding", e.to_string().into()),
    };
    let cutoff = index_cutoff(now);
    let walked =
        booking_index::prune_ended(&db, &cutoff, now.timestamp(), PRUNE_BATCH, INDEX_WALK_PAGES);
    match walked.await {
        Ok(n) => log(
            "info",
            "cron: pruned",
            serde_json::json!({"table": "user_bookings", "documents": n}),
        ),
        Err(e) => log(
            "error",
            "cron: prune failed",
            serde_json::json!({"table": "user_bookings", "cause": e.to_string()}),
        ),
    }
    for p in plan(now) {
        match prune(&db, &p).await {
            Ok(n) => log(
                "info",
                "cron: pruned",
                serde_json::json!({"table": p.table, "rows": n}),
            ),
            Err(e) => log(
                "error",
                "cron: prune failed",
                serde_json::json!({"table": p.table, "cause": e.to_string()}),
            ),
        }
    }
    match history_drain::drain(env, &db).await {
        Ok(n) => log(
            "info",
            "cron: booking_history moved to R2",
            serde_json::json!({"rows": n}),
        ),
        Err(e) => log(
            "error",
            "cron: booking_history drain failed",
            e.to_string().into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_keep_thirty_one_days_the_throttle_window_and_live_sessions() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let plan = plan(now);
        let cutoff = |table: &str| {
            plan.iter()
                .find(|p| p.table == table)
                .map(|p| p.cutoff)
                .unwrap()
        };
        assert_eq!(index_cutoff(now), "2026-10-31T12:00:00Z");
        assert_eq!(cutoff("login_failures"), now.timestamp() - 15 * 60);
        assert_eq!(cutoff("sessions"), now.timestamp());
        for p in &plan {
            // Bounded: every statement deletes through a LIMITed sub-select.
            assert!(p.sql.contains("LIMIT ?2"), "{}", p.sql);
        }
    }
}
