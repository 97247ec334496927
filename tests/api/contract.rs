//! The contract: the served OpenAPI document is valid, is the one in the repository, and the
//! real API keeps it. Schemathesis (PyPI, pinned in scripts/versions.env, installed by
//! scripts/setup.sh) generates requests for every operation from the document and checks every
//! response: no 5xx, and status code, content type and body as documented. It runs against the
//! shared `wrangler dev` with real credentials: an owner's access token, a store with a
//! schedule, a booking, staff, api keys and a legacy reservation, so the requests get past
//! authentication and 404s to the handlers' real work.
//!
//! These tests are `#[blackbox(last)]`, run after every other test: the fuzzer fills the shared
//! server with users, stores and bookings.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, create_store, future_slot, register, server, store_with_schedule,
    Api, TestUser,
};
use serde_json::{json, Value};

use crate::{api, shared};

/// The checks of every run (see `schemathesis run --help`).
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// Generated cases per operation and phase (the coverage phase adds its boundary cases);
/// `CONTRACT_MAX_EXAMPLES=100 make blackbox` digs deeper (with a budget of an hour).
const MAX_EXAMPLES: u32 = 5;
/// The owner's run may take this long before it counts as failed; the api-key run gets what
/// is left, at least 20 s (so both stay well under 3 minutes; they take about a minute).
const TIME_BUDGET: Duration = Duration::from_secs(150);

/// Cases per operation and the time budget of this run.
fn depth() -> (String, Duration) {
    match std::env::var("CONTRACT_MAX_EXAMPLES") {
        Ok(n) if n.parse::<u32>().is_ok_and(|n| n > 0) => (n, Duration::from_secs(3600)),
        _ => (MAX_EXAMPLES.to_string(), TIME_BUDGET),
    }
}

fn document_path() -> PathBuf {
    server::project_root().join("openapi/openapi.json")
}

/// The venv scripts/setup.sh installs Schemathesis into (`SCHEMATHESIS_VENV` from
/// scripts/env.sh, or the same path computed from scripts/versions.env).
fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("SCHEMATHESIS_VENV") {
        return PathBuf::from(dir);
    }
    let root = server::project_root();
    let versions = fs::read_to_string(root.join("scripts/versions.env")).unwrap_or_default();
    let version = versions
        .lines()
        .find_map(|l| l.strip_prefix("SCHEMATHESIS_VERSION="))
        .unwrap_or_default()
        .trim()
        .to_string();
    let tools = std::env::var_os("SAFEMARKET_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/safemarket")
        });
    tools.join(format!("schemathesis-{version}"))
}

fn tool(name: &str) -> PathBuf {
    let bin = venv().join("bin").join(name);
    assert!(
        bin.is_file(),
        "{} is missing: run `make setup` (scripts/setup.sh installs it)",
        bin.display()
    );
    bin
}

/// A scratch directory for configs and Schemathesis' own files.
fn work_dir() -> PathBuf {
    let dir = server::project_root()
        .join("target/contract")
        .join(std::process::id().to_string());
    fs::create_dir_all(&dir).expect("create target/contract");
    dir
}

/// Runs `cmd` to completion within `budget`, returning (success, combined output, duration);
/// a run over budget is killed and reported as failed.
fn run_bounded(mut cmd: Command, budget: Duration) -> (bool, String, Duration) {
    let log = work_dir().join(format!("run-{}.log", uuid::Uuid::new_v4().simple()));
    let file = fs::File::create(&log).expect("create log");
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > budget {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut output = String::new();
    let _ = fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut output));
    if status.is_none() {
        output.push_str(&format!("\n(killed after {budget:?})"));
    }
    (
        status.is_some_and(|s| s.success()),
        output,
        started.elapsed(),
    )
}

