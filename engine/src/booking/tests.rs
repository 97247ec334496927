use crate::zone::Tz;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;
use crate::codes::splitmix;
use crate::memory::MemoryInventory;

fn berlin() -> Tz {
    crate::zone::tzdb::zone("Europe/Berlin")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// 60-minute slots, 4 places, 7-day horizon, 2 active bookings per user, 08:00-20:00 daily,
/// closed on Christmas.
fn schedule_with(capacity: u32, close: &str) -> Schedule {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    Schedule::from_json(&json!({
        "slot_minutes": 60,
        "capacity": capacity,
        "horizon_days": 7,
        "max_active_bookings_per_user": 2,
        "weekly": days.iter().map(|d| json!({"day": d, "open": "08:00", "close": close})).collect::<Vec<_>>(),
        "exceptions": [{"date": "2026-12-25", "closed": true}],
    }))
    .unwrap()
}

fn schedule() -> Schedule {
    schedule_with(4, "20:00")
}

/// 2026-12-01 09:30 Berlin.
fn now() -> DateTime<Utc> {
    utc("2026-12-01T08:30:00Z")
}

/// 11:00-12:00 Berlin on 2026-12-01.
fn slot() -> DateTime<Utc> {
    utc("2026-12-01T10:00:00Z")
}

/// The hour from `start`: a slot of [`schedule`].
fn hour(start: DateTime<Utc>) -> Slot {
    Slot {
        start,
        end: start + TimeDelta::hours(1),
    }
}

fn ctx(s: &Schedule, now: DateTime<Utc>) -> StoreContext<'_> {
    StoreContext {
        schedule: Some(s),
        tz: berlin(),
        now,
        store_closed: false,
    }
}

/// The owner spelled `raw` (a user id, or `key:<id>`).
fn owner_of(raw: &str) -> Owner {
    Owner::parse(raw).expect("test owner")
}

fn req(owner: &str, party: u32, start: DateTime<Utc>) -> BookRequest {
    BookRequest {
        owner: owner_of(owner),
        party_size: party,
        slot_start: start,
        guest: None,
        idempotency_key: None,
    }
}

fn keyed(mut r: BookRequest, key: &str) -> BookRequest {
    r.idempotency_key = Some(IdempotencyKey::parse(key).unwrap());
    r
}

struct Fixture {
    inv: MemoryInventory,
    rng: Box<dyn FnMut() -> u64>,
    next_id: u32,
}

impl Fixture {
    fn new() -> Self {
        Self {
            inv: MemoryInventory::new(),
            rng: Box::new(splitmix(1)),
            next_id: 0,
        }
    }

    fn book(&mut self, c: &StoreContext<'_>, r: BookRequest) -> Result<BookOutcome, BookingError> {
        self.next_id += 1;
        let id = format!("b{}", self.next_id);
        book(&mut self.inv, c, r, id, &mut self.rng)
    }

    fn ok(&mut self, c: &StoreContext<'_>, r: BookRequest) -> Booking {
        self.book(c, r).unwrap().booking
    }
}

#[test]
fn book_creates_a_confirmed_booking() {
    let s = schedule();
    let mut f = Fixture::new();
    let mut r = req("u1", 2, slot());
    r.guest = Some(Guest {
        name: "Ann".into(),
        phone: "+49 30 1234".into(),
    });
    let out = f.book(&ctx(&s, now()), r).unwrap();
    assert!(!out.replayed);
    let b = out.booking;
    assert_eq!(b.id, "b1");
    assert_eq!(b.owner, Some(owner_of("u1")));
    assert_eq!(b.guest_name.as_deref(), Some("Ann"));
    assert_eq!(b.guest_phone.as_deref(), Some("+49 30 1234"));
    assert_eq!(b.slot_start, slot());
    assert_eq!(b.slot_end, utc("2026-12-01T11:00:00Z"));
    assert_eq!(b.party_size, 2);
    assert_eq!(b.status, BookingStatus::Confirmed);
    assert_eq!((b.created_at, b.updated_at), (now(), now()));
    assert_eq!(parse_code(&b.code).unwrap().as_str(), b.code);
    assert_eq!(f.inv.bookings(), [b]);
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 2);
}

#[test]
fn a_store_that_derives_codes_gives_them_unless_a_confirmed_booking_has_one() {
    let s = schedule();
    let c = ctx(&s, now());
    let key = [3; 16];
    let mut inv = MemoryInventory::new();
    inv.code_key = Some(key);
    let mut rng = splitmix(5);
    let id = |n: i64| crate::booking_ids::numbered_id(n, [n as u8; 10]).unwrap();
    let derived = |n| crate::derived_codes::code_of_number(&key, n).unwrap();
    let first = book(&mut inv, &c, req("u1", 1, slot()), id(1), &mut rng)
        .unwrap()
        .booking;
    assert_eq!(first.code, derived(1).as_str());
    // A confirmed booking from before holds number 2's code (random codes are not derived):
    // number 2 draws a random one instead.
    let older = Booking {
        id: "older".into(),
        code: derived(2).into(),
        ..first.clone()
    };
    inv.insert(&older).unwrap();
    let second = book(&mut inv, &c, req("u2", 1, slot()), id(2), &mut rng)
        .unwrap()
        .booking;
    assert_ne!(second.code, derived(2).as_str());
    assert_eq!(parse_code(&second.code).unwrap().as_str(), second.code);
    // Ids without a number get random codes.
    let third = book(&mut inv, &c, req("u3", 1, slot()), "plain".into(), &mut rng)
        .unwrap()
        .booking;
    assert_eq!(parse_code(&third.code).unwrap().as_str(), third.code);
}

#[test]
fn capacity_is_never_exceeded() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    f.ok(&c, req("u1", 3, slot()));
    assert_eq!(
        f.book(&c, req("u2", 2, slot())),
        Err(BookingError::SlotFull { available: 1 })
    );
    f.ok(&c, req("u2", 1, slot()));
    assert_eq!(
        f.book(&c, req("u3", 1, slot())),
        Err(BookingError::SlotFull { available: 0 })
    );
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 4);
    // Another slot is unaffected.
    f.ok(&c, req("u3", 4, utc("2026-12-01T11:00:00Z")));
}

#[test]
fn party_size_must_fit_a_slot() {
    let s = schedule();
    let mut f = Fixture::new();
    for bad in [0, 5, u32::MAX] {
        assert_eq!(
            f.book(&ctx(&s, now()), req("u", bad, slot())),
            Err(BookingError::InvalidPartySize {
                party_size: bad,
                max: 4
            })
        );
    }
    f.ok(&ctx(&s, now()), req("u", 4, slot()));
}

