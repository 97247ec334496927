//! The D1 booking index, read by user: one JSON document per user in `user_bookings`,
//! written by the store objects' index flushes (`safemarket_durable::user_bookings`).

use serde::{Deserialize, Serialize};
use worker::D1Database;

use crate::error::ApiError;
use crate::pagination::{encode_cursor, Page};

/// Which of a user's bookings to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Confirmed or checked in, slot not ended.
    Upcoming,
    /// Everything else: ended, cancelled or no-show.
    Past,
}

/// One indexed booking as listed by `GET /api/v1/me/bookings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexedBooking {
    /// Booking id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Store id.
    pub store_id: String,
    /// Slot start (UTC).
    pub slot_start: String,
    /// Slot end (UTC).
    pub slot_end: String,
    /// People.
    pub party_size: i64,
    /// Status.
    pub status: String,
    /// Booked at (UTC).
    pub created_at: String,
}

/// A page of a user's bookings sorted by slot start, with the next cursor.
pub async fn of_user(
    db: &D1Database,
    user_id: &str,
    scope: Scope,
    now: &str,
    page: &Page,
) -> Result<(Vec<IndexedBooking>, Option<String>), ApiError> {
    let (after_start, after_id) = page.after_key_and_id()?;
    let rows = db
        .prepare(of_user_sql(scope))
        .bind(&[
            user_id.into(),
            now.into(),
            after_start.into(),
            after_id.into(),
            page.fetch_limit().into(),
        ])?
        .all()
        .await?
        .results::<IndexedBooking>()?;
    Ok(page.cut(rows, |b| encode_cursor(&[&b.slot_start, &b.id])))
}

/// The start of every read of the index: `b`, the entries of user `?1`'s document as rows
/// with the columns of a booking (`booking_id`, `store_id`, `code`, `slot_start`, `slot_end`,
/// `party_size`, `status`, `created_at`, `updated_at`, `version`). The document is found by
/// its primary key; its entries are few (a user's bookings of the last 31 days and to come).
pub const ENTRIES_OF_USER: &str = "WITH b AS (
    SELECT j.key AS booking_id,
           json_extract(j.value, '$.store_id') AS store_id,
           json_extract(j.value, '$.code') AS code,
           json_extract(j.value, '$.slot_start') AS slot_start,
           json_extract(j.value, '$.slot_end') AS slot_end,
           json_extract(j.value, '$.party_size') AS party_size,
           json_extract(j.value, '$.status') AS status,
           json_extract(j.value, '$.created_at') AS created_at,
           json_extract(j.value, '$.updated_at') AS updated_at,
           json_extract(j.value, '$.version') AS version
    FROM user_bookings u, json_each(u.bookings) j WHERE u.user_id = ?1)";

/// The query of [`of_user`]: `?1` user, `?2` now, `?3`/`?4` the cursor's start and id, `?5`
/// the limit.
fn of_user_sql(scope: Scope) -> String {
    let filter = match scope {
        Scope::Upcoming => "slot_end > ?2 AND status IN ('confirmed', 'checked_in')",
        Scope::Past => "(slot_end <= ?2 OR status IN ('cancelled', 'no_show'))",
    };
    format!(
        "{ENTRIES_OF_USER}
         SELECT booking_id AS id, code, store_id, slot_start, slot_end, party_size, status, created_at
         FROM b WHERE {filter}
           AND (slot_start > ?3 OR (slot_start = ?3 AND booking_id > ?4))
         ORDER BY slot_start, booking_id LIMIT ?5"
    )
}

fn stores_of_user_sql() -> String {
    format!("{ENTRIES_OF_USER} SELECT DISTINCT store_id FROM b")
}

/// Stores where a user has indexed bookings (for erasure).
pub async fn stores_of_user(db: &D1Database, user_id: &str) -> Result<Vec<String>, ApiError> {
    super::text_column(db, &stores_of_user_sql(), &[user_id.into()], "store_id").await
}

/// The name of the index's walk in `prune_cursors`.
const PRUNE_CURSOR: &str = "user_bookings";

/// A new pass of the prune walk starts no sooner than this after the last one started: ended
/// entries leave within this (plus a pass's length) of their cutoff, and each document is read
/// at most a few times a day.
pub const PRUNE_PASS_EVERY_SECS: i64 = 6 * 3600;

/// `?1` the cursor, `?2` the page size: the last user id of the page and how many it holds.
const PRUNE_PAGE_SQL: &str = "SELECT max(user_id) AS last, count(*) AS n
    FROM (SELECT user_id FROM user_bookings WHERE user_id > ?1 ORDER BY user_id LIMIT ?2)";

