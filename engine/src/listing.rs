//! The client's JSON of a slot listing, written in one pass.
//!
//! A 31-day listing at 10-minute slots has up to 4,464 items and about 665 KB of JSON. The
//! object writes that body itself and the Worker passes it through untouched, instead of the
//! object encoding typed [`SlotView`](crate::protocol::SlotView)s that the Worker decodes and
//! encodes again. Timestamps are written digit by digit; the exotic cases (offsets with
//! seconds, years outside `0000..=9999`) fall back to chrono's formatting so the output is
//! always exactly what serialising `SlotView`s produces.

use crate::zone::Tz;
use chrono::{DateTime, NaiveDate, Offset, TimeZone, Utc};

use super::slots::{local_rfc3339, Slot};

/// People booked in each slot of a listing, counted by overlap (as every capacity decision
/// counts) from the bookings that hold places around the listed span, in one sweep instead of a
/// query per slot.
///
/// `held` are `(booked range, people)` pairs: one per booking, or already summed per distinct
/// range. Ask [`booked`](Self::booked) for the slots in order of start, as
/// [`slots_between`](super::slots_between) yields them; each range then enters and leaves the
/// running set once, so a 31-day listing costs one pass over slots and bookings. (Asked out of
/// order, the sweep starts over: still right, only slower.)
#[derive(Debug, Clone)]
pub struct OverlapSweep {
    /// By start.
    held: Vec<(Slot, u32)>,
    /// `held[..next]` have started before the end of some slot asked so far.
    next: usize,
    /// Of those, the ones that had not ended by the start of the last slot asked.
    running: Vec<(Slot, u32)>,
    last_start: Option<DateTime<Utc>>,
}

impl OverlapSweep {
    /// A sweep over `held`, in any order.
    pub fn new(mut held: Vec<(Slot, u32)>) -> Self {
        held.sort_unstable_by_key(|(range, _)| (range.start, range.end));
        Self {
            held,
            next: 0,
            running: Vec::new(),
            last_start: None,
        }
    }

    /// People of the held ranges that overlap `slot` (saturating at `u32::MAX`).
    pub fn booked(&mut self, slot: &Slot) -> u32 {
        if self.last_start.is_some_and(|last| slot.start < last) {
            self.next = 0;
            self.running.clear();
        }
        self.last_start = Some(slot.start);
        while let Some(entry) = self.held.get(self.next) {
            if entry.0.start >= slot.end {
                break;
            }
            self.running.push(*entry);
            self.next += 1;
        }
        // Ended before this slot: ended before every later one too (starts only grow).
        self.running.retain(|(range, _)| range.end > slot.start);
        self.running
            .iter()
            .filter(|(range, _)| range.overlaps(slot))
            .map(|(_, people)| *people)
            .fold(0u32, u32::saturating_add)
    }
}

/// The people counted in one slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotCounts {
    /// Booked (confirmed and checked in), by overlap.
    pub booked: u32,
    /// Held by open waiting-list offers, by overlap.
    pub held: u32,
    /// Waiting on the slot's waiting list.
    pub waiting: u32,
}

impl SlotCounts {
    /// Places neither booked nor held.
    pub fn available(&self, capacity: u32) -> u32 {
        capacity
            .saturating_sub(self.booked)
            .saturating_sub(self.held)
    }
}