#[test]
fn only_offered_slots_can_be_booked() {
    let s = schedule();
    let mut f = Fixture::new();
    for start in [
        "2026-12-01T10:30:00Z", // unaligned
        "2026-12-01T10:00:01Z", // unaligned by a second
        "2026-12-01T19:00:00Z", // 20:00 local: closing time
        "2026-12-01T06:00:00Z", // 07:00 local: before opening
        "2026-12-25T10:00:00Z", // closed date
    ] {
        assert_eq!(
            f.book(&ctx(&s, now()), req("u", 1, utc(start))),
            Err(BookingError::SlotNotOffered),
            "{start}"
        );
    }
    let no_schedule = StoreContext {
        schedule: None,
        ..ctx(&s, now())
    };
    assert_eq!(
        f.book(&no_schedule, req("u", 1, slot())),
        Err(BookingError::SlotNotOffered)
    );
    assert!(f.inv.bookings().is_empty());
}

#[test]
fn past_slots_cannot_be_booked_but_the_running_one_can() {
    let s = schedule();
    let mut f = Fixture::new();
    // The 09:00 local slot (08:00-09:00Z) is running at 08:30Z and can still be booked.
    f.ok(&ctx(&s, now()), req("u", 1, utc("2026-12-01T08:00:00Z")));
    assert_eq!(
        f.book(&ctx(&s, now()), req("u", 1, utc("2026-12-01T07:00:00Z"))),
        Err(BookingError::SlotInPast)
    );
    // A slot whose end is exactly now is over.
    assert_eq!(
        f.book(
            &ctx(&s, utc("2026-12-01T09:00:00Z")),
            req("u", 1, utc("2026-12-01T08:00:00Z"))
        ),
        Err(BookingError::SlotInPast)
    );
}

#[test]
fn horizon_limits_how_far_ahead() {
    let s = schedule();
    let mut f = Fixture::new();
    // now + 7 days = 2026-12-08T08:30Z; the 09:00 local slot starts 08:00Z: within.
    f.ok(&ctx(&s, now()), req("u", 1, utc("2026-12-08T08:00:00Z")));
    assert_eq!(
        f.book(&ctx(&s, now()), req("v", 1, utc("2026-12-08T09:00:00Z"))),
        Err(BookingError::BeyondHorizon { horizon_days: 7 })
    );
    // Exactly at the limit is beyond it.
    assert_eq!(
        f.book(
            &ctx(&s, utc("2026-12-01T09:00:00Z")),
            req("v", 1, utc("2026-12-08T09:00:00Z"))
        ),
        Err(BookingError::BeyondHorizon { horizon_days: 7 })
    );
}

#[test]
fn booking_limit_counts_only_active_bookings() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let first = f.ok(&c, req("u", 1, utc("2026-12-01T08:00:00Z")));
    f.ok(&c, req("u", 1, slot()));
    assert_eq!(
        f.book(&c, req("u", 1, utc("2026-12-01T11:00:00Z"))),
        Err(BookingError::BookingLimit { limit: 2 })
    );
    // Other users are not affected.
    f.ok(&c, req("v", 1, utc("2026-12-01T11:00:00Z")));
    // Once the running slot ended, it no longer counts.
    let later = ctx(&s, utc("2026-12-01T09:00:00Z"));
    f.ok(&later, req("u", 1, utc("2026-12-01T11:00:00Z")));
    assert_eq!(
        f.book(&later, req("u", 1, utc("2026-12-01T12:00:00Z"))),
        Err(BookingError::BookingLimit { limit: 2 })
    );
    // Cancelling frees a place in the limit too.
    cancel(&mut f.inv, "b2", later.now).unwrap();
    f.ok(&later, req("u", 1, utc("2026-12-01T12:00:00Z")));
    assert_eq!(first.status, BookingStatus::Confirmed);
}

#[test]
fn guest_bookings_of_an_integration_are_not_limited_per_principal() {
    let s = schedule_with(10, "20:00");
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let caller = |n: u32| {
        let mut r = req("key:phone", 1, slot());
        r.guest = Some(Guest {
            name: format!("Caller {n}"),
            phone: format!("+4930123456{n}"),
        });
        r
    };
    // Far more callers than the per-user limit of 2, all under one api-key principal.
    for n in 0..5 {
        let b = f.ok(&c, caller(n));
        assert_eq!(
            b.guest_phone.as_deref(),
            Some(format!("+4930123456{n}").as_str())
        );
    }
    // Capacity still holds for them.
    f.ok(&c, req("u", 5, slot()));
    assert_eq!(
        f.book(&c, caller(9)),
        Err(BookingError::SlotFull { available: 0 })
    );
}

#[test]
fn checks_run_in_the_documented_order() {
    let s = schedule();
    let mut f = Fixture::new();
    let closed = StoreContext {
        store_closed: true,
        ..ctx(&s, now())
    };
    // Closed before anything about the slot.
    assert_eq!(
        f.book(&closed, req("u", 0, utc("2026-12-01T10:30:00Z"))),
        Err(BookingError::StoreClosed)
    );
    // Not offered before party size.
    assert_eq!(
        f.book(&ctx(&s, now()), req("u", 0, utc("2026-12-01T10:30:00Z"))),
        Err(BookingError::SlotNotOffered)
    );
    // In the past before party size.
    assert_eq!(
        f.book(&ctx(&s, now()), req("u", 0, utc("2026-11-30T10:00:00Z"))),
        Err(BookingError::SlotInPast)
    );
    // Beyond the horizon before party size.
    assert_eq!(
        f.book(&ctx(&s, now()), req("u", 0, utc("2026-12-09T10:00:00Z"))),
        Err(BookingError::BeyondHorizon { horizon_days: 7 })
    );
    // Full before the booking limit.
    let c = ctx(&s, now());
    f.ok(&c, req("u", 1, utc("2026-12-01T11:00:00Z")));
    f.ok(&c, req("u", 1, utc("2026-12-01T12:00:00Z")));
    f.ok(&c, req("v", 4, slot()));
    assert_eq!(
        f.book(&c, req("u", 1, slot())),
        Err(BookingError::SlotFull { available: 0 })
    );
}

#[test]
fn idempotent_retry_returns_the_same_booking() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let first = f.book(&c, keyed(req("u", 2, slot()), "key-1")).unwrap();
    let snapshot = f.inv.clone();
    let again = f
        .book(
            &ctx(&s, now() + TimeDelta::hours(1)),
            keyed(req("u", 2, slot()), "key-1"),
        )
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.booking, first.booking);
    assert_eq!(f.inv, snapshot, "a replay writes nothing");
    // Even once the store closed or the slot filled up, the replay answers first.
    let closed = StoreContext {
        store_closed: true,
        ..c
    };
    assert!(
        f.book(&closed, keyed(req("u", 2, slot()), "key-1"))
            .unwrap()
            .replayed
    );
    // A replay after cancellation returns the booking as it is now.
    cancel(&mut f.inv, &first.booking.id, now()).unwrap();
    let replay = f.book(&c, keyed(req("u", 2, slot()), "key-1")).unwrap();
    assert_eq!(replay.booking.status, BookingStatus::Cancelled);
    assert_eq!(replay.booking.id, first.booking.id);
}

