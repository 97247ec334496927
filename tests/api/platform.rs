//! Platform: health, the marketing site, unknown paths and methods, persistence.

use safemarket_blackbox::{server, Api, Server};

use crate::{api, TestFn};

pub const TESTS: &[(&str, TestFn)] = &[
    ("platform::health_is_ok", health_is_ok),
    ("platform::site_is_served_at_root", site_is_served_at_root),
    ("platform::german_site_is_served", german_site_is_served),
    (
        "platform::unknown_api_path_is_problem_404",
        unknown_api_path_is_problem_404,
    ),
    (
        "platform::wrong_method_is_problem_405",
        wrong_method_is_problem_405,
    ),
    (
        "platform::health_fails_without_migrations",
        health_fails_without_migrations,
    ),
];

fn health_is_ok() {
    let resp = api().get("/api/health");
    resp.expect_status(200);
    assert_eq!(
        resp.json(),
        serde_json::json!({"status": "ok", "checks": {"d1": "ok", "kv": "ok", "durable_objects": "ok"}})
    );
    assert!(resp.header("x-request-id").is_some());
}

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

fn german_site_is_served() {
    let resp = api().get("/de/");
    resp.expect_status(200);
    assert!(resp.text.contains("lang=\"de\"") || resp.text.contains("lang=de"));
}

fn unknown_api_path_is_problem_404() {
    let api = api();
    api.get("/api/nope").expect_problem(404, "not-found");
    api.get("/api/v1/definitely/not/here")
        .expect_problem(404, "not-found");
    api.get("/api").expect_problem(404, "not-found");
}

fn wrong_method_is_problem_405() {
    let resp = api().delete("/api/health");
    resp.expect_problem(405, "method-not-allowed");
    assert_eq!(resp.header("allow"), Some("GET"));
}

/// A database without the schema is a failing D1 check: 503 naming it, the others still ok.
fn health_fails_without_migrations() {
    let state = server::fresh_state_dir();
    let bare = Server::start(&state, &[]);
    let resp = Api::new(&bare.base).get("/api/health");
    bare.stop();
    resp.expect_status(503);
    let body = resp.json();
    assert_eq!(body["checks"]["d1"], "failed");
    assert_eq!(body["checks"]["kv"], "ok");
    assert_eq!(body["checks"]["durable_objects"], "ok");
}
