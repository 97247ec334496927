//! Integrations: api keys and their scopes, the phone system booking for callers and cancelling
//! by code, partner documents in the store profile, and the per-key rate limit.

use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, future_slot, guest, in_parallel, register, server, slots_on,
    store_with_schedule, utc_date_in, Api, Resp, Server, TestUser, TEST_JWT_SECRET,
};
use serde_json::{json, Value};

use crate::api;

const PHONE: &[&str] = &["bookings:read", "bookings:write"];

/// A store (capacity `capacity` per hourly slot) and its owner.
fn store_of(api: &Api, tag: &str, capacity: u32) -> (TestUser, String) {
    let owner = register(api, tag);
    let store = store_with_schedule(
        api,
        &owner,
        "Europe/Berlin",
        &all_day_schedule(60, capacity),
    );
    (owner, store)
}

fn create_key_resp(api: &Api, owner: &TestUser, store: &str, scopes: &[&str]) -> Resp {
    owner.api(api).post(
        &format!("/api/v1/stores/{store}/api-keys"),
        &json!({"name": "Hotline", "scopes": scopes}),
    )
}

/// Creates a key and returns (key id, key).
#[track_caller]
fn create_key(api: &Api, owner: &TestUser, store: &str, scopes: &[&str]) -> (String, String) {
    let resp = create_key_resp(api, owner, store, scopes);
    resp.expect_status(201);
    let body = resp.json();
    (
        body["id"].as_str().unwrap_or_default().to_string(),
        body["key"].as_str().unwrap_or_default().to_string(),
    )
}

/// A store, its owner and a client with a phone-system key of it (read and write bookings).
fn hotline(api: &Api, tag: &str, capacity: u32) -> (TestUser, String, Api) {
    let (owner, store) = store_of(api, tag, capacity);
    let (_, key) = create_key(api, &owner, &store, PHONE);
    let phone = api.with_token(&key);
    (owner, store, phone)
}

fn book_for(api: &Api, store: &str, slot: &str, name: &str, phone: &str) -> Resp {
    api.post(
        &format!("/api/v1/stores/{store}/bookings"),
        &json!({"slot_start": slot, "guest": {"name": name, "phone": phone}}),
    )
}

fn slots_path(store: &str) -> String {
    let date = utc_date_in(2);
    format!("/api/v1/stores/{store}/slots?from={date}&to={date}")
}

fn available_in(api: &Api, store: &str, slot: &str) -> u64 {
    slots_on(api, store, &slot[..10])
        .into_iter()
        .find(|s| s["start"] == slot)
        .and_then(|s| s["available"].as_u64())
        .unwrap_or_else(|| panic!("slot {slot} not listed"))
}

#[blackbox]
fn scripted_phone_call() {
    let api = api();
    let (owner, store, phone) = hotline(&api, "phone-owner", 1);

    // The caller asks for a time: the hotline reads free slots with its key.
    let slot = future_slot(&phone, &store, 2, 10);
    assert_eq!(available_in(&phone, &store, &slot), 1);

    // It books for the caller and reads out the code.
    let booked = book_for(&phone, &store, &slot, "Ada Lovelace", "+4930123456");
    booked.expect_status(201);
    let booking = booked.json();
    let code = booking["code"].as_str().expect("code").to_string();
    assert!(code.len() >= 6);
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(
        booking["guest"],
        json!({"name": "Ada Lovelace", "phone": "+4930123456"})
    );
    assert_eq!(available_in(&phone, &store, &slot), 0);
    book_for(&phone, &store, &slot, "Bob", "+4930654321").expect_problem(409, "slot-full");

    // Later the caller phones again and cancels by code (typed in lower case).
    let by_code = format!("/api/v1/stores/{store}/bookings/by-code/{code}");
    let typed = format!(
        "/api/v1/stores/{store}/bookings/by-code/{}",
        code.to_lowercase()
    );
    let found = phone.get(&typed);
    found.expect_status(200);
    assert_eq!(found.json()["id"], booking["id"]);
    // The store's staff see the same booking by code; customers do not.
    owner.api(&api).get(&by_code).expect_status(200);
    let (_, customer, _) = guest(&api);
    api.with_token(&customer)
        .get(&by_code)
        .expect_problem(403, "forbidden");
    phone.delete(&by_code).expect_status(204);

    // The place is free again at once.
    let cancelled = phone.get(&by_code);
    cancelled.expect_status(200);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(available_in(&phone, &store, &slot), 1);
    book_for(&phone, &store, &slot, "Bob", "+4930654321").expect_status(201);
    phone
        .get(&format!("/api/v1/stores/{store}/bookings/by-code/ZZZZZZZZ"))
        .expect_problem(404, "not-found");
}