#[test]
fn idempotency_key_reused_for_another_request_is_refused() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    f.ok(&c, keyed(req("u", 2, slot()), "k"));
    let snapshot = f.inv.clone();
    assert_eq!(
        f.book(&c, keyed(req("u", 3, slot()), "k")),
        Err(BookingError::IdempotencyMismatch)
    );
    assert_eq!(
        f.book(&c, keyed(req("u", 2, utc("2026-12-01T11:00:00Z")), "k")),
        Err(BookingError::IdempotencyMismatch)
    );
    let mut with_guest = keyed(req("u", 2, slot()), "k");
    with_guest.guest = Some(Guest {
        name: "A".into(),
        phone: "1".into(),
    });
    assert_eq!(
        f.book(&c, with_guest),
        Err(BookingError::IdempotencyMismatch)
    );
    assert_eq!(f.inv, snapshot);
    // Keys are per owner: another user's same key is a new request.
    let other = f.book(&c, keyed(req("v", 1, slot()), "k")).unwrap();
    assert!(!other.replayed);
}

#[test]
fn idempotency_records_expire_after_a_day() {
    let s = schedule();
    let mut f = Fixture::new();
    let first = f.ok(&ctx(&s, now()), keyed(req("u", 1, slot()), "k"));
    let day_later = now() + TimeDelta::hours(24);
    let next_slot = utc("2026-12-02T10:00:00Z");
    // A different body under an expired key is simply a new booking.
    let second = f
        .book(&ctx(&s, day_later), keyed(req("u", 1, next_slot), "k"))
        .unwrap();
    assert!(!second.replayed);
    assert_ne!(second.booking.id, first.id);
    // ...and the key now refers to the new booking.
    let replay = f
        .book(
            &ctx(&s, day_later + TimeDelta::minutes(1)),
            keyed(req("u", 1, next_slot), "k"),
        )
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.booking.id, second.booking.id);
    // One second before expiry it would still have been a mismatch.
    let mut g = Fixture::new();
    g.ok(&ctx(&s, now()), keyed(req("u", 1, slot()), "k"));
    assert_eq!(
        g.book(
            &ctx(&s, day_later - TimeDelta::seconds(1)),
            keyed(req("u", 1, next_slot), "k")
        ),
        Err(BookingError::IdempotencyMismatch)
    );
}

#[test]
fn idempotency_record_of_a_vanished_booking_books_afresh() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let r = keyed(req("u", 1, slot()), "k");
    f.inv
        .idempotency_put(&IdempotencyRecord {
            owner: owner_of("u"),
            key: "k".into(),
            fingerprint: fingerprint(slot(), 1, None),
            booking_id: "gone".into(),
            created_at: now(),
        })
        .unwrap();
    let out = f.book(&c, r).unwrap();
    assert!(!out.replayed);
    let rec = f.inv.idempotency_get(&owner_of("u"), "k").unwrap().unwrap();
    assert_eq!(rec.booking_id, out.booking.id);
}

/// Yields the given words in order, then repeats the last one.
fn words(ws: Vec<u64>) -> impl FnMut() -> u64 {
    let mut i = 0;
    move || {
        let w = ws[i.min(ws.len() - 1)];
        i += 1;
        w
    }
}

#[test]
fn codes_are_unique_among_confirmed_bookings() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut inv = MemoryInventory::new();
    // Word 0 makes "22222222", a word of 0x01 bytes makes "33333333".
    let ones = u64::from_le_bytes([1; 8]);
    let a = book(
        &mut inv,
        &c,
        req("u", 1, slot()),
        "a".into(),
        &mut words(vec![0]),
    )
    .unwrap()
    .booking;
    assert_eq!(a.code, "22222222");
    let b = book(
        &mut inv,
        &c,
        req("v", 1, slot()),
        "b".into(),
        &mut words(vec![0, ones]),
    )
    .unwrap()
    .booking;
    assert_eq!(b.code, "33333333", "a taken code is drawn again");
    // A source that only ever yields taken codes fails cleanly instead of looping.
    let stuck = book(
        &mut inv,
        &c,
        req("w", 1, slot()),
        "c".into(),
        &mut words(vec![0]),
    );
    assert!(matches!(stuck, Err(BookingError::Storage(_))), "{stuck:?}");
    assert_eq!(inv.bookings().len(), 2);
    // Once "22222222" is cancelled the code is free again.
    cancel(&mut inv, "a", now()).unwrap();
    let d = book(
        &mut inv,
        &c,
        req("w", 1, slot()),
        "d".into(),
        &mut words(vec![0]),
    )
    .unwrap()
    .booking;
    assert_eq!(d.code, "22222222");
    // get_by_code prefers the confirmed booking over the cancelled one.
    assert_eq!(inv.get_by_code("22222222").unwrap().unwrap().id, "d");
}

#[test]
fn storage_failures_surface_and_change_nothing() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 1, slot()));
    let snapshot = f.inv.clone();

    f.inv.fail_reads = true;
    let e = f.book(&c, req("v", 1, slot())).unwrap_err();
    assert_eq!(e, BookingError::Storage("simulated read failure".into()));
    assert_eq!(e.kind(), "storage");
    assert_eq!(e.http_status(), 500);
    assert!(matches!(
        f.book(&c, keyed(req("v", 1, slot()), "k")),
        Err(BookingError::Storage(_))
    ));
    assert!(matches!(
        cancel(&mut f.inv, &b.id, now()),
        Err(BookingError::Storage(_))
    ));
    assert!(matches!(
        check_in_by_code(&mut f.inv, &b.code, now()),
        Err(BookingError::Storage(_))
    ));
    f.inv.fail_reads = false;

    f.inv.fail_writes = true;
    let mut snapshot_w = snapshot.clone();
    snapshot_w.fail_writes = true;
    assert!(matches!(
        f.book(&c, req("v", 1, slot())),
        Err(BookingError::Storage(_))
    ));
    assert!(matches!(
        cancel(&mut f.inv, &b.id, now()),
        Err(BookingError::Storage(_))
    ));
    assert!(matches!(
        reschedule(&mut f.inv, &c, &b.id, utc("2026-12-01T11:00:00Z")),
        Err(BookingError::Storage(_))
    ));
    assert!(matches!(
        mark_no_show(&mut f.inv, &b.id, slot()),
        Err(BookingError::Storage(_))
    ));
    assert_eq!(f.inv, snapshot_w);
}

