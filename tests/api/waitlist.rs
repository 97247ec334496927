//! The waiting list and the automatic release of no-shows: join only a full slot, offers hold
//! places, accept turns them into a booking, offers expire and pass on, unchecked bookings are
//! released. Capacity counts booked and held places at every step.

use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, future_slot, in_parallel, register, slots_on, store_with_schedule,
    utc_date_in, Api, TestUser,
};
use serde_json::{json, Value};

use crate::api;

fn waitlist_path(store: &str) -> String {
    format!("/api/v1/stores/{store}/waitlist")
}

fn join(user: &TestUser, store: &str, slot: &str, party: u32) -> safemarket_blackbox::Resp {
    user.api(&api()).post(
        &waitlist_path(store),
        &json!({"slot_start": slot, "party_size": party}),
    )
}

fn book(user: &TestUser, store: &str, slot: &str) -> Value {
    let resp = user.api(&api()).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": slot}),
    );
    resp.expect_status(201);
    resp.json()
}

fn entry(user: &TestUser, store: &str, id: &str) -> Value {
    let resp = user
        .api(&api())
        .get(&format!("{}/{id}", waitlist_path(store)));
    resp.expect_status(200);
    resp.json()
}

/// The slot item starting at `slot` on the date `days_ahead` (UTC) of the listing.
fn item(store: &str, days_ahead: i64, slot: &str) -> Value {
    slots_on(&api(), store, &utc_date_in(days_ahead))
        .into_iter()
        .find(|s| s["start"] == slot)
        .unwrap_or_else(|| panic!("no slot {slot}"))
}

/// Polls `check` every 250 ms until it holds or `limit` passes; the last value either way.
fn within<T>(limit: Duration, mut check: impl FnMut() -> (bool, T)) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let (done, value) = check();
        if done || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn full_store(tag: &str, capacity: u32, schedule_extra: Value) -> (TestUser, String) {
    let api = api();
    let owner = register(&api, tag);
    let mut schedule = all_day_schedule(30, capacity);
    if let (Some(s), Some(extra)) = (schedule.as_object_mut(), schedule_extra.as_object()) {
        s.extend(extra.clone());
    }
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &schedule);
    (owner, store)
}

#[blackbox]
fn join_only_a_full_slot_once_and_in_order() {
    let api = api();
    let (owner, store) = full_store("wl-order", 1, json!({}));
    let slot = future_slot(&api, &store, 2, 5);
    let first = register(&api, "wl-first");
    join(&first, &store, &slot, 1).expect_problem(409, "slot-available");
    book(&register(&api, "wl-booker"), &store, &slot);

    let joined = join(&first, &store, &slot, 1);
    joined.expect_status(201);
    let body = joined.json();
    assert_eq!(body["status"], "waiting");
    assert_eq!(body["position"], 1);
    assert_eq!(body["store_id"], store.as_str());
    assert_eq!(body["slot_start"], slot.as_str());
    join(&first, &store, &slot, 1).expect_problem(409, "already-waiting");
    let second = register(&api, "wl-second");
    assert_eq!(join(&second, &store, &slot, 1).json()["position"], 2);
    // Validated like a booking; a party larger than the slot can never be offered.
    join(&second, &store, "2020-01-01T00:00:00Z", 1).expect_problem(422, "slot-in-past");
    join(&second, &store, &slot, 2).expect_problem(422, "invalid-party-size");
    let listed = item(&store, 2, &slot);
    assert_eq!(
        (listed["waiting"].as_u64(), listed["held"].as_u64()),
        (Some(2), Some(0))
    );

    // Entries are the owner's and staff's only; anonymous callers are refused.
    let id = body["id"].as_str().unwrap_or_default();
    second
        .api(&api)
        .get(&format!("{}/{id}", waitlist_path(&store)))
        .expect_problem(404, "not-found");
    assert_eq!(entry(&owner, &store, id)["position"], 1);
    api.get(&format!("{}/{id}", waitlist_path(&store)))
        .expect_problem(401, "unauthorized");
    // Leaving moves the next one up.
    first
        .api(&api)
        .delete(&format!("{}/{id}", waitlist_path(&store)))
        .expect_status(204);
    assert_eq!(entry(&first, &store, id)["status"], "left");
}

