//! What a request costs on Cloudflare's price list: `make bench` starts a second `wrangler dev`
//! with the cost meter on (`COST_METER=1`, durable/src/meter.rs) and the public rate limits at
//! their defaults, makes each kind of request a number of times, each from its own client
//! address (as real shoppers are), and sums the `x-cost-meter` headers. Work an object does
//! later for a request (the outbox alarm's D1 batch, `bg_*` units) is collected with one more
//! request per touched store once the alarms have run. CPU is not visible inside an isolate:
//! it is the local workerd's CPU time per request (`/proc`), which is more than the edge's (the
//! meter's own proxies, wrangler's local proxy and the log lines run in it too).
//!
//! Prices come from `bench/prices.json`, one file with its sources and date.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use safemarket_blackbox::server::{apply_migrations, fresh_state_dir};
use safemarket_blackbox::{
    all_day_schedule, register, store_with_schedule, utc_date_in, Api, Resp, Server,
    TEST_JWT_SECRET,
};
use serde_json::{json, Value};

use crate::machine::Runtime;

/// Requests per kind (enough for stable averages; a cost run is not a load test).
const BOOKINGS: usize = 120;
const STORES: usize = 100;
const READS: usize = 20;
const LOGINS: usize = 10;
const LEGACY: usize = 40;
const SESSIONS: usize = 40;
/// The Workers size limit the deploy dry-run enforces (scripts/deploy-check.sh): Free plan,
/// 3 MiB after gzip.
const SIZE_LIMIT_BYTES: u64 = 3 * 1024 * 1024;

/// Billable units of one kind of request, averaged per request.
#[derive(Debug, Clone, Default)]
pub struct Units {
    pub per_request: BTreeMap<String, f64>,
    /// Local workerd CPU ms per request.
    pub cpu_ms: f64,
}

/// One measured kind of request.
#[derive(Debug, Clone)]
pub struct Measured {
    pub key: &'static str,
    pub what: &'static str,
    pub units: Units,
    /// USD per million of these requests on the paid plan, beyond the monthly inclusions.
    pub usd_per_million: f64,
}

/// The whole cost run.
#[derive(Debug, Clone)]
pub struct CostReport {
    pub measured: Vec<Measured>,
    pub budgets: Vec<(String, bool, String)>,
    pub town: BTreeMap<String, (f64, f64)>,
    pub city_month_usd: f64,
    pub bundle_gzip: u64,
    pub prices_date: String,
}

/// Sums the meter headers of responses (`a=1;b=2`), `bg_*` folded into their unit.
#[derive(Default)]
struct Tally {
    units: BTreeMap<String, f64>,
}

impl Tally {
    fn add(&mut self, resp: &Resp, only_background: bool) {
        let Some(header) = resp.header("x-cost-meter") else {
            return;
        };
        for part in header.split(';') {
            let Some((name, value)) = part.split_once('=') else {
                continue;
            };
            let Ok(n) = value.parse::<f64>() else {
                continue;
            };
            let (name, bg) = match name.strip_prefix("bg_") {
                Some(unit) => (unit, true),
                None => (name, false),
            };
            if bg || !only_background {
                *self.units.entry(name.to_string()).or_default() += n;
            }
        }
    }
}

fn prices(root: &Path) -> Result<Value, String> {
    let path = root.join("bench/prices.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// USD per million requests with these units.
fn usd_per_million(units: &Units, prices: &Value) -> f64 {
    let price = |name: &str| {
        prices["paid"][name]["usd_per_million"]
            .as_f64()
            .unwrap_or(0.0)
    };
    let u = |name: &str| units.per_request.get(name).copied().unwrap_or(0.0);
    // 128 MB per active object for its wall time.
    let gb_s = u("do_wall_ms") / 1000.0 * 0.125;
    let per_request = u("worker_requests") * price("worker_requests")
        + units.cpu_ms * price("worker_cpu_ms")
        + (u("do_requests") + u("do_alarms")) * price("do_requests")
        + gb_s * price("do_gb_s")
        + u("do_rows_read") * price("do_rows_read")
        + u("do_rows_written") * price("do_rows_written")
        + u("d1_rows_read") * price("d1_rows_read")
        + u("d1_rows_written") * price("d1_rows_written")
        + u("kv_reads") * price("kv_reads")
        + (u("kv_writes") + u("kv_deletes") + u("kv_lists")) * price("kv_writes")
        + 3.0 * u("queue_messages") * price("queue_operations");
    // Units per request times prices per million units: dollars per million requests.
    per_request
}

/// A client address of its own for request `i` of a scenario (RFC 1918, 10.x.y.z).
fn address(scenario: u8, i: usize) -> String {
    format!("10.{scenario}.{}.{}", (i / 250) % 250, i % 250 + 1)
}

struct Meter<'a> {
    api: &'a Api,
    runtime: &'a Runtime,
}

impl Meter<'_> {
    /// Runs `n` requests made by `f(i)` and the collection of the deferred work of `stores`.
    fn measure(
        &self,
        n: usize,
        stores: &[String],
        f: impl Fn(usize) -> Resp,
    ) -> Result<Units, String> {
        let mut tally = Tally::default();
        let before = self.runtime.cpu();
        for i in 0..n {
            let resp = f(i);
            if resp.status >= 400 {
                return Err(format!(
                    "cost run: request {i} answered {}: {}",
                    resp.status, resp.text
                ));
            }
            tally.add(&resp, false);
        }
        // Let the objects' outbox alarms run, then pick up what they used.
        std::thread::sleep(Duration::from_millis(1500));
        let cpu_ms = (self.runtime.cpu().workerd - before.workerd) * 1000.0 / n as f64;
        for (i, store) in stores.iter().enumerate() {
            let resp = self.api.request(
                "GET",
                &format!("/api/v1/stores/{store}/schedule"),
                &[("cf-connecting-ip", &address(250, i))],
                None,
            );
            tally.add(&resp, true);
        }
        Ok(Units {
            per_request: tally
                .units
                .into_iter()
                .map(|(k, v)| (k, v / n as f64))
                .collect(),
            cpu_ms,
        })
    }
}

