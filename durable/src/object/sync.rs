//! The object's alarm: carries the outbox and the new bookings to the D1 booking index and
//! their events to the webhook delivery queue, records due reminders, and archives old
//! bookings to the R2 history bucket. Outbox rows are only deleted, and the floor of carried
//! new bookings only raised, after D1 and the queue both confirmed, archived bookings only
//! deleted after R2 confirmed, so an outage of any of them loses nothing; the alarm
//! retries with backoff until it succeeds (a retried batch may reach the queue twice: delivery
//! is at least once, and receivers deduplicate by event id).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use worker::{Bucket, D1Database, D1PreparedStatement};

use super::calls::{erase_here, run_here};
use super::sqlite::{IndexEntry, OutboxItem};
use super::StoreObject;
use crate::user_bookings;
use safemarket_engine::events::{subscribes, EventRecord, EventSubject};
use safemarket_engine::history::{
    archive_cutoff, plan_batch, ArchivedBooking, ARCHIVE_AFTER_DAYS, ARCHIVE_BATCH,
};
use safemarket_engine::protocol::{erased_user_key, StoreError};
use safemarket_engine::{reminders, waitlist};
use safemarket_engine::{Inventory, Owner, UserId};

/// How soon after a write the outbox is flushed (batches bursts of bookings).
pub const FLUSH_DELAY_MS: u64 = 200;
/// Outbox rows and new bookings per D1 batch (and per queue batch, whose limit is 100).
const BATCH: i64 = 100;
/// The R2 bucket of archived bookings (`wrangler.toml`).
pub const HISTORY_BUCKET: &str = "HISTORY";
/// A var that shifts the clock archival reads by this many seconds. For black-box tests,
/// which cannot make bookings 30 days in the past; never set in a deployment.
const ARCHIVE_CLOCK_OFFSET: &str = "ARCHIVE_CLOCK_OFFSET_SECONDS";
/// The queue the Worker's consumer delivers webhooks from (wrangler.toml).
const EVENTS_QUEUE: &str = "WEBHOOK_EVENTS";

#[derive(Deserialize)]
struct OutboxRow {
    seq: i64,
    payload: String,
}

fn log_error(msg: &str, cause: impl std::fmt::Display) {
    worker::console_error!(
        "{}",
        serde_json::json!({"level": "error", "msg": msg, "cause": cause.to_string()})
    );
}

