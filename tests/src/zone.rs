//! Europe/Berlin wall times for tests, without a date library: the EU rule (summer time from
//! 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October, UTC+2;
//! otherwise UTC+1), so expectations hold in July as in December.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day of month of the last Sunday of `month` (March or October: 31 days).
fn last_sunday_of_31_day_month(y: i64, month: i64) -> i64 {
    let last = days_from_civil(y, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    31 - (last + 4).rem_euclid(7)
}

#[track_caller]
fn parse_date(date: &str) -> (i64, i64, i64) {
    let parts: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("bad date {date}")))
        .collect();
    match parts[..] {
        [y, m, d] => (y, m, d),
        _ => panic!("bad date {date}"),
    }
}

#[track_caller]
fn parse_time(hh_mm: &str) -> (i64, i64) {
    let (h, m) = hh_mm
        .split_once(':')
        .unwrap_or_else(|| panic!("bad time {hh_mm}"));
    let parse = |s: &str| {
        s.parse::<i64>()
            .unwrap_or_else(|_| panic!("bad time {hh_mm}"))
    };
    (parse(h), parse(m))
}

/// Berlin's UTC offset in hours at local wall time `hh_mm` on `date` (`YYYY-MM-DD`). Panics
/// for 02:xx on the two change days, which is skipped (March) or happens twice (October).
#[track_caller]
pub fn berlin_offset_hours(date: &str, hh_mm: &str) -> i64 {
    let (y, m, d) = parse_date(date);
    let (h, _) = parse_time(hh_mm);
    let change = |summer_before: bool| {
        let sunday = last_sunday_of_31_day_month(y, m);
        let (before, after) = if summer_before { (2, 1) } else { (1, 2) };
        if d != sunday {
            return if d < sunday { before } else { after };
        }
        match h {
            0 | 1 => before,
            2 => panic!("{date} {hh_mm} is not a unique Berlin wall time"),
            _ => after,
        }
    };
    match m {
        4..=9 => 2,
        3 => change(false),
        10 => change(true),
        _ => 1,
    }
}

/// The store-local RFC 3339 time of Berlin wall time `hh_mm` on `date`, as slot listings show
/// it in `local_start` (`2026-12-01T10:00:00+01:00`, `2026-07-01T10:00:00+02:00`).
#[track_caller]
pub fn berlin_local(date: &str, hh_mm: &str) -> String {
    let offset = berlin_offset_hours(date, hh_mm);
    format!("{date}T{hh_mm}:00+{offset:02}:00")
}

/// The UTC instant of Berlin wall time `hh_mm` on `date`, as the API returns instants
/// (`2026-12-01T09:00:00Z` for 10:00 in December, `2026-07-01T08:00:00Z` in July).
#[track_caller]
pub fn berlin_utc(date: &str, hh_mm: &str) -> String {
    let (y, m, d) = parse_date(date);
    let (h, min) = parse_time(hh_mm);
    let offset = berlin_offset_hours(date, hh_mm);
    let minutes = days_from_civil(y, m, d) * 1440 + h * 60 + min - offset * 60;
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    format!(
        "{}T{:02}:{:02}:00Z",
        crate::civil_from_days(days),
        minute_of_day / 60,
        minute_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_through_civil() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for days in [-1, 0, 59, 365, 11_016, 20_819, 20_820, 40_000] {
            let date = crate::civil_from_days(days);
            let (y, m, d) = parse_date(&date);
            assert_eq!(days_from_civil(y, m, d), days, "{date}");
        }
    }

    #[test]
    fn last_sundays_match_the_calendar() {
        assert_eq!(last_sunday_of_31_day_month(2026, 3), 29);
        assert_eq!(last_sunday_of_31_day_month(2026, 10), 25);
        assert_eq!(last_sunday_of_31_day_month(2027, 3), 28);
        assert_eq!(last_sunday_of_31_day_month(2027, 10), 31);
        assert_eq!(last_sunday_of_31_day_month(2025, 3), 30);
    }

    /// `{date}T{time}:00{offset}`, spelled out of its parts.
    fn with_offset(date: &str, time: &str, offset: &str) -> String {
        format!("{date}T{time}:00{offset}")
    }

    #[test]
    fn winter_and_summer() {
        assert_eq!(
            berlin_local("2026-12-01", "10:00"),
            with_offset("2026-12-01", "10:00", "+01:00")
        );
        assert_eq!(berlin_utc("2026-12-01", "10:00"), "2026-12-01T09:00:00Z");
        assert_eq!(
            berlin_local("2026-07-15", "10:00"),
            with_offset("2026-07-15", "10:00", "+02:00")
        );
        assert_eq!(berlin_utc("2026-07-15", "12:00"), "2026-07-15T10:00:00Z");
        assert_eq!(berlin_utc("2026-07-15", "01:30"), "2026-07-14T23:30:00Z");
        assert_eq!(berlin_utc("2027-01-01", "00:00"), "2026-12-31T23:00:00Z");
    }

    #[test]
    fn change_days_switch_at_the_rule_s_hour() {
        // The same instants the DST listing test pins (durable engine, bookings.rs).
        assert_eq!(
            berlin_local("2027-03-28", "01:00"),
            with_offset("2027-03-28", "01:00", "+01:00")
        );
        assert_eq!(
            berlin_local("2027-03-28", "03:00"),
            with_offset("2027-03-28", "03:00", "+02:00")
        );
        assert_eq!(berlin_utc("2027-03-28", "03:00"), "2027-03-28T01:00:00Z");
        assert_eq!(berlin_offset_hours("2027-03-27", "12:00"), 1);
        assert_eq!(berlin_offset_hours("2027-03-29", "00:00"), 2);
        assert_eq!(berlin_utc("2026-10-25", "01:00"), "2026-10-24T23:00:00Z");
        assert_eq!(berlin_utc("2026-10-25", "03:00"), "2026-10-25T02:00:00Z");
        assert_eq!(berlin_offset_hours("2026-10-24", "23:00"), 2);
        assert_eq!(berlin_offset_hours("2026-10-26", "00:00"), 1);
    }

    #[test]
    #[should_panic(expected = "not a unique Berlin wall time")]
    fn the_skipped_hour_is_refused() {
        berlin_offset_hours("2027-03-28", "02:30");
    }
}
