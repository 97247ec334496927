//! Moves what is left of the retired D1 `booking_history` table to the R2 archive, a bounded
//! batch per cron run.
//!
//! A D1 migration cannot write R2, so the move is the cron's: it reads the oldest rows (in a
//! fixed order), writes them as archive objects of their store and month (the same layout as
//! the store objects' archival, `safemarket_engine::history`), and deletes them only once R2
//! confirmed. Nothing writes the table any more, so a run that failed between the put and the
//! delete reads the same rows again and writes the same keys (the batch is named by its first
//! booking id): the move is idempotent. Once the table is empty it can be dropped (README,
//! "Scaling": rollout order); a missing table is an empty one here.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use safemarket_engine::history::{plan_batch, ArchivedBooking, Channel};
use safemarket_engine::zone::{canonical_name, Tz};
use safemarket_engine::BookingStatus;
use serde::Deserialize;
use worker::{D1Database, Env};

use crate::context::bindings;

/// Rows read per batch.
const DRAIN_BATCH: u32 = 200;
/// Batches per cron run.
const DRAIN_ROUNDS: u32 = 10;

/// One `booking_history` row with its store's zone.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryRow {
    booking_id: String,
    store_id: String,
    user_id: Option<String>,
    code: String,
    slot_start: String,
    slot_end: String,
    party_size: u32,
    status: String,
    created_at: String,
    updated_at: String,
    /// `None` for a store no longer in D1 (archived under UTC months).
    timezone: Option<String>,
}

fn instant(raw: &str, id: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("booking_history row {id}: bad time {raw:?}: {e}"))
}

/// The archive record of a D1 history row (no user id: the archive names no one; the table
/// did not record whether a booking without user was an api key's, so its channel is
/// `unknown`).
pub fn record_of(row: &HistoryRow) -> Result<ArchivedBooking, String> {
    let status = BookingStatus::from_str(&row.status)
        .map_err(|e| format!("booking_history row {}: {e}", row.booking_id))?;
    let updated_at = instant(&row.updated_at, &row.booking_id)?;
    Ok(ArchivedBooking {
        id: row.booking_id.clone(),
        code: row.code.clone(),
        slot_start: instant(&row.slot_start, &row.booking_id)?,
        slot_end: instant(&row.slot_end, &row.booking_id)?,
        party_size: row.party_size,
        status,
        channel: if row.user_id.is_some() {
            Channel::App
        } else {
            Channel::Unknown
        },
        created_at: instant(&row.created_at, &row.booking_id)?,
        checked_in_at: (status == BookingStatus::CheckedIn).then_some(updated_at),
        updated_at,
        guest: None,
    })
}

/// One archive object to write: key and NDJSON body.
pub type Put = (String, String);

/// The archive objects of one batch of rows (grouped by store; each store's part named by its
/// first booking id) and the ids they carry; `zone` is the zone of a name (`None`: archived
/// under UTC months).
pub fn plan(
    rows: &[HistoryRow],
    zone: impl Fn(&str) -> Option<Tz>,
) -> Result<(Vec<Put>, Vec<String>), String> {
    let mut by_store: BTreeMap<&str, (Tz, Vec<ArchivedBooking>)> = BTreeMap::new();
    for row in rows {
        let tz = row.timezone.as_deref().and_then(&zone).unwrap_or(Tz::UTC);
        by_store
            .entry(row.store_id.as_str())
            .or_insert_with(|| (tz, Vec::new()))
            .1
            .push(record_of(row)?);
    }
    let mut puts = Vec::new();
    for (store_id, (tz, records)) in &by_store {
        let Some(first) = records.first() else {
            continue;
        };
        let batch = format!("d1-{}", first.id);
        for part in plan_batch(store_id, *tz, &batch, records) {
            puts.push((part.key, part.body));
        }
    }
    let ids = rows.iter().map(|r| r.booking_id.clone()).collect();
    Ok((puts, ids))
}

/// The zones the rows name (each table read once; a name that is no zone is left out).
async fn zones_of(env: &Env, rows: &[HistoryRow]) -> Result<BTreeMap<String, Tz>, String> {
    let mut zones = BTreeMap::new();
    for name in rows.iter().filter_map(|r| r.timezone.as_deref()) {
        if !zones.contains_key(name) && canonical_name(name).is_some() {
            let tz = crate::zones::zone(env, name)
                .await
                .map_err(|e| format!("zone {name}: {e}"))?;
            zones.insert(name.to_string(), tz);
        }
    }
    Ok(zones)
}

