//! A real webhook receiver for the tests: an HTTP/1.1 server on 127.0.0.1 (std::net, one
//! thread per connection) that records every request and answers with scripted statuses.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// Request line path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Received {
    /// A header by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Statuses for the next requests; 200 once empty (or `always` if set).
    script: VecDeque<u16>,
    always: Option<u16>,
}

/// A running receiver; it stops accepting when the test process ends.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Receiver {
    /// A receiver answering `script` in order, then 200.
    pub fn start(script: &[u16]) -> Receiver {
        Self::spawn(script, None)
    }

    /// A receiver answering `status` to everything.
    pub fn always(status: u16) -> Receiver {
        Self::spawn(&[], Some(status))
    }

    fn spawn(script: &[u16], always: Option<u16>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let shared = Arc::new(Mutex::new(Shared {
            received: Vec::new(),
            script: script.iter().copied().collect(),
            always,
        }));
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            shared,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .lock()
            .map(|s| s.received.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `n` requests arrived (at most `timeout`); returns them all.
    #[track_caller]
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < timeout,
                "receiver got {} of {n} requests within {timeout:?}: {got:#?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until a request with event type `event_type` arrived; returns it.
    #[track_caller]
    pub fn wait_for_type(&self, event_type: &str, timeout: Duration) -> Received {
        let started = Instant::now();
        loop {
            if let Some(r) = self
                .received()
                .into_iter()
                .find(|r| r.json()["type"] == event_type)
            {
                return r;
            }
            assert!(
                started.elapsed() < timeout,
                "no {event_type} within {timeout:?}: {:#?}",
                self.received()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let status = {
            let mut s = shared.lock().expect("receiver state");
            s.received.push(Received {
                at: Instant::now(),
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let scripted = s.script.pop_front();
            s.always.or(scripted).unwrap_or(200)
        };
        let reply = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
        );
        writer.write_all(reply.as_bytes())?;
        writer.flush()?;
    }
}
