//! Hostile and unlucky input: extreme dates, times and numbers on every route that parses
//! them. Each must answer a 4xx problem (never a 5xx, never a hang until the runtime gives up).

use safemarket_blackbox::{
    all_day_schedule, blackbox, future_slot, register, store_with_schedule, utc_date_in, Api, Resp,
};
use serde_json::{json, Value};

use crate::api;

/// Instants outside 1970..=9999 in the spellings clients could send (query strings need `+`
/// as `%2B`; a raw `+` reads as a space and must be refused too).
const EXTREME_INSTANTS: &[&str] = &[
    "%2B262142-12-31T10:00:00Z",
    "+262142-12-31T10:00:00Z",
    "-262143-01-01T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "10000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
];

/// The same instants as the legacy app spells them (offset-less local times).
const EXTREME_LOCAL_TIMES: &[&str] = &[
    "%2B262142-12-31T10:00:00",
    "+262142-12-31T10:00:00",
    "-262143-01-01T00:00:00",
    "0000-01-01T00:00:00",
    "1969-12-31T23:00:00",
    "%2B262142-12-31%2010:00:00.000",
    "99999-12-31T23:59:59.999999999",
];

/// Dates outside 1970..=9999.
const EXTREME_DATES: &[&str] = &[
    "%2B262142-12-31",
    "-262143-01-01",
    "0000-01-01",
    "1969-12-31",
    "10000-01-01",
];

#[track_caller]
fn refused(resp: &Resp, what: &str) {
    assert!(
        (400..500).contains(&resp.status),
        "{what}: expected a 4xx, got {} {}",
        resp.status,
        resp.text
    );
    assert!(
        resp.header("content-type")
            .is_some_and(|t| t.starts_with("application/problem+json")),
        "{what}: not a problem: {:?}",
        resp.headers
    );
}

#[track_caller]
fn answered(resp: &Resp, what: &str) {
    assert!(resp.status < 500, "{what}: {} {}", resp.status, resp.text);
}

fn get(api: &Api, path: &str) -> Resp {
    api.request("GET", path, &[], None)
}

#[blackbox]
fn extreme_times_on_the_v1_routes_are_refused() {
    let api = api();
    let owner = register(&api, "hostile-v1");
    let staff = owner.api(&api);
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(30, 5));
    let shopper = register(&api, "hostile-shopper").api(&api);
    let booked = shopper.post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": future_slot(&api, &store, 1, 2)}),
    );
    booked.expect_status(201);
    let booking = booked.json()["id"].as_str().unwrap_or_default().to_string();
    let today = utc_date_in(0);

    for date in EXTREME_DATES {
        refused(
            &get(
                &api,
                &format!("/api/v1/stores/{store}/slots?from={date}&to={date}"),
            ),
            &format!("slots from {date}"),
        );
        refused(
            &get(
                &api,
                &format!("/api/v1/stores/{store}/slots?from={today}&to={date}"),
            ),
            &format!("slots to {date}"),
        );
        refused(
            &get(
                &staff,
                &format!("/api/v1/stores/{store}/bookings?date={date}"),
            ),
            &format!("day list {date}"),
        );
        let mut schedule = all_day_schedule(30, 5);
        schedule["exceptions"] = json!([{"date": date.replace("%2B", "+"), "closed": true}]);
        refused(
            &staff.put(&format!("/api/v1/stores/{store}/schedule"), &schedule),
            &format!("schedule exception {date}"),
        );
    }
    // The last supported day lists and can be named in a schedule.
    let last = get(
        &api,
        &format!("/api/v1/stores/{store}/slots?from=9999-12-31&to=9999-12-31"),
    );
    last.expect_status(200);
    assert_eq!(last.json()["items"].as_array().map(Vec::len), Some(48));
    let mut schedule = all_day_schedule(30, 5);
    schedule["exceptions"] = json!([{"date": "9999-12-31", "closed": true}]);
    staff
        .put(&format!("/api/v1/stores/{store}/schedule"), &schedule)
        .expect_status(200);

    for instant in EXTREME_INSTANTS {
        let raw = instant.replace("%2B", "+");
        refused(
            &shopper.post(
                &format!("/api/v1/stores/{store}/bookings"),
                &json!({"slot_start": raw}),
            ),
            &format!("book {raw}"),
        );
        refused(
            &shopper.post(
                &format!("/api/v1/stores/{store}/bookings/{booking}/reschedule"),
                &json!({"slot_start": raw}),
            ),
            &format!("reschedule to {raw}"),
        );
    }
    // Inside the range but far beyond the horizon (a slot of 9999-12-30, since the last day
    // is now closed): refused by the engine, not by a panic.
    shopper
        .post(
            &format!("/api/v1/stores/{store}/bookings"),
            &json!({"slot_start": "9999-12-30T22:30:00Z"}),
        )
        .expect_problem(422, "beyond-horizon");
}

