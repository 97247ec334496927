use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::*;
use crate::booking::{book, BookRequest, BookingStatus};
use crate::codes::splitmix;
use crate::memory::MemoryInventory;
use crate::schedule::Schedule;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// 60-minute slots of `capacity` places, 08:00-20:00 Berlin daily, offers held 15 minutes,
/// no-shows released 10 minutes after the start.
fn schedule(capacity: u32) -> Schedule {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    Schedule::from_json(&json!({
        "slot_minutes": 60,
        "capacity": capacity,
        "horizon_days": 7,
        "max_active_bookings_per_user": 2,
        "waitlist_offer_minutes": 15,
        "release_after_minutes": 10,
        "weekly": days.iter().map(|d| json!({"day": d, "open": "08:00", "close": "20:00"})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// 2026-12-01 09:30 Berlin.
fn now() -> DateTime<Utc> {
    utc("2026-12-01T08:30:00Z")
}

/// 11:00-12:00 Berlin.
fn slot() -> DateTime<Utc> {
    utc("2026-12-01T10:00:00Z")
}

fn ctx(s: &Schedule, now: DateTime<Utc>) -> StoreContext<'_> {
    StoreContext {
        schedule: Some(s),
        tz: crate::zone::tzdb::zone("Europe/Berlin"),
        now,
        store_closed: false,
    }
}

fn owner(raw: &str) -> Owner {
    Owner::parse(raw).unwrap()
}

struct Store {
    inv: MemoryInventory,
    rng: Box<dyn FnMut() -> u64>,
    n: u32,
}

impl Store {
    fn new() -> Self {
        Store {
            inv: MemoryInventory::new(),
            rng: Box::new(splitmix(7)),
            n: 0,
        }
    }

    fn id(&mut self) -> String {
        self.n += 1;
        format!("id{}", self.n)
    }

    fn book(
        &mut self,
        c: &StoreContext<'_>,
        who: &str,
        party: u32,
    ) -> Result<Booking, BookingError> {
        let id = self.id();
        let req = BookRequest {
            owner: owner(who),
            party_size: party,
            slot_start: slot(),
            guest: None,
            idempotency_key: None,
        };
        book(&mut self.inv, c, req, id, &mut self.rng).map(|o| o.booking)
    }

    fn join(
        &mut self,
        c: &StoreContext<'_>,
        who: &str,
        party: u32,
    ) -> Result<EntryView, BookingError> {
        let id = self.id();
        let req = JoinRequest {
            owner: owner(who),
            party_size: party,
            slot_start: slot(),
        };
        join(&mut self.inv, c, req, id)
    }

    fn accept(
        &mut self,
        c: &StoreContext<'_>,
        entry: &str,
        who: &str,
    ) -> Result<(WaitEntry, Booking), BookingError> {
        let id = self.id();
        accept(&mut self.inv, c, entry, &owner(who), id, &mut self.rng)
    }

    fn entry(&self, id: &str) -> WaitEntry {
        self.inv.entry(id).unwrap().unwrap()
    }

    fn slot_counts(&self) -> (u32, u32) {
        let s = Slot {
            start: slot(),
            end: slot() + TimeDelta::hours(1),
        };
        (
            self.inv.booked_people(s).unwrap(),
            self.inv.held_people(s).unwrap(),
        )
    }
}

#[test]
fn join_only_a_full_slot_once_in_order_of_joining() {
    let s = schedule(2);
    let c = ctx(&s, now());
    let mut st = Store::new();
    assert_eq!(st.join(&c, "w1", 1), Err(BookingError::SlotAvailable));
    let first = st.book(&c, "b1", 2).unwrap();
    let a = st.join(&c, "w1", 1).unwrap();
    let b = st.join(&c, "w2", 2).unwrap();
    assert_eq!((a.position, b.position), (Some(1), Some(2)));
    assert_eq!(a.entry.status, EntryStatus::Waiting);
    assert_eq!(st.join(&c, "w1", 1), Err(BookingError::AlreadyWaiting));
    // Validated like a booking.
    assert_eq!(
        join(
            &mut st.inv,
            &c,
            JoinRequest {
                owner: owner("w3"),
                party_size: 3,
                slot_start: slot()
            },
            "x".into()
        ),
        Err(BookingError::InvalidPartySize {
            party_size: 3,
            max: 2
        })
    );
    assert_eq!(position(&st.inv, &st.entry(&b.entry.id)).unwrap(), Some(2));
    // Cancelling frees 2 places: both fit, in order.
    cancel_for(&mut st.inv, &c, &first.id, None).unwrap();
    assert_eq!(st.entry(&a.entry.id).status, EntryStatus::Offered);
    assert_eq!(st.entry(&b.entry.id).status, EntryStatus::Waiting);
    assert_eq!(position(&st.inv, &st.entry(&b.entry.id)).unwrap(), Some(1));
    assert_eq!(st.slot_counts(), (0, 1));
}

use crate::booking::cancel_for;

#[test]
fn offers_go_to_the_earliest_entries_that_fit_and_hold_their_places() {
    let s = schedule(3);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let big = st.book(&c, "b1", 2).unwrap();
    st.book(&c, "b2", 1).unwrap();
    let needs_three = st.join(&c, "w1", 3).unwrap();
    let needs_one = st.join(&c, "w2", 1).unwrap();
    let needs_two = st.join(&c, "w3", 2).unwrap();
    cancel_for(&mut st.inv, &c, &big.id, None).unwrap();
    // 2 free: the party of 3 does not fit, the next ones do while places last.
    assert_eq!(st.entry(&needs_three.entry.id).status, EntryStatus::Waiting);
    assert_eq!(st.entry(&needs_one.entry.id).status, EntryStatus::Offered);
    assert_eq!(st.entry(&needs_two.entry.id).status, EntryStatus::Waiting);
    assert_eq!(
        st.entry(&needs_one.entry.id).offer_expires_at,
        Some(now() + TimeDelta::minutes(15))
    );
    // Held places count against capacity: 1 booked + 1 held, so a party of 2 is refused.
    assert_eq!(st.slot_counts(), (1, 1));
    assert_eq!(
        st.book(&c, "b3", 2),
        Err(BookingError::SlotFull { available: 1 })
    );
    st.book(&c, "b4", 1).unwrap();
    assert_eq!(
        st.book(&c, "b5", 1),
        Err(BookingError::SlotFull { available: 0 })
    );
}

#[test]
fn accepting_turns_the_hold_into_a_booking_only_while_it_runs() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let b = st.book(&c, "b1", 1).unwrap();
    let w1 = st.join(&c, "w1", 1).unwrap().entry;
    let w2 = st.join(&c, "w2", 1).unwrap().entry;
    assert_eq!(
        st.accept(&c, &w1.id, "w1").unwrap_err(),
        BookingError::NotOffered
    );
    cancel_for(&mut st.inv, &c, &b.id, None).unwrap();
    // Someone else's entry does not exist for them.
    assert_eq!(
        st.accept(&c, &w1.id, "w2").unwrap_err(),
        BookingError::NotFound
    );
    let (entry, booking) = st.accept(&c, &w1.id, "w1").unwrap();
    assert_eq!(entry.status, EntryStatus::Accepted);
    assert_eq!(entry.booking_id.as_deref(), Some(booking.id.as_str()));
    assert_eq!(booking.status, BookingStatus::Confirmed);
    assert_eq!(booking.owner, Some(owner("w1")));
    assert_eq!(st.slot_counts(), (1, 0));
    assert_eq!(
        st.accept(&c, &w1.id, "w1").unwrap_err(),
        BookingError::NotOffered
    );
    // The second one gets an offer when that booking is cancelled, and lets it run out.
    cancel_for(&mut st.inv, &c, &booking.id, None).unwrap();
    assert_eq!(st.entry(&w2.id).status, EntryStatus::Offered);
    let late = ctx(&s, now() + TimeDelta::minutes(15));
    assert_eq!(
        st.accept(&late, &w2.id, "w2").unwrap_err(),
        BookingError::OfferExpired
    );
}

#[test]
fn expiry_passes_the_offer_on_and_leaving_does_too() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let b = st.book(&c, "b1", 1).unwrap();
    let w1 = st.join(&c, "w1", 1).unwrap().entry;
    let w2 = st.join(&c, "w2", 1).unwrap().entry;
    let w3 = st.join(&c, "w3", 1).unwrap().entry;
    cancel_for(&mut st.inv, &c, &b.id, None).unwrap();
    let expiry = now() + TimeDelta::minutes(15);
    assert_eq!(next_due(&st.inv, &c).unwrap(), Some(expiry));
    // Before its time nothing is due.
    let early = ctx(&s, expiry - TimeDelta::seconds(1));
    assert_eq!(run_due(&mut st.inv, &early).unwrap(), DueWork::default());
    let at = ctx(&s, expiry);
    let done = run_due(&mut st.inv, &at).unwrap();
    assert_eq!(done.expired.len(), 1);
    assert_eq!(st.entry(&w1.id).status, EntryStatus::Expired);
    assert_eq!(st.entry(&w2.id).status, EntryStatus::Offered);
    assert_eq!(
        done.offered.iter().map(|e| &e.id).collect::<Vec<_>>(),
        [&w2.id]
    );
    // Leaving with an open offer passes it on at once.
    let left = leave(&mut st.inv, &at, &w2.id, Some(&owner("w2"))).unwrap();
    assert_eq!(left.status, EntryStatus::Left);
    assert_eq!(st.entry(&w3.id).status, EntryStatus::Offered);
    // Leaving again changes nothing; staff (no owner) may end any entry.
    assert_eq!(
        leave(&mut st.inv, &at, &w2.id, None).unwrap().status,
        EntryStatus::Left
    );
    assert_eq!(
        leave(&mut st.inv, &at, &w3.id, Some(&owner("w1"))),
        Err(BookingError::NotFound)
    );
}

#[test]
fn release_turns_unchecked_bookings_into_no_shows_and_offers_their_places() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let b = st.book(&c, "b1", 1).unwrap();
    let w = st.join(&c, "w1", 1).unwrap().entry;
    let due = slot() + TimeDelta::minutes(10);
    assert_eq!(next_due(&st.inv, &c).unwrap(), Some(due));
    assert!(run_due(&mut st.inv, &ctx(&s, due - TimeDelta::seconds(1)))
        .unwrap()
        .released
        .is_empty());
    let done = run_due(&mut st.inv, &ctx(&s, due)).unwrap();
    assert_eq!(done.released.len(), 1);
    assert_eq!(
        st.inv.get(&b.id).unwrap().unwrap().status,
        BookingStatus::NoShow
    );
    assert_eq!(st.entry(&w.id).status, EntryStatus::Offered);
    // Without release_after nothing is released.
    let mut off = serde_json::to_value(&s).unwrap();
    off["release_after_minutes"] = json!(null);
    let off = Schedule::from_json(&off).unwrap();
    let mut st = Store::new();
    st.book(&c, "b1", 1).unwrap();
    assert!(run_due(&mut st.inv, &ctx(&off, due))
        .unwrap()
        .released
        .is_empty());
    assert_eq!(next_due(&st.inv, &ctx(&off, now())).unwrap(), None);
}

#[test]
fn release_leaves_bookings_that_ended_a_day_ago_or_longer() {
    let s = schedule(1);
    let mut st = Store::new();
    let b = st.book(&ctx(&s, now()), "b1", 1).unwrap();
    let late = b.slot_end + TimeDelta::days(1);
    assert!(run_due(&mut st.inv, &ctx(&s, late))
        .unwrap()
        .released
        .is_empty());
    assert_eq!(
        st.inv.get(&b.id).unwrap().unwrap().status,
        BookingStatus::Confirmed
    );
    let done = run_due(&mut st.inv, &ctx(&s, late - TimeDelta::seconds(1))).unwrap();
    assert_eq!(done.released.len(), 1);
}

#[test]
fn raised_capacity_offers_to_every_slot_with_waiting_entries() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    st.book(&c, "b1", 1).unwrap();
    let w = st.join(&c, "w1", 1).unwrap().entry;
    let bigger = schedule(2);
    let offered = offer_freed(&mut st.inv, &ctx(&bigger, now()), None).unwrap();
    assert_eq!(offered.len(), 1);
    assert_eq!(st.entry(&w.id).status, EntryStatus::Offered);
}

