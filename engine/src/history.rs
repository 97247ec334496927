//! Booking history: what a store's archive holds and how it is laid out in object storage.
//!
//! A store's object keeps its bookings until their slot ended [`ARCHIVE_AFTER_DAYS`] ago; its
//! alarm then writes them to R2 as newline-delimited JSON ([`ArchivedBooking`], one line per
//! booking) and deletes them only once R2 confirmed the write. One archive batch becomes one R2
//! object per store-local month it touches, named by [`archive_key`]:
//!
//! ```text
//! history/{store_id}/{YYYY-MM}/{first slot start, 20261201T090000Z}-{batch sequence}.ndjson
//! ```
//!
//! The name is a pure function of the batch (the object records the batch before writing it), so
//! a retried batch overwrites its own objects instead of adding copies; and the first slot start
//! leads the name, so listing a month in key order yields its objects in the order of their
//! first booking, which is what the export's merge ([`crate::export::Merge`]) needs to stream a
//! month in slot order while opening one object at a time.
//!
//! Archived records name no user: the export shows no owner, so an account erasure has nothing
//! to find in the archive. Guests' names and phones (bookings an api key made for a caller) stay,
//! as the store's own record of its callers.

use std::collections::BTreeMap;
use std::fmt;

use crate::zone::Tz;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::{Booking, BookingStatus};
use crate::ids::Owner;
use crate::slots::local_day_bounds;

/// Bookings whose slot ended longer ago than this leave the store's object for the archive
/// (and the D1 per-user index prunes its rows after the same time).
pub const ARCHIVE_AFTER_DAYS: i64 = 30;

/// Bookings per archive batch (one alarm run writes at most this many).
pub const ARCHIVE_BATCH: usize = 100;

/// The instant before which a booking's slot must have ended for it to be archived at `now`.
pub fn archive_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now - TimeDelta::days(ARCHIVE_AFTER_DAYS)
}

/// How a booking was made, as the export names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A shopper booked in the app (or the legacy app) for themselves.
    App,
    /// A store api key (the phone system) booked for a caller.
    ApiKey,
    /// Moved from the retired D1 history table, which did not record how (a booking that named
    /// no user there was an api key's or an erased account's).
    Unknown,
}

impl Channel {
    /// The export's name of the channel.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::ApiKey => "api_key",
            Channel::Unknown => "unknown",
        }
    }
}

/// A caller an api key booked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedGuest {
    /// Name as given.
    pub name: String,
    /// Phone number as given.
    pub phone: String,
}

/// One booking as the archive and the export hold it (one NDJSON line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedBooking {
    /// Booking id.
    pub id: String,
    /// Booking code.
    pub code: String,
    /// Start of the booked slot.
    pub slot_start: DateTime<Utc>,
    /// End of the booked slot.
    pub slot_end: DateTime<Utc>,
    /// People.
    pub party_size: u32,
    /// Final status.
    pub status: BookingStatus,
    /// How it was made.
    pub channel: Channel,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When the party checked in (`None` unless `status` is `checked_in`). Check-in is a final
    /// state, so this is the booking's last change; an anonymisation after an account erasure
    /// later moves it to the time of the erasure.
    pub checked_in_at: Option<DateTime<Utc>>,
    /// When it last changed (orders two copies of one booking: the later one wins).
    pub updated_at: DateTime<Utc>,
    /// The caller, for bookings an api key made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<ArchivedGuest>,
}

impl ArchivedBooking {
    /// The archive's record of `booking` (its owner left out).
    pub fn of(booking: &Booking) -> Self {
        let guest = match (&booking.guest_name, &booking.guest_phone) {
            (Some(name), Some(phone)) => Some(ArchivedGuest {
                name: name.clone(),
                phone: phone.clone(),
            }),
            _ => None,
        };
        let channel = match (&booking.owner, &guest) {
            (Some(Owner::ApiKey(_)), _) | (_, Some(_)) => Channel::ApiKey,
            _ => Channel::App,
        };
        ArchivedBooking {
            id: booking.id.clone(),
            code: booking.code.clone(),
            slot_start: booking.slot_start,
            slot_end: booking.slot_end,
            party_size: booking.party_size,
            status: booking.status,
            channel,
            created_at: booking.created_at,
            checked_in_at: (booking.status == BookingStatus::CheckedIn)
                .then_some(booking.updated_at),
            updated_at: booking.updated_at,
            guest,
        }
    }