/// The upsert of one entry into its user's document of the D1 booking index
/// ([`user_bookings::UPSERT`]), `version` ordering updates; `None` for a booking without a
/// user (an integration's, or an erased owner's), which no query reads.
fn upsert_index(
    db: &D1Database,
    entry: &IndexEntry,
    version: i64,
) -> worker::Result<Option<D1PreparedStatement>> {
    let Some(user) = entry.user_id() else {
        return Ok(None);
    };
    let b = &entry.booking;
    let statement = db.prepare(user_bookings::UPSERT).bind(&[
        user.as_str().into(),
        b.id.as_str().into(),
        entry.store_id.as_str().into(),
        b.code.as_str().into(),
        safemarket_engine::format_utc(b.slot_start).into(),
        safemarket_engine::format_utc(b.slot_end).into(),
        f64::from(b.party_size).into(),
        b.status.as_str().into(),
        safemarket_engine::format_utc(b.created_at).into(),
        safemarket_engine::format_utc(b.updated_at).into(),
        (version as f64).into(),
        erased_user_key(user.as_str()).into(),
        user_bookings::entry_path(b.id.as_str()).into(),
        f64::from(user_bookings::TRIM_AT).into(),
    ])?;
    Ok(Some(statement))
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
    let next_reminder = match remind_due(obj, &store_id) {
        Ok(next) => next,
        Err(e) => {
            log_error("reminders failed; will retry", e);
            Some(Utc::now() + TimeDelta::seconds(5))
        }
    };
    let next_due = match run_here(obj, &store_id, |inv, ctx| {
        let due = waitlist::next_due(inv, ctx)?;
        Ok([due, next_reminder].into_iter().flatten().min())
    }) {
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
    let next_archive = match archive(obj, archive_now(obj)).await {
        Ok(next) => next,
        Err(e) => {
            log_error("archiving failed; will retry", e);
            Some(Duration::from_secs(300))
        }
    };
    // One schedule of due work: the alarm fires for whichever comes first.
    [next_due, next_archive].into_iter().flatten().min()
}

/// Records the `booking.reminder` events due now (one transaction) and answers when the next
/// one falls due.
fn remind_due(obj: &StoreObject, store_id: &str) -> Result<Option<chrono::DateTime<Utc>>, String> {
    let Some(before) = obj
        .schedule()
        .map_err(|e| format!("{e:?}"))?
        .and_then(|s| s.reminder_before())
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let (from, to) = reminders::due_window(before, now);
    obj.atomically(|| {
        let inv = obj.inventory(store_id);
        for booking in inv.unreminded_between(from, to).map_err(super::internal)? {
            if reminders::is_due(&booking, false, before, now) {
                inv.remind(&booking, now).map_err(super::internal)?;
            }
        }
        Ok(())
    })
    .map_err(|e| format!("{e:?}"))?;
    let next = obj
        .inventory(store_id)
        .next_unreminded_start_after(to)
        .map_err(|e| e.to_string())?;
    Ok(reminders::next_due(before, next))
}

/// Hands `events` to the delivery queue in one batch (at most [`BATCH`] messages, each the
/// JSON text of an [`EventRecord`]).
async fn enqueue(obj: &StoreObject, events: &[EventRecord]) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    let queue = obj.env.queue(EVENTS_QUEUE).map_err(|e| e.to_string())?;
    let mut bodies = Vec::with_capacity(events.len());
    for event in events {
        bodies.push(serde_json::to_string(event).map_err(|e| e.to_string())?);
    }
    queue.send_batch(bodies).await.map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct ErasedRow {
    user_hash: String,
}

/// The event types the store's webhooks subscribe to, one row per webhook (D1 `webhooks`,
/// found by `webhooks_by_store`).
const SUBSCRIPTIONS: &str = "SELECT events FROM webhooks WHERE store_id = ?1";

#[derive(Deserialize)]
struct SubscriptionRow {
    events: String,
}

/// Raises the floor `meta` row `?1` to `?2`, never lowering it (and writing nothing when it
/// is there already): `outbox_seq_floor`, the highest outbox `seq` a flush sent (see
/// `sqlite::APPEND_OUTBOX`), and `index_number_floor`, the floor of carried creations, which
/// the archive persists there (see `sqlite::CARRIED_FLOOR_KEY`).
pub(super) const RAISE_FLOOR: &str = "INSERT INTO meta (key, value) VALUES (?1, CAST(?2 AS TEXT))
     ON CONFLICT (key) DO UPDATE SET value = excluded.value
       WHERE CAST(excluded.value AS INTEGER) > CAST(value AS INTEGER)";

/// Sends one batch of the outbox and the new bookings to D1; `Ok(true)` when more is
/// waiting.
///
/// The outbox holds the changes of bookings and the events of changes that are no booking's;
/// a new booking is carried from its own row, numbered above the last one carried, with the
/// index `version` 0 (below the outbox `seq` of any later change of it).
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
    let store_id = obj.recorded_store_id().map_err(|e| format!("{e:?}"))?;
    let room = BATCH - rows.len() as i64;
    let inv = obj.inventory(&store_id);
    let fresh = if room > 0 {
        inv.uncarried(room)?
    } else {
        Vec::new()
    };
    let last = rows.last().map(|r| r.seq);
    if last.is_none() && fresh.is_empty() {
        return Ok(false);
    }
    // The floor goes up to the highest booking carried now; when the whole outbox and every
    // new booking fit in the batch, to the highest stored (the creations of the others are
    // in the outbox, or were flushed before), so bookings changed before their flush do not
    // stay above the floor for every later flush to read again.
    let all_fit = room > 0 && (fresh.len() as i64) < room;
    let last_number = if all_fit {
        inv.max_number()?
    } else {
        fresh.last().map(|(number, _)| *number)
    };
    let carried = rows.len() + fresh.len();
    // The new bookings first, so that within a batch an event of one in the outbox (a
    // reminder) comes after its creation (delivery is unordered anyway).
    let mut items = Vec::with_capacity(carried);
    for (number, booking) in fresh {
        let entry = IndexEntry::creation(&store_id, number, booking);
        items.push((0, OutboxItem::Index(entry)));
    }
    for row in &rows {
        let item: OutboxItem = serde_json::from_str(&row.payload).map_err(|e| e.to_string())?;
        items.push((row.seq, item));
    }
    let mut entries = Vec::with_capacity(items.len());
    let mut events = Vec::new();
    let mut owners: Vec<UserId> = Vec::new();
    for (version, item) in items {
        events.extend(item.event());
        let OutboxItem::Index(entry) = item else {
            continue;
        };
        if let Some(owner) = entry.user_id() {
            if !owners.contains(owner) {
                owners.push(owner.clone());
            }
        }
        entries.push((version, entry));
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
    // Which event types the store's webhooks subscribe to, read in the same batch: events
    // nobody subscribes to are not queued (most stores have no webhook, and each message is
    // billed three queue operations plus the consumer's D1 read of the webhooks).
    let asks_subscriptions = !events.is_empty();
    if asks_subscriptions {
        statements.push(
            db.prepare(SUBSCRIPTIONS)
                .bind(&[store_id.as_str().into()])
                .map_err(|e| e.to_string())?,
        );
    }
    for (version, entry) in &entries {
        statements.extend(upsert_index(db, entry, *version).map_err(|e| e.to_string())?);
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
    // again. Their new outbox rows (anonymised bookings) come after `last`; no event of
    // this batch names them any more.
    let mut erased_owners = Vec::new();
    for (owner, hash) in owners.into_iter().zip(&hashes) {
        if erased.iter().any(|e| &e.user_hash == hash) {
            erase_here(obj, &store_id, &Owner::User(owner.clone()))
                .map_err(|e| format!("{e:?}"))?;
            erased_owners.push(owner);
        }
    }
    let subscriptions: Vec<SubscriptionRow> = match results.get(1) {
        Some(second) if asks_subscriptions => second.results().map_err(|e| e.to_string())?,
        _ => Vec::new(),
    };
    events.retain(|event| {
        let owner = match &event.subject {
            EventSubject::Booking(b) => b.owner.as_ref(),
            EventSubject::Entry(e) => e.owner.as_ref(),
        };
        let erased = owner
            .and_then(Owner::user)
            .is_some_and(|user| erased_owners.contains(user));
        !erased
            && subscriptions
                .iter()
                .any(|s| subscribes(&s.events, event.event.event_type))
    });
    // The events after their index rows, so a receiver that reads the API back finds the
    // change in `GET /me/bookings`.
    enqueue(obj, &events).await?;
    // Only now that D1 and the queue have them. The floor of carried creations in memory
    // (the next booking's row records it); the outbox's floor first, so that appends to an
    // emptied outbox go on above `last` even should the delete not happen.
    if let Some(number) = last_number {
        inv.raise_carried_floor(number)?;
    }
    let mut flushed_rows = 0;
    if let Some(last) = last {
        for (statement, args) in [
            (RAISE_FLOOR, vec!["outbox_seq_floor".into(), last.into()]),
            ("DELETE FROM outbox WHERE seq <= ?", vec![last.into()]),
        ] {
            let cursor = obj.sql.exec(statement, args).map_err(|e| e.to_string())?;
            flushed_rows += cursor.rows_written();
        }
    }
    let object_rows = obj
        .writes
        .take_rows()
        .saturating_add(u64::try_from(flushed_rows).unwrap_or(u64::MAX));
    log_flush(carried, object_rows, d1_rows);
    Ok(carried as i64 == BATCH || !erased.is_empty())
}

/// The flush's line: how many outbox rows and new bookings it carried, the rows the object's
/// SQLite wrote for them (the calls' writes since the last flush, and this flush's outbox
/// floor and deletes) and the rows the D1 batch wrote, each counting table rows and index
/// entries. Rows written are billed; `make bench` divides these by the bookings to show the
/// rows per booking.
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

/// The instant archival decides at: now, unless a test shifted it ([`ARCHIVE_CLOCK_OFFSET`]).
fn archive_now(obj: &StoreObject) -> DateTime<Utc> {
    let offset = obj
        .env
        .var(ARCHIVE_CLOCK_OFFSET)
        .ok()
        .and_then(|v| v.to_string().parse::<i64>().ok())
        .and_then(TimeDelta::try_seconds)
        .unwrap_or_default();
    Utc::now() + offset
}

/// The archive batch in flight, recorded in `meta` before R2 is written: a retry writes the
/// same bookings under the same keys (overwriting, never duplicating) before deleting them.
#[derive(Debug, Serialize, Deserialize)]
struct PendingBatch {
    /// The batch's name in its R2 keys (the object's archive sequence, zero-padded).
    batch: String,
    /// The bookings it moves.
    ids: Vec<String>,
}

const PENDING_KEY: &str = "archive_pending";
const SEQ_KEY: &str = "archive_seq";

/// The batch in flight, or a new one of the bookings that ended before `cutoff` (recorded in
/// one transaction with the sequence it takes); `None` when nothing is due.
fn claim_batch(
    obj: &StoreObject,
    store_id: &str,
    cutoff: DateTime<Utc>,
) -> Result<Option<PendingBatch>, StoreError> {
    obj.atomically(|| {
        if let Some(json) = obj.meta(PENDING_KEY)? {
            return serde_json::from_str(&json)
                .map(Some)
                .map_err(super::internal);
        }
        let old = obj
            .inventory(store_id)
            .ended_before(cutoff, ARCHIVE_BATCH as i64)
            .map_err(super::internal)?;
        if old.is_empty() {
            return Ok(None);
        }
        let seq = obj
            .meta(SEQ_KEY)?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        let pending = PendingBatch {
            batch: format!("{seq:012}"),
            ids: old.into_iter().map(|(_, b)| b.id).collect(),
        };
        obj.set_meta(SEQ_KEY, &seq.to_string())?;
        obj.set_meta(
            PENDING_KEY,
            &serde_json::to_string(&pending).map_err(super::internal)?,
        )?;
        Ok(Some(pending))
    })
}

/// Moves one batch of bookings that ended more than [`ARCHIVE_AFTER_DAYS`] days before `now`
/// to R2 (NDJSON, one object per store-local month, see `safemarket_engine::history`) and
/// deletes them here only after every put succeeded; returns when to look again.
async fn archive(obj: &StoreObject, now: DateTime<Utc>) -> Result<Option<Duration>, String> {
    let store_id = obj.recorded_store_id().map_err(|e| format!("{e:?}"))?;
    let Some(tz) = obj.recorded_timezone().map_err(|e| format!("{e:?}"))? else {
        return Ok(None);
    };
    let cutoff = archive_cutoff(now);
    let oldest_end = obj.inventory(&store_id).oldest_end()?;
    let due = oldest_end.is_some_and(|end| end < cutoff)
        || obj
            .meta(PENDING_KEY)
            .map_err(|e| format!("{e:?}"))?
            .is_some();
    // Most alarm runs have nothing to archive: they learn it from two reads, without a
    // transaction.
    let claimed = if due {
        claim_batch(obj, &store_id, cutoff).map_err(|e| format!("{e:?}"))?
    } else {
        None
    };
    if let Some(pending) = claimed {
        let inv = obj.inventory(&store_id);
        let mut records = Vec::with_capacity(pending.ids.len());
        for id in &pending.ids {
            // One deleted meanwhile (by nothing today) simply is not archived.
            if let Some(b) = inv.get(id)? {
                records.push(ArchivedBooking::of(&b));
            }
        }
        let bucket: Bucket = obj.env.bucket(HISTORY_BUCKET).map_err(|e| e.to_string())?;
        for part in plan_batch(&store_id, tz, &pending.batch, &records) {
            crate::r2::put_ndjson(&bucket, part.key, part.body).await?;
        }
        // Only now that R2 has them.
        obj.atomically(|| {
            let ids: Vec<&str> = pending.ids.iter().map(String::as_str).collect();
            obj.inventory(&store_id)
                .delete_bookings(&ids)
                .map_err(super::internal)?;
            obj.sql
                .exec("DELETE FROM meta WHERE key = ?", vec![PENDING_KEY.into()])
                .map_err(super::internal)?;
            Ok(())
        })
        .map_err(|e| format!("{e:?}"))?;
        return Ok(Some(Duration::from_millis(10)));
    }
    // Wake up when the oldest remaining booking becomes archivable (at most daily).
    let next = match oldest_end {
        Some(end) => {
            let due = (end + TimeDelta::days(ARCHIVE_AFTER_DAYS) - now).num_seconds();
            Some(Duration::from_secs(due.clamp(60, 24 * 3600) as u64))
        }
        None => None,
    };
    Ok(next)
}
