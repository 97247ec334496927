//! Accounts and sessions: register, login (with throttling), guest, refresh, logout, me,
//! erasure, profile documents.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use safemarket_blackbox::{
    blackbox, in_parallel, unique_email, Api, Store, TestApp, TEST_JWT_SECRET,
};
use serde_json::{json, Value};

#[blackbox]
fn register_returns_user_and_tokens() {
    let app = TestApp::shared();
    let email = unique_email("Reg");
    let resp = app.register(
        &json!({"email": format!("  {} ", email.to_uppercase()), "password": "0123456789", "display_name": "Ann"}),
    );
    resp.expect_status(201);
    let body = resp.json();
    assert_eq!(body["user"]["email"], email.to_lowercase());
    assert_eq!(body["user"]["kind"], "registered");
    assert_eq!(body["user"]["display_name"], "Ann");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() > 40));
    let token = body["access_token"].as_str().unwrap();
    let me = app.me(token);
    me.expect_status(200);
    let me = me.json();
    assert_eq!(me["id"], body["user"]["id"]);
    assert_eq!(me["kind"], "registered");
    assert!(me["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[blackbox]
fn register_rejects_taken_email() {
    let app = TestApp::shared();
    let user = app.user("taken");
    let resp =
        app.register(&json!({"email": user.email.to_uppercase(), "password": "another password"}));
    resp.expect_problem(409, "email-taken");
}

#[blackbox]
fn register_rejects_bad_input_naming_fields() {
    let app = TestApp::shared();
    let weak = app.register(&json!({"email": unique_email("w"), "password": "short"}));
    let body = weak.expect_problem(422, "validation-failed");
    assert_eq!(body["errors"][0]["field"], "password");

    let bad_email = app.register(&json!({"email": "not-an-email", "password": "long enough pw"}));
    assert_eq!(
        bad_email.expect_problem(422, "validation-failed")["errors"][0]["field"],
        "email"
    );

    let missing = app.register(&json!({"password": "long enough pw"}));
    assert_eq!(
        missing.expect_problem(422, "validation-failed")["errors"][0]["field"],
        "email"
    );

    let wrong_type = app.register(&json!({"email": 42, "password": "long enough pw"}));
    assert_eq!(
        wrong_type.expect_problem(422, "validation-failed")["errors"][0]["field"],
        "email"
    );

    let both = app.register(&json!({"email": "x", "password": "y"}));
    let errors = both.expect_problem(422, "validation-failed")["errors"].clone();
    assert_eq!(errors.as_array().map(Vec::len), Some(2), "{errors}");
}

#[blackbox]
fn bodies_are_checked_for_type_size_and_syntax() {
    let app = TestApp::shared();
    let api = app.api();
    let malformed = api.raw(
        "POST",
        "/api/v1/auth/login",
        "application/json",
        b"{\"email\": ",
    );
    assert_eq!(
        malformed.expect_problem(400, "bad-request")["errors"][0]["field"],
        "body"
    );
    let not_json = api.raw("POST", "/api/v1/auth/login", "text/plain", b"email=a");
    not_json.expect_problem(415, "unsupported-media-type");
    let huge = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(20 * 1024)
    );
    api.raw(
        "POST",
        "/api/v1/auth/login",
        "application/json",
        huge.as_bytes(),
    )
    .expect_problem(413, "payload-too-large");
    let array = api.raw("POST", "/api/v1/auth/guest", "application/json", b"[]");
    array.expect_problem(422, "validation-failed");
}

#[blackbox]
fn login_answers_unknown_email_like_wrong_password() {
    let app = TestApp::shared();
    let user = app.user("login");
    let ok = app.login_as(&user);
    ok.expect_status(200);
    assert!(ok.json()["access_token"].is_string());
    assert_eq!(ok.json()["user"]["id"], user.id.as_str());

    let wrong = app.login(&user.email, "wrong password!");
    let unknown = app.login(&unique_email("nobody"), "wrong password!");
    let a = wrong.expect_problem(401, "unauthorized");
    let b = unknown.expect_problem(401, "unauthorized");
    assert_eq!(
        a, b,
        "unknown email and wrong password must be indistinguishable"
    );
}

#[blackbox]
fn sixth_failed_login_is_throttled() {
    let app = TestApp::shared();
    let user = app.user("throttle");
    for attempt in 1..=5 {
        let resp = app.login(&user.email, &format!("wrong {attempt} wrong"));
        resp.expect_problem(401, "unauthorized");
    }
    // The 6th attempt waits even with the right password.
    let resp = app.login_as(&user);
    resp.expect_problem(429, "rate-limited");
    let retry: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    // Other accounts are not affected.
    let other = app.user("unthrottled");
    app.login_as(&other).expect_status(200);
}

#[blackbox]
fn guest_is_bound_to_its_device() {
    let app = TestApp::shared();
    let guest = app.guest();
    let again = app.guest_login(&guest.device);
    again.expect_status(201);
    assert_eq!(again.json()["user"]["id"], guest.id.as_str());
    let me = app.me(&guest);
    me.expect_status(200);
    assert_eq!(me.json()["kind"], "guest");
    assert_eq!(me.json()["email"], Value::Null);
    let other = app.guest();
    assert_ne!(other.id, guest.id);
    app.guest_login("").expect_problem(422, "validation-failed");
}

#[blackbox]
fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::shared();
    let user = app.user("refresh");
    let first = app.refresh(&user.refresh);
    first.expect_status(200);
    let next = first.json()["refresh_token"].as_str().unwrap().to_string();
    let access = first.json()["access_token"].as_str().unwrap().to_string();
    assert_ne!(next, user.refresh);
    app.me(&access).expect_status(200);

    // Presenting the spent token again is theft: the whole session is revoked.
    app.refresh(&user.refresh)
        .expect_problem(401, "unauthorized");
    app.refresh(&next).expect_problem(401, "unauthorized");
    app.me(&access).expect_problem(401, "unauthorized");
    app.me(&user).expect_problem(401, "unauthorized");

    app.refresh("nonsense").expect_problem(401, "unauthorized");
}

