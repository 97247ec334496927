//! Rows written per booking, from the store objects' index-flush log lines (see
//! `durable/src/object/sync.rs`): each flush logs the entries it carried to D1 (outbox rows
//! and new bookings), the rows the object's SQLite wrote since the flush before (the calls'
//! writes, and the outbox floor and deletes of this flush) and the rows D1 wrote for the
//! batch, table rows and index entries as SQLite counts them. The bench's writes are
//! bookings (the contended slot's refusals write nothing), so the sums divided by the entries
//! are the rows written per booking, amortised over the flushes.

use serde_json::{json, Value};

use crate::report::{Budget, Report, Row};

/// The budget of rows written per booking (object SQLite + D1).
const BUDGET: f64 = 4.0;

/// Sums of the flush lines of a server log.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Flushes {
    flushes: u64,
    entries: u64,
    object_rows: u64,
    d1_rows: u64,
}

fn sum(log: &str) -> Flushes {
    let mut total = Flushes::default();
    for line in log.lines() {
        if !line.contains("index flush") {
            continue;
        }
        let Some(start) = line.find('{') else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&line[start..]) else {
            continue;
        };
        if v["msg"] != "index flush" {
            continue;
        }
        let n = |key: &str| v[key].as_u64().unwrap_or(0);
        total.flushes += 1;
        total.entries += n("entries");
        total.object_rows += n("object_rows_written");
        total.d1_rows += n("d1_rows_written");
    }
    total
}

/// Adds the rows-per-booking row and budget for the server whose log is `log`.
pub fn report(log: &str, report: &mut Report) {
    let t = sum(log);
    if t.entries == 0 {
        report
            .warnings
            .push("rows written: no index-flush lines in the server log".to_string());
        return;
    }
    let per = |rows: u64| rows as f64 / t.entries as f64;
    let (object, d1) = (per(t.object_rows), per(t.d1_rows));
    report.rows.push(Row {
        key: "rows_written".to_string(),
        scenario: "rows written per booking (object SQLite + D1)".to_string(),
        result: format!("{:.2} rows", object + d1),
        p50_ms: 0.0,
        p99_ms: 0.0,
        notes: vec![format!(
            "object {object:.2} + D1 {d1:.2}, over {} bookings in {} flushes",
            t.entries, t.flushes
        )],
        json: json!({
            "bookings": t.entries,
            "flushes": t.flushes,
            "object_rows": t.object_rows,
            "d1_rows": t.d1_rows,
            "object_per_booking": object,
            "d1_per_booking": d1,
        }),
    });
    report.budgets.push(Budget {
        name: format!("rows written per booking <= {BUDGET:.0}"),
        holds: object + d1 <= BUDGET,
        detail: format!("{:.2} (object {object:.2}, D1 {d1:.2})", object + d1),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_flush_lines_only() {
        let log = concat!(
            "[wrangler:info] GET /api/nope 404\n",
            "{\"d1_rows_written\":8,\"entries\":2,\"level\":\"info\",\"msg\":\"index flush\",\"object_rows_written\":14}\n",
            "  {\"d1_rows_written\":4,\"entries\":1,\"level\":\"info\",\"msg\":\"index flush\",\"object_rows_written\":7}\n",
            "{\"d1_rows_written\":4,\"msg\":\"something else\"}\n",
        );
        assert_eq!(
            sum(log),
            Flushes {
                flushes: 2,
                entries: 3,
                object_rows: 21,
                d1_rows: 12
            }
        );
    }
}
