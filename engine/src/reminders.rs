//! Reminders: which confirmed bookings get their `booking.reminder` event now, and when the
//! next one falls due. The store's object keeps one flag per booking (reminded or not, reset
//! when the booking moves to another slot) and asks these functions on every alarm; its alarm
//! fires at the earliest of all due work, [`next_due`] included.
//!
//! A booking is due once its slot starts within the schedule's `reminder_minutes` and has not
//! started yet: a booking made inside that window is reminded at once, a schedule change
//! re-plans every booking not yet reminded (the window is read at each run), and the flag
//! makes each reminder go out once per slot.

use chrono::{DateTime, TimeDelta, Utc};

use crate::booking::{Booking, BookingStatus};

/// Slot starts whose reminder is due at `now` when reminders go out `before` the slot:
/// `(now, now + before]`.
pub fn due_window(before: TimeDelta, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now, now.checked_add_signed(before).unwrap_or(now))
}

/// Whether `booking` (whose reminder flag is `reminded`) gets its reminder at `now`:
/// confirmed (not cancelled, checked in or released), not reminded yet, slot starting within
/// `before` and not started.
pub fn is_due(booking: &Booking, reminded: bool, before: TimeDelta, now: DateTime<Utc>) -> bool {
    let (from, to) = due_window(before, now);
    booking.status == BookingStatus::Confirmed
        && !reminded
        && booking.slot_start > from
        && booking.slot_start <= to
}

/// When the next reminder falls due: `before` ahead of `next_start`, the earliest start of a
/// confirmed, unreminded booking after the current window (`None`: no such booking).
pub fn next_due(before: TimeDelta, next_start: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    next_start.and_then(|start| start.checked_sub_signed(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    fn booking(id: &str, start_minute: i64, status: BookingStatus) -> Booking {
        Booking {
            id: id.into(),
            code: "ABCDEFGH".into(),
            owner: None,
            guest_name: None,
            guest_phone: None,
            slot_start: at(start_minute),
            slot_end: at(start_minute + 30),
            party_size: 1,
            status,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    /// Runs the alarm the way the object does, at every minute from `from` to `to`, with
    /// `before` read from `schedule` at each run; returns (minute, booking id) of every
    /// reminder sent.
    fn simulate(
        bookings: &mut [(Booking, bool)],
        schedule: impl Fn(i64) -> TimeDelta,
        from: i64,
        to: i64,
    ) -> Vec<(i64, String)> {
        let mut sent = Vec::new();
        for minute in from..=to {
            let now = at(minute);
            let before = schedule(minute);
            for (b, reminded) in bookings.iter_mut() {
                if is_due(b, *reminded, before, now) {
                    *reminded = true;
                    sent.push((minute, b.id.clone()));
                }
            }
        }
        sent
    }

    #[test]
    fn each_confirmed_booking_is_reminded_once_on_time() {
        use BookingStatus::*;
        let mut bookings = vec![
            (booking("a", 120, Confirmed), false),
            (booking("b", 180, Confirmed), false),
            (booking("cancelled", 150, Cancelled), false),
            (booking("checked-in", 150, CheckedIn), false),
            (booking("no-show", 150, NoShow), false),
        ];
        let sent = simulate(&mut bookings, |_| TimeDelta::minutes(60), 0, 300);
        assert_eq!(sent, vec![(60, "a".into()), (120, "b".into())]);
    }

    #[test]
    fn a_booking_inside_the_window_is_reminded_at_once_and_never_after_its_start() {
        let mut bookings = vec![(booking("late", 20, BookingStatus::Confirmed), false)];
        assert_eq!(
            simulate(&mut bookings, |_| TimeDelta::minutes(60), 5, 100),
            vec![(5, "late".into())]
        );
        let mut started = vec![(booking("started", 20, BookingStatus::Confirmed), false)];
        assert!(simulate(&mut started, |_| TimeDelta::minutes(60), 20, 100).is_empty());
    }

    #[test]
    fn a_schedule_change_re_plans_reminders_not_yet_sent() {
        let mut bookings = vec![
            (booking("early", 100, BookingStatus::Confirmed), false),
            (booking("later", 400, BookingStatus::Confirmed), false),
        ];
        // 30 minutes before until minute 200, then two hours before.
        let schedule = |m: i64| TimeDelta::minutes(if m < 200 { 30 } else { 120 });
        assert_eq!(
            simulate(&mut bookings, schedule, 0, 500),
            vec![(70, "early".into()), (280, "later".into())]
        );
    }

    #[test]
    fn next_due_is_before_the_next_start() {
        let before = TimeDelta::minutes(45);
        assert_eq!(next_due(before, Some(at(100))), Some(at(55)));
        assert_eq!(next_due(before, None), None);
        let (from, to) = due_window(before, at(10));
        assert_eq!((from, to), (at(10), at(55)));
    }
}
