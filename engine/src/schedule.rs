//! A store's opening schedule: the wire/storage shape ([`ScheduleInput`]) and the validated,
//! normalised form ([`Schedule`]) that slot expansion works on.
//!
//! Times of day are wall-clock times in the store's time zone; turning them into instants is
//! the job of [`crate::slots`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::FieldError;

/// Allowed slot lengths in minutes.
pub const SLOT_MINUTES_RANGE: RangeInclusive<u32> = 5..=240;
/// Allowed people per slot.
pub const CAPACITY_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Allowed booking horizon in days.
pub const HORIZON_DAYS_RANGE: RangeInclusive<u32> = 1..=366;
/// Allowed per-user limit of active bookings.
pub const MAX_ACTIVE_BOOKINGS_RANGE: RangeInclusive<u32> = 1..=1_000;
/// Allowed `waitlist_offer_minutes`: how long an offer to the waiting list holds its places.
pub const WAITLIST_OFFER_MINUTES_RANGE: RangeInclusive<u32> = 1..=240;
/// `waitlist_offer_minutes` when a schedule does not say.
pub const DEFAULT_WAITLIST_OFFER_MINUTES: u32 = 15;
/// Allowed `reminder_minutes` (when set): from 5 minutes to a week before the slot.
pub const REMINDER_MINUTES_RANGE: RangeInclusive<u32> = 5..=10_080;
/// Most weekly intervals a schedule may have (a few per day is plenty; this bounds work per day).
pub const MAX_WEEKLY_INTERVALS: usize = 50;
/// Most exception entries a schedule may have (a bit more than a year of daily overrides).
pub const MAX_EXCEPTIONS: usize = 500;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// The exception entries of one date while parsing: input indices of `closed` entries, and
/// the intervals (with input indices) of the others.
type DateEntries = (Vec<usize>, Vec<(usize, Interval)>);

/// A wall-clock time of day: minutes since local midnight, `0..=1440`.
///
/// `1440` is `"24:00"`, the end of the day, which is only valid as a closing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime(u16);

impl WallTime {
    /// `00:00`.
    pub const MIDNIGHT: WallTime = WallTime(0);
    /// `24:00`, the end of the day.
    pub const END_OF_DAY: WallTime = WallTime(MINUTES_PER_DAY);

    /// The time `minutes` after midnight, if it is at most `24:00`.
    pub fn from_minutes(minutes: u32) -> Option<Self> {
        u16::try_from(minutes)
            .ok()
            .filter(|m| *m <= MINUTES_PER_DAY)
            .map(WallTime)
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }

    /// Parses strict `HH:MM` (two digits each, hours `00`-`23`, minutes `00`-`59`); `"24:00"`
    /// is accepted only when `allow_end_of_day` (closing times).
    pub fn parse(s: &str, allow_end_of_day: bool) -> Result<Self, String> {
        let bytes = s.as_bytes();
        let well_formed = bytes.len() == 5
            && bytes[2] == b':'
            && [0, 1, 3, 4].iter().all(|&i| bytes[i].is_ascii_digit());
        if !well_formed {
            return Err(format!("must be a time of day as HH:MM, got {s:?}"));
        }
        let hours = u16::from(bytes[0] - b'0') * 10 + u16::from(bytes[1] - b'0');
        let minutes = u16::from(bytes[3] - b'0') * 10 + u16::from(bytes[4] - b'0');
        if hours == 24 && minutes == 0 {
            return if allow_end_of_day {
                Ok(Self::END_OF_DAY)
            } else {
                Err("24:00 is only allowed as a closing time".to_owned())
            };
        }
        if hours > 23 || minutes > 59 {
            return Err(format!(
                "must be a time of day between 00:00 and {}, got {s:?}",
                if allow_end_of_day { "24:00" } else { "23:59" }
            ));
        }
        Ok(WallTime(hours * 60 + minutes))
    }
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// An opening interval of one day, `open < close`, in wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    open: WallTime,
    close: WallTime,
}

impl Interval {
    /// The interval `[open, close)`, if it is not empty. `open` may not be `24:00`.
    pub fn new(open: WallTime, close: WallTime) -> Option<Self> {
        (open < close && open != WallTime::END_OF_DAY).then_some(Self { open, close })
    }

    /// Opening time.
    pub fn open(&self) -> WallTime {
        self.open
    }

    /// Closing time (may be `24:00`).
    pub fn close(&self) -> WallTime {
        self.close
    }

    /// Wall-clock length in minutes (the real length differs on DST change days).
    pub fn minutes(&self) -> u32 {
        self.close.minutes() - self.open.minutes()
    }

    fn overlaps(&self, other: &Interval) -> bool {
        self.open < other.close && other.open < self.close
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.open, self.close)
    }
}

/// What an exception does to its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOverride {
    /// Closed all day.
    Closed,
    /// Open exactly these intervals (sorted, non-overlapping) instead of the weekly ones.
    Open(Vec<Interval>),
}

