//! Slots and bookings: schedules, DST listings, the capacity invariant under concurrency,
//! idempotency, cancel/reschedule, door check-in, occupancy, the D1 index.

use safemarket_blackbox::{
    all_day_schedule, berlin_local, berlin_utc, blackbox, in_parallel, server, utc_date_in,
    zone::berlin_offset_hours, Server, Store, TestApp, TestUser, TEST_JWT_SECRET,
};
use serde_json::{json, Value};

#[blackbox]
fn concurrent_bookings_never_overbook() {
    let app = TestApp::shared();
    let owner = app.owner("race-owner");
    let store = app.store_open_all_day(&owner, 60, 10);
    let slot = app.slot(&store, 2, 10);
    let shoppers = app.guests(200);
    let (a, s, sl) = (app.clone(), store.clone(), slot.clone());
    let results = in_parallel(200, move |i| a.book(&shoppers[i], &s, &sl));
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
    assert_eq!(app.booked_in(&store, &slot), 10);
}

#[blackbox]
fn mixed_party_sizes_never_overbook() {
    let app = TestApp::shared();
    let owner = app.owner("party-owner");
    let store = app.store_open_all_day(&owner, 60, 10);
    let slot = app.slot(&store, 3, 11);
    let shoppers = app.guests(80);
    let (a, s, sl) = (app.clone(), store.clone(), slot.clone());
    let results = in_parallel(80, move |i| {
        let party = (i % 4) as u32 + 1;
        (party, a.book_party(&shoppers[i], &s, &sl, party))
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
    assert_eq!(app.booked_in(&store, &slot), u64::from(booked));
    // Size-1 requests exist, so the slot fills completely.
    assert_eq!(booked, 10);
}

#[blackbox]
fn idempotent_retry_storm_books_once() {
    let app = TestApp::shared();
    let owner = app.owner("idem-owner");
    let store = app.store_open_all_day(&owner, 60, 100);
    let slot = app.slot(&store, 2, 12);
    let shopper = app.guest();
    let key = format!("key-{}", uuid::Uuid::new_v4());
    let (a, s, sl, who, k) = (
        app.clone(),
        store.clone(),
        slot.clone(),
        shopper.clone(),
        key.clone(),
    );
    let results = in_parallel(50, move |_| a.book_idempotently(&who, &s, &sl, 2, &k));
    let created = results.iter().filter(|r| r.status == 201).count();
    let replayed = results.iter().filter(|r| r.status == 200).count();
    assert_eq!((created, replayed), (1, 49));
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.booked_in(&store, &slot), 2);
    app.book_idempotently(&shopper, &store, &slot, 3, &key)
        .expect_problem(422, "idempotency-mismatch");
}

#[blackbox]
fn cancel_frees_the_place_at_once() {
    let app = TestApp::shared();
    let owner = app.owner("cancel-owner");
    let store = app.store_open_all_day(&owner, 30, 1);
    let slot = app.slot(&store, 2, 20);
    let (alice, bob) = (app.guest(), app.guest());
    let booking = app.book(&alice, &store, &slot).created();
    assert_eq!(booking["status"], "confirmed");
    assert!(booking["code"].as_str().is_some_and(|c| c.len() >= 6));
    app.book(&bob, &store, &slot)
        .expect_problem(409, "slot-full");
    // Someone else cannot cancel it (it does not exist for them).
    app.cancel(&bob, &booking).expect_problem(404, "not-found");
    app.cancel(&alice, &booking).expect_status(204);
    app.book(&bob, &store, &slot).expect_status(201);
    let cancelled = app.booking(&alice, &booking);
    assert_eq!(cancelled.json()["status"], "cancelled");
}

#[blackbox]
fn reschedule_to_a_full_slot_changes_nothing() {
    let app = TestApp::shared();
    let owner = app.owner("resched-owner");
    let store = app.store_open_all_day(&owner, 60, 1);
    let (s1, s2, s3) = (
        app.slot(&store, 2, 8),
        app.slot(&store, 2, 9),
        app.slot(&store, 2, 10),
    );
    let (alice, bob) = (app.guest(), app.guest());
    let mine = app.book(&alice, &store, &s1).created();
    app.book(&bob, &store, &s2).expect_status(201);
    app.reschedule(&alice, &mine, &s2)
        .expect_problem(409, "slot-full");
    let unchanged = app.booking(&alice, &mine).json();
    assert_eq!(unchanged["slot_start"], s1.as_str());
    assert_eq!(
        (app.booked_in(&store, &s1), app.booked_in(&store, &s2)),
        (1, 1)
    );
    let moved = app.reschedule(&alice, &mine, &s3);
    moved.expect_status(200);
    assert_eq!(moved.json()["slot_start"], s3.as_str());
    assert_eq!(
        (app.booked_in(&store, &s1), app.booked_in(&store, &s3)),
        (0, 1)
    );
}

#[blackbox]
fn check_in_twice_is_a_conflict() {
    let app = TestApp::shared();
    let owner = app.owner("door-owner");
    let store = app.store_open_all_day(&owner, 60, 10);
    let shopper = app.guest();
    // The current slot (open all day, so there always is one); should it end between reading
    // and booking it, the booking is refused as past and the next one is taken.
    let booking = (0..2)
        .map(|_| {
            let occupancy = app.occupancy(&store).json();
            let current = occupancy["slot_start"]
                .as_str()
                .unwrap_or_else(|| panic!("open all day: {occupancy}"))
                .to_string();
            app.book_party(&shopper, &store, &current, 2)
        })
        .find(|r| r.status != 422)
        .expect("a current slot to book");
    let code = booking.created().code().to_string();
    let door = app.client(&owner);
    let path = store.path("/check-ins");
    let first = door.post(&path, &json!({"code": code.to_lowercase()}));
    first.expect_status(200);
    assert_eq!(first.json()["status"], "checked_in");
    door.post(&path, &json!({"code": code}))
        .expect_problem(409, "invalid-transition");
    door.post(&path, &json!({"code": "ZZZZZZZZ"}))
        .expect_problem(404, "not-found");
    app.client(&shopper)
        .post(&path, &json!({"code": code}))
        .expect_problem(403, "forbidden");
}

fn local_starts(app: &TestApp, store: &Store, date: &str) -> Vec<String> {
    app.slots_on(store, date)
        .into_iter()
        .map(|s| s["local_start"].as_str().unwrap_or("").to_string())
        .collect()
}

#[blackbox]
fn dst_day_listings_are_exact() {
    let app = TestApp::shared();
    let owner = app.owner("dst-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let spring = local_starts(&app, &store, "2027-03-28");
    assert_eq!(spring.len(), 23, "{spring:?}");
    assert!(spring.iter().all(|s| !s.contains("T02:")), "{spring:?}");
    assert_eq!(spring[2], berlin_local("2027-03-28", "03:00"));
    let autumn = local_starts(&app, &store, "2026-10-25");
    assert_eq!(autumn.len(), 25, "{autumn:?}");
    // 02:00 happens twice: first with the offset before the change, then with the one after.
    let twice = |hh_mm: &str| {
        format!(
            "2026-10-25T02:00:00+{:02}:00",
            berlin_offset_hours("2026-10-25", hh_mm)
        )
    };
    assert_eq!(&autumn[2..4], [twice("01:00"), twice("03:00")]);
    let utc: Vec<Value> = app
        .slots_on(&store, "2026-10-25")
        .into_iter()
        .map(|s| s["start"].clone())
        .collect();
    assert_eq!(utc[2], "2026-10-25T00:00:00Z");
    assert_eq!(utc[3], "2026-10-25T01:00:00Z");
    let normal = app.slots_on(&store, "2026-12-01");
    assert_eq!(normal.len(), 24);
    assert_eq!(
        normal[10]["local_start"],
        berlin_local("2026-12-01", "10:00").as_str()
    );
    assert_eq!(
        normal[10]["start"],
        berlin_utc("2026-12-01", "10:00").as_str()
    );
    assert_eq!(normal[10]["available"], 5);
}

#[blackbox]
fn bad_inputs_are_problems_not_errors() {
    let app = TestApp::shared();
    let owner = app.owner("bad-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let shopper = app.guest();
    let slot = app.slot(&store, 2, 5);
    let unaligned = slot.replace(":00:00Z", ":17:00Z");
    app.book(&shopper, &store, &unaligned)
        .expect_problem(422, "slot-not-offered");
    app.book(&shopper, &store, "2020-01-01T09:00:00Z")
        .expect_problem(422, "slot-in-past");
    let far = app.slot(&store, 60, 5);
    app.book(&shopper, &store, &far)
        .expect_problem(422, "beyond-horizon");
    let authed = app.client(&shopper);
    let path = store.path("/bookings");
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
        app.api()
            .get(&store.path(&format!("/slots?{query}")))
            .expect_problem(422, "validation-failed");
    }
    let bad_schedule = json!({"slot_minutes": 7, "capacity": 0, "horizon_days": 1, "max_active_bookings_per_user": 1,
        "weekly": [{"day": "mon", "open": "09:00", "close": "08:00"}], "exceptions": []});
    let resp = app.set_schedule(&owner, &store, &bad_schedule);
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
    let app = TestApp::shared();
    let owner = app.owner("authz-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let other = app.user("authz-other");
    let schedule = all_day_schedule(30, 5);
    app.api()
        .put(&store.path("/schedule"), &schedule)
        .expect_problem(401, "unauthorized");
    app.set_schedule(&other, &store, &schedule)
        .expect_problem(403, "forbidden");
    let date = utc_date_in(2);
    app.client(&other)
        .get(&store.path(&format!("/bookings?date={date}")))
        .expect_problem(403, "forbidden");
    let shopper = app.guest();
    let slot = app.slot(&store, 2, 14);
    let booking = app.book(&shopper, &store, &slot).created();
    app.booking(&other, &booking)
        .expect_problem(404, "not-found");
    // The owner sees it in the day list and by id.
    let staff = app.client(&owner);
    let day = staff.get(&store.path(&format!("/bookings?date={}", &slot[..10])));
    day.expect_status(200);
    assert!(day.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["id"] == booking.id.as_str()));
    app.booking(&owner, &booking).expect_status(200);
    app.api().get(&store.path("/schedule")).expect_status(200);

    // The day list comes in pages of `limit`, by start.
    for index in [16, 15] {
        let slot = app.slot(&store, 2, index);
        app.book(&shopper, &store, &slot).expect_status(201);
    }
    let day_path = store.path(&format!("/bookings?date={}", &slot[..10]));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{day_path}&limit=2&cursor={c}"),
            None => format!("{day_path}&limit=2"),
        };
        let page = staff.get(&path);
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
    staff
        .get(&format!("{day_path}&cursor=not-ours"))
        .expect_problem(400, "bad-request");
    staff
        .get(&format!("{day_path}&limit=0"))
        .expect_problem(422, "validation-failed");
}

#[blackbox]
fn schedule_change_reports_but_keeps_bookings() {
    let app = TestApp::shared();
    let owner = app.owner("change-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let shopper = app.guest();
    let slot = app.slot(&store, 3, 10);
    let booking = app.book(&shopper, &store, &slot).created();
    let date = slot[..10].to_string();
    let mut closed = all_day_schedule(60, 5);
    closed["exceptions"] = json!([{"date": date, "closed": true}]);
    let resp = app.set_schedule(&owner, &store, &closed);
    resp.expect_status(200);
    let body = resp.json();
    assert_eq!(body["exceptions"][0]["date"], date.as_str());
    assert!(
        body["affected_bookings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == booking.id.as_str()),
        "{body}"
    );
    let kept = app.booking(&shopper, &booking);
    assert_eq!(kept.json()["status"], "confirmed");
    assert!(app.slots_on(&store, &date).is_empty());
}

/// A store open around the clock always has a current slot, whatever the day and hour. The
/// slot can end between two reads (hourly slots: at most once in a few seconds), so a round
/// that saw it end is repeated on a fresh store; it asserts what it saw either way.
#[blackbox]
fn occupancy_shows_the_current_slot() {
    let app = TestApp::shared();
    let owner = app.owner("occ-owner");
    let judged = (0..2).any(|_| occupancy_round(&app, &owner));
    assert!(judged, "the current slot ended in two rounds in a row");

    let closed_owner = app.owner("occ-closed");
    let weekly: Vec<Value> = vec![];
    let never_open = json!({"slot_minutes": 60, "capacity": 5, "horizon_days": 7, "max_active_bookings_per_user": 1,
        "weekly": weekly, "exceptions": []});
    let closed_store = app.store(&closed_owner, "Europe/Berlin", &never_open);
    assert_eq!(
        app.occupancy(&closed_store).json(),
        json!({"slot_start": null, "capacity": 0, "booked": 0, "checked_in": 0, "fill_status": "green"})
    );
}

/// Fills the current slot of a fresh all-day store to 60 % (yellow) and 90 % (red); false
/// when the slot ended on the way (what was seen up to then is asserted).
fn occupancy_round(app: &TestApp, owner: &TestUser) -> bool {
    let store = app.store_open_all_day(owner, 60, 10);
    let occupancy = || app.occupancy(&store).json();
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
        let shopper = app.guest();
        let resp = app.book_party(&shopper, &store, &current, party);
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

/// `pred` for [`TestApp::my_bookings_eventually`]: the list has `n` items.
fn items(n: usize) -> impl Fn(&Value) -> bool {
    move |v| v["items"].as_array().is_some_and(|i| i.len() == n)
}

#[blackbox]
fn my_bookings_come_from_the_index() {
    let app = TestApp::shared();
    let owner = app.owner("index-owner");
    let store_a = app.store_open_all_day(&owner, 60, 5);
    let store_b = app.store_open_all_day(&owner, 60, 5);
    let shopper = app.guest();
    let a = app
        .book(&shopper, &store_a, &app.slot(&store_a, 2, 9))
        .created();
    let b = app
        .book(&shopper, &store_b, &app.slot(&store_b, 3, 9))
        .created();
    // The index trails the stores by design: poll until it has both.
    let listed = app.my_bookings_eventually(&shopper, "upcoming", items(2));
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(ids, [a.id.as_str(), b.id.as_str()], "{listed}");
    app.cancel(&shopper, &a).expect_status(204);
    let past = app.my_bookings_eventually(&shopper, "past", items(1));
    assert_eq!(past["items"][0]["status"], "cancelled", "{past}");
    app.my_bookings(&shopper, "later")
        .expect_problem(422, "validation-failed");
}

#[blackbox]
fn bookings_and_index_survive_a_restart() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let vars = [("JWT_SECRET", TEST_JWT_SECRET)];
    let first = Server::start(&state, &vars);
    let app = TestApp::on(&first);
    let owner = app.owner("restart-owner");
    let store = app.store_open_all_day(&owner, 60, 1);
    let slot = app.slot(&store, 2, 9);
    let shopper = app.guest();
    let booking = app.book(&shopper, &store, &slot).created();
    app.my_bookings_eventually(&shopper, "upcoming", items(1));
    first.stop();

    let second = Server::start(&state, &vars);
    let app = TestApp::on(&second);
    let token = app.guest_login(&shopper.device).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.booked_in(&store, &slot), 1);
    let other = app.guest();
    app.book(&other, &store, &slot)
        .expect_problem(409, "slot-full");
    let listed = app.client(&token).get("/api/v1/me/bookings").json();
    assert_eq!(listed["items"][0]["id"], booking["id"], "{listed}");
    second.stop();
}

#[blackbox]
fn erasure_cancels_future_bookings() {
    let app = TestApp::shared();
    let owner = app.owner("erase-owner");
    let store = app.store_open_all_day(&owner, 60, 3);
    let customer = app.shopper("erase-customer");
    let slot = app.slot(&store, 2, 15);
    let booking = app.book_party(&customer, &store, &slot, 2).created();
    app.my_bookings_eventually(&customer, "upcoming", items(1));
    assert_eq!(app.booked_in(&store, &slot), 2);

    app.erase(&customer).expect_status(204);

    assert_eq!(
        app.booked_in(&store, &slot),
        0,
        "the erased user's future booking is cancelled"
    );
    let seen = app.booking(&owner, &booking);
    seen.expect_status(200);
    assert_eq!(seen.json()["status"], "cancelled");
}

/// Booking, listing and occupancy do not read the store from D1: the store's object answers in
/// the zone it recorded. A zone changed by PATCH must reach them at once, and stores that do
/// not exist, or whose object has never been used, must still answer as before.
#[blackbox]
fn zone_changes_reach_the_paths_that_skip_d1() {
    let app = TestApp::shared();
    let owner = app.owner("zone-owner");
    let shopper = app.guest();
    let mut schedule = all_day_schedule(60, 5);
    schedule["weekly"] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "open": "09:00", "close": "17:00"}))
        .collect();
    let store = app.store(&owner, "UTC", &schedule);
    let date = utc_date_in(3);
    app.book(&shopper, &store, &format!("{date}T09:00:00Z"))
        .expect_status(201);
    assert_eq!(
        app.slots_on(&store, &date)[0]["start"],
        format!("{date}T09:00:00Z")
    );

    app.client(&owner)
        .patch(&store.path(""), &json!({"timezone": "Asia/Tokyo"}))
        .expect_status(200);
    let slots = app.slots_on(&store, &date);
    assert_eq!(slots.len(), 8);
    assert_eq!(slots[0]["start"], format!("{date}T00:00:00Z"));
    assert_eq!(slots[0]["local_start"], format!("{date}T09:00:00+09:00"));
    app.book(&shopper, &store, &format!("{date}T00:00:00Z"))
        .expect_status(201);
    // 16:00 UTC is 01:00 in Tokyo, when the store is closed.
    app.book(&shopper, &store, &format!("{date}T16:00:00Z"))
        .expect_problem(422, "slot-not-offered");
    app.occupancy(&store).expect_status(200);

    let nowhere = Store {
        id: "00000000-0000-4000-8000-00000000beef".to_string(),
    };
    app.api()
        .get(&nowhere.path(&format!("/slots?from={date}&to={date}")))
        .expect_problem(404, "not-found");
    app.occupancy(&nowhere).expect_problem(404, "not-found");

    // A new store's object has recorded nothing yet: the first call falls back to D1.
    let fresh = app.store_without_schedule(&owner, "Europe/Berlin");
    app.book(&shopper, &fresh, &format!("{date}T09:00:00Z"))
        .expect_problem(422, "slot-not-offered");
    let fresh = app.store_without_schedule(&owner, "Europe/Berlin");
    let listing = app
        .api()
        .get(&fresh.path(&format!("/slots?from={date}&to={date}")));
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
fn slot_at_local(app: &TestApp, store: &Store, date: &str, hh_mm: &str) -> Value {
    let wall = format!("{date}T{hh_mm}:00");
    app.slots_on(store, date)
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
    let app = TestApp::shared();
    let owner = app.owner("overlap-owner");
    let store = app.store_open_all_day(&owner, 30, 2);
    let date = utc_date_in(4);
    let half_past = slot_at_local(&app, &store, &date, "10:30");
    let half_past = half_past["start"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let shopper = app.guest();
        app.book(&shopper, &store, &half_past).expect_status(201);
    }

    app.set_schedule(&owner, &store, &all_day_schedule(60, 2))
        .expect_status(200);

    // 10:00-11:00 holds the two people of 10:30-11:00.
    let ten = slot_at_local(&app, &store, &date, "10:00");
    assert_eq!(
        (&ten["booked"], &ten["available"]),
        (&json!(2), &json!(0)),
        "{ten}"
    );
    let late = app.guest();
    app.book(&late, &store, ten["start"].as_str().unwrap())
        .expect_problem(409, "slot-full");
    // The neighbours only touch it.
    for free in ["09:00", "11:00"] {
        let slot = slot_at_local(&app, &store, &date, free);
        assert_eq!(slot["booked"], 0, "{slot}");
    }
    let eleven = slot_at_local(&app, &store, &date, "11:00");
    app.book_party(&late, &store, eleven["start"].as_str().unwrap(), 2)
        .expect_status(201);

    // Occupancy counts the same way: an hour booked now, then half-hour slots.
    let occ_owner = app.owner("overlap-occ");
    let occ_store = app.store_open_all_day(&occ_owner, 60, 10);
    let hour = app.occupancy(&occ_store).json();
    let hour_start = hour["slot_start"].as_str().unwrap().to_string();
    let now_shopper = app.guest();
    app.book_party(&now_shopper, &occ_store, &hour_start, 3)
        .expect_status(201);
    app.set_schedule(&occ_owner, &occ_store, &all_day_schedule(30, 10))
        .expect_status(200);
    let half = app.occupancy(&occ_store).json();
    // Either half of the booked hour (Berlin's offsets are whole hours, so the hour's slots
    // share its UTC date and hour); a test running across the hour judges nothing.
    let current = half["slot_start"].as_str().unwrap_or_default();
    if current.get(..13) == hour_start.get(..13) {
        assert_eq!(half["booked"], 3, "{half}");
    }
}

