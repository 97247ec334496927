//! `TestApp`: the API under test spoken in the words of its user stories, so a test reads as
//! the story it checks:
//!
//! ```ignore
//! let app = TestApp::shared();
//! let owner = app.owner("cancel-owner");
//! let store = app.store_open_all_day(&owner, 30, 1);
//! let slot = app.slot(&store, 2, 20);
//! let (alice, bob) = (app.guest(), app.guest());
//! let booking = app.book(&alice, &store, &slot).created();
//! app.book(&bob, &store, &slot).expect_problem(409, "slot-full");
//! app.cancel(&alice, &booking).expect_status(204);
//! ```
//!
//! Every call sends exactly the request the free helpers of the crate root (and the tests
//! before them) send; replies are the plain [`Resp`] (status, headers, body, `expect_*`) or a
//! small typed wrapper of it ([`BookingReply`] derefs to its `Resp`). Tests that need a request
//! no helper sends use [`TestApp::api`] (anonymous) or [`TestApp::client`] (as someone).

use std::fmt;
use std::ops::{Deref, Index};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{
    all_day_schedule, create_store, future_slot, in_parallel, register, server, slots_on,
    store_with_schedule, Api, Resp, Server, TestUser, TEST_HEALTH_TOKEN, TEST_JWT_SECRET,
};

static SHARED: OnceLock<Server> = OnceLock::new();

/// The server every test shares (fresh state, free port, migrated), started on first use.
pub fn shared_server() -> &'static Server {
    SHARED.get_or_init(|| {
        let state = server::fresh_state_dir();
        server::apply_migrations(&state);
        Server::start(
            &state,
            &[
                ("JWT_SECRET", TEST_JWT_SECRET),
                ("HEALTH_TOKEN", TEST_HEALTH_TOKEN),
                // Webhook tests deliver to receivers on 127.0.0.1 (refused in production).
                ("WEBHOOK_ALLOW_LOOPBACK", "1"),
            ],
        )
    })
}

/// Stops the shared server if it was started (statics are never dropped).
pub fn stop_shared_server() {
    if let Some(server) = SHARED.get() {
        server.stop_ref();
    }
}

/// Someone who calls the API with a bearer token: a registered user, a guest, or a raw token.
pub trait Caller {
    /// The access token sent as `Authorization: Bearer <token>`.
    fn token(&self) -> &str;
}

impl Caller for TestUser {
    fn token(&self) -> &str {
        &self.token
    }
}

impl Caller for Guest {
    fn token(&self) -> &str {
        &self.token
    }
}

impl Caller for str {
    fn token(&self) -> &str {
        self
    }
}

impl Caller for String {
    fn token(&self) -> &str {
        self
    }
}

/// A guest customer bound to a fresh device id (`POST /api/v1/auth/guest`).
#[derive(Debug, Clone)]
pub struct Guest {
    /// The device id it was created for.
    pub device: String,
    /// Access token.
    pub token: String,
    /// User id.
    pub id: String,
}

/// A store created through the API (its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Store id.
    pub id: String,
}

