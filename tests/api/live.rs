//! The live feed (`GET /api/v1/stores/{store_id}/live`): the snapshot and its values, updates
//! after bookings, cancellations, reschedules and check-ins within a bounded wait, many
//! watchers, schedule changes, closing, ping, and the refusals (426, 404, 429).
//!
//! Every store has an all-day schedule, so "today" always has slots; nothing is computed from
//! this machine's clock: dates and slots come from the API's own answers.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, guest, register, store_with_schedule, Api, Resp,
};
use serde_json::{json, Value};
use tungstenite::{client, Message, WebSocket};

use crate::api;

/// How long any awaited message may take (the contract says within 1 s; local workerd on a
/// busy 2-core machine gets some slack).
const WAIT: Duration = Duration::from_secs(5);

/// A connected WebSocket client of the live feed.
#[derive(Debug)]
struct Watcher {
    ws: WebSocket<TcpStream>,
}

/// A refused upgrade as a WebSocket client sees it (its body is read by [`refused_upgrade`]).
#[derive(Debug)]
struct Refused {
    status: u16,
}

fn live_path(store: &str) -> String {
    format!("/api/v1/stores/{store}/live")
}

/// A WebSocket upgrade request sent with the plain HTTP client, for refusals (whose problem
/// body a WebSocket client does not read).
#[track_caller]
fn refused_upgrade(api: &Api, store: &str) -> Resp {
    let headers = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let resp = api
        .send("GET", &live_path(store), &headers, None)
        .unwrap_or_else(|e| panic!("upgrade request: {e}"));
    assert_ne!(resp.status, 101, "expected a refusal");
    resp
}

impl Watcher {
    /// Opens the live feed of `store` on the server at `base`.
    fn connect(base: &str, store: &str) -> Result<Watcher, Refused> {
        let authority = base.trim_start_matches("http://");
        let stream = TcpStream::connect(authority).expect("connect to the test server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .expect("write timeout");
        let url = format!("ws://{authority}{}", live_path(store));
        match client(url.as_str(), stream) {
            Ok((ws, resp)) => {
                assert_eq!(resp.status().as_u16(), 101);
                Ok(Watcher { ws })
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                Err(Refused {
                    status: resp.status().as_u16(),
                })
            }
            Err(e) => panic!("WebSocket handshake with {url} failed: {e}"),
        }
    }

    /// Opens the feed of `store`, which must accept.
    #[track_caller]
    fn open(api: &Api, store: &str) -> Watcher {
        Watcher::connect(api.base(), store)
            .unwrap_or_else(|r| panic!("live feed of {store} refused: {r:?}"))
    }

    /// The next JSON text message within `within`; `None` when none came (or the socket
    /// closed).
    fn next(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("messages are JSON"))
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => return None,
            }
        }
    }

    /// The first message within `within` that `wanted` accepts (earlier ones are skipped).
    fn until(&mut self, within: Duration, mut wanted: impl FnMut(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let message = self.next(left)?;
            if wanted(&message) {
                return Some(message);
            }
        }
    }

    /// The first message, which must be the snapshot.
    #[track_caller]
    fn snapshot(&mut self) -> Value {
        let first = self.next(WAIT).expect("a snapshot as the first message");
        assert_eq!(first["type"], "snapshot", "first message: {first}");
        first
    }

    /// Waits for the `slot` message of the slot starting at `start` whose `booked` is
    /// `booked`; panics with what came instead.
    #[track_caller]
    fn expect_slot(&mut self, start: &str, booked: u64) -> Value {
        let mut seen = Vec::new();
        let found = self.until(WAIT, |m| {
            seen.push(m.to_string());
            m["type"] == "slot" && m["item"]["start"] == start && m["item"]["booked"] == booked
        });
        found.unwrap_or_else(|| {
            panic!("no slot update {start} booked={booked} within {WAIT:?}; got {seen:?}")
        })
    }

    fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .expect("send to the live feed");
    }

    /// Whether the server closes the socket within `within` (messages before are skipped).
    fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            self.ws
                .get_mut()
                .set_read_timeout(Some(left))
                .expect("read timeout");
            match self.ws.read() {
                Ok(Message::Close(_)) => return true,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                // Closed (ConnectionClosed, AlreadyClosed, a reset): closed.
                Err(_) => return true,
            }
        }
    }
}