#[blackbox]
fn a_cancellation_offers_the_place_and_accepting_books_it() {
    let api = api();
    let (_, store) = full_store("wl-offer", 1, json!({"waitlist_offer_minutes": 30}));
    let slot = future_slot(&api, &store, 2, 7);
    let booker = register(&api, "wl-offer-booker");
    let booking = book(&booker, &store, &slot);
    let waiter = register(&api, "wl-offer-waiter");
    let joined = join(&waiter, &store, &slot, 1).json();
    let id = joined["id"].as_str().unwrap_or_default().to_string();
    let accept = format!("{}/{id}/accept", waitlist_path(&store));
    waiter
        .api(&api)
        .post(&accept, &json!({}))
        .expect_problem(409, "not-offered");

    booker
        .api(&api)
        .delete(&format!(
            "/api/v1/stores/{store}/bookings/{}",
            booking["id"].as_str().unwrap_or_default()
        ))
        .expect_status(204);
    let offered = entry(&waiter, &store, &id);
    assert_eq!(offered["status"], "offered", "{offered}");
    assert!(offered["offer_expires_at"].is_string(), "{offered}");
    assert!(offered.get("position").is_none(), "{offered}");
    // The place is held: nobody else can take it.
    let listed = item(&store, 2, &slot);
    assert_eq!(
        (
            listed["booked"].as_u64(),
            listed["held"].as_u64(),
            listed["available"].as_u64()
        ),
        (Some(0), Some(1), Some(0)),
        "{listed}"
    );
    booker
        .api(&api)
        .post(
            &format!("/api/v1/stores/{store}/bookings"),
            &json!({"slot_start": slot}),
        )
        .expect_problem(409, "slot-full");
    // Only the entry's owner accepts.
    booker
        .api(&api)
        .post(&accept, &json!({}))
        .expect_problem(404, "not-found");

    let accepted = waiter.api(&api).post(&accept, &json!({}));
    accepted.expect_status(201);
    let new_booking = accepted.json();
    assert_eq!(new_booking["status"], "confirmed");
    assert_eq!(new_booking["slot_start"], slot.as_str());
    let done = entry(&waiter, &store, &id);
    assert_eq!(done["status"], "accepted");
    assert_eq!(done["booking_id"], new_booking["id"]);
    let listed = item(&store, 2, &slot);
    assert_eq!(
        (listed["booked"].as_u64(), listed["held"].as_u64()),
        (Some(1), Some(0))
    );
    waiter
        .api(&api)
        .post(&accept, &json!({}))
        .expect_problem(409, "not-offered");
}

