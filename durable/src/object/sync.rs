//! The object's alarm: carries the outbox to the D1 booking index and archives old bookings
//! into D1 history. Both only delete locally after D1 confirmed, so a D1 outage loses nothing;
//! the alarm retries with backoff until it succeeds.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::calls::{erase_here, run_here};
use super::sqlite::IndexEntry;
use super::StoreObject;
use safemarket_engine::protocol::erased_user_key;
use safemarket_engine::waitlist;
use safemarket_engine::{Owner, UserId};

/// How soon after a write the outbox is flushed (batches bursts of bookings).
pub const FLUSH_DELAY_MS: u64 = 200;
/// Outbox rows per D1 batch.
const BATCH: i64 = 100;
/// Bookings whose slot ended longer ago than this move to D1 history.
const ARCHIVE_AFTER_DAYS: i64 = 30;

#[derive(Deserialize)]
struct OutboxRow {
    seq: i64,
    payload: String,
}

fn nullable(v: Option<&str>) -> JsValue {
    v.map(JsValue::from).unwrap_or(JsValue::NULL)
}

fn log_error(msg: &str, cause: impl std::fmt::Display) {
    worker::console_error!(
        "{}",
        serde_json::json!({"level": "error", "msg": msg, "cause": cause.to_string()})
    );
}

/// Upsert of one entry into `booking_index` (or `booking_history`); `version` orders updates
/// so a late retry never overwrites a newer state. Nothing is written for a booking whose
/// owner has been erased (D1 `erased_users`): the flush erases such bookings in the store
/// instead, so no row names an erased user again.
fn upsert_index(
    db: &D1Database,
    table: &str,
    entry: &IndexEntry,
    version: i64,
) -> worker::Result<D1PreparedStatement> {
    let b = &entry.booking;
    db.prepare(format!(
        "INSERT INTO {table} (booking_id, store_id, number, user_id, code, slot_start, slot_end,
           party_size, status, created_at, updated_at, version)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
         WHERE ?13 IS NULL OR NOT EXISTS (SELECT 1 FROM erased_users WHERE user_hash = ?13)
         ON CONFLICT (booking_id) DO UPDATE SET user_id = excluded.user_id,
           slot_start = excluded.slot_start, slot_end = excluded.slot_end,
           status = excluded.status, updated_at = excluded.updated_at, version = excluded.version
         WHERE excluded.version >= {table}.version"
    ))
    .bind(&[
        b.id.as_str().into(),
        entry.store_id.as_str().into(),
        (entry.number as f64).into(),
        nullable(entry.user_id().map(UserId::as_str)),
        b.code.as_str().into(),
        safemarket_engine::format_utc(b.slot_start).into(),
        safemarket_engine::format_utc(b.slot_end).into(),
        f64::from(b.party_size).into(),
        b.status.as_str().into(),
        safemarket_engine::format_utc(b.created_at).into(),
        safemarket_engine::format_utc(b.updated_at).into(),
        (version as f64).into(),
        nullable(
            entry
                .user_id()
                .map(|u| erased_user_key(u.as_str()))
                .as_deref(),
        ),
    ])
}