impl Store {
    /// `/api/v1/stores/<id><rest>`, e.g. `store.path("/check-ins")`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/v1/stores/{}{rest}", self.id)
    }

    /// The id, for the free helpers that take `&str`.
    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl AsRef<str> for Store {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// A booking as one reply showed it: its id, its store and that reply's body (indexable like
/// the JSON: `booking["status"]`).
#[derive(Debug, Clone)]
pub struct Booking {
    /// Booking id.
    pub id: String,
    /// The store it is in.
    pub store: Store,
    /// The body of the reply it came from.
    pub body: Value,
}

impl Booking {
    /// `/api/v1/stores/<store>/bookings/<id><rest>`.
    pub fn path(&self, rest: &str) -> String {
        self.store.path(&format!("/bookings/{}{rest}", self.id))
    }

    /// The booking code (panics when the reply had none).
    #[track_caller]
    pub fn code(&self) -> &str {
        self.body["code"]
            .as_str()
            .unwrap_or_else(|| panic!("a booking without a code: {}", self.body))
    }
}

impl Index<&str> for Booking {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

/// The reply to a booking request (create, read, reschedule): a [`Resp`] (it derefs to it) that
/// can also be taken as the [`Booking`] it describes.
#[derive(Debug, Clone)]
pub struct BookingReply {
    /// The response.
    pub resp: Resp,
    store: Store,
}

impl BookingReply {
    /// Asserts `201 Created` and returns the booking.
    #[track_caller]
    pub fn created(&self) -> Booking {
        self.resp.expect_status(201);
        self.booking()
    }

    /// Asserts `200 OK` and returns the booking.
    #[track_caller]
    pub fn ok(&self) -> Booking {
        self.resp.expect_status(200);
        self.booking()
    }

    #[track_caller]
    fn booking(&self) -> Booking {
        let body = self.resp.json();
        let id = body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a booking without an id: {}", self.resp.text))
            .to_string();
        Booking {
            id,
            store: self.store.clone(),
            body,
        }
    }
}

impl Deref for BookingReply {
    type Target = Resp;

    fn deref(&self) -> &Resp {
        &self.resp
    }
}

/// The API of one server, with the calls tests make again and again. Cheap to clone (clone it
/// into the closures of [`in_parallel`]).
#[derive(Clone)]
pub struct TestApp {
    api: Api,
    state: PathBuf,
}

impl TestApp {
    /// The shared server (started on first use).
    pub fn shared() -> TestApp {
        TestApp::on(shared_server())
    }

    /// A server of the test's own (restart tests).
    pub fn on(server: &Server) -> TestApp {
        TestApp {
            api: Api::new(&server.base),
            state: server.state.clone(),
        }
    }

    /// The anonymous client.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The client authenticated as `who`.
    pub fn client(&self, who: &(impl Caller + ?Sized)) -> Api {
        self.api.with_token(who.token())
    }

    /// The server's persist directory (for out-of-band looks at D1 and KV).
    pub fn state(&self) -> &Path {
        &self.state
    }

    /// Key names in a KV namespace, read out of band (`server::kv_keys`).
    pub fn kv_keys(&self, binding: &str, prefix: &str) -> Vec<String> {
        server::kv_keys(&self.state, binding, prefix)
    }

    /// The rows of a SQL query on D1, read out of band (`server::d1_rows`).
    pub fn d1_rows(&self, sql: &str) -> Vec<Value> {
        server::d1_rows(&self.state, sql)
    }

    // People.

    /// A freshly registered user (display name and email tag `tag`).
    #[track_caller]
    pub fn user(&self, tag: &str) -> TestUser {
        register(&self.api, tag)
    }

    /// A registered user who will own stores.
    #[track_caller]
    pub fn owner(&self, tag: &str) -> TestUser {
        self.user(tag)
    }

    /// A registered user who books as a customer.
    #[track_caller]
    pub fn shopper(&self, tag: &str) -> TestUser {
        self.user(tag)
    }

    /// A guest customer on a fresh device.
    #[track_caller]
    pub fn guest(&self) -> Guest {
        let (device, token, id) = crate::guest(&self.api);
        Guest { device, token, id }
    }

    /// `n` guests, created concurrently.
    pub fn guests(&self, n: usize) -> Vec<Guest> {
        let app = self.clone();
        in_parallel(n, move |_| app.guest())
    }

    // Accounts and sessions.

    /// `POST /api/v1/auth/register` with `body` as it is.
    #[track_caller]
    pub fn register(&self, body: &Value) -> Resp {
        self.api.post("/api/v1/auth/register", body)
    }

    /// `POST /api/v1/auth/login` with these credentials.
    #[track_caller]
    pub fn login(&self, email: &str, password: &str) -> Resp {
        self.api.post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
    }

    /// `POST /api/v1/auth/login` with the user's own credentials.
    #[track_caller]
    pub fn login_as(&self, user: &TestUser) -> Resp {
        self.login(&user.email, &user.password)
    }

    /// `POST /api/v1/auth/guest` for `device`.
    #[track_caller]
    pub fn guest_login(&self, device: &str) -> Resp {
        self.api
            .post("/api/v1/auth/guest", &json!({"device_id": device}))
    }

    /// `POST /api/v1/auth/refresh` with `refresh_token`.
    #[track_caller]
    pub fn refresh(&self, refresh_token: &str) -> Resp {
        self.api.post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
        )
    }

    /// `POST /api/v1/auth/logout` as `who`.
    #[track_caller]
    pub fn logout(&self, who: &(impl Caller + ?Sized)) -> Resp {
        self.client(who).post("/api/v1/auth/logout", &json!({}))
    }

    /// `GET /api/v1/me` as `who`.
    #[track_caller]
    pub fn me(&self, who: &(impl Caller + ?Sized)) -> Resp {
        self.client(who).get("/api/v1/me")
    }

    /// `DELETE /api/v1/me` as `who`: erases the account.
    #[track_caller]
    pub fn erase(&self, who: &(impl Caller + ?Sized)) -> Resp {
        self.client(who).delete("/api/v1/me")
    }

    /// `GET /api/v1/me/profile` as `who`.
    #[track_caller]
    pub fn profile(&self, who: &(impl Caller + ?Sized)) -> Resp {
        self.client(who).get("/api/v1/me/profile")
    }

    /// `PUT /api/v1/me/profile` as `who`.
    #[track_caller]
    pub fn put_profile(&self, who: &(impl Caller + ?Sized), document: &Value) -> Resp {
        self.client(who).put("/api/v1/me/profile", document)
    }

    // Stores and slots.

    /// A store of `owner` in zone `timezone` with `schedule` (asserts both calls succeed).
    #[track_caller]
    pub fn store(&self, owner: &TestUser, timezone: &str, schedule: &Value) -> Store {
        Store {
            id: store_with_schedule(&self.api, owner, timezone, schedule),
        }
    }

    /// A Berlin store of `owner` open every day around the clock, `slot_minutes` slots of
    /// `capacity` places ([`all_day_schedule`]).
    #[track_caller]
    pub fn store_open_all_day(&self, owner: &TestUser, slot_minutes: u32, capacity: u32) -> Store {
        self.store(
            owner,
            "Europe/Berlin",
            &all_day_schedule(slot_minutes, capacity),
        )
    }

    /// A store of `owner` in zone `timezone` that has no schedule yet.
    #[track_caller]
    pub fn store_without_schedule(&self, owner: &TestUser, timezone: &str) -> Store {
        Store {
            id: create_store(&self.api, owner, timezone),
        }
    }

    /// `PUT /api/v1/stores/<id>/schedule` as `owner`.
    #[track_caller]
    pub fn set_schedule(&self, owner: &TestUser, store: &Store, schedule: &Value) -> Resp {
        self.client(owner).put(&store.path("/schedule"), schedule)
    }

    /// The slots of one (store-local) date (asserts 200).
    #[track_caller]
    pub fn slots_on(&self, store: &Store, date: &str) -> Vec<Value> {
        slots_on(&self.api, &store.id, date)
    }

    /// The start of slot `index` of the day `days_ahead` days from today (UTC).
    #[track_caller]
    pub fn slot(&self, store: &Store, days_ahead: i64, index: usize) -> String {
        future_slot(&self.api, &store.id, days_ahead, index)
    }

    /// How many places of the slot starting at `slot` are booked, as its day's listing says.
    #[track_caller]
    pub fn booked_in(&self, store: &Store, slot: &str) -> u64 {
        let date = &slot[..10];
        self.slots_on(store, date)
            .into_iter()
            .find(|s| s["start"] == slot)
            .and_then(|s| s["booked"].as_u64())
            .unwrap_or_else(|| panic!("slot {slot} not listed"))
    }

    /// `GET /api/v1/stores/<id>/occupancy`.
    #[track_caller]
    pub fn occupancy(&self, store: &Store) -> Resp {
        self.api.get(&store.path("/occupancy"))
    }

    // Bookings.

    /// `who` books one place in the slot starting at `slot`.
    #[track_caller]
    pub fn book(&self, who: &(impl Caller + ?Sized), store: &Store, slot: &str) -> BookingReply {
        self.book_party(who, store, slot, 1)
    }

    /// `who` books `party` places in the slot starting at `slot`.
    #[track_caller]
    pub fn book_party(
        &self,
        who: &(impl Caller + ?Sized),
        store: &Store,
        slot: &str,
        party: u32,
    ) -> BookingReply {
        let resp = self.client(who).post(
            &store.path("/bookings"),
            &json!({"slot_start": slot, "party_size": party}),
        );
        self.reply(resp, store)
    }

    /// Like [`TestApp::book_party`], with an `Idempotency-Key`.
    #[track_caller]
    pub fn book_idempotently(
        &self,
        who: &(impl Caller + ?Sized),
        store: &Store,
        slot: &str,
        party: u32,
        key: &str,
    ) -> BookingReply {
        let resp = self.client(who).request(
            "POST",
            &store.path("/bookings"),
            &[("idempotency-key", key)],
            Some(&json!({"slot_start": slot, "party_size": party})),
        );
        self.reply(resp, store)
    }

    /// `GET` of the booking as `who` (its customer, staff, or someone else).
    #[track_caller]
    pub fn booking(&self, who: &(impl Caller + ?Sized), booking: &Booking) -> BookingReply {
        let resp = self.client(who).get(&booking.path(""));
        self.reply(resp, &booking.store)
    }

    /// `DELETE` of the booking as `who`: cancels it.
    #[track_caller]
    pub fn cancel(&self, who: &(impl Caller + ?Sized), booking: &Booking) -> Resp {
        self.client(who).delete(&booking.path(""))
    }

    /// `who` moves the booking to the slot starting at `slot`.
    #[track_caller]
    pub fn reschedule(
        &self,
        who: &(impl Caller + ?Sized),
        booking: &Booking,
        slot: &str,
    ) -> BookingReply {
        let resp = self
            .client(who)
            .post(&booking.path("/reschedule"), &json!({"slot_start": slot}));
        self.reply(resp, &booking.store)
    }

    /// `GET /api/v1/me/bookings?scope=<scope>` as `who` (the D1 index, which trails the stores).
    #[track_caller]
    pub fn my_bookings(&self, who: &(impl Caller + ?Sized), scope: &str) -> Resp {
        self.client(who)
            .get(&format!("/api/v1/me/bookings?scope={scope}"))
    }

    /// Polls [`TestApp::my_bookings`] (asserting 200) until `pred` holds of its body, at most
    /// 20 s; returns the last body either way.
    #[track_caller]
    pub fn my_bookings_eventually(
        &self,
        who: &(impl Caller + ?Sized),
        scope: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let resp = self.my_bookings(who, scope);
            resp.expect_status(200);
            let body = resp.json();
            if pred(&body) || Instant::now() > deadline {
                return body;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn reply(&self, resp: Resp, store: &Store) -> BookingReply {
        BookingReply {
            resp,
            store: store.clone(),
        }
    }
}
