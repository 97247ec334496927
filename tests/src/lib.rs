//! Black-box test support: runs the real `wrangler dev` (workerd with embedded D1, KV and
//! Durable Objects) on a free port with throw-away state, a small HTTP client for it, the
//! [`TestApp`] that tests speak the API through, and the `#[blackbox]` test registry.

pub mod app;
pub mod browser;
pub mod client;
pub mod geocoder;
pub mod qr;
pub mod receiver;
pub mod registry;
pub mod server;
pub mod zone;

pub use app::{shared_server, Booking, BookingReply, Caller, Guest, Store, TestApp};
pub use client::{Api, Resp};
/// Registers a black-box test at its definition: `#[blackbox]`, or `#[blackbox(last)]` to run it
/// after every other test (see [`registry`]).
pub use safemarket_blackbox_macros::blackbox;
pub use server::Server;
pub use zone::{berlin_local, berlin_utc};

use serde_json::{json, Value};

/// The JWT signing key the test servers run with (`--var JWT_SECRET:...`), so tests can forge
/// tokens (expired, wrong audience) signed with the right key.
pub const TEST_JWT_SECRET: &str = "blackbox-test-secret-0123456789abcdef";

/// The `HEALTH_TOKEN` the shared test server runs with, for `GET /api/health?deep=1`.
pub const TEST_HEALTH_TOKEN: &str = "blackbox-health-token-0123456789";

/// A unique email address for one test.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A registered user created through the API.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id.
    pub id: String,
    /// Email used to register.
    pub email: String,
    /// Password used to register.
    pub password: String,
    /// Access token.
    pub token: String,
    /// Refresh token.
    pub refresh: String,
}

impl TestUser {
    /// The API client authenticated as this user.
    pub fn api(&self, base: &Api) -> Api {
        base.with_token(&self.token)
    }
}

/// Registers a fresh user and returns its tokens.
#[track_caller]
pub fn register(api: &Api, tag: &str) -> TestUser {
    let email = unique_email(tag);
    let password = "correct horse battery".to_string();
    let resp = api.post(
        "/api/v1/auth/register",
        &json!({"email": email, "password": password, "display_name": tag}),
    );
    resp.expect_status(201);
    let body: Value = resp.json();
    TestUser {
        id: body["user"]["id"].as_str().unwrap_or_default().to_string(),
        email,
        password,
        token: body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        refresh: body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// A guest user for a fresh device id; returns (device id, access token, user id).
#[track_caller]
pub fn guest(api: &Api) -> (String, String, String) {
    let device = format!("device-{}", uuid::Uuid::new_v4().simple());
    let resp = api.post("/api/v1/auth/guest", &json!({"device_id": device}));
    resp.expect_status(201);
    let body = resp.json();
    (
        device,
        body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body["user"]["id"].as_str().unwrap_or_default().to_string(),
    )
}

/// A schedule open every day 00:00-24:00 with `slot_minutes` slots of `capacity` places.
pub fn all_day_schedule(slot_minutes: u32, capacity: u32) -> Value {
    let weekly: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "open": "00:00", "close": "24:00"}))
        .collect();
    json!({
        "slot_minutes": slot_minutes,
        "capacity": capacity,
        "horizon_days": 30,
        "max_active_bookings_per_user": 5,
        "weekly": weekly,
        "exceptions": [],
    })
}

/// Creates a store owned by `owner` (in Berlin, zone `timezone`) and returns its id.
#[track_caller]
pub fn create_store(api: &Api, owner: &TestUser, timezone: &str) -> String {
    let resp = owner.api(api).post(
        "/api/v1/stores",
        &json!({
            "name": "Test Market",
            "category": "supermarket",
            "address": "Alexanderplatz 1, 10178 Berlin",
            "latitude": 52.5219,
            "longitude": 13.4132,
            "timezone": timezone,
        }),
    );
    resp.expect_status(201);
    resp.json()["id"].as_str().unwrap_or_default().to_string()
}

/// Creates a store with `schedule` and returns its id.
#[track_caller]
pub fn store_with_schedule(
    api: &Api,
    owner: &TestUser,
    timezone: &str,
    schedule: &Value,
) -> String {
    let id = create_store(api, owner, timezone);
    owner
        .api(api)
        .put(&format!("/api/v1/stores/{id}/schedule"), schedule)
        .expect_status(200);
    id
}

/// Today's date in UTC plus `days`, as `YYYY-MM-DD` (computed without a date library).
pub fn utc_date_in(days: i64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    civil_from_days(secs.div_euclid(86_400) + days)
}

/// Howard Hinnant's days-to-civil algorithm: days since 1970-01-01 as `YYYY-MM-DD`.
pub(crate) fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The slots of one date of a store.
#[track_caller]
pub fn slots_on(api: &Api, store_id: &str, date: &str) -> Vec<Value> {
    let resp = api.get(&format!(
        "/api/v1/stores/{store_id}/slots?from={date}&to={date}"
    ));
    resp.expect_status(200);
    resp.json()["items"].as_array().cloned().unwrap_or_default()
}

/// The start of some bookable slot a few days ahead (UTC RFC 3339).
#[track_caller]
pub fn future_slot(api: &Api, store_id: &str, days_ahead: i64, index: usize) -> String {
    let slots = slots_on(api, store_id, &utc_date_in(days_ahead));
    slots
        .get(index)
        .and_then(|s| s["start"].as_str())
        .map(String::from)
        .unwrap_or_else(|| panic!("no slot {index} on day +{days_ahead}"))
}

/// Runs `n` closures on `n` threads at once and collects their results in order.
pub fn in_parallel<T: Send + 'static>(
    n: usize,
    f: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = f.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("worker thread panicked"))
        .collect()
}