/// A store of a fresh owner, open all day with 30-minute slots of `capacity` places (Berlin).
fn live_store(api: &Api, capacity: u32) -> String {
    let owner = register(api, "live-owner");
    store_with_schedule(
        api,
        &owner,
        "Europe/Berlin",
        &all_day_schedule(30, capacity),
    )
}

/// A store and its owner.
fn owned_live_store(api: &Api, capacity: u32) -> (safemarket_blackbox::TestUser, String) {
    let owner = register(api, "live-owner");
    let store = store_with_schedule(
        api,
        &owner,
        "Europe/Berlin",
        &all_day_schedule(30, capacity),
    );
    (owner, store)
}

fn occupancy(api: &Api, store: &str) -> Value {
    let resp = api.get(&format!("/api/v1/stores/{store}/occupancy"));
    resp.expect_status(200);
    resp.json()
}

/// The start of the slot in progress (an all-day store always has one).
fn current_slot(api: &Api, store: &str) -> String {
    occupancy(api, store)["slot_start"]
        .as_str()
        .expect("an all-day store has a slot in progress")
        .to_string()
}

/// Books `slot` for a fresh guest; answers the booking.
#[track_caller]
fn book(api: &Api, store: &str, slot: &str, party: u32) -> Value {
    let (_, token, _) = guest(api);
    let resp = api.with_token(&token).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": slot, "party_size": party}),
    );
    resp.expect_status(201);
    let mut booking = resp.json();
    booking["token"] = json!(token);
    booking
}

/// The local date of a slot item (`local_start` is `YYYY-MM-DDTHH:MM:SS+hh:mm`).
fn local_date(item: &Value) -> String {
    item["local_start"].as_str().unwrap_or_default()[..10].to_string()
}

fn slots_on(api: &Api, store: &str, date: &str) -> Vec<Value> {
    safemarket_blackbox::slots_on(api, store, date)
}

