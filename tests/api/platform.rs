//! Platform: health, the marketing site, unknown paths and methods, persistence.

use safemarket_blackbox::{
    blackbox, register, server, Api, Server, TEST_HEALTH_TOKEN, TEST_JWT_SECRET,
};
use serde_json::json;

use crate::api;

#[blackbox]
fn health_is_ok() {
    let resp = api().get("/api/health");
    resp.expect_status(200);
    assert_eq!(
        resp.json(),
        serde_json::json!({"status": "ok", "checks": {"d1": "ok", "kv": "ok", "durable_objects": "ok"}})
    );
    assert!(resp.header("x-request-id").is_some());
}

/// Anyone may call the public check, so it writes nothing: a flood of anonymous checks costs
/// reads only. The deep check (write + read round trips) needs the deployment's health token.
#[blackbox]
fn public_health_writes_nothing_and_deep_needs_the_token() {
    let api = api();
    let state = &crate::shared().state;
    let ok = json!({"status": "ok", "checks": {"d1": "ok", "kv": "ok", "durable_objects": "ok"}});
    let before = server::kv_keys(state, "SESSIONS", "health:");
    for _ in 0..5 {
        let resp = api.get("/api/health");
        assert_eq!(resp.expect_status(200).json(), ok);
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        server::kv_keys(state, "SESSIONS", "health:"),
        before,
        "public health checks wrote to KV"
    );

    api.get("/api/health?deep=1")
        .expect_problem(401, "unauthorized");
    api.with_token("not-the-health-token-0123")
        .get("/api/health?deep=1")
        .expect_problem(401, "unauthorized");
    api.get("/api/health?deep=maybe")
        .expect_problem(422, "validation-failed");
    let deep = api.with_token(TEST_HEALTH_TOKEN).get("/api/health?deep=1");
    assert_eq!(deep.expect_status(200).json(), ok);
    // Control: the deep check's KV round trip is visible to the listing above.
    let after = server::kv_keys(state, "SESSIONS", "health:");
    assert_eq!(after.len(), before.len() + 1, "{before:?} -> {after:?}");
}

#[blackbox]
fn site_is_served_at_root() {
    let resp = api().get("/");
    resp.expect_status(200);
    assert!(resp
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
    assert!(resp.text.contains("SafeMarket"), "{}", resp.text);
    assert!(
        resp.text.contains("/api/docs"),
        "home page links the API docs"
    );
}

#[blackbox]
fn german_site_is_served() {
    let resp = api().get("/de/");
    resp.expect_status(200);
    assert!(resp.text.contains("lang=\"de\"") || resp.text.contains("lang=de"));
}

#[blackbox]
fn unknown_api_path_is_problem_404() {
    let api = api();
    api.get("/api/nope").expect_problem(404, "not-found");
    api.get("/api/v1/definitely/not/here")
        .expect_problem(404, "not-found");
    api.get("/api").expect_problem(404, "not-found");
}

#[blackbox]
fn wrong_method_is_problem_405() {
    let resp = api().delete("/api/health");
    resp.expect_problem(405, "method-not-allowed");
    assert_eq!(resp.header("allow"), Some("GET"));
    // Methods the runtime library does not know are not mistaken for GET (raw HTTP: the test
    // client only speaks the standard methods).
    for method in ["QUERY", "PROPFIND"] {
        let head = raw_request(method, "/api/v1/stores/x");
        assert!(head.starts_with("HTTP/1.1 405"), "{method}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("\r\nallow: get, patch, delete\r\n"),
            "{method}: {head}"
        );
    }
}

/// The status line and headers of a bodiless request with any method, over a raw connection.
fn raw_request(method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = crate::shared()
        .base
        .trim_start_matches("http://")
        .to_string();
    let mut conn = std::net::TcpStream::connect(&host).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    let _ = conn.read_to_string(&mut response);
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A database without the schema is a failing D1 check: 503 naming it, the others still ok.
#[blackbox]
fn health_fails_without_migrations() {
    let state = server::fresh_state_dir();
    let bare = Server::start(&state, &[]);
    let bare_api = Api::new(&bare.base);
    let resp = bare_api.get("/api/health");
    // No HEALTH_TOKEN on this server: deep checks are off, whatever the caller sends.
    let deep = bare_api
        .with_token(TEST_HEALTH_TOKEN)
        .get("/api/health?deep=1");
    bare.stop();
    deep.expect_problem(403, "forbidden");
    resp.expect_status(503);
    let body = resp.json();
    assert_eq!(body["checks"]["d1"], "failed");
    assert_eq!(body["checks"]["kv"], "ok");
    assert_eq!(body["checks"]["durable_objects"], "ok");
}

/// Accounts, sessions and documents written before a restart are there after it.
#[blackbox]
fn state_survives_a_restart() {
    let state = server::fresh_state_dir();
    server::apply_migrations(&state);
    let vars = [("JWT_SECRET", TEST_JWT_SECRET)];
    let first = Server::start(&state, &vars);
    let api = Api::new(&first.base);
    let user = register(&api, "persist");
    user.api(&api)
        .put("/api/v1/me/profile", &json!({"kept": true}))
        .expect_status(200);
    first.stop();

    let second = Server::start(&state, &vars);
    let api = Api::new(&second.base);
    api.with_token(&user.token)
        .get("/api/v1/me")
        .expect_status(200);
    assert_eq!(
        user.api(&api).get("/api/v1/me/profile").json(),
        json!({"kept": true})
    );
    api.post(
        "/api/v1/auth/login",
        &json!({"email": user.email, "password": user.password}),
    )
    .expect_status(200);
    second.stop();
}
