//! Black-box test support: runs the real `wrangler dev` (workerd with embedded D1, KV and
//! Durable Objects) on a free port with throw-away state, and a small HTTP client for it.

pub mod client;
pub mod server;

pub use client::{Api, Resp};
pub use server::Server;

use serde_json::{json, Value};

/// The JWT signing key the test servers run with (`--var JWT_SECRET:...`), so tests can forge
/// tokens (expired, wrong audience) signed with the right key.
pub const TEST_JWT_SECRET: &str = "blackbox-test-secret-0123456789abcdef";

/// A unique email address for one test.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A registered user created through the API.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id.
    pub id: String,
    /// Email used to register.
    pub email: String,
    /// Password used to register.
    pub password: String,
    /// Access token.
    pub token: String,
    /// Refresh token.
    pub refresh: String,
}

impl TestUser {
    /// The API client authenticated as this user.
    pub fn api(&self, base: &Api) -> Api {
        base.with_token(&self.token)
    }
}

/// Registers a fresh user and returns its tokens.
#[track_caller]
pub fn register(api: &Api, tag: &str) -> TestUser {
    let email = unique_email(tag);
    let password = "correct horse battery".to_string();
    let resp = api.post(
        "/api/v1/auth/register",
        &json!({"email": email, "password": password, "display_name": tag}),
    );
    resp.expect_status(201);
    let body: Value = resp.json();
    TestUser {
        id: body["user"]["id"].as_str().unwrap_or_default().to_string(),
        email,
        password,
        token: body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        refresh: body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// A guest user for a fresh device id; returns (device id, access token, user id).
#[track_caller]
pub fn guest(api: &Api) -> (String, String, String) {
    let device = format!("device-{}", uuid::Uuid::new_v4().simple());
    let resp = api.post("/api/v1/auth/guest", &json!({"device_id": device}));
    resp.expect_status(201);
    let body = resp.json();
    (
        device,
        body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        body["user"]["id"].as_str().unwrap_or_default().to_string(),
    )
}
