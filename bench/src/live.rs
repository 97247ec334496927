//! Watchers of a store's live feed (`GET /api/v1/stores/{id}/live`) for the benchmark: each on
//! its own thread, noting when every `slot` message arrives.

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::{client, Message};

/// A `slot` message as it arrived: the item's start and when.
pub type Arrival = (String, Instant);

/// Connected watchers, reading until [`Watchers::finish`].
pub struct Watchers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<Vec<Arrival>, String>>>,
}

/// Opens `n` live feeds of `store` on the server at `base`; each has read its snapshot when
/// this returns.
pub fn connect(base: &str, store: &str, n: usize) -> Result<Watchers, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let authority = base.trim_start_matches("http://").to_string();
    let url = format!("ws://{authority}/api/v1/stores/{store}/live");
    let mut threads = Vec::with_capacity(n);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    for _ in 0..n {
        let (stop, authority, url, ready) = (
            stop.clone(),
            authority.clone(),
            url.clone(),
            ready_tx.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let opened = TcpStream::connect(&authority)
                .map_err(|e| e.to_string())
                .and_then(|stream| {
                    // Generous for the handshake; short afterwards, so `stop` is seen.
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .map_err(|e| e.to_string())?;
                    let (ws, _) =
                        client(url.as_str(), stream).map_err(|e| format!("handshake: {e}"))?;
                    ws.get_ref()
                        .set_read_timeout(Some(Duration::from_millis(200)))
                        .map_err(|e| e.to_string())?;
                    Ok(ws)
                });
            let mut ws = match opened {
                Ok(ws) => ws,
                Err(e) => {
                    let _ = ready.send(Err(e.clone()));
                    return Err(e);
                }
            };
            let mut arrivals = Vec::new();
            let mut announced = false;
            while !stop.load(Ordering::Relaxed) {
                match ws.read() {
                    Ok(Message::Text(text)) => {
                        let at = Instant::now();
                        let message: Value = serde_json::from_str(&text).unwrap_or_default();
                        if message["type"] == "snapshot" && !announced {
                            announced = true;
                            let _ = ready.send(Ok(()));
                        } else if message["type"] == "slot" {
                            let start = message["item"]["start"].as_str().unwrap_or_default();
                            arrivals.push((start.to_string(), at));
                        }
                    }
                    Ok(Message::Close(_)) => break,
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            let _ = ws.close(None);
            Ok(arrivals)
        }));
    }
    drop(ready_tx);
    for _ in 0..n {
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("a watcher could not connect: {e}")),
            Err(_) => return Err("watchers did not all receive their snapshot".to_string()),
        }
    }
    Ok(Watchers { stop, threads })
}

impl Watchers {
    /// Stops reading and answers every watcher's arrivals.
    pub fn finish(self) -> Result<Vec<Vec<Arrival>>, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .map(|t| t.join().map_err(|_| "a watcher panicked".to_string())?)
            .collect()
    }
}

/// For each booking `(slot start, request sent, 201 received)`, when each watcher first heard
/// of its slot after the request was sent: the delays from the request, how many arrived
/// before the 201, and how many never arrived.
pub fn delays(
    bookings: &[(String, Instant, Instant)],
    watchers: &[Vec<Arrival>],
) -> (Vec<Duration>, usize, usize) {
    let (mut delays, mut before_201, mut missing) = (Vec::new(), 0, 0);
    for (slot, sent, answered) in bookings {
        for arrivals in watchers {
            match arrivals
                .iter()
                .find(|(start, at)| start == slot && at >= sent)
            {
                Some((_, at)) => {
                    delays.push(*at - *sent);
                    if at < answered {
                        before_201 += 1;
                    }
                }
                None => missing += 1,
            }
        }
    }
    (delays, before_201, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_match_each_booking_to_its_first_later_message() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let bookings = vec![
            ("a".to_string(), at(10), at(30)),
            ("b".to_string(), at(40), at(50)),
        ];
        let watchers = vec![
            // An older message for `a` does not count; `b` arrives before its 201.
            vec![
                ("a".into(), at(5)),
                ("a".into(), at(35)),
                ("b".into(), at(45)),
            ],
            // Never heard of `b`.
            vec![("a".into(), at(20))],
        ];
        let (delays, early, missing) = delays(&bookings, &watchers);
        assert_eq!(delays, [25, 10, 5].map(Duration::from_millis).to_vec());
        assert_eq!((early, missing), (2, 1));
    }
}
