//! `make bench`: builds the optimised Worker, starts `wrangler dev` on fresh state on a free
//! port, seeds users and stores through the API, drives load from this process (threads with
//! keep-alive connections, 127.0.0.1 only), prints a table and writes
//! `target/bench/latest.json`.
//!
//! Every loop is bounded in count and time. The run fails (non-zero exit) only when a
//! scenario overbooks or the contended slot does not end with exactly its capacity confirmed;
//! the other budgets are reported, not enforced.
//!
//! Usage: `make bench`, or `cargo run --profile wasm-dev -p safemarket-bench [-- --no-build]`
//! (`--no-build` benchmarks whatever `build/` holds; for quick iterations on the bench itself).
//! Harness failures (seeding, starting the server) panic with the harness's message.

mod cost;
mod live;
mod load;
mod log_cost;
mod machine;
mod report;
mod rows;
mod rush;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use safemarket_blackbox::server::{apply_migrations, fresh_state_dir, project_root};
use safemarket_blackbox::{
    all_day_schedule, guest, register, store_with_schedule, utc_date_in, Api, Server,
    TEST_JWT_SECRET,
};
use serde_json::{json, Value};

use load::{drive, par_map, Run, Turn};
use machine::{CpuTimes, Machine, Runtime};
use report::{Budget, Report, Row};

/// Threads used to seed users and stores (the machine has few cores; more only queue).
const SEED_WORKERS: usize = 4;
/// Warm-up before each measured phase (connections, isolate, JIT, object start).
const WARM_UP: Duration = Duration::from_secs(1);
/// Measured time of each throughput phase.
const PHASE: Duration = Duration::from_secs(8);
/// Rounds the measured time of the baseline and the hot store is split into (alternating).
const ROUNDS: usize = 2;
/// Waited after booking load before reading CPU times: the store objects' alarms write the D1
/// index ~200 ms after a burst, which is part of what a booking costs.
const ALARM_TAIL: Duration = Duration::from_millis(500);
/// Request budget of each throughput phase (far above what 2 cores do in `PHASE`).
const PHASE_MAX_REQUESTS: usize = 30_000;
/// The per-user active-booking limit of the benchmark stores (the API's maximum).
const MAX_ACTIVE_PER_USER: usize = 1000;
/// Days ahead that bookings go to (1..=BOOKING_DAYS): one 31-day listing reads them all back.
const BOOKING_DAYS: i64 = 30;
/// The hot store's slot length; also the availability listing's (10-minute slots).
const SLOT_MINUTES: u32 = 10;
/// Stores of the many-stores phase.
const MANY_STORES: usize = 100;
/// Watchers of the hot store's live feed, and the bookings whose updates are timed.
const LIVE_WATCHERS: usize = 100;
const LIVE_BOOKINGS: usize = 40;
/// The contended scenario: attempts, capacity of the one slot, concurrency.
const CONTENDED_ATTEMPTS: usize = 1000;
const CONTENDED_CAPACITY: u32 = 100;
const CONCURRENCY: [usize; 2] = [8, 32];
const HIGH_CONCURRENCY: usize = 32;
/// Hot-store bookings/s at 32 clients in the README before issue #20 (a quiet run of this
/// machine); the issue asks for 1.5 times as many.
const HOT_32_BEFORE: f64 = 151.0;