fn book(api: &Api, store: &str, token: &str, slot: &str, ip: &str) -> Resp {
    api.with_token(token).request(
        "POST",
        &format!("/api/v1/stores/{store}/bookings"),
        &[
            ("cf-connecting-ip", ip),
            ("idempotency-key", &idempotency_key(ip)),
        ],
        Some(&json!({"slot_start": slot, "party_size": 1})),
    )
}

/// One key per booking (each booking of a run comes from its own address).
fn idempotency_key(ip: &str) -> String {
    format!("cost-booking-{}", ip.replace('.', "-"))
}

fn guest_token(api: &Api, ip: &str) -> Result<(String, String), String> {
    let device = format!("cost-device-{ip}");
    let resp = api.request(
        "POST",
        "/api/v1/auth/guest",
        &[("cf-connecting-ip", ip)],
        Some(&json!({"device_id": device})),
    );
    let body = resp.json();
    match (
        body["access_token"].as_str(),
        body["refresh_token"].as_str(),
    ) {
        (Some(access), Some(refresh)) => Ok((access.to_string(), refresh.to_string())),
        _ => Err(format!("cost run: no guest session: {}", resp.text)),
    }
}

/// Slot starts (UTC, hourly) over the next days, one per booking.
fn slots(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{}T{:02}:00:00Z", utc_date_in(1 + (i / 24) as i64), i % 24))
        .collect()
}

