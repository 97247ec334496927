//! The zone tables against chrono-tz, which the Worker used to compile in: the same names, the
//! same offsets at every instant, the same answers for local times (gaps and folds included).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use proptest::prelude::*;

use super::tzdb::{self, chrono_offset, chrono_zone, PROBED};
use super::*;

/// Every zone, read through its table once.
fn zones() -> &'static HashMap<&'static str, Tz> {
    static ZONES: OnceLock<HashMap<&'static str, Tz>> = OnceLock::new();
    ZONES.get_or_init(|| {
        tzdb::all_names()
            .into_iter()
            .map(|n| (n, tzdb::zone(n)))
            .collect()
    })
}

fn local(utc: i64) -> NaiveDateTime {
    DateTime::from_timestamp(utc, 0).unwrap().naive_utc()
}

/// Both zones' answers for local time `at`, as fixed offsets.
fn local_answers(ours: Tz, theirs: chrono_tz::Tz, at: NaiveDateTime) -> [LocalResult<i32>; 2] {
    [
        ours.offset_from_local_datetime(&at)
            .map(|o| o.fix().local_minus_utc()),
        theirs
            .offset_from_local_datetime(&at)
            .map(|o| o.fix().local_minus_utc()),
    ]
}

#[test]
fn the_compiled_in_names_are_chrono_tz_s() {
    assert_eq!(names().collect::<Vec<_>>(), tzdb::all_names());
    assert_eq!(canonical_name("Europe/Berlin"), Some("Europe/Berlin"));
    assert_eq!(canonical_name("Mars/Olympus"), None);
    assert_eq!(
        canonical_name("europe/berlin"),
        None,
        "exact, as chrono-tz's FromStr"
    );
}

#[test]
fn the_compiled_in_berlin_is_the_generated_table() {
    let berlin = chrono_zone("Europe/Berlin").unwrap();
    assert_eq!(EUROPE_BERLIN, tzdb::table_of(berlin));
    assert_eq!(europe_berlin().name(), "Europe/Berlin");
    assert_eq!(Tz::known("Europe/Berlin"), Some(europe_berlin()));
    assert_eq!(europe_berlin().table(), EUROPE_BERLIN);
}

#[test]
fn utc_is_one_offset_and_known_without_a_table() {
    assert_eq!(Tz::known("UTC"), Some(Tz::UTC));
    assert_eq!(Tz::from_table(&tzdb::table_of(chrono_tz::UTC)), Ok(Tz::UTC));
    assert_eq!(Tz::UTC.offset_at(0), 0);
}

#[test]
fn a_table_read_twice_is_the_same_zone_and_written_back_unchanged() {
    let table = tzdb::table_of(chrono_tz::America::New_York);
    let (a, b) = (
        Tz::from_table(&table).unwrap(),
        Tz::from_table(&table).unwrap(),
    );
    assert!(std::ptr::eq(a.0, b.0));
    assert_eq!(a.table(), table);
    assert_eq!(Tz::known("America/New_York"), Some(a));
}

#[test]
fn bad_tables_are_refused() {
    let good = tzdb::table_of(chrono_tz::Europe::Paris);
    let mut lines: Vec<&str> = good.lines().collect();
    assert!(Tz::from_table("").is_err());
    assert!(Tz::from_table(&good.replacen("zone 1", "zone 2", 1)).is_err());
    assert!(Tz::from_table(&good.replacen("Europe/Paris", "Mars/Olympus", 1)).is_err());
    assert!(
        Tz::from_table(&format!("{HEADER}\nUTC\n90000\n")).is_err(),
        "offset over a day"
    );
    assert!(Tz::from_table(&format!("{HEADER}\nUTC\n0\nx 1\n")).is_err());
    assert!(
        Tz::from_table(&format!("{HEADER}\nUTC\n0\n5 0\n")).is_err(),
        "no change"
    );
    lines.swap(4, 5);
    assert!(Tz::from_table(&lines.join("\n")).is_err(), "out of order");
}

#[test]
fn chrono_tz_changes_nothing_outside_the_probed_range() {
    const CENTURY: i64 = 100 * 365 * 86_400;
    for name in tzdb::all_names() {
        let theirs = chrono_zone(name).unwrap();
        let ours = zones()[name];
        for utc in [
            PROBED.0 - 5 * CENTURY,
            PROBED.0 - CENTURY,
            PROBED.1 + CENTURY,
            PROBED.1 + 5 * CENTURY,
        ] {
            assert_eq!(
                ours.offset_at(utc),
                chrono_offset(theirs, utc),
                "{name} at {utc}"
            );
        }
    }
}

/// Around every change of every zone (each second of the minutes about it would be too many:
/// every 15 minutes for the 3 hours either side, and the seconds next to it), both directions.
#[test]
fn every_zone_agrees_with_chrono_tz_around_each_change() {
    for name in tzdb::all_names() {
        let (ours, theirs) = (zones()[name], chrono_zone(name).unwrap());
        for (at, _) in ours.0.changes.iter() {
            let near = (-12..=12)
                .map(|q| at + q * 900)
                .chain([at - 1, *at, at + 1]);
            for utc in near {
                assert_eq!(
                    ours.offset_at(utc),
                    chrono_offset(theirs, utc),
                    "{name} at {utc}"
                );
                // Local times near the change: the gap and fold of a change sit about it.
                let [a, b] = local_answers(ours, theirs, local(utc));
                assert_eq!(a, b, "{name} local {}", local(utc));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Any zone, any instant from 1850 to 2150: the same offset, and the same reading of that
    /// instant's digits as a local time.
    #[test]
    fn any_zone_any_instant(zone in 0..tzdb::all_names().len(), utc in -3_786_825_600i64..5_679_792_000) {
        let name = tzdb::all_names()[zone];
        let (ours, theirs) = (zones()[name], chrono_zone(name).unwrap());
        prop_assert_eq!(ours.offset_at(utc), chrono_offset(theirs, utc), "{} at {}", name, utc);
        let [a, b] = local_answers(ours, theirs, local(utc));
        prop_assert_eq!(a, b, "{} local {}", name, local(utc));
    }
}

#[test]
fn berlin_changes_on_the_last_sundays_of_march_and_october() {
    let berlin = europe_berlin();
    let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    assert_eq!(
        berlin.offset_from_local_datetime(&at("2027-03-28 02:30")),
        LocalResult::None
    );
    let fold = berlin.offset_from_local_datetime(&at("2026-10-25 02:30"));
    let LocalResult::Ambiguous(summer, winter) = fold else {
        panic!("2026-10-25 02:30 is not ambiguous in Berlin: {fold:?}");
    };
    assert_eq!(
        summer.fix().local_minus_utc() - winter.fix().local_minus_utc(),
        3600
    );
}
