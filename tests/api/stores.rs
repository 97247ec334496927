//! Stores, staff and nearby search: create, read, update and close; members; the store profile
//! document; search ordered by distance with radius edges, categories and pagination; the
//! authorization matrix; account erasure of owners; the geocoder (against a fake Nominatim).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use safemarket_blackbox::geocoder::{FakeGeocoder, Mode, DEFAULT_PLACE_ID};
use safemarket_blackbox::{
    blackbox, guest, in_parallel, register, server, Api, Resp, Server, TestUser, TEST_JWT_SECRET,
};
use serde_json::{json, Value};

use crate::api;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// The placeholder owner of closed stores whose owner erased their account.
const ERASED_OWNER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A small PRNG (xorshift64*) seeded from a fresh UUID: different areas in every run.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Rng((uuid::Uuid::new_v4().as_u128() as u64) | 1)
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// A random point, so that tests running in parallel do not see each other's stores.
fn unique_area() -> (f64, f64) {
    let mut rng = Rng::new();
    (rng.range(-60.0, 60.0), rng.range(-170.0, 170.0))
}

fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let dl = (b.1 - a.1).to_radians();
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The point `north_m` metres north (exact along the meridian) and about `east_m` east of `p`.
fn offset(p: (f64, f64), north_m: f64, east_m: f64) -> (f64, f64) {
    let lat = p.0 + (north_m / EARTH_RADIUS_M).to_degrees();
    let lon = p.1 + (east_m / (EARTH_RADIUS_M * p.0.to_radians().cos())).to_degrees();
    (lat, lon)
}

fn store_body(name: &str, category: &str, at: (f64, f64)) -> Value {
    json!({
        "name": name,
        "category": category,
        "address": format!("{name} Street 1, 10115 Somewhere"),
        "latitude": at.0,
        "longitude": at.1,
        "timezone": "Europe/Berlin",
    })
}

#[track_caller]
fn create(as_owner: &Api, body: &Value) -> Value {
    let resp = as_owner.post("/api/v1/stores", body);
    resp.expect_status(201);
    resp.json()
}

/// A store of `owner` somewhere nobody else is; returns its id.
#[track_caller]
fn new_store(api: &Api, owner: &TestUser) -> String {
    let store = create(
        &owner.api(api),
        &store_body("Corner Shop", "other", unique_area()),
    );
    text(&store["id"])
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn store_path(id: &str) -> String {
    format!("/api/v1/stores/{id}")
}

fn members_path(id: &str) -> String {
    format!("/api/v1/stores/{id}/members")
}

fn profile_path(id: &str) -> String {
    format!("/api/v1/stores/{id}/profile")
}

/// `POST .../members` adding `email` as staff, as `client`.
#[track_caller]
fn add_member(client: &Api, store: &str, email: &str) -> Resp {
    client.post(
        &members_path(store),
        &json!({"email": email, "role": "staff"}),
    )
}

/// `DELETE .../members/{user_id}`, as `client`.
#[track_caller]
fn remove_member(client: &Api, store: &str, user_id: &str) -> Resp {
    client.delete(&format!("{}/{user_id}", members_path(store)))
}

#[track_caller]
fn add_staff(api: &Api, owner: &TestUser, store: &str, staff: &TestUser) {
    add_member(&owner.api(api), store, &staff.email).expect_status(201);
}

/// An owner, a staff member and their store (somewhere nobody else is).
#[track_caller]
fn staffed_store(api: &Api, tag: &str) -> (TestUser, TestUser, String) {
    let owner = register(api, &format!("{tag}-owner"));
    let staff = register(api, &format!("{tag}-staff"));
    let store = new_store(api, &owner);
    add_staff(api, &owner, &store, &staff);
    (owner, staff, store)
}

fn search_path(at: (f64, f64), radius_m: u32, extra: &str) -> String {
    format!(
        "/api/v1/stores?lat={}&lon={}&radius_m={radius_m}{extra}",
        at.0, at.1
    )
}

/// Every page of a search, following `next_cursor`; also returns the page sizes.
#[track_caller]
fn search_all(api: &Api, at: (f64, f64), radius_m: u32, extra: &str) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let resp = api.get(&search_path(at, radius_m, &format!("{extra}{after}")));
        resp.expect_status(200);
        let page = resp.json();
        let batch = page["items"].as_array().cloned().unwrap_or_default();
        sizes.push(batch.len());
        items.extend(batch);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (items, sizes),
        }
    }
    panic!("search did not end after 100 pages");
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|s| text(&s["id"])).collect()
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| text(&e["field"])).collect())
        .unwrap_or_default()
}

#[track_caller]
fn my_store_ids(api: &Api, user: &TestUser) -> Vec<(String, String)> {
    let resp = user.api(api).get("/api/v1/me/stores");
    resp.expect_status(200);
    resp.json()["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| (text(&s["id"]), text(&s["role"])))
                .collect()
        })
        .unwrap_or_default()
}

