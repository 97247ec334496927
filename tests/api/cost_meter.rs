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

#[blackbox]
fn metered_responses_report_their_units() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let metered = Server::start(
        &state,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("COST_METER", "1"),
            ("PUBLIC_RATE_PER_MINUTE", "600"),
        ],
    );
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
    let mut background = 0.0;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let next = api.get(&format!("/api/v1/stores/{store}/schedule"));
        background += units(&next)
            .get("bg_d1_rows_written")
            .copied()
            .unwrap_or(0.0);
        if background > 0.0 {
            break;
        }
    }
    assert!(background >= 1.0, "the index write was never reported");
}

#[blackbox]
fn unmetered_responses_carry_no_meter() {
    let resp = api().get("/api/health");
    resp.expect_status(200);
    assert!(resp.header("x-cost-meter").is_none(), "{:?}", resp.headers);
}
