//! The zone tables derived from the pinned chrono-tz (native builds only: the Worker never
//! links chrono-tz). `tzdata` writes them as assets; the tests read zones through them, so
//! every engine test runs against the same tables the Worker serves.

use chrono::{DateTime, Offset, TimeZone};

use super::{Tz, HEADER};

/// Instants probed from here (Unix seconds, 1800-01-01) ...
const PROBE_FROM: i64 = -5_364_662_400;
/// ... to here (2200-01-01); chrono-tz's tables change nothing outside (the tests check).
const PROBE_TO: i64 = 7_258_118_400;
/// Probe step: two offset changes closer than this with the same offset on both sides would
/// go unseen. The pinned tzdb has none: a 6-hour step gave the same tables for every zone,
/// and the tests compare every zone with chrono-tz at random instants.
const PROBE_STEP: i64 = 86_400;

/// chrono-tz's zone `name`, or `None` when it has none of that name.
pub fn chrono_zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}

/// Total offset (seconds east) of chrono-tz's `tz` at Unix second `utc`.
pub fn chrono_offset(tz: chrono_tz::Tz, utc: i64) -> i32 {
    match DateTime::from_timestamp(utc, 0) {
        Some(t) => tz
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
        None => 0,
    }
}

/// The table (module docs of [`super`]) of chrono-tz's `tz`.
pub fn table_of(tz: chrono_tz::Tz) -> String {
    use std::fmt::Write;
    let at = |utc| chrono_offset(tz, utc);
    let first = at(PROBE_FROM);
    let mut out = format!("{HEADER}\n{}\n{first}\n", tz.name());
    let (mut t, mut current) = (PROBE_FROM, first);
    while t < PROBE_TO {
        let next = (t + PROBE_STEP).min(PROBE_TO);
        if at(next) == current {
            t = next;
            continue;
        }
        // The first second in (t, next] with another offset.
        let (mut lo, mut hi) = (t, next);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if at(mid) == current {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        current = at(hi);
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{hi} {current}");
        t = hi;
    }
    out
}

/// The zone `name` read through its table (panics on a name chrono-tz does not know: for
/// tests and tools).
pub fn zone(name: &str) -> Tz {
    if let Some(known) = Tz::known(name) {
        return known;
    }
    let tz = chrono_zone(name).unwrap_or_else(|| panic!("chrono-tz has no zone {name}"));
    Tz::from_table(&table_of(tz)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every name chrono-tz knows, in its order (the content of `names.txt`).
pub fn all_names() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// The probed range, for the tests that check nothing changes outside it.
pub const PROBED: (i64, i64) = (PROBE_FROM, PROBE_TO);