#[test]
fn erasure_and_closing_end_the_entries() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let b = st.book(&c, "b1", 1).unwrap();
    let w1 = st.join(&c, "w1", 1).unwrap().entry;
    let w2 = st.join(&c, "w2", 1).unwrap().entry;
    cancel_for(&mut st.inv, &c, &b.id, None).unwrap();
    assert_eq!(st.entry(&w1.id).status, EntryStatus::Offered);
    crate::booking::erase_owner(&mut st.inv, &c, &owner("w1")).unwrap();
    let erased = st.entry(&w1.id);
    assert_eq!((erased.status, erased.owner), (EntryStatus::Left, None));
    // Its offer passed on.
    assert_eq!(st.entry(&w2.id).status, EntryStatus::Offered);
    crate::booking::close_store(&mut st.inv, now()).unwrap();
    assert_eq!(st.entry(&w2.id).status, EntryStatus::Expired);
    assert_eq!(st.slot_counts(), (0, 0));
}

#[test]
fn a_failed_write_leaves_no_half_accepted_offer() {
    let s = schedule(1);
    let c = ctx(&s, now());
    let mut st = Store::new();
    let b = st.book(&c, "b1", 1).unwrap();
    let w = st.join(&c, "w1", 1).unwrap().entry;
    cancel_for(&mut st.inv, &c, &b.id, None).unwrap();
    let before = st.inv.clone();
    // The booking's insert and its outbox entry succeed, the entry's update fails.
    st.inv.fail_write_after(2);
    let mut rng = splitmix(3);
    let failed = st
        .inv
        .transaction(|inv| accept(inv, &c, &w.id, &owner("w1"), "new".into(), &mut rng));
    assert!(matches!(failed, Err(BookingError::Storage(_))));
    st.inv.fail_write_after(u32::MAX);
    assert_eq!(st.inv.bookings(), before.bookings());
    assert_eq!(st.inv.entries(), before.entries());
}
