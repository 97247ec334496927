//! The capacity model behind `make capacity`: per platform resource, the load a scenario puts
//! on it, the documented limit, and the scenario size at which that limit is reached. Pure
//! arithmetic over the bench's measured figures ([`Figures`]) and a [`Scenario`].
//!
//! Limits are Cloudflare's documented ones as read on 2026-12-01 (Workers Paid plan):
//! <https://developers.cloudflare.com/workers/platform/limits/>,
//! <https://developers.cloudflare.com/d1/platform/limits/>,
//! <https://developers.cloudflare.com/durable-objects/platform/limits/>,
//! <https://developers.cloudflare.com/kv/platform/limits/>,
//! <https://developers.cloudflare.com/r2/platform/limits/>.

use serde_json::Value;

/// Seconds per day.
const DAY_S: f64 = 86_400.0;

/// What one booking and one availability read cost, from the bench (or the committed copy).
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Where the figures came from (a path).
    pub source: String,
    /// Worker + object CPU per booking (ms), measured (`cpu_ms_per_booking.workerd`).
    pub cpu_ms_per_booking: f64,
    /// Upper bound of the CPU of a 31-day availability read (ms): its measured p50 latency.
    pub cpu_ms_per_availability: f64,
    /// Bookings/s one store's object sustained locally (`hot_store_32`), for reference.
    pub hot_store_measured_per_s: f64,
    /// D1 statements per booking: the session-row read of the authenticated request and the
    /// index upserts of its outbox (creation, and on average half a later status change).
    pub d1_queries_per_booking: f64,
    /// D1 rows written per booking (index upserts).
    pub d1_rows_per_booking: f64,
    /// Bytes one booking takes in the D1 index (its entry of about 300 bytes in its user's
    /// document, with room for the document row's own overhead).
    pub d1_bytes_per_row: f64,
    /// KV writes per booking (session records of the shoppers who book: a login or refresh
    /// per two bookings).
    pub kv_writes_per_booking: f64,
    /// R2 writes per booking (one put per archive batch of up to 100, a second when a batch
    /// spans two months).
    pub r2_writes_per_booking: f64,
}

impl Figures {
    /// The committed figures (README "Latest results", session of 2026-12-01).
    pub fn committed() -> Self {
        Figures {
            source: "bench/capacity-figures.json".into(),
            cpu_ms_per_booking: 8.93,
            cpu_ms_per_availability: 24.8,
            hot_store_measured_per_s: 151.0,
            d1_queries_per_booking: 2.5,
            d1_rows_per_booking: 1.5,
            d1_bytes_per_row: 400.0,
            kv_writes_per_booking: 0.5,
            r2_writes_per_booking: 0.011,
        }
    }

    /// `base` with what a bench JSON document (`target/bench/latest.json`, or the committed
    /// figures file, which has the same fields at the top level) measured.
    pub fn from_json(base: Figures, doc: &Value, source: &str) -> Self {
        let num = |v: &Value| v.as_f64().filter(|x| x.is_finite() && *x > 0.0);
        let mut f = base;
        f.source = source.to_string();
        if let Some(x) = num(&doc["cpu_ms_per_booking"]["workerd"]) {
            f.cpu_ms_per_booking = x;
        }
        if let Some(x) = num(&doc["scenarios"]["availability"]["p50_ms"]) {
            f.cpu_ms_per_availability = x;
        }
        if let Some(x) = num(&doc["scenarios"]["hot_store_32"]["rate_per_s"]) {
            f.hot_store_measured_per_s = x;
        }
        let model = &doc["model"];
        for (field, slot) in [
            ("d1_queries_per_booking", &mut f.d1_queries_per_booking),
            ("d1_rows_per_booking", &mut f.d1_rows_per_booking),
            ("d1_bytes_per_row", &mut f.d1_bytes_per_row),
            ("kv_writes_per_booking", &mut f.kv_writes_per_booking),
            ("r2_writes_per_booking", &mut f.r2_writes_per_booking),
        ] {
            if let Some(x) = num(&model[field]) {
                *slot = x;
            }
        }
        f
    }
}

/// A deployment to size.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// Stores.
    pub stores: f64,
    /// Bookings per day, all stores.
    pub bookings_per_day: f64,
    /// 31-day availability reads per day, all stores.
    pub availability_reads_per_day: f64,
    /// Busiest hour over the daily average.
    pub peak_factor: f64,
    /// The busiest store over the average store.
    pub hot_store_factor: f64,
    /// Days a booking's index row stays before its slot (booking lead time, on average).
    pub lead_days: f64,
}

