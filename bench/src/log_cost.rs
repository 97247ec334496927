//! What the request log line costs a booking: a second `wrangler dev` of the same build with
//! `REQUEST_LOG=off`, and hot-store rounds alternating between the two servers, so both see
//! the same background load. Under `wrangler dev` every `console.log` line travels through
//! the inspector to wrangler's Node process; at the edge a log line is far cheaper, so the
//! figure without it is the closer one to production's CPU per booking.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use safemarket_blackbox::server::{apply_migrations, fresh_state_dir};
use safemarket_blackbox::{guest, register, store_with_schedule, Api, Server, TEST_JWT_SECRET};

use crate::load::{self, drive, par_map, Run, Turn};
use crate::machine::{CpuTimes, Runtime};
use crate::report::{Budget, Report, Row};
use crate::{
    book_body, measured, progress, schedule, slot_starts, verify_store, ALARM_TAIL, BOOKING_DAYS,
    HIGH_CONCURRENCY, PHASE, ROUNDS, SEED_WORKERS, SLOT_MINUTES, WARM_UP,
};

/// The CPU budgets of issue #20 (ms per hot-store booking, workerd processes).
const CPU_BUDGET_LOG_ON_MS: f64 = 3.0;
const CPU_BUDGET_LOG_OFF_MS: f64 = 2.0;

/// One server's side of the comparison: its store, users and what was measured.
struct Side<'a> {
    base: &'a str,
    api: Api,
    runtime: &'a Runtime,
    store: String,
    path: String,
    tokens: Vec<String>,
    run: Run,
    cpu: CpuTimes,
    confirmed: AtomicUsize,
    sent: Vec<AtomicUsize>,
}

impl<'a> Side<'a> {
    fn seed(base: &'a str, runtime: &'a Runtime, tag: &str) -> Side<'a> {
        let api = Api::new(base);
        let owner = register(&api, tag);
        let store = store_with_schedule(&api, &owner, "UTC", &schedule(SLOT_MINUTES, 10_000));
        let tokens = par_map(HIGH_CONCURRENCY, SEED_WORKERS, |_| guest(&api).1);
        Side {
            base,
            path: format!("/api/v1/stores/{store}/bookings"),
            api,
            runtime,
            store,
            tokens,
            run: Run::empty(HIGH_CONCURRENCY),
            cpu: CpuTimes::default(),
            confirmed: AtomicUsize::new(0),
            sent: (0..HIGH_CONCURRENCY).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Bookings for `time` (each client books as its own guest, a new slot each time).
    fn book(&self, bodies: &[String], time: Duration) -> Run {
        let send = |http: &load::Client, turn: Turn| {
            let n = self.sent[turn.client].fetch_add(1, Ordering::Relaxed);
            // Distinct slots per client and request: one guest never books a slot twice.
            let slot = (n * HIGH_CONCURRENCY + turn.client) % bodies.len();
            let key = format!("bench-log-{}-{n}", turn.client);
            let (status, _) = http.post_json(
                &self.path,
                Some(&self.tokens[turn.client]),
                &[("idempotency-key", &key)],
                &bodies[slot],
            )?;
            if status == 201 {
                self.confirmed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(status)
        };
        // At most 900 per guest, under the store's active-booking limit of 1,000.
        drive(
            self.base,
            HIGH_CONCURRENCY,
            HIGH_CONCURRENCY * 900,
            time,
            send,
        )
    }

    fn ms_per_booking(&self) -> f64 {
        let n = self.run.count(201);
        if n == 0 {
            return 0.0;
        }
        self.cpu.workerd * 1000.0 / n as f64
    }
}

/// Starts the second server, measures both and adds the rows and budgets to `report`;
/// returns an overbooking failure, if any.
pub fn compare(base: &str, runtime: &Runtime, report: &mut Report) -> Option<String> {
    progress("request log on vs off: starting a second wrangler dev with REQUEST_LOG=off...");
    let state = fresh_state_dir();
    apply_migrations(&state);
    let quiet = Server::start(
        &state,
        &[("JWT_SECRET", TEST_JWT_SECRET), ("REQUEST_LOG", "off")],
    );
    let quiet_runtime = match Runtime::of_base(&quiet.base) {
        Ok(runtime) => runtime,
        Err(e) => {
            quiet.stop();
            return Some(format!("the REQUEST_LOG=off server: {e}"));
        }
    };
    let bodies: Vec<String> = slot_starts(BOOKING_DAYS, SLOT_MINUTES)
        .iter()
        .map(|s| book_body(s))
        .collect();
    let mut sides = [
        Side::seed(base, runtime, "bench-log-on"),
        Side::seed(&quiet.base, &quiet_runtime, "bench-log-off"),
    ];
    progress(&format!(
        "request log on vs off: hot-store bookings, {HIGH_CONCURRENCY} clients, alternating rounds..."
    ));
    for side in &sides {
        side.book(&bodies, WARM_UP);
    }
    let round = PHASE / ROUNDS as u32;
    for _ in 0..ROUNDS {
        for side in &mut sides {
            let (run, cpu) = measured(side.runtime, ALARM_TAIL, || side.book(&bodies, round));
            side.run.merge(run);
            side.cpu = side.cpu + cpu;
        }
    }
    let mut failures = Vec::new();
    for (side, (key, label)) in sides.iter().zip([("log_on", "on"), ("log_off", "off")]) {
        report.warn_unexpected(&format!("request log {label}"), &side.run, &[201]);
        report.rows.push(
            Row::throughput(
                &format!("hot_store_{key}"),
                format!("hot store bookings, {HIGH_CONCURRENCY} clients, request log {label}"),
                &side.run,
                201,
                "bookings/s",
            )
            .with_cpu(side.cpu, side.run.count(201), "booking"),
        );
        failures.extend(verify_store(
            &side.api,
            &side.store,
            10_000,
            side.confirmed.load(Ordering::Relaxed),
        ));
    }
    let (on, off) = (sides[0].ms_per_booking(), sides[1].ms_per_booking());
    report.budgets.push(Budget {
        name: format!("CPU per hot-store booking <= {CPU_BUDGET_LOG_ON_MS:.1} ms, request log on"),
        holds: on > 0.0 && on <= CPU_BUDGET_LOG_ON_MS,
        detail: format!("{on:.2} ms (paired rounds; the main hot-store rows show the same figure over more bookings)"),
    });
    report.budgets.push(Budget {
        name: format!(
            "CPU per hot-store booking <= {CPU_BUDGET_LOG_OFF_MS:.1} ms, request log off"
        ),
        holds: off > 0.0 && off <= CPU_BUDGET_LOG_OFF_MS,
        detail: format!(
            "{off:.2} ms; the log line costs {:.2} ms per booking here",
            on - off
        ),
    });
    drop(sides);
    quiet.stop();
    let _ = std::fs::remove_dir_all(&state);
    let _ = std::fs::remove_file(state.with_extension("log"));
    (!failures.is_empty()).then(|| failures.join("; "))
}