#[blackbox]
fn registered_user_creates_a_store_and_owns_it() {
    let api = api();
    let owner = register(&api, "owner");
    let at = unique_area();
    let mut body = store_body("  Bäckerei Schmidt ", "bakery", at);
    body["timezone"] = json!("America/New_York");
    body["address"] = json!(" Torstraße 1, 10119 Berlin ");
    let resp = owner.api(&api).post("/api/v1/stores", &body);
    resp.expect_status(201);
    let store = resp.json();
    let id = text(&store["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{store}");
    assert_eq!(resp.header("location"), Some(store_path(&id).as_str()));
    assert_eq!(store["name"], "Bäckerei Schmidt");
    assert_eq!(store["category"], "bakery");
    assert_eq!(store["address"], "Torstraße 1, 10119 Berlin");
    assert_eq!(
        (store["latitude"].as_f64(), store["longitude"].as_f64()),
        (Some(at.0), Some(at.1))
    );
    assert_eq!(store["timezone"], "America/New_York");
    assert_eq!(store["owner_id"], owner.id.as_str());
    assert!(store["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(store["legacy_id"].as_i64().is_some_and(|n| n > 0));
    assert_eq!(
        (store["verified"].clone(), store["place_id"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(
        (store["closed"].clone(), store["closed_at"].clone()),
        (json!(false), Value::Null)
    );

    let read = api.get(&store_path(&id));
    read.expect_status(200);
    assert_eq!(read.json(), store);
    // Ids are UUIDs in any spelling.
    assert_eq!(api.get(&store_path(&id.to_uppercase())).json(), store);
    assert_eq!(my_store_ids(&api, &owner), [(id, "owner".to_string())]);
    let second = create(
        &owner.api(&api),
        &store_body("Second", "other", unique_area()),
    );
    assert!(second["legacy_id"].as_i64() > store["legacy_id"].as_i64());
}

#[blackbox]
fn create_names_every_invalid_field() {
    let api = api();
    let owner = register(&api, "invalid");
    let authed = owner.api(&api);
    let all_bad = json!({"name": "   ", "category": "florist", "address": "",
        "latitude": 90.5, "longitude": -180.5, "timezone": "Mars/Olympus"});
    let problem = authed
        .post("/api/v1/stores", &all_bad)
        .expect_problem(422, "validation-failed");
    assert_eq!(
        error_fields(&problem),
        [
            "name",
            "category",
            "address",
            "latitude",
            "longitude",
            "timezone"
        ]
    );
    let mut mars = store_body("Mars Market", "other", unique_area());
    mars["timezone"] = json!("Mars/Olympus");
    let problem = authed
        .post("/api/v1/stores", &mars)
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem), ["timezone"]);
    let missing = authed
        .post("/api/v1/stores", &json!({}))
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&missing).len(), 6, "{missing}");
    let wrong_types = json!({"name": 5, "category": ["bakery"], "address": {}, "latitude": "52.5",
        "longitude": null, "timezone": 1});
    let problem = authed
        .post("/api/v1/stores", &wrong_types)
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem).len(), 6, "{problem}");
    let mut long = store_body(&"n".repeat(121), "other", unique_area());
    assert_eq!(
        error_fields(
            &authed
                .post("/api/v1/stores", &long)
                .expect_problem(422, "validation-failed")
        ),
        ["name"]
    );

    // The edges themselves are valid.
    long["name"] = json!("n".repeat(120));
    long["latitude"] = json!(-90.0);
    long["longitude"] = json!(180.0);
    authed.post("/api/v1/stores", &long).expect_status(201);
    authed
        .raw("POST", "/api/v1/stores", "application/json", b"{\"name\":")
        .expect_problem(400, "bad-request");
    authed
        .raw("POST", "/api/v1/stores", "text/plain", b"name=x")
        .expect_problem(415, "unsupported-media-type");
    authed
        .raw("POST", "/api/v1/stores", "application/json", b"[1, 2]")
        .expect_problem(422, "validation-failed");
    assert!(my_store_ids(&api, &owner).len() == 1);
}

#[blackbox]
fn guests_and_anonymous_callers_cannot_create_stores() {
    let api = api();
    let body = store_body("Nope", "other", unique_area());
    api.post("/api/v1/stores", &body)
        .expect_problem(401, "unauthorized");
    let (_, guest_token, _) = guest(&api);
    api.with_token(&guest_token)
        .post("/api/v1/stores", &body)
        .expect_problem(403, "forbidden");
}

#[blackbox]
fn unknown_and_malformed_store_ids_are_404() {
    let api = api();
    let owner = register(&api, "lost");
    let authed = owner.api(&api);
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [unknown.as_str(), "not-a-uuid", "1"] {
        api.get(&store_path(id)).expect_problem(404, "not-found");
        api.get(&profile_path(id)).expect_problem(404, "not-found");
        authed
            .patch(&store_path(id), &json!({"name": "x"}))
            .expect_problem(404, "not-found");
        authed
            .delete(&store_path(id))
            .expect_problem(404, "not-found");
        add_member(&authed, id, &owner.email).expect_problem(404, "not-found");
        authed
            .put(&profile_path(id), &json!({"a": 1}))
            .expect_problem(404, "not-found");
    }
    // Authentication comes first: anonymous callers learn nothing about ids.
    api.patch(&store_path(&unknown), &json!({}))
        .expect_problem(401, "unauthorized");
}