    /// The export's order: by slot start, then id (then the later copy of one booking first).
    pub fn order_key(&self) -> (DateTime<Utc>, &str) {
        (self.slot_start, self.id.as_str())
    }

    /// One NDJSON line (with its `\n`).
    pub fn ndjson_line(&self) -> String {
        // A struct of strings, numbers and instants always serialises.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A calendar month (`YYYY-MM`), in a store's zone wherever it is turned into instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

/// Why a `month` parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMonth;

impl fmt::Display for InvalidMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be a month as YYYY-MM between 2000-01 and 9998-12")
    }
}

impl Month {
    /// Parses exactly `YYYY-MM` (years 2000..=9998, so both bounds are representable).
    pub fn parse(raw: &str) -> Result<Self, InvalidMonth> {
        let bytes = raw.as_bytes();
        if bytes.len() != 7 || bytes[4] != b'-' {
            return Err(InvalidMonth);
        }
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let (y, m) = (&raw[..4], &raw[5..]);
        if !digits(y) || !digits(m) {
            return Err(InvalidMonth);
        }
        let year: i32 = y.parse().map_err(|_| InvalidMonth)?;
        let month: u32 = m.parse().map_err(|_| InvalidMonth)?;
        if !(2000..=9998).contains(&year) || !(1..=12).contains(&month) {
            return Err(InvalidMonth);
        }
        Ok(Month { year, month })
    }