#[blackbox]
fn hotline_books_more_callers_than_the_per_user_limit() {
    let api = api();
    // The schedule allows 5 active bookings per user; the hotline books for 7 callers.
    let (_, store, phone) = hotline(&api, "hotline-owner", 10);
    for i in 0..7 {
        let slot = future_slot(&api, &store, 3, i);
        book_for(&phone, &store, &slot, &format!("Caller {i}"), "+4930111222").expect_status(201);
    }
    // Cancelling by id works for the key too, and the store's day list shows the bookings.
    let date = utc_date_in(3);
    let day = phone.get(&format!("/api/v1/stores/{store}/bookings?date={date}"));
    day.expect_status(200);
    let items = day.json()["items"].as_array().cloned().unwrap_or_default();
    let first = items
        .iter()
        .find(|b| b["guest"]["name"] == "Caller 0")
        .expect("caller 0 listed");
    let id = first["id"].as_str().unwrap();
    phone
        .delete(&format!("/api/v1/stores/{store}/bookings/{id}"))
        .expect_status(204);
    let read = phone.get(&format!("/api/v1/stores/{store}/bookings/{id}"));
    assert_eq!(read.json()["status"], "cancelled");
}

#[blackbox]
fn scopes_limit_what_a_key_may_do() {
    let api = api();
    let (owner, store) = store_of(&api, "scope-owner", 5);
    let slot = future_slot(&api, &store, 2, 11);
    let (_, read_key) = create_key(&api, &owner, &store, &["bookings:read"]);
    let (_, phone_key) = create_key(&api, &owner, &store, PHONE);
    let (_, partner_key) = create_key(&api, &owner, &store, &["profile:write"]);
    let (read, phone, partner) = (
        api.with_token(&read_key),
        api.with_token(&phone_key),
        api.with_token(&partner_key),
    );
    let external = format!("/api/v1/stores/{store}/external/maps");

    // A read-only key reads but cannot book or cancel.
    read.get(&slots_path(&store)).expect_status(200);
    read.get(&format!("/api/v1/stores/{store}/schedule"))
        .expect_status(200);
    book_for(&read, &store, &slot, "Ada", "+4930123456").expect_problem(403, "forbidden");
    let code = book_for(&phone, &store, &slot, "Ada", "+4930123456").json()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let by_code = format!("/api/v1/stores/{store}/bookings/by-code/{code}");
    read.get(&by_code).expect_status(200);
    read.delete(&by_code).expect_problem(403, "forbidden");
    read.put(&external, &json!({"x": 1}))
        .expect_problem(403, "forbidden");

    // A bookings key cannot write partner documents; a partner key cannot read bookings.
    phone
        .put(&external, &json!({"x": 1}))
        .expect_problem(403, "forbidden");
    partner
        .get(&slots_path(&store))
        .expect_problem(403, "forbidden");
    partner.get(&by_code).expect_problem(403, "forbidden");
    partner.put(&external, &json!({"x": 1})).expect_status(200);
    // Public reads of its own store work with any key.
    partner
        .get(&format!("/api/v1/stores/{store}/profile"))
        .expect_status(200);

    // No key manages the store or acts as a user.
    for (method, path, body) in [
        (
            "PUT",
            format!("/api/v1/stores/{store}/schedule"),
            Some(all_day_schedule(60, 5)),
        ),
        (
            "PATCH",
            format!("/api/v1/stores/{store}"),
            Some(json!({"name": "Mine now"})),
        ),
        (
            "POST",
            format!("/api/v1/stores/{store}/api-keys"),
            Some(json!({"name": "x", "scopes": PHONE})),
        ),
        ("GET", format!("/api/v1/stores/{store}/api-keys"), None),
        (
            "POST",
            format!("/api/v1/stores/{store}/check-ins"),
            Some(json!({"code": code})),
        ),
        ("GET", "/api/v1/me".to_string(), None),
        ("GET", "/api/v1/me/bookings".to_string(), None),
    ] {
        let resp = phone.request(method, &path, &[], body.as_ref());
        assert_eq!(resp.status, 403, "{method} {path}: {}", resp.text);
    }
}