#[test]
fn random_source_failure_is_a_storage_error() {
    struct Broken;
    impl RandomSource for Broken {
        fn next_u64(&mut self) -> Result<u64, String> {
            Err("no entropy".into())
        }
    }
    let s = schedule();
    let mut inv = MemoryInventory::new();
    let e = book(
        &mut inv,
        &ctx(&s, now()),
        req("u", 1, slot()),
        "x".into(),
        &mut Broken,
    );
    assert_eq!(e, Err(BookingError::Storage("no entropy".into())));
    assert!(inv.bookings().is_empty());
}

#[test]
fn cancel_frees_the_places_at_once() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 4, slot()));
    assert!(matches!(
        f.book(&c, req("v", 1, slot())),
        Err(BookingError::SlotFull { .. })
    ));
    let later = now() + TimeDelta::minutes(5);
    let cancelled = cancel(&mut f.inv, &b.id, later).unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(cancelled.updated_at, later);
    assert_eq!(cancelled.created_at, now());
    assert_eq!(f.inv.get(&b.id).unwrap(), Some(cancelled));
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 0);
    f.ok(&c, req("v", 4, slot()));
    assert_eq!(
        cancel(&mut f.inv, &b.id, later),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::Cancelled,
            to: BookingStatus::Cancelled
        })
    );
    assert_eq!(
        cancel(&mut f.inv, "nope", later),
        Err(BookingError::NotFound)
    );
}

#[test]
fn check_in_window_is_one_slot_either_side_inclusive() {
    let s = schedule();
    let mut f = Fixture::new();
    // Slot 10:00-11:00Z: window [09:00Z, 12:00Z].
    let cases = [
        ("2026-12-01T08:59:59Z", false),
        ("2026-12-01T09:00:00Z", true),
        ("2026-12-01T10:30:00Z", true),
        ("2026-12-01T12:00:00Z", true),
        ("2026-12-01T12:00:01Z", false),
    ];
    for (i, (at, inside)) in cases.into_iter().enumerate() {
        let b = f.ok(&ctx(&s, now()), req(&format!("u{i}"), 1, slot()));
        let snapshot = f.inv.clone();
        let r = check_in_by_code(&mut f.inv, &b.code, utc(at));
        if inside {
            let checked = r.unwrap();
            assert_eq!(checked.status, BookingStatus::CheckedIn, "{at}");
            assert_eq!(checked.updated_at, utc(at));
            // Checked-in people still hold their places.
            assert!(f.inv.booked_people(hour(slot())).unwrap() >= 1);
            cancel(&mut f.inv, &b.id, now()).unwrap_err();
        } else {
            assert_eq!(r, Err(BookingError::OutsideCheckInWindow), "{at}");
            assert_eq!(f.inv, snapshot);
            cancel(&mut f.inv, &b.id, now()).unwrap();
        }
    }
}

#[test]
fn check_in_uses_the_bookings_own_slot_length() {
    let s = schedule();
    let mut f = Fixture::new();
    let b = f.ok(&ctx(&s, now()), req("u", 1, slot()));
    // The window comes from the booking's stored 60-minute slot, not from any schedule.
    assert!(check_in_by_code(&mut f.inv, &b.code, utc("2026-12-01T11:59:00Z")).is_ok());
}

#[test]
fn check_in_refuses_unknown_used_and_cancelled_codes() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 1, slot()));
    let at = slot();
    assert_eq!(
        check_in_by_code(&mut f.inv, "ZZZZZZZZ", at),
        Err(BookingError::NotFound)
    );
    assert_eq!(
        check_in_by_code(&mut f.inv, "0OIL", at),
        Err(BookingError::NotFound)
    );
    assert_eq!(
        check_in_by_code(&mut f.inv, "", at),
        Err(BookingError::NotFound)
    );
    // Codes are accepted as people type them.
    let typed = format!(
        " {}-{} ",
        b.code[..4].to_lowercase(),
        b.code[4..].to_lowercase()
    );
    assert_eq!(
        check_in_by_code(&mut f.inv, &typed, at).unwrap().status,
        BookingStatus::CheckedIn
    );
    let e = check_in_by_code(&mut f.inv, &b.code, at).unwrap_err();
    assert_eq!(
        e,
        BookingError::InvalidTransition {
            from: BookingStatus::CheckedIn,
            to: BookingStatus::CheckedIn
        }
    );
    assert_eq!(e.http_status(), 409);

    let cancelled = f.ok(&c, req("v", 1, slot()));
    cancel(&mut f.inv, &cancelled.id, now()).unwrap();
    assert_eq!(
        check_in_by_code(&mut f.inv, &cancelled.code, at),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::Cancelled,
            to: BookingStatus::CheckedIn
        })
    );
    let missed = f.ok(&c, req("w", 1, slot()));
    mark_no_show(&mut f.inv, &missed.id, at).unwrap();
    assert_eq!(
        check_in_by_code(&mut f.inv, &missed.code, at),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::NoShow,
            to: BookingStatus::CheckedIn
        })
    );
}

#[test]
fn no_show_only_after_the_slot_started() {
    let s = schedule();
    let mut f = Fixture::new();
    let b = f.ok(&ctx(&s, now()), req("u", 3, slot()));
    let snapshot = f.inv.clone();
    assert_eq!(
        mark_no_show(&mut f.inv, &b.id, slot() - TimeDelta::seconds(1)),
        Err(BookingError::SlotNotStarted)
    );
    assert_eq!(f.inv, snapshot);
    let marked = mark_no_show(&mut f.inv, &b.id, slot()).unwrap();
    assert_eq!(marked.status, BookingStatus::NoShow);
    // A no-show holds no places.
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 0);
    assert_eq!(
        mark_no_show(&mut f.inv, &b.id, slot()),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::NoShow,
            to: BookingStatus::NoShow
        })
    );
    assert_eq!(
        mark_no_show(&mut f.inv, "x", slot()),
        Err(BookingError::NotFound)
    );
}

#[test]
fn reschedule_moves_the_places() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 3, slot()));
    let target = utc("2026-12-01T11:00:00Z");
    let later = now() + TimeDelta::minutes(1);
    let moved = reschedule(&mut f.inv, &ctx(&s, later), &b.id, target).unwrap();
    assert_eq!(moved.slot_start, target);
    assert_eq!(moved.slot_end, utc("2026-12-01T12:00:00Z"));
    assert_eq!(moved.updated_at, later);
    assert_eq!(
        (moved.id.as_str(), moved.code.as_str()),
        (b.id.as_str(), b.code.as_str())
    );
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 0);
    assert_eq!(f.inv.booked_people(hour(target)).unwrap(), 3);
    assert_eq!(f.inv.get(&b.id).unwrap(), Some(moved));
}