/// The day after `date` (`YYYY-MM-DD`), by the proleptic Gregorian calendar.
fn next_date(date: &str) -> String {
    let part = |r: std::ops::Range<usize>| date[r].parse::<u32>().expect("a date");
    let (mut y, mut m, mut d) = (part(0..4), part(5..7), part(8..10));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    d += 1;
    if d > days[(m - 1) as usize] {
        d = 1;
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    format!("{y:04}-{m:02}-{d:02}")
}

/// A slot that starts tomorrow (store-local), read from the API.
fn tomorrow_slot(api: &Api, store: &str, snapshot: &Value, index: usize) -> String {
    let today = local_date(&snapshot["slots"][0]);
    let slots = slots_on(api, store, &next_date(&today));
    slots[index]["start"].as_str().expect("a slot").to_string()
}

#[blackbox]
fn snapshot_is_occupancy_and_today_s_slots_as_the_api_answers_them() {
    let api = api();
    let store = live_store(&api, 10);
    // Arrange: two people in the slot in progress, three tomorrow (outside the snapshot).
    let mut booked_now = None;
    for _ in 0..3 {
        let slot = current_slot(&api, &store);
        let booked = book(&api, &store, &slot, 2);
        // Act: a snapshot between two reads of the occupancy that agree on the slot (a slot
        // boundary may pass in between; then try again).
        let before = occupancy(&api, &store);
        let snapshot = Watcher::open(&api, &store).snapshot();
        let after = occupancy(&api, &store);
        if before["slot_start"] == after["slot_start"] && after["slot_start"] == slot {
            booked_now = Some((slot, booked, snapshot, after));
            break;
        }
        let _ = api
            .with_token(booked["token"].as_str().unwrap_or_default())
            .delete(&format!(
                "/api/v1/stores/{store}/bookings/{}",
                booked["id"].as_str().unwrap_or_default()
            ));
    }
    let (slot, _, snapshot, occupancy_now) =
        booked_now.expect("three tries across slot boundaries");
    // Assert: exactly the documented fields, the occupancy as GET /occupancy answers it...
    let keys: Vec<&String> = snapshot.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 3, "{snapshot}");
    assert_eq!(snapshot["occupancy"], occupancy_now);
    assert_eq!(snapshot["occupancy"]["booked"], 2);
    assert_eq!(snapshot["occupancy"]["slot_start"], slot.as_str());
    // ...and today's slots exactly as GET /slots lists that local date.
    let slots = snapshot["slots"].as_array().expect("slots");
    // 48 half-hour slots (46 or 50 on a DST change day).
    assert!((46..=50).contains(&slots.len()), "{} slots", slots.len());
    let today = local_date(&slots[0]);
    assert!(slots.iter().all(|s| local_date(s) == today));
    assert_eq!(slots, &slots_on(&api, &store, &today));
    let mine = slots
        .iter()
        .find(|s| s["start"] == slot.as_str())
        .expect("the slot in progress is today's");
    assert_eq!(
        (
            mine["booked"].as_u64(),
            mine["held"].as_u64(),
            mine["waiting"].as_u64(),
            mine["available"].as_u64()
        ),
        (Some(2), Some(0), Some(0), Some(8))
    );
    for key in [
        "start",
        "end",
        "local_start",
        "capacity",
        "booked",
        "held",
        "waiting",
        "available",
    ] {
        assert!(mine.get(key).is_some(), "{key} in {mine}");
    }
    assert_eq!(mine.as_object().map(|o| o.len()), Some(8), "{mine}");
}

#[blackbox]
fn a_booking_is_heard_within_seconds_and_so_are_cancel_and_check_in() {
    let api = api();
    let (owner, store) = owned_live_store(&api, 10);
    let mut watcher = Watcher::open(&api, &store);
    let snapshot = watcher.snapshot();
    let later = tomorrow_slot(&api, &store, &snapshot, 20);

    // A booking: its slot's item, with the new counts.
    let started = Instant::now();
    let booking = book(&api, &store, &later, 3);
    let update = watcher.expect_slot(&later, 3);
    assert!(started.elapsed() < WAIT);
    assert_eq!(update["item"]["available"], 7);
    assert_eq!(update["item"]["capacity"], 10);
    assert_eq!(
        update,
        json!({"type": "slot", "item": update["item"].clone()})
    );
    // Exactly as the listing shows it now.
    let listed = slots_on(&api, &store, &local_date(&update["item"]));
    assert!(
        listed.contains(&update["item"]),
        "{update} not in the listing"
    );

    // Its cancellation frees the places again.
    let token = booking["token"].as_str().unwrap_or_default().to_string();
    api.with_token(&token)
        .delete(&format!(
            "/api/v1/stores/{store}/bookings/{}",
            booking["id"].as_str().unwrap_or_default()
        ))
        .expect_status(204);
    watcher.expect_slot(&later, 0);

    // A booking and a check-in in the slot in progress also move the occupancy (unless a
    // slot boundary passes in between, which the feed then reports as the next slot's).
    let now = current_slot(&api, &store);
    let here = book(&api, &store, &now, 1);
    let heard = watcher.until(WAIT, |m| {
        m["type"] == "occupancy" && (m["slot_start"] != now.as_str() || m["booked"] == 1)
    });
    let Some(heard) = heard else {
        panic!("no occupancy update after booking the slot in progress");
    };
    if heard["slot_start"] != now.as_str() {
        return;
    }
    assert_eq!(heard["checked_in"], 0, "{heard}");
    owner
        .api(&api)
        .post(
            &format!("/api/v1/stores/{store}/check-ins"),
            &json!({"code": here["code"]}),
        )
        .expect_status(200);
    let checked = watcher.until(WAIT, |m| {
        m["type"] == "occupancy" && (m["slot_start"] != now.as_str() || m["checked_in"] == 1)
    });
    let Some(checked) = checked else {
        panic!("no occupancy update after the check-in");
    };
    if checked["slot_start"] == now.as_str() {
        assert_eq!(
            (checked["booked"].as_u64(), checked["checked_in"].as_u64()),
            (Some(1), Some(1)),
            "{checked}"
        );
    }
}

