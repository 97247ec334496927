//! History and export: the month export (CSV and NDJSON, merged from the store's object and
//! its R2 archive), archival to R2 with the object's clock shifted, and the pruning cron
//! (`wrangler dev --test-scheduled`, `/__scheduled`).

use std::time::{Duration, Instant};

use safemarket_blackbox::{
    blackbox, register, server, utc_date_in, Api, Resp, Server, Store, TestApp, TestUser,
    TEST_JWT_SECRET,
};
use serde_json::{json, Value};

/// The CSV columns: API.md's, then the guest's name and phone.
const HEADER: &str = "id,code,slot_start,slot_end,party_size,status,channel,created_at,\
                      checked_in_at,guest_name,guest_phone";

/// A guest name that needs every kind of CSV quoting, and UTF-8.
const AWKWARD_NAME: &str = "Zoë \"Zee\", Jr.";

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF records).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "CSV must end with CRLF: {text:?}"
    );
    rows
}

fn export(api: &Api, store: &Store, month: &str, format: &str) -> Resp {
    api.get(&store.path(&format!("/bookings/export?month={month}&format={format}")))
}

/// A phone-system client (api key with both booking scopes) of `store`.
fn hotline(api: &Api, owner: &TestUser, store: &Store) -> Api {
    let resp = owner.api(api).post(
        &store.path("/api-keys"),
        &json!({"name": "Hotline", "scopes": ["bookings:read", "bookings:write"]}),
    );
    resp.expect_status(201);
    api.with_token(resp.json()["key"].as_str().unwrap_or_default())
}

/// The month (`YYYY-MM`) of the slot `days_ahead` days out: `TestApp::slot` takes it from that
/// local date's listing.
fn month_in(days_ahead: i64) -> String {
    utc_date_in(days_ahead)[..7].to_string()
}

/// Bookings per month: `(month, [(slot_start, id)])`.
type ByMonth = Vec<(String, Vec<(String, String)>)>;

/// Expected export rows: `(slot_start, id)` sorted, per month.
fn sorted(mut rows: Vec<(String, String)>) -> Vec<String> {
    rows.sort();
    rows.into_iter().map(|(_, id)| id).collect()
}