#[test]
fn reschedule_to_a_full_slot_changes_nothing() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 2, slot()));
    let target = utc("2026-12-01T11:00:00Z");
    f.ok(&c, req("v", 3, target));
    let snapshot = f.inv.clone();
    assert_eq!(
        reschedule(&mut f.inv, &c, &b.id, target),
        Err(BookingError::SlotFull { available: 1 })
    );
    assert_eq!(f.inv, snapshot);
}

#[test]
fn reschedule_within_the_same_full_slot_does_not_count_itself() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 4, slot()));
    let same = reschedule(&mut f.inv, &c, &b.id, slot()).unwrap();
    assert_eq!(same.slot(), b.slot());
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 4);
}

#[test]
fn reschedule_of_an_active_booking_does_not_recheck_the_limit() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 1, slot()));
    f.ok(&c, req("u", 1, utc("2026-12-01T11:00:00Z")));
    assert!(reschedule(&mut f.inv, &c, &b.id, utc("2026-12-01T12:00:00Z")).is_ok());
}

#[test]
fn reschedule_of_an_ended_booking_counts_against_the_limit() {
    let s = schedule();
    let mut f = Fixture::new();
    // Booked yesterday for yesterday's 11:00; never checked in or marked, so still confirmed.
    let yesterday = now() - TimeDelta::days(1);
    let ended = f.ok(
        &ctx(&s, yesterday),
        req("u", 1, slot() - TimeDelta::days(1)),
    );
    assert!(!ended.is_active(now()));
    // Today: two active bookings, the limit.
    let c = ctx(&s, now());
    f.ok(&c, req("u", 1, slot()));
    f.ok(&c, req("u", 1, utc("2026-12-01T11:00:00Z")));
    let snapshot = f.inv.clone();
    // Moving the ended one into the future would make three active bookings.
    assert_eq!(
        reschedule(&mut f.inv, &c, &ended.id, utc("2026-12-01T12:00:00Z")),
        Err(BookingError::BookingLimit { limit: 2 })
    );
    assert_eq!(f.inv, snapshot);
    // With room under the limit it moves.
    let second = f.inv.bookings()[2].id.clone();
    cancel(&mut f.inv, &second, now()).unwrap();
    let moved = reschedule(&mut f.inv, &c, &ended.id, utc("2026-12-01T12:00:00Z")).unwrap();
    assert!(moved.is_active(now()));
    assert_eq!(f.inv.active_bookings(&owner_of("u"), now()).unwrap(), 2);
}

#[test]
fn reschedule_of_an_ended_guest_booking_is_not_limited() {
    let s = schedule();
    let mut f = Fixture::new();
    let yesterday = now() - TimeDelta::days(1);
    let mut r = req("key:phone", 1, slot() - TimeDelta::days(1));
    r.guest = Some(Guest {
        name: "Ann".into(),
        phone: "+49 30 1234".into(),
    });
    let ended = f.ok(&ctx(&s, yesterday), r);
    let c = ctx(&s, now());
    for start in ["2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"] {
        let mut r = req("key:phone", 1, utc(start));
        r.guest = Some(Guest {
            name: "Bob".into(),
            phone: "+49 30 5678".into(),
        });
        f.ok(&c, r);
    }
    assert!(reschedule(&mut f.inv, &c, &ended.id, utc("2026-12-01T12:00:00Z")).is_ok());
}