#[blackbox]
fn keys_act_only_on_their_own_store() {
    let api = api();
    let (owner_a, store_a) = store_of(&api, "cross-a", 5);
    let (_, store_b) = store_of(&api, "cross-b", 5);
    let slot_b = future_slot(&api, &store_b, 2, 9);
    let (_, key_a) = create_key(
        &api,
        &owner_a,
        &store_a,
        &["bookings:read", "bookings:write", "profile:write"],
    );
    let a = api.with_token(&key_a);
    a.get(&slots_path(&store_a)).expect_status(200);
    a.get(&slots_path(&store_b))
        .expect_problem(403, "forbidden");
    book_for(&a, &store_b, &slot_b, "Ada", "+4930123456").expect_problem(403, "forbidden");
    a.put(
        &format!("/api/v1/stores/{store_b}/external/maps"),
        &json!({"x": 1}),
    )
    .expect_problem(403, "forbidden");
    a.get(&format!("/api/v1/stores/{store_b}/profile"))
        .expect_problem(403, "forbidden");
    assert_eq!(available_in(&api, &store_b, &slot_b), 5);
}

#[blackbox]
fn revoked_key_is_refused_on_the_next_request() {
    let api = api();
    let (owner, store) = store_of(&api, "revoke-owner", 5);
    let (id, key) = create_key(&api, &owner, &store, PHONE);
    let phone = api.with_token(&key);
    phone.get(&slots_path(&store)).expect_status(200);

    let path = format!("/api/v1/stores/{store}/api-keys/{id}");
    owner.api(&api).delete(&path).expect_status(204);
    phone
        .get(&slots_path(&store))
        .expect_problem(401, "unauthorized");
    // Revoking again is harmless; the listing keeps the key with its revocation time.
    owner.api(&api).delete(&path).expect_status(204);
    let listed = owner
        .api(&api)
        .get(&format!("/api/v1/stores/{store}/api-keys"))
        .json();
    assert!(listed["items"][0]["revoked_at"].is_string(), "{listed}");

    // Unknown and malformed keys are refused alike, even on public routes.
    let unknown = format!("smk_{}", "A".repeat(43));
    for bad in [unknown.as_str(), "smk_short", "smk_"] {
        api.with_token(bad)
            .get(&slots_path(&store))
            .expect_problem(401, "unauthorized");
    }
    owner
        .api(&api)
        .delete(&format!(
            "/api/v1/stores/{store}/api-keys/{}",
            uuid::Uuid::new_v4()
        ))
        .expect_problem(404, "not-found");
    owner
        .api(&api)
        .delete(&format!("/api/v1/stores/{store}/api-keys/not-a-uuid"))
        .expect_problem(404, "not-found");
}

#[blackbox]
fn closing_the_store_ends_its_keys() {
    let api = api();
    let (owner, store) = store_of(&api, "close-keys", 5);
    let (_, key) = create_key(&api, &owner, &store, PHONE);
    let phone = api.with_token(&key);
    let slot = future_slot(&api, &store, 1, 0);
    book_for(&phone, &store, &slot, "Ada Lovelace", "+4930123456").expect_status(201);

    owner
        .api(&api)
        .delete(&format!("/api/v1/stores/{store}"))
        .expect_status(204);
    // The hotline can no longer read the store's guests, nor anything else.
    phone
        .get(&format!("/api/v1/stores/{store}/bookings/by-code/ABCDEFGH"))
        .expect_problem(401, "unauthorized");
    phone
        .get(&slots_path(&store))
        .expect_problem(401, "unauthorized");
}

