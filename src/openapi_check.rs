//! The OpenAPI document (`openapi/openapi.json`, hand-maintained) cannot drift from the route
//! table: these native tests fail when a `ROUTES` entry has no operation at the same path and
//! method, when the document has an operation that no route serves, or when an operation's
//! `operationId`, path parameters or error responses do not match what the route does.
//! (The contract test in `tests/api/contract.rs` then checks the responses against the document.)

use std::collections::BTreeSet;

use serde_json::Value;

use crate::router::{RouteId, ROUTES};

const DOCUMENT: &str = include_str!("../openapi/openapi.json");
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("openapi/openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/...`) to what it names.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {r}")),
            )
        }
        None => v,
    }
}

/// Every `(METHOD, path)` of the document with its operation.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        for (key, op) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                ops.push((key.to_uppercase(), path.clone(), op));
            }
        }
    }
    ops
}

/// The `{name}`s of a path pattern, in order.
fn path_params(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.split_once('}')))
        .map(|(name, _)| name)
        .collect()
}

/// `RouteId::GetBookingByCode` -> `getBookingByCode`.
fn operation_id(id: RouteId) -> String {
    let name = format!("{id:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn route_of(method: &str, path: &str) -> Option<RouteId> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.pattern == path)
        .map(|r| r.id)
}

#[test]
fn every_route_is_documented_and_every_operation_is_routed() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.pattern.to_string()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "openapi/openapi.json and src/router.rs ROUTES disagree:\n  routes without an operation: \
         {undocumented:?}\n  operations without a route: {unrouted:?}"
    );
}

#[test]
fn operation_ids_name_the_route() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let Some(id) = route_of(&method, &path) else {
            continue; // reported by the test above
        };
        assert_eq!(
            op["operationId"].as_str(),
            Some(operation_id(id).as_str()),
            "{method} {path}: operationId must be the RouteId in lowerCamelCase"
        );
    }
}

#[test]
fn path_parameters_match_the_pattern_exactly() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().unwrap_or_default().to_string()
            })
            .collect();
        let expected: BTreeSet<String> = path_params(&path).into_iter().map(String::from).collect();
        assert_eq!(declared, expected, "{method} {path}: path parameters");
    }
}

#[test]
fn errors_are_problem_documents_and_common_ones_are_listed() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        // A WebSocket (the live feed) succeeds with 101 Switching Protocols.
        assert!(
            responses.keys().any(|s| s.starts_with('2') || s == "101"),
            "{method} {path}: no success response"
        );
        for (status, response) in responses {
            let response = resolve(&doc, response);
            let is_error = status.starts_with('4') || status.starts_with('5');
            if is_error && path != "/api/health" {
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path}: {status} must be application/problem+json"
                );
            }
        }
        let has = |s: &str| responses.contains_key(s);
        if op.get("requestBody").is_some() {
            for s in ["400", "413", "415", "422"] {
                assert!(has(s), "{method} {path}: a body can be refused with {s}");
            }
        }
        let schemes: BTreeSet<&str> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|req| req.keys().map(String::as_str))
            .collect();
        for scheme in &schemes {
            assert!(
                doc["components"]["securitySchemes"].get(*scheme).is_some(),
                "{method} {path}: unknown security scheme {scheme}"
            );
        }
        if !schemes.is_empty() {
            assert!(
                has("401") && has("403"),
                "{method} {path}: authenticated operations list 401 and 403"
            );
        }
        if schemes.contains("apiKeyAuth") {
            assert!(
                has("429"),
                "{method} {path}: api keys are rate limited (429)"
            );
        }
    }
}

#[test]
fn operation_ids_are_unique_and_refs_resolve() {
    let doc = document();
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            seen.insert(id.to_string()),
            "{method} {path}: duplicate operationId {id}"
        );
    }
    // Every `$ref` anywhere in the document points at something.
    fn walk(doc: &Value, v: &Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("$ref") {
                    resolve(doc, v);
                }
                map.values().for_each(|v| walk(doc, v));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(doc, v)),
            _ => {}
        }
    }
    walk(&doc, &doc);
}

#[test]
fn cors_is_documented_exactly_on_the_public_reads() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let Some(route) = ROUTES
            .iter()
            .find(|r| r.method == method && r.pattern == path)
        else {
            continue; // reported by the routing test
        };
        let documented = op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(status, _)| status.starts_with('2'))
            .any(|(_, r)| {
                resolve(&doc, r)["headers"]
                    .get("Access-Control-Allow-Origin")
                    .is_some()
            });
        assert_eq!(
            documented, route.public_read,
            "{method} {path}: Access-Control-Allow-Origin documented on its success \
             response exactly when the route is a public read (router::public_get)"
        );
    }
}
