//! Booking inputs (slot starts, party sizes, dates, list scopes) and the booking representation.

use chrono::{DateTime, NaiveDate, Utc};
use safemarket_engine::{format_utc, Booking};

use super::time_range;
use crate::error::FieldError;

/// A slot start instant given as RFC 3339 with an offset (`2026-12-01T09:00:00Z`), within the
/// range the engine handles; only [`SlotStart::parse`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotStart(DateTime<Utc>);

impl SlotStart {
    /// Parses an RFC 3339 instant; whether a slot starts there is the engine's decision.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let at = DateTime::parse_from_rfc3339(raw.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                FieldError::new(
                    field,
                    "must be an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00Z",
                )
            })?;
        if !time_range::instant_ok(at) {
            return Err(FieldError::new(field, time_range::OUT_OF_RANGE));
        }
        Ok(SlotStart(at))
    }

    /// The instant.
    pub fn instant(self) -> DateTime<Utc> {
        self.0
    }
}

/// People in a party: 1..=10,000 (the largest capacity; the slot's own capacity is checked
/// by the engine); only [`PartySize::parse`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartySize(u32);

impl PartySize {
    /// Parses a party size from a JSON number (absent = 1).
    pub fn parse(raw: Option<i64>) -> Result<Self, FieldError> {
        match raw {
            None => Ok(PartySize(1)),
            Some(n @ 1..=10_000) => Ok(PartySize(n as u32)),
            Some(_) => Err(FieldError::new("party_size", "must be between 1 and 10000")),
        }
    }

    /// The number of people.
    pub fn people(self) -> u32 {
        self.0
    }
}

/// A `YYYY-MM-DD` date parameter.
pub fn parse_date(raw: Option<&str>, field: &str) -> Result<NaiveDate, FieldError> {
    let raw = raw.ok_or_else(|| FieldError::new(field, "is required (YYYY-MM-DD)"))?;
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date as YYYY-MM-DD"))?;
    if !time_range::date_ok(date) {
        return Err(FieldError::new(field, time_range::OUT_OF_RANGE));
    }
    Ok(date)
}

/// The longest slot listing, in days (inclusive range).
pub const MAX_LISTING_DAYS: i64 = 31;

/// A validated `from..=to` listing range.
pub fn listing_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), Vec<FieldError>> {
    let from = parse_date(from, "from");
    let to = parse_date(to, "to");
    match (from, to) {
        (Ok(f), Ok(t)) if t < f => Err(vec![FieldError::new("to", "must not be before from")]),
        (Ok(f), Ok(t)) if (t - f).num_days() >= MAX_LISTING_DAYS => Err(vec![FieldError::new(
            "to",
            "the range may span at most 31 days",
        )]),
        (Ok(f), Ok(t)) => Ok((f, t)),
        (f, t) => Err([f.err(), t.err()].into_iter().flatten().collect()),
    }
}

pub use safemarket_api::bookings::{BookingView, GuestView};

/// The view of `b` in `store_id`.
pub fn booking_view(store_id: &str, b: &Booking) -> BookingView {
    let guest = match (&b.guest_name, &b.guest_phone) {
        (Some(name), Some(phone)) => Some(GuestView {
            name: name.clone(),
            phone: phone.clone(),
        }),
        _ => None,
    };
    BookingView {
        id: b.id.clone(),
        code: b.code.clone(),
        store_id: store_id.to_string(),
        slot_start: format_utc(b.slot_start),
        slot_end: format_utc(b.slot_end),
        party_size: b.party_size,
        status: b.status.as_str().to_string(),
        created_at: format_utc(b.created_at),
        guest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_start_needs_an_offset() {
        assert!(SlotStart::parse("2026-12-01T09:00:00Z", "slot_start").is_ok());
        let local = SlotStart::parse("2026-12-01T10:00:00+01:00", "slot_start").unwrap();
        assert_eq!(format_utc(local.instant()), "2026-12-01T09:00:00Z");
        for bad in [
            "2026-12-01T09:00:00",
            "tomorrow",
            "",
            "2026-13-01T09:00:00Z",
        ] {
            assert!(SlotStart::parse(bad, "slot_start").is_err(), "{bad}");
        }
    }

    #[test]
    fn party_size_bounds() {
        assert_eq!(PartySize::parse(None).unwrap().people(), 1);
        assert_eq!(PartySize::parse(Some(4)).unwrap().people(), 4);
        for bad in [0, -1, 10_001] {
            assert!(PartySize::parse(Some(bad)).is_err());
        }
    }

    #[test]
    fn listing_range_rules() {
        assert!(listing_range(Some("2026-12-01"), Some("2026-12-31")).is_ok());
        assert!(listing_range(Some("2026-12-01"), Some("2027-01-01")).is_err());
        assert!(listing_range(Some("2026-12-02"), Some("2026-12-01")).is_err());
        let both = listing_range(None, Some("garbage")).unwrap_err();
        assert_eq!(both.len(), 2);
    }
}
