//! Public rate limits (API.md, "Public rate limits"): per client address, writes and reads
//! counted apart, 429 `rate-limited` with `Retry-After`, api-key traffic on its own budget.
//! The shared server runs with both limits off; these tests start a server with small ones.

use safemarket_blackbox::{
    all_day_schedule, blackbox, register, server, store_with_schedule, utc_date_in, Api, Resp,
    Server, TEST_JWT_SECRET,
};
use serde_json::json;

/// Writes per address per 60 s on the limited server.
const WRITES: usize = 3;
/// Other requests per address per 60 s on the limited server.
const READS: usize = 12;

fn limited_server() -> Server {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    Server::start(
        &state,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("PUBLIC_WRITE_RATE_PER_MINUTE", &WRITES.to_string()),
            ("PUBLIC_RATE_PER_MINUTE", &READS.to_string()),
        ],
    )
}

/// A documentation address (RFC 5737) no other test uses, so each check has fresh budgets.
fn address(n: u8) -> String {
    format!("203.0.113.{n}")
}

fn guest_from(api: &Api, ip: &str) -> Resp {
    let device = format!("device-{}", uuid::Uuid::new_v4().simple());
    api.request(
        "POST",
        "/api/v1/auth/guest",
        &[("cf-connecting-ip", ip)],
        Some(&json!({"device_id": device})),
    )
}

fn read_from(api: &Api, ip: &str, path: &str) -> Resp {
    api.request("GET", path, &[("cf-connecting-ip", ip)], None)
}

/// A 429 `rate-limited` problem with a `Retry-After` of 1..=60 s.
#[track_caller]
fn expect_limited(resp: &Resp) {
    resp.expect_problem(429, "rate-limited");
    let retry: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After seconds: {:?}", resp.headers));
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

#[blackbox]
fn public_limits_count_writes_and_reads_apart_per_address() {
    let server = limited_server();
    let api = Api::new(&server.base);
    let ip = address(1);

    // Writes: the budget's guest sessions pass, the next one is refused.
    for i in 0..WRITES {
        let resp = guest_from(&api, &ip);
        assert_eq!(resp.status, 201, "write {i}: {}", resp.text);
    }
    let refused = guest_from(&api, &ip);
    expect_limited(&refused);
    assert!(refused.json()["detail"]
        .as_str()
        .is_some_and(|d| d.contains(&WRITES.to_string())));
    // Logins and bookings count against the same write budget.
    let login = api.request(
        "POST",
        "/api/v1/auth/login",
        &[("cf-connecting-ip", &ip)],
        Some(&json!({"email": "nobody@example.com", "password": "wrong password"})),
    );
    expect_limited(&login);

    // Reads of the same address have their own budget, untouched by the writes.
    for i in 0..READS {
        let resp = read_from(&api, &ip, "/api/health");
        assert_eq!(resp.status, 200, "read {i}: {}", resp.text);
    }
    expect_limited(&read_from(&api, &ip, "/api/health"));
    // Unmatched paths are reads too.
    expect_limited(&read_from(&api, &ip, "/api/nope"));

    // Another address has budgets of its own (an IPv6 client by its /64).
    guest_from(&api, &address(2)).expect_status(201);
    read_from(&api, &address(2), "/api/health").expect_status(200);
    let v6 = "2001:db8:5:6::1";
    for _ in 0..WRITES {
        guest_from(&api, v6).expect_status(201);
    }
    expect_limited(&guest_from(&api, "2001:db8:5:6:ffff::2"));
    guest_from(&api, "2001:db8:5:7::1").expect_status(201);
}

#[blackbox]
fn api_key_traffic_keeps_its_own_budget() {
    let server = limited_server();
    let api = Api::new(&server.base);
    let ip = address(3);
    let headers = [("cf-connecting-ip", ip.as_str())];
    // The fixture (an owner, a store with a schedule, a key) from another address.
    let owner = register(&api, "limits-owner");
    let store = store_with_schedule(&api, &owner, "UTC", &all_day_schedule(60, 5));
    let created = owner.api(&api).post(
        &format!("/api/v1/stores/{store}/api-keys"),
        &json!({"name": "Hotline", "scopes": ["bookings:read", "bookings:write"]}),
    );
    created.expect_status(201);
    let key = created.json()["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let date = utc_date_in(2);
    let slots = format!("/api/v1/stores/{store}/slots?from={date}&to={date}");

    // Twice the public read budget with the key, from the limited address: all pass.
    let phone = api.with_token(&key);
    for i in 0..2 * READS {
        let resp = phone.request("GET", &slots, &headers, None);
        assert_eq!(resp.status, 200, "key request {i}: {}", resp.text);
    }
    // None of them counted: the address still has its whole read budget.
    for i in 0..READS {
        let resp = api.request("GET", &slots, &headers, None);
        assert_eq!(resp.status, 200, "public read {i}: {}", resp.text);
    }
    expect_limited(&api.request("GET", &slots, &headers, None));
    // The key is still served: its own budget (120) is far from used.
    phone
        .request("GET", &slots, &headers, None)
        .expect_status(200);

    // A key that is refused (401) is no key: those requests count as public reads.
    let other = address(4);
    let bogus = api.with_token(&format!("smk_{}", "A".repeat(43)));
    for _ in 0..READS {
        bogus
            .request("GET", &slots, &[("cf-connecting-ip", &other)], None)
            .expect_problem(401, "unauthorized");
    }
    expect_limited(&bogus.request("GET", &slots, &[("cf-connecting-ip", &other)], None));
}

#[blackbox]
fn signed_in_bookings_count_against_the_write_budget_and_keep_their_401s() {
    // The booking path checks the session while the limiter counts the request: the limit
    // still comes first, and the session's verdict is still the handler's.
    let server = limited_server();
    let api = Api::new(&server.base);
    let owner = register(&api, "limited-shopping");
    let store = store_with_schedule(&api, &owner, "UTC", &all_day_schedule(60, 5));
    let (_, token, _) = safemarket_blackbox::guest(&api);
    let (_, ended, _) = safemarket_blackbox::guest(&api);
    api.with_token(&ended)
        .post("/api/v1/auth/logout", &json!({}))
        .expect_status(204);
    let ip = address(3);
    let date = utc_date_in(3);
    let book = |token: &str, hour: u32| {
        api.with_token(token).request(
            "POST",
            &format!("/api/v1/stores/{store}/bookings"),
            &[("cf-connecting-ip", &ip)],
            Some(&json!({"slot_start": format!("{date}T{hour:02}:00:00Z")})),
        )
    };

    // Within the budget: a bad token and an ended session are 401, a live one books.
    book("not-a-token", 9).expect_problem(401, "unauthorized");
    book(&ended, 10).expect_problem(401, "unauthorized");
    book(&token, 11).expect_status(201);
    // Over it: 429 whatever the token, and nothing is booked.
    expect_limited(&book(&token, 12));
    expect_limited(&book("not-a-token", 13));
    let listing = api.get(&format!(
        "/api/v1/stores/{store}/slots?from={date}&to={date}"
    ));
    let listing = listing.expect_status(200).json();
    let booked: Vec<(String, u64)> = listing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|slot| slot["booked"].as_u64().is_some_and(|n| n > 0))
        .map(|slot| {
            let start = slot["start"].as_str().unwrap_or_default().to_string();
            (start, slot["booked"].as_u64().unwrap_or_default())
        })
        .collect();
    assert_eq!(booked, [(format!("{date}T11:00:00Z"), 1)], "{listing}");
}
