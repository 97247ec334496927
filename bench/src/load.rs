//! Closed-loop load: `clients` threads, each with its own keep-alive connection, issue requests
//! back to back until a request budget or a time budget runs out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::Agent;

/// Status recorded for a request that got no HTTP answer (connection refused, timeout, ...).
pub const TRANSPORT_ERROR: u16 = 0;

/// A client thread stops after this many transport errors in a row (the server is gone).
const MAX_CONSECUTIVE_ERRORS: usize = 20;

/// One HTTP/1.1 connection to the server under test, kept alive between requests.
pub struct Client {
    agent: Agent,
    base: String,
}

impl Client {
    /// A client for `base` (`http://127.0.0.1:<port>`).
    pub fn new(base: &str) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .max_idle_connections(4)
            .max_idle_connections_per_host(4)
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// `GET path` with an optional bearer token: status and body, or the transport error.
    pub fn get(&self, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let mut resp = req.call().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        // Read the whole body, or the connection cannot be reused.
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }

    /// `POST path` with a JSON body, optional bearer token and extra headers.
    pub fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, String), String> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut resp = req.send(body).map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}

/// Which request a client thread is about to send.
#[derive(Debug, Clone, Copy)]
pub struct Turn {
    /// The client thread (0..clients).
    pub client: usize,
    /// Requests all clients started before in this run (unique per request).
    pub global: usize,
}

/// One request of a run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// HTTP status, or [`TRANSPORT_ERROR`].
    pub status: u16,
    /// From sending the request to having read the whole response.
    pub latency: Duration,
    /// Whether the response arrived within the measured window (not while draining).
    pub in_window: bool,
}

/// Everything a run observed.
#[derive(Debug, Clone)]
pub struct Run {
    /// Client threads.
    pub clients: usize,
    /// The measured window: the time bound, or until the last response when the request
    /// budget ran out first. Rates count the responses that arrived within it (as `wrk`
    /// does), so requests still in flight at the time bound do not stretch the interval.
    pub window: Duration,
    /// From the common start to the last response (the window plus draining).
    pub elapsed: Duration,
    /// Every request, in no particular order.
    pub samples: Vec<Sample>,
    /// The first transport error seen, if any (for the failure message).
    pub first_error: Option<String>,
}

impl Run {
    /// A run with no requests yet (to [`merge`](Run::merge) rounds into).
    pub fn empty(clients: usize) -> Run {
        Run {
            clients,
            window: Duration::ZERO,
            elapsed: Duration::ZERO,
            samples: Vec::new(),
            first_error: None,
        }
    }

    /// Adds a later round of the same load: its requests and its time.
    pub fn merge(&mut self, round: Run) {
        self.window += round.window;
        self.elapsed += round.elapsed;
        self.samples.extend(round.samples);
        if self.first_error.is_none() {
            self.first_error = round.first_error;
        }
    }

    /// Requests answered with `status`.
    pub fn count(&self, status: u16) -> usize {
        self.samples.iter().filter(|s| s.status == status).count()
    }

    /// Requests answered with any status other than those in `expected`.
    pub fn unexpected(&self, expected: &[u16]) -> usize {
        self.samples
            .iter()
            .filter(|s| !expected.contains(&s.status))
            .count()
    }

    /// Requests answered with `status` within the measured window.
    pub fn count_in_window(&self, status: u16) -> usize {
        self.samples
            .iter()
            .filter(|s| s.status == status && s.in_window)
            .count()
    }

    /// `status` answers per second of the measured window.
    pub fn rate(&self, status: u16) -> f64 {
        per_second(self.count_in_window(status), self.window)
    }

    /// The `q`-quantile (0 < q <= 1, nearest rank) latency in milliseconds of `status` answers.
    pub fn percentile_ms(&self, status: u16, q: f64) -> f64 {
        let mut latencies: Vec<Duration> = self
            .samples
            .iter()
            .filter(|s| s.status == status)
            .map(|s| s.latency)
            .collect();
        percentile(&mut latencies, q).as_secs_f64() * 1000.0
    }