/// `{"items":[{start, end, local_start, capacity, booked, held, waiting, available}, ...],
/// "next_cursor":null}` for `slots` (sorted by start), with `counts(slot)` for each, as UTF-8
/// bytes (the object sends them as the response body as they are).
pub fn render_slot_listing(
    slots: &[Slot],
    capacity: u32,
    tz: Tz,
    mut counts: impl FnMut(&Slot) -> SlotCounts,
) -> Vec<u8> {
    // About 150 bytes per item.
    let mut out = Vec::with_capacity(32 + slots.len() * 152);
    out.extend_from_slice(b"{\"items\":[");
    for (i, slot) in slots.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let counts = counts(slot);
        out.extend_from_slice(b"{\"start\":\"");
        push_utc(&mut out, slot.start);
        out.extend_from_slice(b"\",\"end\":\"");
        push_utc(&mut out, slot.end);
        out.extend_from_slice(b"\",\"local_start\":\"");
        push_local(&mut out, slot.start, tz);
        out.extend_from_slice(b"\",\"capacity\":");
        push_u32(&mut out, capacity);
        out.extend_from_slice(b",\"booked\":");
        push_u32(&mut out, counts.booked);
        out.extend_from_slice(b",\"held\":");
        push_u32(&mut out, counts.held);
        out.extend_from_slice(b",\"waiting\":");
        push_u32(&mut out, counts.waiting);
        out.extend_from_slice(b",\"available\":");
        push_u32(&mut out, counts.available(capacity));
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

/// The strong entity tag of a rendered listing of local dates `from..=to`: `instance` names
/// the object instance that rendered it (random per instance, so a restarted object never
/// repeats a tag of the one before) and `version` counts the writes that instance saw, so
/// any write that may change a count, the schedule or the zone gives the listing a new tag.
pub fn listing_etag(instance: u64, version: u64, from: NaiveDate, to: NaiveDate) -> String {
    format!("\"{instance:016x}-{version}-{from}-{to}\"")
}

/// Whether an `If-None-Match` header value names `etag` (RFC 9110 13.1.2: a list of tags
/// compared weakly, so `W/"x"` names `"x"`, and `*` names any current listing).
pub fn none_match_names(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag.strip_prefix("W/").unwrap_or(tag) == etag.strip_prefix("W/").unwrap_or(etag)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn etags_differ_by_instance_version_and_range() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let a = super::listing_etag(1, 7, d("2027-03-28"), d("2027-03-28"));
        assert_eq!(a, "\"0000000000000001-7-2027-03-28-2027-03-28\"");
        assert_ne!(
            a,
            super::listing_etag(2, 7, d("2027-03-28"), d("2027-03-28"))
        );
        assert_ne!(
            a,
            super::listing_etag(1, 8, d("2027-03-28"), d("2027-03-28"))
        );
        assert_ne!(
            a,
            super::listing_etag(1, 7, d("2027-03-28"), d("2027-03-29"))
        );
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = "\"ab-1-2027-03-28-2027-03-28\"";
        assert!(super::none_match_names(tag, tag));
        assert!(super::none_match_names(&format!("\"x\", W/{tag}"), tag));
        assert!(super::none_match_names("*", tag));
        assert!(!super::none_match_names(
            "\"ab-2-2027-03-28-2027-03-28\"",
            tag
        ));
        assert!(!super::none_match_names("", tag));
    }

    use super::*;
    use crate::protocol::SlotView;
    use crate::{format_utc, slots_between, Schedule};
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use serde_json::json;

    /// What the listing was before: typed views, serialised by serde.
    fn reference(
        slots: &[Slot],
        capacity: u32,
        tz: Tz,
        counts: impl Fn(&Slot) -> SlotCounts,
    ) -> String {
        let items: Vec<SlotView> = slots
            .iter()
            .map(|s| SlotView::new(*s, capacity, counts(s), tz))
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
        let booked = |s: &Slot| {
            let n = |m: i64| u32::try_from(s.start.timestamp().rem_euclid(m)).unwrap();
            SlotCounts {
                booked: n(9),
                held: n(4),
                waiting: n(5),
            }
        };
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
            let tz = crate::zone::tzdb::zone(zone);
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
            String::from_utf8(render_slot_listing(&[], 5, Tz::UTC, |_| {
                SlotCounts::default()
            }))
            .unwrap(),
            r#"{"items":[],"next_cursor":null}"#
        );
    }

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_798_761_600 + minute * 60, 0).unwrap()
    }

    fn range(from: i64, to: i64) -> Slot {
        Slot {
            start: at(from),
            end: at(to),
        }
    }

    #[test]
    fn sweep_counts_what_overlaps_each_slot() {
        // Hour slots 0-60, 60-120, 120-180; bookings kept from 30- and 45-minute schedules.
        let slots = [range(0, 60), range(60, 120), range(120, 180)];
        let held = vec![
            (range(30, 60), 2),   // inside the first
            (range(45, 90), 1),   // across the first two
            (range(120, 150), 4), // starts as the second ends: only the third
            (range(-30, 0), 8),   // ends as the first starts: none
            (range(170, 200), 3), // reaches into the third
        ];
        let mut sweep = OverlapSweep::new(held);
        let counts: Vec<u32> = slots.iter().map(|s| sweep.booked(s)).collect();
        assert_eq!(counts, [3, 1, 7]);
        // Asked again from the start, it starts over.
        assert_eq!(sweep.booked(&slots[0]), 3);
        assert_eq!(OverlapSweep::new(Vec::new()).booked(&slots[0]), 0);
    }

    #[test]
    fn sweep_of_a_steady_schedule_counts_per_slot() {
        // Bookings exactly on the slots: each slot counts its own, as before overlap counting.
        let slots = slots_between(
            &all_day(10),
            Tz::UTC,
            date("2026-12-01"),
            date("2026-12-01"),
        );
        let held: Vec<(Slot, u32)> = slots.iter().step_by(3).map(|s| (*s, 2)).collect();
        let mut sweep = OverlapSweep::new(held);
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(sweep.booked(slot), if i % 3 == 0 { 2 } else { 0 }, "{i}");
        }
    }

    proptest! {
        #[test]
        fn sweep_agrees_with_counting_each_slot(
            slot_len in 5i64..=240,
            offset in 0i64..240,
            held in prop::collection::vec((0i64..2_000, 5i64..=240, 1u32..10), 0..60),
        ) {
            let slots: Vec<Slot> = (0..)
                .map(|i| range(offset + i * slot_len, offset + (i + 1) * slot_len))
                .take_while(|s| s.end <= at(2_200))
                .collect();
            let held: Vec<(Slot, u32)> =
                held.into_iter().map(|(from, len, n)| (range(from, from + len), n)).collect();
            let mut sweep = OverlapSweep::new(held.clone());
            for slot in &slots {
                let naive: u32 = held.iter().filter(|(r, _)| r.overlaps(slot)).map(|(_, n)| n).sum();
                prop_assert_eq!(sweep.booked(slot), naive, "{:?}", slot);
            }
        }

        #[test]
        fn any_instant_formats_like_chrono(secs in -62_000_000_000i64..253_402_300_000i64, zone in 0usize..6) {
            let tz = crate::zone::tzdb::zone(["UTC", "Europe/Berlin", "America/Caracas", "Asia/Kathmandu", "Africa/Monrovia", "Pacific/Kiritimati"][zone]);
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
