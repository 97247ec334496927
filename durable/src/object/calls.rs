//! One handler per protocol call: decode -> engine -> encode. Each runs synchronously inside
//! one SQLite transaction ([`StoreObject::atomically`]), so its decision and its writes cannot
//! interleave with another request's and commit or roll back together.

use std::rc::Rc;

use chrono::{DateTime, NaiveDate, Utc};
use safemarket_engine::history::ArchivedBooking;
use safemarket_engine::protocol::EXPORT_PAGE_MAX;
use safemarket_engine::protocol::{
    AcceptOffer, Book, Booked, Cancel, CancelByCode, CancelByNumber, CheckIn, CloseStore, Closed,
    DayBookings, EraseUser, ExportPage, GetBooking, GetBookingByCode, GetEntry, GetOccupancy,
    GetSchedule, JoinWaitlist, LeaveWaitlist, ListSlots, NoShow, NumberedBooking, OwnerBookings,
    Ping, Pong, PutSchedule, RecordZone, RenderSlots, RenderedListing, Reschedule, ScheduleChanged,
    SlotView, StoreCall, StoreError, StoreRequest, WireReply, ZoneRecorded,
};
use safemarket_engine::waitlist;
use safemarket_engine::zone::Tz;
use safemarket_engine::{
    self as engine, BookRequest, Booking, BookingError, EntryView, Erased, FieldError, JoinRequest,
    Occupancy, OverlapSweep, Owner, Schedule, Slot, SlotCounts, StoreContext, WaitEntry,
};

use super::random::OsRandom;
use super::sqlite::SqlInventory;
use super::{internal, StoreObject};

/// What every handler is given: the object, the store it serves, the store's zone and the
/// instant of the decision (read once, so a call sees one `now`).
pub(super) struct Here<'a> {
    obj: &'a StoreObject,
    store_id: &'a str,
    tz: Tz,
    now: DateTime<Utc>,
}

impl<'a> Here<'a> {
    /// The store `store_id` served by `obj`, in zone `tz`, at `now`.
    pub(super) fn new(obj: &'a StoreObject, store_id: &'a str, tz: Tz, now: DateTime<Utc>) -> Self {
        Here {
            obj,
            store_id,
            tz,
            now,
        }
    }

    fn inventory(&self) -> SqlInventory<'a> {
        self.obj.inventory(self.store_id)
    }

    /// The store-local date of `now`.
    pub(super) fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }

    /// The store's zone.
    pub(super) fn tz(&self) -> Tz {
        self.tz
    }

    /// The instant of the decision.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The object serving the store.
    pub(super) fn object(&self) -> &'a StoreObject {
        self.obj
    }

    /// The store's schedule, if it has one.
    pub(super) fn schedule(&self) -> Result<Option<Rc<Schedule>>, StoreError> {
        self.obj.schedule()
    }

    /// The slot items of `slots` (sorted by start) of `schedule`, counted by overlap, as
    /// listings show them: the one place a [`SlotView`] is built, for `ListSlots` and the live
    /// feed alike (the client's JSON listing, `RenderSlots`, writes the same fields).
    pub(super) fn slot_items(
        &self,
        schedule: &Schedule,
        slots: &[Slot],
    ) -> Result<Vec<SlotView>, StoreError> {
        let mut counts = self.counted(slots)?;
        Ok(slots
            .iter()
            .map(|slot| SlotView::new(*slot, schedule.capacity(), counts(slot), self.tz))
            .collect())
    }

    /// The occupancy of the slot in progress.
    pub(super) fn occupancy(&self) -> Result<Occupancy, StoreError> {
        let schedule = self.obj.schedule()?;
        let inv = self.inventory();
        engine::occupancy(schedule.as_deref(), self.tz, self.now, |slot| {
            inv.occupancy_counts(slot)
        })
        .map_err(internal)
    }

    /// Runs `decide` with the store as the engine sees it (schedule, zone, now, closed).
    fn with_context<T>(
        &self,
        decide: impl FnOnce(&StoreContext<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let schedule = self.obj.schedule()?;
        let ctx = StoreContext {
            schedule: schedule.as_deref(),
            tz: self.tz,
            now: self.now,
            store_closed: self.obj.is_closed()?,
        };
        decide(&ctx)
    }

    /// The slot items of `slots` (sorted by start) with booked, held and waiting people by
    /// overlap, each from one query over the range they span.
    fn counted(
        &self,
        slots: &[Slot],
    ) -> Result<impl FnMut(&Slot) -> SlotCounts + use<>, StoreError> {
        let span = slots
            .first()
            .map(|first| first.start)
            .zip(slots.iter().map(|s| s.end).max());
        let inv = self.inventory();
        let (booked, held, waiting) = match span {
            Some((from, to)) => (
                inv.held_between(from, to).map_err(internal)?,
                inv.offered_between(from, to).map_err(internal)?,
                inv.waiting_between(from, to).map_err(internal)?,
            ),
            None => Default::default(),
        };
        let (mut booked, mut held, mut waiting) = (
            OverlapSweep::new(booked),
            OverlapSweep::new(held),
            OverlapSweep::new(waiting),
        );
        Ok(move |slot: &Slot| SlotCounts {
            booked: booked.booked(slot),
            held: held.booked(slot),
            waiting: waiting.booked(slot),
        })
    }
}

