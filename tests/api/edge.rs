//! The edge: security headers on every kind of response, CORS on the public reads only, the
//! body limit for bodies of unknown length, and the request log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use safemarket_blackbox::{
    all_day_schedule, blackbox, register, store_with_schedule, unique_email, Resp,
};
use serde_json::{json, Value};

use crate::api;

const ORIGIN: (&str, &str) = ("origin", "https://partner.example");

/// Asserts the headers every response carries and returns its `Content-Security-Policy`.
#[track_caller]
fn assert_secure(resp: &Resp, what: &str) -> String {
    assert_eq!(
        resp.header("x-content-type-options"),
        Some("nosniff"),
        "{what}: {:?}",
        resp.headers
    );
    assert_eq!(
        resp.header("referrer-policy"),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    let csp = resp
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy: {:?}", resp.headers))
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    // Over plain http (wrangler dev) there is no HSTS; https deployments get it.
    assert_eq!(resp.header("strict-transport-security"), None, "{what}");
    csp
}

/// The value of one directive of a policy (`None` when absent).
fn directive<'a>(csp: &'a str, name: &str) -> Option<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.split_whitespace().next() == Some(name))
}

/// A page's policy: scripts from this origin only, none inline.
#[track_caller]
fn assert_page_policy(csp: &str, what: &str) {
    let scripts = directive(csp, "script-src").unwrap_or_else(|| panic!("{what}: {csp}"));
    assert_eq!(scripts, "script-src 'self'", "{what}: {csp}");
    assert!(
        directive(csp, "default-src").is_some_and(|d| !d.contains("unsafe")),
        "{what}: {csp}"
    );
}

/// The first `/css/...` stylesheet a page links (Hugo fingerprints its name).
fn stylesheet_of(html: &str) -> String {
    let start = html.find("/css/").expect("the page links a stylesheet");
    let rest = &html[start..];
    let end = rest.find(['"', '\'', ' ', '>']).unwrap_or(rest.len());
    rest[..end].to_string()
}