/// A validated, normalised schedule. Build it with [`Schedule::parse`] or
/// [`Schedule::from_json`]; it can only hold valid values.
///
/// It serialises to the same JSON shape it is parsed from (weekly entries sorted by day and
/// opening time, exceptions by date and opening time), so what is stored is what GET returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    slot_minutes: u32,
    capacity: u32,
    horizon_days: u32,
    max_active_bookings_per_user: u32,
    waitlist_offer_minutes: u32,
    /// `None`: no automatic release; else `1..=slot_minutes`.
    release_after_minutes: Option<u32>,
    /// `None`: no reminders; else within [`REMINDER_MINUTES_RANGE`].
    reminder_minutes: Option<u32>,
    /// Indexed by `Weekday::num_days_from_monday`; each list sorted and non-overlapping.
    weekly: [Vec<Interval>; 7],
    exceptions: BTreeMap<NaiveDate, DayOverride>,
}

pub use safemarket_api::schedule::{ExceptionInput, ScheduleInput, WeeklyInput};

/// Three-letter lowercase day names, Monday first (the index is `num_days_from_monday`).
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn parse_day(s: &str) -> Result<usize, String> {
    let lower = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .ok_or_else(|| format!("must be one of mon, tue, wed, thu, fri, sat, sun, got {s:?}"))
}

/// Parses a strict `YYYY-MM-DD` date (chrono alone would also accept `2026-1-5`).
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("must be a date as YYYY-MM-DD, got {s:?}"));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("is not a valid date: {s:?}"))?;
    // Four digits already bound the year above; dates before the epoch are no one's schedule.
    if date.year() < 1970 {
        return Err(format!("must be in the years 1970 to 9999, got {s:?}"));
    }
    Ok(date)
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// A nullable field: absent or `null` is `Some(None)` (off); a value must be in `range`
/// (`None` after an error).
fn optional_ranged(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<i64>,
    range: RangeInclusive<u32>,
) -> Option<Option<u32>> {
    match value {
        None => Some(None),
        given => ranged(errors, field, given, range).map(Some),
    }
}