/// Starts the metered server, measures every kind of request and prices it.
pub fn run(root: &Path, bundle_gzip: u64) -> Result<CostReport, String> {
    let prices = prices(root)?;
    let state = fresh_state_dir();
    apply_migrations(&state);
    let server = Server::start(
        &state,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("COST_METER", "1"),
            ("PUBLIC_WRITE_RATE_PER_MINUTE", "60"),
            ("PUBLIC_RATE_PER_MINUTE", "600"),
        ],
    );
    let runtime = Runtime::of_base(&server.base)?;
    let api = Api::new(&server.base);
    let meter = Meter {
        api: &api,
        runtime: &runtime,
    };

    // Fixtures (not measured): an owner, a hot store, 100 small stores, guests, a login user.
    let owner = register(&api, "cost-owner");
    let mut schedule = all_day_schedule(60, 10_000);
    schedule["horizon_days"] = json!(60);
    let hot = store_with_schedule(&api, &owner, "UTC", &schedule);
    let stores: Vec<String> = (0..STORES)
        .map(|_| store_with_schedule(&api, &owner, "UTC", &schedule))
        .collect();
    let guests = (0..BOOKINGS)
        .map(|i| guest_token(&api, &address(1, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let guests_many = (0..BOOKINGS)
        .map(|i| guest_token(&api, &address(2, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let login_user = register(&api, "cost-login");
    let slot_list = slots(BOOKINGS);
    let legacy_id = api.get(&format!("/api/v1/stores/{hot}")).json()["legacy_id"]
        .as_i64()
        .ok_or("no legacy_id")?;

    let mut measured = Vec::new();
    let mut push = |key, what, units: Units| {
        let usd = usd_per_million(&units, &prices);
        measured.push(Measured {
            key,
            what,
            units,
            usd_per_million: usd,
        });
    };

    let hot_ids = RefCell::new(Vec::with_capacity(BOOKINGS));
    let hot_units = meter.measure(BOOKINGS, std::slice::from_ref(&hot), |i| {
        let booked = book(&api, &hot, &guests[i].0, &slot_list[i], &address(1, i));
        let id = booked.json()["id"].as_str().unwrap_or_default().to_string();
        hot_ids.borrow_mut().push(id);
        booked
    })?;
    push("booking_hot_store", "booking, one busy store", hot_units);
    // The same bookings cancelled by their shoppers (a change of status, as check-ins and
    // no-shows are), after their creations were carried to the index.
    let hot_ids = hot_ids.into_inner();
    let cancel_units = meter.measure(BOOKINGS, std::slice::from_ref(&hot), |i| {
        let id = hot_ids.get(i).map_or("", String::as_str);
        api.with_token(&guests[i].0).request(
            "DELETE",
            &format!("/api/v1/stores/{hot}/bookings/{id}"),
            &[("cf-connecting-ip", &address(1, i))],
            None,
        )
    })?;
    push(
        "cancellation_hot_store",
        "cancellation, one busy store",
        cancel_units,
    );
    let many_units = meter.measure(BOOKINGS, &stores, |i| {
        book(
            &api,
            &stores[i % STORES],
            &guests_many[i].0,
            &slot_list[i],
            &address(2, i),
        )
    })?;
    push(
        "booking_100_stores",
        "booking, 100 stores round robin",
        many_units,
    );
    let (from, to) = (utc_date_in(1), utc_date_in(31));
    let reads = meter.measure(READS, &[], |i| {
        api.request(
            "GET",
            &format!("/api/v1/stores/{hot}/slots?from={from}&to={to}"),
            &[("cf-connecting-ip", &address(3, i))],
            None,
        )
    })?;
    push("availability_31_days", "31-day availability read", reads);
    let login_body = json!({"email": login_user.email, "password": login_user.password});
    let logins = meter.measure(LOGINS, &[], |i| {
        api.request(
            "POST",
            "/api/v1/auth/login",
            &[("cf-connecting-ip", &address(4, i))],
            Some(&login_body),
        )
    })?;
    push("login", "login (registered user)", logins);
    let legacy_slots = slots(LEGACY);
    let legacy = meter.measure(LEGACY, std::slice::from_ref(&hot), |i| {
        let local = legacy_slots[i].trim_end_matches('Z');
        api.request(
            "POST",
            &format!(
                "/api/Reservation/Reserve?locationId={legacy_id}&dateTime={local}&deviceId=cost-legacy-{i}"
            ),
            &[("cf-connecting-ip", &address(5, i))],
            None,
        )
    })?;
    push("legacy_reservation", "legacy app reservation", legacy);
    let sessions = meter.measure(SESSIONS, &[], |i| {
        let device = format!("cost-session-{i}");
        api.request(
            "POST",
            "/api/v1/auth/guest",
            &[("cf-connecting-ip", &address(6, i))],
            Some(&json!({"device_id": device})),
        )
    })?;
    push("guest_session", "new guest session", sessions);
    let refreshes = meter.measure(SESSIONS, &[], |i| {
        api.request(
            "POST",
            "/api/v1/auth/refresh",
            &[("cf-connecting-ip", &address(7, i))],
            Some(&json!({"refresh_token": guests[i].1})),
        )
    })?;
    push("refresh", "token refresh (app opened again)", refreshes);
    server.stop();

    Ok(assess(measured, &prices, bundle_gzip))
}

/// The budgets, the town's day on the free plan and the city's month on the paid plan.
fn assess(measured: Vec<Measured>, prices: &Value, bundle_gzip: u64) -> CostReport {
    let find = |key: &str| measured.iter().find(|m| m.key == key);
    let usd = |key: &str| find(key).map_or(f64::NAN, |m| m.usd_per_million);
    let mut budgets = Vec::new();
    let booking = usd("booking_hot_store").max(usd("booking_100_stores"));
    budgets.push((
        "<= $6 per million bookings".to_string(),
        booking <= 6.0,
        format!(
            "hot store ${:.2}, 100 stores ${:.2}",
            usd("booking_hot_store"),
            usd("booking_100_stores")
        ),
    ));
    let reads = usd("availability_31_days");
    budgets.push((
        "<= $1 per million 31-day availability reads".to_string(),
        reads <= 1.0,
        format!("${reads:.2}"),
    ));
    // A town's day: 50 stores, 5,000 bookings; per booking the app is opened once (a token
    // refresh) and shows availability 4 times; 10% of the bookers are new devices.
    let day: [(&str, f64); 4] = [
        ("booking_100_stores", 5000.0),
        ("refresh", 5000.0),
        ("availability_31_days", 20000.0),
        ("guest_session", 500.0),
    ];
    let mut town: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (key, count) in day {
        if let Some(m) = find(key) {
            let mut add = |name: &str, n: f64| {
                town.entry(name.to_string()).or_default().0 += n * count;
            };
            for (unit, n) in &m.units.per_request {
                let name = match unit.as_str() {
                    "do_alarms" => "do_requests",
                    "do_wall_ms" => "do_gb_s",
                    other => other,
                };
                let n = if unit == "do_wall_ms" {
                    n / 1000.0 * 0.125
                } else {
                    *n
                };
                add(name, n);
            }
            add(
                "queue_operations",
                3.0 * m
                    .units
                    .per_request
                    .get("queue_messages")
                    .copied()
                    .unwrap_or(0.0),
            );
        }
    }
    town.remove("queue_messages");
    town.remove("worker_wall_ms");
    let mut over = Vec::new();
    for (name, (used, limit)) in town.iter_mut() {
        *limit = prices["free_daily"][name.as_str()]
            .as_f64()
            .unwrap_or(f64::INFINITY);
        if *used > *limit {
            over.push(format!("{name} {used:.0} > {limit:.0}"));
        }
    }
    budgets.push((
        "town of 50 stores, 5,000 bookings/day within the free plan".to_string(),
        over.is_empty(),
        if over.is_empty() {
            "every daily limit holds".to_string()
        } else {
            over.join(", ")
        },
    ));
    budgets.push((
        "bundle within the Workers size limit (Free: 3 MiB gzip)".to_string(),
        bundle_gzip <= SIZE_LIMIT_BYTES,
        format!("{bundle_gzip} B gzip of {SIZE_LIMIT_BYTES}"),
    ));
    // A city's month: 500 stores, 200,000 bookings and 2 M availability reads a day, with the
    // town's refresh and new-session mix, over 30 days, beyond the plan's inclusions.
    let month = |key: &str, per_day: f64| usd(key) * per_day * 30.0 / 1e6;
    let city_month_usd = month("booking_100_stores", 200_000.0)
        + month("refresh", 200_000.0)
        + month("guest_session", 20_000.0)
        + month("availability_31_days", 2_000_000.0);
    CostReport {
        measured,
        budgets,
        town,
        city_month_usd,
        bundle_gzip,
        prices_date: prices["date"].as_str().unwrap_or("?").to_string(),
    }
}

impl CostReport {
    /// The printed table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "\nWhat it costs (Workers Paid list prices of {}, bench/prices.json; per request, metered):\n",
            self.prices_date
        );
        out.push_str("| request | $ per 1 M | units per request |\n|---|---:|---|\n");
        for m in &self.measured {
            let units: Vec<String> = m
                .units
                .per_request
                .iter()
                .filter(|(k, _)| k.as_str() != "worker_wall_ms")
                .map(|(k, v)| format!("{k} {v:.2}"))
                .chain(std::iter::once(format!("cpu_ms {:.1}", m.units.cpu_ms)))
                .collect();
            out.push_str(&format!(
                "| {} | {:.2} | {} |\n",
                m.what,
                m.usd_per_million,
                units.join(", ")
            ));
        }
        out.push_str(&format!(
            "\nCity month (500 stores, 200,000 bookings + 2 M availability reads a day): ${:.0} + $5 plan\n",
            self.city_month_usd
        ));
        out.push_str("Town day on the free plan (used / limit):");
        for (name, (used, limit)) in &self.town {
            out.push_str(&format!(" {name} {used:.0}/{limit:.0};"));
        }
        out.push_str("\nCost budgets:\n");
        for (name, holds, detail) in &self.budgets {
            let mark = if *holds { "holds" } else { "MISSED" };
            out.push_str(&format!("- {name}: {mark} ({detail})\n"));
        }
        out
    }

    /// The `cost` part of latest.json.
    pub fn json(&self) -> Value {
        json!({
            "prices_date": self.prices_date,
            "usd_per_million": self.measured.iter().map(|m| (m.key.to_string(), json!(m.usd_per_million))).collect::<serde_json::Map<_, _>>(),
            "units_per_request": self.measured.iter().map(|m| {
                let mut units: serde_json::Map<String, Value> =
                    m.units.per_request.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                units.insert("cpu_ms_local".to_string(), json!(m.units.cpu_ms));
                (m.key.to_string(), Value::Object(units))
            }).collect::<serde_json::Map<_, _>>(),
            "town_day_free_plan": self.town.iter().map(|(k, (u, l))| (k.clone(), json!({"used": u, "limit": l}))).collect::<serde_json::Map<_, _>>(),
            "city_month_usd": self.city_month_usd,
            "bundle_gzip_bytes": self.bundle_gzip,
            "bundle_limit_bytes": SIZE_LIMIT_BYTES,
            "budgets": self.budgets.iter().map(|(n, h, d)| json!({"name": n, "holds": h, "detail": d})).collect::<Vec<_>>(),
        })
    }
}
