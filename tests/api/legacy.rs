//! The legacy customer app's calls, replayed in the order a user makes them, on the same
//! stores and inventories as the v1 API.

use safemarket_blackbox::{
    all_day_schedule, berlin_local, berlin_utc, blackbox, guest, in_parallel, register, slots_on,
    utc_date_in, Api, TestUser,
};
use serde_json::json;

use crate::api;

/// A bakery at a random spot (so parallel tests never see each other's stores) with an
/// all-day schedule; returns (store id, legacy id, latitude, longitude).
fn bakery(api: &Api, owner: &TestUser, capacity: u32) -> (String, i64, f64, f64) {
    let n = uuid::Uuid::new_v4().as_u128();
    let lat = 40.0 + (n % 10_000) as f64 / 1000.0;
    let lon = -5.0 + ((n >> 20) % 10_000) as f64 / 1000.0;
    let created = owner.api(api).post(
        "/api/v1/stores",
        &json!({"name": "Legacy Bakery", "category": "bakery", "address": "Backstraße 1, Berlin",
                "latitude": lat, "longitude": lon, "timezone": "Europe/Berlin"}),
    );
    created.expect_status(201);
    let body = created.json();
    let id = body["id"].as_str().unwrap().to_string();
    owner
        .api(api)
        .put(
            &format!("/api/v1/stores/{id}/schedule"),
            &all_day_schedule(30, capacity),
        )
        .expect_status(200);
    (id, body["legacy_id"].as_i64().expect("legacy_id"), lat, lon)
}

fn reserve(api: &Api, legacy_id: i64, date_time: &str, device: &str) -> safemarket_blackbox::Resp {
    api.request(
        "POST",
        &format!(
            "/api/Reservation/Reserve?locationId={legacy_id}&dateTime={}&deviceId={device}",
            date_time.replace(' ', "%20")
        ),
        &[],
        None,
    )
}

fn booked_at(api: &Api, store: &str, date: &str, local_start: &str) -> u64 {
    slots_on(api, store, date)
        .into_iter()
        .find(|s| s["local_start"] == local_start)
        .and_then(|s| s["booked"].as_u64())
        .unwrap_or_else(|| panic!("no slot at {local_start}"))
}