/// Every day from `open` to `close` in slots of `minutes`, `capacity` places, limit 5.
fn every_day(minutes: u32, open: &str, close: &str, capacity: u32) -> Schedule {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    Schedule::from_json(&json!({
        "slot_minutes": minutes, "capacity": capacity, "horizon_days": 7,
        "max_active_bookings_per_user": 5,
        "weekly": days.iter().map(|d| json!({"day": d, "open": open, "close": close})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

#[test]
fn bookings_kept_across_a_slot_length_change_count_where_they_overlap() {
    let half = every_day(30, "08:00", "23:00", 2);
    let mut f = Fixture::new();
    // 10:30-11:00 Berlin, two people.
    let half_past = utc("2026-12-01T09:30:00Z");
    f.ok(&ctx(&half, now()), req("a", 1, half_past));
    f.ok(&ctx(&half, now()), req("b", 1, half_past));

    let hours = every_day(60, "08:00", "23:00", 2);
    let c = ctx(&hours, now());
    let ten = utc("2026-12-01T09:00:00Z");
    // The new 10:00-11:00 slot holds the two of 10:30: full.
    assert_eq!(f.inv.booked_people(hour(ten)).unwrap(), 2);
    assert_eq!(
        f.book(&c, req("c", 1, ten)),
        Err(BookingError::SlotFull { available: 0 })
    );
    // Touching is not overlapping: 11:00-12:00 is free.
    assert_eq!(
        f.inv
            .booked_people(hour(ten + TimeDelta::hours(1)))
            .unwrap(),
        0
    );
    f.ok(&c, req("c", 2, ten + TimeDelta::hours(1)));

    // Unaligned opening: 45-minute slots from 08:15 make 10:30-11:15, which overlaps 10:30.
    let quarters = every_day(45, "08:15", "23:15", 2);
    let c = ctx(&quarters, now());
    assert_eq!(
        f.book(&c, req("d", 1, half_past)),
        Err(BookingError::SlotFull { available: 0 })
    );
    // 09:45-10:30 ends as the old booking starts: free.
    f.ok(&c, req("d", 2, utc("2026-12-01T08:45:00Z")));
}

#[test]
fn a_time_zone_change_counts_bookings_that_straddle_the_new_slots() {
    let hours = every_day(60, "08:00", "23:00", 2);
    let mut f = Fixture::new();
    // 10:00-11:00 UTC while the store is in UTC.
    let in_utc = StoreContext {
        tz: Tz::UTC,
        ..ctx(&hours, now())
    };
    f.ok(&in_utc, req("a", 2, utc("2026-12-01T10:00:00Z")));
    // In Kolkata (+05:30) the slots start at half past the UTC hour.
    let kolkata = StoreContext {
        tz: crate::zone::tzdb::zone("Asia/Kolkata"),
        ..ctx(&hours, now())
    };
    for straddling in ["2026-12-01T09:30:00Z", "2026-12-01T10:30:00Z"] {
        assert_eq!(
            f.book(&kolkata, req("b", 1, utc(straddling))),
            Err(BookingError::SlotFull { available: 0 }),
            "{straddling}"
        );
    }
    f.ok(&kolkata, req("b", 2, utc("2026-12-01T11:30:00Z")));
}

#[test]
fn a_capacity_cut_keeps_bookings_and_refuses_new_ones_until_there_is_room() {
    let ten = every_day(60, "08:00", "23:00", 10);
    let mut f = Fixture::new();
    let first = f.ok(&ctx(&ten, now()), req("a", 3, slot()));
    f.ok(&ctx(&ten, now()), req("b", 2, slot()));

    let one = every_day(60, "08:00", "23:00", 1);
    let c = ctx(&one, now());
    assert_eq!(f.inv.bookings().len(), 2);
    assert_eq!(
        f.book(&c, req("c", 1, slot())),
        Err(BookingError::SlotFull { available: 0 })
    );
    cancel(&mut f.inv, &first.id, now()).unwrap();
    // Still two people for one place.
    assert_eq!(
        f.book(&c, req("c", 1, slot())),
        Err(BookingError::SlotFull { available: 0 })
    );
    let second = f.inv.bookings()[1].id.clone();
    cancel(&mut f.inv, &second, now()).unwrap();
    f.ok(&c, req("c", 1, slot()));
}

#[test]
fn reschedule_does_not_count_the_moved_booking_where_it_overlaps_the_new_slot() {
    let half = every_day(30, "08:00", "23:00", 2);
    let mut f = Fixture::new();
    let half_past = utc("2026-12-01T09:30:00Z");
    let b = f.ok(&ctx(&half, now()), req("a", 2, half_past));

    let hours = every_day(60, "08:00", "23:00", 2);
    let c = ctx(&hours, now());
    let ten = utc("2026-12-01T09:00:00Z");
    // Onto the new slot that contains it: its own two places are not in its way.
    let moved = reschedule(&mut f.inv, &c, &b.id, ten).unwrap();
    assert_eq!(moved.slot(), hour(ten));
    // But another booking's are.
    let other = f.ok(&c, req("b", 2, ten + TimeDelta::hours(1)));
    let snapshot = f.inv.clone();
    assert_eq!(
        reschedule(&mut f.inv, &c, &other.id, ten),
        Err(BookingError::SlotFull { available: 0 })
    );
    assert_eq!(f.inv, snapshot);
}

#[test]
fn a_booking_whose_idempotency_record_fails_leaves_nothing_in_a_transaction() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let before = f.inv.clone();
    // Insert and its outbox entry succeed, the idempotency record fails.
    f.inv.fail_write_after(2);
    let mut rng = splitmix(7);
    let failed = f.inv.transaction(|inv| {
        book(
            inv,
            &c,
            keyed(req("u", 1, slot()), "retry-key"),
            "b1".into(),
            &mut rng,
        )
    });
    assert_eq!(
        failed,
        Err(BookingError::Storage("simulated write failure".into()))
    );
    // No booking and no outbox entry survive: a retry cannot end up with two bookings.
    assert_eq!(f.inv, before);
    let retried = f
        .inv
        .transaction(|inv| {
            book(
                inv,
                &c,
                keyed(req("u", 1, slot()), "retry-key"),
                "b2".into(),
                &mut rng,
            )
        })
        .unwrap();
    assert!(!retried.replayed);
    assert_eq!(f.inv.bookings().len(), 1);
    assert_eq!(f.inv.outbox().len(), 1);
    assert_eq!(f.inv.idempotency_records().count(), 1);
}

#[test]
fn without_a_transaction_the_half_written_booking_would_stay() {
    // Why the object runs every command in a transaction: the engine reports the failure, but
    // the writes before it happened.
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    f.inv.fail_write_after(2);
    let failed = f.book(&c, keyed(req("u", 1, slot()), "retry-key"));
    assert!(matches!(failed, Err(BookingError::Storage(_))));
    assert_eq!(f.inv.bookings().len(), 1);
    assert_eq!(f.inv.idempotency_records().count(), 0);
}

#[test]
fn a_reschedule_whose_outbox_entry_fails_changes_nothing_in_a_transaction() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 2, slot()));
    let before = f.inv.clone();
    // The booking's update succeeds, its outbox entry (for the D1 index) fails.
    f.inv.fail_write_after(1);
    let target = utc("2026-12-01T11:00:00Z");
    let failed = f.inv.transaction(|inv| reschedule(inv, &c, &b.id, target));
    assert!(matches!(failed, Err(BookingError::Storage(_))));
    assert_eq!(f.inv, before);
    assert_eq!(f.inv.get(&b.id).unwrap().unwrap().slot_start, slot());
    assert_eq!(f.inv.booked_people(hour(slot())).unwrap(), 2);
    assert_eq!(f.inv.booked_people(hour(target)).unwrap(), 0);
}

#[test]
fn a_transaction_that_succeeds_keeps_its_writes() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let mut rng = splitmix(3);
    let out = f
        .inv
        .transaction(|inv| {
            book(
                inv,
                &c,
                keyed(req("u", 1, slot()), "k"),
                "b1".into(),
                &mut rng,
            )
        })
        .unwrap();
    assert_eq!(f.inv.bookings(), std::slice::from_ref(&out.booking));
    assert_eq!(f.inv.outbox(), [out.booking]);
    assert_eq!(f.inv.idempotency_records().count(), 1);
}

#[test]
fn reschedule_validates_the_new_slot_like_book() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 3, slot()));
    let snapshot = f.inv.clone();
    let closed = StoreContext {
        store_closed: true,
        ..c
    };
    let small = schedule_with(2, "20:00");
    for (context, target, expected) in [
        (c, "2026-12-01T10:30:00Z", BookingError::SlotNotOffered),
        (c, "2026-12-25T10:00:00Z", BookingError::SlotNotOffered),
        (c, "2026-11-30T10:00:00Z", BookingError::SlotInPast),
        (
            c,
            "2026-12-09T10:00:00Z",
            BookingError::BeyondHorizon { horizon_days: 7 },
        ),
        (closed, "2026-12-01T11:00:00Z", BookingError::StoreClosed),
        (
            ctx(&small, now()),
            "2026-12-01T11:00:00Z",
            BookingError::InvalidPartySize {
                party_size: 3,
                max: 2,
            },
        ),
    ] {
        assert_eq!(
            reschedule(&mut f.inv, &context, &b.id, utc(target)),
            Err(expected),
            "{target}"
        );
        assert_eq!(f.inv, snapshot);
    }
    assert_eq!(
        reschedule(&mut f.inv, &c, "nope", slot()),
        Err(BookingError::NotFound)
    );
}

