//! `/api/v1/stores/{store_id}/schedule`: the schedule as sent and as stored. The engine parses
//! it into its validated `Schedule` and writes it back in this shape.

use serde::{Deserialize, Serialize};

use crate::bookings::BookingView;

/// The schedule as sent by the API and as stored: raw and tolerant (times and days are
/// strings, numbers are wide and optional) so that the engine's `Schedule::parse` can name every bad
/// field instead of failing on the first one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleInput {
    /// Slot length in minutes (`5..=240`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot_minutes: Option<i64>,
    /// People per slot (`1..=10000`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    /// How many days ahead slots can be booked (`1..=366`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon_days: Option<i64>,
    /// Per-user limit of confirmed bookings whose slot has not ended (`1..=1000`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_active_bookings_per_user: Option<i64>,
    /// How long an offer to the waiting list holds its places (`1..=240`, default 15).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_offer_minutes: Option<i64>,
    /// Minutes after its slot start a confirmed booking not checked in becomes a no-show
    /// (`null`: off; else `1..=slot_minutes`). Always written, as `null` when off.
    pub release_after_minutes: Option<i64>,
    /// Minutes before the slot start a reminder event is due (`null`: off; else
    /// `5..=10080`). Always written, as `null` when off.
    pub reminder_minutes: Option<i64>,
    /// Weekly opening intervals; required (may be empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Vec<WeeklyInput>>,
    /// Date-specific overrides; optional (absent means none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<Vec<ExceptionInput>>,
}

/// One weekly opening interval as sent: `{day: "mon".."sun", open: "HH:MM", close: "HH:MM"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeeklyInput {
    /// `"mon"` .. `"sun"` (case-insensitive on input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// Opening time `HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Closing time `HH:MM` or `"24:00"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close: Option<String>,
}

/// One exception entry as sent: `{date, closed: true}` or `{date, open, close}`. A date with
/// several opening intervals has one entry per interval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExceptionInput {
    /// `YYYY-MM-DD` in the store's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `true`: closed all day (then `open`/`close` must be absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
    /// Opening time `HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Closing time `HH:MM` or `"24:00"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close: Option<String>,
}

/// The answer of `PUT /schedule`: the stored schedule and the existing bookings it no longer
/// offers (they stay valid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSchedule {
    /// The schedule as stored.
    #[serde(flatten)]
    pub schedule: ScheduleInput,
    /// Bookings outside the new schedule.
    #[serde(default)]
    pub affected_bookings: Vec<BookingView>,
}
