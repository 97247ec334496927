//! The current time. `std::time::SystemTime::now()` panics on wasm32; chrono's `wasmbind`
//! feature reads the JS clock instead.

use chrono::{DateTime, Utc};

/// Now, in UTC.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Now as Unix seconds.
pub fn unix_now() -> i64 {
    now().timestamp()
}

/// Now as an RFC 3339 UTC string with second precision (`2026-12-01T09:00:00Z`).
pub fn now_rfc3339() -> String {
    safemarket_engine::format_utc(now())
}