#[blackbox]
fn key_list_shows_no_secret() {
    let api = api();
    let (owner, store) = store_of(&api, "list-owner", 5);
    let created = create_key_resp(&api, &owner, &store, &["bookings:write", "bookings:read"]);
    created.expect_status(201);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let first = created.json();
    let secret = first["key"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("smk_") && secret.len() >= 4 + 22,
        "{secret}"
    );
    assert_eq!(first["name"], "Hotline");
    assert_eq!(first["scopes"], json!(["bookings:read", "bookings:write"]));
    assert!(first["created_at"].is_string() && first["id"].is_string());
    let (_, second) = create_key(&api, &owner, &store, &["profile:write"]);

    let path = format!("/api/v1/stores/{store}/api-keys");
    let listed = owner.api(&api).get(&path);
    listed.expect_status(200);
    assert!(!listed.text.contains(&secret[4..]) && !listed.text.contains(&second[4..]));
    let body = listed.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(body["next_cursor"], Value::Null);
    // Oldest first; keys made within the same second are in id order.
    let item = items
        .iter()
        .find(|k| k["id"] == first["id"])
        .expect("the first key is listed");
    let mut fields: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["created_at", "id", "name", "prefix", "revoked_at", "scopes"]
    );
    let prefix = item["prefix"].as_str().unwrap();
    assert!(secret.starts_with(prefix) && prefix.len() < 16, "{prefix}");

    // Pages of one.
    let page = owner.api(&api).get(&format!("{path}?limit=1")).json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let rest = owner
        .api(&api)
        .get(&format!("{path}?limit=1&cursor={cursor}"))
        .json();
    assert_ne!(rest["items"][0]["id"], page["items"][0]["id"]);
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[blackbox]
fn only_the_owner_manages_keys() {
    let api = api();
    let (owner, store) = store_of(&api, "keys-owner", 5);
    let staff = register(&api, "keys-staff");
    owner
        .api(&api)
        .post(
            &format!("/api/v1/stores/{store}/members"),
            &json!({"email": staff.email, "role": "staff"}),
        )
        .expect_status(201);
    let (id, _) = create_key(&api, &owner, &store, PHONE);
    let path = format!("/api/v1/stores/{store}/api-keys");
    create_key_resp(&api, &staff, &store, PHONE).expect_problem(403, "forbidden");
    staff.api(&api).get(&path).expect_problem(403, "forbidden");
    staff
        .api(&api)
        .delete(&format!("{path}/{id}"))
        .expect_problem(403, "forbidden");
    api.get(&path).expect_problem(401, "unauthorized");

    // Bad input is a 422 naming each field, never a 5xx.
    let bad = owner.api(&api).post(
        &path,
        &json!({"name": "", "scopes": ["bookings:read", "admin"]}),
    );
    let problem = bad.expect_problem(422, "validation-failed");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "scopes[1]"]);
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x"}),
        json!({"name": "x".repeat(101), "scopes": PHONE}),
        json!({"name": 5, "scopes": PHONE}),
        json!({"name": "x", "scopes": "bookings:read"}),
    ] {
        owner
            .api(&api)
            .post(&path, &body)
            .expect_problem(422, "validation-failed");
    }
    owner
        .api(&api)
        .raw("POST", &path, "application/json", b"{nope")
        .expect_problem(400, "bad-request");
}

