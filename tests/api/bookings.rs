//! Slots and bookings: schedules, DST listings, the capacity invariant under concurrency,
//! idempotency, cancel/reschedule, door check-in, occupancy, the D1 index.

use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, future_slot, guest, in_parallel, register, server, slots_on,
    store_with_schedule, utc_date_in, Api, Server, TEST_JWT_SECRET,
};
use serde_json::{json, Value};

use crate::api;

fn book(api: &Api, token: &str, store: &str, slot: &str, party: u32) -> safemarket_blackbox::Resp {
    api.with_token(token).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": slot, "party_size": party}),
    )
}

fn booked_in(api: &Api, store: &str, slot: &str) -> u64 {
    let date = &slot[..10];
    slots_on(api, store, date)
        .into_iter()
        .find(|s| s["start"] == slot)
        .and_then(|s| s["booked"].as_u64())
        .unwrap_or_else(|| panic!("slot {slot} not listed"))
}

fn guests(api: &Api, n: usize) -> Vec<String> {
    let api = api.clone();
    in_parallel(n, move |_| guest(&api).1)
}

#[blackbox]
fn concurrent_bookings_never_overbook() {
    let api = api();
    let owner = register(&api, "race-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let slot = future_slot(&api, &store, 2, 10);
    let tokens = guests(&api, 200);
    let (a, s, sl) = (api.clone(), store.clone(), slot.clone());
    let results = in_parallel(200, move |i| book(&a, &tokens[i], &s, &sl, 1));
    let created = results.iter().filter(|r| r.status == 201).count();
    let full = results
        .iter()
        .filter(|r| {
            r.status == 409 && r.json()["type"] == "https://safemarket.dev/problems/slot-full"
        })
        .count();
    assert_eq!(
        (created, full),
        (10, 190),
        "statuses: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(booked_in(&api, &store, &slot), 10);
}

#[blackbox]
fn mixed_party_sizes_never_overbook() {
    let api = api();
    let owner = register(&api, "party-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let slot = future_slot(&api, &store, 3, 11);
    let tokens = guests(&api, 80);
    let (a, s, sl) = (api.clone(), store.clone(), slot.clone());
    let results = in_parallel(80, move |i| {
        let party = (i % 4) as u32 + 1;
        (party, book(&a, &tokens[i], &s, &sl, party))
    });
    let booked: u32 = results
        .iter()
        .filter(|(_, r)| r.status == 201)
        .map(|(p, _)| *p)
        .sum();
    for (_, r) in &results {
        assert!(r.status == 201 || r.status == 409, "{}", r.text);
    }
    assert!(booked <= 10, "overbooked: {booked}");
    assert_eq!(booked_in(&api, &store, &slot), u64::from(booked));
    // Size-1 requests exist, so the slot fills completely.
    assert_eq!(booked, 10);
}

#[blackbox]
fn idempotent_retry_storm_books_once() {
    let api = api();
    let owner = register(&api, "idem-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 100));
    let slot = future_slot(&api, &store, 2, 12);
    let (_, token, _) = guest(&api);
    let key = format!("key-{}", uuid::Uuid::new_v4());
    let (a, s, sl, t, k) = (
        api.clone(),
        store.clone(),
        slot.clone(),
        token.clone(),
        key.clone(),
    );
    let results = in_parallel(50, move |_| {
        a.with_token(&t).request(
            "POST",
            &format!("/api/v1/stores/{s}/bookings"),
            &[("idempotency-key", &k)],
            Some(&json!({"slot_start": sl, "party_size": 2})),
        )
    });
    let created = results.iter().filter(|r| r.status == 201).count();
    let replayed = results.iter().filter(|r| r.status == 200).count();
    assert_eq!((created, replayed), (1, 49));
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(booked_in(&api, &store, &slot), 2);
    let other = api.with_token(&token).request(
        "POST",
        &format!("/api/v1/stores/{store}/bookings"),
        &[("idempotency-key", &key)],
        Some(&json!({"slot_start": slot, "party_size": 3})),
    );
    other.expect_problem(422, "idempotency-mismatch");
}

#[blackbox]
fn cancel_frees_the_place_at_once() {
    let api = api();
    let owner = register(&api, "cancel-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(30, 1));
    let slot = future_slot(&api, &store, 2, 20);
    let (_, a, _) = guest(&api);
    let (_, b, _) = guest(&api);
    let first = book(&api, &a, &store, &slot, 1);
    first.expect_status(201);
    let booking = first.json();
    assert_eq!(booking["status"], "confirmed");
    assert!(booking["code"].as_str().is_some_and(|c| c.len() >= 6));
    book(&api, &b, &store, &slot, 1).expect_problem(409, "slot-full");
    // Someone else cannot cancel it (it does not exist for them).
    let id = booking["id"].as_str().unwrap();
    api.with_token(&b)
        .delete(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .expect_problem(404, "not-found");
    api.with_token(&a)
        .delete(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .expect_status(204);
    book(&api, &b, &store, &slot, 1).expect_status(201);
    let cancelled = api
        .with_token(&a)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"));
    assert_eq!(cancelled.json()["status"], "cancelled");
}

#[blackbox]
fn reschedule_to_a_full_slot_changes_nothing() {
    let api = api();
    let owner = register(&api, "resched-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 1));
    let (s1, s2, s3) = (
        future_slot(&api, &store, 2, 8),
        future_slot(&api, &store, 2, 9),
        future_slot(&api, &store, 2, 10),
    );
    let (_, a, _) = guest(&api);
    let (_, b, _) = guest(&api);
    let mine = book(&api, &a, &store, &s1, 1).json();
    book(&api, &b, &store, &s2, 1).expect_status(201);
    let id = mine["id"].as_str().unwrap();
    let path = format!("/api/v1/stores/{store}/bookings/{id}/reschedule");
    api.with_token(&a)
        .post(&path, &json!({"slot_start": s2}))
        .expect_problem(409, "slot-full");
    let unchanged = api
        .with_token(&a)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .json();
    assert_eq!(unchanged["slot_start"], s1.as_str());
    assert_eq!(
        (booked_in(&api, &store, &s1), booked_in(&api, &store, &s2)),
        (1, 1)
    );
    let moved = api.with_token(&a).post(&path, &json!({"slot_start": s3}));
    moved.expect_status(200);
    assert_eq!(moved.json()["slot_start"], s3.as_str());
    assert_eq!(
        (booked_in(&api, &store, &s1), booked_in(&api, &store, &s3)),
        (0, 1)
    );
}

#[blackbox]
fn check_in_twice_is_a_conflict() {
    let api = api();
    let owner = register(&api, "door-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let (_, token, _) = guest(&api);
    // The current slot (open all day, so there always is one); should it end between reading
    // and booking it, the booking is refused as past and the next one is taken.
    let booking = (0..2)
        .map(|_| {
            let occupancy = api.get(&format!("/api/v1/stores/{store}/occupancy")).json();
            let current = occupancy["slot_start"]
                .as_str()
                .unwrap_or_else(|| panic!("open all day: {occupancy}"))
                .to_string();
            book(&api, &token, &store, &current, 2)
        })
        .find(|r| r.status != 422)
        .expect("a current slot to book");
    booking.expect_status(201);
    let code = booking.json()["code"].as_str().unwrap().to_string();
    let door = owner.api(&api);
    let path = format!("/api/v1/stores/{store}/check-ins");
    let first = door.post(&path, &json!({"code": code.to_lowercase()}));
    first.expect_status(200);
    assert_eq!(first.json()["status"], "checked_in");
    door.post(&path, &json!({"code": code}))
        .expect_problem(409, "invalid-transition");
    door.post(&path, &json!({"code": "ZZZZZZZZ"}))
        .expect_problem(404, "not-found");
    api.with_token(&token)
        .post(&path, &json!({"code": code}))
        .expect_problem(403, "forbidden");
}

fn local_starts(api: &Api, store: &str, date: &str) -> Vec<String> {
    slots_on(api, store, date)
        .into_iter()
        .map(|s| s["local_start"].as_str().unwrap_or("").to_string())
        .collect()
}

#[blackbox]
fn dst_day_listings_are_exact() {
    let api = api();
    let owner = register(&api, "dst-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let spring = local_starts(&api, &store, "2027-03-28");
    assert_eq!(spring.len(), 23, "{spring:?}");
    assert!(spring.iter().all(|s| !s.contains("T02:")), "{spring:?}");
    assert_eq!(spring[2], "2027-03-28T03:00:00+02:00");
    let autumn = local_starts(&api, &store, "2026-10-25");
    assert_eq!(autumn.len(), 25, "{autumn:?}");
    assert_eq!(
        &autumn[2..4],
        ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
    );
    let utc: Vec<Value> = slots_on(&api, &store, "2026-10-25")
        .into_iter()
        .map(|s| s["start"].clone())
        .collect();
    assert_eq!(utc[2], "2026-10-25T00:00:00Z");
    assert_eq!(utc[3], "2026-10-25T01:00:00Z");
    let normal = slots_on(&api, &store, "2026-12-01");
    assert_eq!(normal.len(), 24);
    assert_eq!(normal[10]["local_start"], "2026-12-01T10:00:00+01:00");
    assert_eq!(normal[10]["start"], "2026-12-01T09:00:00Z");
    assert_eq!(normal[10]["available"], 5);
}

#[blackbox]
fn bad_inputs_are_problems_not_errors() {
    let api = api();
    let owner = register(&api, "bad-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let (_, token, _) = guest(&api);
    let slot = future_slot(&api, &store, 2, 5);
    let unaligned = slot.replace(":00:00Z", ":17:00Z");
    book(&api, &token, &store, &unaligned, 1).expect_problem(422, "slot-not-offered");
    book(&api, &token, &store, "2020-01-01T09:00:00Z", 1).expect_problem(422, "slot-in-past");
    let far = future_slot(&api, &store, 60, 5);
    book(&api, &token, &store, &far, 1).expect_problem(422, "beyond-horizon");
    let authed = api.with_token(&token);
    let path = format!("/api/v1/stores/{store}/bookings");
    authed
        .post(&path, &json!({"slot_start": "garbage"}))
        .expect_problem(422, "validation-failed");
    authed
        .post(&path, &json!({"slot_start": slot, "party_size": -2}))
        .expect_problem(422, "validation-failed");
    authed
        .post(&path, &json!({"slot_start": slot, "party_size": 6}))
        .expect_problem(422, "invalid-party-size");
    authed
        .post(&path, &json!({"party_size": 1}))
        .expect_problem(422, "validation-failed");
    authed
        .post(
            "/api/v1/stores/00000000-0000-4000-8000-000000000000/bookings",
            &json!({"slot_start": slot}),
        )
        .expect_problem(404, "not-found");
    authed
        .post(
            "/api/v1/stores/not-a-uuid/bookings",
            &json!({"slot_start": slot}),
        )
        .expect_problem(404, "not-found");
    for query in [
        "from=2026-12-01",
        "from=garbage&to=2026-12-01",
        "from=2026-12-05&to=2026-12-01",
        "from=2026-01-01&to=2026-12-31",
    ] {
        api.get(&format!("/api/v1/stores/{store}/slots?{query}"))
            .expect_problem(422, "validation-failed");
    }
    let bad_schedule = json!({"slot_minutes": 7, "capacity": 0, "horizon_days": 1, "max_active_bookings_per_user": 1,
        "weekly": [{"day": "mon", "open": "09:00", "close": "08:00"}], "exceptions": []});
    let resp = owner
        .api(&api)
        .put(&format!("/api/v1/stores/{store}/schedule"), &bad_schedule);
    let fields: Vec<String> = resp.expect_problem(422, "validation-failed")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(fields.contains(&"capacity".to_string()), "{fields:?}");
    assert!(
        fields.iter().any(|f| f.starts_with("weekly[0]")),
        "{fields:?}"
    );
    let key = "k".repeat(300);
    authed
        .request(
            "POST",
            &path,
            &[("idempotency-key", &key)],
            Some(&json!({"slot_start": slot})),
        )
        .expect_problem(422, "validation-failed");
}

#[blackbox]
fn staff_routes_refuse_customers() {
    let api = api();
    let owner = register(&api, "authz-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let other = register(&api, "authz-other");
    let schedule = all_day_schedule(30, 5);
    api.put(&format!("/api/v1/stores/{store}/schedule"), &schedule)
        .expect_problem(401, "unauthorized");
    other
        .api(&api)
        .put(&format!("/api/v1/stores/{store}/schedule"), &schedule)
        .expect_problem(403, "forbidden");
    let date = utc_date_in(2);
    other
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/bookings?date={date}"))
        .expect_problem(403, "forbidden");
    let (_, token, _) = guest(&api);
    let slot = future_slot(&api, &store, 2, 14);
    let id = book(&api, &token, &store, &slot, 1).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    other
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .expect_problem(404, "not-found");
    // The owner sees it in the day list and by id.
    let day = owner.api(&api).get(&format!(
        "/api/v1/stores/{store}/bookings?date={}",
        &slot[..10]
    ));
    day.expect_status(200);
    assert!(day.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["id"] == id.as_str()));
    owner
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .expect_status(200);
    api.get(&format!("/api/v1/stores/{store}/schedule"))
        .expect_status(200);

    // The day list comes in pages of `limit`, by start.
    for index in [16, 15] {
        let slot = future_slot(&api, &store, 2, index);
        book(&api, &token, &store, &slot, 1).expect_status(201);
    }
    let day_path = format!("/api/v1/stores/{store}/bookings?date={}", &slot[..10]);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{day_path}&limit=2&cursor={c}"),
            None => format!("{day_path}&limit=2"),
        };
        let page = owner.api(&api).get(&path);
        let body = page.expect_status(200).json();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{body}");
        seen.extend(
            items
                .iter()
                .map(|b| b["slot_start"].as_str().unwrap().to_string()),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    owner
        .api(&api)
        .get(&format!("{day_path}&cursor=not-ours"))
        .expect_problem(400, "bad-request");
    owner
        .api(&api)
        .get(&format!("{day_path}&limit=0"))
        .expect_problem(422, "validation-failed");
}

#[blackbox]
fn schedule_change_reports_but_keeps_bookings() {
    let api = api();
    let owner = register(&api, "change-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let (_, token, _) = guest(&api);
    let slot = future_slot(&api, &store, 3, 10);
    let id = book(&api, &token, &store, &slot, 1).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let date = slot[..10].to_string();
    let mut closed = all_day_schedule(60, 5);
    closed["exceptions"] = json!([{"date": date, "closed": true}]);
    let resp = owner
        .api(&api)
        .put(&format!("/api/v1/stores/{store}/schedule"), &closed);
    resp.expect_status(200);
    let body = resp.json();
    assert_eq!(body["exceptions"][0]["date"], date.as_str());
    assert!(
        body["affected_bookings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == id.as_str()),
        "{body}"
    );
    let kept = api
        .with_token(&token)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"));
    assert_eq!(kept.json()["status"], "confirmed");
    assert!(slots_on(&api, &store, &date).is_empty());
}

/// A store open around the clock always has a current slot, whatever the day and hour. The
/// slot can end between two reads (hourly slots: at most once in a few seconds), so a round
/// that saw it end is repeated on a fresh store; it asserts what it saw either way.
#[blackbox]
fn occupancy_shows_the_current_slot() {
    let api = api();
    let owner = register(&api, "occ-owner");
    let judged = (0..2).any(|_| occupancy_round(&api, &owner));
    assert!(judged, "the current slot ended in two rounds in a row");

    let closed_owner = register(&api, "occ-closed");
    let weekly: Vec<Value> = vec![];
    let never_open = json!({"slot_minutes": 60, "capacity": 5, "horizon_days": 7, "max_active_bookings_per_user": 1,
        "weekly": weekly, "exceptions": []});
    let closed_store = store_with_schedule(&api, &closed_owner, "Europe/Berlin", &never_open);
    assert_eq!(
        api.get(&format!("/api/v1/stores/{closed_store}/occupancy"))
            .json(),
        json!({"slot_start": null, "capacity": 0, "booked": 0, "checked_in": 0, "fill_status": "green"})
    );
}

/// Fills the current slot of a fresh all-day store to 60 % (yellow) and 90 % (red); false
/// when the slot ended on the way (what was seen up to then is asserted).
fn occupancy_round(api: &Api, owner: &safemarket_blackbox::TestUser) -> bool {
    let store = store_with_schedule(api, owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let occupancy = || api.get(&format!("/api/v1/stores/{store}/occupancy")).json();
    let first = occupancy();
    let current = first["slot_start"]
        .as_str()
        .unwrap_or_else(|| panic!("an all-day store has a current slot: {first}"))
        .to_string();
    assert_eq!(
        first,
        json!({"slot_start": current, "capacity": 10, "booked": 0, "checked_in": 0, "fill_status": "green"})
    );
    for (party, booked, fill) in [(6, 6, "yellow"), (3, 9, "red")] {
        let (_, token, _) = guest(api);
        let resp = book(api, &token, store.as_str(), &current, party);
        let now = occupancy();
        if now["slot_start"] != current.as_str() {
            // Ended: booking it was refused as past or counted in the slot that ended; the
            // new current slot has nobody yet.
            assert!(resp.status == 201 || resp.status == 422, "{}", resp.text);
            assert_eq!(
                (now["booked"].clone(), now["fill_status"].clone()),
                (json!(0), json!("green")),
                "{now}"
            );
            return false;
        }
        resp.expect_status(201);
        assert_eq!(
            now,
            json!({"slot_start": current, "capacity": 10, "booked": booked, "checked_in": 0, "fill_status": fill})
        );
    }
    true
}

/// Polls `GET /api/v1/me/bookings` until `pred` holds (the index trails by design).
fn wait_for_index(api: &Api, token: &str, scope: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = api
            .with_token(token)
            .get(&format!("/api/v1/me/bookings?scope={scope}"));
        resp.expect_status(200);
        let body = resp.json();
        if pred(&body) || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[blackbox]
fn my_bookings_come_from_the_index() {
    let api = api();
    let owner = register(&api, "index-owner");
    let store_a = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let store_b = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    let (_, token, _) = guest(&api);
    let a = book(
        &api,
        &token,
        &store_a,
        &future_slot(&api, &store_a, 2, 9),
        1,
    )
    .json();
    let b = book(
        &api,
        &token,
        &store_b,
        &future_slot(&api, &store_b, 3, 9),
        1,
    )
    .json();
    let listed = wait_for_index(&api, &token, "upcoming", |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 2)
    });
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [a["id"].as_str().unwrap(), b["id"].as_str().unwrap()],
        "{listed}"
    );
    let id = a["id"].as_str().unwrap();
    api.with_token(&token)
        .delete(&format!("/api/v1/stores/{store_a}/bookings/{id}"))
        .expect_status(204);
    let past = wait_for_index(&api, &token, "past", |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 1)
    });
    assert_eq!(past["items"][0]["status"], "cancelled", "{past}");
    api.with_token(&token)
        .get("/api/v1/me/bookings?scope=later")
        .expect_problem(422, "validation-failed");
}

#[blackbox]
fn bookings_and_index_survive_a_restart() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let vars = [("JWT_SECRET", TEST_JWT_SECRET)];
    let first = Server::start(&state, &vars);
    let api = Api::new(&first.base);
    let owner = register(&api, "restart-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 1));
    let slot = future_slot(&api, &store, 2, 9);
    let (device, token, _) = guest(&api);
    let booking = book(&api, &token, &store, &slot, 1).json();
    wait_for_index(&api, &token, "upcoming", |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 1)
    });
    first.stop();

    let second = Server::start(&state, &vars);
    let api = Api::new(&second.base);
    let token = api
        .post("/api/v1/auth/guest", &json!({"device_id": device}))
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(booked_in(&api, &store, &slot), 1);
    let (_, other, _) = guest(&api);
    book(&api, &other, &store, &slot, 1).expect_problem(409, "slot-full");
    let listed = api.with_token(&token).get("/api/v1/me/bookings").json();
    assert_eq!(listed["items"][0]["id"], booking["id"], "{listed}");
    second.stop();
}

#[blackbox]
fn erasure_cancels_future_bookings() {
    let api = api();
    let owner = register(&api, "erase-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 3));
    let customer = register(&api, "erase-customer");
    let slot = future_slot(&api, &store, 2, 15);
    let id = book(&api, &customer.token, &store, &slot, 2).json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_index(&api, &customer.token, "upcoming", |v| {
        v["items"].as_array().is_some_and(|i| i.len() == 1)
    });
    assert_eq!(booked_in(&api, &store, &slot), 2);

    customer.api(&api).delete("/api/v1/me").expect_status(204);

    assert_eq!(
        booked_in(&api, &store, &slot),
        0,
        "the erased user's future booking is cancelled"
    );
    let seen = owner
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/bookings/{id}"));
    seen.expect_status(200);
    assert_eq!(seen.json()["status"], "cancelled");
}

/// Booking, listing and occupancy do not read the store from D1: the store's object answers in
/// the zone it recorded. A zone changed by PATCH must reach them at once, and stores that do
/// not exist, or whose object has never been used, must still answer as before.
#[blackbox]
fn zone_changes_reach_the_paths_that_skip_d1() {
    let api = api();
    let owner = register(&api, "zone-owner");
    let (_, token, _) = guest(&api);
    let mut schedule = all_day_schedule(60, 5);
    schedule["weekly"] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "open": "09:00", "close": "17:00"}))
        .collect();
    let store = store_with_schedule(&api, &owner, "UTC", &schedule);
    let date = utc_date_in(3);
    book(&api, &token, &store, &format!("{date}T09:00:00Z"), 1).expect_status(201);
    assert_eq!(
        slots_on(&api, &store, &date)[0]["start"],
        format!("{date}T09:00:00Z")
    );

    owner
        .api(&api)
        .patch(
            &format!("/api/v1/stores/{store}"),
            &json!({"timezone": "Asia/Tokyo"}),
        )
        .expect_status(200);
    let slots = slots_on(&api, &store, &date);
    assert_eq!(slots.len(), 8);
    assert_eq!(slots[0]["start"], format!("{date}T00:00:00Z"));
    assert_eq!(slots[0]["local_start"], format!("{date}T09:00:00+09:00"));
    book(&api, &token, &store, &format!("{date}T00:00:00Z"), 1).expect_status(201);
    // 16:00 UTC is 01:00 in Tokyo, when the store is closed.
    book(&api, &token, &store, &format!("{date}T16:00:00Z"), 1)
        .expect_problem(422, "slot-not-offered");
    api.get(&format!("/api/v1/stores/{store}/occupancy"))
        .expect_status(200);

    let nowhere = "00000000-0000-4000-8000-00000000beef";
    api.get(&format!(
        "/api/v1/stores/{nowhere}/slots?from={date}&to={date}"
    ))
    .expect_problem(404, "not-found");
    api.get(&format!("/api/v1/stores/{nowhere}/occupancy"))
        .expect_problem(404, "not-found");

    // A new store's object has recorded nothing yet: the first call falls back to D1.
    let fresh = safemarket_blackbox::create_store(&api, &owner, "Europe/Berlin");
    book(&api, &token, &fresh, &format!("{date}T09:00:00Z"), 1)
        .expect_problem(422, "slot-not-offered");
    let fresh = safemarket_blackbox::create_store(&api, &owner, "Europe/Berlin");
    let listing = api.get(&format!(
        "/api/v1/stores/{fresh}/slots?from={date}&to={date}"
    ));
    assert_eq!(listing.expect_status(200).json()["items"], json!([]));
    assert_eq!(
        listing.header("content-type"),
        Some("application/json"),
        "the passed-through listing keeps its type"
    );
}

/// The listed slot of `date` (store-local) whose local wall time is `hh_mm`, whatever the
/// zone's offset that day.
#[track_caller]
fn slot_at_local(api: &Api, store: &str, date: &str, hh_mm: &str) -> Value {
    let wall = format!("{date}T{hh_mm}:00");
    slots_on(api, store, date)
        .into_iter()
        .find(|s| {
            s["local_start"]
                .as_str()
                .is_some_and(|l| l.starts_with(&wall))
        })
        .unwrap_or_else(|| panic!("no slot at {wall} local"))
}

#[blackbox]
fn kept_bookings_count_against_the_new_slots_they_overlap() {
    let api = api();
    let owner = register(&api, "overlap-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(30, 2));
    let date = utc_date_in(4);
    let half_past = slot_at_local(&api, &store, &date, "10:30");
    let half_past = half_past["start"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let (_, token, _) = guest(&api);
        book(&api, &token, &store, &half_past, 1).expect_status(201);
    }

    owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{store}/schedule"),
            &all_day_schedule(60, 2),
        )
        .expect_status(200);

    // 10:00-11:00 holds the two people of 10:30-11:00.
    let ten = slot_at_local(&api, &store, &date, "10:00");
    assert_eq!(
        (&ten["booked"], &ten["available"]),
        (&json!(2), &json!(0)),
        "{ten}"
    );
    let (_, late, _) = guest(&api);
    book(&api, &late, &store, ten["start"].as_str().unwrap(), 1).expect_problem(409, "slot-full");
    // The neighbours only touch it.
    for free in ["09:00", "11:00"] {
        let slot = slot_at_local(&api, &store, &date, free);
        assert_eq!(slot["booked"], 0, "{slot}");
    }
    book(
        &api,
        &late,
        &store,
        slot_at_local(&api, &store, &date, "11:00")["start"]
            .as_str()
            .unwrap(),
        2,
    )
    .expect_status(201);

    // Occupancy counts the same way: an hour booked now, then half-hour slots.
    let occ_owner = register(&api, "overlap-occ");
    let occ_store =
        store_with_schedule(&api, &occ_owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let hour = api
        .get(&format!("/api/v1/stores/{occ_store}/occupancy"))
        .json();
    let hour_start = hour["slot_start"].as_str().unwrap().to_string();
    let (_, now_token, _) = guest(&api);
    book(&api, &now_token, &occ_store, &hour_start, 3).expect_status(201);
    occ_owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{occ_store}/schedule"),
            &all_day_schedule(30, 10),
        )
        .expect_status(200);
    let half = api
        .get(&format!("/api/v1/stores/{occ_store}/occupancy"))
        .json();
    // Either half of the booked hour (Berlin's offsets are whole hours, so the hour's slots
    // share its UTC date and hour); a test running across the hour judges nothing.
    let current = half["slot_start"].as_str().unwrap_or_default();
    if current.get(..13) == hour_start.get(..13) {
        assert_eq!(half["booked"], 3, "{half}");
    }
}

#[blackbox]
fn capacity_cut_keeps_bookings_and_refuses_new_ones() {
    let api = api();
    let owner = register(&api, "cut-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 10));
    let date = utc_date_in(5);
    let slot = slot_at_local(&api, &store, &date, "12:00");
    let slot = slot["start"].as_str().unwrap().to_string();
    let mut kept = Vec::new();
    for _ in 0..3 {
        let (_, token, _) = guest(&api);
        let created = book(&api, &token, &store, &slot, 1);
        created.expect_status(201);
        kept.push((token, created.json()["id"].as_str().unwrap().to_string()));
    }

    owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{store}/schedule"),
            &all_day_schedule(60, 1),
        )
        .expect_status(200);

    let listed = slot_at_local(&api, &store, &date, "12:00");
    assert_eq!(
        (&listed["capacity"], &listed["booked"], &listed["available"]),
        (&json!(1), &json!(3), &json!(0)),
        "{listed}"
    );
    for (token, id) in &kept {
        let booking = api
            .with_token(token)
            .get(&format!("/api/v1/stores/{store}/bookings/{id}"))
            .json();
        assert_eq!(booking["status"], "confirmed", "{booking}");
    }
    let (_, newcomer, _) = guest(&api);
    book(&api, &newcomer, &store, &slot, 1).expect_problem(409, "slot-full");
    // Room again only once all three are gone.
    for (i, (token, id)) in kept.iter().enumerate() {
        if i > 0 {
            book(&api, &newcomer, &store, &slot, 1).expect_problem(409, "slot-full");
        }
        api.with_token(token)
            .delete(&format!("/api/v1/stores/{store}/bookings/{id}"))
            .expect_status(204);
    }
    book(&api, &newcomer, &store, &slot, 1).expect_status(201);
    assert_eq!(booked_in(&api, &store, &slot), 1);
}
