//! The per-api-key request budget: one [`KeyRateLimiter`] Durable Object per key id
//! (`KEY_LIMITER.idFromName(key_id)`). The same class keeps the public budgets of client
//! addresses (one instance per address, [`crate::public_window`], at [`PUBLIC_ADMIT_URL`]), so
//! they need no class of their own.
//!
//! A Durable Object runs one request's synchronous code at a time, so the check-and-count in
//! [`SlidingWindow::admit`] is exact however many requests of one key arrive at once, on one
//! machine under `wrangler dev` as on Cloudflare's network. The window is a sliding log of the
//! instants of the admitted requests: at most `limit` requests in any 60 s span, no double
//! burst at a window boundary. Refused requests are not counted, so a client that keeps
//! retrying while limited is not locked out longer.

use std::cell::RefCell;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use worker::{durable_object, wasm_bindgen, Date, DurableObject, Env, Request, Response, State};

use crate::meter::{self, Meter};
use crate::public_window::{PublicAdmit, PublicWindows, PUBLIC_ADMIT_URL};

/// Length of the window in milliseconds.
pub const WINDOW_MS: i64 = 60_000;
/// Path the Worker posts [`AdmitRequest`]s to (Durable Object stubs need a full URL).
pub const ADMIT_URL: &str = "https://limiter.internal/admit";
/// Storage key of the persisted window (so a restarted object keeps counting).
const STORAGE_KEY: &str = "window";
/// Storage key of an address's public windows.
const PUBLIC_KEY: &str = "public";

/// The Worker's question: may one more request of this key pass, at `limit` per window?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmitRequest {
    /// Requests allowed per window (the configured rate).
    pub limit: u32,
}

/// The object's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request may pass (it has been counted if so).
    pub allowed: bool,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// When refused: seconds until a request would pass again (1..=60); 0 when allowed.
    pub retry_after_secs: u64,
}

/// The instants (Unix ms) of the requests admitted within the last window, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlidingWindow {
    admitted: VecDeque<i64>,
}

impl SlidingWindow {
    /// Counts a request at `now_ms` if fewer than `limit` were admitted in the window ending
    /// now (`(now - 60 s, now]`), and otherwise says when the next one will pass.
    pub fn admit(&mut self, now_ms: i64, limit: u32) -> Decision {
        self.expire(now_ms);
        let used = self.admitted.len();
        let limit_len = usize::try_from(limit).unwrap_or(usize::MAX);
        if used < limit_len {
            self.admitted.push_back(now_ms);
            return Decision {
                allowed: true,
                remaining: u32::try_from(limit_len - used - 1).unwrap_or(u32::MAX),
                retry_after_secs: 0,
            };
        }
        // Room opens when enough of the oldest leave for `used` to drop below `limit` (more
        // than one when the limit was lowered while the window was full).
        let frees_room = self
            .admitted
            .get(used - limit_len)
            .copied()
            .unwrap_or(now_ms);
        Decision {
            allowed: false,
            remaining: 0,
            retry_after_secs: retry_after_secs(frees_room + WINDOW_MS - now_ms),
        }
    }

    /// Requests admitted in the window ending at `now_ms`.
    pub fn used(&mut self, now_ms: i64) -> usize {
        self.expire(now_ms);
        self.admitted.len()
    }

    fn expire(&mut self, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(WINDOW_MS);
        while self.admitted.front().is_some_and(|&at| at <= cutoff) {
            self.admitted.pop_front();
        }
    }
}

/// Whole seconds to wait for `ms` to pass, rounded up, within `1..=60` (a clock that stepped
/// back can make the raw figure larger than one window).
pub fn retry_after_secs(ms: i64) -> u64 {
    let secs = ms.clamp(1, WINDOW_MS).saturating_add(999) / 1000;
    u64::try_from(secs).unwrap_or(1)
}

/// One instance per api key: counts that key's requests over a sliding 60 s window.
#[durable_object]
pub struct KeyRateLimiter {
    state: State,
    /// Loaded from storage on the first request after the object started.
    window: RefCell<Option<SlidingWindow>>,
    /// An address's public windows (instances named `public:...`), loaded likewise.
    public: RefCell<Option<PublicWindows>>,
    /// The cost meter, when `COST_METER` is on (see [`crate::meter`]).
    meter: Option<Meter>,
}

impl DurableObject for KeyRateLimiter {
    fn new(state: State, env: Env) -> Self {
        let (state, _, meter) = meter::attach_object(state._inner(), env);
        Self {
            state: State::from(state),
            window: RefCell::new(None),
            public: RefCell::new(None),
            meter,
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let resp = if req.inner().url() == PUBLIC_ADMIT_URL {
            self.admit_public(req).await?
        } else {
            self.admit_key(req).await?
        };
        meter::stamp(self.meter.as_ref(), resp)
    }
}

impl KeyRateLimiter {
    /// One request of an api key (sliding log, persisted on every admitted request).
    async fn admit_key(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(input) = req.json::<AdmitRequest>().await else {
            return Response::error("expected an AdmitRequest", 400);
        };
        if self.window.borrow().is_none() {
            let stored = match self.state.storage().get::<SlidingWindow>(STORAGE_KEY).await {
                Ok(stored) => stored.unwrap_or_default(),
                Err(e) => {
                    log_error("cannot read the rate window", &e);
                    SlidingWindow::default()
                }
            };
            // A request that ran while this one awaited may have loaded it already: keep that.
            self.window.borrow_mut().get_or_insert(stored);
        }
        // From here to the decision there is no await: requests of this key are serialised.
        let now_ms = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
        let (decision, snapshot) = {
            let mut slot = self.window.borrow_mut();
            let window = slot.get_or_insert_with(SlidingWindow::default);
            let decision = window.admit(now_ms, input.limit);
            (decision, decision.allowed.then(|| window.clone()))
        };
        if let Some(window) = snapshot {
            if let Err(e) = self.state.storage().put(STORAGE_KEY, &window).await {
                log_error("cannot persist the rate window", &e);
            }
        }
        Response::from_json(&decision)
    }