#[test]
fn only_confirmed_bookings_can_be_rescheduled() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let b = f.ok(&c, req("u", 1, slot()));
    cancel(&mut f.inv, &b.id, now()).unwrap();
    assert_eq!(
        reschedule(&mut f.inv, &c, &b.id, utc("2026-12-01T11:00:00Z")),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::Cancelled,
            to: BookingStatus::Confirmed
        })
    );
    let d = f.ok(&c, req("u", 1, slot()));
    check_in_by_code(&mut f.inv, &d.code, slot()).unwrap();
    assert!(matches!(
        reschedule(&mut f.inv, &c, &d.id, utc("2026-12-01T11:00:00Z")),
        Err(BookingError::InvalidTransition {
            from: BookingStatus::CheckedIn,
            ..
        })
    ));
}

#[test]
fn affected_bookings_are_active_ones_the_new_schedule_does_not_offer() {
    let s = schedule();
    let c = ctx(&s, now());
    let mut f = Fixture::new();
    let kept = f.ok(&c, req("a", 1, slot())); // 11:00 local
    let late = f.ok(&c, req("b", 1, utc("2026-12-01T18:00:00Z"))); // 19:00 local
    let cancelled = f.ok(&c, req("c", 1, utc("2026-12-01T18:00:00Z")));
    cancel(&mut f.inv, &cancelled.id, now()).unwrap();
    let running = f.ok(&c, req("d", 1, utc("2026-12-01T08:00:00Z"))); // 09:00 local, running
    let checked = f.ok(&c, req("e", 1, utc("2026-12-01T18:00:00Z")));
    check_in_by_code(&mut f.inv, &checked.code, utc("2026-12-01T17:30:00Z")).unwrap();

    // Closing at 18:00 instead of 20:00.
    let shorter = schedule_with(4, "18:00");
    let affected = affected_by_schedule(f.inv.bookings(), &shorter, berlin(), now());
    assert_eq!(affected.len(), 1);
    assert_eq!(affected[0], late);
    // Once that slot is over it is no longer reported.
    assert!(affected_by_schedule(
        f.inv.bookings(),
        &shorter,
        berlin(),
        utc("2026-12-01T19:00:00Z")
    )
    .is_empty());
    // A new slot length changes every slot: every active booking is reported.
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let half_hours = Schedule::from_json(&json!({
        "slot_minutes": 30, "capacity": 4, "horizon_days": 7, "max_active_bookings_per_user": 2,
        "weekly": days.iter().map(|d| json!({"day": d, "open": "08:00", "close": "20:00"})).collect::<Vec<_>>(),
    }))
    .unwrap();
    let ids: Vec<String> = affected_by_schedule(f.inv.bookings(), &half_hours, berlin(), now())
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, [kept.id, late.id, running.id]);
    assert!(affected_by_schedule(f.inv.bookings(), &s, berlin(), now()).is_empty());
}

#[test]
fn occupancy_reports_the_current_slot() {
    let s = schedule();
    let mut asked = None;
    let o = occupancy::<()>(Some(&s), berlin(), now(), |slot| {
        asked = Some(slot);
        Ok((3, 1))
    })
    .unwrap();
    let running = utc("2026-12-01T08:00:00Z");
    assert_eq!(asked.map(|s| s.start), Some(running));
    assert_eq!(
        o,
        Occupancy {
            slot_start: Some(running),
            capacity: 4,
            booked: 3,
            checked_in: 1,
            fill_status: FillStatus::Yellow,
        }
    );
    // Closed: no slot, zeros, green, and the counts are not even asked for.
    let night = utc("2026-12-01T22:00:00Z");
    let o = occupancy::<()>(Some(&s), berlin(), night, |_| panic!("not asked")).unwrap();
    assert_eq!(o, Occupancy::closed());
    let o = occupancy::<()>(None, berlin(), now(), |_| panic!("not asked")).unwrap();
    assert_eq!(o, Occupancy::closed());
    assert_eq!(
        occupancy(Some(&s), berlin(), now(), |_| Err("db down")),
        Err("db down")
    );
}

#[test]
fn fill_status_thresholds() {
    for (booked, capacity, status) in [
        (0, 10, FillStatus::Green),
        (4, 10, FillStatus::Green),
        (5, 10, FillStatus::Yellow),
        (8, 10, FillStatus::Yellow),
        (9, 10, FillStatus::Red),
        (10, 10, FillStatus::Red),
        (11, 10, FillStatus::Red),
        (0, 0, FillStatus::Green),
        (1, 3, FillStatus::Green),
        (2, 3, FillStatus::Yellow),
        (u32::MAX, u32::MAX, FillStatus::Red),
    ] {
        assert_eq!(
            FillStatus::for_load(booked, capacity),
            status,
            "{booked}/{capacity}"
        );
    }
    assert_eq!(FillStatus::Red.legacy_code(), 0);
    assert_eq!(FillStatus::Yellow.legacy_code(), 1);
    assert_eq!(FillStatus::Green.legacy_code(), 2);
    assert_eq!(
        serde_json::to_value(FillStatus::Yellow).unwrap(),
        json!("yellow")
    );
}

#[test]
fn status_names_round_trip() {
    for (status, name) in [
        (BookingStatus::Confirmed, "confirmed"),
        (BookingStatus::Cancelled, "cancelled"),
        (BookingStatus::CheckedIn, "checked_in"),
        (BookingStatus::NoShow, "no_show"),
    ] {
        assert_eq!(status.as_str(), name);
        assert_eq!(status.to_string(), name);
        assert_eq!(name.parse::<BookingStatus>(), Ok(status));
        assert_eq!(serde_json::to_value(status).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<BookingStatus>(json!(name)).unwrap(),
            status
        );
    }
    assert!("checked-in".parse::<BookingStatus>().is_err());
}

#[test]
fn booking_serialises_with_utc_instants() {
    let s = schedule();
    let mut f = Fixture::new();
    let b = f.ok(&ctx(&s, now()), req("u", 1, slot()));
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["slot_start"], json!("2026-12-01T10:00:00Z"));
    assert_eq!(v["status"], json!("confirmed"));
    assert_eq!(serde_json::from_value::<Booking>(v).unwrap(), b);
}