#[blackbox]
fn owner_updates_a_store_partially_with_the_same_rules() {
    let api = api();
    let owner = register(&api, "editor");
    let authed = owner.api(&api);
    let before = create(
        &authed,
        &store_body("Old Name", "supermarket", unique_area()),
    );
    let path = store_path(&text(&before["id"]));

    let resp = authed.patch(
        &path,
        &json!({"name": "  New Name ", "category": "pharmacy"}),
    );
    resp.expect_status(200);
    let after = resp.json();
    assert_eq!(
        (after["name"].clone(), after["category"].clone()),
        (json!("New Name"), json!("pharmacy"))
    );
    for unchanged in [
        "id",
        "address",
        "latitude",
        "longitude",
        "timezone",
        "owner_id",
        "created_at",
        "legacy_id",
    ] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    assert!(after["updated_at"].as_str() >= before["updated_at"].as_str());
    assert_eq!(api.get(&path).json(), after);

    let bad = json!({"name": "", "latitude": 91, "timezone": "Mars/Olympus"});
    let problem = authed
        .patch(&path, &bad)
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem), ["name", "latitude", "timezone"]);
    let problem = authed
        .patch(&path, &json!({"address": null}))
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem), ["address"]);
    authed
        .raw("PATCH", &path, "application/json", b"[]")
        .expect_problem(422, "validation-failed");
    let noop = authed.patch(&path, &json!({}));
    noop.expect_status(200);
    assert_eq!(noop.json()["name"], "New Name");
    let moved = authed.patch(
        &path,
        &json!({"latitude": -12.5, "longitude": 130.25, "timezone": "Australia/Darwin"}),
    );
    moved.expect_status(200);
    assert_eq!(moved.json()["timezone"], "Australia/Darwin");
    assert_eq!(moved.json()["latitude"], -12.5);
}

#[blackbox]
fn owner_adds_and_removes_staff() {
    let api = api();
    let owner = register(&api, "boss");
    let staff = register(&api, "clerk");
    let store = new_store(&api, &owner);
    let authed = owner.api(&api);
    let members = members_path(&store);

    let resp = authed.post(
        &members,
        &json!({"email": staff.email.to_uppercase(), "role": "staff"}),
    );
    resp.expect_status(201);
    let membership = resp.json();
    assert_eq!(membership["store_id"], store.as_str());
    assert_eq!(membership["user_id"], staff.id.as_str());
    assert_eq!(membership["email"], staff.email.to_lowercase());
    assert_eq!(membership["role"], "staff");
    assert!(membership["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    for email in [&staff.email, &owner.email] {
        authed
            .post(&members, &json!({"email": email, "role": "staff"}))
            .expect_problem(409, "already-member");
    }
    authed
        .post(
            &members,
            &json!({"email": safemarket_blackbox::unique_email("ghost"), "role": "staff"}),
        )
        .expect_problem(404, "not-found");
    for (body, fields) in [
        (json!({"email": staff.email, "role": "owner"}), vec!["role"]),
        (
            json!({"email": staff.email, "role": "manager"}),
            vec!["role"],
        ),
        (json!({"email": "nope", "role": "staff"}), vec!["email"]),
        (
            json!({"email": "nope", "role": "boss"}),
            vec!["email", "role"],
        ),
        (json!({"email": staff.email}), vec!["role"]),
    ] {
        let problem = authed
            .post(&members, &body)
            .expect_problem(422, "validation-failed");
        assert_eq!(error_fields(&problem), fields, "{body}");
    }

    assert_eq!(
        my_store_ids(&api, &staff),
        [(store.clone(), "staff".to_string())]
    );
    let staffed = staff.api(&api);
    staffed
        .put(&profile_path(&store), &json!({"by": "staff"}))
        .expect_status(200);

    authed
        .delete(&format!("{members}/{}", owner.id))
        .expect_problem(409, "owner-not-removable");
    for unknown in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        authed
            .delete(&format!("{members}/{unknown}"))
            .expect_problem(404, "not-found");
    }
    let removed = authed.delete(&format!("{members}/{}", staff.id));
    removed.expect_status(204);
    assert!(removed.text.is_empty());
    authed
        .delete(&format!("{members}/{}", staff.id))
        .expect_problem(404, "not-found");
    staffed
        .put(&profile_path(&store), &json!({"by": "staff"}))
        .expect_problem(403, "forbidden");
    assert!(my_store_ids(&api, &staff).is_empty());
}