#[blackbox]
fn extreme_times_on_the_legacy_routes_are_refused() {
    let api = api();
    let owner = register(&api, "hostile-legacy");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(30, 5));
    let legacy_id = api.get(&format!("/api/v1/stores/{store}")).json()["legacy_id"]
        .as_i64()
        .expect("legacy_id");
    let device = format!("hostile-{}", uuid::Uuid::new_v4());
    for time in EXTREME_LOCAL_TIMES.iter().chain(EXTREME_INSTANTS) {
        refused(
            &get(
                &api,
                &format!(
                    "/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime={time}&slotSizeInMinutes=30"
                ),
            ),
            &format!("GetReservationPerSlot {time}"),
        );
        refused(
            &api.request(
                "POST",
                &format!(
                    "/api/Reservation/Reserve?locationId={legacy_id}&dateTime={time}&deviceId={device}"
                ),
                &[],
                None,
            ),
            &format!("Reserve {time}"),
        );
        refused(
            &get(
                &api,
                &format!("/api/Reservation/ReservationsByDevice?deviceId={device}&minDate={time}"),
            ),
            &format!("ReservationsByDevice {time}"),
        );
    }
    // The last supported minute with the smallest and the largest step: answered, bounded.
    for step in ["1", "1440"] {
        let resp = get(
            &api,
            &format!(
                "/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime=9999-12-31T23:59:00&slotSizeInMinutes={step}"
            ),
        );
        resp.expect_status(200);
        let items = resp.json()["items"].as_array().map(Vec::len).unwrap_or(0);
        assert!((1..=1440).contains(&items), "{step}: {items} windows");
    }
    for step in [
        "0",
        "-5",
        "1441",
        "9223372036854775807",
        "99999999999999999999",
        "1e9",
        "NaN",
    ] {
        refused(
            &get(
                &api,
                &format!(
                    "/api/Location/GetReservationPerSlot?locationId={legacy_id}&startTime=2030-01-01T10:00:00&slotSizeInMinutes={step}"
                ),
            ),
            &format!("slotSizeInMinutes {step}"),
        );
    }
    for id in ["0", "-1", "9223372036854775807", "99999999999999999999"] {
        answered(
            &get(&api, &format!("/api/Location/{id}")),
            &format!("Location {id}"),
        );
        refused(
            &get(
                &api,
                &format!(
                    "/api/Location/GetReservationPerSlot?locationId={id}&startTime=2030-01-01T10:00:00&slotSizeInMinutes=30"
                ),
            ),
            &format!("locationId {id}"),
        );
    }
}

#[blackbox]
fn extreme_numbers_are_refused() {
    let api = api();
    let owner = register(&api, "hostile-numbers");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(30, 5));
    let shopper = register(&api, "hostile-numbers-shopper").api(&api);
    let slot = future_slot(&api, &store, 1, 4);
    let huge: Value = serde_json::from_str("1e308").unwrap_or(Value::Null);
    for party in [
        json!(0),
        json!(-1),
        json!(10_001),
        json!(i64::MAX),
        json!(u64::MAX),
        huge.clone(),
        json!(1.5),
        json!("2"),
    ] {
        refused(
            &shopper.post(
                &format!("/api/v1/stores/{store}/bookings"),
                &json!({"slot_start": slot, "party_size": party}),
            ),
            &format!("party_size {party}"),
        );
    }
    for (lat, lon, radius) in [
        ("1e308", "0", "100"),
        ("NaN", "0", "100"),
        ("52.5", "inf", "100"),
        ("52.5", "13.4", "1e308"),
        ("52.5", "13.4", "-1"),
        ("52.5", "13.4", "99999999999999999999"),
    ] {
        refused(
            &get(
                &api,
                &format!("/api/v1/stores?lat={lat}&lon={lon}&radius_m={radius}"),
            ),
            &format!("search {lat},{lon},{radius}"),
        );
        refused(
            &get(
                &api,
                &format!(
                    "/api/Location/SearchRegistered?type=bakery&latitude={lat}&longitude={lon}&radiusInMeters={radius}"
                ),
            ),
            &format!("legacy search {lat},{lon},{radius}"),
        );
    }
    for limit in ["0", "-1", "201", "99999999999999999999", "abc"] {
        refused(
            &get(
                &api,
                &format!("/api/v1/stores?lat=52.5&lon=13.4&radius_m=100&limit={limit}"),
            ),
            &format!("limit {limit}"),
        );
    }
    let mut schedule = all_day_schedule(30, 5);
    for (field, value) in [
        ("slot_minutes", json!(i64::MAX)),
        ("capacity", json!(u64::MAX)),
        ("horizon_days", huge.clone()),
        ("max_active_bookings_per_user", json!(-1)),
    ] {
        schedule[field] = value.clone();
        refused(
            &owner
                .api(&api)
                .put(&format!("/api/v1/stores/{store}/schedule"), &schedule),
            &format!("schedule {field} {value}"),
        );
        schedule = all_day_schedule(30, 5);
    }
}
