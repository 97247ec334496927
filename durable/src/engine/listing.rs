//! The client's JSON of a slot listing, written in one pass.
//!
//! A 31-day listing at 10-minute slots has up to 4,464 items and about 665 KB of JSON. The
//! object writes that body itself and the Worker passes it through untouched, instead of the
//! object encoding typed [`SlotView`](crate::protocol::SlotView)s that the Worker decodes and
//! encodes again. Timestamps are written digit by digit; the exotic cases (offsets with
//! seconds, years outside `0000..=9999`) fall back to chrono's formatting so the output is
//! always exactly what serialising `SlotView`s produces.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::slots::{local_rfc3339, Slot};

/// `{"items":[{start, end, local_start, capacity, booked, available}, ...],"next_cursor":null}`
/// for `slots` (sorted by start), with `booked(slot)` people booked in each, as UTF-8 bytes
/// (the object sends them as the response body as they are).
pub fn render_slot_listing(
    slots: &[Slot],
    capacity: u32,
    tz: Tz,
    mut booked: impl FnMut(&Slot) -> u32,
) -> Vec<u8> {
    // About 150 bytes per item.
    let mut out = Vec::with_capacity(32 + slots.len() * 152);
    out.extend_from_slice(b"{\"items\":[");
    for (i, slot) in slots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let booked = booked(slot);
        out.extend_from_slice(b"{\"start\":\"");
        push_utc(&mut out, slot.start);
        out.extend_from_slice(b"\",\"end\":\"");
        push_utc(&mut out, slot.end);
        out.extend_from_slice(b"\",\"local_start\":\"");
        push_local(&mut out, slot.start, tz);
        out.extend_from_slice(b"\",\"capacity\":");
        push_u32(&mut out, capacity);
        out.extend_from_slice(b",\"booked\":");
        push_u32(&mut out, booked);
        out.extend_from_slice(b",\"available\":");
        push_u32(&mut out, capacity.saturating_sub(booked));
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":null}");
    out
}

/// `instant` as chrono serialises a `DateTime<Utc>` (RFC 3339, `Z`).
fn push_utc(out: &mut Vec<u8>, instant: DateTime<Utc>) {
    if instant.timestamp_subsec_nanos() != 0 || !push_wall(out, instant.timestamp()) {
        let text = instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'Z');
}

/// `instant` as store-local RFC 3339 with its offset, as [`local_rfc3339`] writes it.
fn push_local(out: &mut Vec<u8>, instant: DateTime<Utc>, tz: Tz) {
    let offset = tz
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc();
    if offset % 60 == 0
        && instant.timestamp_subsec_nanos() == 0
        && push_wall(out, instant.timestamp() + i64::from(offset))
    {
        let minutes = offset.unsigned_abs() / 60;
        out.push(if offset < 0 { b'-' } else { b'+' });
        push_2(out, minutes / 60);
        out.push(b':');
        push_2(out, minutes % 60);
        return;
    }
    out.extend_from_slice(local_rfc3339(instant, tz).as_bytes());
}

/// The wall-clock reading of `secs` (seconds since 1970-01-01T00:00 of that clock) as
/// `YYYY-MM-DDTHH:MM:SS`; `false` (and nothing written) for years outside `0000..=9999`.
/// Integer arithmetic (Howard Hinnant's `civil_from_days`) instead of chrono's calendar
/// types: a listing writes three of these per slot.
fn push_wall(out: &mut Vec<u8>, secs: i64) -> bool {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return false;
    }
    // All of these are now small and non-negative.
    let [year, month, day, of_day] = [year, month, day, of_day].map(|v| v as u32);
    push_2(out, year / 100);
    push_2(out, year % 100);
    out.push(b'-');
    push_2(out, month);
    out.push(b'-');
    push_2(out, day);
    out.push(b'T');
    push_2(out, of_day / 3600);
    out.push(b':');
    push_2(out, of_day / 60 % 60);
    out.push(b':');
    push_2(out, of_day % 60);
    true
}

/// Two decimal digits of `n` (`n < 100`).
fn push_2(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]);
}

/// `n` in decimal.
fn push_u32(out: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
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
                String::from_utf8(render_slot_listing(&slots, 7, tz, booked)).unwrap(),
                reference(&slots, 7, tz, booked),
                "{zone} {from}..{to}"
            );
        }
    }

    #[test]
    fn integers_are_decimal() {
        for n in [0, 7, 10, 99, 100, 4_294_967_295] {
            let mut out = Vec::new();
            push_u32(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn empty_listing() {
        assert_eq!(
            String::from_utf8(render_slot_listing(&[], 5, Tz::UTC, |_| 0)).unwrap(),
            r#"{"items":[],"next_cursor":null}"#
        );
    }

    proptest! {
        #[test]
        fn any_instant_formats_like_chrono(secs in -62_000_000_000i64..253_402_300_000i64, zone in 0usize..6) {
            let tz: Tz = ["UTC", "Europe/Berlin", "America/Caracas", "Asia/Kathmandu", "Africa/Monrovia", "Pacific/Kiritimati"][zone].parse().unwrap();
            let instant = DateTime::from_timestamp(secs, 0).unwrap();
            let mut out = Vec::new();
            push_utc(&mut out, instant);
            let out = String::from_utf8(out).unwrap();
            prop_assert_eq!(&out, &serde_json::to_value(instant).unwrap().as_str().unwrap().to_string());
            prop_assert_eq!(&out, &format_utc(instant));
            let mut local = Vec::new();
            push_local(&mut local, instant, tz);
            prop_assert_eq!(String::from_utf8(local).unwrap(), local_rfc3339(instant, tz));
        }
    }
}
