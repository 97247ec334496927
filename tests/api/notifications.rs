//! Notifications out: signed webhooks delivered through the queue to a real receiver on
//! loopback (signature checked with an independent HMAC, retries with the same id, event
//! filter, deletion, target refusals, owner-only management), reminders, the calendar feed
//! read back by an iCalendar parser, and the door's QR code read back by a QR decoder.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use safemarket_blackbox::qr;
use safemarket_blackbox::receiver::{Received, Receiver};
use safemarket_blackbox::{blackbox, utc_date_in, Caller, Store, TestApp, TestUser};
use serde_json::{json, Value};
use sha2::Sha256;

/// The contract: the first try within 5 s of the change (plus the test's polling slack).
const FIRST_TRY: Duration = Duration::from_secs(6);

fn create_webhook(
    app: &TestApp,
    owner: &TestUser,
    store: &Store,
    url: &str,
    events: &[&str],
) -> Value {
    let resp = app.client(owner).post(
        &store.path("/webhooks"),
        &json!({"url": url, "events": events}),
    );
    resp.expect_status(201);
    resp.json()
}

/// Checks the Standard Webhooks signature of `r` with `secret`, computed here from scratch.
#[track_caller]
fn assert_signed(r: &Received, secret: &str) {
    let id = r.header("webhook-id").expect("webhook-id");
    let ts = r.header("webhook-timestamp").expect("webhook-timestamp");
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("webhook-signature"), Some(expected.as_str()));
    let ts: i64 = ts.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    assert!((now - ts).abs() < 120, "timestamp {ts} vs now {now}");
    assert_eq!(r.header("content-type"), Some("application/json"));
}

fn types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[blackbox]
fn deliveries_are_signed_filtered_and_logged() {
    let app = TestApp::shared();
    let owner = app.owner("hook-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let receiver = Receiver::start(&[]);
    let hook = create_webhook(
        &app,
        &owner,
        &store,
        &receiver.url,
        &["booking.cancelled", "booking.created"],
    );
    let secret = hook["secret"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        B64.decode(secret.trim_start_matches("whsec_"))
            .map(|k| k.len())
            .ok(),
        Some(32)
    );
    assert_eq!(
        hook["events"],
        json!(["booking.created", "booking.cancelled"])
    );
    let listed = app.client(&owner).get(&store.path("/webhooks")).json();
    assert_eq!(listed["items"][0]["id"], hook["id"]);
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");

    let shopper = app.shopper("hook-shopper");
    let booked_at = Instant::now();
    let booking = app
        .book(&shopper, &store, &app.slot(&store, 2, 20))
        .created();
    let created = receiver.wait_for(1, FIRST_TRY).remove(0);
    assert!(created.at.duration_since(booked_at) < Duration::from_secs(5));
    assert_signed(&created, &secret);
    let body = created.json();
    assert_eq!(body["type"], "booking.created");
    assert_eq!(body["store_id"], store.id.as_str());
    assert_eq!(body["data"]["id"], booking.id.as_str());
    assert_eq!(body["data"]["code"], booking["code"]);
    assert_eq!(created.header("webhook-id"), body["id"].as_str());

    // Not subscribed: the move is no event for this webhook; the cancellation is.
    app.reschedule(&shopper, &booking, &app.slot(&store, 2, 22))
        .expect_status(200);
    app.cancel(&shopper, &booking).expect_status(204);
    let cancelled = receiver.wait_for_type("booking.cancelled", FIRST_TRY);
    assert_signed(&cancelled, &secret);
    assert_eq!(cancelled.json()["data"]["status"], "cancelled");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        types(&receiver.received()),
        ["booking.created", "booking.cancelled"]
    );

    let hook_id = hook["id"].as_str().unwrap_or_default();
    let log = app
        .client(&owner)
        .get(&store.path(&format!("/webhooks/{hook_id}/deliveries?limit=1")))
        .json();
    assert_eq!(log["items"][0]["type"], "booking.cancelled", "{log}");
    assert_eq!(log["items"][0]["status_code"], 200);
    assert_eq!(log["items"][0]["attempt"], 1);
    assert_eq!(log["items"][0]["error"], Value::Null);
    let cursor = log["next_cursor"].as_str().expect("a second page");
    let older = app
        .client(&owner)
        .get(&store.path(&format!("/webhooks/{hook_id}/deliveries?cursor={cursor}")))
        .json();
    assert_eq!(older["items"][0]["type"], "booking.created", "{older}");
    assert_eq!(older["next_cursor"], Value::Null);
}