fn ranged(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<i64>,
    range: RangeInclusive<u32>,
) -> Option<u32> {
    let Some(v) = value else {
        errors.push(err(field, "is required"));
        return None;
    };
    match u32::try_from(v) {
        Ok(v) if range.contains(&v) => Some(v),
        _ => {
            errors.push(err(
                field,
                format!(
                    "must be between {} and {}, got {v}",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
    }
}

/// Parses `open`/`close` of one entry at `path`, reporting every problem it finds.
fn parse_interval(
    errors: &mut Vec<FieldError>,
    path: &str,
    open: Option<&str>,
    close: Option<&str>,
    slot_minutes: Option<u32>,
) -> Option<Interval> {
    let open = match open {
        None => {
            errors.push(err(format!("{path}.open"), "is required"));
            None
        }
        Some(s) => WallTime::parse(s, false)
            .map_err(|m| errors.push(err(format!("{path}.open"), m)))
            .ok(),
    };
    let close = match close {
        None => {
            errors.push(err(format!("{path}.close"), "is required"));
            None
        }
        Some(s) => WallTime::parse(s, true)
            .map_err(|m| errors.push(err(format!("{path}.close"), m)))
            .ok(),
    };
    let (open, close) = (open?, close?);
    let Some(interval) = Interval::new(open, close) else {
        errors.push(err(
            format!("{path}.close"),
            format!("must be after open ({open}), got {close}"),
        ));
        return None;
    };
    // Only checkable once slot_minutes itself is valid; its own error is reported already.
    if let Some(slot) = slot_minutes {
        if interval.minutes() % slot != 0 {
            errors.push(err(
                format!("{path}.close"),
                format!(
                    "the interval {interval} lasts {} minutes, which is not a multiple of \
                     slot_minutes ({slot})",
                    interval.minutes()
                ),
            ));
            return None;
        }
    }
    Some(interval)
}

/// Sorts `(input index, interval)` pairs and reports every interval that overlaps an earlier
/// one; returns the sorted intervals. `path_of` names an input index for messages.
fn check_overlaps(
    errors: &mut Vec<FieldError>,
    mut entries: Vec<(usize, Interval)>,
    path_of: impl Fn(usize) -> String,
) -> Vec<Interval> {
    entries.sort_by_key(|(i, iv)| (*iv, *i));
    // After sorting by opening time, an interval overlaps some earlier one iff it overlaps the
    // earlier one that closes last.
    let mut latest: Option<(usize, Interval)> = None;
    for (i, iv) in &entries {
        if let Some((j, prev)) = latest {
            if prev.overlaps(iv) {
                // Blame the entry that comes later in the input: that is the one a person
                // most likely added by mistake.
                let (blamed, other, other_iv) = if *i > j { (*i, j, prev) } else { (j, *i, *iv) };
                errors.push(err(
                    format!("{}.open", path_of(blamed)),
                    format!("overlaps {} ({other_iv})", path_of(other)),
                ));
            }
        }
        if latest.is_none_or(|(_, prev)| iv.close > prev.close) {
            latest = Some((*i, *iv));
        }
    }
    entries.into_iter().map(|(_, iv)| iv).collect()
}

impl Schedule {
    /// Validates and normalises `input`, or returns every problem found, each naming its
    /// field as a JSON path (`slot_minutes`, `weekly[2].open`, `exceptions[0].date`).
    pub fn parse(input: ScheduleInput) -> Result<Schedule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let slot_minutes = ranged(
            &mut errors,
            "slot_minutes",
            input.slot_minutes,
            SLOT_MINUTES_RANGE,
        );
        let capacity = ranged(&mut errors, "capacity", input.capacity, CAPACITY_RANGE);
        let horizon_days = ranged(
            &mut errors,
            "horizon_days",
            input.horizon_days,
            HORIZON_DAYS_RANGE,
        );
        let max_active = ranged(
            &mut errors,
            "max_active_bookings_per_user",
            input.max_active_bookings_per_user,
            MAX_ACTIVE_BOOKINGS_RANGE,
        );

        let offer_minutes = match input.waitlist_offer_minutes {
            None => Some(DEFAULT_WAITLIST_OFFER_MINUTES),
            given => ranged(
                &mut errors,
                "waitlist_offer_minutes",
                given,
                WAITLIST_OFFER_MINUTES_RANGE,
            ),
        };
        let release_range = 1..=slot_minutes.unwrap_or(*SLOT_MINUTES_RANGE.end());
        let release_after = optional_ranged(
            &mut errors,
            "release_after_minutes",
            input.release_after_minutes,
            release_range,
        );
        let reminder = optional_ranged(
            &mut errors,
            "reminder_minutes",
            input.reminder_minutes,
            REMINDER_MINUTES_RANGE,
        );

        let mut weekly: [Vec<Interval>; 7] = Default::default();
        match input.weekly {
            None => errors.push(err("weekly", "is required (it may be an empty list)")),
            Some(list) if list.len() > MAX_WEEKLY_INTERVALS => errors.push(err(
                "weekly",
                format!("at most {MAX_WEEKLY_INTERVALS} intervals are allowed"),
            )),
            Some(list) => {
                let mut per_day: [Vec<(usize, Interval)>; 7] = Default::default();
                for (i, w) in list.iter().enumerate() {
                    let path = format!("weekly[{i}]");
                    let day = match &w.day {
                        None => {
                            errors.push(err(format!("{path}.day"), "is required"));
                            None
                        }
                        Some(d) => parse_day(d)
                            .map_err(|m| errors.push(err(format!("{path}.day"), m)))
                            .ok(),
                    };
                    let interval = parse_interval(
                        &mut errors,
                        &path,
                        w.open.as_deref(),
                        w.close.as_deref(),
                        slot_minutes,
                    );
                    if let (Some(day), Some(interval)) = (day, interval) {
                        per_day[day].push((i, interval));
                    }
                }
                for (day, entries) in per_day.into_iter().enumerate() {
                    weekly[day] = check_overlaps(&mut errors, entries, |i| format!("weekly[{i}]"));
                }
            }
        }

        let mut exceptions = BTreeMap::new();
        match input.exceptions {
            Some(list) if list.len() > MAX_EXCEPTIONS => errors.push(err(
                "exceptions",
                format!("at most {MAX_EXCEPTIONS} exceptions are allowed"),
            )),
            list => {
                let mut per_date: BTreeMap<NaiveDate, DateEntries> = BTreeMap::new();
                for (i, e) in list.unwrap_or_default().iter().enumerate() {
                    let path = format!("exceptions[{i}]");
                    let date = match &e.date {
                        None => {
                            errors.push(err(format!("{path}.date"), "is required"));
                            None
                        }
                        Some(d) => parse_date(d)
                            .map_err(|m| errors.push(err(format!("{path}.date"), m)))
                            .ok(),
                    };
                    if e.closed == Some(true) {
                        if e.open.is_some() || e.close.is_some() {
                            errors.push(err(
                                format!("{path}.closed"),
                                "closed: true cannot be combined with open/close",
                            ));
                        } else if let Some(date) = date {
                            per_date.entry(date).or_default().0.push(i);
                        }
                        continue;
                    }
                    if e.closed.is_none() && e.open.is_none() && e.close.is_none() {
                        errors.push(err(
                            path,
                            "needs either closed: true or both open and close",
                        ));
                        continue;
                    }
                    let interval = parse_interval(
                        &mut errors,
                        &path,
                        e.open.as_deref(),
                        e.close.as_deref(),
                        slot_minutes,
                    );
                    if let (Some(date), Some(interval)) = (date, interval) {
                        per_date.entry(date).or_default().1.push((i, interval));
                    }
                }
                for (date, (closed, open)) in per_date {
                    if let Some(&first_closed) = closed.first() {
                        // A closed date must be its only entry; blame every other entry.
                        let others = closed[1..]
                            .iter()
                            .copied()
                            .chain(open.iter().map(|(i, _)| *i));
                        for i in others {
                            errors.push(err(
                                format!("exceptions[{i}].date"),
                                format!(
                                    "{date} is marked closed by exceptions[{first_closed}]; \
                                     a closed date cannot have other entries"
                                ),
                            ));
                        }
                        exceptions.insert(date, DayOverride::Closed);
                    } else {
                        let intervals =
                            check_overlaps(&mut errors, open, |i| format!("exceptions[{i}]"));
                        exceptions.insert(date, DayOverride::Open(intervals));
                    }
                }
            }
        }

        match (
            slot_minutes,
            capacity,
            horizon_days,
            max_active,
            offer_minutes,
        ) {
            (
                Some(slot_minutes),
                Some(capacity),
                Some(horizon_days),
                Some(max_active),
                Some(offer_minutes),
            ) if errors.is_empty() => Ok(Schedule {
                slot_minutes,
                capacity,
                horizon_days,
                max_active_bookings_per_user: max_active,
                waitlist_offer_minutes: offer_minutes,
                release_after_minutes: release_after.flatten(),
                reminder_minutes: reminder.flatten(),
                weekly,
                exceptions,
            }),
            _ => Err(errors),
        }
    }

    /// Parses a schedule from an arbitrary JSON value (a request body): wrong JSON types are
    /// field errors too, so no input can make this fail other than with field errors.
    /// Unknown fields are ignored.
    pub fn from_json(value: &Value) -> Result<Schedule, Vec<FieldError>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![err("", "must be a JSON object")]);
        };
        let mut type_errors = Vec::new();
        let input = ScheduleInput {
            slot_minutes: json_int(&mut type_errors, obj, "slot_minutes", "slot_minutes"),
            capacity: json_int(&mut type_errors, obj, "capacity", "capacity"),
            horizon_days: json_int(&mut type_errors, obj, "horizon_days", "horizon_days"),
            max_active_bookings_per_user: json_int(
                &mut type_errors,
                obj,
                "max_active_bookings_per_user",
                "max_active_bookings_per_user",
            ),
            waitlist_offer_minutes: json_int(
                &mut type_errors,
                obj,
                "waitlist_offer_minutes",
                "waitlist_offer_minutes",
            ),
            release_after_minutes: json_int(
                &mut type_errors,
                obj,
                "release_after_minutes",
                "release_after_minutes",
            ),
            reminder_minutes: json_int(
                &mut type_errors,
                obj,
                "reminder_minutes",
                "reminder_minutes",
            ),
            weekly: json_list(&mut type_errors, obj, "weekly", |errs, path, o| {
                WeeklyInput {
                    day: json_str(errs, o, "day", path),
                    open: json_str(errs, o, "open", path),
                    close: json_str(errs, o, "close", path),
                }
            }),
            exceptions: json_list(&mut type_errors, obj, "exceptions", |errs, path, o| {
                ExceptionInput {
                    date: json_str(errs, o, "date", path),
                    closed: json_bool(errs, o, "closed", path),
                    open: json_str(errs, o, "open", path),
                    close: json_str(errs, o, "close", path),
                }
            }),
        };
        match Schedule::parse(input) {
            Ok(schedule) if type_errors.is_empty() => Ok(schedule),
            Ok(_) => Err(type_errors),
            Err(parse_errors) => {
                // A field with the wrong type was passed on as absent; don't also call it
                // "required", complain about its sub-fields, or about its entry lacking it.
                let within = |inner: &str, outer: &str| {
                    inner
                        .strip_prefix(outer)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
                };
                let covered = |field: &str| {
                    type_errors.iter().any(|t: &FieldError| {
                        within(field, &t.field) || (field.ends_with(']') && within(&t.field, field))
                    })
                };
                let extra: Vec<FieldError> = parse_errors
                    .into_iter()
                    .filter(|e| !covered(&e.field))
                    .collect();
                type_errors.extend(extra);
                Err(type_errors)
            }
        }
    }

    /// Slot length in minutes.
    pub fn slot_minutes(&self) -> u32 {
        self.slot_minutes
    }

    /// Slot length as a duration.
    pub fn slot_duration(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.slot_minutes))
    }

    /// People per slot.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// How many days ahead (in real 24-hour days from now) a slot may start to be bookable.
    pub fn horizon_days(&self) -> u32 {
        self.horizon_days
    }

    /// Per-user limit of confirmed bookings whose slot has not ended.
    pub fn max_active_bookings_per_user(&self) -> u32 {
        self.max_active_bookings_per_user
    }

    /// How long an offer to the waiting list holds its places.
    pub fn waitlist_offer_duration(&self) -> TimeDelta {
        TimeDelta::minutes(i64::from(self.waitlist_offer_minutes))
    }

    /// How long after its slot start a confirmed booking not checked in is released as a
    /// no-show, if the store wants that.
    pub fn release_after(&self) -> Option<TimeDelta> {
        self.release_after_minutes
            .map(|m| TimeDelta::minutes(i64::from(m)))
    }

    /// How long before the slot start a reminder is due, if the store wants reminders.
    pub fn reminder_before(&self) -> Option<TimeDelta> {
        self.reminder_minutes
            .map(|m| TimeDelta::minutes(i64::from(m)))
    }

    /// The weekly intervals of `day`, sorted.
    pub fn weekly_intervals(&self, day: Weekday) -> &[Interval] {
        &self.weekly[day.num_days_from_monday() as usize]
    }

    /// The exception for `date`, if any.
    pub fn exception(&self, date: NaiveDate) -> Option<&DayOverride> {
        self.exceptions.get(&date)
    }

    /// All exceptions by date.
    pub fn exceptions(&self) -> &BTreeMap<NaiveDate, DayOverride> {
        &self.exceptions
    }

    /// The opening intervals that apply on `date`: the exception's if there is one (none when
    /// closed), else the weekly ones of its weekday. Sorted and non-overlapping.
    pub fn intervals_on(&self, date: NaiveDate) -> &[Interval] {
        match self.exceptions.get(&date) {
            Some(DayOverride::Closed) => &[],
            Some(DayOverride::Open(intervals)) => intervals,
            None => self.weekly_intervals(date.weekday()),
        }
    }

    /// The normalised wire/storage shape of this schedule.
    pub fn to_input(&self) -> ScheduleInput {
        let weekly = self
            .weekly
            .iter()
            .enumerate()
            .flat_map(|(day, intervals)| {
                intervals.iter().map(move |iv| WeeklyInput {
                    day: Some(DAY_NAMES[day].to_owned()),
                    open: Some(iv.open.to_string()),
                    close: Some(iv.close.to_string()),
                })
            })
            .collect();
        let exceptions = self
            .exceptions
            .iter()
            .flat_map(|(date, o)| {
                let date = date.format("%Y-%m-%d").to_string();
                match o {
                    DayOverride::Closed => vec![ExceptionInput {
                        date: Some(date),
                        closed: Some(true),
                        open: None,
                        close: None,
                    }],
                    DayOverride::Open(intervals) => intervals
                        .iter()
                        .map(|iv| ExceptionInput {
                            date: Some(date.clone()),
                            closed: None,
                            open: Some(iv.open.to_string()),
                            close: Some(iv.close.to_string()),
                        })
                        .collect(),
                }
            })
            .collect();
        ScheduleInput {
            slot_minutes: Some(i64::from(self.slot_minutes)),
            capacity: Some(i64::from(self.capacity)),
            horizon_days: Some(i64::from(self.horizon_days)),
            max_active_bookings_per_user: Some(i64::from(self.max_active_bookings_per_user)),
            waitlist_offer_minutes: Some(i64::from(self.waitlist_offer_minutes)),
            release_after_minutes: self.release_after_minutes.map(i64::from),
            reminder_minutes: self.reminder_minutes.map(i64::from),
            weekly: Some(weekly),
            exceptions: Some(exceptions),
        }
    }
}