#[blackbox]
fn a_reschedule_updates_the_old_and_the_new_slot() {
    let api = api();
    let store = live_store(&api, 5);
    let mut watcher = Watcher::open(&api, &store);
    let snapshot = watcher.snapshot();
    let (from, to) = (
        tomorrow_slot(&api, &store, &snapshot, 10),
        tomorrow_slot(&api, &store, &snapshot, 14),
    );
    let booking = book(&api, &store, &from, 2);
    watcher.expect_slot(&from, 2);

    api.with_token(booking["token"].as_str().unwrap_or_default())
        .post(
            &format!(
                "/api/v1/stores/{store}/bookings/{}/reschedule",
                booking["id"].as_str().unwrap_or_default()
            ),
            &json!({"slot_start": to}),
        )
        .expect_status(200);
    // Both, in order of start, from one change.
    watcher.expect_slot(&from, 0);
    watcher.expect_slot(&to, 2);
}

#[blackbox]
fn twenty_watchers_all_hear_one_change() {
    let api = api();
    let store = live_store(&api, 50);
    let mut watchers: Vec<Watcher> = (0..20).map(|_| Watcher::open(&api, &store)).collect();
    let snapshot = watchers[0].snapshot();
    for w in &mut watchers[1..] {
        w.snapshot();
    }
    let slot = tomorrow_slot(&api, &store, &snapshot, 30);
    book(&api, &store, &slot, 4);
    for w in &mut watchers {
        w.expect_slot(&slot, 4);
    }
}

#[blackbox]
fn a_schedule_change_sends_a_fresh_snapshot() {
    let api = api();
    let (owner, store) = owned_live_store(&api, 10);
    let mut watcher = Watcher::open(&api, &store);
    let first = watcher.snapshot();
    assert_eq!(first["slots"][0]["capacity"], 10);
    owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{store}/schedule"),
            &all_day_schedule(60, 25),
        )
        .expect_status(200);
    let fresh = watcher
        .until(WAIT, |m| m["type"] == "snapshot")
        .expect("a fresh snapshot after the schedule changed");
    let slots = fresh["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 24, "hourly slots now");
    assert!(slots.iter().all(|s| s["capacity"] == 25));
    assert_eq!(fresh["occupancy"]["capacity"], 25);
}