#[blackbox]
fn capacity_cut_keeps_bookings_and_refuses_new_ones() {
    let app = TestApp::shared();
    let owner = app.owner("cut-owner");
    let store = app.store_open_all_day(&owner, 60, 10);
    let date = utc_date_in(5);
    let slot = slot_at_local(&app, &store, &date, "12:00");
    let slot = slot["start"].as_str().unwrap().to_string();
    let mut kept = Vec::new();
    for _ in 0..3 {
        let shopper = app.guest();
        let booking = app.book(&shopper, &store, &slot).created();
        kept.push((shopper, booking));
    }

    app.set_schedule(&owner, &store, &all_day_schedule(60, 1))
        .expect_status(200);

    let listed = slot_at_local(&app, &store, &date, "12:00");
    assert_eq!(
        (&listed["capacity"], &listed["booked"], &listed["available"]),
        (&json!(1), &json!(3), &json!(0)),
        "{listed}"
    );
    for (shopper, booking) in &kept {
        let seen = app.booking(shopper, booking).json();
        assert_eq!(seen["status"], "confirmed", "{seen}");
    }
    let newcomer = app.guest();
    app.book(&newcomer, &store, &slot)
        .expect_problem(409, "slot-full");
    // Room again only once all three are gone.
    for (i, (shopper, booking)) in kept.iter().enumerate() {
        if i > 0 {
            app.book(&newcomer, &store, &slot)
                .expect_problem(409, "slot-full");
        }
        app.cancel(shopper, booking).expect_status(204);
    }
    app.book(&newcomer, &store, &slot).expect_status(201);
    assert_eq!(app.booked_in(&store, &slot), 1);
}