#[blackbox]
fn caller_details_are_validated() {
    let api = api();
    let (_, store, phone) = hotline(&api, "caller-owner", 5);
    let slot = future_slot(&api, &store, 2, 12);
    let path = format!("/api/v1/stores/{store}/bookings");
    let field_of = |resp: Resp| -> Vec<String> {
        resp.expect_problem(422, "validation-failed")["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str().map(String::from))
            .collect()
    };
    // An api key must say whom it books for.
    assert_eq!(
        field_of(phone.post(&path, &json!({"slot_start": slot}))),
        ["guest"]
    );
    for (name, number) in [
        ("Ada", "030 123456"),
        ("Ada", "+49301"),
        ("Ada", "4930123456"),
    ] {
        let f = field_of(book_for(&phone, &store, &slot, name, number));
        assert_eq!(f, ["guest.phone"], "{number}");
    }
    let long = "n".repeat(101);
    assert_eq!(
        field_of(book_for(&phone, &store, &slot, &long, "+4930123456")),
        ["guest.name"]
    );
    assert_eq!(
        field_of(book_for(&phone, &store, &slot, "", "nope")),
        ["guest.name", "guest.phone"]
    );
    assert_eq!(
        field_of(phone.post(
            &path,
            &json!({"slot_start": slot, "guest": {"name": "Ada"}})
        )),
        ["guest.phone"]
    );
    // Users book for themselves and may not name a guest.
    let (_, customer, _) = guest(&api);
    let user_with_guest = book_for(
        &api.with_token(&customer),
        &store,
        &slot,
        "Ada",
        "+4930123456",
    );
    assert_eq!(field_of(user_with_guest), ["guest"]);
    assert_eq!(available_in(&api, &store, &slot), 5);
}

#[blackbox]
fn idempotent_booking_with_a_key() {
    let api = api();
    let (owner, store, phone) = hotline(&api, "idem-key-owner", 5);
    let slot = future_slot(&api, &store, 2, 13);
    let path = format!("/api/v1/stores/{store}/bookings");
    let idem = format!("call-{}", uuid::Uuid::new_v4());
    let body = json!({"slot_start": slot, "party_size": 2,
        "guest": {"name": "Ada", "phone": "+4930123456"}});
    let first = phone.request("POST", &path, &[("idempotency-key", &idem)], Some(&body));
    first.expect_status(201);
    let again = phone.request("POST", &path, &[("idempotency-key", &idem)], Some(&body));
    again.expect_status(200);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.json()["code"], first.json()["code"]);
    assert_eq!(available_in(&api, &store, &slot), 3);
    // Same key, another caller: refused rather than silently answered with Ada's booking.
    let other = json!({"slot_start": slot, "party_size": 2,
        "guest": {"name": "Bob", "phone": "+4930654321"}});
    phone
        .request("POST", &path, &[("idempotency-key", &idem)], Some(&other))
        .expect_problem(422, "idempotency-mismatch");
    // Another api key of the same store has its own idempotency keys.
    let (_, key2) = create_key(&api, &owner, &store, PHONE);
    api.with_token(&key2)
        .request("POST", &path, &[("idempotency-key", &idem)], Some(&other))
        .expect_status(201);
    assert_eq!(available_in(&api, &store, &slot), 1);
}

#[blackbox]
fn partner_document_round_trip() {
    let api = api();
    let (owner, store) = store_of(&api, "partner-owner", 5);
    let (_, key) = create_key(&api, &owner, &store, &["profile:write"]);
    let partner = api.with_token(&key);
    let profile = format!("/api/v1/stores/{store}/profile");
    owner
        .api(&api)
        .put(&profile, &json!({"description": "Fresh bread daily"}))
        .expect_status(200);

    let doc = json!({"rating": 4.5, "reviews": [{"stars": 5, "text": "Great"}]});
    let put = partner.put(&format!("/api/v1/stores/{store}/external/maps"), &doc);
    put.expect_status(200);
    assert_eq!(put.json(), doc);
    partner
        .put(
            &format!("/api/v1/stores/{store}/external/open-data-2"),
            &json!({"wheelchair": true}),
        )
        .expect_status(200);

    let shown = api.get(&profile);
    shown.expect_status(200);
    assert_eq!(
        shown.json(),
        json!({"description": "Fresh bread daily",
               "external": {"maps": doc, "open-data-2": {"wheelchair": true}}})
    );

    // The owner edits their own fields with the ETag of what they read; partner documents
    // stay, and the owner cannot write them.
    let etag = shown.header("etag").unwrap().to_string();
    let patched = owner.api(&api).request(
        "PATCH",
        &profile,
        &[("if-match", &etag)],
        Some(&json!({"hours": "8-18"})),
    );
    patched.expect_status(200);
    assert_eq!(patched.json()["external"]["maps"], doc);
    owner
        .api(&api)
        .put(&profile, &json!({"external": {"maps": {}}}))
        .expect_problem(422, "validation-failed");
    owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{store}/external/maps"),
            &json!({"x": 1}),
        )
        .expect_problem(403, "forbidden");

    // A partner rewrite replaces only its own document.
    partner
        .put(
            &format!("/api/v1/stores/{store}/external/maps"),
            &json!({"rating": 3}),
        )
        .expect_status(200);
    let after = api.get(&profile).json();
    assert_eq!(after["description"], "Fresh bread daily");
    assert_eq!(after["hours"], "8-18");
    assert_eq!(after["external"]["maps"], json!({"rating": 3}));
    assert_eq!(
        after["external"]["open-data-2"],
        json!({"wheelchair": true})
    );
}