/// Moves up to [`DRAIN_ROUNDS`] batches; the rows moved.
pub async fn drain(env: &Env, db: &D1Database) -> Result<u64, String> {
    let bucket = env.bucket(bindings::HISTORY).map_err(|e| e.to_string())?;
    let mut moved = 0u64;
    for _ in 0..DRAIN_ROUNDS {
        let read = db
            .prepare(
                "SELECT h.booking_id, h.store_id, h.user_id, h.code, h.slot_start, h.slot_end,
                        h.party_size, h.status, h.created_at, h.updated_at, s.timezone
                 FROM booking_history h LEFT JOIN stores s ON s.id = h.store_id
                 ORDER BY h.store_id, h.slot_start, h.booking_id LIMIT ?1",
            )
            .bind(&[f64::from(DRAIN_BATCH).into()])
            .map_err(|e| e.to_string())?
            .all()
            .await;
        let rows: Vec<HistoryRow> = match read {
            Ok(result) => result.results().map_err(|e| e.to_string())?,
            // Dropped after it was drained (the rollout's last step).
            Err(e) if e.to_string().contains("no such table") => return Ok(moved),
            Err(e) => return Err(e.to_string()),
        };
        if rows.is_empty() {
            break;
        }
        let zones = zones_of(env, &rows).await?;
        let (puts, ids) = plan(&rows, |name| zones.get(name).copied())?;
        for (key, body) in puts {
            safemarket_durable::r2::put_ndjson(&bucket, key, body).await?;
        }
        // Only now that R2 has them.
        let ids_json = serde_json::to_string(&ids).map_err(|e| e.to_string())?;
        db.prepare(
            "DELETE FROM booking_history WHERE booking_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(&[ids_json.into()])
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())?;
        moved += ids.len() as u64;
        if rows.len() < DRAIN_BATCH as usize {
            break;
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use safemarket_engine::history::parse_ndjson;

    fn row(id: &str, store: &str, start: &str, user: Option<&str>) -> HistoryRow {
        HistoryRow {
            booking_id: id.into(),
            store_id: store.into(),
            user_id: user.map(String::from),
            code: "ABCD2345".into(),
            slot_start: start.into(),
            slot_end: start.replace(":00:00Z", ":30:00Z"),
            party_size: 2,
            status: "checked_in".into(),
            created_at: "2025-01-01T00:00:00Z".into(),
            updated_at: "2025-01-02T00:00:00Z".into(),
            timezone: Some("Europe/Berlin".into()),
        }
    }

    #[test]
    fn rows_become_per_store_month_objects_named_by_their_first_booking() {
        let rows = vec![
            row("b1", "s1", "2025-03-10T09:00:00Z", Some("u-secret")),
            row("b2", "s1", "2025-04-10T09:00:00Z", None),
            row("b3", "s2", "2025-03-11T09:00:00Z", None),
        ];
        let (puts, ids) = plan(&rows, Tz::known).unwrap();
        let keys: Vec<&str> = puts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "history/s1/2025-03/20250310T090000Z-d1-b1.ndjson",
                "history/s1/2025-04/20250410T090000Z-d1-b1.ndjson",
                "history/s2/2025-03/20250311T090000Z-d1-b3.ndjson",
            ]
        );
        assert_eq!(ids, ["b1", "b2", "b3"]);
        assert!(puts.iter().all(|(_, body)| !body.contains("u-secret")));
        let first = parse_ndjson(&puts[0].1).unwrap();
        assert_eq!(first[0].channel, Channel::App);
        assert_eq!(first[0].checked_in_at, Some(first[0].updated_at));
        assert_eq!(
            parse_ndjson(&puts[1].1).unwrap()[0].channel,
            Channel::Unknown
        );
        // The same rows read again (a retry after a failed delete) write the same objects.
        assert_eq!(plan(&rows, Tz::known).unwrap().0, puts);
    }

    #[test]
    fn a_row_that_cannot_be_read_stops_the_batch() {
        let mut bad = row("b1", "s1", "2025-03-10T09:00:00Z", None);
        bad.status = "lost".into();
        assert!(plan(&[bad], Tz::known).is_err());
    }
}