#[blackbox]
fn store_profile_is_a_document_owner_and_staff_write() {
    let api = api();
    let (owner, staff, store) = staffed_store(&api, "profile");
    let path = profile_path(&store);

    let empty = api.get(&path);
    empty.expect_status(200);
    assert_eq!(empty.json(), json!({}));
    assert!(empty.header("etag").is_some());

    let put = staff.api(&api).put(
        &path,
        &json!({"note": "Masks welcome", "links": {"web": "https://x.example"}}),
    );
    put.expect_status(200);
    let etag = put.header("etag").expect("ETag").to_string();
    let read = api.get(&path);
    assert_eq!(
        (read.header("etag"), read.json()["note"].clone()),
        (Some(etag.as_str()), json!("Masks welcome"))
    );

    let patched = owner.api(&api).request(
        "PATCH",
        &path,
        &[("if-match", &etag)],
        Some(&json!({"links": {"web": null, "insta": "@shop"}})),
    );
    patched.expect_status(200);
    assert_eq!(
        patched.json(),
        json!({"note": "Masks welcome", "links": {"insta": "@shop"}})
    );
    owner
        .api(&api)
        .request("PUT", &path, &[("if-match", &etag)], Some(&json!({"x": 1})))
        .expect_problem(412, "precondition-failed");

    // `external` is reserved for partner documents.
    let problem = owner
        .api(&api)
        .put(&path, &json!({"external": {"maps": {}}}))
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem), ["external"]);
    owner
        .api(&api)
        .patch(&path, &json!({"external": null}))
        .expect_problem(422, "validation-failed");
    owner
        .api(&api)
        .raw("PUT", &path, "application/json", b"[1]")
        .expect_problem(422, "validation-failed");
    let big = json!({"blob": "x".repeat(70 * 1024)});
    owner
        .api(&api)
        .put(&path, &big)
        .expect_problem(413, "payload-too-large");
    assert_eq!(api.get(&path).json()["links"]["insta"], "@shop");
}

