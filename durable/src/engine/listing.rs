//! The client's JSON of a slot listing, written in one pass.
//!
//! A 31-day listing at 10-minute slots has up to 4,464 items and about 665 KB of JSON. The
//! object writes that body itself and the Worker passes it through untouched, instead of the
//! object encoding typed [`SlotView`](crate::protocol::SlotView)s that the Worker decodes and
//! encodes again. Timestamps are written digit by digit; the exotic cases (offsets with
//! seconds, years outside `0000..=9999`) fall back to chrono's formatting so the output is
//! always exactly what serialising `SlotView`s produces.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::slots::{local_rfc3339, Slot};

/// `{"items":[{start, end, local_start, capacity, booked, available}, ...],"next_cursor":null}`
/// for `slots` (sorted by start), with `booked(slot)` people booked in each.
pub fn render_slot_listing(
    slots: &[Slot],
    capacity: u32,
    tz: Tz,
    mut booked: impl FnMut(&Slot) -> u32,
) -> String {
    // About 150 bytes per item.
    let mut out = String::with_capacity(32 + slots.len() * 152);
    out.push_str("{\"items\":[");
    for (i, slot) in slots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let booked = booked(slot);
        out.push_str("{\"start\":\"");
        push_utc(&mut out, slot.start);
        out.push_str("\",\"end\":\"");
        push_utc(&mut out, slot.end);
        out.push_str("\",\"local_start\":\"");
        push_local(&mut out, slot.start, tz);
        // Writing integers into a String cannot fail.
        let _ = write!(
            out,
            "\",\"capacity\":{capacity},\"booked\":{booked},\"available\":{}}}",
            capacity.saturating_sub(booked)
        );
    }
    out.push_str("],\"next_cursor\":null}");
    out
}

/// `instant` as chrono serialises a `DateTime<Utc>` (RFC 3339, `Z`).
fn push_utc(out: &mut String, instant: DateTime<Utc>) {
    if instant.timestamp_subsec_nanos() != 0 || !push_naive(out, instant.naive_utc()) {
        out.push_str(&instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        return;
    }
    out.push('Z');
}

/// `instant` as store-local RFC 3339 with its offset, as [`local_rfc3339`] writes it.
fn push_local(out: &mut String, instant: DateTime<Utc>, tz: Tz) {
    let naive = instant.naive_utc();
    let fixed = tz.offset_from_utc_datetime(&naive).fix();
    let offset = fixed.local_minus_utc();
    if offset % 60 == 0 && instant.timestamp_subsec_nanos() == 0 {
        if let Some(local) = naive.checked_add_offset(fixed) {
            if push_naive(out, local) {
                let minutes = offset.unsigned_abs() / 60;
                out.push(if offset < 0 { '-' } else { '+' });
                push_2(out, minutes / 60);
                out.push(':');
                push_2(out, minutes % 60);
                return;
            }
        }
    }
    out.push_str(&local_rfc3339(instant, tz));
}

/// `YYYY-MM-DDTHH:MM:SS`; `false` (and nothing written) for years outside `0000..=9999`.
fn push_naive(out: &mut String, t: NaiveDateTime) -> bool {
    let Ok(year) = u32::try_from(t.year()) else {
        return false;
    };
    if year > 9999 {
        return false;
    }
    push_2(out, year / 100);
    push_2(out, year % 100);
    out.push('-');
    push_2(out, t.month());
    out.push('-');
    push_2(out, t.day());
    out.push('T');
    push_2(out, t.hour());
    out.push(':');
    push_2(out, t.minute());
    out.push(':');
    push_2(out, t.second());
    true
}

/// Two decimal digits of `n` (`n < 100`).
fn push_2(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{format_utc, slots_between, Schedule};
    use crate::protocol::SlotView;
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use serde_json::json;

    /// What the listing was before: typed views, serialised by serde.
    fn reference(slots: &[Slot], capacity: u32, tz: Tz, booked: impl Fn(&Slot) -> u32) -> String {
        let items: Vec<SlotView> = slots
            .iter()
            .map(|s| SlotView {
                start: s.start,
                end: s.end,
                local_start: local_rfc3339(s.start, tz),
                capacity,
                booked: booked(s),
                available: capacity.saturating_sub(booked(s)),
            })
            .collect();
        #[derive(serde::Serialize)]
        struct Listing {
            items: Vec<SlotView>,
            next_cursor: Option<String>,
        }
        serde_json::to_string(&Listing {
            items,
            next_cursor: None,
        })
        .unwrap()
    }

    fn all_day(slot_minutes: u32) -> Schedule {
        let days: Vec<_> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| json!({"day": d, "open": "00:00", "close": "24:00"}))
            .collect();
        Schedule::from_json(&json!({
            "slot_minutes": slot_minutes, "capacity": 7, "horizon_days": 30,
            "max_active_bookings_per_user": 3, "weekly": days, "exceptions": []
        }))
        .unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn same_json_as_typed_views_across_dst_and_history() {
        let booked = |s: &Slot| u32::try_from(s.start.timestamp().rem_euclid(9)).unwrap();
        for (zone, from, to) in [
            ("Europe/Berlin", "2027-03-27", "2027-03-29"),
            ("Europe/Berlin", "2026-10-24", "2026-10-26"),
            ("Europe/Berlin", "1890-01-01", "1890-01-02"),
            ("America/St_Johns", "2026-11-01", "2026-11-02"),
            ("Asia/Kolkata", "2026-12-01", "2026-12-01"),
            ("Pacific/Chatham", "2027-04-03", "2027-04-05"),
            ("America/Los_Angeles", "0001-01-01", "0001-01-02"),
            ("Etc/GMT+12", "9999-12-30", "9999-12-31"),
            ("UTC", "2026-12-01", "2026-12-31"),
        ] {
            let tz: Tz = zone.parse().unwrap();
            let slots = slots_between(&all_day(10), tz, date(from), date(to));
            assert!(!slots.is_empty(), "{zone} {from}");
            assert_eq!(
                render_slot_listing(&slots, 7, tz, booked),
                reference(&slots, 7, tz, booked),
                "{zone} {from}..{to}"
            );
        }
    }

    #[test]
    fn empty_listing() {
        assert_eq!(
            render_slot_listing(&[], 5, Tz::UTC, |_| 0),
            r#"{"items":[],"next_cursor":null}"#
        );
    }

    proptest! {
        #[test]
        fn any_instant_formats_like_chrono(secs in -62_000_000_000i64..253_402_300_000i64, zone in 0usize..6) {
            let tz: Tz = ["UTC", "Europe/Berlin", "America/Caracas", "Asia/Kathmandu", "Africa/Monrovia", "Pacific/Kiritimati"][zone].parse().unwrap();
            let instant = DateTime::from_timestamp(secs, 0).unwrap();
            let mut out = String::new();
            push_utc(&mut out, instant);
            prop_assert_eq!(&out, &serde_json::to_value(instant).unwrap().as_str().unwrap().to_string());
            prop_assert_eq!(&out, &format_utc(instant));
            let mut local = String::new();
            push_local(&mut local, instant, tz);
            prop_assert_eq!(local, local_rfc3339(instant, tz));
        }
    }
}