impl Scenario {
    /// The presets: `town` (50 stores), `city` (500), `country` (10,000, 5 M bookings/day).
    pub fn preset(name: &str) -> Option<Self> {
        let (stores, bookings) = match name {
            "town" => (50.0, 25_000.0),
            "city" => (500.0, 250_000.0),
            "country" => (10_000.0, 5_000_000.0),
            _ => return None,
        };
        Some(Scenario {
            name: name.into(),
            stores,
            bookings_per_day: bookings,
            availability_reads_per_day: bookings * 10.0,
            peak_factor: 4.0,
            hot_store_factor: 5.0,
            lead_days: 3.0,
        })
    }

    fn peak_per_s(&self, per_day: f64) -> f64 {
        per_day / DAY_S * self.peak_factor
    }
}

/// One resource's line of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The resource.
    pub resource: &'static str,
    /// Load at the scenario.
    pub load: f64,
    /// The documented limit (same unit).
    pub limit: f64,
    /// Unit of both.
    pub unit: &'static str,
    /// Bookings per day (at the scenario's mix) at which the limit is reached.
    pub wall_bookings_per_day: f64,
    /// Where the limit is documented, and what to change at the wall.
    pub note: &'static str,
}

/// D1's documented database size limit (10 GB).
pub const D1_MAX_BYTES: f64 = 10e9;
/// D1 processes one query at a time per database: about 1,000 queries/s at 1 ms each.
pub const D1_QUERIES_PER_S: f64 = 1_000.0;
/// A Durable Object's documented soft limit: about 1,000 requests/s.
pub const DO_REQUESTS_PER_S: f64 = 1_000.0;
/// Worker CPU per request: 30 s by default on the paid plan (10 ms on the free plan).
pub const CPU_MS_PER_REQUEST: f64 = 30_000.0;

/// The model of `s` with `f`.
pub fn model(f: &Figures, s: &Scenario) -> Vec<Line> {
    let bookings_s = s.peak_per_s(s.bookings_per_day);
    let reads_s = s.peak_per_s(s.availability_reads_per_day);
    // Everything scales with bookings/day at the scenario's mix: the wall is where load/limit
    // reaches 1.
    let wall = |load: f64, limit: f64| {
        if load > 0.0 {
            s.bookings_per_day * limit / load
        } else {
            f64::INFINITY
        }
    };
    // One index entry per booking, kept from booking to 31 days after its slot (src/cron.rs).
    let retained_rows = s.bookings_per_day * (31.0 + s.lead_days);
    let d1_bytes = retained_rows * f.d1_bytes_per_row;
    let d1_q = bookings_s * f.d1_queries_per_booking;
    let hot_store = s.hot_store_factor / s.stores.max(1.0);
    let do_hot = (bookings_s + reads_s) * hot_store;
    let kv_w = bookings_s * f.kv_writes_per_booking;
    let r2_w = bookings_s * f.r2_writes_per_booking;
    let cpu_cores =
        (bookings_s * f.cpu_ms_per_booking + reads_s * f.cpu_ms_per_availability) / 1000.0;
    vec![
        Line {
            resource: "D1 size (index: upcoming + 31 days)",
            load: d1_bytes / 1e9,
            limit: D1_MAX_BYTES / 1e9,
            unit: "GB",
            wall_bookings_per_day: wall(d1_bytes, D1_MAX_BYTES),
            note: "d1/platform/limits: 10 GB per database. Wall: shard the index by user-id hash \
                   over N databases (each user's bookings stay in one), or keep fewer days",
        },
        Line {
            resource: "D1 queries/s (peak)",
            load: d1_q,
            limit: D1_QUERIES_PER_S,
            unit: "queries/s",
            wall_bookings_per_day: wall(d1_q, D1_QUERIES_PER_S),
            note: "d1/platform/limits: one query at a time per database (~1,000/s at 1 ms). \
                   Wall: read replicas via the D1 Sessions API for session reads, shard writes",
        },
        Line {
            resource: "DO requests/s, hottest store (peak)",
            load: do_hot,
            limit: DO_REQUESTS_PER_S,
            unit: "req/s",
            wall_bookings_per_day: wall(do_hot, DO_REQUESTS_PER_S),
            note: "durable-objects/platform/limits: ~1,000 req/s per object (soft). Wall: cache \
                   listings at the edge (they are public reads), split a store by day",
        },
        Line {
            resource: "KV writes/s (sessions, distinct keys)",
            load: kv_w,
            limit: f64::INFINITY,
            unit: "writes/s",
            wall_bookings_per_day: f64::INFINITY,
            note: "kv/platform/limits: 1 write/s per key; every session is its own key, so no \
                   account-wide wall (cost grows linearly)",
        },
        Line {
            resource: "R2 writes/s (archive batches)",
            load: r2_w,
            limit: f64::INFINITY,
            unit: "puts/s",
            wall_bookings_per_day: f64::INFINITY,
            note: "r2/platform/limits: 1 write/s per key; every batch has its own key, so no \
                   wall (Class A operations are billed)",
        },
        Line {
            resource: "Worker CPU (peak, all requests)",
            load: cpu_cores,
            limit: f64::INFINITY,
            unit: "cores",
            wall_bookings_per_day: f64::INFINITY,
            note: "workers/platform/limits: no account-wide CPU limit; requests spread over \
                   isolates (billed per CPU-ms)",
        },
        Line {
            resource: "Worker CPU per request (slowest: 31-day listing)",
            load: f.cpu_ms_per_booking.max(f.cpu_ms_per_availability),
            limit: CPU_MS_PER_REQUEST,
            unit: "ms",
            wall_bookings_per_day: f64::INFINITY,
            note: "workers/platform/limits: 30 s CPU per request on Paid (10 ms on Free, which \
                   a booking at ~9 ms would nearly hit); independent of the load",
        },
    ]
}