#[blackbox]
fn logout_ends_access_and_refresh() {
    let app = TestApp::shared();
    let user = app.user("logout");
    app.me(&user).expect_status(200);
    let out = app.logout(&user);
    out.expect_status(204);
    assert!(out.text.is_empty());
    app.me(&user).expect_problem(401, "unauthorized");
    app.refresh(&user.refresh)
        .expect_problem(401, "unauthorized");
    // Without a token.
    app.api()
        .post("/api/v1/auth/logout", &json!({}))
        .expect_problem(401, "unauthorized");
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[blackbox]
fn forged_and_expired_tokens_are_refused() {
    let app = TestApp::shared();
    let user = app.user("forge");
    let sid = {
        let payload = user.token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&B64URL.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["sub"], user.id.as_str());
        for claim in ["sid", "iat", "exp", "iss", "aud"] {
            assert!(!claims[claim].is_null(), "claim {claim} missing");
        }
        claims["sid"].as_str().unwrap().to_string()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |iat: u64, aud: &str| {
        json!({"sub": user.id, "sid": sid, "iat": iat, "exp": iat + 900,
               "iss": "https://safemarket.dev", "aud": aud})
    };
    // Control: a token we sign with the server's key is accepted, so the refusals below are
    // about the claims, not about the key.
    let good = forge(&claims(now, "safemarket-api"), TEST_JWT_SECRET.as_bytes());
    app.me(&good).expect_status(200);

    let expired = forge(
        &claims(now - 1000, "safemarket-api"),
        TEST_JWT_SECRET.as_bytes(),
    );
    let wrong_aud = forge(&claims(now, "other-api"), TEST_JWT_SECRET.as_bytes());
    let wrong_key = forge(
        &claims(now, "safemarket-api"),
        b"some-other-key-some-other-key-123",
    );
    let header_none = B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = B64URL.encode(claims(now, "safemarket-api").to_string());
    let alg_none = format!("{header_none}.{body}.");
    for token in [expired, wrong_aud, wrong_key, alg_none] {
        app.me(&token).expect_problem(401, "unauthorized");
    }
}

#[blackbox]
fn me_requires_a_valid_bearer() {
    let app = TestApp::shared();
    let api = app.api();
    api.get("/api/v1/me").expect_problem(401, "unauthorized");
    api.request("GET", "/api/v1/me", &[("authorization", "Basic abc")], None)
        .expect_problem(401, "unauthorized");
    api.request("GET", "/api/v1/me", &[("authorization", "Bearer")], None)
        .expect_problem(401, "unauthorized");
    app.me("not.a.jwt").expect_problem(401, "unauthorized");
}

#[blackbox]
fn erasure_removes_user_sessions_and_profile() {
    let app = TestApp::shared();
    let user = app.user("erase");
    app.put_profile(&user, &json!({"favourite": "bakery"}))
        .expect_status(200);
    let sessions = format!("session:{}:", user.id);
    let profile = format!("profile:user:{}", user.id);
    assert!(!app.kv_keys("SESSIONS", &sessions).is_empty());
    assert!(!app.kv_keys("DOCUMENTS", &profile).is_empty());

    app.erase(&user).expect_status(204);

    app.me(&user).expect_problem(401, "unauthorized");
    app.login_as(&user).expect_problem(401, "unauthorized");
    assert!(app.kv_keys("SESSIONS", &sessions).is_empty());
    assert!(app.kv_keys("DOCUMENTS", &profile).is_empty());
    // The email is free again.
    app.register(&json!({"email": user.email, "password": user.password}))
        .expect_status(201);
}

#[blackbox]
fn profile_document_with_etag_and_merge_patch() {
    let app = TestApp::shared();
    let user = app.user("profile");
    let empty = app.profile(&user);
    empty.expect_status(200);
    assert_eq!(empty.json(), json!({}));

    let put = app.put_profile(
        &user,
        &json!({"lang": "de", "prefs": {"sms": true, "email": false}}),
    );
    put.expect_status(200);
    let etag = put.header("etag").expect("ETag").to_string();
    let got = app.profile(&user);
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    assert_eq!(got.json()["prefs"]["sms"], true);

    let authed = app.client(&user);
    let patched = authed.request(
        "PATCH",
        "/api/v1/me/profile",
        &[("if-match", &etag)],
        Some(&json!({"prefs": {"email": null, "push": true}, "lang": "en"})),
    );
    patched.expect_status(200);
    assert_eq!(
        patched.json(),
        json!({"lang": "en", "prefs": {"sms": true, "push": true}})
    );
    assert_ne!(patched.header("etag"), Some(etag.as_str()));

    // The old tag is stale now.
    authed
        .request(
            "PUT",
            "/api/v1/me/profile",
            &[("if-match", &etag)],
            Some(&json!({"x": 1})),
        )
        .expect_problem(412, "precondition-failed");
    assert_eq!(app.profile(&user).json()["lang"], "en");
    app.api()
        .get("/api/v1/me/profile")
        .expect_problem(401, "unauthorized");
}

#[blackbox]
fn profile_rejects_non_objects_and_oversize() {
    let app = TestApp::shared();
    let user = app.user("profile-bad");
    app.put_profile(&user, &json!([1, 2]))
        .expect_problem(422, "validation-failed");
    app.put_profile(&user, &json!("text"))
        .expect_problem(422, "validation-failed");
    let big = json!({"blob": "x".repeat(70 * 1024)});
    app.put_profile(&user, &big)
        .expect_problem(413, "payload-too-large");
    // Up to 64 KiB is fine (bigger than the 16 KiB limit of other bodies).
    let fits = json!({"blob": "x".repeat(40 * 1024)});
    app.put_profile(&user, &fits).expect_status(200);
}

#[blackbox]
fn parallel_guesses_get_no_more_tries_than_sequential_ones() {
    let app = TestApp::shared();
    let user = app.user("parallel-guess");
    let base = app.api().base().to_string();
    let email = user.email.clone();
    let statuses = in_parallel(40, move |i| {
        Api::new(&base)
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": format!("wrong guess {i}")}),
            )
            .status
    });
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        (1..=5).contains(&checked),
        "{checked} guesses were checked: {statuses:?}"
    );
    assert_eq!(checked + refused, 40, "{statuses:?}");
    app.login_as(&user).expect_problem(429, "rate-limited");
}

