//! Property tests across the engine: random operation sequences against a simple model, and
//! slot expansion in several time zones.
//!
//! The operation sequences switch between schedules of different slot lengths, opening
//! alignments and capacities, and between time zones, while bookings of the earlier schedules
//! are kept; the invariant is checked per instant, from the stored bookings alone. The waiting
//! list takes part: entries join full slots, cancellations offer places, offers are accepted,
//! left or expire, and unchecked bookings are released; held places count like booked ones.

use std::collections::{BTreeMap, HashMap};

use crate::zone::Tz;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;

use super::booking::*;
use super::codes::splitmix;
use super::idempotency::{fingerprint, IdempotencyKey};
use super::ids::Owner;
use super::memory::MemoryInventory;
use super::schedule::Schedule;
use super::slots::*;
use super::waitlist::{self, EntryStatus, JoinRequest};

fn berlin() -> Tz {
    crate::zone::tzdb::zone("Europe/Berlin")
}

/// The zones the store switches between: Kolkata's half-hour offset shifts every slot off the
/// hours of the others.
fn store_zones() -> [Tz; 3] {
    [
        berlin(),
        crate::zone::tzdb::zone("Asia/Kolkata"),
        crate::zone::tzdb::zone("Europe/London"),
    ]
}
/// How many schedules [`variant`] knows.
const VARIANTS: usize = 8;
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_ACTIVE: u32 = 2;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The schedules the random sequences switch between: different hours, slot lengths (20 to 240
/// minutes), openings that do not align with each other's slots (08:15, 09:10, 07:45, 02:20)
/// and closed dates, all around Berlin's 2026-10-25 fall-back day.
fn variant(i: usize, capacity: u32) -> Schedule {
    let weekly = |slot: u32, intervals: &[(&str, &str)]| {
        let entries: Vec<_> = DAYS
            .iter()
            .flat_map(|d| {
                intervals
                    .iter()
                    .map(move |(o, c)| json!({"day": d, "open": o, "close": c}))
            })
            .collect();
        (slot, entries)
    };
    let ((slot, weekly), exceptions) = match i % VARIANTS {
        0 => (weekly(60, &[("08:00", "20:00")]), json!([])),
        1 => (weekly(30, &[("00:00", "24:00")]), json!([])),
        2 => (
            weekly(60, &[("10:00", "14:00"), ("16:00", "22:00")]),
            json!([{"date": "2026-10-26", "open": "00:00", "close": "03:00"}]),
        ),
        3 => (
            weekly(30, &[("07:00", "12:00")]),
            json!([{"date": "2026-10-25", "closed": true}]),
        ),
        4 => (weekly(45, &[("08:15", "20:15")]), json!([])),
        5 => (weekly(20, &[("09:10", "17:10")]), json!([])),
        6 => (weekly(90, &[("07:45", "22:45")]), json!([])),
        _ => (weekly(240, &[("02:20", "22:20")]), json!([])),
    };
    // Some variants release bookings not checked in 10 minutes after their start.
    let release = if i % 3 == 1 { json!(10) } else { json!(null) };
    Schedule::from_json(&json!({
        "slot_minutes": slot,
        "capacity": capacity,
        "horizon_days": 7,
        "max_active_bookings_per_user": MAX_ACTIVE,
        "waitlist_offer_minutes": 30,
        "release_after_minutes": release,
        "weekly": weekly,
        "exceptions": exceptions,
    }))
    .unwrap()
}

/// The slots of `schedule` in `tz` over the test days.
fn test_days_slots(schedule: &Schedule, tz: Tz) -> Vec<Slot> {
    slots_between(schedule, tz, date("2026-10-24"), date("2026-10-27"))
}

/// Every slot start any variant offers in any zone over the test days, plus unaligned instants.
fn candidate_starts() -> Vec<DateTime<Utc>> {
    let mut starts: Vec<_> = (0..VARIANTS)
        .flat_map(|v| {
            store_zones()
                .into_iter()
                .flat_map(move |tz| test_days_slots(&variant(v, 1), tz))
        })
        .map(|s| s.start)
        .collect();
    starts.sort();
    starts.dedup();
    let unaligned: Vec<_> = starts
        .iter()
        .step_by(37)
        .map(|s| *s + TimeDelta::minutes(7))
        .collect();
    starts.extend(unaligned);
    starts
}

/// Which candidate start an operation uses: any of them, or one of the few slots of the
/// current schedule around `now` (so that check-ins, no-shows, crowded slots and bookings that
/// straddle the slots of a later schedule actually happen).
#[derive(Debug, Clone)]
enum SlotPick {
    Any(Index),
    Near(Index),
}

fn slot_pick() -> impl Strategy<Value = SlotPick> {
    prop_oneof![
        any::<Index>().prop_map(SlotPick::Any),
        any::<Index>().prop_map(SlotPick::Near),
    ]
}

fn choose(
    starts: &[DateTime<Utc>],
    current: &[Slot],
    now: DateTime<Utc>,
    pick: &SlotPick,
) -> DateTime<Utc> {
    match pick {
        SlotPick::Any(i) => starts[i.index(starts.len())],
        SlotPick::Near(i) => {
            let near: Vec<_> = current
                .iter()
                .filter(|s| s.start >= now - TimeDelta::hours(2))
                .take(6)
                .collect();
            if near.is_empty() {
                starts[i.index(starts.len())]
            } else {
                near[i.index(near.len())].start
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Book {
        user: u8,
        party: u32,
        slot: SlotPick,
        key: Option<u8>,
    },
    Cancel(Index),
    Reschedule(Index, SlotPick),
    CheckIn(Index),
    NoShow(Index),
    ChangeSchedule {
        variant: usize,
        capacity: u32,
    },
    ChangeZone(usize),
    Advance {
        minutes: i64,
    },
    /// Cancel through [`cancel_for`], which offers the freed places.
    CancelAndOffer(Index),
    Join {
        user: u8,
        party: u32,
        slot: SlotPick,
    },
    Accept(Index),
    Leave(Index),
    /// The alarm's due work: expired offers, released no-shows.
    RunDue,
}

fn op_strategy(vary_capacity: bool) -> impl Strategy<Value = Op> {
    let capacity = if vary_capacity {
        prop::sample::select(vec![2u32, 5, 8]).boxed()
    } else {
        Just(5u32).boxed()
    };
    prop_oneof![
        4 => (0u8..3, 1u32..=6, slot_pick(), prop::option::of(0u8..3))
            .prop_map(|(user, party, slot, key)| Op::Book { user, party, slot, key }),
        1 => any::<Index>().prop_map(Op::Cancel),
        2 => (any::<Index>(), slot_pick()).prop_map(|(b, s)| Op::Reschedule(b, s)),
        2 => any::<Index>().prop_map(Op::CheckIn),
        1 => any::<Index>().prop_map(Op::NoShow),
        2 => (0usize..VARIANTS, capacity)
            .prop_map(|(variant, capacity)| Op::ChangeSchedule { variant, capacity }),
        1 => (0usize..store_zones().len()).prop_map(Op::ChangeZone),
        1 => (0i64..=180).prop_map(|minutes| Op::Advance { minutes }),
        2 => any::<Index>().prop_map(Op::CancelAndOffer),
        3 => (3u8..6, 1u32..=4, any::<Index>())
            .prop_map(|(user, party, i)| Op::Join { user, party, slot: SlotPick::Near(i) }),
        2 => any::<Index>().prop_map(Op::Accept),
        1 => any::<Index>().prop_map(Op::Leave),
        1 => Just(Op::RunDue),
    ]
}

/// The model: every booking as it must be stored, and the idempotency records.
struct Model {
    bookings: BTreeMap<String, Booking>,
    keys: HashMap<(Owner, String), (String, String, DateTime<Utc>)>,
}

impl Model {
    /// People of the bookings holding places that overlap `slot`.
    fn booked(&self, slot: Slot, except: Option<&str>) -> u32 {
        self.bookings
            .values()
            .filter(|b| b.slot().overlaps(&slot) && b.status.holds_capacity())
            .filter(|b| Some(b.id.as_str()) != except)
            .map(|b| b.party_size)
            .sum()
    }

    fn active(&self, owner: &Owner, now: DateTime<Utc>) -> u32 {
        let n = self
            .bookings
            .values()
            .filter(|b| b.owner.as_ref() == Some(owner) && b.is_active(now))
            .count();
        u32::try_from(n).unwrap()
    }

    /// The model's verdict on a new slot for `party` people: the slot, or the refusal.
    /// `held` is what open offers hold in it (the engine's entries, as the model does not
    /// reproduce who gets an offer).
    #[allow(clippy::too_many_arguments)]
    fn slot_verdict(
        &self,
        held: &dyn Fn(Slot) -> u32,
        s: &Schedule,
        tz: Tz,
        now: DateTime<Utc>,
        start: DateTime<Utc>,
        party: u32,
        except: Option<&str>,
    ) -> Result<Slot, BookingError> {
        let slot = slot_at(s, tz, start).ok_or(BookingError::SlotNotOffered)?;
        if slot.end <= now {
            return Err(BookingError::SlotInPast);
        }
        if slot.start >= now + TimeDelta::days(7) {
            return Err(BookingError::BeyondHorizon { horizon_days: 7 });
        }
        if party == 0 || party > s.capacity() {
            return Err(BookingError::InvalidPartySize {
                party_size: party,
                max: s.capacity(),
            });
        }
        let booked = self.booked(slot, except) + held(slot);
        if booked + party > s.capacity() {
            return Err(BookingError::SlotFull {
                available: s.capacity().saturating_sub(booked),
            });
        }
        Ok(slot)
    }
}

fn stored(inv: &MemoryInventory) -> BTreeMap<String, Booking> {
    inv.bookings()
        .iter()
        .map(|b| (b.id.clone(), b.clone()))
        .collect()
}

/// What holds places as stored: bookings (confirmed, checked in) and open offers, by id ->
/// (range, people).
fn holding(inv: &MemoryInventory) -> BTreeMap<String, (Slot, u32)> {
    inv.bookings()
        .iter()
        .filter(|b| b.status.holds_capacity())
        .map(|b| (b.id.clone(), (b.slot(), b.party_size)))
        .chain(
            inv.entries()
                .iter()
                .filter(|e| e.status == EntryStatus::Offered)
                .map(|e| (format!("offer {}", e.id), (e.slot(), e.party_size))),
        )
        .collect()
}

/// People held by the stored open offers in `slot`.
fn held_in(inv: &MemoryInventory, slot: Slot) -> u32 {
    inv.entries()
        .iter()
        .filter(|e| e.status == EntryStatus::Offered && e.slot().overlaps(&slot))
        .map(|e| e.party_size)
        .sum()
}

/// People in the shop at `instant` by the bookings holding places.
fn people_at(holding: &BTreeMap<String, (Slot, u32)>, instant: DateTime<Utc>) -> u32 {
    holding
        .values()
        .filter(|(range, _)| range.contains(instant))
        .map(|(_, people)| people)
        .sum()
}

/// Checks the invariant per instant after one operation, from the stored bookings only.
///
/// People per instant are a step function that can only rise where a booking starts, so the
/// starts of the holding bookings are the instants to look at. Every booking this operation
/// added or moved must fit at each of them inside its range: no acceptance may push any instant
/// above the capacity in force (a capacity cut keeps older bookings over it, so instants the
/// operation did not touch are not judged, unless capacity never shrank, in which case no
/// instant may ever be above it).
fn check_per_instant(
    op: &Op,
    before: &BTreeMap<String, (Slot, u32)>,
    after: &BTreeMap<String, (Slot, u32)>,
    capacity: u32,
    capacity_never_dropped: bool,
) -> Result<(), TestCaseError> {
    let instants: Vec<DateTime<Utc>> = after.values().map(|(range, _)| range.start).collect();
    for (id, (range, _)) in after {
        if before.get(id).map(|(r, _)| r) == Some(range) {
            continue;
        }
        for t in instants.iter().filter(|t| range.contains(**t)) {
            let people = people_at(after, *t);
            prop_assert!(
                people <= capacity,
                "{:?} accepted {} so that {} people are in at {} (capacity {})",
                op,
                id,
                people,
                t,
                capacity
            );
        }
    }
    if capacity_never_dropped {
        for t in &instants {
            prop_assert!(people_at(after, *t) <= capacity, "{} over {}", t, capacity);
        }
    }
    Ok(())
}

fn pick<'a>(model: &'a Model, i: &Index) -> Option<&'a Booking> {
    if model.bookings.is_empty() {
        None
    } else {
        model.bookings.values().nth(i.index(model.bookings.len()))
    }
}

/// Runs `ops` against the engine and the model side by side, checking after every step that
/// the engine decided as the model did, stored exactly what the model expects, and never
/// pushed a slot over the capacity in force.
fn run(ops: &[Op], seed: u64) -> Result<(), TestCaseError> {
    let starts = candidate_starts();
    let mut schedule = variant(0, 5);
    let mut tz = berlin();
    let mut current = test_days_slots(&schedule, tz);
    let mut now = Utc.with_ymd_and_hms(2026, 10, 24, 5, 0, 0).unwrap();
    let mut inv = MemoryInventory::new();
    let mut model = Model {
        bookings: BTreeMap::new(),
        keys: HashMap::new(),
    };
    let mut rng = splitmix(seed);
    let mut next_id = 0u32;
    let mut capacity_never_dropped = true;

    for op in ops {
        let before = holding(&inv);
        let ctx = StoreContext {
            schedule: Some(&schedule),
            tz,
            now,
            store_closed: false,
        };
        match op {
            Op::Book {
                user,
                party,
                slot,
                key,
            } => {
                let owner = Owner::parse(&format!("user{user}")).expect("owner");
                let start = choose(&starts, &current, now, slot);
                let key = key.map(|k| format!("key{k}"));
                next_id += 1;
                let id = format!("b{next_id}");
                let request = BookRequest {
                    owner: owner.clone(),
                    party_size: *party,
                    slot_start: start,
                    guest: None,
                    idempotency_key: key.as_deref().map(|k| IdempotencyKey::parse(k).unwrap()),
                };
                let fp = fingerprint(start, *party, None);
                let live = key.as_ref().and_then(|k| {
                    model
                        .keys
                        .get(&(owner.clone(), k.clone()))
                        .filter(|(_, _, at)| now - *at < TimeDelta::hours(24))
                });
                let expected: Result<Option<Slot>, BookingError> = match live {
                    Some((f, _, _)) if *f != fp => Err(BookingError::IdempotencyMismatch),
                    Some(_) => Ok(None),
                    None => model
                        .slot_verdict(
                            &|slot| held_in(&inv, slot),
                            &schedule,
                            tz,
                            now,
                            start,
                            *party,
                            None,
                        )
                        .and_then(|slot| {
                            if model.active(&owner, now) >= MAX_ACTIVE {
                                Err(BookingError::BookingLimit { limit: MAX_ACTIVE })
                            } else {
                                Ok(Some(slot))
                            }
                        }),
                };
                let got = book(&mut inv, &ctx, request, id.clone(), &mut rng);
                match (expected, got) {
                    (Ok(None), Ok(out)) => {
                        prop_assert!(out.replayed);
                        let (_, original, _) = live.unwrap();
                        prop_assert_eq!(&out.booking.id, original);
                    }
                    (Ok(Some(slot)), Ok(out)) => {
                        prop_assert!(!out.replayed);
                        let b = out.booking;
                        prop_assert_eq!(&b.id, &id);
                        prop_assert_eq!(b.slot(), slot);
                        prop_assert_eq!(b.party_size, *party);
                        prop_assert_eq!(b.status, BookingStatus::Confirmed);
                        prop_assert_eq!(b.owner.as_ref(), Some(&owner));
                        prop_assert!(!model
                            .bookings
                            .values()
                            .any(|o| o.status == BookingStatus::Confirmed && o.code == b.code));
                        if let Some(k) = key {
                            model.keys.insert((owner, k), (fp, b.id.clone(), now));
                        }
                        model.bookings.insert(b.id.clone(), b);
                    }
                    (Err(e), Err(g)) => prop_assert_eq!(e, g),
                    (e, g) => prop_assert!(false, "model {:?} but engine {:?}", e, g),
                }
            }
            Op::Cancel(i) => {
                let Some(b) = pick(&model, i).cloned() else {
                    continue;
                };
                let got = cancel(&mut inv, &b.id, now);
                if b.status == BookingStatus::Confirmed {
                    let mut want = b.clone();
                    want.status = BookingStatus::Cancelled;
                    want.updated_at = now;
                    prop_assert_eq!(got, Ok(want.clone()));
                    model.bookings.insert(want.id.clone(), want);
                } else {
                    prop_assert_eq!(
                        got,
                        Err(BookingError::InvalidTransition {
                            from: b.status,
                            to: BookingStatus::Cancelled
                        })
                    );
                }
            }
            Op::CheckIn(i) => {
                let Some(b) = pick(&model, i).cloned() else {
                    continue;
                };
                let got = check_in_by_code(&mut inv, &b.code.to_lowercase(), now);
                let len = b.slot_end - b.slot_start;
                if b.status != BookingStatus::Confirmed {
                    // With another confirmed booking holding the same code (a reused code),
                    // that one would be found instead; codes of 39 bits do not collide here.
                    prop_assert_eq!(
                        got,
                        Err(BookingError::InvalidTransition {
                            from: b.status,
                            to: BookingStatus::CheckedIn
                        })
                    );
                } else if now < b.slot_start - len || now > b.slot_end + len {
                    prop_assert_eq!(got, Err(BookingError::OutsideCheckInWindow));
                } else {
                    let mut want = b.clone();
                    want.status = BookingStatus::CheckedIn;
                    want.updated_at = now;
                    prop_assert_eq!(got, Ok(want.clone()));
                    model.bookings.insert(want.id.clone(), want);
                }
            }
            Op::NoShow(i) => {
                let Some(b) = pick(&model, i).cloned() else {
                    continue;
                };
                let got = mark_no_show(&mut inv, &b.id, now);
                if b.status != BookingStatus::Confirmed {
                    prop_assert_eq!(
                        got,
                        Err(BookingError::InvalidTransition {
                            from: b.status,
                            to: BookingStatus::NoShow
                        })
                    );
                } else if now < b.slot_start {
                    prop_assert_eq!(got, Err(BookingError::SlotNotStarted));
                } else {
                    let mut want = b.clone();
                    want.status = BookingStatus::NoShow;
                    want.updated_at = now;
                    prop_assert_eq!(got, Ok(want.clone()));
                    model.bookings.insert(want.id.clone(), want);
                }
            }
            Op::Reschedule(i, s) => {
                let Some(b) = pick(&model, i).cloned() else {
                    continue;
                };
                let start = choose(&starts, &current, now, s);
                let got = reschedule(&mut inv, &ctx, &b.id, start);
                let expected = if b.status != BookingStatus::Confirmed {
                    Err(BookingError::InvalidTransition {
                        from: b.status,
                        to: BookingStatus::Confirmed,
                    })
                } else {
                    model
                        .slot_verdict(
                            &|slot| held_in(&inv, slot),
                            &schedule,
                            tz,
                            now,
                            start,
                            b.party_size,
                            Some(&b.id),
                        )
                        .and_then(|slot| {
                            // Moving an ended booking into the future adds an active one.
                            let limited = b
                                .owner
                                .as_ref()
                                .is_some_and(|o| model.active(o, now) >= MAX_ACTIVE);
                            if !b.is_active(now) && limited {
                                Err(BookingError::BookingLimit { limit: MAX_ACTIVE })
                            } else {
                                Ok(slot)
                            }
                        })
                };
                match expected {
                    Ok(slot) => {
                        let mut want = b.clone();
                        want.slot_start = slot.start;
                        want.slot_end = slot.end;
                        want.updated_at = now;
                        prop_assert_eq!(got, Ok(want.clone()));
                        model.bookings.insert(want.id.clone(), want);
                    }
                    Err(e) => prop_assert_eq!(got, Err(e)),
                }
            }
            Op::ChangeSchedule {
                variant: v,
                capacity,
            } => {
                let new = variant(*v, *capacity);
                let all: Vec<Booking> = inv.bookings().to_vec();
                let affected = affected_by_schedule(&all, &new, tz, now);
                let want: Vec<&Booking> = model
                    .bookings
                    .values()
                    .filter(|b| {
                        b.is_active(now) && slot_at(&new, tz, b.slot_start) != Some(b.slot())
                    })
                    .collect();
                let mut got_ids: Vec<&str> = affected.iter().map(|b| b.id.as_str()).collect();
                got_ids.sort_unstable();
                let want_ids: Vec<&str> = want.iter().map(|b| b.id.as_str()).collect();
                prop_assert_eq!(got_ids, want_ids);
                capacity_never_dropped &= new.capacity() >= schedule.capacity();
                schedule = new;
                current = test_days_slots(&schedule, tz);
            }
            Op::ChangeZone(z) => {
                tz = store_zones()[*z];
                current = test_days_slots(&schedule, tz);
            }
            Op::Advance { minutes } => now += TimeDelta::minutes(*minutes),
            Op::CancelAndOffer(i) => {
                // Mostly a booking someone is waiting behind, so that offers happen.
                let behind: Vec<&Booking> = model
                    .bookings
                    .values()
                    .filter(|b| b.status == BookingStatus::Confirmed)
                    .filter(|b| {
                        inv.entries().iter().any(|e| {
                            e.status == EntryStatus::Waiting && e.slot().overlaps(&b.slot())
                        })
                    })
                    .collect();
                let chosen = if behind.is_empty() {
                    pick(&model, i)
                } else {
                    Some(behind[i.index(behind.len())])
                };
                let Some(b) = chosen.cloned() else {
                    continue;
                };
                let got = cancel_for(&mut inv, &ctx, &b.id, None);
                if b.status == BookingStatus::Confirmed {
                    let mut want = b.clone();
                    want.status = BookingStatus::Cancelled;
                    want.updated_at = now;
                    prop_assert_eq!(got, Ok(want.clone()));
                    model.bookings.insert(want.id.clone(), want);
                } else {
                    prop_assert!(got.is_err());
                }
            }
            Op::Join { user, party, slot } => {
                let owner = Owner::parse(&format!("user{user}")).expect("owner");
                let start = choose(&starts, &current, now, slot);
                next_id += 1;
                let request = JoinRequest {
                    owner: owner.clone(),
                    party_size: *party,
                    slot_start: start,
                };
                let room = model.slot_verdict(
                    &|slot| held_in(&inv, slot),
                    &schedule,
                    tz,
                    now,
                    start,
                    *party,
                    None,
                );
                let already = inv.entries().iter().any(|e| {
                    e.status.is_open() && e.owner.as_ref() == Some(&owner) && e.slot_start == start
                });
                let got = waitlist::join(&mut inv, &ctx, request, format!("w{next_id}"));
                match (room, got) {
                    (Ok(_), got) => prop_assert_eq!(got, Err(BookingError::SlotAvailable)),
                    (Err(BookingError::SlotFull { .. }), Ok(view)) => {
                        prop_assert!(!already);
                        prop_assert_eq!(view.entry.status, EntryStatus::Waiting);
                    }
                    (Err(BookingError::SlotFull { .. }), Err(e)) => {
                        prop_assert!(already, "{:?}", e);
                        prop_assert_eq!(e, BookingError::AlreadyWaiting);
                    }
                    (Err(e), got) => prop_assert_eq!(got.map(|_| ()), Err(e)),
                }
            }
            Op::Accept(i) => {
                // Mostly an entry with an offer.
                let all = inv.entries().to_vec();
                let offered: Vec<_> = all
                    .iter()
                    .filter(|e| e.status == EntryStatus::Offered)
                    .cloned()
                    .collect();
                let entries = if offered.is_empty() { all } else { offered };
                if entries.is_empty() {
                    continue;
                }
                let e = entries[i.index(entries.len())].clone();
                let Some(owner) = e.owner.clone() else {
                    continue;
                };
                next_id += 1;
                let id = format!("b{next_id}");
                let running =
                    e.status == EntryStatus::Offered && e.offer_expires_at.is_some_and(|t| now < t);
                let got = waitlist::accept(&mut inv, &ctx, &e.id, &owner, id.clone(), &mut rng);
                match got {
                    Ok((entry, b)) => {
                        prop_assert!(running, "accepted {:?}", e);
                        prop_assert_eq!(entry.status, EntryStatus::Accepted);
                        prop_assert_eq!(b.slot(), e.slot());
                        prop_assert_eq!(b.party_size, e.party_size);
                        prop_assert_eq!(b.owner.as_ref(), Some(&owner));
                        prop_assert_eq!(&b.id, &id);
                        model.bookings.insert(b.id.clone(), b);
                    }
                    Err(BookingError::BookingLimit { .. }) => {
                        prop_assert!(model.active(&owner, now) >= MAX_ACTIVE)
                    }
                    Err(BookingError::SlotFull { .. }) => {
                        // Only after a capacity cut can a hold no longer fit.
                        prop_assert!(!capacity_never_dropped)
                    }
                    Err(other) => prop_assert!(!running, "{:?} for {:?}", other, e),
                }
            }
            Op::Leave(i) => {
                let entries = inv.entries().to_vec();
                if entries.is_empty() {
                    continue;
                }
                let e = &entries[i.index(entries.len())];
                let got = waitlist::leave(&mut inv, &ctx, &e.id, e.owner.as_ref());
                let left = got.map(|l| l.status);
                if e.status.is_open() {
                    prop_assert_eq!(left, Ok(EntryStatus::Left));
                } else {
                    prop_assert_eq!(left, Ok(e.status));
                }
            }
            Op::RunDue => {
                let done = waitlist::run_due(&mut inv, &ctx)
                    .map_err(|e| TestCaseError::fail(format!("due work failed: {e:?}")))?;
                for e in &done.expired {
                    prop_assert!(e.offer_expires_at.is_some_and(|t| t <= now));
                }
                let after = schedule.release_after();
                for b in done.released {
                    let was = model.bookings.get(&b.id).cloned();
                    prop_assert!(was
                        .as_ref()
                        .is_some_and(|w| w.status == BookingStatus::Confirmed));
                    prop_assert!(after.is_some_and(|a| b.slot_start + a <= now));
                    model.bookings.insert(b.id.clone(), b);
                }
            }
        }
        // An offer always says until when it holds.
        for e in inv.entries() {
            if e.status == EntryStatus::Offered {
                prop_assert!(e.offer_expires_at.is_some(), "{:?}", e);
            }
        }

        // Nothing the model did not expect was stored, lost or altered.
        prop_assert_eq!(&stored(&inv), &model.bookings, "after {:?}", op);
        check_per_instant(
            op,
            &before,
            &holding(&inv),
            schedule.capacity(),
            capacity_never_dropped,
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operations_respect_capacity_and_keep_bookings(
        ops in prop::collection::vec(op_strategy(false), 1..80),
        seed in any::<u64>(),
    ) {
        run(&ops, seed)?;
    }

    #[test]
    fn random_operations_with_changing_capacity(
        ops in prop::collection::vec(op_strategy(true), 1..80),
        seed in any::<u64>(),
    ) {
        run(&ops, seed)?;
    }
}

fn zones() -> [Tz; 5] {
    [
        berlin(),
        crate::zone::tzdb::zone("America/New_York"),
        crate::zone::tzdb::zone("Australia/Lord_Howe"),
        crate::zone::tzdb::zone("Asia/Kolkata"),
        Tz::UTC,
    ]
}

/// Local dates of `year` on which `tz` changes its UTC offset (compared at local noon of
/// consecutive days; transitions happen at night, so this is the day of the change).
fn transition_dates(tz: Tz, year: i32) -> Vec<NaiveDate> {
    let offset_at = |d: NaiveDate| {
        local_to_utc(tz, d.and_hms_opt(12, 0, 0).unwrap())
            .map(|t| (d.and_hms_opt(12, 0, 0).unwrap().and_utc() - t).num_minutes())
    };
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let mut prev = offset_at(d);
    while d.year() == year {
        let next = d.succ_opt().unwrap();
        let cur = offset_at(next);
        if cur != prev {
            out.push(next);
        }
        prev = cur;
        d = next;
    }
    out
}

fn every_day(intervals: &[(u32, u32)]) -> Vec<serde_json::Value> {
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    DAYS.iter()
        .flat_map(|d| {
            intervals
                .iter()
                .map(move |(o, c)| json!({"day": d, "open": hm(*o), "close": hm(*c)}))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn slot_expansion_round_trips(
        zone in 0usize..zones().len(),
        year in 2000i32..2040,
        day_of_year in 0u32..365,
        on_transition in any::<bool>(),
        transition in any::<Index>(),
        slot in prop::sample::select(vec![5u32, 10, 15, 20, 30, 45, 60, 90, 120, 240]),
        open_quarter in 0u32..96,
        first_len in 1u32..50,
        gap_quarters in 0u32..16,
        second_len in 0u32..50,
    ) {
        let tz = zones()[zone];
        let transitions = transition_dates(tz, year);
        let day = if on_transition && !transitions.is_empty() {
            transitions[transition.index(transitions.len())]
        } else {
            NaiveDate::from_yo_opt(year, day_of_year + 1).unwrap()
        };
        // First interval: `first_len` slots from a quarter hour, clipped to the day.
        let open = open_quarter * 15;
        let n1 = first_len.min((1440 - open) / slot);
        prop_assume!(n1 > 0);
        let close = open + n1 * slot;
        let mut intervals = vec![(open, close)];
        // Optional second interval after a gap (touching is allowed).
        let open2 = close + gap_quarters * 15;
        if open2 < 1440 {
            let n2 = second_len.min((1440 - open2) / slot);
            if n2 > 0 {
                intervals.push((open2, open2 + n2 * slot));
            }
        }
        let schedule = Schedule::from_json(&json!({
            "slot_minutes": slot, "capacity": 1, "horizon_days": 1,
            "max_active_bookings_per_user": 1, "weekly": every_day(&intervals),
        }))
        .unwrap();

        let slots = slots_between(
            &schedule,
            tz,
            day.pred_opt().unwrap(),
            day.succ_opt().unwrap(),
        );
        let today = day_slots(&schedule, tz, day);
        prop_assert!(today.iter().all(|s| slots.contains(s)));
        for s in &slots {
            prop_assert_eq!(s.duration(), TimeDelta::minutes(i64::from(slot)));
            // The local label parses back to the same instant (offset included).
            let label = local_rfc3339(s.start, tz);
            let back = DateTime::parse_from_rfc3339(&label).unwrap().with_timezone(&Utc);
            prop_assert_eq!(back, s.start, "{}", label);
            prop_assert_eq!(slot_at(&schedule, tz, s.start), Some(*s));
            prop_assert_eq!(current_slot(&schedule, tz, s.start), Some(*s));
            // One minute in is no slot start (slots are at least 5 minutes long).
            prop_assert_eq!(slot_at(&schedule, tz, s.start + TimeDelta::minutes(1)), None);
        }
        for w in slots.windows(2) {
            prop_assert!(w[0].start < w[1].start, "not increasing: {:?}", w);
            prop_assert!(w[0].end <= w[1].start, "overlap: {:?}", w);
        }
        // Where the day has 24 real hours, the count is the wall-clock count.
        let (day_start, day_end) = local_day_bounds(tz, day).unwrap();
        if day_end - day_start == TimeDelta::hours(24)
            && !transitions.iter().any(|t| (*t - day).num_days().abs() <= 1)
        {
            let expected: u32 = intervals.iter().map(|(o, c)| (c - o) / slot).sum();
            prop_assert_eq!(today.len(), expected as usize);
        }
        // Every slot of the day lies within the day.
        for s in &today {
            prop_assert!(day_start <= s.start && s.end <= day_end, "{:?} outside {}", s, day);
        }
    }
}

#[test]
fn transition_dates_are_found() {
    assert_eq!(
        transition_dates(berlin(), 2027),
        [date("2027-03-28"), date("2027-10-31")]
    );
    assert!(transition_dates(crate::zone::tzdb::zone("Asia/Kolkata"), 2027).is_empty());
    assert_eq!(
        transition_dates(crate::zone::tzdb::zone("Australia/Lord_Howe"), 2026).len(),
        2
    );
}