/// Flushes the outbox at once, for a call that asked for [`index_now`]; a failure is logged
/// and left to the alarm.
///
/// [`index_now`]: safemarket_engine::protocol::StoreRequest::index_now
pub async fn flush_now(obj: &StoreObject) {
    let flushed = match obj.env.d1("DB") {
        Ok(db) => flush_outbox(obj, &db).await.map(|_| ()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = flushed {
        log_error("immediate index flush failed; the alarm retries", e);
    }
}

/// One alarm run; returns when the next one should fire, if at all.
pub async fn run(obj: &StoreObject) -> Option<Duration> {
    if obj.ensure_schema().is_err() {
        return Some(Duration::from_secs(60));
    }
    let db = match obj.env.d1("DB") {
        Ok(db) => db,
        Err(e) => {
            log_error("no D1 binding in store object", e);
            return Some(Duration::from_secs(60));
        }
    };
    match flush_outbox(obj, &db).await {
        Ok(true) => return Some(Duration::from_millis(10)),
        Ok(false) => obj.flush_failures.set(0),
        Err(e) => {
            log_error("booking index flush failed; will retry", e);
            let failures = obj.flush_failures.get().saturating_add(1);
            obj.flush_failures.set(failures);
            return Some(Duration::from_secs(1u64 << failures.min(6)));
        }
    }
    // Offers that ran out and bookings to release, each run in a transaction of its own.
    let store_id = obj.recorded_store_id().unwrap_or_default();
    if let Err(e) = run_here(obj, &store_id, |inv, ctx| waitlist::run_due(inv, ctx)) {
        log_error("waiting-list due work failed; will retry", format!("{e:?}"));
        return Some(Duration::from_secs(5));
    }
    let next_due = match run_here(obj, &store_id, |inv, ctx| waitlist::next_due(inv, ctx)) {
        Ok(due) => due.map(|at| {
            let ms = (at - Utc::now()).num_milliseconds().max(0);
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        }),
        Err(e) => {
            log_error(
                "cannot tell when waiting-list work is due",
                format!("{e:?}"),
            );
            Some(Duration::from_secs(60))
        }
    };
    // Released no-shows and accepted changes wrote to the outbox: flush them soon.
    obj.outbox_appended.set(false);
    let next_due = if obj.outbox_pending() {
        Some(next_due.map_or(Duration::from_millis(FLUSH_DELAY_MS), |d| {
            d.min(Duration::from_millis(FLUSH_DELAY_MS))
        }))
    } else {
        next_due
    };
    let next_archive = match archive(obj, &db).await {
        Ok(next) => next,
        Err(e) => {
            log_error("archiving failed; will retry", e);
            Some(Duration::from_secs(300))
        }
    };
    // One schedule of due work: the alarm fires for whichever comes first.
    [next_due, next_archive].into_iter().flatten().min()
}

#[derive(Deserialize)]
struct ErasedRow {
    user_hash: String,
}

/// Sends one batch of the outbox to D1; `Ok(true)` when more is waiting.
///
/// The same D1 transaction asks which of the batch's owners were erased. Erasure writes its
/// tombstone before it reads the index to find the stores to erase in, so every booking is
/// caught by one of the two: flushed before the tombstone, the index shows it to the
/// erasure; flushed after, this flush sees the tombstone, skips the row and erases the
/// owner's bookings here.
async fn flush_outbox(obj: &StoreObject, db: &D1Database) -> Result<bool, String> {
    let rows: Vec<OutboxRow> = obj
        .sql
        .exec(
            "SELECT seq, payload FROM outbox ORDER BY seq LIMIT ?",
            vec![BATCH.into()],
        )
        .and_then(|c| c.to_array())
        .map_err(|e| e.to_string())?;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(false);
    };
    let mut entries = Vec::with_capacity(rows.len());
    let mut owners: Vec<UserId> = Vec::new();
    for row in &rows {
        let entry: IndexEntry = serde_json::from_str(&row.payload).map_err(|e| e.to_string())?;
        if let Some(owner) = entry.user_id() {
            if !owners.contains(owner) {
                owners.push(owner.clone());
            }
        }
        entries.push((row.seq, entry));
    }
    let hashes: Vec<String> = owners.iter().map(|o| erased_user_key(o.as_str())).collect();
    let hashes_json = serde_json::to_string(&hashes).map_err(|e| e.to_string())?;
    let mut statements = Vec::with_capacity(entries.len() + 1);
    statements.push(
        db.prepare(
            "SELECT user_hash FROM erased_users
             WHERE user_hash IN (SELECT value FROM json_each(?1))",
        )
        .bind(&[hashes_json.into()])
        .map_err(|e| e.to_string())?,
    );
    for (seq, entry) in &entries {
        statements.push(upsert_index(db, "booking_index", entry, *seq).map_err(|e| e.to_string())?);
    }
    let results = db.batch(statements).await.map_err(|e| e.to_string())?;
    let d1_rows: usize = results
        .iter()
        .filter_map(|r| r.meta().ok().flatten().and_then(|m| m.rows_written))
        .sum();
    let erased: Vec<ErasedRow> = match results.first() {
        Some(first) => first.results().map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    // Erased owners first: should that fail, the batch stays and the next run finds them
    // again. Their new outbox rows (anonymised bookings) come after `last`.
    let store_id = obj.recorded_store_id().map_err(|e| format!("{e:?}"))?;
    for (owner, hash) in owners.into_iter().zip(&hashes) {
        if erased.iter().any(|e| &e.user_hash == hash) {
            erase_here(obj, &store_id, &Owner::User(owner)).map_err(|e| format!("{e:?}"))?;
        }
    }
    // Only now that D1 has them.
    let deleted = obj
        .sql
        .exec("DELETE FROM outbox WHERE seq <= ?", vec![last.into()])
        .map_err(|e| e.to_string())?;
    let object_rows = obj
        .writes
        .take_rows()
        .saturating_add(u64::try_from(deleted.rows_written()).unwrap_or(u64::MAX));
    log_flush(rows.len(), object_rows, d1_rows);
    Ok(rows.len() as i64 == BATCH || !erased.is_empty())
}

/// The flush's line: how many outbox entries it carried, the rows the object's SQLite wrote
/// for them (the calls' writes since the last flush, and the outbox rows this flush deleted)
/// and the rows the D1 batch wrote, each counting table rows and index entries. Rows written
/// are billed; `make bench` divides these by the bookings to show the rows per booking.
fn log_flush(entries: usize, object_rows: u64, d1_rows: usize) {
    worker::console_log!(
        "{}",
        serde_json::json!({
            "level": "info",
            "msg": "index flush",
            "entries": entries,
            "object_rows_written": object_rows,
            "d1_rows_written": d1_rows,
        })
    );
}

/// Moves bookings that ended more than 30 days ago to D1 history; returns when to look again.
async fn archive(obj: &StoreObject, db: &D1Database) -> Result<Option<Duration>, String> {
    let store_id = obj.recorded_store_id().map_err(|e| format!("{e:?}"))?;
    let now = Utc::now();
    let cutoff = now - TimeDelta::days(ARCHIVE_AFTER_DAYS);
    let inv = obj.inventory(&store_id);
    let old = inv.ended_before(cutoff, BATCH).map_err(|e| e.to_string())?;
    if !old.is_empty() {
        let archived_at = safemarket_engine::format_utc(now);
        let mut statements = Vec::with_capacity(old.len());
        for (number, booking) in &old {
            let entry = IndexEntry {
                store_id: store_id.clone(),
                number: *number,
                booking: booking.clone(),
            };
            statements
                .push(upsert_index(db, "booking_history", &entry, 0).map_err(|e| e.to_string())?);
            statements.push(
                db.prepare("UPDATE booking_history SET archived_at = ?2 WHERE booking_id = ?1")
                    .bind(&[booking.id.as_str().into(), archived_at.as_str().into()])
                    .map_err(|e| e.to_string())?,
            );
        }
        db.batch(statements).await.map_err(|e| e.to_string())?;
        let ids: Vec<&str> = old.iter().map(|(_, b)| b.id.as_str()).collect();
        inv.delete_bookings(&ids).map_err(|e| e.to_string())?;
        return Ok(Some(Duration::from_millis(10)));
    }
    // Wake up when the oldest remaining booking becomes archivable (at most daily).
    let next = match inv.oldest_end().map_err(|e| e.to_string())? {
        Some(end) => {
            let due = (end + TimeDelta::days(ARCHIVE_AFTER_DAYS) - now).num_seconds();
            Some(Duration::from_secs(due.clamp(60, 24 * 3600) as u64))
        }
        None => None,
    };
    Ok(next)
}
