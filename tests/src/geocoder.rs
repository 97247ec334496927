//! A fake Nominatim-compatible geocoder: a real HTTP server on 127.0.0.1 in the test process,
//! answering `GET /search?q=<address>&format=json` according to a mode set per address.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the fake answers for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `200 [{"place_id": <id>}]`; a numeric id is sent as a JSON number.
    Found(String),
    /// `200 []`: no such address.
    Empty,
    /// `500`.
    ServerError,
    /// `200` with a body that is not JSON.
    BadJson,
    /// Answers found, but only after this long.
    Slow(Duration),
}

/// Place id answered for addresses without a mode.
pub const DEFAULT_PLACE_ID: &str = "4242";

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Request path without the query.
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
}

impl Seen {
    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    modes: HashMap<String, Mode>,
    seen: Vec<Seen>,
}

/// The running fake; its thread lives as long as the test process.
#[derive(Clone)]
pub struct FakeGeocoder {
    /// `http://127.0.0.1:<port>`, the value for `GEOCODER_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeGeocoder {
    /// Binds a free port and serves each connection on its own thread.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake geocoder");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let served = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = served.clone();
                thread::spawn(move || serve(stream, &state));
            }
        });
        FakeGeocoder { url, state }
    }

    /// Sets how the fake answers for `address` (exact `q`).
    pub fn set(&self, address: &str, mode: Mode) {
        if let Ok(mut s) = self.state.lock() {
            s.modes.insert(address.to_string(), mode);
        }
    }

    /// The requests received for `address` so far.
    pub fn seen_for(&self, address: &str) -> Vec<Seen> {
        self.state
            .lock()
            .map(|s| {
                s.seen
                    .iter()
                    .filter(|r| r.param("q") == Some(address))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    let address = seen.param("q").unwrap_or_default().to_string();
    let mode = state.lock().ok().and_then(|mut s| {
        s.seen.push(seen.clone());
        s.modes.get(&address).cloned()
    });
    let mode = mode.unwrap_or_else(|| Mode::Found(DEFAULT_PLACE_ID.into()));
    let (status, body) = match mode {
        Mode::Found(id) => (200, found(&id)),
        Mode::Empty => (200, "[]".to_string()),
        Mode::ServerError => (500, "{\"error\": \"down\"}".to_string()),
        Mode::BadJson => (200, "<html>maintenance</html>".to_string()),
        Mode::Slow(delay) => {
            thread::sleep(delay);
            (200, found(DEFAULT_PLACE_ID))
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    // The client may have given up (slow mode); nothing to do about a failed write.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn found(id: &str) -> String {
    let id = if id.chars().all(|c| c.is_ascii_digit()) {
        id.to_string()
    } else {
        format!("\"{id}\"")
    };
    format!(
        "[{{\"place_id\": {id}, \"lat\": \"52.5\", \"lon\": \"13.4\", \"display_name\": \"x\"}}]"
    )
}

/// Reads the request head (GET: no body) and parses its target.
fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let target = text.lines().next()?.split(' ').nth(1)?.to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Seen {
        path: path.to_string(),
        query: query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (form_decode(k), form_decode(v))
            })
            .collect(),
    })
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte).
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