#[blackbox]
fn concurrent_refreshes_spend_a_token_once() {
    let app = TestApp::shared();
    let user = app.user("refresh-race");
    let base = app.api().base().to_string();
    let token = user.refresh.clone();
    let answers = in_parallel(12, move |_| {
        let resp = Api::new(&base).post("/api/v1/auth/refresh", &json!({"refresh_token": token}));
        (
            resp.status,
            resp.json()["access_token"].as_str().map(String::from),
        )
    });
    let winners: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 401),
        "{answers:?}"
    );
    // The token is spent: presenting it again revokes the session, the winner's pair too.
    app.refresh(&user.refresh)
        .expect_problem(401, "unauthorized");
    let access = winners[0].1.as_deref().unwrap_or_default();
    app.me(access).expect_problem(401, "unauthorized");
}

/// Polls `check` for up to 15 s; the last answer is returned either way.
fn eventually<T>(mut check: impl FnMut() -> (bool, T)) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (done, value) = check();
        if done || std::time::Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

#[blackbox]
fn erasure_reaches_bookings_the_index_has_not_seen() {
    let app = TestApp::shared();
    let owner = app.owner("erase-race-owner");
    let stores: Vec<Store> = (0..3)
        .map(|_| app.store_open_all_day(&owner, 30, 5))
        .collect();
    let user = app.shopper("erase-race");
    let authed = app.client(&user);
    app.put_profile(&user, &json!({"likes": "bread"}))
        .expect_status(200);
    // Book and erase at once: the index (flushed ~200 ms after a booking) has not seen these.
    let bookings: Vec<(Store, String)> = stores
        .iter()
        .map(|store| {
            let slot = app.slot(store, 2, 3);
            let resp = authed.post(&store.path("/bookings"), &json!({"slot_start": slot}));
            resp.expect_status(201);
            (
                store.clone(),
                resp.json()["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    app.erase(&user).expect_status(204);

    // No token of the user works anywhere, at once.
    app.me(&user).expect_problem(401, "unauthorized");
    app.put_profile(&user, &json!({"likes": "cake"}))
        .expect_problem(401, "unauthorized");
    let slot = app.slot(&stores[0], 3, 1);
    authed
        .post(&stores[0].path("/bookings"), &json!({"slot_start": slot}))
        .expect_problem(401, "unauthorized");
    app.refresh(&user.refresh)
        .expect_problem(401, "unauthorized");

    // Within seconds every booking is cancelled in its store and no longer names the user.
    let staff = app.client(&owner);
    for (store, id) in &bookings {
        let booking = eventually(|| {
            let b = staff.get(&store.path(&format!("/bookings/{id}"))).json();
            (b["status"] == "cancelled", b)
        });
        assert_eq!(booking["status"], "cancelled", "{booking}");
        assert!(!booking.to_string().contains(&user.id), "{booking}");
    }
    // ... and no D1 row names the user again, also after the stores' outboxes ran.
    let naming = format!(
        "SELECT 'users' AS t FROM users WHERE id = '{id}'
         UNION ALL SELECT 'sessions' FROM sessions WHERE user_id = '{id}'
         UNION ALL SELECT 'index' FROM user_bookings WHERE user_id = '{id}'
         UNION ALL SELECT 'members' FROM store_members WHERE user_id = '{id}'",
        id = user.id
    );
    let rows = eventually(|| {
        let rows = app.d1_rows(&naming);
        (rows.is_empty(), rows)
    });
    assert!(rows.is_empty(), "rows still naming the user: {rows:?}");
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(app.d1_rows(&naming).is_empty());
    let profile = format!("profile:user:{}", user.id);
    assert!(app.kv_keys("DOCUMENTS", &profile).is_empty());
}