/// `x` for a table: `inf` for no limit, thousands separated, few decimals for small numbers.
pub fn human(x: f64) -> String {
    if x.is_infinite() {
        return "no limit".into();
    }
    if x >= 1000.0 {
        let n = x.round() as u64;
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// The model as a Markdown table.
pub fn table(f: &Figures, s: &Scenario) -> String {
    let mut out = format!(
        "scenario {}: {} stores, {} bookings/day, {} availability reads/day, peak x{}, \
         hottest store x{} (figures: {})\n\n| resource | load | limit | unit | limit reached at bookings/day | note |\n|---|---:|---:|---|---:|---|\n",
        s.name,
        human(s.stores),
        human(s.bookings_per_day),
        human(s.availability_reads_per_day),
        s.peak_factor,
        s.hot_store_factor,
        f.source
    );
    for l in model(f, s) {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            l.resource,
            human(l.load),
            human(l.limit),
            l.unit,
            human(l.wall_bookings_per_day),
            l.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(lines: &'a [Line], prefix: &str) -> &'a Line {
        lines
            .iter()
            .find(|l| l.resource.starts_with(prefix))
            .unwrap()
    }

    #[test]
    fn the_country_outgrows_one_d1_and_nothing_else() {
        let f = Figures::committed();
        let country = model(&f, &Scenario::preset("country").unwrap());
        let size = line(&country, "D1 size");
        // 5 M/day x 34 days x 1 row x 400 B = 68 GB.
        assert!((size.load - 68.0).abs() < 0.1, "{size:?}");
        assert!(size.load > size.limit);
        // The wall is where the load meets the limit: ~735 k bookings/day.
        assert!(
            (size.wall_bookings_per_day - 735_294.0).abs() < 10.0,
            "{size:?}"
        );
        let town = model(&f, &Scenario::preset("town").unwrap());
        assert!(town.iter().all(|l| l.load < l.limit), "{town:?}");
        let hot = line(&country, "DO requests");
        assert!(hot.load < hot.limit, "{hot:?}");
    }

    #[test]
    fn loads_scale_linearly_and_walls_do_not_move() {
        let f = Figures::committed();
        let town = Scenario::preset("town").unwrap();
        let mut double = town.clone();
        double.bookings_per_day *= 2.0;
        double.availability_reads_per_day *= 2.0;
        let per_request = |l: &&Line| l.unit != "ms";
        for (a, b) in model(&f, &town)
            .iter()
            .filter(per_request)
            .zip(model(&f, &double).iter().filter(per_request))
        {
            assert!(
                (b.load - 2.0 * a.load).abs() < 1e-9 * b.load.max(1.0),
                "{a:?} {b:?}"
            );
            if a.wall_bookings_per_day.is_finite() {
                assert!((a.wall_bookings_per_day - b.wall_bookings_per_day).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn measured_figures_override_the_committed_ones() {
        let doc = serde_json::json!({
            "cpu_ms_per_booking": {"workerd": 5.0},
            "scenarios": {"availability": {"p50_ms": 12.0}, "hot_store_32": {"rate_per_s": 300.0}},
            "model": {"d1_bytes_per_row": 200.0},
        });
        let f = Figures::from_json(Figures::committed(), &doc, "latest.json");
        assert_eq!(
            (
                f.cpu_ms_per_booking,
                f.cpu_ms_per_availability,
                f.d1_bytes_per_row
            ),
            (5.0, 12.0, 200.0)
        );
        assert_eq!(f.d1_rows_per_booking, 1.5);
        assert_eq!(human(1234567.0), "1,234,567");
        assert_eq!(human(f64::INFINITY), "no limit");
    }
}