    /// One public request of an address (fixed windows, persisted only when the reserved
    /// bound moves; see [`crate::public_window`]).
    async fn admit_public(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(input) = req.json::<PublicAdmit>().await else {
            return Response::error("expected a PublicAdmit", 400);
        };
        if self.public.borrow().is_none() {
            let stored = match self.state.storage().get::<PublicWindows>(PUBLIC_KEY).await {
                Ok(stored) => stored.unwrap_or_default().reloaded(),
                Err(e) => {
                    log_error("cannot read the public windows", &e);
                    PublicWindows::default()
                }
            };
            self.public.borrow_mut().get_or_insert(stored);
        }
        // No await from here to the decision: this address's requests are serialised.
        let now_ms = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
        let (decision, snapshot) = {
            let mut slot = self.public.borrow_mut();
            let windows = slot.get_or_insert_with(PublicWindows::default);
            let (decision, persist) = windows.of(input.bucket).admit(now_ms, input.limit);
            (decision, persist.then_some(*windows))
        };
        if let Some(windows) = snapshot {
            if let Err(e) = self.state.storage().put(PUBLIC_KEY, &windows).await {
                log_error("cannot persist the public windows", &e);
            }
        }
        Response::from_json(&decision)
    }
}

fn log_error(msg: &str, e: &worker::Error) {
    worker::console_error!(
        "{}",
        serde_json::json!({"level": "error", "msg": msg, "cause": e.to_string()})
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn admitted(w: &mut SlidingWindow, now: i64, limit: u32, n: usize) -> usize {
        (0..n).filter(|_| w.admit(now, limit).allowed).count()
    }

    #[test]
    fn admits_up_to_the_limit_then_refuses_with_retry_after() {
        let mut w = SlidingWindow::default();
        for i in 0..5u32 {
            let d = w.admit(T0 + i64::from(i) * 1000, 5);
            assert!(d.allowed);
            assert_eq!(d.remaining, 4 - i);
        }
        let refused = w.admit(T0 + 10_000, 5);
        assert_eq!(
            refused,
            Decision {
                allowed: false,
                remaining: 0,
                // The first request (at T0) leaves the window at T0 + 60 s.
                retry_after_secs: 50,
            }
        );
        // Refusals are not counted.
        assert_eq!(w.used(T0 + 10_000), 5);
    }

    #[test]
    fn the_window_slides_one_request_at_a_time() {
        let mut w = SlidingWindow::default();
        assert_eq!(admitted(&mut w, T0, 3, 2), 2);
        assert_eq!(admitted(&mut w, T0 + 30_000, 3, 2), 1);
        // Just before T0 + 60 s everything still counts; at it the first two leave.
        assert!(!w.admit(T0 + 59_999, 3).allowed);
        assert_eq!(admitted(&mut w, T0 + WINDOW_MS, 3, 3), 2);
        // No burst at a boundary: any 60 s span holds at most `limit`.
        assert!(!w.admit(T0 + 89_999, 3).allowed);
        assert!(w.admit(T0 + 90_000, 3).allowed);
    }

    #[test]
    fn a_lowered_limit_waits_for_enough_requests_to_leave() {
        let mut w = SlidingWindow::default();
        for i in 0..4 {
            assert!(w.admit(T0 + i * 10_000, 10).allowed);
        }
        // 4 admitted at 0, 10, 20, 30 s; with a limit of 2 the one at 20 s must leave first.
        let d = w.admit(T0 + 35_000, 2);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 45);
        assert!(w.admit(T0 + 80_001, 2).allowed);
    }

    #[test]
    fn retry_after_is_rounded_up_and_bounded() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1000), 1);
        assert_eq!(retry_after_secs(1001), 2);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(-5_000), 1);
        assert_eq!(retry_after_secs(10 * WINDOW_MS), 60);
    }

    #[test]
    fn zero_limit_refuses_everything_and_clock_steps_back_are_harmless() {
        let mut w = SlidingWindow::default();
        assert!(!w.admit(T0, 0).allowed);
        assert!(w.admit(T0, 1).allowed);
        let d = w.admit(T0 - 120_000, 1);
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 60);
    }

    #[test]
    fn window_and_wire_types_round_trip() {
        let mut w = SlidingWindow::default();
        w.admit(T0, 2);
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<SlidingWindow>(&json).unwrap(), w);
        let d = Decision {
            allowed: false,
            remaining: 0,
            retry_after_secs: 3,
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
    }
}