#[test]
fn error_kinds_statuses_and_messages() {
    use BookingStatus::*;
    let all = [
        (
            BookingError::IdempotencyMismatch,
            "idempotency-mismatch",
            422,
        ),
        (BookingError::StoreClosed, "store-closed", 409),
        (BookingError::SlotNotOffered, "slot-not-offered", 422),
        (BookingError::SlotInPast, "slot-in-past", 422),
        (
            BookingError::BeyondHorizon { horizon_days: 7 },
            "beyond-horizon",
            422,
        ),
        (
            BookingError::InvalidPartySize {
                party_size: 0,
                max: 4,
            },
            "invalid-party-size",
            422,
        ),
        (BookingError::SlotFull { available: 1 }, "slot-full", 409),
        (
            BookingError::BookingLimit { limit: 2 },
            "booking-limit",
            409,
        ),
        (BookingError::NotFound, "not-found", 404),
        (
            BookingError::InvalidTransition {
                from: CheckedIn,
                to: Cancelled,
            },
            "invalid-transition",
            409,
        ),
        (
            BookingError::OutsideCheckInWindow,
            "outside-check-in-window",
            409,
        ),
        (BookingError::SlotNotStarted, "slot-not-started", 409),
        (BookingError::Storage("disk".into()), "storage", 500),
    ];
    let mut kinds = std::collections::HashSet::new();
    for (e, kind, status) in all {
        assert_eq!(e.kind(), kind);
        assert_eq!(e.http_status(), status, "{kind}");
        assert!(!e.to_string().is_empty());
        assert!(kinds.insert(kind));
    }
    assert_eq!(
        BookingError::InvalidTransition {
            from: CheckedIn,
            to: Cancelled
        }
        .to_string(),
        "a checked_in booking cannot become cancelled"
    );
    assert!(BookingError::SlotFull { available: 1 }
        .to_string()
        .contains("1 available"));
}

#[test]
fn staff_cancel_any_booking_owners_only_their_own() {
    let s = schedule();
    let mut f = Fixture::new();
    let mine = f.ok(&ctx(&s, now()), req("u1", 1, slot()));
    let theirs = f.ok(&ctx(&s, now()), req("u2", 1, slot()));
    let me = owner_of("u1");
    // Another owner's booking does not exist for them, and nothing changes.
    let before = f.inv.clone();
    assert_eq!(
        cancel_for(&mut f.inv, &ctx(&s, now()), &theirs.id, Some(&me)),
        Err(BookingError::NotFound)
    );
    assert_eq!(f.inv, before);
    let cancelled = cancel_for(&mut f.inv, &ctx(&s, now()), &mine.id, Some(&me)).unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    // Staff (no owner constraint) may cancel anyone's.
    assert_eq!(
        cancel_for(&mut f.inv, &ctx(&s, now()), &theirs.id, None)
            .unwrap()
            .status,
        BookingStatus::Cancelled
    );
    assert_eq!(
        cancel_for(&mut f.inv, &ctx(&s, now()), "nope", None),
        Err(BookingError::NotFound)
    );
}

#[test]
fn owners_reschedule_only_their_own() {
    let s = schedule();
    let mut f = Fixture::new();
    let theirs = f.ok(&ctx(&s, now()), req("u2", 1, slot()));
    let later = utc("2026-12-01T11:00:00Z");
    let before = f.inv.clone();
    assert_eq!(
        reschedule_for(
            &mut f.inv,
            &ctx(&s, now()),
            &theirs.id,
            Some(&owner_of("u1")),
            later
        ),
        Err(BookingError::NotFound)
    );
    assert_eq!(f.inv, before);
    let moved = reschedule_for(
        &mut f.inv,
        &ctx(&s, now()),
        &theirs.id,
        Some(&owner_of("u2")),
        later,
    )
    .unwrap();
    assert_eq!(moved.slot_start, later);
}

#[test]
fn cancel_by_code_finds_the_code_as_typed() {
    let s = schedule();
    let mut f = Fixture::new();
    let b = f.ok(&ctx(&s, now()), req("u1", 1, slot()));
    let typed = format!(" {} ", b.code.to_lowercase());
    assert_eq!(by_code(&f.inv, &typed).unwrap().id, b.id);
    assert_eq!(
        cancel_by_code(&mut f.inv, &ctx(&s, now()), &typed)
            .unwrap()
            .status,
        BookingStatus::Cancelled
    );
    assert_eq!(by_code(&f.inv, "not a code"), Err(BookingError::NotFound));
    assert_eq!(
        cancel_by_code(&mut f.inv, &ctx(&s, now()), "ZZZZZZZZ"),
        Err(BookingError::NotFound)
    );
}

#[test]
fn erasing_an_owner_cancels_the_future_and_anonymises_everything() {
    let s = schedule();
    let mut f = Fixture::new();
    let user = owner_of("u1");
    let future = f.ok(&ctx(&s, now()), keyed(req("u1", 1, slot()), "k1"));
    let started = f.ok(&ctx(&s, now()), req("u1", 1, utc("2026-12-01T12:00:00Z")));
    let other = f.ok(&ctx(&s, now()), req("u2", 1, slot()));
    // By the time of erasure the second booking's slot has started.
    let at = utc("2026-12-01T12:30:00Z");
    let erased = erase_owner(&mut f.inv, &ctx(&s, at), &user).unwrap();
    assert_eq!(
        erased,
        Erased {
            cancelled: 0,
            anonymised: 2
        }
    );
    let erased_early = {
        let mut g = Fixture::new();
        let b = g.ok(&ctx(&s, now()), req("u1", 1, slot()));
        let e = erase_owner(&mut g.inv, &ctx(&s, now()), &user).unwrap();
        (e, g.inv.get(&b.id).unwrap().unwrap())
    };
    assert_eq!(erased_early.0.cancelled, 1);
    assert_eq!(erased_early.1.status, BookingStatus::Cancelled);
    assert_eq!(erased_early.1.owner, None);
    for id in [&future.id, &started.id] {
        let b = f.inv.get(id).unwrap().unwrap();
        assert_eq!(b.owner, None, "{id}");
        assert_eq!(b.updated_at, at);
    }
    // Bookings kept their status (the first one had ended, the second had started).
    assert_eq!(
        f.inv.get(&started.id).unwrap().unwrap().status,
        BookingStatus::Confirmed
    );
    assert_eq!(
        f.inv.get(&other.id).unwrap().unwrap().owner,
        Some(owner_of("u2"))
    );
    assert!(f.inv.idempotency_get(&user, "k1").unwrap().is_none());
    // Idempotent: nothing of theirs is left.
    assert_eq!(
        erase_owner(&mut f.inv, &ctx(&s, at), &user).unwrap(),
        Erased {
            cancelled: 0,
            anonymised: 0
        }
    );
}

#[test]
fn closing_a_store_cancels_only_what_has_not_started() {
    let s = schedule();
    let mut f = Fixture::new();
    let soon = f.ok(&ctx(&s, now()), req("u1", 1, slot()));
    let later = f.ok(&ctx(&s, now()), req("u2", 2, utc("2026-12-02T10:00:00Z")));
    let at = utc("2026-12-01T10:30:00Z");
    assert_eq!(close_store(&mut f.inv, at).unwrap(), 1);
    assert_eq!(
        f.inv.get(&soon.id).unwrap().unwrap().status,
        BookingStatus::Confirmed
    );
    assert_eq!(
        f.inv.get(&later.id).unwrap().unwrap().status,
        BookingStatus::Cancelled
    );
    assert_eq!(close_store(&mut f.inv, at).unwrap(), 0);
}
