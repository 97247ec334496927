//! The edge: the body limit for bodies of unknown length, and the request log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use safemarket_blackbox::unique_email;
use serde_json::{json, Value};

use crate::{api, TestFn};

pub const TESTS: &[(&str, TestFn)] = crate::tests![
    chunked_body_over_the_limit_is_refused_before_its_end,
    chunked_body_within_the_limit_is_read,
    request_log_names_the_route_not_the_path,
];

/// Sends `POST path` with a chunked body of `total` bytes of JSON whitespace after `prefix`,
/// without the final chunk unless `finish`: a server that buffers the whole body before
/// checking its size never answers an unfinished one. Returns the response head and body.
fn chunked_post(path: &str, prefix: &[u8], total: usize, finish: bool) -> (String, String) {
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
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) && Instant::now() < deadline => {}
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
    (head.to_string(), body.to_string())
}

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