fn main() -> ExitCode {
    let build = !std::env::args().any(|a| a == "--no-build");
    match run(build) {
        Ok(mut report) => {
            println!("{}", report.table());
            // What it costs: a second, metered server (bench/src/cost.rs).
            progress("cost run: metered server, each kind of request priced...");
            match cost::run(&project_root(), report.wasm.1 + report.js.1) {
                Ok(costs) => {
                    println!("{}", costs.table());
                    report.cost = Some(costs.json());
                }
                Err(e) => report.failures.push(format!("cost run: {e}")),
            }
            if let Err(e) = report.write_json(&latest_json()) {
                eprintln!("bench: {e}");
                return ExitCode::FAILURE;
            }
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                for failure in &report.failures {
                    eprintln!("bench: FAILED: {failure}");
                }
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` and returns its result with the runtime's CPU time meanwhile and during `tail`
/// after it.
fn measured<T>(runtime: &Runtime, tail: Duration, f: impl FnOnce() -> T) -> (T, CpuTimes) {
    let before = runtime.cpu();
    let value = f();
    std::thread::sleep(tail);
    (value, runtime.cpu() - before)
}

/// Where the JSON report goes.
fn latest_json() -> PathBuf {
    project_root().join("target/bench/latest.json")
}

fn progress(msg: &str) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let secs = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("bench [{secs:5.1} s]: {msg}");
}

/// A fingerprint of the built artefacts, to notice another build replacing them mid-run.
fn artefact_fingerprint(root: &Path) -> String {
    ["build/index_bg.wasm", "build/index.js"]
        .iter()
        .map(|p| {
            fs::metadata(root.join(p))
                .and_then(|m| Ok((m.len(), m.modified()?)))
                .map_or_else(|_| "missing".to_string(), |(len, t)| format!("{len}@{t:?}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `SAFEMARKET_OPTIMIZED=1 sh scripts/build-worker.sh` (release profile + wasm-opt).
fn build_optimised(root: &Path) -> Result<Duration, String> {
    let dir = root.join("target/bench");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log_path = dir.join("build.log");
    let log = fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("scripts/build-worker.sh")
        .current_dir(root)
        .env("SAFEMARKET_OPTIMIZED", "1")
        .env_remove("SAFEMARKET_PREBUILT")
        .env_remove("WRANGLER_COMMAND")
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|e| format!("cannot run scripts/build-worker.sh: {e}"))?;
    if !status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let tail = text.get(text.len().saturating_sub(3000)..).unwrap_or(&text);
        return Err(format!(
            "optimised Worker build failed ({status}); {}:\n{tail}",
            log_path.display()
        ));
    }
    Ok(started.elapsed())
}

/// `YYYY-MM-DDTHH:MM:00Z` starts of every `minutes`-slot of days 1..=days ahead (UTC stores).
fn slot_starts(days: i64, minutes: u32) -> Vec<String> {
    (1..=days)
        .flat_map(|day| {
            let date = utc_date_in(day);
            (0..24 * 60 / minutes).map(move |i| {
                let m = i * minutes;
                format!("{date}T{:02}:{:02}:00Z", m / 60, m % 60)
            })
        })
        .collect()
}

/// An all-day schedule (UTC store) that no benchmark fills or limits.
fn schedule(slot_minutes: u32, capacity: u32) -> Value {
    let mut s = all_day_schedule(slot_minutes, capacity);
    s["horizon_days"] = json!(60);
    s["max_active_bookings_per_user"] = json!(MAX_ACTIVE_PER_USER);
    s
}

fn book_body(slot_start: &str) -> String {
    json!({"slot_start": slot_start, "party_size": 1}).to_string()
}

/// Items of `GET /slots?from&to` (at most 31 days).
fn slot_listing(api: &Api, store: &str, from: &str, to: &str) -> Result<Vec<Value>, String> {
    let resp = api.get(&format!("/api/v1/stores/{store}/slots?from={from}&to={to}"));
    if resp.status != 200 {
        return Err(format!(
            "slot listing of {store} answered {}: {}",
            resp.status, resp.text
        ));
    }
    Ok(resp.json()["items"].as_array().cloned().unwrap_or_default())
}

/// Reads a store's slots back: no slot over capacity, and exactly `confirmed` people booked.
/// Returns a failure description, if any.
fn verify_store(api: &Api, store: &str, capacity: u64, confirmed: usize) -> Option<String> {
    let items = match slot_listing(api, store, &utc_date_in(1), &utc_date_in(BOOKING_DAYS)) {
        Ok(items) => items,
        Err(e) => return Some(e),
    };
    let mut booked_total = 0u64;
    for item in &items {
        let booked = item["booked"].as_u64().unwrap_or(u64::MAX);
        let available = item["available"].as_u64().unwrap_or(u64::MAX);
        if booked > capacity || booked + available != capacity {
            return Some(format!(
                "store {store}: slot {} lists booked {booked}, available {available} at capacity {capacity}",
                item["start"]
            ));
        }
        booked_total += booked;
    }
    (booked_total != confirmed as u64).then(|| {
        format!("store {store}: {confirmed} bookings answered 201 but the slots list {booked_total} people")
    })
}

/// Users as `clients` groups of `per_client` tokens.
struct Users {
    tokens: Vec<String>,
    per_client: usize,
}

impl Users {
    /// The `n`-th user of `client` (round robin over its group).
    fn of(&self, client: usize, n: usize) -> &str {
        &self.tokens[client * self.per_client + n % self.per_client]
    }
}

/// How many users each client needs so that none reaches the active-booking limit.
fn users_per_client(clients: usize, max_bookings: usize) -> usize {
    // 10% headroom under the limit.
    let per_user = MAX_ACTIVE_PER_USER * 9 / 10;
    max_bookings.div_ceil(clients).div_ceil(per_user).max(1)
}

fn run(build: bool) -> Result<Report, String> {
    let wall = Instant::now();
    let root = project_root();
    let machine = Machine::describe();
    progress(&format!(
        "{} CPUs ({}), {:.1} GiB, load average {:.2}",
        machine.cpus, machine.cpu_model, machine.memory_gib, machine.load_before
    ));

    let build_time = if build {
        progress("building the optimised Worker (release profile + wasm-opt)...");
        Some(build_optimised(&root)?)
    } else {
        progress("--no-build: benchmarking build/ as it is");
        None
    };
    let wasm = machine::sizes(&root.join("build/index_bg.wasm"))?;
    let js = machine::sizes(&root.join("build/index.js"))?;
    let fingerprint = artefact_fingerprint(&root);
    // From here on the harness must serve exactly this build: with SAFEMARKET_PREBUILT set,
    // scripts/build-worker.sh is a no-op for the harness's build and for wrangler's [build].
    std::env::set_var("SAFEMARKET_PREBUILT", "1");

    progress("starting wrangler dev on fresh state...");
    let state = fresh_state_dir();
    apply_migrations(&state);
    let server = Server::start(&state, &[("JWT_SECRET", TEST_JWT_SECRET)]);
    let base = server.base.clone();
    let runtime = Runtime::of_base(&base)?;
    let api = Api::new(&base);

    let mut report = Report::new(machine, wasm, js, build_time);

    // ---- seeding -------------------------------------------------------------------------
    progress("seeding users and stores...");
    let seeded = Instant::now();
    let owner = register(&api, "bench-owner");
    let hot_store = store_with_schedule(&api, &owner, "UTC", &schedule(SLOT_MINUTES, 10_000));
    let contended_store =
        store_with_schedule(&api, &owner, "UTC", &schedule(60, CONTENDED_CAPACITY));
    let many_stores: Vec<String> = par_map(MANY_STORES, SEED_WORKERS, |_| {
        store_with_schedule(&api, &owner, "UTC", &schedule(SLOT_MINUTES, 1000))
    });
    let hot_max = PHASE_MAX_REQUESTS + PHASE_MAX_REQUESTS / 10;
    let hot_users: Vec<Users> = CONCURRENCY
        .iter()
        .map(|&clients| {
            let per_client = users_per_client(clients, hot_max);
            let tokens = par_map(clients * per_client, SEED_WORKERS, |_| guest(&api).1);
            Users { tokens, per_client }
        })
        .collect();
    // One user per client for the contended slot and the many stores: the limit is per store.
    let shared_users = Users {
        tokens: par_map(HIGH_CONCURRENCY, SEED_WORKERS, |_| guest(&api).1),
        per_client: 1,
    };
    let login_user = register(&api, "bench-login");
    progress(&format!(
        "seeded {} stores and {} users in {:.1} s",
        2 + MANY_STORES,
        2 + hot_users.iter().map(|u| u.tokens.len()).sum::<usize>() + shared_users.tokens.len(),
        seeded.elapsed().as_secs_f64()
    ));

    // Who used the machine while the load ran: the runtime, this load generator, or others.
    let usage_start = (
        Instant::now(),
        machine::machine_busy_secs(),
        runtime.cpu().group,
        machine::own_cpu_secs(),
    );

    // ---- baseline (the cheapest Worker route: a 404 problem, no storage) and hot store ------
    // Measured in alternating rounds, so that both see the same background load and their
    // ratio stays meaningful on a machine doing other work.
    let slots = slot_starts(BOOKING_DAYS, SLOT_MINUTES);
    let bodies: Vec<String> = slots.iter().map(|s| book_body(s)).collect();
    let hot_path = format!("/api/v1/stores/{hot_store}/bookings");
    let hot_confirmed = AtomicUsize::new(0);
    let next_slot = AtomicUsize::new(0);
    let mut baseline = Vec::new();
    let mut hot_rates = Vec::new();
    let mut hot_cpu = (CpuTimes::default(), 0usize);
    let round = PHASE / ROUNDS as u32;
    for (i, clients) in CONCURRENCY.into_iter().enumerate() {
        progress(&format!(
            "baseline GET /api/nope and hot store bookings, {clients} clients..."
        ));
        let nope = |http: &load::Client, _: Turn| http.get("/api/nope", None).map(|(s, _)| s);
        let users = &hot_users[i];
        let per_client: Vec<AtomicUsize> = (0..clients).map(|_| AtomicUsize::new(0)).collect();
        let book = |http: &load::Client, turn: Turn| {
            let n = per_client[turn.client].fetch_add(1, Ordering::Relaxed);
            let slot = next_slot.fetch_add(1, Ordering::Relaxed) % bodies.len();
            let key = format!("bench-hot{clients}-{}-{n}", turn.client);
            let (status, _) = http.post_json(
                &hot_path,
                Some(users.of(turn.client, n)),
                &[("idempotency-key", &key)],
                &bodies[slot],
            )?;
            if status == 201 {
                hot_confirmed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(status)
        };
        drive(&base, clients, PHASE_MAX_REQUESTS, WARM_UP, nope);
        let warm = drive(&base, clients, PHASE_MAX_REQUESTS / 10, WARM_UP, book);
        report.warn_unexpected("hot store warm-up", &warm, &[201]);
        let (mut base_run, mut base_cpu) = (Run::empty(clients), CpuTimes::default());
        let (mut hot_run, mut cpu) = (Run::empty(clients), CpuTimes::default());
        for _ in 0..ROUNDS {
            let (r, c) = measured(&runtime, Duration::ZERO, || {
                drive(&base, clients, PHASE_MAX_REQUESTS, round, nope)
            });
            base_run.merge(r);
            base_cpu = base_cpu + c;
            let (r, c) = measured(&runtime, ALARM_TAIL, || {
                drive(&base, clients, PHASE_MAX_REQUESTS / ROUNDS, round, book)
            });
            hot_run.merge(r);
            cpu = cpu + c;
        }
        report.warn_unexpected("baseline", &base_run, &[404]);
        report.warn_unexpected("hot store", &hot_run, &[201]);
        report.rows.push(
            Row::throughput(
                &format!("baseline_{clients}"),
                format!("baseline GET /api/nope, {clients} clients"),
                &base_run,
                404,
                "req/s",
            )
            .with_cpu(base_cpu, base_run.count(404), "request"),
        );
        baseline.push(base_run.rate(404));
        let confirmed = hot_run.count(201);
        hot_cpu = (hot_cpu.0 + cpu, hot_cpu.1 + confirmed);
        let rate = hot_run.rate(201);
        let ratio = rate / baseline[i].max(f64::MIN_POSITIVE);
        report.rows.push(
            Row::throughput(
                &format!("hot_store_{clients}"),
                format!("hot store bookings, {clients} clients"),
                &hot_run,
                201,
                "bookings/s",
            )
            .with_ratio(ratio)
            .with_cpu(cpu, confirmed, "booking"),
        );
        hot_rates.push((clients, rate, ratio));
    }
    let hot_failure = verify_store(
        &api,
        &hot_store,
        10_000,
        hot_confirmed.load(Ordering::Relaxed),
    );

    // ---- live feed: 100 watchers of the hot store ---------------------------------------------
    // After the hot store was verified: these bookings come on top of its count.
    progress(&format!(
        "live feed: {LIVE_WATCHERS} watchers of the hot store..."
    ));
    let watchers = live::connect(&base, &hot_store, LIVE_WATCHERS)?;
    let live_users = Users {
        tokens: par_map(HIGH_CONCURRENCY, SEED_WORKERS, |_| guest(&api).1),
        per_client: 1,
    };
    // Delivery: sequential bookings, each timed from its request to every watcher's update.
    let http = load::Client::new(&base);
    let mut timed = Vec::with_capacity(LIVE_BOOKINGS);
    for k in 0..LIVE_BOOKINGS {
        let slot = next_slot.fetch_add(1, Ordering::Relaxed) % bodies.len();
        let sent = Instant::now();
        let (status, _) = http.post_json(
            &hot_path,
            Some(live_users.of(0, 0)),
            &[("idempotency-key", &format!("bench-live-{k}"))],
            &bodies[slot],
        )?;
        if status == 201 {
            timed.push((slots[slot].clone(), sent, Instant::now()));
        }
    }
    // Throughput with the watchers connected: every booking is broadcast to 100 sockets.
    let per_watched: Vec<AtomicUsize> =
        (0..HIGH_CONCURRENCY).map(|_| AtomicUsize::new(0)).collect();
    let watched_book = |http: &load::Client, turn: Turn| {
        let n = per_watched[turn.client].fetch_add(1, Ordering::Relaxed);
        let slot = next_slot.fetch_add(1, Ordering::Relaxed) % bodies.len();
        let key = format!("bench-watched-{}-{n}", turn.client);
        http.post_json(
            &hot_path,
            Some(live_users.of(turn.client, n)),
            &[("idempotency-key", &key)],
            &bodies[slot],
        )
        .map(|(s, _)| s)
    };
    let (watched, watched_cpu) = measured(&runtime, ALARM_TAIL, || {
        drive(
            &base,
            HIGH_CONCURRENCY,
            PHASE_MAX_REQUESTS,
            round,
            watched_book,
        )
    });
    std::thread::sleep(Duration::from_secs(2));
    let arrivals = watchers.finish()?;
    report.warn_unexpected("hot store with watchers", &watched, &[201]);
    let (mut delays, before_201, missing) = live::delays(&timed, &arrivals);
    let expected = timed.len() * LIVE_WATCHERS;
    let p50 = load::percentile(&mut delays, 0.5).as_secs_f64() * 1000.0;
    let p99 = load::percentile(&mut delays, 0.99).as_secs_f64() * 1000.0;
    report.rows.push(Row {
        key: "live_update".to_string(),
        scenario: format!("booking -> update at {LIVE_WATCHERS} watchers (from the request)"),
        result: format!("p50 {p50:.1} ms"),
        p50_ms: p50,
        p99_ms: p99,
        notes: vec![format!(
            "{} of {expected} updates arrived, {before_201} before the 201",
            expected - missing
        )],
        json: json!({
            "watchers": LIVE_WATCHERS,
            "bookings": timed.len(),
            "updates_expected": expected,
            "updates_missing": missing,
            "updates_before_201": before_201,
            "p50_ms": p50,
            "p99_ms": p99,
        }),
    });
    if missing > 0 {
        report.warnings.push(format!(
            "live feed: {missing} of {expected} updates never reached their watcher"
        ));
    }
    report.rows.push(
        Row::throughput(
            "hot_store_watched",
            format!("hot store bookings, {HIGH_CONCURRENCY} clients, {LIVE_WATCHERS} watchers"),
            &watched,
            201,
            "bookings/s",
        )
        .with_cpu(watched_cpu, watched.count(201), "booking"),
    );

    // ---- contended slot: 1,000 attempts on one slot of capacity 100 at 32 clients ----------
    progress("contended slot...");
    let target = format!("{}T12:00:00Z", utc_date_in(2));
    let target_body = book_body(&target);
    let contended_path = format!("/api/v1/stores/{contended_store}/bookings");
    // Wake the store's object first, so the measured time is the race, not its start.
    slot_listing(&api, &contended_store, &utc_date_in(2), &utc_date_in(2))?;
    let send = |http: &load::Client, turn: Turn| {
        let key = format!("bench-contended-{}", turn.global);
        http.post_json(
            &contended_path,
            Some(shared_users.of(turn.client, 0)),
            &[("idempotency-key", &key)],
            &target_body,
        )
        .map(|(s, _)| s)
    };
    let contended = drive(
        &base,
        HIGH_CONCURRENCY,
        CONTENDED_ATTEMPTS,
        Duration::from_secs(60),
        send,
    );
    let day = slot_listing(&api, &contended_store, &utc_date_in(2), &utc_date_in(2))?;
    let listed = day
        .iter()
        .find(|s| s["start"] == target.as_str())
        .map(|s| (s["booked"].as_u64(), s["available"].as_u64()));
    let day_total: u64 = day.iter().filter_map(|s| s["booked"].as_u64()).sum();
    let mut contended_failures = Vec::new();
    if contended.samples.len() != CONTENDED_ATTEMPTS {
        contended_failures.push(format!(
            "only {} of {CONTENDED_ATTEMPTS} attempts were made within the time bound ({})",
            contended.samples.len(),
            contended.first_error.clone().unwrap_or_default()
        ));
    }
    let cap = CONTENDED_CAPACITY as usize;
    if contended.count(201) != cap || contended.unexpected(&[201, 409]) != 0 {
        contended_failures.push(format!(
            "expected exactly {cap} x 201 and the rest 409 slot-full, got {}",
            contended.status_summary()
        ));
    }
    if listed != Some((Some(u64::from(CONTENDED_CAPACITY)), Some(0))) || day_total != 100 {
        contended_failures.push(format!(
            "slot listing shows (booked, available) = {listed:?} for {target}, {day_total} people that day; expected ({cap}, 0) and {cap}"
        ));
    }
    report.rows.push(Row::contended(&contended, &listed));

    // ---- many stores ------------------------------------------------------------------------
    progress(&format!(
        "bookings over {MANY_STORES} stores, {HIGH_CONCURRENCY} clients..."
    ));
    let many_paths: Vec<String> = many_stores
        .iter()
        .map(|s| format!("/api/v1/stores/{s}/bookings"))
        .collect();
    let many_confirmed: Vec<AtomicUsize> =
        many_stores.iter().map(|_| AtomicUsize::new(0)).collect();
    let next = AtomicUsize::new(0);
    let send = |http: &load::Client, turn: Turn| {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let store = n % MANY_STORES;
        let slot = (n / MANY_STORES) % bodies.len();
        let key = format!("bench-many-{n}");
        let (status, _) = http.post_json(
            &many_paths[store],
            Some(shared_users.of(turn.client, 0)),
            &[("idempotency-key", &key)],
            &bodies[slot],
        )?;
        if status == 201 {
            many_confirmed[store].fetch_add(1, Ordering::Relaxed);
        }
        Ok(status)
    };
    let warm = drive(
        &base,
        HIGH_CONCURRENCY,
        PHASE_MAX_REQUESTS / 10,
        WARM_UP,
        send,
    );
    report.warn_unexpected("many stores warm-up", &warm, &[201]);
    let (many, cpu) = measured(&runtime, ALARM_TAIL, || {
        drive(&base, HIGH_CONCURRENCY, PHASE_MAX_REQUESTS, PHASE, send)
    });
    report.warn_unexpected("many stores", &many, &[201]);
    report.rows.push(
        Row::throughput(
            "many_stores",
            format!("{MANY_STORES} stores bookings, {HIGH_CONCURRENCY} clients"),
            &many,
            201,
            "bookings/s",
        )
        .with_cpu(cpu, many.count(201), "booking"),
    );
    let many_failures: Vec<String> = par_map(MANY_STORES, SEED_WORKERS, |i| {
        verify_store(
            &api,
            &many_stores[i],
            1000,
            many_confirmed[i].load(Ordering::Relaxed),
        )
    })
    .into_iter()
    .flatten()
    .collect();

    // ---- availability: a 31-day listing of 10-minute slots (of the hot store) --------------
    progress("availability (31-day listing, 10-minute slots)...");
    let listing = format!(
        "/api/v1/stores/{hot_store}/slots?from={}&to={}",
        utc_date_in(1),
        utc_date_in(31)
    );
    let expected_items = 31 * 24 * 60 / SLOT_MINUTES as usize;
    let items_seen = AtomicUsize::new(0);
    // The warm-up parses each listing as JSON; the timed requests only count the items
    // (parsing 650 KB of JSON in the load generator would be part of the measured latency).
    let check = |parse: bool| {
        let items_seen = &items_seen;
        let listing = &listing;
        move |http: &load::Client, _: Turn| {
            let (status, body) = http.get(listing, None)?;
            if status == 200 {
                let items = if parse {
                    serde_json::from_str::<Value>(&body)
                        .ok()
                        .and_then(|v| v["items"].as_array().map(Vec::len))
                        .unwrap_or(0)
                } else {
                    body.matches("{\"start\":").count()
                };
                items_seen.store(items, Ordering::Relaxed);
                if items != expected_items {
                    return Ok(299); // a 200 with the wrong listing counts as unexpected
                }
            }
            Ok(status)
        }
    };
    drive(&base, 1, 5, Duration::from_secs(10), check(true));
    let availability = drive(&base, 1, 200, Duration::from_secs(40), check(false));
    report.warn_unexpected("availability", &availability, &[200]);
    report.rows.push(Row::latency(
        "availability",
        format!(
            "availability, 31 days x {SLOT_MINUTES}-min slots ({} items)",
            items_seen.load(Ordering::Relaxed)
        ),
        &availability,
        200,
    ));

    // ---- login (PBKDF2, 100,000 iterations) -------------------------------------------------
    progress("login...");
    let login_body =
        json!({"email": login_user.email, "password": login_user.password}).to_string();
    let send = |http: &load::Client, _: Turn| {
        http.post_json("/api/v1/auth/login", None, &[], &login_body)
            .map(|(s, _)| s)
    };
    drive(&base, 1, 3, Duration::from_secs(10), send);
    let login = drive(&base, 1, 30, Duration::from_secs(20), send);
    report.warn_unexpected("login", &login, &[200]);
    report.rows.push(Row::latency(
        "login",
        "login POST /api/v1/auth/login".to_string(),
        &login,
        200,
    ));

    // ---- rush: one store, 64 clients, 90 % 1-day reads and 10 % bookings ----------------------
    let rush_failure = rush::run(&api, &base, &runtime, &owner, &mut report);

    // ---- wrap up -----------------------------------------------------------------------------
    let wall_secs = usage_start.0.elapsed().as_secs_f64();
    let cores = |secs: f64| secs / wall_secs.max(f64::MIN_POSITIVE);
    let busy = machine::machine_busy_secs() - usage_start.1;
    let runtime_cpu = runtime.cpu().group - usage_start.2;
    let own = machine::own_cpu_secs() - usage_start.3;
    report.usage = Some(report::Usage {
        seconds: wall_secs,
        runtime_cores: cores(runtime_cpu),
        bench_cores: cores(own),
        other_cores: cores((busy - runtime_cpu - own).max(0.0)),
        idle_cores: (report.machine.cpus as f64 - cores(busy)).max(0.0),
    });
    rows::report(&server.log_text(), &mut report);
    // After the usage figures: this phase runs a second server, whose CPU is not this one's.
    let log_failure = log_cost::compare(&base, &runtime, &mut report);
    let replaced = artefact_fingerprint(&root) != fingerprint;
    if replaced {
        report.warnings.push(
            "build/ changed during the run (another build on this clone?): figures may not be of the optimised Worker"
                .to_string(),
        );
    }
    report.cpu_per_booking = (hot_cpu.1 > 0).then(|| {
        (
            hot_cpu.0.workerd * 1000.0 / hot_cpu.1 as f64,
            hot_cpu.0.group * 1000.0 / hot_cpu.1 as f64,
        )
    });

    let mut overbooking = Vec::new();
    overbooking.extend(hot_failure);
    overbooking.extend(contended_failures);
    overbooking.extend(many_failures);
    overbooking.extend(rush_failure);
    overbooking.extend(log_failure);

    let baseline_by = |clients: usize| {
        CONCURRENCY
            .iter()
            .position(|c| *c == clients)
            .map_or(0.0, |i| baseline[i])
    };
    let hot_ok = hot_rates.iter().all(|(_, _, ratio)| *ratio >= 0.6);
    report.budgets.push(Budget {
        name: "hot store >= 0.6 x baseline".to_string(),
        holds: hot_ok,
        detail: hot_rates
            .iter()
            .map(|(c, rate, ratio)| {
                format!(
                    "{c} clients: {rate:.0} bookings/s vs {:.0} req/s = {ratio:.2}",
                    baseline_by(*c)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
    });
    let hot_32 = hot_rates
        .iter()
        .find(|(c, _, _)| *c == HIGH_CONCURRENCY)
        .map_or(0.0, |(_, rate, _)| *rate);
    report.budgets.push(Budget {
        name: format!(
            "hot store at {HIGH_CONCURRENCY} clients >= 1.5 x {HOT_32_BEFORE:.0} bookings/s"
        ),
        holds: hot_32 >= 1.5 * HOT_32_BEFORE,
        detail: format!(
            "{hot_32:.0} bookings/s ({:.2} x; the figure depends on the machine's load)",
            hot_32 / HOT_32_BEFORE
        ),
    });
    report.budgets.push(Budget {
        name: "zero overbooking".to_string(),
        holds: overbooking.is_empty(),
        detail: if overbooking.is_empty() {
            format!(
                "contended: {} x 201 of {} attempts, listing {cap}/{cap}; hot store and {MANY_STORES} stores: every slot <= capacity, listed people = 201s",
                contended.count(201),
                contended.samples.len()
            )
        } else {
            overbooking.join("; ")
        },
    });
    report.budgets.push(Budget {
        name: ".wasm <= 450 KB gzipped".to_string(),
        holds: wasm.1 <= 450_000,
        detail: format!("{} bytes gzipped (KB = 1000 bytes)", wasm.1),
    });
    for (app, name, limit) in [
        ("staff", "staff app first load <= 350 KB gzipped", 350_000),
        ("book", "booking page first load <= 250 KB gzipped", 250_000),
    ] {
        let bytes = app_first_load(&root, app)?;
        report.budgets.push(Budget {
            name: name.to_string(),
            holds: bytes <= limit,
            detail: format!(
                "{bytes} bytes gzipped: the shell, its wasm, JS, boot script and CSS (`make app`)"
            ),
        });
    }
    let p99 = availability.percentile_ms(200, 0.99);
    report.budgets.push(Budget {
        name: "availability p99 < 20 ms".to_string(),
        holds: availability.count(200) > 0 && p99 < 20.0,
        detail: format!("p99 {p99:.1} ms over {} listings", availability.count(200)),
    });
    report.failures = overbooking;

    server.stop();
    report.load_after = machine::load_average();
    report.wall = wall.elapsed();
    if report.failures.is_empty() {
        let _ = fs::remove_dir_all(&state);
        let _ = fs::remove_file(state.with_extension("log"));
    } else {
        report.warnings.push(format!(
            "server state and log kept: {} (.log)",
            state.display()
        ));
    }
    Ok(report)
}

/// Gzipped bytes the first load of the app under `static/public/<app>/` fetches (`staff`, the
/// staff app; `book`, the booking page): its `index.html` and the hashed wasm, JS and CSS it
/// names (not the service worker, manifest or icons, which load after the app starts).
fn app_first_load(root: &Path, app: &str) -> Result<u64, String> {
    let dir = root.join("static/public").join(app);
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("no {app} build in {} (`make app`): {e}", dir.display()))?;
    let mut total = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let first_load = name == "index.html"
            || ((name.starts_with("app-")
                || name.starts_with("boot-")
                || name.starts_with("style-"))
                && (name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css")));
        if first_load {
            total += machine::sizes(&entry.path())?.1;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_starts_cover_whole_days() {
        let slots = slot_starts(2, 10);
        assert_eq!(slots.len(), 2 * 144);
        assert!(slots[0].ends_with("T00:00:00Z"));
        assert!(slots[143].ends_with("T23:50:00Z"));
        assert_ne!(slots[0][..10], slots[144][..10]);
    }

    #[test]
    fn enough_users_to_stay_under_the_limit() {
        for clients in [1, 8, 32] {
            let per_client = users_per_client(clients, 33_000);
            assert!(33_000usize.div_ceil(clients).div_ceil(per_client) <= MAX_ACTIVE_PER_USER);
        }
    }
}
