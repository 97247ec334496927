//! The D1 booking index (written by the store objects' index flushes) and history.

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

/// The query of [`of_user`]: `?1` user, `?2` now, `?3`/`?4` the cursor's start and id, `?5`
/// the limit.
fn of_user_sql(scope: Scope) -> String {
    let filter = match scope {
        Scope::Upcoming => "slot_end > ?2 AND status IN ('confirmed', 'checked_in')",
        Scope::Past => "(slot_end <= ?2 OR status IN ('cancelled', 'no_show'))",
    };
    format!(
        "SELECT booking_id AS id, code, store_id, slot_start, slot_end, party_size, status, created_at
         FROM booking_index WHERE user_id = ?1 AND {filter}
           AND (slot_start > ?3 OR (slot_start = ?3 AND booking_id > ?4))
         ORDER BY slot_start, booking_id LIMIT ?5"
    )
}

const STORES_OF_USER_SQL: &str = "SELECT DISTINCT store_id FROM booking_index WHERE user_id = ?1";

/// Stores where a user has indexed bookings (for erasure).
pub async fn stores_of_user(db: &D1Database, user_id: &str) -> Result<Vec<String>, ApiError> {
    super::text_column(db, STORES_OF_USER_SQL, &[user_id.into()], "store_id").await
}

#[cfg(test)]
mod tests {
    use super::{of_user_sql, Scope, STORES_OF_USER_SQL};

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

    #[test]
    fn reads_by_user_use_the_index_that_leaves_out_rows_without_a_user() {
        let migrations = migrations();
        let migrations: Vec<&str> = migrations.iter().map(String::as_str).collect();
        let script = format!(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS:
    db.executescript(sql)
row = "INSERT INTO booking_index (booking_id, store_id, number, user_id, code, slot_start, slot_end, party_size, status, created_at, updated_at, version) VALUES (?, 's', 1, ?, 'C', '2026-12-03T10:00:00Z', '2026-12-03T10:10:00Z', 1, 'confirmed', 'x', 'x', 1)"
db.execute(row, ("b1", "u1"))
db.execute(row, ("b2", None))
db.execute("ANALYZE")
for idx in ("booking_index_by_user", "booking_index_by_end"):
    print(idx, db.execute("SELECT stat FROM sqlite_stat1 WHERE idx = ?", (idx,)).fetchone()[0].split()[0])
for sql, n in (({upcoming:?}, 5), ({past:?}, 5), ({stores:?}, 1)):
    plan = " ; ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, (None,) * n))
    print("booking_index_by_user" in plan, plan)
"#,
            upcoming = of_user_sql(Scope::Upcoming),
            past = of_user_sql(Scope::Past),
            stores = STORES_OF_USER_SQL,
        );
        let out = safemarket_engine::sqlite_check::python("MIGRATIONS", &migrations, &script);
        let lines: Vec<&str> = out.lines().collect();
        // Index entries: only the row with a user is in the partial index; both are in the other.
        assert_eq!(
            lines[..2],
            ["booking_index_by_user 1", "booking_index_by_end 2"]
        );
        for plan in &lines[2..] {
            assert!(
                plan.starts_with("True"),
                "query does not use the index: {plan}"
            );
        }
        assert_eq!(lines.len(), 5);
    }
}