/// Asserts the month's CSV and NDJSON both list exactly `expected` (ids, in order) and returns
/// the CSV records by id and the NDJSON objects.
#[track_caller]
fn check_month(
    api: &Api,
    store: &Store,
    month: &str,
    expected: &[String],
) -> (Vec<Vec<String>>, Vec<Value>) {
    let csv = export(api, store, month, "csv");
    csv.expect_status(200);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let rows = parse_csv(&csv.text);
    assert_eq!(rows.first().map(|r| r.join(",")), Some(HEADER.to_string()));
    let ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, expected, "CSV of {month}:\n{}", csv.text);
    let nd = export(api, store, month, "ndjson");
    nd.expect_status(200);
    assert_eq!(nd.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = nd
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let nd_ids: Vec<String> = lines
        .iter()
        .map(|l| l["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(nd_ids, expected, "NDJSON of {month}:\n{}", nd.text);
    (rows[1..].to_vec(), lines)
}

/// Books, for `app`'s store: two shoppers in one slot, one of them again later, and the
/// hotline for an awkwardly named caller; returns `(slot_start, id)` per month and the
/// caller's booking id.
fn book_a_mix(app: &TestApp, owner: &TestUser, store: &Store) -> (ByMonth, String) {
    let api = app.api();
    let (ada, bob) = (register(api, "export-ada"), register(api, "export-bob"));
    let phone = hotline(api, owner, store);
    let mut by_month: ByMonth = Vec::new();
    let mut add = |days: i64, slot: &str, id: String| {
        let month = month_in(days);
        match by_month.iter_mut().find(|(m, _)| *m == month) {
            Some((_, rows)) => rows.push((slot.to_string(), id)),
            None => by_month.push((month, vec![(slot.to_string(), id)])),
        }
    };
    let late = app.slot(store, 2, 5);
    let early = app.slot(store, 1, 3);
    for (who, slot, days) in [(&ada, &late, 2), (&bob, &late, 2), (&ada, &early, 1)] {
        let b = app.book(who, store, slot).created();
        add(days, slot, b.id);
    }
    let caller_slot = app.slot(store, 2, 1);
    let resp = phone.post(
        &store.path("/bookings"),
        &json!({"slot_start": caller_slot, "guest": {"name": AWKWARD_NAME, "phone": "+4930123456"}}),
    );
    resp.expect_status(201);
    let caller = resp.json()["id"].as_str().unwrap_or_default().to_string();
    add(2, &caller_slot, caller.clone());
    (by_month, caller)
}

#[blackbox]
fn bookings_made_now_are_in_their_months_export_in_both_formats_by_slot_start() {
    let app = TestApp::shared();
    let owner = app.owner("export-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let (by_month, caller) = book_a_mix(&app, &owner, &store);
    let api = app.client(&owner);
    for (month, rows) in by_month {
        let expected = sorted(rows);
        let (csv, nd) = check_month(&api, &store, &month, &expected);
        for (record, line) in csv.iter().zip(&nd) {
            assert_eq!(record.len(), 11, "{record:?}");
            assert_eq!(record[2], line["slot_start"], "{record:?} {line}");
            assert_eq!(record[5], "confirmed");
            if record[0] == caller {
                assert_eq!(record[6], "api_key");
                assert_eq!(record[9], AWKWARD_NAME);
                assert_eq!(record[10], "+4930123456");
                assert_eq!(line["guest"]["name"], AWKWARD_NAME);
            } else {
                assert_eq!(record[6], "app");
                assert_eq!((record[9].as_str(), record[10].as_str()), ("", ""));
                assert!(line.get("guest").is_none(), "{line}");
            }
        }
    }
}

#[blackbox]
fn the_export_is_the_owners_and_refuses_bad_months_and_formats() {
    let app = TestApp::shared();
    let owner = app.owner("export-only-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let month = month_in(0);
    let path = store.path(&format!("/bookings/export?month={month}&format=csv"));
    app.api().get(&path).expect_problem(401, "unauthorized");
    let stranger = app.user("export-stranger");
    app.client(&stranger)
        .get(&path)
        .expect_problem(403, "forbidden");
    let staff = app.user("export-staff");
    app.client(&owner)
        .post(
            &store.path("/members"),
            &json!({"email": staff.email, "role": "staff"}),
        )
        .expect_status(201);
    app.client(&staff)
        .get(&path)
        .expect_problem(403, "forbidden");
    hotline(app.api(), &owner, &store)
        .get(&path)
        .expect_problem(403, "forbidden");
    let api = app.client(&owner);
    for (m, f) in [
        ("2026-13", "csv"),
        ("2026-1", "csv"),
        ("12-2026", "ndjson"),
        (month.as_str(), "xlsx"),
        (month.as_str(), ""),
    ] {
        let problem = export(&api, &store, m, f).expect_problem(422, "validation-failed");
        assert!(problem["errors"].is_array(), "{problem}");
    }
    api.get(&store.path("/bookings/export?format=csv"))
        .expect_problem(422, "validation-failed");
    // A month before the store existed: just the header (CSV), nothing (NDJSON).
    let before = export(&api, &store, "2001-01", "csv");
    before.expect_status(200);
    assert_eq!(before.text, format!("{HEADER}\r\n"));
    let before = export(&api, &store, "2001-01", "ndjson");
    before.expect_status(200);
    assert_eq!(before.text, "");
}

fn eventually<T>(mut probe: impl FnMut() -> (bool, T)) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (done, value) = probe();
        if done || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[blackbox]
fn archived_bookings_leave_the_object_for_r2_and_are_still_exported() {
    // The store objects' archival clock runs 40 days ahead: bookings of the next days have
    // "ended 30 days ago" and go to R2 at the next alarm, 200 ms after booking.
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let shifted = (40 * 86_400).to_string();
    let srv = Server::start(
        &state,
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("ARCHIVE_CLOCK_OFFSET_SECONDS", &shifted),
        ],
    );
    let app = TestApp::on(&srv);
    let owner = app.owner("archive-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    let (by_month, caller) = book_a_mix(&app, &owner, &store);
    let api = app.client(&owner);
    // Gone from the object: its booking reads answer 404 once archived.
    let gone = eventually(|| {
        let status = api.get(&store.path(&format!("/bookings/{caller}"))).status;
        (status == 404, status)
    });
    assert_eq!(
        gone,
        404,
        "the booking was not archived:\n{}",
        srv.log_tail()
    );
    for (month, rows) in by_month {
        let expected = sorted(rows);
        let ids = eventually(|| {
            let nd = export(&api, &store, &month, "ndjson");
            let n = nd.text.lines().count();
            (n == expected.len(), n)
        });
        assert_eq!(ids, expected.len());
        let (csv, _) = check_month(&api, &store, &month, &expected);
        let row = csv.iter().find(|r| r[0] == caller);
        if let Some(row) = row {
            assert_eq!(row[9], AWKWARD_NAME);
        }
    }
    srv.stop();
}

/// Runs the Cron Trigger once (`wrangler dev --test-scheduled`).
fn run_cron(api: &Api) {
    let resp = api.get("/__scheduled?cron=*/5+*+*+*+*");
    resp.expect_status(200);
}

#[blackbox]
fn the_cron_prunes_old_index_rows_but_keeps_the_last_30_days_and_upcoming() {
    let app = TestApp::shared();
    let user = app.user("prune-user");
    let owner = app.owner("prune-owner");
    let store = app.store_open_all_day(&owner, 60, 5);
    // The index entry of a booking ending `days` from today (in `user`'s document), as SQL.
    let booking = |days: i64| {
        let end = format!("{}T10:00:00Z", utc_date_in(days));
        let start = format!("{}T09:00:00Z", utc_date_in(days));
        format!(
            "json_object('store_id', '{store}', 'code', 'ABCD2345', 'slot_start', '{start}', \
             'slot_end', '{end}', 'party_size', 1, 'status', 'confirmed', \
             'created_at', '{start}', 'updated_at', '{start}', 'version', 1)",
            store = store.id,
        )
    };
    let entry = |id: &str, days: i64| format!("'{id}', {}", booking(days));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (old, recent, upcoming) = (
        format!("old-{tag}"),
        format!("recent-{tag}"),
        format!("upcoming-{tag}"),
    );
    // A second user whose bookings all ended long ago: their document goes.
    let gone = app.user("prune-user-ended");
    app.d1_rows(&format!(
        "INSERT INTO user_bookings (user_id, bookings)
         VALUES ('{user}', json_object({}, {}, {})), ('{gone}', json_object({}))",
        entry(&old, -40),
        entry(&recent, -10),
        entry(&upcoming, 5),
        entry(&format!("older-{tag}"), -35),
        user = user.id,
        gone = gone.id,
    ));
    // A failed login long past the throttle's window, and one just now.
    let subject = format!("email:prune-{tag}@example.test");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    app.d1_rows(&format!(
        "INSERT INTO login_failures (subject, at) VALUES ('{subject}', {}), ('{subject}', {})",
        now_s - 3600,
        now_s
    ));
    // A row of the retired D1 history, which the cron moves to R2.
    let archived = format!("hist-{tag}");
    app.d1_rows(&format!(
        "INSERT INTO booking_history (booking_id, store_id, number, user_id, code, slot_start,
           slot_end, party_size, status, created_at, updated_at, version)
         VALUES ('{archived}', '{store}', 7, '{user}', 'ABCD2345', '2025-03-10T09:00:00Z',
           '2025-03-10T10:00:00Z', 3, 'checked_in', '2025-03-01T08:00:00Z',
           '2025-03-10T09:05:00Z', 0)",
        store = store.id,
        user = user.id
    ));

    run_cron(app.api());

    let entries = format!(
        "SELECT j.key AS booking_id FROM user_bookings u, json_each(u.bookings) j
         WHERE u.user_id IN ('{}', '{}') ORDER BY j.key",
        user.id, gone.id
    );
    let left: Vec<String> = app
        .d1_rows(&entries)
        .iter()
        .filter_map(|r| r["booking_id"].as_str().map(String::from))
        .collect();
    assert_eq!(left, [recent.clone(), upcoming.clone()]);
    assert!(app
        .d1_rows(&format!(
            "SELECT 1 FROM user_bookings WHERE user_id = '{}'",
            gone.id
        ))
        .is_empty());
    let failures = app.d1_rows(&format!(
        "SELECT at FROM login_failures WHERE subject = '{subject}'"
    ));
    assert_eq!(failures, [json!({"at": now_s})]);
    // The user's past bookings are the last 30 days'.
    let past = app.my_bookings(&user, "past");
    past.expect_status(200);
    let listed = past.json();
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|b| b["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&recent.as_str()) && !ids.contains(&old.as_str()),
        "{ids:?}"
    );
    // booking_history moved to R2: gone from D1, in its month's export, naming no user.
    assert!(app
        .d1_rows(&format!(
            "SELECT 1 FROM booking_history WHERE booking_id = '{archived}'"
        ))
        .is_empty());
    let nd = export(&app.client(&owner), &store, "2025-03", "ndjson");
    nd.expect_status(200);
    assert!(nd.text.contains(&archived), "{}", nd.text);
    assert!(!nd.text.contains(&user.id), "{}", nd.text);
    let line: Value =
        serde_json::from_str(nd.text.lines().next().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(line["status"], "checked_in");
    assert_eq!(line["checked_in_at"], "2025-03-10T09:05:00Z");
    // The walk's pass is done and recorded; a second run within hours starts no new one, so
    // an entry that ended long ago and was added since stays until the next pass.
    let cursor = app.d1_rows("SELECT after FROM prune_cursors WHERE name = 'user_bookings'");
    assert_eq!(cursor, [json!({"after": ""})]);
    let late = format!("late-{tag}");
    app.d1_rows(&format!(
        "UPDATE user_bookings SET bookings = json_set(bookings, '$.\"{late}\"', {})
         WHERE user_id = '{}'",
        booking(-40),
        user.id
    ));
    run_cron(app.api());
    assert_eq!(app.d1_rows(&entries).len(), 3);
}
