//! The instants and dates a client may name: years 1970 to 9999.
//!
//! chrono parses far more (six-digit years such as `+262142-12-31`), and arithmetic near the
//! ends of its range overflows (a panic) or walks millions of days (a request that burns CPU
//! until the runtime cancels it). Every time a client sends is checked against this one
//! range when it is parsed, so nothing later has to care.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The first year a client may name.
pub const MIN_YEAR: i32 = 1970;
/// The last year a client may name.
pub const MAX_YEAR: i32 = 9999;

/// Whether a date is within the supported years.
pub fn date_ok(date: NaiveDate) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&date.year())
}

/// Whether an instant falls within the supported years (by its UTC date).
pub fn instant_ok(at: DateTime<Utc>) -> bool {
    date_ok(at.date_naive())
}

/// The message for a time outside the range.
pub const OUT_OF_RANGE: &str = "must be in the years 1970 to 9999";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_outside_1970_to_9999_are_refused() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert!(date_ok(d(1970, 1, 1)));
        assert!(date_ok(d(9999, 12, 31)));
        assert!(!date_ok(d(1969, 12, 31)));
        assert!(!date_ok(d(10_000, 1, 1)));
        assert!(!date_ok(d(262_142, 12, 31)));
        assert!(!instant_ok(DateTime::<Utc>::MAX_UTC));
        assert!(!instant_ok(DateTime::<Utc>::MIN_UTC));
    }
}
