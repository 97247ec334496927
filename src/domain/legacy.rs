//! The legacy customer app's formats: offset-less local times in three spellings, integer ids,
//! English weekday names and the camelCase location object.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};
use safemarket_engine::zone::Tz;
use safemarket_engine::{local_rfc3339, local_to_utc, wall_instant, FillStatus, Schedule};
use serde::Serialize;

use crate::domain::store::StoreRow;
use crate::domain::time_range;

/// The zone `minDate` is read in when no store applies (the app's stores are in Berlin):
/// compiled in, so it needs no asset.
pub fn default_zone() -> Tz {
    safemarket_engine::zone::europe_berlin()
}

/// Parses the app's time spellings: `2026-12-01T10:00:00`, `2026-12-01T10:00:00.123456`
/// (Dart `toIso8601String()`), `2026-12-01 08:00:00.000` (Dart `DateTime.toString()`); offset-less
/// values are wall times in `tz`. Values with an offset or `Z` are taken as the instant they name.
/// Times outside the years 1970..=9999 are refused like malformed ones.
pub fn parse_time(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    let at = match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let normalised = raw.replacen(' ', "T", 1);
            let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(&normalised, f).ok())?;
            if !time_range::date_ok(local.date()) {
                return None;
            }
            local_to_utc(tz, local)?
        }
    };
    time_range::instant_ok(at).then_some(at)
}

/// A positive integer query parameter (ids, minutes).
pub fn parse_id(raw: Option<&str>) -> Option<i64> {
    raw?.trim().parse::<i64>().ok().filter(|n| *n > 0)
}

/// English weekday names, as the old backend wrote them.
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// One opening interval of the weekly schedule.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Opening {
    /// English weekday name.
    pub opening_days: &'static str,
    /// The interval's opening as a local date-time (on this week's date of that weekday).
    pub opening_time: String,
    /// The interval's closing as a local date-time.
    pub closing_time: String,
}

/// The weekly schedule as the old backend listed it: one entry per weekday interval, dated in
/// the week of `today` (Monday first).
pub fn openings(schedule: &Schedule, tz: Tz, today: NaiveDate) -> Vec<Opening> {
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut out = Vec::new();
    for offset in 0..7 {
        let date = monday + Duration::days(offset);
        for interval in schedule.weekly_intervals(date.weekday()) {
            let (Some(open), Some(close)) = (
                wall_instant(tz, date, interval.open()),
                wall_instant(tz, date, interval.close()),
            ) else {
                continue;
            };
            out.push(Opening {
                opening_days: weekday_name(date.weekday()),
                opening_time: local_rfc3339(open, tz),
                closing_time: local_rfc3339(close, tz),
            });
        }
    }
    out
}

/// The legacy location object.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The store's `legacy_id`.
    pub id: i64,
    /// Name.
    pub name: String,
    /// 0 red, 1 yellow, 2 green.
    pub fill_status: u8,
    /// People per slot.
    pub capacity: u32,
    /// Slot length in minutes.
    pub slot_duration: u32,
    /// People per slot (the old backend had both fields).
    pub slot_size: u32,
    /// Weekly opening intervals.
    pub openings: Vec<Opening>,
    /// Address.
    pub address: String,
    /// Geocoder place id.
    pub places_id: Option<String>,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

impl Location {
    /// The location of `store` with its schedule (if any) and current fill status.
    pub fn new(
        store: &StoreRow,
        schedule: Option<&Schedule>,
        tz: Tz,
        fill: FillStatus,
        now: DateTime<Utc>,
    ) -> Self {
        let today = now.with_timezone(&tz).date_naive();
        Location {
            id: store.legacy_id,
            name: store.name.clone(),
            fill_status: fill.legacy_code(),
            capacity: schedule.map_or(0, Schedule::capacity),
            slot_duration: schedule.map_or(0, Schedule::slot_minutes),
            slot_size: schedule.map_or(0, Schedule::capacity),
            openings: schedule.map(|s| openings(s, tz, today)).unwrap_or_default(),
            address: store.address.clone(),
            places_id: store.place_id.clone(),
            latitude: store.latitude,
            longitude: store.longitude,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safemarket_engine::format_utc;

    fn utc(raw: &str) -> String {
        format_utc(parse_time(raw, default_zone()).unwrap())
    }

    #[test]
    fn the_three_app_spellings_are_berlin_wall_time() {
        assert_eq!(utc("2026-12-01T10:00:00"), "2026-12-01T09:00:00Z");
        assert_eq!(utc("2026-12-01T10:00:00.123456"), "2026-12-01T09:00:00Z");
        assert_eq!(utc("2026-12-01 10:00:00.000"), "2026-12-01T09:00:00Z");
        assert_eq!(utc("2026-07-01T10:00:00"), "2026-07-01T08:00:00Z");
        assert_eq!(utc("2026-12-01T10:00:00Z"), "2026-12-01T10:00:00Z");
        for bad in ["", "tomorrow", "2026-13-01T10:00:00", "10:00"] {
            assert!(parse_time(bad, default_zone()).is_none(), "{bad}");
        }
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(parse_id(Some("42")), Some(42));
        for bad in [None, Some("0"), Some("-1"), Some("x"), Some("1.5")] {
            assert_eq!(parse_id(bad), None);
        }
    }

    #[test]
    fn openings_list_each_weekday_interval_in_order() {
        let schedule = Schedule::from_json(&serde_json::json!({
            "slot_minutes": 30, "capacity": 10, "horizon_days": 7, "max_active_bookings_per_user": 2,
            "weekly": [{"day": "tue", "open": "14:00", "close": "18:00"}, {"day": "mon", "open": "08:00", "close": "12:00"},
                       {"day": "tue", "open": "08:00", "close": "12:00"}],
            "exceptions": []
        }))
        .unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let list = openings(&schedule, default_zone(), today);
        let days: Vec<&str> = list.iter().map(|o| o.opening_days).collect();
        assert_eq!(days, ["Monday", "Tuesday", "Tuesday"]);
        assert_eq!(list[0].opening_time, "2026-11-30T08:00:00+01:00");
        assert_eq!(list[2].closing_time, "2026-12-01T18:00:00+01:00");
    }
}
