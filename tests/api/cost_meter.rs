//! The cost meter (`COST_METER=1`): every `/api` response reports the billable units it used
//! in `x-cost-meter`, objects' work included; off (the shared server), no header at all.

use std::collections::BTreeMap;

use safemarket_blackbox::{
    all_day_schedule, blackbox, guest, register, server, store_with_schedule, utc_date_in, Api,
    Resp, Server, TEST_JWT_SECRET,
};
use serde_json::json;

use crate::api;

fn units(resp: &Resp) -> BTreeMap<String, f64> {
    let header = resp
        .header("x-cost-meter")
        .unwrap_or_else(|| panic!("no x-cost-meter: {:?}", resp.headers));
    header
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(f64::NAN)))
        .collect()
}

/// A server of its own on fresh state with the meter on and one more var.
fn metered_server(var: (&str, &str)) -> Server {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    Server::start(
        &state,
        &[("JWT_SECRET", TEST_JWT_SECRET), ("COST_METER", "1"), var],
    )
}

#[blackbox]
fn metered_responses_report_their_units() {
    let metered = metered_server(("PUBLIC_RATE_PER_MINUTE", "600"));
    let api = Api::new(&metered.base);
    let owner = register(&api, "meter-owner");
    let store = store_with_schedule(&api, &owner, "UTC", &all_day_schedule(60, 5));
    let (_, token, _) = guest(&api);

    // A booking: the Worker, the public limiter and the store object, the object's SQLite
    // rows, the session's D1 row and KV record.
    let date = utc_date_in(2);
    let booked = api.with_token(&token).post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": format!("{date}T10:00:00Z")}),
    );
    booked.expect_status(201);
    let u = units(&booked);
    assert_eq!(u.get("worker_requests"), Some(&1.0), "{u:?}");
    // The store object and the public read limiter (this route is a write: the write budget
    // is off here, so only the store object).
    assert!(u.get("do_requests").is_some_and(|n| *n >= 1.0), "{u:?}");
    assert!(u.get("do_rows_written").is_some_and(|n| *n >= 1.0), "{u:?}");
    assert!(u.get("d1_rows_read").is_some_and(|n| *n >= 1.0), "{u:?}");
    assert!(u.get("kv_reads").is_some_and(|n| *n >= 1.0), "{u:?}");

    // A read counted by the public limiter: its object request and its stored window.
    let health = api.get("/api/health");
    let h = units(&health);
    assert!(h.get("do_requests").is_some_and(|n| *n >= 1.0), "{h:?}");

    // The outbox alarm's D1 batch arrives later, as background units of that store's next reply.
    let background = units_of_next_flush(&api, &store);
    assert!(
        background
            .get("bg_d1_rows_written")
            .is_some_and(|n| *n >= 1.0),
        "{background:?}"
    );
}

/// The background units `store`'s object reports until one of its index flushes has been
/// reported (its D1 batch wrote the booking index), and in one more reply after that (a reply
/// can come while the flush still waits for the queue): read from the replies of `GET
/// /schedule`, summed. Panics when no flush is reported within 6 s.
fn units_of_next_flush(api: &Api, store: &str) -> BTreeMap<String, f64> {
    let mut sum = BTreeMap::new();
    let add = |sum: &mut BTreeMap<String, f64>| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let next = api.get(&format!("/api/v1/stores/{store}/schedule"));
        for (name, n) in units(&next) {
            if name.starts_with("bg_") {
                *sum.entry(name).or_insert(0.0) += n;
            }
        }
    };
    for _ in 0..20 {
        add(&mut sum);
        if sum.contains_key("bg_d1_rows_written") {
            add(&mut sum);
            return sum;
        }
    }
    panic!("no index flush of {store} was reported: {sum:?}");
}

#[blackbox]
fn events_are_queued_only_for_stores_with_a_webhook_that_subscribes_to_them() {
    let metered = metered_server(("WEBHOOK_ALLOW_LOOPBACK", "1"));
    let api = Api::new(&metered.base);
    let owner = register(&api, "meter-hooks");
    let schedule = all_day_schedule(60, 5);
    let quiet = store_with_schedule(&api, &owner, "UTC", &schedule);
    let hooked = store_with_schedule(&api, &owner, "UTC", &schedule);
    // A receiver nobody listens on: only what is queued is checked here (the delivery and
    // its retries are the notification tests').
    owner
        .api(&api)
        .post(
            &format!("/api/v1/stores/{hooked}/webhooks"),
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["booking.cancelled"]}),
        )
        .expect_status(201);
    let (_, token, _) = guest(&api);
    let shopper = api.with_token(&token);
    let date = utc_date_in(2);
    let book = |store: &str, hour: u32| {
        let booked = shopper.post(
            &format!("/api/v1/stores/{store}/bookings"),
            &json!({"slot_start": format!("{date}T{hour:02}:00:00Z")}),
        );
        booked.expect_status(201);
        booked.json()["id"].as_str().unwrap_or_default().to_string()
    };
    let queued =
        |units: &BTreeMap<String, f64>| units.get("bg_queue_messages").copied().unwrap_or(0.0);

    // No webhook: the booking is indexed, its event is not queued.
    book(&quiet, 10);
    let flushed = units_of_next_flush(&api, &quiet);
    assert_eq!(queued(&flushed), 0.0, "{flushed:?}");

    // A webhook for cancellations only: the creation is not queued, the cancellation is.
    let id = book(&hooked, 11);
    let flushed = units_of_next_flush(&api, &hooked);
    assert_eq!(queued(&flushed), 0.0, "{flushed:?}");
    shopper
        .delete(&format!("/api/v1/stores/{hooked}/bookings/{id}"))
        .expect_status(204);
    let flushed = units_of_next_flush(&api, &hooked);
    assert_eq!(queued(&flushed), 1.0, "{flushed:?}");
}

