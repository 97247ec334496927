//! The staff app's tests that need a server of their own: the offline start (the test stops
//! its server, so the network is really gone) and the access token's refresh before expiry
//! (a server whose tokens live 20 s, `ACCESS_TOKEN_TTL_SECONDS`).

use std::time::{Duration, Instant};

use safemarket_blackbox::browser::Browser;
use safemarket_blackbox::{blackbox, server, Server, TestApp, TEST_JWT_SECRET};
use serde_json::json;

use crate::staff_app::{book_now, sign_in};

/// Where the app keeps the refresh token (app/src/http.rs).
const REFRESH_KEY: &str = "safemarket.staff.refresh";

/// How long the offline test waits for the app to resume its session once the server is back
/// (the app's pauses between tries grow to 10 s).
const RESUME_WAIT: Duration = Duration::from_secs(45);

/// The access-token lifetime of the refresh test's server (seconds).
const SHORT_TTL: u64 = 20;

fn own_server(vars: &[(&str, &str)]) -> Server {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let mut all = vec![("JWT_SECRET", TEST_JWT_SECRET)];
    all.extend_from_slice(vars);
    Server::start(&state, &all)
}

#[blackbox]
fn staff_app_opens_offline_from_its_service_worker() {
    let srv = own_server(&[]);
    let base = srv.base.clone();
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{base}/staff/?lang=en"));
    browser.find("button", "Sign in");
    browser.wait_until("the service worker controls the page", |b| {
        b.exec(
            "return !!navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL.endsWith('/staff/sw.js');",
            json!([]),
        ) == json!(true)
    });
    let scope = browser.exec_async(
        "const done = arguments[arguments.length - 1]; navigator.serviceWorker.ready.then(r => done(new URL(r.scope).pathname), e => done(String(e)));",
        json!([]),
    );
    assert_eq!(scope, json!("/staff/"));
    assert!(
        browser.all("status", None).is_empty(),
        "offline while the server runs: {}",
        browser.page_text()
    );

    // A signed-in tablet, then the network is gone for real: nothing listens on the port
    // any more.
    let app = TestApp::on(&srv);
    let owner = app.owner("staff-offline");
    let store = app.store_open_all_day(&owner, 60, 10);
    sign_in(&browser, &base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    let port = srv
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("port");
    let state = srv.state.clone();
    srv.stop();
    browser.goto(&format!("{base}/staff/s/{}/door", store.id));
    browser.find("button", "Sign in");
    let status = browser.find_role("status");
    browser.wait_until("the app says it is offline", |b| {
        b.text(&status).contains("You are offline")
    });
    browser.assert_accessible("offline");
    browser.shot("offline");
    assert!(
        browser.session_item(REFRESH_KEY).is_some(),
        "the kept session survives a start without a network"
    );

    // The network comes back (the same server again): the app signs its kept session in by
    // itself, without a reload or a password.
    let again = Server::start_on(&state, &[("JWT_SECRET", TEST_JWT_SECRET)], port);
    let deadline = Instant::now() + RESUME_WAIT;
    while browser.all("textbox", Some("Booking code")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the kept session did not sign in again within {RESUME_WAIT:?}: {}",
            browser.page_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        !browser.page_text().contains("You are offline"),
        "still offline: {}",
        browser.page_text()
    );
    again.stop();
}

#[blackbox]
fn staff_app_refreshes_its_token_before_expiry_and_sign_out_revokes() {
    let ttl = SHORT_TTL.to_string();
    let srv = own_server(&[("ACCESS_TOKEN_TTL_SECONDS", &ttl)]);
    let app = TestApp::on(&srv);
    let owner = app.owner("staff-refresh");
    let store = app.store_open_all_day(&owner, 60, 10);
    let code = book_now(&app, &store, 1);
    assert_eq!(
        app.login_as(&owner).json()["expires_in"],
        json!(SHORT_TTL),
        "the test var shortens the lifetime"
    );
    let browser = Browser::start(1280, 900);
    sign_in(&browser, &srv.base, &owner.email, &owner.password);
    browser.find("heading", "Your stores");
    let first = browser.session_item(REFRESH_KEY).expect("a refresh token");
    let session_id = first.split('.').nth(1).unwrap_or_default().to_string();
    let hash_of = |app: &TestApp| {
        app.d1_rows(&format!(
            "SELECT refresh_hash FROM sessions WHERE id = '{session_id}'"
        ))
    };
    let first_hash = hash_of(&app);
    assert_eq!(first_hash.len(), 1, "the browser's session row");

    // Idle past the access token's lifetime: the app renews it on its own, without a request
    // failing first (the stores list makes none while idle).
    std::thread::sleep(Duration::from_secs(SHORT_TTL + 5));
    let second = browser.session_item(REFRESH_KEY).expect("a refresh token");
    assert_ne!(
        first, second,
        "no refresh within the access token's lifetime"
    );
    let second_hash = hash_of(&app);
    assert_eq!(second_hash.len(), 1, "the same session, rotated");
    assert_ne!(first_hash, second_hash);

    // And it still works: the store's day opens without an alert.
    browser.click(&browser.find("link", "Test Market (Owner)"));
    browser.find("heading", "Test Market");
    browser.find("date", "Date");
    let table = browser.find_role("table");
    assert!(
        browser.text(&table).contains(&code),
        "{}",
        browser.text(&table)
    );
    let path = browser.exec("return location.pathname;", json!([]));
    assert_eq!(path, json!(format!("/staff/s/{}", store.id)));
    assert!(
        browser.all("alert", None).is_empty(),
        "{}",
        browser.page_text()
    );

    // Sign out ends the session on the server: its row is gone, its refresh token refused.
    let last = browser.session_item(REFRESH_KEY).expect("a refresh token");
    browser.click(&browser.find("link", "Your stores"));
    browser.click(&browser.find("button", "Sign out"));
    browser.find("button", "Sign in");
    assert_eq!(browser.session_item(REFRESH_KEY), None);
    assert!(
        hash_of(&app).is_empty(),
        "the session row outlived sign-out"
    );
    app.refresh(&last).expect_status(401);
}
