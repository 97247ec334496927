//! Slot expansion: turning a [`Schedule`]'s wall-clock intervals into instants in the store's
//! IANA time zone, correctly on DST change days.
//!
//! The rule: each opening interval of a local date maps its open and close to instants
//! (an ambiguous local time takes the earliest instant, a nonexistent one the first instant
//! after the gap, `24:00` is the next day's `00:00`), then slots step in *real* time from the
//! opening instant while a whole slot still fits before the closing instant. So a 24-hour day
//! with 60-minute slots has 23 slots on a spring-forward day and 25 on a fall-back day, and no
//! slot is ever labelled with a local time that does not exist.

use crate::zone::Tz;
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::{Schedule, WallTime};

/// One bookable slot, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// First instant of the slot.
    pub start: DateTime<Utc>,
    /// First instant after the slot.
    pub end: DateTime<Utc>,
}

impl Slot {
    /// Whether `instant` lies in `[start, end)`.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }

    /// Real length of the slot.
    pub fn duration(&self) -> TimeDelta {
        self.end.signed_duration_since(self.start)
    }

    /// Whether the two half-open ranges share an instant (`[10:00, 10:30)` and
    /// `[10:30, 11:00)` do not).
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The longest a slot, and so a booking, can last: schedule validation caps slot lengths, and
/// slots step in real time, so even on DST days a slot is exactly its schedule's length.
/// Overlap queries use it to bound a search by start instant: a booking that overlaps `[s, e)`
/// starts after `s - MAX_SLOT_LENGTH`.
pub const MAX_SLOT_LENGTH: TimeDelta =
    TimeDelta::minutes(*super::schedule::SLOT_MINUTES_RANGE.end() as i64);

/// Widest UTC offset any zone has had (LMT offsets reach about ±16 h); used to bound the
/// search for the end of a DST gap.
const MAX_OFFSET_SECONDS: i64 = 26 * 3600;

/// The instant a store-local wall-clock time denotes: the earliest one when the time occurs
/// twice (fall back), the first instant after the gap when it does not occur (spring forward).
/// `None` only at the edges of chrono's representable range.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first instant whose local wall-clock reading is at or after `local` (which lies in a
/// gap): that is the instant the clocks jump forward past it.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let target = local.and_utc().timestamp();
    let local_seconds = |t: i64| -> Option<i64> {
        let instant = DateTime::from_timestamp(t, 0)?;
        let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
        Some(t + i64::from(offset.local_minus_utc()))
    };
    // Invariant: local(lo) < target <= local(hi). Every instant whose local time is `target`
    // lies within the widest offset of it, so these bounds hold for every real zone.
    let mut lo = target.checked_sub(MAX_OFFSET_SECONDS)?;
    let mut hi = target.checked_add(MAX_OFFSET_SECONDS)?;
    if local_seconds(lo)? >= target || local_seconds(hi)? < target {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_seconds(mid)? >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// The instant of wall time `time` on local `date` (`24:00` is the next day's midnight).
/// The instant of wall time `time` on local date `date` (`24:00` is the next midnight).
pub fn wall_instant(tz: Tz, date: NaiveDate, time: WallTime) -> Option<DateTime<Utc>> {
    let local = date
        .and_time(chrono::NaiveTime::MIN)
        .checked_add_signed(TimeDelta::minutes(i64::from(time.minutes())))?;
    local_to_utc(tz, local)
}

/// The slots of local date `date`, sorted by start.
pub fn day_slots(schedule: &Schedule, tz: Tz, date: NaiveDate) -> Vec<Slot> {
    let step = schedule.slot_duration();
    let mut slots = Vec::new();
    for interval in schedule.intervals_on(date) {
        let (Some(open), Some(close)) = (
            wall_instant(tz, date, interval.open()),
            wall_instant(tz, date, interval.close()),
        ) else {
            continue;
        };
        let mut start = open;
        while let Some(end) = start.checked_add_signed(step) {
            if end > close {
                break;
            }
            slots.push(Slot { start, end });
            start = end;
        }
    }
    slots.sort();
    // Intervals are disjoint in wall time and the wall-to-instant mapping never goes
    // backwards, so this drops nothing in practice; it guarantees disjoint slots regardless.
    let mut last_end: Option<DateTime<Utc>> = None;
    slots.retain(|s| {
        let keep = last_end.is_none_or(|e| s.start >= e);
        if keep {
            last_end = Some(s.end);
        }
        keep
    });
    slots
}

/// The slots of the local dates `from..=to`, sorted by start (empty when `from > to`).
///
/// The work is proportional to the number of days: callers bound the range (the API allows
/// at most 31 days).
pub fn slots_between(schedule: &Schedule, tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<Slot> {
    let mut slots = Vec::new();
    let mut date = from;
    while date <= to {
        slots.extend(day_slots(schedule, tz, date));
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    slots
}

/// The local dates whose slots may contain or start at `instant`: its own local date and the
/// neighbours (a slot of one date can carry another date's local label around DST changes
/// at midnight).
fn candidate_dates(tz: Tz, instant: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
    let date = local_naive(tz, instant).map(|l| l.date());
    [
        date.and_then(|d| d.pred_opt()),
        date,
        date.and_then(|d| d.succ_opt()),
    ]
    .into_iter()
    .flatten()
}

/// `instant`'s local wall-clock time, `None` where it falls outside chrono's range (chrono's
/// own conversions panic there, and the instant may come from a request).
fn local_naive(tz: Tz, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant.naive_utc().checked_add_offset(offset)
}

/// The slot that starts exactly at `start`, if the schedule offers one.
pub fn slot_at(schedule: &Schedule, tz: Tz, start: DateTime<Utc>) -> Option<Slot> {
    candidate_dates(tz, start)
        .flat_map(|d| day_slots(schedule, tz, d))
        .find(|s| s.start == start)
}

/// The slot in progress at `now` (`start <= now < end`), if the store is open then.
pub fn current_slot(schedule: &Schedule, tz: Tz, now: DateTime<Utc>) -> Option<Slot> {
    candidate_dates(tz, now)
        .flat_map(|d| day_slots(schedule, tz, d))
        .find(|s| s.contains(now))
}

/// The instants `[start, end)` of local date `date`: from its first to the next date's first
/// instant (for "the day's bookings"). `None` only at the edges of the representable range.
pub fn local_day_bounds(tz: Tz, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = wall_instant(tz, date, WallTime::MIDNIGHT)?;
    let end = wall_instant(tz, date, WallTime::END_OF_DAY)?;
    Some((start, end))
}

/// `instant` as store-local RFC 3339 with its offset, e.g. `2026-12-01T10:00:00+01:00`.
///
/// At the very edges of the representable range, where the local time does not exist, the
/// UTC form is returned instead of panicking.
pub fn local_rfc3339(instant: DateTime<Utc>, tz: Tz) -> String {
    if local_naive(tz, instant).is_none() {
        return format_utc(instant);
    }
    instant
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// `instant` as UTC RFC 3339 with seconds precision, e.g. `2026-12-01T09:00:00Z`.
pub fn format_utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(
        slot_minutes: u32,
        weekly: serde_json::Value,
        exceptions: serde_json::Value,
    ) -> Schedule {
        Schedule::from_json(&json!({
            "slot_minutes": slot_minutes,
            "capacity": 5,
            "horizon_days": 30,
            "max_active_bookings_per_user": 2,
            "weekly": weekly,
            "exceptions": exceptions,
        }))
        .unwrap()
    }

    fn all_week(open: &str, close: &str) -> serde_json::Value {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        json!(days
            .iter()
            .map(|d| json!({"day": d, "open": open, "close": close}))
            .collect::<Vec<_>>())
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn labels(slots: &[Slot], tz: Tz) -> Vec<String> {
        slots.iter().map(|s| local_rfc3339(s.start, tz)).collect()
    }

    fn assert_contiguous(slots: &[Slot], minutes: i64) {
        for s in slots {
            assert_eq!(s.duration(), TimeDelta::minutes(minutes));
        }
        for w in slots.windows(2) {
            assert_eq!(w[0].end, w[1].start, "gap or overlap between {w:?}");
        }
    }

    fn berlin() -> Tz {
        crate::zone::tzdb::zone("Europe/Berlin")
    }

    #[test]
    fn berlin_spring_forward_day_has_23_hourly_slots_and_no_2am() {
        let s = schedule(60, all_week("00:00", "24:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2027-03-28"));
        assert_eq!(slots.len(), 23);
        assert_contiguous(&slots, 60);
        assert_eq!(slots[0].start, utc("2027-03-27T23:00:00Z"));
        assert_eq!(slots[22].end, utc("2027-03-28T22:00:00Z"));
        let l = labels(&slots, berlin());
        assert_eq!(l[0], "2027-03-28T00:00:00+01:00");
        assert_eq!(l[1], "2027-03-28T01:00:00+01:00");
        assert_eq!(l[2], "2027-03-28T03:00:00+02:00");
        assert_eq!(l[22], "2027-03-28T23:00:00+02:00");
        assert!(l.iter().all(|x| !x.contains("T02:")), "{l:?}");
    }

    #[test]
    fn berlin_fall_back_day_has_25_hourly_slots_with_2am_twice() {
        let s = schedule(60, all_week("00:00", "24:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2026-10-25"));
        assert_eq!(slots.len(), 25);
        assert_contiguous(&slots, 60);
        assert_eq!(slots[0].start, utc("2026-10-24T22:00:00Z"));
        assert_eq!(slots[24].end, utc("2026-10-25T23:00:00Z"));
        let l = labels(&slots, berlin());
        assert_eq!(l[2], "2026-10-25T02:00:00+02:00");
        assert_eq!(l[3], "2026-10-25T02:00:00+01:00");
        assert_eq!(slots[2].start, utc("2026-10-25T00:00:00Z"));
        assert_eq!(slots[3].start, utc("2026-10-25T01:00:00Z"));
        assert_eq!(l[24], "2026-10-25T23:00:00+01:00");
    }

    #[test]
    fn ordinary_days_have_the_wall_clock_count() {
        let s = schedule(60, all_week("00:00", "24:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2026-12-01"));
        assert_eq!(slots.len(), 24);
        assert_contiguous(&slots, 60);
        assert_eq!(
            local_rfc3339(slots[10].start, berlin()),
            "2026-12-01T10:00:00+01:00"
        );
        assert_eq!(format_utc(slots[10].start), "2026-12-01T09:00:00Z");

        let s = schedule(30, all_week("08:00", "20:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2026-12-01"));
        assert_eq!(slots.len(), 24);
        assert_eq!(slots[0].start, utc("2026-12-01T07:00:00Z"));
        assert_eq!(slots[23].end, utc("2026-12-01T19:00:00Z"));
        // Summer time: same wall clock, other instants.
        let slots = day_slots(&s, berlin(), date("2026-07-01"));
        assert_eq!(slots[0].start, utc("2026-07-01T06:00:00Z"));
    }

    #[test]
    fn spring_forward_with_half_hour_slots_and_opening_in_the_gap() {
        let s = schedule(30, all_week("00:00", "24:00"), json!([]));
        assert_eq!(day_slots(&s, berlin(), date("2027-03-28")).len(), 46);
        // Opening at 02:30, which does not exist: the day starts at 03:00 CEST.
        let s = schedule(30, all_week("02:30", "05:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2027-03-28"));
        assert_eq!(
            labels(&slots, berlin()),
            [
                "2027-03-28T03:00:00+02:00",
                "2027-03-28T03:30:00+02:00",
                "2027-03-28T04:00:00+02:00",
                "2027-03-28T04:30:00+02:00"
            ]
        );
        // An interval entirely inside the gap offers nothing.
        let s = schedule(30, all_week("02:00", "03:00"), json!([]));
        assert!(day_slots(&s, berlin(), date("2027-03-28")).is_empty());
        assert_eq!(day_slots(&s, berlin(), date("2027-03-27")).len(), 2);
    }

    #[test]
    fn fall_back_close_in_repeated_hour_takes_earliest_instant() {
        // 01:00-02:30: close 02:30 is ambiguous -> the first 02:30 (CEST).
        let s = schedule(30, all_week("01:00", "02:30"), json!([]));
        let slots = day_slots(&s, berlin(), date("2026-10-25"));
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[2].end, utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn exceptions_override_weekly_and_close_days() {
        let s = schedule(
            60,
            all_week("08:00", "10:00"),
            json!([
                {"date": "2026-12-24", "open": "12:00", "close": "13:00"},
                {"date": "2026-12-24", "open": "06:00", "close": "07:00"},
                {"date": "2026-12-25", "closed": true}
            ]),
        );
        assert_eq!(
            labels(&day_slots(&s, berlin(), date("2026-12-24")), berlin()),
            ["2026-12-24T06:00:00+01:00", "2026-12-24T12:00:00+01:00"]
        );
        assert!(day_slots(&s, berlin(), date("2026-12-25")).is_empty());
        assert_eq!(day_slots(&s, berlin(), date("2026-12-26")).len(), 2);
        let all = slots_between(&s, berlin(), date("2026-12-23"), date("2026-12-26"));
        // 23rd, 24th (exception), 25th closed, 26th.
        assert_eq!(all.len(), 6);
        assert!(all.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn close_at_24_00_runs_to_next_midnight() {
        let s = schedule(60, all_week("22:00", "24:00"), json!([]));
        let slots = day_slots(&s, berlin(), date("2026-12-01"));
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[1].end, utc("2026-12-01T23:00:00Z"));
        assert_eq!(
            local_rfc3339(slots[1].end, berlin()),
            "2026-12-02T00:00:00+01:00"
        );
        assert_eq!(slot_at(&s, berlin(), slots[1].start), Some(slots[1]));
    }

    #[test]
    fn slots_between_handles_empty_and_reversed_ranges() {
        let s = schedule(60, all_week("08:00", "10:00"), json!([]));
        assert!(slots_between(&s, berlin(), date("2026-12-02"), date("2026-12-01")).is_empty());
        assert_eq!(
            slots_between(&s, berlin(), date("2026-12-01"), date("2026-12-01")).len(),
            2
        );
        // The last representable date must not overflow.
        let _ = slots_between(&s, berlin(), NaiveDate::MAX, NaiveDate::MAX);
        let _ = slots_between(&s, berlin(), NaiveDate::MIN, NaiveDate::MIN);
    }

    #[test]
    fn slot_at_accepts_aligned_and_rejects_others() {
        let s = schedule(
            30,
            all_week("08:00", "12:00"),
            json!([{"date": "2026-12-25", "closed": true}]),
        );
        let start = utc("2026-12-01T09:30:00Z"); // 10:30 Berlin
        assert_eq!(
            slot_at(&s, berlin(), start),
            Some(Slot {
                start,
                end: utc("2026-12-01T10:00:00Z")
            })
        );
        // Unaligned, outside opening hours, at closing time, on a closed date.
        assert_eq!(slot_at(&s, berlin(), utc("2026-12-01T09:31:00Z")), None);
        assert_eq!(slot_at(&s, berlin(), utc("2026-12-01T09:30:01Z")), None);
        assert_eq!(slot_at(&s, berlin(), utc("2026-12-01T12:00:00Z")), None);
        assert_eq!(slot_at(&s, berlin(), utc("2026-12-01T11:00:00Z")), None);
        assert_eq!(slot_at(&s, berlin(), utc("2026-12-25T08:00:00Z")), None);
        assert!(slot_at(&s, berlin(), utc("2026-12-24T08:00:00Z")).is_some());
        // Extremes do not panic.
        assert_eq!(slot_at(&s, berlin(), DateTime::<Utc>::MAX_UTC), None);
        assert_eq!(slot_at(&s, berlin(), DateTime::<Utc>::MIN_UTC), None);
        let ny = crate::zone::tzdb::zone("America/New_York");
        assert_eq!(slot_at(&s, ny, DateTime::<Utc>::MIN_UTC), None);
        assert_eq!(slot_at(&s, ny, DateTime::<Utc>::MAX_UTC), None);
        assert_eq!(current_slot(&s, berlin(), DateTime::<Utc>::MAX_UTC), None);
    }

    #[test]
    fn slot_at_on_dst_days() {
        let s = schedule(60, all_week("00:00", "24:00"), json!([]));
        // Spring forward: 00:00 UTC would be "02:00 CET", which does not exist -> no slot.
        assert_eq!(slot_at(&s, berlin(), utc("2027-03-28T00:30:00Z")), None);
        assert!(slot_at(&s, berlin(), utc("2027-03-28T01:00:00Z")).is_some());
        // Fall back: both 02:00 local instants are slots.
        assert!(slot_at(&s, berlin(), utc("2026-10-25T00:00:00Z")).is_some());
        assert!(slot_at(&s, berlin(), utc("2026-10-25T01:00:00Z")).is_some());
        // 2026-10-24 22:00 UTC is local 00:00 of the 25th: starts there, not on the 24th.
        assert!(slot_at(&s, berlin(), utc("2026-10-24T22:00:00Z")).is_some());
    }

    #[test]
    fn current_slot_finds_slot_in_progress() {
        let s = schedule(30, all_week("08:00", "12:00"), json!([]));
        let slot = current_slot(&s, berlin(), utc("2026-12-01T09:45:00Z")).unwrap();
        assert_eq!(slot.start, utc("2026-12-01T09:30:00Z"));
        assert!(current_slot(&s, berlin(), utc("2026-12-01T09:30:00Z")).is_some());
        assert!(current_slot(&s, berlin(), utc("2026-12-01T11:00:00Z")).is_none());
        assert!(current_slot(&s, berlin(), utc("2026-12-01T06:59:59Z")).is_none());
    }

    #[test]
    fn local_to_utc_rules() {
        let l = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        // Gap -> first instant after it.
        assert_eq!(
            local_to_utc(berlin(), l("2027-03-28 02:30")),
            Some(utc("2027-03-28T01:00:00Z"))
        );
        // Ambiguous -> earliest.
        assert_eq!(
            local_to_utc(berlin(), l("2026-10-25 02:30")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // Lord Howe moves by 30 minutes: 02:15 does not exist on 2026-10-04.
        assert_eq!(
            local_to_utc(
                crate::zone::tzdb::zone("Australia/Lord_Howe"),
                l("2026-10-04 02:15")
            ),
            Some(utc("2026-10-03T15:30:00Z"))
        );
        assert_eq!(
            local_to_utc(Tz::UTC, l("2026-10-04 02:15")),
            Some(utc("2026-10-04T02:15:00Z"))
        );
    }

    #[test]
    fn lord_howe_spring_forward_by_half_an_hour() {
        let tz = crate::zone::tzdb::zone("Australia/Lord_Howe");
        let s = schedule(30, all_week("00:00", "24:00"), json!([]));
        let slots = day_slots(&s, tz, date("2026-10-04"));
        // 23.5 real hours.
        assert_eq!(slots.len(), 47);
        assert_contiguous(&slots, 30);
        let l = labels(&slots, tz);
        assert_eq!(l[3], "2026-10-04T01:30:00+10:30");
        assert_eq!(l[4], "2026-10-04T02:30:00+11:00");
    }

    #[test]
    fn local_day_bounds_follow_dst() {
        assert_eq!(
            local_day_bounds(berlin(), date("2027-03-28")),
            Some((utc("2027-03-27T23:00:00Z"), utc("2027-03-28T22:00:00Z")))
        );
        assert_eq!(
            local_day_bounds(berlin(), date("2026-10-25")),
            Some((utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z")))
        );
        assert_eq!(local_day_bounds(berlin(), NaiveDate::MAX), None);
    }

    #[test]
    fn formatting() {
        let t = utc("2026-12-01T09:00:00.123Z");
        assert_eq!(format_utc(t), "2026-12-01T09:00:00Z");
        assert_eq!(local_rfc3339(t, berlin()), "2026-12-01T10:00:00+01:00");
        assert_eq!(
            local_rfc3339(t, crate::zone::tzdb::zone("Asia/Kolkata")),
            "2026-12-01T14:30:00+05:30"
        );
        assert_eq!(local_rfc3339(t, Tz::UTC), "2026-12-01T09:00:00+00:00");
        // Extremes do not panic.
        let _ = local_rfc3339(DateTime::<Utc>::MAX_UTC, berlin());
        let _ = local_rfc3339(
            DateTime::<Utc>::MIN_UTC,
            crate::zone::tzdb::zone("America/New_York"),
        );
        let _ = format_utc(DateTime::<Utc>::MAX_UTC);
    }
}