/// A booking changed at once, before the store's index flush (200 ms) carried it: its
/// `booking.created` still shows it as booked, each later event shows its change, there is
/// one event per change (delivery is unordered and at least once: a flush that overlaps the
/// change may send the creation twice, under one id), and the index ends at its last state.
#[blackbox]
fn a_booking_changed_before_its_flush_is_created_then_changed() {
    let app = TestApp::shared();
    let owner = app.owner("quick-change-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let receiver = Receiver::start(&[]);
    create_webhook(
        &app,
        &owner,
        &store,
        &receiver.url,
        &[
            "booking.created",
            "booking.rescheduled",
            "booking.cancelled",
        ],
    );
    let shopper = app.shopper("quick-change-shopper");
    let (first, second) = (app.slot(&store, 3, 10), app.slot(&store, 3, 12));
    let booking = app.book(&shopper, &store, &first).created();
    app.reschedule(&shopper, &booking, &second)
        .expect_status(200);
    app.cancel(&shopper, &booking).expect_status(204);

    let kinds = [
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ];
    receiver.wait_for(3, FIRST_TRY);
    // Late repeats too.
    std::thread::sleep(Duration::from_secs(1));
    let mut got: Vec<Value> = receiver.received().iter().map(Received::json).collect();
    got.sort_by_key(|b| {
        let kind = kinds.iter().position(|k| b["type"] == *k);
        (kind, b["id"].as_str().unwrap_or_default().to_owned())
    });
    got.dedup_by(|a, b| a["id"] == b["id"]);
    let got_kinds: Vec<&str> = got.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(got_kinds, kinds);
    for body in &got {
        assert_eq!(body["data"]["id"], booking.id.as_str(), "{body}");
    }
    let (created, moved, cancelled) = (&got[0]["data"], &got[1]["data"], &got[2]["data"]);
    assert_eq!(created["status"], "confirmed", "{created}");
    assert_eq!(created["slot_start"], first.as_str(), "{created}");
    assert_eq!(moved["status"], "confirmed", "{moved}");
    assert_eq!(moved["slot_start"], second.as_str(), "{moved}");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    let listed = app.my_bookings_eventually(&shopper, "past", |body| {
        body["items"][0]["status"] == "cancelled"
    });
    assert_eq!(listed["items"][0]["id"], booking.id.as_str(), "{listed}");
    assert_eq!(
        listed["items"][0]["slot_start"],
        second.as_str(),
        "{listed}"
    );
}

#[blackbox]
fn a_failed_delivery_is_retried_with_the_same_id_for_that_webhook_only() {
    let app = TestApp::shared();
    let owner = app.owner("retry-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let flaky = Receiver::start(&[500]);
    let good = Receiver::start(&[]);
    let flaky_hook = create_webhook(&app, &owner, &store, &flaky.url, &["booking.created"]);
    create_webhook(&app, &owner, &store, &good.url, &["booking.created"]);
    let secret = flaky_hook["secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let shopper = app.shopper("retry-shopper");
    app.book(&shopper, &store, &app.slot(&store, 2, 20))
        .created();
    let tries = flaky.wait_for(2, Duration::from_secs(20));
    assert_eq!(tries[0].header("webhook-id"), tries[1].header("webhook-id"));
    assert_eq!(tries[0].body, tries[1].body);
    assert_signed(&tries[1], &secret);
    assert!(tries[1].at.duration_since(tries[0].at) >= Duration::from_secs(4));
    // The good receiver heard it once, with the same event id.
    std::thread::sleep(Duration::from_secs(1));
    let once = good.received();
    assert_eq!(once.len(), 1, "{once:#?}");
    assert_eq!(once[0].header("webhook-id"), tries[0].header("webhook-id"));

    let hook_id = flaky_hook["id"].as_str().unwrap_or_default();
    let log = app
        .client(&owner)
        .get(&store.path(&format!("/webhooks/{hook_id}/deliveries")))
        .json();
    let attempts: Vec<(Value, Value)> = log["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| (i["attempt"].clone(), i["status_code"].clone()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        attempts,
        [(json!(2), json!(200)), (json!(1), json!(500))],
        "{log}"
    );
}

#[blackbox]
fn a_deleted_webhook_gets_no_further_deliveries() {
    let app = TestApp::shared();
    let owner = app.owner("delete-hook-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let failing = Receiver::always(503);
    let hook = create_webhook(&app, &owner, &store, &failing.url, &["booking.created"]);
    let hook_id = hook["id"].as_str().unwrap_or_default();

    let shopper = app.shopper("delete-hook-shopper");
    app.book(&shopper, &store, &app.slot(&store, 2, 20))
        .created();
    failing.wait_for(1, FIRST_TRY);
    app.client(&owner)
        .delete(&store.path(&format!("/webhooks/{hook_id}")))
        .expect_status(204);
    // The retry was due 5 s after the first try: it finds the webhook gone.
    std::thread::sleep(Duration::from_secs(9));
    assert_eq!(failing.received().len(), 1);
    let listed = app.client(&owner).get(&store.path("/webhooks")).json();
    assert_eq!(listed["items"], json!([]));
    app.client(&owner)
        .get(&store.path(&format!("/webhooks/{hook_id}/deliveries")))
        .expect_problem(404, "not-found");
    app.client(&owner)
        .delete(&store.path(&format!("/webhooks/{hook_id}")))
        .expect_problem(404, "not-found");
}

#[blackbox]
fn targets_that_are_not_public_https_are_refused() {
    let app = TestApp::shared();
    let owner = app.owner("ssrf-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let api = app.client(&owner);
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://2130706433/x",
        "https://user:pw@hooks.example.com/x",
        "http://127.0.0.1/no-port",
        "http://localhost:8080/x",
        "file:///etc/passwd",
    ] {
        let problem = api
            .post(
                &store.path("/webhooks"),
                &json!({"url": url, "events": ["booking.created"]}),
            )
            .expect_problem(422, "validation-failed");
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let problem = api
        .post(
            &store.path("/webhooks"),
            &json!({"url": "https://hooks.example.com/x", "events": ["booking.maybe"]}),
        )
        .expect_problem(422, "validation-failed");
    assert_eq!(problem["errors"][0]["field"], "events");
    api.post(
        &store.path("/webhooks"),
        &json!({"url": "https://hooks.example.com/x", "events": []}),
    )
    .expect_problem(422, "validation-failed");
    api.post(&store.path("/webhooks"), &json!({"url": 5}))
        .expect_status(422);
    // A public https target is fine.
    api.post(
        &store.path("/webhooks"),
        &json!({"url": "https://hooks.example.com/x", "events": ["booking.created"]}),
    )
    .expect_status(201);
}

#[blackbox]
fn only_the_owner_manages_webhooks() {
    let app = TestApp::shared();
    let owner = app.owner("hook-policy-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let staff = app.user("hook-policy-staff");
    app.client(&owner)
        .post(
            &store.path("/members"),
            &json!({"email": staff.email, "role": "staff"}),
        )
        .expect_status(201);
    let stranger = app.user("hook-policy-stranger");
    let hook = create_webhook(
        &app,
        &owner,
        &store,
        "https://hooks.example.com/x",
        &["booking.created"],
    );
    let hook_id = hook["id"].as_str().unwrap_or_default();
    let body = json!({"url": "https://hooks.example.com/y", "events": ["booking.created"]});
    for who in [&staff, &stranger] {
        let api = app.client(who);
        api.post(&store.path("/webhooks"), &body)
            .expect_problem(403, "forbidden");
        api.get(&store.path("/webhooks"))
            .expect_problem(403, "forbidden");
        api.delete(&store.path(&format!("/webhooks/{hook_id}")))
            .expect_problem(403, "forbidden");
        api.get(&store.path(&format!("/webhooks/{hook_id}/deliveries")))
            .expect_problem(403, "forbidden");
    }
    app.api().get(&store.path("/webhooks")).expect_status(401);
    // Another store's owner finds no such webhook in their own store.
    let other = app.store_open_all_day(&stranger, 30, 5);
    app.client(&stranger)
        .delete(&other.path(&format!("/webhooks/{hook_id}")))
        .expect_problem(404, "not-found");
    app.client(&owner)
        .get(&format!("/api/v1/stores/{}/webhooks", uuid::Uuid::new_v4()))
        .expect_problem(404, "not-found");
}

/// The start of the first slot of `store` that starts more than 20 s from now.
fn next_slot_start(app: &TestApp, store: &Store) -> String {
    let (from, to) = (utc_date_in(-1), utc_date_in(1));
    let items = app
        .api()
        .get(&store.path(&format!("/slots?from={from}&to={to}")))
        .json();
    let soon = chrono_like_now_plus(20);
    items["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["start"].as_str())
        .find(|start| *start > soon.as_str())
        .map(str::to_string)
        .expect("a slot after now")
}

/// Now plus `secs` as `YYYY-MM-DDTHH:MM:SSZ` (comparable with slot starts as text).
fn chrono_like_now_plus(secs: u64) -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    let unix = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[blackbox]
fn a_booking_whose_slot_starts_within_the_reminder_time_is_reminded_once() {
    let app = TestApp::shared();
    let owner = app.owner("reminder-owner");
    let mut schedule = safemarket_blackbox::all_day_schedule(5, 5);
    schedule["reminder_minutes"] = json!(5);
    let store = app.store(&owner, "Europe/Berlin", &schedule);
    let receiver = Receiver::start(&[]);
    create_webhook(&app, &owner, &store, &receiver.url, &["booking.reminder"]);

    let shopper = app.shopper("reminder-shopper");
    let slot = next_slot_start(&app, &store);
    let booking = app.book(&shopper, &store, &slot).created();
    // The next slot may start up to 20 s after the reminder window's end.
    let reminder = receiver.wait_for_type("booking.reminder", Duration::from_secs(30));
    assert_eq!(reminder.json()["data"]["id"], booking.id.as_str());
    assert_eq!(reminder.json()["data"]["slot_start"], slot.as_str());
    // Later alarms (the cancellation's flush) do not send it again.
    app.cancel(&shopper, &booking).expect_status(204);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(types(&receiver.received()), ["booking.reminder"]);
}

fn feed_path(url: &str) -> String {
    let at = url.find("/api/v1/calendar/").expect("feed path");
    url[at..].to_string()
}

fn parse_feed(text: &str) -> ical::parser::ical::component::IcalCalendar {
    ical::IcalParser::new(text.as_bytes())
        .next()
        .expect("one calendar")
        .expect("a valid iCalendar")
}

fn property<'a>(
    event: &'a ical::parser::ical::component::IcalEvent,
    name: &str,
) -> Option<&'a str> {
    event
        .properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

#[blackbox]
fn the_calendar_feed_lists_bookings_and_dies_when_rotated() {
    let app = TestApp::shared();
    let owner = app.owner("feed-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let shopper = app.shopper("feed-shopper");
    let kept = app
        .book(&shopper, &store, &app.slot(&store, 2, 20))
        .created();
    let dropped = app
        .book(&shopper, &store, &app.slot(&store, 3, 20))
        .created();
    app.cancel(&shopper, &dropped).expect_status(204);

    let url = app
        .client(&shopper)
        .post("/api/v1/me/calendar-feed", &json!({}));
    url.expect_status(201);
    let path = feed_path(url.json()["url"].as_str().unwrap_or_default());
    // The feed reads the D1 index, which trails the object by a moment.
    let started = Instant::now();
    let feed = loop {
        let resp = app.api().get(&path);
        resp.expect_status(200);
        if resp.text.matches("BEGIN:VEVENT").count() == 2 && resp.text.contains("CANCELLED") {
            break resp;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{}", resp.text);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        feed.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let calendar = parse_feed(&feed.text);
    assert_eq!(calendar.events.len(), 2);
    let by_uid = |b: &safemarket_blackbox::Booking| {
        calendar
            .events
            .iter()
            .find(|e| property(e, "UID") == Some(format!("{}@safemarket.dev", b.id).as_str()))
            .unwrap_or_else(|| panic!("no VEVENT for {}", b.id))
    };
    let k = by_uid(&kept);
    assert_eq!(property(k, "STATUS"), Some("CONFIRMED"));
    let start: String = kept["slot_start"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    assert_eq!(property(k, "DTSTART"), Some(start.as_str()));
    assert!(property(k, "LOCATION").is_some_and(|l| !l.is_empty()));
    assert_eq!(property(by_uid(&dropped), "STATUS"), Some("CANCELLED"));

    let etag = feed.header("etag").expect("etag").to_string();
    let unchanged = app
        .api()
        .send("GET", &path, &[("if-none-match", &etag)], None)
        .expect("answer");
    assert_eq!(unchanged.status, 304);

    let rotated = app
        .client(&shopper)
        .post("/api/v1/me/calendar-feed", &json!({}));
    rotated.expect_status(201);
    app.api().get(&path).expect_problem(404, "not-found");
    let new_path = feed_path(rotated.json()["url"].as_str().unwrap_or_default());
    assert_ne!(new_path, path);
    app.api().get(&new_path).expect_status(200);
    app.api()
        .get("/api/v1/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
        .expect_problem(404, "not-found");
    app.api()
        .post("/api/v1/me/calendar-feed", &json!({}))
        .expect_status(401);
}

#[blackbox]
fn the_qr_code_reads_back_as_the_booking_code() {
    let app = TestApp::shared();
    let owner = app.owner("qr-owner");
    let store = app.store_open_all_day(&owner, 30, 5);
    let shopper = app.shopper("qr-shopper");
    let booking = app
        .book(&shopper, &store, &app.slot(&store, 2, 20))
        .created();
    let path = store.path(&format!("/bookings/{}/qr.svg", booking.id));

    for who in [&shopper as &dyn Caller, &owner as &dyn Caller] {
        let resp = app.client(who).get(&path);
        resp.expect_status(200);
        assert_eq!(resp.header("content-type"), Some("image/svg+xml"));
        assert_eq!(qr::decode_svg(&resp.text), booking.code());
    }
    let stranger = app.shopper("qr-stranger");
    app.client(&stranger)
        .get(&path)
        .expect_problem(404, "not-found");
}

#[blackbox]
fn freed_places_offered_to_the_waiting_list_are_an_event() {
    let app = TestApp::shared();
    let owner = app.owner("offer-hook-owner");
    let store = app.store_open_all_day(&owner, 30, 1);
    let receiver = Receiver::start(&[]);
    create_webhook(&app, &owner, &store, &receiver.url, &["waitlist.offered"]);
    let slot = app.slot(&store, 2, 20);
    let (first, waiting) = (app.shopper("offer-first"), app.shopper("offer-waiting"));
    let booking = app.book(&first, &store, &slot).created();
    let entry = app
        .client(&waiting)
        .post(&store.path("/waitlist"), &json!({"slot_start": slot}));
    entry.expect_status(201);

    app.cancel(&first, &booking).expect_status(204);
    let offered = receiver.wait_for_type("waitlist.offered", FIRST_TRY).json();
    assert_eq!(offered["data"]["id"], entry.json()["id"]);
    assert_eq!(offered["data"]["status"], "offered");
    assert!(offered["data"]["offer_expires_at"].is_string(), "{offered}");
    assert_eq!(types(&receiver.received()), ["waitlist.offered"]);
}