/// A call the object serves.
pub(super) trait Handle: StoreCall {
    /// Decides and writes; runs inside the call's transaction.
    fn handle(self, here: &Here<'_>) -> Result<Self::Reply, StoreError>;
}

/// A call's encoded reply, and whether the caller wants the D1 index updated before it is
/// answered ([`StoreRequest::index_now`]).
pub(super) struct Served {
    pub(super) body: Vec<u8>,
    pub(super) index_now: bool,
}

/// Decodes, runs and encodes one call of type `C`.
fn serve<C: Handle>(obj: &StoreObject, body: &[u8]) -> Result<Served, StoreError> {
    let StoreRequest {
        store_id,
        timezone,
        index_now,
        call,
    } = serde_json::from_slice::<StoreRequest<C>>(body)
        .map_err(|e| StoreError::BadCall(format!("cannot decode {}: {e}", C::NAME)))?;
    // Recording schema, store id and zone is a transaction of its own: what D1 says about the
    // store stays recorded even when the call then fails and rolls back.
    let tz = obj.atomically(|| obj.prepare(store_id.as_str(), timezone.as_deref()))?;
    let here = Here::new(obj, store_id.as_str(), tz, Utc::now());
    let reply = obj.atomically(|| call.handle(&here))?;
    Ok(Served {
        body: reply.to_body().map_err(internal)?,
        index_now,
    })
}

/// How a call is served, by its name on the wire.
pub(super) type Server = fn(&StoreObject, &[u8]) -> Result<Served, StoreError>;

macro_rules! routes {
    ($($call:ty),* $(,)?) => {
        /// The server of the call named `name`, `None` for a name no call has.
        pub(super) fn route(name: &str) -> Option<Server> {
            match name {
                $(<$call as StoreCall>::NAME => Some(serve::<$call>),)*
                _ => None,
            }
        }
    };
}

routes!(
    Ping,
    RecordZone,
    CloseStore,
    PutSchedule,
    GetSchedule,
    ListSlots,
    RenderSlots,
    Book,
    GetBooking,
    GetBookingByCode,
    Cancel,
    CancelByNumber,
    CancelByCode,
    Reschedule,
    DayBookings,
    OwnerBookings,
    CheckIn,
    NoShow,
    GetOccupancy,
    JoinWaitlist,
    GetEntry,
    AcceptOffer,
    LeaveWaitlist,
    EraseUser,
    ExportPage,
);

impl Handle for Ping {
    fn handle(self, here: &Here<'_>) -> Result<Pong, StoreError> {
        here.obj.set_meta("last_ping", &self.nonce)?;
        let nonce = here.obj.meta("last_ping")?.unwrap_or_default();
        Ok(Pong { nonce })
    }
}

impl Handle for RecordZone {
    fn handle(self, here: &Here<'_>) -> Result<ZoneRecorded, StoreError> {
        // `serve` recorded the zone of the envelope before this runs.
        Ok(ZoneRecorded {
            timezone: here.tz.name().to_owned(),
        })
    }
}

impl Handle for CloseStore {
    fn handle(self, here: &Here<'_>) -> Result<Closed, StoreError> {
        here.obj.mark_closed()?;
        let cancelled = engine::close_store(&mut here.inventory(), here.now)?;
        Ok(Closed { cancelled })
    }
}

impl Handle for PutSchedule {
    fn handle(self, here: &Here<'_>) -> Result<ScheduleChanged, StoreError> {
        let mut inv = here.inventory();
        let active = inv.active(here.now).map_err(internal)?;
        let affected_bookings =
            engine::affected_by_schedule(&active, &self.schedule, here.tz, here.now);
        here.obj.store_schedule(&self.schedule)?;
        // More capacity (or a longer offer time) may let the waiting list in.
        here.with_context(|ctx| Ok(waitlist::offer_freed(&mut inv, ctx, None)?))?;
        Ok(ScheduleChanged {
            schedule: self.schedule,
            affected_bookings,
        })
    }
}

impl Handle for GetSchedule {
    fn handle(self, here: &Here<'_>) -> Result<Option<Schedule>, StoreError> {
        Ok(here.obj.schedule()?.map(|s| s.as_ref().clone()))
    }
}

impl Handle for ListSlots {
    fn handle(self, here: &Here<'_>) -> Result<Vec<SlotView>, StoreError> {
        let Some(schedule) = here.obj.schedule()? else {
            return Ok(Vec::new());
        };
        let slots = engine::slots_between(&schedule, here.tz, self.from, self.to);
        here.slot_items(&schedule, &slots)
    }
}

impl Handle for RenderSlots {
    fn handle(self, here: &Here<'_>) -> Result<RenderedListing, StoreError> {
        let obj = here.obj;
        let version = obj.writes.version();
        let etag = engine::listing_etag(obj.instance, version, self.from, self.to);
        if self
            .if_none_match
            .as_deref()
            .is_some_and(|header| engine::none_match_names(header, &etag))
        {
            return Ok(RenderedListing { etag, body: None });
        }
        if let Some(json) = obj.listings.get(version, self.from, self.to) {
            return Ok(RenderedListing {
                etag,
                body: Some(json.as_ref().clone()),
            });
        }
        let json = match here.obj.schedule()? {
            None => engine::render_slot_listing(&[], 0, here.tz, |_| SlotCounts::default()),
            Some(schedule) => {
                let slots = engine::slots_between(&schedule, here.tz, self.from, self.to);
                let counts = here.counted(&slots)?;
                engine::render_slot_listing(&slots, schedule.capacity(), here.tz, counts)
            }
        };
        obj.listings
            .put(version, self.from, self.to, Rc::new(json.clone()));
        Ok(RenderedListing {
            etag,
            body: Some(json),
        })
    }
}

impl Handle for Book {
    fn handle(self, here: &Here<'_>) -> Result<Booked, StoreError> {
        let mut inv = here.inventory();
        let request = BookRequest {
            owner: self.owner,
            party_size: self.party_size,
            slot_start: self.slot_start,
            guest: self.guest,
            idempotency_key: self.idempotency_key,
        };
        let id = inv.next_booking_id(&mut OsRandom).map_err(internal)?;
        let outcome =
            here.with_context(|ctx| Ok(engine::book(&mut inv, ctx, request, id, &mut OsRandom)?))?;
        let number = inv.number_of(&outcome.booking.id).map_err(internal)?;
        Ok(Booked {
            booking: outcome.booking,
            number,
            replayed: outcome.replayed,
        })
    }
}

impl Handle for GetBooking {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        Ok(engine::owned_by(&here.inventory(), &self.id, None)?)
    }
}