#[blackbox]
fn ping_is_answered_and_other_messages_are_ignored() {
    let api = api();
    let store = live_store(&api, 10);
    let mut watcher = Watcher::open(&api, &store);
    watcher.snapshot();
    watcher.send("hello?");
    watcher.send(r#"{"type":"book","slot_start":"2026-12-01T09:00:00Z"}"#);
    watcher.send(r#"{"type":"ping"}"#);
    let pong = watcher.next(WAIT).expect("an answer to ping");
    assert_eq!(pong, json!({"type": "pong"}));
    watcher.send("ping");
    assert_eq!(watcher.next(WAIT), Some(json!({"type": "pong"})));
    // Still open and fed.
    let snapshot = {
        let mut again = Watcher::open(&api, &store);
        again.snapshot()
    };
    let slot = tomorrow_slot(&api, &store, &snapshot, 3);
    book(&api, &store, &slot, 1);
    watcher.expect_slot(&slot, 1);
}

#[blackbox]
fn without_an_upgrade_the_answer_is_426() {
    let api = api();
    let store = live_store(&api, 10);
    let resp = api.get(&live_path(&store));
    let body = resp.expect_problem(426, "upgrade-required");
    assert!(body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("WebSocket"));
    // No CORS (not a public read) and the usual edge headers.
    assert!(resp.header("access-control-allow-origin").is_none());
    assert!(resp.header("x-request-id").is_some());
    // Other methods are 405 as anywhere.
    let resp = api.post(&live_path(&store), &json!({}));
    resp.expect_problem(405, "method-not-allowed");
}

#[blackbox]
fn unknown_malformed_and_closed_stores_are_404() {
    let api = api();
    let unknown = uuid::Uuid::new_v4().to_string();
    let refused = Watcher::connect(api.base(), &unknown).expect_err("unknown store");
    assert_eq!(refused.status, 404, "{refused:?}");
    refused_upgrade(&api, &unknown).expect_problem(404, "not-found");
    // Without the upgrade too (404 before 426), and for ids that are not UUIDs.
    api.get(&live_path(&unknown))
        .expect_problem(404, "not-found");
    api.get(&live_path("not-a-store"))
        .expect_problem(404, "not-found");
    let refused = Watcher::connect(api.base(), "not-a-store").expect_err("malformed id");
    assert_eq!(refused.status, 404);
    // Twice in a row for a store whose object was never used (it records nothing).
    assert_eq!(
        Watcher::connect(api.base(), &unknown)
            .expect_err("again")
            .status,
        404
    );

    let (owner, store) = owned_live_store(&api, 10);
    owner
        .api(&api)
        .delete(&format!("/api/v1/stores/{store}"))
        .expect_status(204);
    let refused = Watcher::connect(api.base(), &store).expect_err("closed store");
    assert_eq!(refused.status, 404, "{refused:?}");
    refused_upgrade(&api, &store).expect_problem(404, "not-found");
}

#[blackbox]
fn closing_the_store_closes_its_sockets() {
    let api = api();
    let (owner, store) = owned_live_store(&api, 10);
    let mut watcher = Watcher::open(&api, &store);
    let snapshot = watcher.snapshot();
    let slot = tomorrow_slot(&api, &store, &snapshot, 5);
    book(&api, &store, &slot, 2);
    watcher.expect_slot(&slot, 2);
    owner
        .api(&api)
        .delete(&format!("/api/v1/stores/{store}"))
        .expect_status(204);
    // The cancellation first, then the close.
    watcher.expect_slot(&slot, 0);
    assert!(
        watcher.closed_within(WAIT),
        "the socket stays open after closing"
    );
}

#[blackbox]
fn the_1001st_socket_of_a_store_is_refused_with_429() {
    let api = api();
    let store = live_store(&api, 10);
    let mut open = Vec::with_capacity(1_000);
    for i in 0..1_000 {
        match Watcher::connect(api.base(), &store) {
            Ok(w) => open.push(w),
            Err(r) => panic!("socket {i} refused: {r:?}"),
        }
    }
    let refused = Watcher::connect(api.base(), &store).expect_err("the 1001st socket");
    assert_eq!(refused.status, 429, "{refused:?}");
    let refused = refused_upgrade(&api, &store);
    refused.expect_problem(429, "rate-limited");
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry >= 1);
    // Closing one makes room again.
    let mut one = open.pop().expect("a socket");
    let _ = one.ws.close(None);
    let _ = one.closed_within(WAIT);
    drop(one);
    let deadline = Instant::now() + WAIT;
    loop {
        match Watcher::connect(api.base(), &store) {
            Ok(mut w) => {
                w.snapshot();
                break;
            }
            Err(r) if r.status == 429 && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(r) => panic!("no room after a close: {r:?}"),
        }
    }
    for mut w in open {
        let _ = w.ws.close(None);
    }
}