#[blackbox]
fn closing_keeps_the_store_readable_and_hides_it_from_search() {
    let api = api();
    let owner = register(&api, "closer");
    let staff = register(&api, "closer-staff");
    let at = unique_area();
    let authed = owner.api(&api);
    let closing = text(
        &create(
            &authed,
            &store_body("Closing", "bakery", offset(at, 100.0, 0.0)),
        )["id"],
    );
    let staying = text(
        &create(
            &authed,
            &store_body("Staying", "bakery", offset(at, 200.0, 0.0)),
        )["id"],
    );
    add_staff(&api, &owner, &closing, &staff);
    let found = |api: &Api| ids(&search_all(api, at, 1_000, "").0);
    assert_eq!(found(&api), [closing.clone(), staying.clone()]);

    let resp = authed.delete(&store_path(&closing));
    resp.expect_status(204);
    assert!(resp.text.is_empty());

    let read = api.get(&store_path(&closing));
    read.expect_status(200);
    assert_eq!(read.json()["closed"], true);
    assert!(read.json()["closed_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(found(&api), [staying]);

    authed
        .patch(&store_path(&closing), &json!({"name": "Reopened"}))
        .expect_problem(409, "store-closed");
    let newcomer = register(&api, "late");
    add_member(&authed, &closing, &newcomer.email).expect_problem(409, "store-closed");
    staff
        .api(&api)
        .put(&profile_path(&closing), &json!({"a": 1}))
        .expect_problem(409, "store-closed");
    api.get(&profile_path(&closing)).expect_status(200);
    // Revoking staff access and repeating the close stay possible.
    remove_member(&authed, &closing, &staff.id).expect_status(204);
    authed.delete(&store_path(&closing)).expect_status(204);
    let mine = authed.get("/api/v1/me/stores").json();
    let listed = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == closing.as_str())
        .cloned();
    assert_eq!(listed.map(|s| s["closed"].clone()), Some(json!(true)));
}

#[blackbox]
fn me_stores_lists_owned_and_staffed_stores_with_role() {
    let api = api();
    let alice = register(&api, "alice");
    let bob = register(&api, "bob");
    let a1 = new_store(&api, &alice);
    let a2 = new_store(&api, &alice);
    let b1 = new_store(&api, &bob);
    add_staff(&api, &bob, &b1, &alice);
    let owner = "owner".to_string();
    assert_eq!(
        my_store_ids(&api, &alice),
        [
            (a1.clone(), owner.clone()),
            (a2.clone(), owner.clone()),
            (b1.clone(), "staff".into())
        ]
    );
    assert_eq!(my_store_ids(&api, &bob), [(b1.clone(), owner)]);

    // Paginated in creation order.
    let first = alice.api(&api).get("/api/v1/me/stores?limit=2");
    first.expect_status(200);
    assert_eq!(ids(first.json()["items"].as_array().unwrap()), [a1, a2]);
    let cursor = text(&first.json()["next_cursor"]);
    let second = alice
        .api(&api)
        .get(&format!("/api/v1/me/stores?limit=2&cursor={cursor}"));
    assert_eq!(ids(second.json()["items"].as_array().unwrap()), [b1]);
    assert_eq!(second.json()["next_cursor"], Value::Null);
    alice
        .api(&api)
        .get("/api/v1/me/stores?limit=0")
        .expect_problem(422, "validation-failed");
    alice
        .api(&api)
        .get("/api/v1/me/stores?cursor=bogus")
        .expect_problem(400, "bad-request");
    api.get("/api/v1/me/stores")
        .expect_problem(401, "unauthorized");
}

/// The five kinds of caller of the authorization matrix, around one store.
struct Cast {
    api: Api,
    owner: TestUser,
    staff: TestUser,
    other: TestUser,
    guest_token: String,
    store: String,
}

impl Cast {
    fn new() -> Self {
        let api = api();
        let (owner, staff, store) = staffed_store(&api, "m");
        let other = register(&api, "m-other");
        let (_, guest_token, _) = guest(&api);
        Cast {
            api,
            owner,
            staff,
            other,
            guest_token,
            store,
        }
    }

    /// Anonymous, guest, other registered user, staff, owner.
    fn actors(&self) -> [(&'static str, Api); 5] {
        [
            ("anonymous", self.api.clone()),
            ("guest", self.api.with_token(&self.guest_token)),
            ("other user", self.other.api(&self.api)),
            ("staff", self.staff.api(&self.api)),
            ("owner", self.owner.api(&self.api)),
        ]
    }

    /// A new store of the owner, with the staff member added.
    fn fresh_store(&self) -> String {
        let store = new_store(&self.api, &self.owner);
        add_staff(&self.api, &self.owner, &store, &self.staff);
        store
    }

    /// A new staff member of the main store.
    fn fresh_staff(&self) -> TestUser {
        let user = register(&self.api, "m-extra");
        add_staff(&self.api, &self.owner, &self.store, &user);
        user
    }
}

type Call<'a> = Box<dyn Fn(&Api) -> Resp + 'a>;

#[blackbox]
fn authorization_matrix_for_every_store_route() {
    let cast = Cast::new();
    let s = cast.store.clone();
    let at = unique_area();
    let everyone = [200; 5];
    let owner_only = |ok: u16| [401, 403, 403, 403, ok];
    let members_too = [401, 403, 403, 200, 200];
    let cases: Vec<(&str, [u16; 5], Call)> = vec![
        ("GET store", everyone, Box::new(|a| a.get(&store_path(&s)))),
        (
            "PATCH store",
            owner_only(200),
            Box::new(|a| a.patch(&store_path(&s), &json!({"name": "Renamed"}))),
        ),
        (
            "DELETE store",
            owner_only(204),
            Box::new(|a| a.delete(&store_path(&cast.fresh_store()))),
        ),
        (
            "search",
            everyone,
            Box::new(|a| a.get(&search_path(at, 1_000, ""))),
        ),
        (
            "GET me/stores",
            [401, 200, 200, 200, 200],
            Box::new(|a| a.get("/api/v1/me/stores")),
        ),
        (
            "POST store",
            [401, 403, 201, 201, 201],
            Box::new(|a| a.post("/api/v1/stores", &store_body("M", "other", unique_area()))),
        ),
        (
            "POST member",
            owner_only(201),
            Box::new(|a| {
                let candidate = register(&cast.api, "m-candidate");
                add_member(a, &s, &candidate.email)
            }),
        ),
        (
            "DELETE member",
            owner_only(204),
            Box::new(|a| remove_member(a, &s, &cast.fresh_staff().id)),
        ),
        (
            "GET profile",
            everyone,
            Box::new(|a| a.get(&profile_path(&s))),
        ),
        (
            "PUT profile",
            members_too,
            Box::new(|a| a.put(&profile_path(&s), &json!({"v": 1}))),
        ),
        (
            "PATCH profile",
            members_too,
            Box::new(|a| a.patch(&profile_path(&s), &json!({"w": 2}))),
        ),
    ];
    let mut failures = Vec::new();
    for (route, expected, call) in &cases {
        for ((actor, client), want) in cast.actors().iter().zip(expected) {
            let resp = call(client);
            let is_problem = resp.header("content-type") == Some("application/problem+json");
            if resp.status != *want || (*want >= 400 && !is_problem) {
                failures.push(format!(
                    "{route} as {actor}: expected {want}, got {} {}",
                    resp.status, resp.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[blackbox]
fn staff_of_one_store_has_no_rights_on_another() {
    let api = api();
    let (owner_a, owner_b) = (register(&api, "own-a"), register(&api, "own-b"));
    let staff = register(&api, "staff-a");
    let (a, b) = (new_store(&api, &owner_a), new_store(&api, &owner_b));
    add_staff(&api, &owner_a, &a, &staff);
    let as_staff = staff.api(&api);
    as_staff
        .put(&profile_path(&a), &json!({"ok": true}))
        .expect_status(200);
    let renamed = json!({"name": "Mine"});
    let refused = [
        (
            "PUT profile of B",
            as_staff.put(&profile_path(&b), &json!({"ok": 1})),
        ),
        (
            "PATCH profile of B",
            as_staff.patch(&profile_path(&b), &json!({"ok": 1})),
        ),
        ("PATCH B", as_staff.patch(&store_path(&b), &renamed)),
        ("DELETE B", as_staff.delete(&store_path(&b))),
        ("add member to B", add_member(&as_staff, &b, &staff.email)),
        (
            "remove B's owner",
            remove_member(&as_staff, &b, &owner_b.id),
        ),
        // Staff run the door, not the store.
        ("PATCH A", as_staff.patch(&store_path(&a), &renamed)),
        ("DELETE A", as_staff.delete(&store_path(&a))),
    ];
    for (what, resp) in refused {
        assert_eq!(resp.status, 403, "{what}: {}", resp.text);
    }
}

#[blackbox]
fn erasing_an_owner_is_refused_until_their_stores_are_closed() {
    let api = api();
    let (owner, staff, store) = staffed_store(&api, "leaver");
    let authed = owner.api(&api);
    authed
        .put("/api/v1/me/profile", &json!({"keep": "me"}))
        .expect_status(200);

    let problem = authed
        .delete("/api/v1/me")
        .expect_problem(409, "owns-stores");
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|d| d.contains("close")));
    // Nothing was deleted.
    authed.get("/api/v1/me").expect_status(200);
    assert_eq!(authed.get("/api/v1/me/profile").json()["keep"], "me");

    // Staff leave freely; their membership goes with them.
    staff.api(&api).delete("/api/v1/me").expect_status(204);
    remove_member(&authed, &store, &staff.id).expect_problem(404, "not-found");

    authed.delete(&store_path(&store)).expect_status(204);
    authed.delete("/api/v1/me").expect_status(204);
    let closed = api.get(&store_path(&store));
    closed.expect_status(200);
    assert_eq!(closed.json()["owner_id"], ERASED_OWNER_ID);
    assert_eq!(closed.json()["closed"], true);
}

#[blackbox]
fn search_validates_its_parameters() {
    let api = api();
    let problem = api
        .get("/api/v1/stores")
        .expect_problem(422, "validation-failed");
    assert_eq!(error_fields(&problem), ["lat", "lon", "radius_m"]);
    for (query, field) in [
        ("lat=91&lon=0&radius_m=10", "lat"),
        ("lat=abc&lon=0&radius_m=10", "lat"),
        ("lat=0&lon=-181&radius_m=10", "lon"),
        ("lat=0&lon=NaN&radius_m=10", "lon"),
        ("lat=0&lon=0", "radius_m"),
        ("lat=0&lon=0&radius_m=0", "radius_m"),
        ("lat=0&lon=0&radius_m=50001", "radius_m"),
        ("lat=0&lon=0&radius_m=1.5", "radius_m"),
        ("lat=0&lon=0&radius_m=10&category=florist", "category"),
        ("lat=0&lon=0&radius_m=10&limit=0", "limit"),
        ("lat=0&lon=0&radius_m=10&limit=201", "limit"),
    ] {
        let problem = api
            .get(&format!("/api/v1/stores?{query}"))
            .expect_problem(422, "validation-failed");
        assert_eq!(error_fields(&problem), [field], "{query}");
    }
    for cursor in ["bogus", "eyJ4IjoxfQ"] {
        api.get(&format!(
            "/api/v1/stores?lat=0&lon=0&radius_m=10&cursor={cursor}"
        ))
        .expect_problem(400, "bad-request");
    }
    let ok = api.get("/api/v1/stores?lat=0&lon=0&radius_m=50000&limit=200&category=other");
    ok.expect_status(200);
    assert!(ok.json()["items"].is_array());
}

/// Creates the stores on a few threads, each with its owner; returns them in input order.
fn create_all(api: &Api, owners: &[TestUser], bodies: Vec<Value>) -> Vec<Value> {
    const THREADS: usize = 8;
    let bodies = Arc::new(bodies);
    let clients: Arc<Vec<Api>> = Arc::new(owners.iter().map(|o| o.api(api)).collect());
    let chunks = {
        let bodies = bodies.clone();
        in_parallel(THREADS, move |t| {
            (t..bodies.len())
                .step_by(THREADS)
                .map(|i| (i, create(&clients[i % clients.len()], &bodies[i])))
                .collect::<Vec<_>>()
        })
    };
    let mut created: Vec<(usize, Value)> = chunks.into_iter().flatten().collect();
    created.sort_by_key(|(i, _)| *i);
    created.into_iter().map(|(_, s)| s).collect()
}

#[blackbox]
fn search_over_500_stores_orders_pages_and_filters() {
    const RADIUS: u32 = 5_000;
    let api = api();
    let center = unique_area();
    let owners: Vec<TestUser> = (0..4).map(|_| register(&api, "seeder")).collect();
    let categories = ["supermarket", "bakery", "pharmacy", "other"];
    let mut rng = Rng::new();
    let mut bodies: Vec<Value> = (0..495)
        .map(|i| {
            let (r, angle) = (
                7_000.0 * rng.unit().sqrt(),
                rng.range(0.0, std::f64::consts::TAU),
            );
            let at = offset(center, r * angle.cos(), r * angle.sin());
            store_body(&format!("Store {i}"), categories[i % 4], at)
        })
        .collect();
    // Three stores at one spot (ordered by id), and one store 2 m inside and 2 m outside the radius.
    let tie = offset(center, 1_500.0, -700.0);
    bodies.extend((0..3).map(|i| store_body(&format!("Tie {i}"), "bakery", tie)));
    bodies.push(store_body(
        "Inside",
        "pharmacy",
        offset(center, f64::from(RADIUS) - 2.0, 0.0),
    ));
    bodies.push(store_body(
        "Outside",
        "pharmacy",
        offset(center, f64::from(RADIUS) + 2.0, 0.0),
    ));
    let created = create_all(&api, &owners, bodies);
    assert_eq!(created.len(), 500);

    let distance = |s: &Value| {
        haversine_m(
            center,
            (
                s["latitude"].as_f64().unwrap(),
                s["longitude"].as_f64().unwrap(),
            ),
        )
    };
    let expected = |category: Option<&str>| {
        let mut within: Vec<(f64, String)> = created
            .iter()
            .filter(|s| category.is_none_or(|c| s["category"] == c))
            .map(|s| (distance(s), text(&s["id"])))
            .filter(|(d, _)| *d <= f64::from(RADIUS))
            .collect();
        within.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        within.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    let ours: std::collections::HashSet<String> = created.iter().map(|s| text(&s["id"])).collect();
    let only_ours = |items: Vec<Value>| -> Vec<Value> {
        items
            .into_iter()
            .filter(|s| ours.contains(&text(&s["id"])))
            .collect()
    };

    // Ordering, distances and pagination across pages of 37 (ties span page boundaries).
    let (items, sizes) = search_all(&api, center, RADIUS, "&limit=37");
    let items = only_ours(items);
    let got = ids(&items);
    let unique: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "duplicates across pages");
    assert_eq!(got, expected(None), "order or membership differs");
    assert!(
        sizes.iter().rev().skip(1).all(|n| *n == 37),
        "page sizes {sizes:?}"
    );
    for s in &items {
        let reported = s["distance_m"].as_f64().expect("distance_m");
        assert!((reported - distance(s)).abs() < 0.2, "{s}");
    }
    let name_of = |id: &String| {
        created
            .iter()
            .find(|s| s["id"] == id.as_str())
            .map(|s| text(&s["name"]))
    };
    let names: Vec<String> = got.iter().filter_map(name_of).collect();
    assert!(names.contains(&"Inside".to_string()) && !names.contains(&"Outside".to_string()));
    let ties: Vec<&String> = got
        .iter()
        .filter(|id| name_of(id).is_some_and(|n| n.starts_with("Tie")))
        .collect();
    assert!(ties.windows(2).all(|w| w[0] < w[1]), "ties ordered by id");

    // Category filter.
    let (bakeries, _) = search_all(&api, center, RADIUS, "&category=bakery&limit=200");
    let bakeries = only_ours(bakeries);
    assert!(bakeries.iter().all(|s| s["category"] == "bakery"));
    assert_eq!(ids(&bakeries), expected(Some("bakery")));

    // The widest radius holds all 500, in pages of 200.
    let (all, sizes) = search_all(&api, center, 50_000, "&limit=200");
    assert_eq!(only_ours(all).len(), 500);
    assert!(sizes.len() >= 3 && sizes[0] == 200, "{sizes:?}");
}

#[blackbox]
fn search_never_fails_near_poles_or_the_antimeridian() {
    let api = api();
    let owner = register(&api, "edge");
    let authed = owner.api(&api);
    let east = text(
        &create(
            &authed,
            &store_body("Date Line East", "other", (-16.5, 179.999)),
        )["id"],
    );
    let polar = text(&create(&authed, &store_body("Pole", "other", (89.9995, 45.0)))["id"]);

    let across = api.get(&search_path((-16.5, -179.999), 1_000, ""));
    across.expect_status(200);
    let hits = across.json()["items"].as_array().cloned().unwrap();
    assert!(ids(&hits).contains(&east), "{hits:?}");
    let d = hits.iter().find(|s| s["id"] == east.as_str()).unwrap()["distance_m"]
        .as_f64()
        .unwrap();
    assert!((150.0..300.0).contains(&d), "{d}");

    let pole = api.get(&search_path((90.0, -120.0), 1_000, ""));
    pole.expect_status(200);
    assert!(ids(pole.json()["items"].as_array().unwrap()).contains(&polar));
    for (lat, lon) in [
        (90.0, 180.0),
        (-90.0, -180.0),
        (0.0, 180.0),
        (0.0, -180.0),
        (89.99, 179.99),
    ] {
        api.get(&search_path((lat, lon), 50_000, "&limit=200"))
            .expect_status(200);
    }
}

/// A `wrangler dev` with `GEOCODER_URL` pointing at a fake Nominatim in this process.
struct GeoServer {
    fake: FakeGeocoder,
    server: Server,
}

static GEO: OnceLock<GeoServer> = OnceLock::new();
/// Provider timeout of the geocoder server (the fake's slow mode waits longer).
const GEO_TIMEOUT_MS: u64 = 1_000;

fn geo() -> &'static GeoServer {
    GEO.get_or_init(|| {
        let fake = FakeGeocoder::start();
        let state = server::fresh_state_dir();
        server::apply_migrations(&state);
        let timeout = GEO_TIMEOUT_MS.to_string();
        let vars = [
            ("GEOCODER_URL", fake.url.as_str()),
            ("GEOCODER_TIMEOUT_MS", timeout.as_str()),
            ("JWT_SECRET", TEST_JWT_SECRET),
        ];
        let server = Server::start(&state, &vars);
        GeoServer { fake, server }
    })
}

/// Stops the servers this module started (statics are never dropped).
pub fn stop_servers() {
    if let Some(geo) = GEO.get() {
        geo.server.stop_ref();
    }
}

fn geo_address(tag: &str) -> String {
    format!("{tag} Straße {}, Berlin", uuid::Uuid::new_v4().simple())
}

fn with_address(address: &str) -> Value {
    let mut body = store_body("Geo Market", "supermarket", unique_area());
    body["address"] = json!(address);
    body
}

#[blackbox]
fn geocoder_verifies_a_known_address() {
    let geo = geo();
    let api = Api::new(&geo.server.base);
    let owner = register(&api, "geo-ok").api(&api);
    let address = geo_address("Known");
    geo.fake.set(&address, Mode::Found("98765".into()));
    let store = create(&owner, &with_address(&address));
    assert_eq!(
        (store["verified"].clone(), store["place_id"].clone()),
        (json!(true), json!("98765"))
    );
    let seen = geo.fake.seen_for(&address);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].path.as_str(), seen[0].param("format")),
        ("/search", Some("json"))
    );

    let named = geo_address("Named");
    geo.fake.set(&named, Mode::Found("N240109189".into()));
    assert_eq!(
        create(&owner, &with_address(&named))["place_id"],
        "N240109189"
    );
}

#[blackbox]
fn geocoder_refuses_an_unknown_address() {
    let geo = geo();
    let api = Api::new(&geo.server.base);
    let user = register(&api, "geo-unknown");
    let owner = user.api(&api);
    let nowhere = geo_address("Nowhere");
    geo.fake.set(&nowhere, Mode::Empty);
    let problem = owner
        .post("/api/v1/stores", &with_address(&nowhere))
        .expect_problem(422, "validation-failed");
    assert_eq!(
        problem["errors"],
        json!([{"field": "address", "message": "address not found"}])
    );
    assert!(my_store_ids(&api, &user).is_empty());

    let store = create(&owner, &with_address(&geo_address("Real")));
    let path = store_path(&text(&store["id"]));
    owner
        .patch(&path, &json!({"address": nowhere}))
        .expect_problem(422, "validation-failed");
    let unchanged = api.get(&path).json();
    assert_eq!(
        (unchanged["address"].clone(), unchanged["verified"].clone()),
        (store["address"].clone(), json!(true))
    );
}

#[blackbox]
fn geocoder_outage_leaves_stores_unverified_until_a_patch_retries() {
    let geo = geo();
    let api = Api::new(&geo.server.base);
    let owner = register(&api, "geo-down").api(&api);
    let slow = Duration::from_millis(GEO_TIMEOUT_MS * 4);
    for (tag, mode) in [
        ("Down", Mode::ServerError),
        ("Garbled", Mode::BadJson),
        ("Slow", Mode::Slow(slow)),
    ] {
        let address = geo_address(tag);
        geo.fake.set(&address, mode);
        let started = Instant::now();
        let store = create(&owner, &with_address(&address));
        let took = started.elapsed();
        assert!(
            took < slow - Duration::from_millis(500),
            "{tag}: took {took:?}"
        );
        assert_eq!(
            (store["verified"].clone(), store["place_id"].clone()),
            (json!(false), Value::Null),
            "{tag}"
        );

        // Once the provider is healthy, any update of the unverified store retries.
        geo.fake.set(&address, Mode::Found("555".into()));
        let path = store_path(&text(&store["id"]));
        let retried = owner.patch(&path, &json!({"name": "Retried"}));
        retried.expect_status(200);
        assert_eq!(
            (
                retried.json()["verified"].clone(),
                retried.json()["place_id"].clone()
            ),
            (json!(true), json!("555")),
            "{tag}"
        );
        // A verified store with an unchanged address is not looked up again.
        let asked = geo.fake.seen_for(&address).len();
        owner
            .patch(&path, &json!({"name": "Again"}))
            .expect_status(200);
        assert_eq!(geo.fake.seen_for(&address).len(), asked, "{tag}");
    }
    // A new address while the provider is down: accepted, unverified again.
    let store = create(&owner, &with_address(&geo_address("Moving")));
    assert_eq!(store["place_id"], DEFAULT_PLACE_ID);
    let elsewhere = geo_address("Elsewhere");
    geo.fake.set(&elsewhere, Mode::ServerError);
    let moved = owner.patch(
        &store_path(&text(&store["id"])),
        &json!({"address": elsewhere}),
    );
    moved.expect_status(200);
    assert_eq!(
        (
            moved.json()["verified"].clone(),
            moved.json()["place_id"].clone()
        ),
        (json!(false), Value::Null)
    );
}