#[blackbox]
fn partner_documents_refuse_bad_input() {
    let api = api();
    let (owner, store) = store_of(&api, "partner-bad", 5);
    let (_, key) = create_key(&api, &owner, &store, &["profile:write"]);
    let partner = api.with_token(&key);
    let long = "x".repeat(41);
    for source in ["Maps", "a_b", "caf%C3%A9", long.as_str()] {
        partner
            .put(
                &format!("/api/v1/stores/{store}/external/{source}"),
                &json!({"x": 1}),
            )
            .expect_problem(422, "validation-failed");
    }
    let path = format!("/api/v1/stores/{store}/external/maps");
    for body in [json!([1, 2]), json!("text"), json!(3), Value::Null] {
        partner
            .put(&path, &body)
            .expect_problem(422, "validation-failed");
    }
    partner
        .raw("PUT", &path, "application/json", b"{nope")
        .expect_problem(400, "bad-request");
    partner
        .raw("PUT", &path, "text/plain", b"{}")
        .expect_problem(415, "unsupported-media-type");
    let big = json!({"blob": "x".repeat(70 * 1024)});
    partner
        .put(&path, &big)
        .expect_problem(413, "payload-too-large");
    api.put(&path, &json!({"x": 1}))
        .expect_problem(401, "unauthorized");
    // Nothing of it reached the profile.
    assert!(api.get(&format!("/api/v1/stores/{store}/profile")).json()["external"].is_null());
}

#[blackbox]
fn rate_limit_is_per_key() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let limited = Server::start(
        &state,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("API_KEY_RATE_PER_MINUTE", "5"),
        ],
    );
    let api = Api::new(&limited.base);
    let (owner, store) = store_of(&api, "rate-owner", 5);
    let (key_id, key) = create_key(&api, &owner, &store, PHONE);
    let (_, other_key) = create_key(&api, &owner, &store, PHONE);
    let phone = api.with_token(&key);
    let started = Instant::now();
    for i in 0..5 {
        let resp = phone.get(&slots_path(&store));
        assert_eq!(resp.status, 200, "request {i}: {}", resp.text);
    }
    let refused = phone.get(&slots_path(&store));
    let problem = refused.expect_problem(429, "rate-limited");
    assert!(problem["detail"].as_str().unwrap().contains('5'));
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!(
        (1..=60).contains(&retry),
        "retry after {retry} s, {:?} after the first request",
        started.elapsed()
    );
    // Still refused, whatever the route.
    phone
        .get(&format!("/api/v1/stores/{store}/schedule"))
        .expect_problem(429, "rate-limited");
    // The log names the key by id and never shows the secret.
    let deadline = Instant::now() + Duration::from_secs(10);
    let needle = format!("\"api_key_id\":\"{key_id}\"");
    while !limited.log_tail().contains(&needle) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = limited.log_tail();
    assert!(log.contains(&needle), "no api_key_id in the log:\n{log}");
    assert!(!log.contains(&key[4..]), "the secret reached the log");

    // Another key of the same store is unaffected.
    let other = api.with_token(&other_key);
    for _ in 0..5 {
        other.get(&slots_path(&store)).expect_status(200);
    }
    // Exact under concurrency: of 12 simultaneous requests of a fresh key, 5 pass.
    let (_, burst_key) = create_key(&api, &owner, &store, PHONE);
    let (burst, path) = (api.with_token(&burst_key), slots_path(&store));
    let statuses = in_parallel(12, move |_| burst.get(&path).status);
    let passed = statuses.iter().filter(|s| **s == 200).count();
    let limited_n = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((passed, limited_n), (5, 7), "{statuses:?}");
    // Users are not rate limited by api-key budgets.
    for _ in 0..6 {
        owner
            .api(&api)
            .get(&format!("/api/v1/stores/{store}/api-keys"))
            .expect_status(200);
    }

    limited.stop();
}
