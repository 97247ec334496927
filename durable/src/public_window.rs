//! The public (no api key) request budget of one client address: two fixed 60 s windows,
//! writes and reads, kept by the address's [`crate::KeyRateLimiter`] instance
//! (`KEY_LIMITER.idFromName("public:" + sha256(address))`, see the Worker's `public_limit`).
//!
//! Exact while the object is in memory (one request's synchronous code at a time), and cheap
//! in storage: an object idle for 10 s may be hibernated and lose its memory, so the count must
//! survive in storage, but a storage write per request would cost a SQLite row written on
//! every public request (as much as the request itself). Instead each window persists an upper
//! bound, `reserved`, a tenth of the limit ahead of the count, and writes only when the count
//! passes it: at most about ten rows per window and address, one for a client that makes a
//! single request. An object that lost its memory resumes from `reserved`, so it can refuse up
//! to a tenth of the budget early, never admit more than the limit.

use serde::{Deserialize, Serialize};

use crate::limiter::{retry_after_secs, Decision, WINDOW_MS};

/// Path the Worker posts [`PublicAdmit`]s to.
pub const PUBLIC_ADMIT_URL: &str = "https://limiter.internal/public";

/// Which budget a public request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// Creating bookings, waiting-list entries, guest sessions, accounts and logins.
    Write,
    /// Everything else.
    Read,
}

/// The Worker's question: may one more request of this address pass in `bucket`?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAdmit {
    /// The budget it counts against.
    pub bucket: Bucket,
    /// Requests allowed per window in that budget (at least 1; a limit of 0 is never asked).
    pub limit: u32,
}

/// One fixed window: `count` requests admitted since `start_ms`, `reserved` of them persisted
/// as admitted (`reserved >= count` while in memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedWindow {
    /// When the window opened (Unix ms).
    pub start_ms: i64,
    /// Admitted in this window, as this instance knows it.
    #[serde(skip)]
    pub count: u32,
    /// The persisted upper bound of `count`.
    pub reserved: u32,
}

impl FixedWindow {
    /// Counts a request at `now_ms` against `limit`. Answers the decision and whether the
    /// window must be persisted before the answer is given (`reserved` moved).
    pub fn admit(&mut self, now_ms: i64, limit: u32) -> (Decision, bool) {
        // A new window when this one is over, or when the clock stepped back past its start.
        if now_ms >= self.start_ms.saturating_add(WINDOW_MS) || now_ms < self.start_ms {
            *self = FixedWindow {
                start_ms: now_ms,
                count: 0,
                reserved: 0,
            };
        }
        if self.count >= limit {
            let decision = Decision {
                allowed: false,
                remaining: 0,
                retry_after_secs: retry_after_secs(self.start_ms + WINDOW_MS - now_ms),
            };
            return (decision, false);
        }
        self.count += 1;
        let persist = self.count > self.reserved;
        if persist {
            self.reserved = limit.min(self.count - 1 + step(limit));
        }
        let decision = Decision {
            allowed: true,
            remaining: limit - self.count,
            retry_after_secs: 0,
        };
        (decision, persist)
    }

    /// The window as an instance that lost its memory reloads it: everything reserved counts.
    pub fn reloaded(self) -> Self {
        FixedWindow {
            count: self.reserved,
            ..self
        }
    }
}

/// How far `reserved` runs ahead of the count: a tenth of the limit, at least 1.
fn step(limit: u32) -> u32 {
    limit.div_ceil(10).max(1)
}

/// Both windows of one address, persisted together (one storage row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicWindows {
    /// The write budget.
    pub write: FixedWindow,
    /// The read budget.
    pub read: FixedWindow,
}

impl PublicWindows {
    /// The window of `bucket`.
    pub fn of(&mut self, bucket: Bucket) -> &mut FixedWindow {
        match bucket {
            Bucket::Write => &mut self.write,
            Bucket::Read => &mut self.read,
        }
    }

    /// Both windows as reloaded from storage (see [`FixedWindow::reloaded`]).
    pub fn reloaded(self) -> Self {
        PublicWindows {
            write: self.write.reloaded(),
            read: self.read.reloaded(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    #[test]
    fn admits_the_limit_per_window_then_refuses_until_it_ends() {
        let mut w = FixedWindow::default();
        for i in 0..60 {
            let (d, _) = w.admit(T0 + i * 100, 60);
            assert!(d.allowed, "request {i}");
        }
        let (refused, persist) = w.admit(T0 + 20_000, 60);
        assert!(!refused.allowed);
        assert!(!persist);
        assert_eq!(refused.retry_after_secs, 40);
        // The next window starts fresh.
        assert!(w.admit(T0 + WINDOW_MS, 60).0.allowed);
        assert_eq!(w.count, 1);
    }

    #[test]
    fn persists_about_ten_times_per_full_window() {
        let mut w = FixedWindow::default();
        let writes = (0..600).filter(|&i| w.admit(T0 + i, 600).1).count();
        assert_eq!(writes, 10);
        let mut w = FixedWindow::default();
        let writes = (0..60).filter(|&i| w.admit(T0 + i, 60).1).count();
        assert_eq!(writes, 10);
        // A single request is one write; a limit of 1 writes once too.
        let mut w = FixedWindow::default();
        assert!(w.admit(T0, 600).1);
        let mut w = FixedWindow::default();
        assert!(w.admit(T0, 1).1);
        assert!(!w.admit(T0 + 1, 1).0.allowed);
    }

    #[test]
    fn a_reloaded_window_never_admits_more_than_the_limit() {
        for lost_after in 0..=60u32 {
            let mut w = FixedWindow::default();
            for i in 0..lost_after {
                assert!(w.admit(T0 + i64::from(i), 60).0.allowed);
            }
            // What storage holds, as a new instance reads it.
            let stored: FixedWindow =
                serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
            let mut w = stored.reloaded();
            let more = (0..100)
                .filter(|&i| w.admit(T0 + 1_000 + i, 60).0.allowed)
                .count();
            let total = lost_after as usize + more;
            assert!(total <= 60, "lost after {lost_after}: {total} admitted");
            // At most a tenth of the budget (6) is lost to the reload.
            assert!(
                total >= 54,
                "lost after {lost_after}: only {total} admitted"
            );
        }
    }

    #[test]
    fn the_buckets_are_separate_and_a_clock_step_back_opens_a_window() {
        let mut both = PublicWindows::default();
        for i in 0..3 {
            assert!(both.of(Bucket::Write).admit(T0 + i, 3).0.allowed);
        }
        assert!(!both.of(Bucket::Write).admit(T0 + 5, 3).0.allowed);
        assert!(both.of(Bucket::Read).admit(T0 + 5, 3).0.allowed);
        assert!(both.of(Bucket::Write).admit(T0 - 1, 3).0.allowed);
        let json = serde_json::to_string(&PublicAdmit {
            bucket: Bucket::Read,
            limit: 5,
        })
        .unwrap();
        assert_eq!(json, r#"{"bucket":"read","limit":5}"#);
    }
}