    /// A one-line account of the statuses seen, e.g. `201 x 5400, 409 x 3`.
    pub fn status_summary(&self) -> String {
        let mut counts: Vec<(u16, usize)> = Vec::new();
        for sample in &self.samples {
            match counts.iter_mut().find(|(s, _)| *s == sample.status) {
                Some((_, n)) => *n += 1,
                None => counts.push((sample.status, 1)),
            }
        }
        counts.sort_unstable();
        counts
            .iter()
            .map(|(s, n)| match *s {
                TRANSPORT_ERROR => format!("transport error x {n}"),
                s => format!("{s} x {n}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `n` per `elapsed`, 0 for an empty interval.
pub fn per_second(n: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Nearest-rank quantile of `values` (sorted in place); zero when empty.
pub fn percentile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Runs `send` from `clients` threads at once until `max_requests` were started or `max_time`
/// has passed, whichever comes first. `send` returns the HTTP status ([`TRANSPORT_ERROR`] when
/// there was no answer) and, optionally, an error text.
pub fn drive<F>(base: &str, clients: usize, max_requests: usize, max_time: Duration, send: F) -> Run
where
    F: Fn(&Client, Turn) -> Result<u16, String> + Sync,
{
    let started = AtomicUsize::new(0);
    let first_error: Mutex<Option<String>> = Mutex::new(None);
    let barrier = std::sync::Barrier::new(clients + 1);
    let (samples, t0, end) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let (send, started, barrier, first_error) =
                    (&send, &started, &barrier, &first_error);
                scope.spawn(move || {
                    let http = Client::new(base);
                    let mut samples = Vec::new();
                    let mut errors_in_a_row = 0;
                    barrier.wait();
                    let t0 = Instant::now();
                    loop {
                        if t0.elapsed() >= max_time {
                            break;
                        }
                        let global = started.fetch_add(1, Ordering::Relaxed);
                        if global >= max_requests {
                            break;
                        }
                        let sent = Instant::now();
                        let status = match send(&http, Turn { client, global }) {
                            Ok(status) => {
                                errors_in_a_row = 0;
                                status
                            }
                            Err(e) => {
                                errors_in_a_row += 1;
                                if let Ok(mut first) = first_error.lock() {
                                    first.get_or_insert(e);
                                }
                                TRANSPORT_ERROR
                            }
                        };
                        let done = Instant::now();
                        samples.push((status, done - sent, done));
                        if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS {
                            break;
                        }
                    }
                    (samples, Instant::now())
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let mut all = Vec::new();
        let mut end = t0;
        for handle in handles {
            match handle.join() {
                Ok((samples, finished)) => {
                    all.extend(samples);
                    end = end.max(finished);
                }
                Err(_) => {
                    if let Ok(mut first) = first_error.lock() {
                        first.get_or_insert_with(|| "a client thread panicked".to_string());
                    }
                }
            }
        }
        (all, t0, end)
    });
    let elapsed = end.saturating_duration_since(t0);
    let window = elapsed.min(max_time);
    let samples = samples
        .into_iter()
        .map(|(status, latency, done)| Sample {
            status,
            latency,
            in_window: done.saturating_duration_since(t0) <= window,
        })
        .collect();
    Run {
        clients,
        window,
        elapsed,
        samples,
        first_error: first_error.into_inner().unwrap_or(None),
    }
}

/// Runs `f(i)` for `i in 0..n` on `workers` threads and returns the results in order.
pub fn par_map<T: Send>(n: usize, workers: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let value = f(i);
                if let Ok(mut results) = results.lock() {
                    results[i] = Some(value);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.expect("every item was computed (a seeding thread panicked)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&mut v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&mut v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&mut v, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&mut [], 0.5), Duration::ZERO);
        assert_eq!(
            percentile(&mut [Duration::from_millis(7)], 0.99),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn par_map_keeps_order() {
        assert_eq!(
            par_map(10, 3, |i| i * 2),
            (0..10).map(|i| i * 2).collect::<Vec<_>>()
        );
    }
}