#[blackbox]
fn app_session_search_open_reserve_list_cancel() {
    let api = api();
    let owner = register(&api, "legacy-owner");
    let (store, legacy_id, lat, lon) = bakery(&api, &owner, 5);
    let device = format!("dev-{}", uuid::Uuid::new_v4().simple());

    // Search nearby.
    let found = api.get(&format!(
        "/api/Location/SearchRegistered?type=bakery&longitude={lon}&latitude={lat}&radiusInMeters=500"
    ));
    found.expect_status(200);
    let locations = found.json()["locations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert_eq!(locations[0]["id"], legacy_id);

    // Open the store.
    let loc = api.get(&format!("/api/Location/{legacy_id}"));
    loc.expect_status(200);
    let loc = loc.json();
    for field in [
        "name",
        "fillStatus",
        "capacity",
        "slotDuration",
        "slotSize",
        "openings",
        "address",
        "placesId",
        "latitude",
        "longitude",
    ] {
        assert!(loc.get(field).is_some(), "missing {field}: {loc}");
    }
    assert_eq!(
        (
            loc["slotDuration"].as_u64(),
            loc["slotSize"].as_u64(),
            loc["fillStatus"].as_u64()
        ),
        (Some(30), Some(5), Some(2))
    );
    let openings = loc["openings"].as_array().unwrap();
    assert_eq!(openings.len(), 7);
    assert_eq!(openings[0]["openingDays"], "Monday");
    assert!(openings[0]["openingTime"]
        .as_str()
        .unwrap()
        .contains("T00:00:00"));

    // The slot grid for a day (the app asks from a start time to closing).
    let day = utc_date_in(2);
    let grid = api.get(&format!(
        "/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime={day}T20:00:00&slotSizeInMinutes=30"
    ));
    grid.expect_status(200);
    let items = grid.json()["items"].as_array().cloned().unwrap();
    assert_eq!(items.len(), 8, "20:00 to 24:00 in 30-minute steps");
    assert_eq!(items[0]["registrationCount"], 0);

    // Reserve 10:15 -> the 10:00 slot.
    let reserved = reserve(&api, legacy_id, &format!("{day}T10:15:00"), &device);
    reserved.expect_status(200);
    let tokens = reserved.json();
    let code = tokens["humanReadableToken"].as_str().unwrap().to_string();
    assert!(code.len() >= 6);
    assert!(tokens["reservationToken"].is_string());
    let local = berlin_local(&day, "10:00");
    assert_eq!(
        booked_at(&api, &store, &day, &local),
        1,
        "visible in the v1 listing"
    );
    let staff_day = owner
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/bookings?date={day}"))
        .json();
    assert!(
        staff_day["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == code.as_str()),
        "{staff_day}"
    );
    let grid = api.get(&format!(
        "/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime={day}T10:00:00&slotSizeInMinutes=60"
    ));
    assert_eq!(grid.json()["items"][0]["registrationCount"], 1);

    // List my reservations.
    let listed = api.get(&format!(
        "/api/Reservation/ReservationsByDevice?deviceId={device}&minDate={day}%2000:00:00.000"
    ));
    listed.expect_status(200);
    let reservations = listed.json()["reservations"].as_array().cloned().unwrap();
    assert_eq!(reservations.len(), 1, "{reservations:?}");
    let r = &reservations[0];
    assert_eq!(r["startTime"], local.as_str());
    assert_eq!(r["deviceId"], device.as_str());
    assert_eq!(r["location"]["id"], legacy_id);
    let number = r["id"].as_i64().expect("integer reservation id");

    // Another device cannot cancel it; the owner device can.
    let revoke = |dev: &str| {
        api.request(
            "DELETE",
            &format!("/api/Reservation/RevokeSpecificReservation?deviceId={dev}&locationId={legacy_id}&reservationId={number}"),
            &[],
            None,
        )
    };
    assert_eq!(revoke("someone-else").status, 404);
    assert_eq!(booked_at(&api, &store, &day, &local), 1);
    let done = revoke(&device);
    done.expect_status(200);
    assert!(done.text.is_empty());
    assert_eq!(booked_at(&api, &store, &day, &local), 0);
    let after = api.get(&format!(
        "/api/Reservation/ReservationsByDevice?deviceId={device}&minDate={day}%2000:00:00.000"
    ));
    assert_eq!(after.json()["reservations"], json!([]));
}

#[blackbox]
fn legacy_and_v1_bookings_share_capacity() {
    let api = api();
    let owner = register(&api, "legacy-race");
    let (store, legacy_id, _, _) = bakery(&api, &owner, 5);
    let day = utc_date_in(3);
    // The v1 half books the same 12:00 slot the legacy half asks for with 12:10.
    let slot_utc = berlin_utc(&day, "12:00");
    let tokens: Vec<String> = {
        let api = api.clone();
        in_parallel(20, move |_| guest(&api).1)
    };
    let (a, s, d) = (api.clone(), store.clone(), day.clone());
    let results = in_parallel(40, move |i| {
        if i % 2 == 0 {
            reserve(
                &a,
                legacy_id,
                &format!("{d}T12:10:00"),
                &format!("race-{i}-{}", uuid::Uuid::new_v4().simple()),
            )
            .status
        } else {
            a.with_token(&tokens[i / 2])
                .post(
                    &format!("/api/v1/stores/{s}/bookings"),
                    &json!({"slot_start": slot_utc}),
                )
                .status
        }
    });
    let ok = results.iter().filter(|s| **s == 200 || **s == 201).count();
    assert_eq!(ok, 5, "{results:?}");
    assert!(
        results.iter().all(|s| [200, 201, 400, 409].contains(s)),
        "{results:?}"
    );
    assert_eq!(
        booked_at(&api, &store, &day, &berlin_local(&day, "12:00")),
        5
    );
    // Full now: the legacy surface answers 400.
    reserve(&api, legacy_id, &format!("{day}T12:00:00"), "late-device").expect_status(400);
}

#[blackbox]
fn bad_parameters_answer_400() {
    let api = api();
    let owner = register(&api, "legacy-bad");
    let (_, legacy_id, _, _) = bakery(&api, &owner, 5);
    let day = utc_date_in(2);
    for path in [
        format!("/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime={day}T10:00:00&slotSizeInMinutes=0"),
        format!("/api/Location/GetReservationPerSlot?locationId=999999999&startTime={day}T10:00:00&slotSizeInMinutes=30"),
        format!("/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime=garbage&slotSizeInMinutes=30"),
        "/api/Location/SearchRegistered?type=bakery&longitude=13.4&latitude=95&radiusInMeters=100".to_string(),
        "/api/Location/SearchRegistered?type=butcher&longitude=13.4&latitude=52.5&radiusInMeters=100".to_string(),
        "/api/Location/SearchRegistered?type=bakery&longitude=13.4&latitude=52.5".to_string(),
        "/api/Reservation/ReservationsByDevice?minDate=2026-12-01%2008:00:00.000".to_string(),
        "/api/Reservation/ReservationsByDevice?deviceId=abc&minDate=yesterday".to_string(),
    ] {
        assert_eq!(api.get(&path).status, 400, "{path}");
    }
    reserve(&api, legacy_id, "not-a-time", "dev-1").expect_status(400);
    reserve(&api, legacy_id, "2020-01-01T10:00:00", "dev-1").expect_status(400);
    assert_eq!(
        reserve(&api, 999_999_999, &format!("{day}T10:00:00"), "dev-1").status,
        404
    );
    assert_eq!(api.get("/api/Location/999999999").status, 404);
    assert_eq!(api.get("/api/Location/abc").status, 404);
    let no_device = api.request(
        "POST",
        &format!("/api/Reservation/Reserve?locationId={legacy_id}&dateTime={day}T10:00:00"),
        &[],
        None,
    );
    assert_eq!(no_device.status, 400);
    let revoke = api.request(
        "DELETE",
        "/api/Reservation/RevokeSpecificReservation?deviceId=x&locationId=1&reservationId=zero",
        &[],
        None,
    );
    assert_eq!(revoke.status, 400);
}

#[blackbox]
fn all_three_time_spellings_are_accepted() {
    let api = api();
    let owner = register(&api, "legacy-times");
    let (store, legacy_id, _, _) = bakery(&api, &owner, 5);
    let day = utc_date_in(4);
    for (spelling, device) in [
        (format!("{day}T09:05:00"), "t-a"),
        (format!("{day}T09:10:00.123456"), "t-b"),
        (format!("{day} 09:20:00.000"), "t-c"),
    ] {
        let device = format!("{device}-{}", uuid::Uuid::new_v4().simple());
        reserve(&api, legacy_id, &spelling, &device).expect_status(200);
    }
    assert_eq!(
        booked_at(&api, &store, &day, &berlin_local(&day, "09:00")),
        3
    );
}