impl Handle for GetBookingByCode {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        Ok(engine::by_code(&here.inventory(), &self.code)?)
    }
}

impl Handle for Cancel {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        let mut inv = here.inventory();
        here.with_context(|ctx| {
            Ok(engine::cancel_for(
                &mut inv,
                ctx,
                &self.id,
                self.owner.as_ref(),
            )?)
        })
    }
}

impl Handle for CancelByNumber {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        let mut inv = here.inventory();
        let found = inv
            .by_number(self.number)
            .map_err(internal)?
            .ok_or(BookingError::NotFound)?;
        here.with_context(|ctx| {
            Ok(engine::cancel_for(
                &mut inv,
                ctx,
                &found.id,
                Some(&self.owner),
            )?)
        })
    }
}

impl Handle for CancelByCode {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        let mut inv = here.inventory();
        here.with_context(|ctx| Ok(engine::cancel_by_code(&mut inv, ctx, &self.code)?))
    }
}

impl Handle for Reschedule {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        let mut inv = here.inventory();
        here.with_context(|ctx| {
            Ok(engine::reschedule_for(
                &mut inv,
                ctx,
                &self.id,
                self.owner.as_ref(),
                self.slot_start,
            )?)
        })
    }
}

impl Handle for DayBookings {
    fn handle(self, here: &Here<'_>) -> Result<Vec<Booking>, StoreError> {
        let (from, to) = engine::local_day_bounds(here.tz, self.date).ok_or_else(|| {
            StoreError::Invalid(vec![FieldError::new("date", "not a date in this zone")])
        })?;
        Ok(here
            .inventory()
            .bookings_between(from, to)
            .map_err(internal)?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }
}

impl Handle for ExportPage {
    fn handle(self, here: &Here<'_>) -> Result<Vec<ArchivedBooking>, StoreError> {
        let after = self.after.as_ref().map(|(start, id)| (*start, id.as_str()));
        let limit = self.limit.clamp(1, EXPORT_PAGE_MAX);
        Ok(here
            .inventory()
            .export_page(self.from, self.to, after, limit)
            .map_err(internal)?
            .iter()
            .map(ArchivedBooking::of)
            .collect())
    }
}

impl Handle for OwnerBookings {
    fn handle(self, here: &Here<'_>) -> Result<Vec<NumberedBooking>, StoreError> {
        Ok(here
            .inventory()
            .owner_bookings_from(&self.owner, self.from)
            .map_err(internal)?
            .into_iter()
            .map(|(number, booking)| NumberedBooking { number, booking })
            .collect())
    }
}

impl Handle for CheckIn {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        Ok(engine::check_in_by_code(
            &mut here.inventory(),
            &self.code,
            here.now,
        )?)
    }
}