/// The sections of Schemathesis's report that say what went wrong (`ERRORS`, `FAILURES`), up
/// to the summary: repeated at the end of a failure message, so that they survive when only
/// its start and end are shown.
fn problems(output: &str) -> String {
    let mut keep = false;
    let mut out = String::new();
    for line in output.lines() {
        let title = line.trim().trim_matches('=').trim();
        if line.trim_start().starts_with("==") {
            keep = matches!(title, "ERRORS" | "FAILURES");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The last `n` bytes of `text` (on a character boundary), for failure messages.
fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// openapi-spec-validator accepts the document as OpenAPI 3.1.
#[blackbox(last)]
fn document_is_valid_openapi() {
    let mut cmd = Command::new(tool("openapi-spec-validator"));
    cmd.arg(document_path());
    let (ok, output, _) = run_bounded(cmd, Duration::from_secs(60));
    assert!(ok, "openapi/openapi.json is not valid OpenAPI:\n{output}");
}

/// `/api/openapi.json` is the repository's document; `/api/docs` is Swagger UI whose files all
/// come from this origin.
#[blackbox(last)]
fn docs_are_served_from_the_assets() {
    let api = api();
    let served = api.get("/api/openapi.json");
    served.expect_status(200);
    assert_eq!(served.header("content-type"), Some("application/json"));
    let repo: Value =
        serde_json::from_str(&fs::read_to_string(document_path()).expect("read document"))
            .expect("document is JSON");
    assert_eq!(
        served.json(),
        repo,
        "served document differs from openapi/openapi.json"
    );

    let page = api.get("/api/docs");
    page.expect_status(200);
    assert!(page
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("text/html")));
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Every script and stylesheet the page loads is served from the same origin.
    for asset in [
        "/api-docs/swagger-ui-bundle.js",
        "/api-docs/swagger-ui.css",
        "/api-docs/swagger-initializer.js",
    ] {
        assert!(page.text.contains(asset), "page does not load {asset}");
        api.get(asset).expect_status(200);
    }
    let init = api.get("/api-docs/swagger-initializer.js").text;
    assert!(init.contains("\"/api/openapi.json\""), "{init}");
}

/// Everything a run needs to get past authentication and 404s.
struct Fixture {
    owner: TestUser,
    store: String,
    /// Closed by `DELETE /api/v1/stores/{store_id}` (not `store`, which the run keeps using).
    spare_store: String,
    staff_id: String,
    booking_id: String,
    code: String,
    /// A second session of the owner, for `POST /auth/logout`.
    logout_token: String,
    /// A throwaway account, for `DELETE /api/v1/me`.
    erasable_token: String,
    /// Revoked by `DELETE .../api-keys/{key_id}`.
    spare_key_id: String,
    legacy_id: i64,
    device: String,
    reservation: i64,
}

fn body_str(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

fn new_key(api: &Api, owner: &TestUser, store: &str, name: &str) -> Value {
    let resp = owner.api(api).post(
        &format!("/api/v1/stores/{store}/api-keys"),
        &json!({"name": name, "scopes": ["bookings:read", "bookings:write", "profile:write"]}),
    );
    resp.expect_status(201);
    resp.json()
}

fn fixture(api: &Api) -> Fixture {
    let owner = register(api, "contract-owner");
    let store = store_with_schedule(api, &owner, "Europe/Berlin", &all_day_schedule(60, 50));
    let spare_store = create_store(api, &owner, "Europe/Berlin");
    let staff = register(api, "contract-staff");
    owner
        .api(api)
        .post(
            &format!("/api/v1/stores/{store}/members"),
            &json!({"email": staff.email, "role": "staff"}),
        )
        .expect_status(201);
    let slot = future_slot(api, &store, 2, 12);
    let booked = owner.api(api).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": slot, "party_size": 2}),
    );
    booked.expect_status(201);
    let booking = booked.json();
    let login = api.post(
        "/api/v1/auth/login",
        &json!({"email": owner.email, "password": owner.password}),
    );
    login.expect_status(200);
    let erasable = register(api, "contract-erasable");
    let spare_key = new_key(api, &owner, &store, "Spare");
    let legacy_id = api.get(&format!("/api/v1/stores/{store}")).json()["legacy_id"]
        .as_i64()
        .expect("legacy_id");
    let device = format!("contract-{}", uuid::Uuid::new_v4().simple());
    let later = future_slot(api, &store, 3, 12);
    api.request(
        "POST",
        &format!(
            "/api/Reservation/Reserve?locationId={legacy_id}&dateTime={later}&deviceId={device}"
        ),
        &[],
        None,
    )
    .expect_status(200);
    let listed = api.get(&format!(
        "/api/Reservation/ReservationsByDevice?deviceId={device}&minDate=2000-01-01T00:00:00Z"
    ));
    listed.expect_status(200);
    let reservation = listed.json()["reservations"][0]["id"]
        .as_i64()
        .expect("reservation id");
    Fixture {
        store,
        spare_store,
        staff_id: staff.id,
        booking_id: body_str(&booking, "id"),
        code: body_str(&booking, "code"),
        logout_token: body_str(&login.json(), "access_token"),
        erasable_token: erasable.token,
        spare_key_id: body_str(&spare_key, "id"),
        legacy_id,
        device,
        reservation,
        owner,
    }
}

/// The Schemathesis config of the owner's run: fixed path and query values that name the
/// fixture's real resources, and the operations that would end the run's own session, account
/// or store pointed at spare ones.
fn owner_config(f: &Fixture, partner_key: &str) -> String {
    format!(
        r#"[headers]
Authorization = "Bearer {owner}"
# Failed sign-ins are counted per client address; keep the fuzzer's apart from other tests'.
cf-connecting-ip = "schemathesis"

[parameters]
"path.store_id" = "{store}"
"path.booking_id" = "{booking}"
"path.code" = "{code}"
"path.user_id" = "{staff}"
"path.key_id" = "{spare_key}"
"path.id" = {legacy}
"query.locationId" = {legacy}
"query.deviceId" = "{device}"
"query.reservationId" = {reservation}

[[operations]]
include-operation-id = "closeStore"
parameters = {{ "path.store_id" = "{spare_store}" }}

[[operations]]
include-operation-id = "logout"
headers = {{ Authorization = "Bearer {logout}" }}

[[operations]]
include-operation-id = "deleteMe"
headers = {{ Authorization = "Bearer {erasable}" }}

[[operations]]
include-operation-id = "putExternalDocument"
headers = {{ Authorization = "Bearer {partner_key}" }}
"#,
        owner = f.owner.token,
        store = f.store,
        booking = f.booking_id,
        code = f.code,
        staff = f.staff_id,
        spare_key = f.spare_key_id,
        legacy = f.legacy_id,
        device = f.device,
        reservation = f.reservation,
        spare_store = f.spare_store,
        logout = f.logout_token,
        erasable = f.erasable_token,
    )
}

/// The phone system's run: the operations an api key may use, with the key.
fn key_config(f: &Fixture, key: &str) -> String {
    format!(
        r#"[headers]
Authorization = "Bearer {key}"

[parameters]
"path.store_id" = "{store}"
"path.booking_id" = "{booking}"
"path.code" = "{code}"
"#,
        store = f.store,
        booking = f.booking_id,
        code = f.code,
    )
}

/// Runs Schemathesis with `config` over the operations `filter` selects; returns the output.
fn schemathesis(
    name: &str,
    config: &str,
    filter: &[&str],
    phases: &str,
    budget: Duration,
) -> String {
    let dir = work_dir();
    let config_path = dir.join(format!("{name}.toml"));
    fs::write(&config_path, config).expect("write config");
    let mut cmd = Command::new(tool("schemathesis"));
    cmd.current_dir(&dir)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(document_path())
        .args(["--url", &shared().base])
        .args(["--checks", CHECKS])
        .args(["--phases", phases])
        .args(["--max-examples", &depth().0])
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--workers", "2"])
        .arg("--no-color")
        .args(filter);
    // A failed run prints its seed; `CONTRACT_SEED=<seed>` repeats its generation.
    if let Ok(seed) = std::env::var("CONTRACT_SEED") {
        cmd.args(["--seed", seed.trim()]);
    }
    let (ok, output, took) = run_bounded(cmd, budget);
    let summary = output
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.contains(" generated, ") && !l.starts_with('⚠')) || l.starts_with("Seed:")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    eprintln!(
        "schemathesis {name}: {summary} ({:.1} s)",
        took.as_secs_f64()
    );
    assert!(
        ok,
        "schemathesis ({name}) found responses that break the contract \
         (config {}):\n{}\n\nWhat went wrong, once more:\n{}",
        config_path.display(),
        tail(&output, 24_000),
        tail(&problems(&output), 8_000)
    );
    output
}

/// Every operation, with an owner's token (and a partner key where only keys may go); then the
/// operations api keys may use, with a key (its own run: each key has a rate limit).
#[blackbox(last)]
fn api_keeps_the_contract() {
    let api = api();
    let f = fixture(&api);
    let partner = new_key(&api, &f.owner, &f.store, "Partner");
    let budget = depth().1;
    let started = Instant::now();
    schemathesis(
        "owner",
        &owner_config(&f, &body_str(&partner, "key")),
        &[],
        "examples,coverage,fuzzing",
        budget,
    );
    let phone = new_key(&api, &f.owner, &f.store, "Phone");
    let key_ops = [
        "getStore",
        "getStoreProfile",
        "occupancy",
        "listSlots",
        "getSchedule",
        "createBooking",
        "dayBookings",
        "getBooking",
        "cancelBooking",
        "getBookingByCode",
        "cancelBookingByCode",
    ];
    let filter: Vec<String> = key_ops
        .iter()
        .flat_map(|id| ["--include-operation-id".to_string(), id.to_string()])
        .collect();
    let filter: Vec<&str> = filter.iter().map(String::as_str).collect();
    let left = budget
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(20));
    schemathesis(
        "api-key",
        &key_config(&f, &body_str(&phone, "key")),
        &filter,
        "examples,fuzzing",
        left,
    );
    let _ = fs::remove_dir_all(work_dir());
}