#[blackbox]
fn security_headers_on_every_kind_of_response() {
    let api = api();
    let home = api.get("/");
    home.expect_status(200);
    assert_page_policy(&assert_secure(&home, "site page"), "site page");
    let missing = api.get("/no/such/page/");
    assert_eq!(missing.status, 404);
    assert_page_policy(&assert_secure(&missing, "site 404 page"), "site 404 page");

    let css = api.get(&stylesheet_of(&home.text));
    css.expect_status(200);
    assert_secure(&css, "stylesheet");
    let icon = api.get("/favicon.svg");
    icon.expect_status(200);
    assert_secure(&icon, "favicon");
    let script = api.get("/api-docs/swagger-initializer.js");
    script.expect_status(200);
    assert_secure(&script, "script asset");

    let json = api.get("/api/v1/stores?lat=52.52&lon=13.40&radius_m=100");
    json.expect_status(200);
    assert_eq!(
        assert_secure(&json, "API JSON"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    let problem = api.get("/api/v1/no-such-thing");
    problem.expect_problem(404, "not-found");
    assert_eq!(
        assert_secure(&problem, "problem+json"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    let health = api.get("/api/health");
    assert_secure(&health, "health");

    let docs = api.get("/api/docs");
    docs.expect_status(200);
    assert_page_policy(&assert_secure(&docs, "Swagger UI"), "Swagger UI");
}

/// Every `<script>` of the site's pages and the Swagger UI page loads a file: a strict policy
/// (`script-src 'self'`) would block an inline one.
#[blackbox]
fn pages_run_no_inline_script() {
    let api = api();
    for path in [
        "/",
        "/de/",
        "/faq/",
        "/de/faq/",
        "/no/such/page/",
        "/api/docs",
    ] {
        let page = api.get(path);
        assert!(
            page.status == 200 || page.status == 404,
            "{path}: {}",
            page.status
        );
        let html = page.text.to_ascii_lowercase();
        assert!(html.contains("<html"), "{path} is a page");
        let mut rest = html.as_str();
        while let Some(i) = rest.find("<script") {
            let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
            let tag = &rest[i..tag_end];
            assert!(tag.contains("src="), "{path}: inline script {tag}");
            assert!(
                rest[tag_end..]
                    .trim_start_matches('>')
                    .starts_with("</script"),
                "{path}: a script with a src has no inline body: {tag}"
            );
            rest = &rest[tag_end..];
        }
        assert!(!html.contains("javascript:"), "{path}: javascript: URL");
    }
}

/// A store with a schedule and a profile; returns (owner, store id).
fn public_store() -> (safemarket_blackbox::TestUser, String) {
    let api = api();
    let owner = register(&api, "cors-owner");
    let store = store_with_schedule(&api, &owner, "Europe/Berlin", &all_day_schedule(60, 5));
    owner
        .api(&api)
        .put(
            &format!("/api/v1/stores/{store}/profile"),
            &json!({"about": "x"}),
        )
        .expect_status(200);
    (owner, store)
}

#[track_caller]
fn assert_no_cors(resp: &Resp, what: &str) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert_eq!(resp.header(name), None, "{what}: {name}");
    }
}

#[blackbox]
fn public_reads_answer_any_origin() {
    let api = api();
    let (_, store) = public_store();
    let day = safemarket_blackbox::utc_date_in(2);
    for path in [
        format!("/api/v1/stores/{store}"),
        "/api/v1/stores?lat=52.5219&lon=13.4132&radius_m=500".to_string(),
        format!("/api/v1/stores/{store}/schedule"),
        format!("/api/v1/stores/{store}/slots?from={day}&to={day}"),
        format!("/api/v1/stores/{store}/occupancy"),
        format!("/api/v1/stores/{store}/profile"),
        "/api/openapi.json".to_string(),
        // Errors of a public read are readable too.
        "/api/v1/stores/00000000-0000-4000-8000-000000000000".to_string(),
        format!("/api/v1/stores/{store}/slots?from=garbage"),
    ] {
        let resp = api.request("GET", &path, &[ORIGIN], None);
        assert!(resp.status < 500, "{path}: {}", resp.text);
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(
            resp.header("access-control-allow-credentials"),
            None,
            "{path}"
        );
    }
    let profile = api.request(
        "GET",
        &format!("/api/v1/stores/{store}/profile"),
        &[ORIGIN],
        None,
    );
    assert!(
        profile
            .header("access-control-expose-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("etag")),
        "a page can read the profile's ETag: {:?}",
        profile.headers
    );
}

#[blackbox]
fn authenticated_routes_send_no_cors() {
    let api = api();
    let (owner, store) = public_store();
    let as_owner = owner.api(&api);
    let legacy_id = api.get(&format!("/api/v1/stores/{store}")).json()["legacy_id"]
        .as_i64()
        .expect("legacy_id");
    let day = safemarket_blackbox::utc_date_in(2);
    let login = json!({"email": unique_email("cors"), "password": "wrong password!"});
    let cases: Vec<(&str, Resp)> = vec![
        ("me", as_owner.request("GET", "/api/v1/me", &[ORIGIN], None)),
        (
            "my stores",
            as_owner.request("GET", "/api/v1/me/stores", &[ORIGIN], None),
        ),
        (
            "login",
            api.request("POST", "/api/v1/auth/login", &[ORIGIN], Some(&login)),
        ),
        (
            "store update",
            as_owner.request(
                "PATCH",
                &format!("/api/v1/stores/{store}"),
                &[ORIGIN],
                Some(&json!({"name": "Renamed"})),
            ),
        ),
        (
            "day bookings",
            as_owner.request(
                "GET",
                &format!("/api/v1/stores/{store}/bookings?date={day}"),
                &[ORIGIN],
                None,
            ),
        ),
        (
            "api keys",
            as_owner.request(
                "GET",
                &format!("/api/v1/stores/{store}/api-keys"),
                &[ORIGIN],
                None,
            ),
        ),
        (
            "profile write",
            as_owner.request(
                "PATCH",
                &format!("/api/v1/stores/{store}/profile"),
                &[ORIGIN],
                Some(&json!({"about": "y"})),
            ),
        ),
        ("health", api.request("GET", "/api/health", &[ORIGIN], None)),
        (
            "legacy location",
            api.request(
                "GET",
                &format!("/api/Location/{legacy_id}"),
                &[ORIGIN],
                None,
            ),
        ),
    ];
    for (what, resp) in &cases {
        assert!(resp.status < 500, "{what}: {}", resp.text);
        assert_no_cors(resp, what);
    }
}

fn preflight(path: &str, method: &str) -> Resp {
    api().request(
        "OPTIONS",
        path,
        &[
            ORIGIN,
            ("access-control-request-method", method),
            ("access-control-request-headers", "if-none-match"),
        ],
        None,
    )
}

#[blackbox]
fn preflights_allow_only_the_public_reads() {
    let (_, store) = public_store();
    for (path, asked) in [
        (format!("/api/v1/stores/{store}"), "GET"),
        // Its PATCH and DELETE are the owner's: a page on another origin may not send them.
        (format!("/api/v1/stores/{store}"), "PATCH"),
        ("/api/v1/stores".to_string(), "POST"),
        (format!("/api/v1/stores/{store}/slots"), "GET"),
        (format!("/api/v1/stores/{store}/schedule"), "PUT"),
        (format!("/api/v1/stores/{store}/occupancy"), "GET"),
        (format!("/api/v1/stores/{store}/profile"), "GET"),
        ("/api/openapi.json".to_string(), "GET"),
    ] {
        let resp = preflight(&path, asked);
        resp.expect_status(204);
        assert!(resp.text.is_empty());
        assert_eq!(
            resp.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(
            resp.header("access-control-allow-methods"),
            Some("GET, HEAD, OPTIONS"),
            "{path} asked for {asked}"
        );
        assert!(
            resp.header("access-control-allow-headers")
                .is_some_and(|h| h.to_ascii_lowercase().contains("if-none-match")),
            "{path}: {:?}",
            resp.headers
        );
        assert!(
            resp.header("access-control-max-age")
                .and_then(|s| s.parse::<u32>().ok())
                .is_some_and(|s| s > 0),
            "{path}"
        );
        assert_eq!(resp.header("access-control-allow-credentials"), None);
    }
    for path in [
        "/api/v1/me".to_string(),
        "/api/v1/auth/login".to_string(),
        format!("/api/v1/stores/{store}/bookings"),
        format!("/api/v1/stores/{store}/bookings/by-code/ABCDEF"),
        format!("/api/v1/stores/{store}/api-keys"),
        format!("/api/v1/stores/{store}/members"),
        "/api/Location/1".to_string(),
        "/api/health".to_string(),
    ] {
        let resp = preflight(&path, "POST");
        assert_ne!(resp.status, 204, "{path}");
        assert!(resp.status < 500, "{path}: {}", resp.text);
        assert_no_cors(&resp, &path);
    }
}

/// Sends `POST path` with a chunked body of `total` bytes of JSON whitespace after `prefix`,
/// without the final chunk unless `finish`: a server that buffers the whole body before
/// checking its size never answers an unfinished one. Returns the response head and body.
///
/// A server that answers early closes while the client still sends; TCP may then reset the
/// connection (or see it closed) and drop the answer before it is read. That attempt proves
/// nothing either way, so it is repeated (a few times at most).
fn chunked_post(path: &str, prefix: &[u8], total: usize, finish: bool) -> (String, String) {
    let mut last = String::new();
    for _ in 0..5 {
        match chunked_post_once(path, prefix, total, finish) {
            Ok(answer) => return answer,
            Err(reset) => last = reset,
        }
    }
    panic!("every chunked POST {path} was reset before its answer was read: {last}");
}

fn chunked_post_once(
    path: &str,
    prefix: &[u8],
    total: usize,
    finish: bool,
) -> Result<(String, String), String> {
    let base = crate::shared().base.clone();
    let host = base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&host).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .expect("send head");
    let mut writer = conn.try_clone().expect("clone");
    let prefix = prefix.to_vec();
    // Written from another thread: a server that answers early may stop reading, and the
    // answer must still be read here.
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        let mut send = |chunk: &[u8]| -> std::io::Result<()> {
            write!(writer, "{:x}\r\n", chunk.len())?;
            writer.write_all(chunk)?;
            writer.write_all(b"\r\n")
        };
        send(&prefix)?;
        let filler = vec![b' '; 16 * 1024];
        let mut sent = prefix.len();
        while sent < total {
            let n = filler.len().min(total - sent);
            send(&filler[..n])?;
            sent += n;
        }
        if finish {
            writer.write_all(b"0\r\n\r\n")?;
        }
        writer.flush()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // Until the head and its Content-Length of body are in (or the server closes).
    loop {
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(usize::MAX);
            if body.len() >= length {
                break;
            }
        }
        match conn.read(&mut buf) {
            // Closed with nothing read: the answer was lost the way a reset loses it (the
            // server answered early and closed while the body was still arriving).
            Ok(0) if raw.is_empty() => {
                let _ = sender.join();
                return Err("closed before any answer".into());
            }
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) && Instant::now() < deadline => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                let _ = sender.join();
                return Err(format!("{e}; got {:?}", String::from_utf8_lossy(&raw)));
            }
            Err(e) => panic!(
                "no answer to the chunked POST {path}: {e}; got {:?}",
                String::from_utf8_lossy(&raw)
            ),
        }
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
    let _ = sender.join();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((head.to_string(), body.to_string()))
}

#[blackbox]
fn chunked_body_over_the_limit_is_refused_before_its_end() {
    // 1 MiB without Content-Length, and the body never ends: the answer must come from
    // counting what arrived, not from buffering the whole body first.
    let (head, body) = chunked_post("/api/v1/auth/register", b"{\"email\": ", 1 << 20, false);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert_eq!(
        problem["type"], "https://safemarket.dev/problems/payload-too-large",
        "{body}"
    );
    // The same when the client does finish its body.
    let (head, _) = chunked_post("/api/v1/auth/register", b"{\"email\": ", 1 << 20, true);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[blackbox]
fn chunked_body_within_the_limit_is_read() {
    let body = json!({"email": unique_email("chunked"), "password": "correct horse battery"});
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let (head, text) = chunked_post("/api/v1/auth/register", &bytes, 4 * 1024, true);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}\n{text}");
}

/// Our JSON log line of the request `request_id` (waits for the server's output).
fn log_line_of(request_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = crate::shared().log_text();
        let found = log.lines().find_map(|line| {
            let start = line.find('{')?;
            let value: Value = serde_json::from_str(&line[start..]).ok()?;
            (value["request_id"] == request_id && value.get("route").is_some()).then_some(value)
        });
        if let Some(value) = found {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "no log line for request {request_id}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[blackbox]
fn request_log_names_the_route_not_the_path() {
    let api = api();
    let secret = format!("ZQ{}", &uuid::Uuid::new_v4().simple().to_string()[..10]).to_uppercase();
    let store = uuid::Uuid::new_v4().to_string();
    for (path, route) in [
        (
            format!("/api/v1/stores/{store}/bookings/by-code/{secret}"),
            "/api/v1/stores/{store_id}/bookings/by-code/{code}",
        ),
        // A 405 by its path's pattern, an unknown path by a placeholder.
        (
            format!("/api/v1/stores/{store}/api-keys/{secret}"),
            "/api/v1/stores/{store_id}/api-keys/{key_id}",
        ),
        (format!("/api/v1/calendar/{secret}.ics/x"), "(unmatched)"),
    ] {
        let resp = api.get(&path);
        assert!(resp.status < 500, "{path}: {}", resp.text);
        let request_id = resp.header("x-request-id").expect("x-request-id");
        let line = log_line_of(request_id);
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["status"], resp.status, "{line}");
        let text = line.to_string();
        assert!(
            !text.contains(&secret) && !text.contains(&store),
            "the log line shows the path: {text}"
        );
    }
}