impl Handle for NoShow {
    fn handle(self, here: &Here<'_>) -> Result<Booking, StoreError> {
        let mut inv = here.inventory();
        here.with_context(|ctx| Ok(waitlist::no_show_and_offer(&mut inv, ctx, &self.id)?))
    }
}

impl Handle for GetOccupancy {
    fn handle(self, here: &Here<'_>) -> Result<Occupancy, StoreError> {
        here.occupancy()
    }
}

impl Handle for JoinWaitlist {
    fn handle(self, here: &Here<'_>) -> Result<EntryView, StoreError> {
        let mut inv = here.inventory();
        let request = JoinRequest {
            owner: self.owner,
            party_size: self.party_size,
            slot_start: self.slot_start,
        };
        let id = uuid::Uuid::new_v4().to_string();
        here.with_context(|ctx| Ok(waitlist::join(&mut inv, ctx, request, id)?))
    }
}

impl Handle for GetEntry {
    fn handle(self, here: &Here<'_>) -> Result<EntryView, StoreError> {
        Ok(waitlist::entry_view(&here.inventory(), &self.id, None)?)
    }
}

impl Handle for AcceptOffer {
    fn handle(self, here: &Here<'_>) -> Result<Booked, StoreError> {
        let mut inv = here.inventory();
        let id = inv.next_booking_id(&mut OsRandom).map_err(internal)?;
        let (_, booking) = here.with_context(|ctx| {
            Ok(waitlist::accept(
                &mut inv,
                ctx,
                &self.id,
                &self.owner,
                id,
                &mut OsRandom,
            )?)
        })?;
        let number = inv.number_of(&booking.id).map_err(internal)?;
        Ok(Booked {
            booking,
            number,
            replayed: false,
        })
    }
}

impl Handle for LeaveWaitlist {
    fn handle(self, here: &Here<'_>) -> Result<WaitEntry, StoreError> {
        let mut inv = here.inventory();
        here.with_context(|ctx| {
            Ok(waitlist::leave(
                &mut inv,
                ctx,
                &self.id,
                self.owner.as_ref(),
            )?)
        })
    }
}

impl Handle for EraseUser {
    fn handle(self, here: &Here<'_>) -> Result<Erased, StoreError> {
        let owner = Owner::User(self.user);
        let mut inv = here.inventory();
        here.with_context(|ctx| Ok(engine::erase_owner(&mut inv, ctx, &owner)?))
    }
}

/// Runs work outside a Worker call (the alarm): `decide` with the store as the engine sees it
/// now, in a transaction of its own.
pub(super) fn run_here<T>(
    obj: &StoreObject,
    store_id: &str,
    decide: impl FnOnce(&mut SqlInventory<'_>, &StoreContext<'_>) -> Result<T, BookingError>,
) -> Result<T, StoreError> {
    let tz = obj.recorded_timezone()?.unwrap_or(Tz::UTC);
    let here = Here {
        obj,
        store_id,
        tz,
        now: Utc::now(),
    };
    obj.atomically(|| {
        let mut inv = here.inventory();
        here.with_context(|ctx| Ok(decide(&mut inv, ctx)?))
    })
}

/// Erases `owner` from this store outside a Worker call (the index flush found them erased):
/// the same decision as [`EraseUser`].
pub(super) fn erase_here(
    obj: &StoreObject,
    store_id: &str,
    owner: &Owner,
) -> Result<Erased, StoreError> {
    run_here(obj, store_id, |inv, ctx| {
        engine::erase_owner(inv, ctx, owner)
    })
}

#[cfg(test)]
mod tests {
    use super::route;
    use safemarket_engine::protocol::ALL_CALLS;

    #[test]
    fn every_call_of_the_protocol_is_served() {
        for name in ALL_CALLS {
            assert!(route(name).is_some(), "no handler for {name}");
        }
        assert!(route("no_such_call").is_none());
    }
}
