//! The rush: one store, 64 shoppers at once, nine of ten requests a 1-day availability read
//! and one a booking, for 8 s. Reads of one day are what a shopper's app refreshes; the
//! bookings change the counts those reads show, so no read can be answered from a listing
//! that a booking made stale.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use safemarket_blackbox::{guest, store_with_schedule, utc_date_in, Api, TestUser};

use crate::load::{self, drive, par_map, Turn};
use crate::machine::Runtime;
use crate::report::{Budget, Report, Row};
use crate::{
    book_body, measured, progress, schedule, slot_starts, verify_store, ALARM_TAIL, SEED_WORKERS,
};

/// Shoppers at once.
const CLIENTS: usize = 64;
/// Measured time.
const PHASE: Duration = Duration::from_secs(8);
/// Every `BOOKING_EVERY`-th request of a client is a booking, the others reads.
const BOOKING_EVERY: usize = 10;
/// Places per 10-minute slot: the day's 144 slots hold 576 people, so a fast run fills some
/// slots (answered 409 `slot-full`) and the capacity check is exercised, not only passed.
const CAPACITY: u32 = 4;
/// Request budget (far above what 2 cores do in `PHASE`).
const MAX_REQUESTS: usize = 60_000;
/// The read p99 the issue asks for.
const READ_P99_BUDGET_MS: f64 = 100.0;

/// Runs the rush against `base` with a store of its own (created by `owner`), adds its rows
/// and budget to `report` and returns an overbooking failure, if any.
pub fn run(
    api: &Api,
    base: &str,
    runtime: &Runtime,
    owner: &TestUser,
    report: &mut Report,
) -> Option<String> {
    progress(&format!(
        "rush: {CLIENTS} clients, 90 % 1-day availability reads, 10 % bookings..."
    ));
    let store = store_with_schedule(api, owner, "UTC", &schedule(10, CAPACITY));
    let tokens: Vec<String> = par_map(CLIENTS, SEED_WORKERS, |_| guest(api).1);
    let day = utc_date_in(1);
    let read_path = format!("/api/v1/stores/{store}/slots?from={day}&to={day}");
    let book_path = format!("/api/v1/stores/{store}/bookings");
    let bodies: Vec<String> = slot_starts(1, 10).iter().map(|s| book_body(s)).collect();
    let next_slot = AtomicUsize::new(0);
    let confirmed = AtomicUsize::new(0);
    let per_client: Vec<AtomicUsize> = (0..CLIENTS).map(|_| AtomicUsize::new(0)).collect();
    let send = |http: &load::Client, turn: Turn| {
        let n = per_client[turn.client].fetch_add(1, Ordering::Relaxed);
        if n % BOOKING_EVERY != BOOKING_EVERY - 1 {
            let (status, body) = http.get(&read_path, None)?;
            // A 200 without the day's 144 slots counts as unexpected.
            let ok = status != 200 || body.matches("{\"start\":").count() == bodies.len();
            return Ok(if ok { status } else { 299 });
        }
        let slot = next_slot.fetch_add(1, Ordering::Relaxed) % bodies.len();
        let key = format!("bench-rush-{}-{n}", turn.client);
        let (status, _) = http.post_json(
            &book_path,
            Some(&tokens[turn.client]),
            &[("idempotency-key", &key)],
            &bodies[slot],
        )?;
        if status == 201 {
            confirmed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(status)
    };
    // The warm-up books too (a few per slot at most): its bookings count like the others.
    drive(base, CLIENTS, MAX_REQUESTS, Duration::from_secs(1), send);
    let (rush, cpu) = measured(runtime, ALARM_TAIL, || {
        drive(base, CLIENTS, MAX_REQUESTS, PHASE, send)
    });
    report.warn_unexpected("rush", &rush, &[200, 201, 409]);
    let reads = Row::throughput(
        "rush_reads",
        format!("rush: 1-day availability reads, {CLIENTS} clients (90 %)"),
        &rush,
        200,
        "reads/s",
    )
    // Reads and bookings together: the CPU of the whole mix per request answered.
    .with_cpu(cpu, rush.samples.len(), "request");
    let mut bookings = Row::throughput(
        "rush_bookings",
        format!("rush: bookings, same {CLIENTS} clients (10 %)"),
        &rush,
        201,
        "bookings/s",
    );
    bookings
        .notes
        .push(format!("{} x 409 slot-full", rush.count(409)));
    bookings.json["conflicts_409"] = rush.count(409).into();
    let read_p99 = rush.percentile_ms(200, 0.99);
    report.rows.push(reads);
    report.rows.push(bookings);
    report.budgets.push(Budget {
        name: format!("rush read p99 < {READ_P99_BUDGET_MS:.0} ms"),
        holds: rush.count(200) > 0 && read_p99 < READ_P99_BUDGET_MS,
        detail: format!(
            "p99 {read_p99:.1} ms over {} reads; bookings p99 {:.1} ms",
            rush.count(200),
            rush.percentile_ms(201, 0.99)
        ),
    });
    verify_store(
        api,
        &store,
        u64::from(CAPACITY),
        confirmed.load(Ordering::Relaxed),
    )
    .map(|e| format!("rush: {e}"))
}