#[blackbox]
fn unmetered_responses_carry_no_meter() {
    let resp = api().get("/api/health");
    resp.expect_status(200);
    assert!(resp.header("x-cost-meter").is_none(), "{:?}", resp.headers);
}

#[blackbox]
fn a_flush_writes_no_object_row_and_a_restart_carries_nothing_twice_but_the_last_flush() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let vars = [("JWT_SECRET", TEST_JWT_SECRET), ("COST_METER", "1")];
    let first = Server::start(&state, &vars);
    let api = Api::new(&first.base);
    let owner = register(&api, "meter-floor");
    let store = store_with_schedule(&api, &owner, "UTC", &all_day_schedule(60, 5));
    let date = utc_date_in(2);
    // Shoppers signed in first, so that their bookings follow each other closely (one flush).
    let shoppers: Vec<(String, String)> = (0..5)
        .map(|_| {
            let (device, token, _) = guest(&api);
            (device, token)
        })
        .collect();
    let book = |api: &Api, n: usize| {
        api.with_token(&shoppers[n].1)
            .post(
                &format!("/api/v1/stores/{store}/bookings"),
                &json!({"slot_start": format!("{date}T{:02}:00:00Z", 8 + n)}),
            )
            .expect_status(201);
    };
    let written = |units: &BTreeMap<String, f64>, unit: &str| units.get(unit).copied();

    // Three bookings in one flush: each its user's index row in D1, and nothing written in
    // the object (the floor of carried creations moves on in memory).
    for n in 0..3 {
        book(&api, n);
    }
    let flushed = units_of_next_flush(&api, &store);
    assert_eq!(
        written(&flushed, "bg_d1_rows_written"),
        Some(3.0),
        "{flushed:?}"
    );
    assert_eq!(written(&flushed, "bg_do_rows_written"), None, "{flushed:?}");
    // One more: the next flush carries it alone, not the three again.
    book(&api, 3);
    let flushed = units_of_next_flush(&api, &store);
    assert_eq!(
        written(&flushed, "bg_d1_rows_written"),
        Some(1.0),
        "{flushed:?}"
    );
    first.stop();

    // A new instance starts from the floor the newest booking's row recorded (3): it
    // carries the fourth booking once more, and the one booked next alone.
    let second = Server::start(&state, &vars);
    let api = Api::new(&second.base);
    let flushed = units_of_next_flush(&api, &store);
    assert_eq!(
        written(&flushed, "bg_d1_rows_written"),
        Some(1.0),
        "{flushed:?}"
    );
    book(&api, 4);
    let flushed = units_of_next_flush(&api, &store);
    assert_eq!(
        written(&flushed, "bg_d1_rows_written"),
        Some(1.0),
        "{flushed:?}"
    );
    // Every shopper's booking is in the index, once.
    for (device, _) in &shoppers {
        let login = api.post("/api/v1/auth/guest", &json!({"device_id": device}));
        let token = login.json()["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let listed = api.with_token(&token).get("/api/v1/me/bookings").json();
        assert_eq!(
            listed["items"].as_array().map(Vec::len),
            Some(1),
            "{listed}"
        );
    }
    second.stop();
}

#[blackbox]
fn a_cancellation_writes_its_row_and_its_outbox_row_alone() {
    let metered = metered_server(("PUBLIC_RATE_PER_MINUTE", "6000"));
    let api = Api::new(&metered.base);
    let owner = register(&api, "meter-cancel");
    let store = store_with_schedule(&api, &owner, "UTC", &all_day_schedule(60, 5));
    let (_, token, _) = guest(&api);
    let shopper = api.with_token(&token);
    let date = utc_date_in(2);
    let booked = shopper.post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": format!("{date}T10:00:00Z")}),
    );
    booked.expect_status(201);
    let id = booked.json()["id"].as_str().unwrap_or_default().to_string();
    // Carried first, so the cancellation need not queue the creation too.
    units_of_next_flush(&api, &store);
    let cancelled = shopper.delete(&format!("/api/v1/stores/{store}/bookings/{id}"));
    cancelled.expect_status(204);
    // The row's new status and the change's outbox row: no index entry (neither index holds
    // the status, and the update sets only what changed).
    let u = units(&cancelled);
    assert_eq!(u.get("do_rows_written"), Some(&2.0), "{u:?}");
    let listed = api
        .get(&format!(
            "/api/v1/stores/{store}/slots?from={date}&to={date}"
        ))
        .json();
    let slot = listed["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["start"] == format!("{date}T10:00:00Z"))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(slot["booked"], 0, "{slot}");
}