/// Deletes the documents of the page (`?1`, `?2`] that hold nothing ending at or after `?3`.
const PRUNE_DOCUMENTS_SQL: &str = "DELETE FROM user_bookings
    WHERE user_id > ?1 AND user_id <= ?2
      AND NOT EXISTS (SELECT 1 FROM json_each(bookings)
                      WHERE json_extract(value, '$.slot_end') >= ?3)";

/// Rewrites the documents of the page (`?1`, `?2`] that hold an entry that ended before `?3`
/// without those entries (documents left with none went in [`PRUNE_DOCUMENTS_SQL`], which
/// runs first in the same batch).
const PRUNE_ENTRIES_SQL: &str = "UPDATE user_bookings
    SET bookings = (SELECT json_group_object(key, json(value)) FROM json_each(bookings)
                    WHERE json_extract(value, '$.slot_end') >= ?3)
    WHERE user_id > ?1 AND user_id <= ?2
      AND EXISTS (SELECT 1 FROM json_each(bookings)
                  WHERE json_extract(value, '$.slot_end') < ?3)";

const PRUNE_CURSOR_SQL: &str = "SELECT after, pass_started_at FROM prune_cursors WHERE name = ?1";

const SAVE_PRUNE_CURSOR_SQL: &str = "INSERT INTO prune_cursors (name, after, pass_started_at)
    VALUES (?1, ?2, ?3)
    ON CONFLICT (name) DO UPDATE
      SET after = excluded.after, pass_started_at = excluded.pass_started_at";

#[derive(Deserialize)]
struct PrunePage {
    last: Option<String>,
    n: u32,
}

#[derive(Deserialize)]
struct PruneCursor {
    after: String,
    pass_started_at: i64,
}