/// Day names in the normalised output, for callers that need them (e.g. legacy surfaces).
pub fn day_name(day: Weekday) -> &'static str {
    DAY_NAMES[day.num_days_from_monday() as usize]
}

/// The weekday of a normalised day name (`"mon"`..`"sun"`, case-insensitive).
pub fn weekday_from_name(name: &str) -> Option<Weekday> {
    parse_day(name).ok().map(|i| WEEKDAYS[i])
}

fn json_int(
    errors: &mut Vec<FieldError>,
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Option<i64> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(v), _) => Some(v),
            // Larger than i64::MAX: keep it out of range so parse reports the range.
            (None, Some(_)) => Some(i64::MAX),
            (None, None) => {
                errors.push(err(path, "must be an integer"));
                None
            }
        },
        Some(_) => {
            errors.push(err(path, "must be an integer"));
            None
        }
    }
}

fn json_str(
    errors: &mut Vec<FieldError>,
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(err(format!("{parent}.{key}"), "must be a string"));
            None
        }
    }
}

fn json_bool(
    errors: &mut Vec<FieldError>,
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
) -> Option<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(err(format!("{parent}.{key}"), "must be true or false"));
            None
        }
    }
}

fn json_list<T: Default>(
    errors: &mut Vec<FieldError>,
    obj: &Map<String, Value>,
    key: &str,
    item: impl Fn(&mut Vec<FieldError>, &str, &Map<String, Value>) -> T,
) -> Option<Vec<T>> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = format!("{key}[{i}]");
                    match v.as_object() {
                        Some(o) => item(errors, &path, o),
                        None => {
                            errors.push(err(path, "must be an object"));
                            T::default()
                        }
                    }
                })
                .collect(),
        ),
        Some(_) => {
            errors.push(err(key, "must be a list"));
            None
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_input().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    /// Deserialises the stored shape and validates it, so a stored schedule can never be
    /// invalid once loaded.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = ScheduleInput::deserialize(deserializer)?;
        Schedule::parse(input).map_err(|errors| {
            let joined: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            serde::de::Error::custom(format!("invalid schedule: {}", joined.join("; ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "slot_minutes": 30,
            "capacity": 10,
            "horizon_days": 14,
            "max_active_bookings_per_user": 3,
            "weekly": [
                {"day": "mon", "open": "08:00", "close": "12:00"},
                {"day": "mon", "open": "14:00", "close": "20:00"},
                {"day": "sat", "open": "09:00", "close": "24:00"}
            ],
            "exceptions": [
                {"date": "2026-12-24", "open": "08:00", "close": "12:00"},
                {"date": "2026-12-25", "closed": true}
            ]
        })
    }

    fn with(mut v: Value, key: &str, value: Value) -> Value {
        v[key] = value;
        v
    }

    fn fields(r: Result<Schedule, Vec<FieldError>>) -> Vec<String> {
        r.expect_err("expected field errors")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn valid_schedule_parses_with_accessors() {
        let s = Schedule::from_json(&base()).unwrap();
        assert_eq!(s.slot_minutes(), 30);
        assert_eq!(s.capacity(), 10);
        assert_eq!(s.horizon_days(), 14);
        assert_eq!(s.max_active_bookings_per_user(), 3);
        assert_eq!(s.weekly_intervals(Weekday::Mon).len(), 2);
        assert_eq!(
            s.weekly_intervals(Weekday::Sat)[0].close(),
            WallTime::END_OF_DAY
        );
        assert!(s.weekly_intervals(Weekday::Tue).is_empty());
        assert_eq!(s.exception(d("2026-12-25")), Some(&DayOverride::Closed));
    }

    #[test]
    fn waitlist_release_and_reminder_settings_are_validated() {
        let s = Schedule::from_json(&base()).unwrap();
        assert_eq!(s.waitlist_offer_duration(), TimeDelta::minutes(15));
        assert_eq!(s.release_after(), None);
        assert_eq!(s.reminder_before(), None);
        let mut v = base();
        v["waitlist_offer_minutes"] = json!(240);
        v["release_after_minutes"] = json!(30);
        v["reminder_minutes"] = json!(10_080);
        let s = Schedule::from_json(&v).unwrap();
        assert_eq!(s.waitlist_offer_duration(), TimeDelta::minutes(240));
        assert_eq!(s.release_after(), Some(TimeDelta::minutes(30)));
        assert_eq!(s.reminder_before(), Some(TimeDelta::minutes(10_080)));
        assert_eq!(
            Schedule::from_json(&serde_json::to_value(&s).unwrap()).unwrap(),
            s
        );
        v["release_after_minutes"] = json!(null);
        assert_eq!(Schedule::from_json(&v).unwrap().release_after(), None);
        // Release at most one slot (30 minutes here) after the start.
        for (field, bad) in [
            ("waitlist_offer_minutes", json!(0)),
            ("waitlist_offer_minutes", json!(241)),
            ("release_after_minutes", json!(0)),
            ("release_after_minutes", json!(31)),
            ("reminder_minutes", json!(4)),
            ("reminder_minutes", json!(10_081)),
            ("reminder_minutes", json!("5")),
        ] {
            let mut v = base();
            v[field] = bad.clone();
            let errors = Schedule::from_json(&v).unwrap_err();
            assert_eq!(errors.len(), 1, "{field} {bad}: {errors:?}");
            assert_eq!(errors[0].field, field, "{field} {bad}");
        }
    }

    #[test]
    fn serialises_back_normalised_and_round_trips() {
        let mut v = base();
        // Unsorted input with a mixed-case day comes back sorted and lowercase.
        v["weekly"] = json!([
            {"day": "SAT", "open": "09:00", "close": "24:00"},
            {"day": "mon", "open": "14:00", "close": "20:00"},
            {"day": "Mon", "open": "08:00", "close": "12:00"}
        ]);
        v["exceptions"] = json!([
            {"date": "2026-12-25", "closed": true},
            {"date": "2026-12-24", "open": "14:00", "close": "16:00"},
            {"date": "2026-12-24", "closed": false, "open": "08:00", "close": "12:00"}
        ]);
        let s = Schedule::from_json(&v).unwrap();
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(
            out,
            json!({
                "slot_minutes": 30,
                "capacity": 10,
                "horizon_days": 14,
                "max_active_bookings_per_user": 3,
                "waitlist_offer_minutes": 15,
                "release_after_minutes": null,
                "reminder_minutes": null,
                "weekly": [
                    {"day": "mon", "open": "08:00", "close": "12:00"},
                    {"day": "mon", "open": "14:00", "close": "20:00"},
                    {"day": "sat", "open": "09:00", "close": "24:00"}
                ],
                "exceptions": [
                    {"date": "2026-12-24", "open": "08:00", "close": "12:00"},
                    {"date": "2026-12-24", "open": "14:00", "close": "16:00"},
                    {"date": "2026-12-25", "closed": true}
                ]
            })
        );
        let back: Schedule = serde_json::from_value(out).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            Schedule::from_json(&serde_json::to_value(&s).unwrap()).unwrap(),
            s
        );
    }

    #[test]
    fn deserialising_an_invalid_stored_schedule_fails() {
        let bad = with(base(), "capacity", json!(0));
        let e = serde_json::from_value::<Schedule>(bad).unwrap_err();
        assert!(e.to_string().contains("capacity"), "{e}");
    }

    #[test]
    fn exceptions_may_be_absent_but_weekly_is_required() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("exceptions");
        assert!(Schedule::from_json(&v).unwrap().exceptions().is_empty());
        v.as_object_mut().unwrap().remove("weekly");
        assert_eq!(fields(Schedule::from_json(&v)), ["weekly"]);
        let empty = with(base(), "weekly", json!([]));
        assert!(Schedule::from_json(&empty).is_ok());
    }

    #[test]
    fn numeric_ranges_name_their_fields() {
        for (field, bad, good) in [
            ("slot_minutes", [4, 241], [5, 240]),
            ("capacity", [0, 10_001], [1, 10_000]),
            ("horizon_days", [0, 367], [1, 366]),
            ("max_active_bookings_per_user", [0, 1001], [1, 1000]),
        ] {
            for b in bad {
                // slot 240 would make the 30-minute-aligned intervals invalid; keep it simple.
                let v = with(with(base(), "weekly", json!([])), field, json!(b));
                assert_eq!(fields(Schedule::from_json(&v)), [field], "{field}={b}");
            }
            for g in good {
                let v = with(with(base(), "weekly", json!([])), field, json!(g));
                let v = with(v, "exceptions", json!([]));
                assert!(Schedule::from_json(&v).is_ok(), "{field}={g}");
            }
        }
        let neg = with(base(), "capacity", json!(-5));
        assert_eq!(fields(Schedule::from_json(&neg)), ["capacity"]);
        let huge = with(base(), "capacity", json!(u64::MAX));
        assert_eq!(fields(Schedule::from_json(&huge)), ["capacity"]);
    }

    #[test]
    fn wrong_json_types_are_field_errors_without_duplicates() {
        let v = with(base(), "slot_minutes", json!("30"));
        let errs = Schedule::from_json(&v).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "slot_minutes");
        assert_eq!(errs[0].message, "must be an integer");
        assert_eq!(
            fields(Schedule::from_json(&with(base(), "capacity", json!(1.5)))),
            ["capacity"]
        );
        assert_eq!(
            fields(Schedule::from_json(&with(base(), "weekly", json!({})))),
            ["weekly"]
        );
        assert_eq!(
            fields(Schedule::from_json(&with(base(), "weekly", json!([5])))),
            ["weekly[0]"]
        );
        let v = with(
            base(),
            "weekly",
            json!([{"day": 1, "open": "08:00", "close": 9}]),
        );
        assert_eq!(
            fields(Schedule::from_json(&v)),
            ["weekly[0].day", "weekly[0].close"]
        );
        let v = with(
            base(),
            "exceptions",
            json!([{"date": "2026-12-25", "closed": "yes"}]),
        );
        assert_eq!(fields(Schedule::from_json(&v)), ["exceptions[0].closed"]);
        assert_eq!(fields(Schedule::from_json(&json!([1, 2]))), [""]);
    }

    #[test]
    fn missing_numbers_are_required() {
        let errs = Schedule::from_json(&json!({"weekly": []})).unwrap_err();
        let f: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "slot_minutes",
                "capacity",
                "horizon_days",
                "max_active_bookings_per_user"
            ]
        );
        assert!(errs.iter().all(|e| e.message == "is required"));
    }

    #[test]
    fn time_format_errors_name_open_or_close() {
        for (open, close, field) in [
            ("8:00", "12:00", "weekly[0].open"),
            ("08:60", "12:00", "weekly[0].open"),
            ("24:00", "24:00", "weekly[0].open"),
            ("25:00", "26:00", "weekly[0].open"),
            ("08:00", "24:30", "weekly[0].close"),
            ("08:00", "12:00:00", "weekly[0].close"),
            ("08:00", "1200", "weekly[0].close"),
            ("08:00", "+1:00", "weekly[0].close"),
            ("12:00", "08:00", "weekly[0].close"),
            ("12:00", "12:00", "weekly[0].close"),
            // 08:00-08:45 is not a multiple of 30 minutes.
            ("08:00", "08:45", "weekly[0].close"),
        ] {
            let v = with(
                base(),
                "weekly",
                json!([{"day": "tue", "open": open, "close": close}]),
            );
            let got = fields(Schedule::from_json(&v));
            assert!(
                got.iter().any(|f| f == field),
                "{open}-{close}: expected {field} in {got:?}"
            );
            assert!(got.iter().all(|f| f.starts_with("weekly[0].")), "{got:?}");
        }
        // Both times bad: both named.
        let v = with(
            base(),
            "weekly",
            json!([{"day": "tue", "open": "x", "close": "y"}]),
        );
        assert_eq!(
            fields(Schedule::from_json(&v)),
            ["weekly[0].open", "weekly[0].close"]
        );
    }

    #[test]
    fn bad_or_missing_day_is_named() {
        let v = with(
            base(),
            "weekly",
            json!([
                {"day": "mon", "open": "08:00", "close": "09:00"},
                {"day": "monday", "open": "08:00", "close": "09:00"},
                {"open": "08:00", "close": "09:00"},
                {"day": "sun"}
            ]),
        );
        assert_eq!(
            fields(Schedule::from_json(&v)),
            [
                "weekly[1].day",
                "weekly[2].day",
                "weekly[3].open",
                "weekly[3].close"
            ]
        );
    }

    #[test]
    fn overlapping_weekly_intervals_blame_the_later_entry() {
        let v = with(
            base(),
            "weekly",
            json!([
                {"day": "mon", "open": "08:00", "close": "12:00"},
                {"day": "tue", "open": "08:00", "close": "12:00"},
                {"day": "mon", "open": "12:00", "close": "14:00"},
                {"day": "mon", "open": "07:00", "close": "09:00"}
            ]),
        );
        let errs = Schedule::from_json(&v).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "weekly[3].open");
        assert!(errs[0].message.contains("weekly[0]"), "{}", errs[0].message);
        // An interval contained in a long earlier one is caught even if a short one sits between.
        let v = with(
            base(),
            "weekly",
            json!([
                {"day": "wed", "open": "08:00", "close": "20:00"},
                {"day": "wed", "open": "09:00", "close": "10:00"},
                {"day": "wed", "open": "11:00", "close": "12:00"}
            ]),
        );
        assert_eq!(
            fields(Schedule::from_json(&v)),
            ["weekly[1].open", "weekly[2].open"]
        );
        // Identical duplicates overlap.
        let v = with(
            base(),
            "weekly",
            json!([
                {"day": "fri", "open": "08:00", "close": "09:00"},
                {"day": "fri", "open": "08:00", "close": "09:00"}
            ]),
        );
        assert_eq!(fields(Schedule::from_json(&v)), ["weekly[1].open"]);
    }

    #[test]
    fn too_many_entries_are_rejected() {
        let many: Vec<Value> = (0..=MAX_WEEKLY_INTERVALS)
            .map(|_| json!({"day": "mon", "open": "08:00", "close": "09:00"}))
            .collect();
        assert_eq!(
            fields(Schedule::from_json(&with(base(), "weekly", json!(many)))),
            ["weekly"]
        );
        let many: Vec<Value> = (0..=MAX_EXCEPTIONS)
            .map(|_| json!({"date": "2026-01-01", "closed": true}))
            .collect();
        assert_eq!(
            fields(Schedule::from_json(&with(
                base(),
                "exceptions",
                json!(many)
            ))),
            ["exceptions"]
        );
    }

    #[test]
    fn exception_errors_name_their_fields() {
        let cases = [
            (
                json!({"date": "2026-02-30", "closed": true}),
                "exceptions[0].date",
            ),
            (
                json!({"date": "2026-2-3", "closed": true}),
                "exceptions[0].date",
            ),
            (json!({"closed": true}), "exceptions[0].date"),
            (
                json!({"date": "2026-02-03", "closed": true, "open": "08:00"}),
                "exceptions[0].closed",
            ),
            (json!({"date": "2026-02-03"}), "exceptions[0]"),
            (
                json!({"date": "2026-02-03", "closed": false}),
                "exceptions[0].open",
            ),
            (
                json!({"date": "2026-02-03", "open": "08:00"}),
                "exceptions[0].close",
            ),
            (
                json!({"date": "2026-02-03", "open": "09:00", "close": "08:00"}),
                "exceptions[0].close",
            ),
        ];
        for (entry, field) in cases {
            let v = with(base(), "exceptions", json!([entry]));
            let got = fields(Schedule::from_json(&v));
            assert!(got.iter().any(|f| f == field), "{entry}: {got:?}");
        }
    }

    #[test]
    fn closed_date_cannot_be_mixed_or_repeated() {
        let v = with(
            base(),
            "exceptions",
            json!([
                {"date": "2026-12-24", "open": "08:00", "close": "12:00"},
                {"date": "2026-12-24", "closed": true},
                {"date": "2026-12-24", "closed": true},
                {"date": "2026-12-26", "open": "08:00", "close": "12:00"}
            ]),
        );
        let errs = Schedule::from_json(&v).unwrap_err();
        let f: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["exceptions[2].date", "exceptions[0].date"]);
        assert!(errs[0].message.contains("exceptions[1]"));
    }

    #[test]
    fn exception_intervals_may_not_overlap() {
        let v = with(
            base(),
            "exceptions",
            json!([
                {"date": "2026-12-24", "open": "08:00", "close": "12:00"},
                {"date": "2026-12-24", "open": "11:00", "close": "13:00"},
                {"date": "2026-12-23", "open": "11:00", "close": "13:00"}
            ]),
        );
        assert_eq!(fields(Schedule::from_json(&v)), ["exceptions[1].open"]);
    }

    #[test]
    fn intervals_on_uses_exceptions_before_weekly() {
        let s = Schedule::from_json(&base()).unwrap();
        // 2026-12-21 is a Monday: weekly.
        assert_eq!(s.intervals_on(d("2026-12-21")).len(), 2);
        // 2026-12-24 (Thursday) has an exception interval though Thursdays are closed.
        let iv = s.intervals_on(d("2026-12-24"));
        assert_eq!(iv.len(), 1);
        assert_eq!(iv[0].to_string(), "08:00-12:00");
        // 2026-12-25 closed.
        assert!(s.intervals_on(d("2026-12-25")).is_empty());
        // 2026-12-26 Saturday: weekly, until 24:00.
        assert_eq!(s.intervals_on(d("2026-12-26"))[0].close().minutes(), 1440);
    }

    #[test]
    fn wall_time_parsing_and_display() {
        assert_eq!(WallTime::parse("00:00", false), Ok(WallTime::MIDNIGHT));
        assert_eq!(WallTime::parse("23:59", false).unwrap().minutes(), 1439);
        assert_eq!(WallTime::parse("24:00", true), Ok(WallTime::END_OF_DAY));
        assert!(WallTime::parse("24:00", false).is_err());
        assert!(WallTime::parse("24:01", true).is_err());
        assert!(WallTime::parse("ab:cd", true).is_err());
        assert!(WallTime::parse("", true).is_err());
        assert!(WallTime::parse("０8:00", true).is_err());
        assert_eq!(WallTime::END_OF_DAY.to_string(), "24:00");
        assert_eq!(WallTime::from_minutes(605).unwrap().to_string(), "10:05");
        assert_eq!(WallTime::from_minutes(1441), None);
        assert_eq!(
            Interval::new(WallTime::END_OF_DAY, WallTime::END_OF_DAY),
            None
        );
    }

    #[test]
    fn day_names_round_trip() {
        for (i, name) in DAY_NAMES.iter().enumerate() {
            let wd = weekday_from_name(name).unwrap();
            assert_eq!(wd.num_days_from_monday() as usize, i);
            assert_eq!(day_name(wd), *name);
        }
        assert_eq!(weekday_from_name("Sun"), Some(Weekday::Sun));
        assert_eq!(weekday_from_name("sunday"), None);
    }
}