    /// The store-local month `instant` falls in.
    pub fn of(instant: DateTime<Utc>, tz: Tz) -> Self {
        let local = instant.with_timezone(&tz);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// `[first local midnight, next month's first local midnight)` in `tz`.
    pub fn bounds(self, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (start, _) = local_day_bounds(tz, self.first_day()?)?;
        let (end, _) = local_day_bounds(tz, self.next().first_day()?)?;
        Some((start, end))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The R2 prefix of one store's month (ends with `/`).
pub fn month_prefix(store_id: &str, month: Month) -> String {
    format!("history/{store_id}/{month}/")
}

/// The R2 key of the part of archive batch `batch` (a name unique within the store: the
/// object's batch sequence, or the first booking id of a batch moved from D1) that falls in
/// `month` and whose first booking starts at `first_start`.
pub fn archive_key(
    store_id: &str,
    month: Month,
    first_start: DateTime<Utc>,
    batch: &str,
) -> String {
    format!(
        "{}{}-{batch}.ndjson",
        month_prefix(store_id, month),
        first_start.format("%Y%m%dT%H%M%SZ")
    )
}

/// The first slot start an archive key names (`None` for a key of another shape).
pub fn key_first_start(key: &str) -> Option<DateTime<Utc>> {
    let name = key.rsplit('/').next()?;
    let stamp = name.get(..16)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// One R2 object of an archive batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivePart {
    /// Its key ([`archive_key`]).
    pub key: String,
    /// Its NDJSON body, ordered by slot start then id.
    pub body: String,
}

/// Splits a batch of archived bookings into one R2 object per store-local month of their slot
/// starts, each sorted by slot start then id and named by [`archive_key`].
pub fn plan_batch(
    store_id: &str,
    tz: Tz,
    batch: &str,
    records: &[ArchivedBooking],
) -> Vec<ArchivePart> {
    let mut by_month: BTreeMap<Month, Vec<&ArchivedBooking>> = BTreeMap::new();
    for r in records {
        by_month
            .entry(Month::of(r.slot_start, tz))
            .or_default()
            .push(r);
    }
    by_month
        .into_iter()
        .filter_map(|(month, mut rs)| {
            rs.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
            let first = rs.first()?.slot_start;
            Some(ArchivePart {
                key: archive_key(store_id, month, first, batch),
                body: rs.iter().map(|r| r.ndjson_line()).collect(),
            })
        })
        .collect()
}

/// The records of an NDJSON archive object (blank lines skipped); a line that is no record is
/// an error, never silently dropped.
pub fn parse_ndjson(body: &str) -> Result<Vec<ArchivedBooking>, String> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("bad archive line: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{KeyId, UserId};
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn booking(id: &str, start: &str, owner: Option<Owner>) -> Booking {
        let s = at(start);
        Booking {
            id: id.into(),
            code: "ABCD2345".into(),
            owner,
            guest_name: None,
            guest_phone: None,
            slot_start: s,
            slot_end: s + TimeDelta::minutes(30),
            party_size: 2,
            status: BookingStatus::Confirmed,
            created_at: s - TimeDelta::days(1),
            updated_at: s - TimeDelta::days(1),
        }
    }

    #[test]
    fn records_name_no_user_and_tell_the_channel() {
        let user = booking(
            "b1",
            "2026-10-01T08:00:00Z",
            Some(Owner::User(UserId::parse("u-1").unwrap())),
        );
        let r = ArchivedBooking::of(&user);
        assert_eq!(r.channel, Channel::App);
        assert!(!r.ndjson_line().contains("u-1"));
        let mut phone = booking(
            "b2",
            "2026-10-01T08:00:00Z",
            Some(Owner::ApiKey(KeyId::parse("k-1").unwrap())),
        );
        phone.guest_name = Some("Zoë, \"the\" caller".into());
        phone.guest_phone = Some("+4930123456".into());
        phone.status = BookingStatus::CheckedIn;
        phone.updated_at = at("2026-10-01T08:05:00Z");
        let r = ArchivedBooking::of(&phone);
        assert_eq!(r.channel, Channel::ApiKey);
        assert_eq!(r.checked_in_at, Some(at("2026-10-01T08:05:00Z")));
        let line = r.ndjson_line();
        assert!(line.ends_with('\n') && !line.contains("k-1"), "{line}");
        assert_eq!(parse_ndjson(&line).unwrap(), vec![r]);
    }

    #[test]
    fn months_parse_strictly_and_bound_local_months() {
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026/01",
            "1999-12",
            "２０２６-01",
            "",
        ] {
            assert_eq!(Month::parse(bad), Err(InvalidMonth), "{bad}");
        }
        let m = Month::parse("2026-03").unwrap();
        assert_eq!(m.to_string(), "2026-03");
        let (from, to) = m.bounds(crate::zone::tzdb::zone("Europe/Berlin")).unwrap();
        assert_eq!(from, at("2026-02-28T23:00:00Z"));
        // The month ends in summer time.
        assert_eq!(to, at("2026-03-31T22:00:00Z"));
        let dec = Month::parse("2026-12").unwrap();
        assert_eq!(dec.bounds(Tz::UTC).unwrap().1, at("2027-01-01T00:00:00Z"));
        // 23:30 UTC on the last day of a month is already the next month in Berlin.
        assert_eq!(
            Month::of(
                at("2026-03-31T22:30:00Z"),
                crate::zone::tzdb::zone("Europe/Berlin")
            )
            .to_string(),
            "2026-04"
        );
    }

    #[test]
    fn a_batch_splits_by_local_month_with_deterministic_sorted_parts() {
        let tz = crate::zone::tzdb::zone("Europe/Berlin");
        let records: Vec<ArchivedBooking> = [
            ("b3", "2026-10-01T09:00:00Z"),
            ("b1", "2026-09-30T22:30:00Z"), // October in Berlin
            ("b2", "2026-09-30T08:00:00Z"),
        ]
        .iter()
        .map(|(id, s)| ArchivedBooking::of(&booking(id, s, None)))
        .collect();
        let parts = plan_batch("s1", tz, "000000000007", &records);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].key,
            "history/s1/2026-09/20260930T080000Z-000000000007.ndjson"
        );
        assert_eq!(
            parts[1].key,
            "history/s1/2026-10/20260930T223000Z-000000000007.ndjson"
        );
        let oct = parse_ndjson(&parts[1].body).unwrap();
        assert_eq!(
            oct.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b1", "b3"]
        );
        // The same batch planned again (a retry) names the same objects with the same bodies.
        let mut shuffled = records.clone();
        shuffled.reverse();
        assert_eq!(plan_batch("s1", tz, "000000000007", &shuffled), parts);
        assert_eq!(
            key_first_start(&parts[1].key),
            Some(at("2026-09-30T22:30:00Z"))
        );
        assert_eq!(key_first_start("history/s1/2026-10/junk"), None);
    }

    #[test]
    fn the_cutoff_is_thirty_days_back() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(archive_cutoff(now), at("2026-11-01T12:00:00Z"));
    }

    #[test]
    fn a_bad_archive_line_is_an_error() {
        assert!(parse_ndjson("{\"id\":1}\n").is_err());
        assert_eq!(parse_ndjson("\n\n").unwrap(), vec![]);
    }
}