/// Takes the entries whose slot ended before `cutoff` (RFC 3339 UTC) out of the index, at
/// `now` (Unix seconds): walks the documents by user id in pages of `page`, at most
/// `max_pages` per call, from where the last call stopped (`prune_cursors`), so a table of any
/// size is covered across calls; once a pass has reached the end, the next starts no sooner
/// than [`PRUNE_PASS_EVERY_SECS`] after that one began. Each page is one batch (a transaction) that also
/// saves the cursor, so a flush that updates a document meanwhile is never lost and a call that
/// fails half-way keeps the pages it did. Returns the documents deleted or rewritten.
///
/// The walk reads every document once per pass instead of an index by end: an index entry
/// would be a row written with every booking change, while rows read cost a thousandth of
/// rows written (README, "A bounded D1").
pub async fn prune_ended(
    db: &D1Database,
    cutoff: &str,
    now: i64,
    page: u32,
    max_pages: u32,
) -> worker::Result<u64> {
    let saved = db
        .prepare(PRUNE_CURSOR_SQL)
        .bind(&[PRUNE_CURSOR.into()])?
        .first::<PruneCursor>(None)
        .await?;
    let (mut after, mut started) = match saved {
        Some(c) => (c.after, c.pass_started_at),
        None => (String::new(), 0),
    };
    if after.is_empty() {
        if now - started < PRUNE_PASS_EVERY_SECS {
            return Ok(0);
        }
        started = now;
    }
    let mut changed = 0u64;
    for _ in 0..max_pages {
        let found = db
            .prepare(PRUNE_PAGE_SQL)
            .bind(&[after.as_str().into(), f64::from(page).into()])?
            .first::<PrunePage>(None)
            .await?;
        let (last, n) = match found {
            Some(PrunePage {
                last: Some(last),
                n,
            }) => (last, n),
            _ => (after.clone(), 0),
        };
        let next = if n < page {
            String::new()
        } else {
            last.clone()
        };
        let save = db.prepare(SAVE_PRUNE_CURSOR_SQL).bind(&[
            PRUNE_CURSOR.into(),
            next.as_str().into(),
            (started as f64).into(),
        ])?;
        let statements = if n == 0 {
            vec![save]
        } else {
            let args = [after.as_str().into(), last.as_str().into(), cutoff.into()];
            vec![
                db.prepare(PRUNE_DOCUMENTS_SQL).bind(&args)?,
                db.prepare(PRUNE_ENTRIES_SQL).bind(&args)?,
                save,
            ]
        };
        let results = db.batch(statements).await?;
        // Every statement's changes but the cursor's save, which is last.
        for result in results.iter().rev().skip(1) {
            changed += result.meta()?.and_then(|m| m.changes).unwrap_or_default() as u64;
        }
        if next.is_empty() {
            break;
        }
        after = next;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The D1 migrations in the order D1 applies them (by file name).
    fn migrations() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// `MIGRATIONS` (all of them), `upsert(user, booking, slot_end, status, version)` through
    /// the store objects' statement, and the queries of this module by name.
    fn prelude() -> String {
        format!(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS:
    db.executescript(sql)
def upsert(user, booking, end, status, version, trim_at={trim_at}, updated="2026-12-01T00:00:00Z"):
    return db.execute({upsert:?}, (user, booking, "s-" + booking[:2], "CODE", end[:11] + "09:00:00Z",
        end, 2, status, "c", updated, version, "erased:" + user,
        '$."' + booking + '"', trim_at)).rowcount
def ids(rows):
    return " ".join(r[0] for r in rows) or "-"
UPCOMING, PAST, STORES = {upcoming:?}, {past:?}, {stores:?}
DOCS, ENTRIES, PAGE = {docs:?}, {entries:?}, {page:?}
"#,
            upsert = safemarket_durable::user_bookings::UPSERT,
            trim_at = safemarket_durable::user_bookings::TRIM_AT,
            upcoming = of_user_sql(Scope::Upcoming),
            past = of_user_sql(Scope::Past),
            stores = stores_of_user_sql(),
            docs = PRUNE_DOCUMENTS_SQL,
            entries = PRUNE_ENTRIES_SQL,
            page = PRUNE_PAGE_SQL,
        )
    }

    fn run(script: &str) -> Vec<String> {
        let migrations = migrations();
        let migrations: Vec<&str> = migrations.iter().map(String::as_str).collect();
        let out = safemarket_engine::sqlite_check::python(
            "MIGRATIONS",
            &migrations,
            &format!("{}{script}", prelude()),
        );
        out.lines().map(String::from).collect()
    }

    #[test]
    fn upserts_keep_the_newest_version_of_each_booking_and_reads_list_a_users_own() {
        let out = run(r#"
print(upsert("u1", "b1", "2026-12-03T10:00:00Z", "confirmed", 1), upsert("u1", "b2", "2026-12-05T10:00:00Z", "confirmed", 2))
# A newer state, a late retry of an older one (ignored), the same state again.
print(upsert("u1", "b1", "2026-12-03T10:00:00Z", "cancelled", 3), upsert("u1", "b1", "2026-12-03T10:00:00Z", "confirmed", 1), upsert("u1", "b1", "2026-12-03T10:00:00Z", "cancelled", 3))
upsert("u2", "c1", "2026-12-04T10:00:00Z", "confirmed", 4)
db.execute("INSERT INTO erased_users VALUES ('erased:u3', 1)")
print(upsert("u3", "d1", "2026-12-04T10:00:00Z", "confirmed", 5), db.execute("SELECT count(*) FROM user_bookings WHERE user_id = 'u3'").fetchone()[0])
now, start = "2026-12-02T00:00:00Z", ""
print(ids(db.execute(UPCOMING, ("u1", now, start, "", 10))))
print(ids(db.execute(PAST, ("u1", now, start, "", 10))))
print(db.execute(PAST, ("u1", now, start, "", 10)).fetchone())
# The cursor: after (slot start, id) of b1, limit 1.
print(ids(db.execute(UPCOMING, ("u2", now, start, "", 1))), ids(db.execute(UPCOMING, ("u1", "2026-12-01T00:00:00Z", "2026-12-03T09:00:00Z", "b1", 1))))
print(ids(sorted(db.execute(STORES, ("u1",)))))
for sql, args in ((UPCOMING, ("u1", now, start, "", 10)), (STORES, ("u1",))):
    plan = " ; ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, args))
    print("USING PRIMARY KEY (user_id=?)" in plan, plan)
"#);
        let (results, plans) = out.split_at(out.len().min(8));
        assert_eq!(
            results,
            [
                "1 1",
                "1 0 1",
                "0 0",
                "b2",
                "b1",
                "('b1', 'CODE', 's-b1', '2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z', 2, 'cancelled', 'c')",
                "c1 b2",
                "s-b1 s-b2",
            ],
            "{out:?}"
        );
        // Each read finds the user's document by its key, scanning no other.
        assert_eq!(plans.len(), 2, "{out:?}");
        for plan in plans {
            assert!(plan.starts_with("True"), "{plan}");
        }
    }

    #[test]
    fn the_prune_walk_drops_ended_entries_and_documents_left_empty_page_by_page() {
        // Five users; a page of two; the cutoff between the old and the recent slots. The walk
        // as `prune_ended` runs it: page, then both statements over the page's range.
        let out = run(r#"
old, recent, upcoming = "2026-10-01T10:00:00Z", "2026-11-20T10:00:00Z", "2026-12-20T10:00:00Z"
upsert("u1", "a1", old, "checked_in", 1); upsert("u1", "a2", recent, "cancelled", 2)
upsert("u2", "b1", old, "confirmed", 3)
upsert("u3", "c1", upcoming, "confirmed", 4)
upsert("u4", "d1", old, "no_show", 5); upsert("u4", "d2", old, "checked_in", 6)
upsert("u5", "e1", old, "confirmed", 7); upsert("u5", "e2", upcoming, "confirmed", 8)
cutoff, after, pages, changed = "2026-11-01T00:00:00Z", "", 0, 0
while True:
    last, n = db.execute(PAGE, (after, 2)).fetchone()
    if last is None:
        break
    pages += 1
    for sql in (DOCS, ENTRIES):
        changed += db.execute(sql, (after, last, cutoff)).rowcount
    if n < 2:
        break
    after = last
print(pages, changed)
print(ids(db.execute("SELECT user_id || ':' || (SELECT group_concat(key, ',') FROM json_each(bookings)) FROM user_bookings ORDER BY user_id")))
# A second walk finds nothing to do.
print(sum(db.execute(sql, ("", "u9", cutoff)).rowcount for sql in (DOCS, ENTRIES)))
print(db.execute("SELECT count(*) FROM prune_cursors").fetchone()[0])
"#);
        assert_eq!(out, ["3 4", "u1:a2 u3:c1 u5:e2", "0", "0"], "{out:?}");
    }

    #[test]
    fn migration_0012_turns_the_index_rows_into_one_document_per_user() {
        let migrations = migrations();
        let (before, last) = migrations.split_at(migrations.len() - 1);
        assert!(last[0].contains("CREATE TABLE user_bookings"));
        let before: Vec<&str> = before.iter().map(String::as_str).collect();
        let script = format!(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS:
    db.executescript(sql)
row = "INSERT INTO booking_index (booking_id, store_id, number, user_id, code, slot_start, slot_end, party_size, status, created_at, updated_at, version) VALUES (?, ?, 1, ?, 'C', '2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z', 3, 'confirmed', 'c', 'u', ?)"
for booking, store, user, version in (("b1", "s1", "u1", 7), ("b2", "s2", "u1", 8), ("b3", "s1", "u2", 9), ("b4", "s1", None, 10)):
    db.execute(row, (booking, store, user, version))
db.executescript({last:?})
print(" ".join(n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'booking_index%' OR name IN ('user_bookings', 'prune_cursors') ORDER BY name")))
print(db.execute("SELECT bookings FROM user_bookings WHERE user_id = 'u1'").fetchone()[0])
print(db.execute("SELECT group_concat(user_id, ' ') FROM user_bookings").fetchone()[0])
print(db.execute({upcoming:?}, ("u1", "2026-12-01T00:00:00Z", "", "", 10)).fetchall())
"#,
            last = last[0],
            upcoming = of_user_sql(Scope::Upcoming),
        );
        let out = safemarket_engine::sqlite_check::python("MIGRATIONS", &before, &script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "prune_cursors user_bookings",
                r#"{"b1":{"store_id":"s1","code":"C","slot_start":"2026-12-03T09:00:00Z","slot_end":"2026-12-03T10:00:00Z","party_size":3,"status":"confirmed","created_at":"c","updated_at":"u","version":7},"b2":{"store_id":"s2","code":"C","slot_start":"2026-12-03T09:00:00Z","slot_end":"2026-12-03T10:00:00Z","party_size":3,"status":"confirmed","created_at":"c","updated_at":"u","version":8}}"#,
                "u1 u2",
                "[('b1', 'C', 's1', '2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z', 3, 'confirmed', 'c'), ('b2', 'C', 's2', '2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z', 3, 'confirmed', 'c')]",
            ]
        );
    }

    #[test]
    fn a_document_past_its_size_keeps_its_upcoming_bookings_and_never_fails_the_flush() {
        // Sizes scaled down: trimmed from 1,000 bytes, never written from 2,000, and SQLite
        // refusing values over 3,000 as D1 refuses rows over 2 MB.
        let out = run(r#"
db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 3000)
past, ahead = "2026-11-20T10:00:00Z", "2026-12-20T10:00:00Z"
for k in range(6):
    upsert("u7", f"p{k}", past, "checked_in", k, 1000)
doc = db.execute("SELECT bookings FROM user_bookings WHERE user_id = 'u7'").fetchone()[0]
print(" ".join(json.loads(doc)))
written = [upsert("u7", f"f{k:02}", ahead, "confirmed", 10 + k, 1000) for k in range(20)]
doc = db.execute("SELECT bookings FROM user_bookings WHERE user_id = 'u7'").fetchone()[0]
print(len(doc) < 2300, written[-1], all(k in json.loads(doc) for k in ("f00", "f05")), "p5" in json.loads(doc))
"#);
        assert_eq!(out, ["p5", "True 0 True False"], "{out:?}");
    }
}