#[blackbox]
fn bookings_cannot_take_held_places_while_offers_are_accepted() {
    let api = api();
    let (_, store) = full_store("wl-race", 3, json!({"waitlist_offer_minutes": 30}));
    let slot = future_slot(&api, &store, 3, 9);
    let bookers: Vec<TestUser> = (0..3)
        .map(|i| register(&api, &format!("wl-race-b{i}")))
        .collect();
    let bookings: Vec<Value> = bookers.iter().map(|b| book(b, &store, &slot)).collect();
    let waiters: Vec<TestUser> = (0..3)
        .map(|i| register(&api, &format!("wl-race-w{i}")))
        .collect();
    let entries: Vec<String> = waiters
        .iter()
        .map(|w| {
            let r = join(w, &store, &slot, 1);
            r.expect_status(201);
            r.json()["id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for (b, booking) in bookers.iter().zip(&bookings) {
        b.api(&api)
            .delete(&format!(
                "/api/v1/stores/{store}/bookings/{}",
                booking["id"].as_str().unwrap_or_default()
            ))
            .expect_status(204);
    }
    for (w, id) in waiters.iter().zip(&entries) {
        assert_eq!(entry(w, &store, id)["status"], "offered");
    }
    // 30 bookings race the 3 accepts: the held places go to the waiting list only.
    let racers: Vec<String> = (0..30)
        .map(|i| register(&api, &format!("wl-racer{i}")).token)
        .collect();
    let base = api.base().to_string();
    let store_id = store.clone();
    let raced = slot.clone();
    let accepts: Vec<(String, String)> = waiters
        .iter()
        .map(|w| w.token.clone())
        .zip(entries.iter().cloned())
        .collect();
    let results = in_parallel(33, move |i| {
        let client = Api::new(&base);
        if i < 30 {
            let resp = client.with_token(&racers[i]).post(
                &format!("/api/v1/stores/{store_id}/bookings"),
                &json!({"slot_start": raced}),
            );
            ("book", resp.status)
        } else {
            let (token, id) = &accepts[i - 30];
            let resp = client.with_token(token).post(
                &format!("/api/v1/stores/{store_id}/waitlist/{id}/accept"),
                &json!({}),
            );
            ("accept", resp.status)
        }
    });
    let booked = results
        .iter()
        .filter(|(k, s)| *k == "book" && *s == 201)
        .count();
    let accepted = results
        .iter()
        .filter(|(k, s)| *k == "accept" && *s == 201)
        .count();
    assert_eq!((booked, accepted), (0, 3), "{results:?}");
    assert!(
        results
            .iter()
            .filter(|(k, _)| *k == "book")
            .all(|(_, s)| *s == 409),
        "{results:?}"
    );
    let listed = item(&store, 3, &slot);
    assert_eq!(
        (
            listed["booked"].as_u64(),
            listed["held"].as_u64(),
            listed["available"].as_u64()
        ),
        (Some(3), Some(0), Some(0)),
        "{listed}"
    );
}

#[blackbox]
fn an_unanswered_offer_expires_and_passes_on() {
    let api = api();
    // The shortest hold the contract allows: one minute.
    let (_, store) = full_store("wl-expiry", 1, json!({"waitlist_offer_minutes": 1}));
    let slot = future_slot(&api, &store, 2, 11);
    let booker = register(&api, "wl-exp-booker");
    let booking = book(&booker, &store, &slot);
    let slow = register(&api, "wl-exp-slow");
    let next = register(&api, "wl-exp-next");
    let slow_id = join(&slow, &store, &slot, 1).json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let next_id = join(&next, &store, &slot, 1).json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    booker
        .api(&api)
        .delete(&format!(
            "/api/v1/stores/{store}/bookings/{}",
            booking["id"].as_str().unwrap_or_default()
        ))
        .expect_status(204);
    assert_eq!(entry(&slow, &store, &slow_id)["status"], "offered");
    assert_eq!(entry(&next, &store, &next_id)["status"], "waiting");

    let expired = within(Duration::from_secs(100), || {
        let e = entry(&slow, &store, &slow_id);
        (e["status"] == "expired", e)
    });
    assert_eq!(expired["status"], "expired", "{expired}");
    slow.api(&api)
        .post(
            &format!("{}/{slow_id}/accept", waitlist_path(&store)),
            &json!({}),
        )
        .expect_problem(409, "offer-expired");
    // The alarm passed it on in the same step.
    assert_eq!(entry(&next, &store, &next_id)["status"], "offered");
    let listed = item(&store, 2, &slot);
    assert_eq!(
        (listed["held"].as_u64(), listed["waiting"].as_u64()),
        (Some(1), Some(0))
    );
}

#[blackbox]
fn bookings_not_checked_in_are_released() {
    let api = api();
    // 5-minute slots, released one minute after the start: the slot in progress is due
    // within a minute of now whatever the time of day.
    let mut schedule = all_day_schedule(5, 1);
    schedule["release_after_minutes"] = json!(1);
    let owner = register(&api, "wl-release");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &schedule);
    let now_slot = api.get(&format!("/api/v1/stores/{store}/occupancy")).json()["slot_start"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !now_slot.is_empty(),
        "an all-day store always has a current slot"
    );
    let shopper = register(&api, "wl-release-shopper");
    let resp = shopper.api(&api).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": now_slot}),
    );
    if resp.status == 422 {
        // The slot ended between the two requests: the next one is in progress now.
        return bookings_not_checked_in_are_released();
    }
    resp.expect_status(201);
    let id = resp.json()["id"].as_str().unwrap_or_default().to_string();
    let released = within(Duration::from_secs(100), || {
        let b = owner
            .api(&api)
            .get(&format!("/api/v1/stores/{store}/bookings/{id}"))
            .json();
        (b["status"] == "no_show", b)
    });
    assert_eq!(released["status"], "no_show", "{released}");
    let occupancy = api.get(&format!("/api/v1/stores/{store}/occupancy")).json();
    if occupancy["slot_start"] == now_slot.as_str() {
        assert_eq!(occupancy["booked"], 0, "{occupancy}");
    }
}
