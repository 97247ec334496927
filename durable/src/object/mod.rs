//! The per-store Durable Object: decodes a [`StoreRequest`], runs it against the object's own
//! SQLite database and encodes the [`StoreResult`].
//!
//! Correctness rests on two rules. A decision and the writes it implies run with no `await`
//! between them, so no other request of this store can interleave (see DESIGN.md): every
//! command is executed by the synchronous [`StoreObject::execute`]; the only awaits are decoding
//! the request before it and scheduling the index alarm after it. And a command's writes commit
//! or roll back together: [`StoreObject::atomically`] runs each command inside one SQLite
//! transaction (`ctx.storage.transactionSync`), and any `Err` it returns rolls back every write
//! it made, so a booking whose idempotency record or outbox entry could not be written is not
//! left behind.

mod random;
mod schema;
mod sqlite;
mod sync;

pub use sqlite::IndexEntry;
pub use sync::upsert_index;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{
    durable_object, js_sys, wasm_bindgen, DurableObject, Env, Headers, Request, Response,
    SqlStorage, State,
};

use random::OsRandom;
use safemarket_engine::protocol::{
    SlotView, StoreCommand, StoreError, StoreReply, StoreRequest, StoreResult, RENDERED_HEADER,
};
use safemarket_engine::{
    self as engine, affected_by_schedule, slots_between, BookRequest, Booking, BookingError,
    FieldError, Guest, IdempotencyKey, OverlapSweep, Schedule, StoreContext,
};
use sqlite::SqlInventory;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The runtime's `ctx.storage`, seen through the one method workers-rs 0.8 does not wrap.
    #[wasm_bindgen(extends = js_sys::Object)]
    type TransactionalStorage;

    /// `storage.transactionSync(callback)`: runs `callback` synchronously inside one SQLite
    /// transaction, commits it when the callback returns and rolls it back when it throws (the
    /// exception is then rethrown). A `Result::Err` returned by a Rust callback is thrown.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &TransactionalStorage,
        callback: &mut dyn FnMut() -> Result<JsValue, JsValue>,
    ) -> Result<JsValue, JsValue>;
}

/// What the object remembers of its own `meta` rows; restored when a transaction that may
/// have changed them rolls back, so memory never describes writes that did not happen.
struct Remembered {
    schema_ready: bool,
    schedule: Option<Option<Rc<Schedule>>>,
    closed: Option<bool>,
    timezone: Option<Option<Tz>>,
    store_id: Option<String>,
}

/// One instance per store, addressed by the store id (`id_from_name(store_id)`).
#[durable_object]
pub struct StoreObject {
    state: State,
    env: Env,
    sql: SqlStorage,
    /// `ctx.storage` for `transactionSync` (`None` only if the runtime gave no storage, in
    /// which case every command fails rather than running without a transaction).
    tx_storage: Option<TransactionalStorage>,
    schema_ready: Cell<bool>,
    /// The parsed schedule, read from `meta` once and replaced on `PutSchedule`.
    schedule: RefCell<Option<Option<Rc<Schedule>>>>,
    /// When the pending alarm fires (ms since the epoch), if known; avoids a storage call per
    /// booking while still pulling a far archival alarm forward when the outbox has work.
    alarm_at: Cell<Option<i64>>,
    /// Whether this instance has looked for an outbox left by an earlier one.
    outbox_checked: Cell<bool>,
    /// Consecutive failed index flushes (for backoff).
    flush_failures: Cell<u32>,
    /// Whether the store was closed (read from `meta` once, then kept in step).
    closed: Cell<Option<bool>>,
    /// The store's zone as recorded in `meta`, once read (`Some(None)`: none recorded).
    timezone: Cell<Option<Option<Tz>>>,
    /// The store id as recorded in `meta` (the alarm needs it for D1 rows).
    store_id: RefCell<Option<String>>,
}

impl DurableObject for StoreObject {
    fn new(state: State, env: Env) -> Self {
        // workers-rs keeps the JS state object private; `_inner` (public for its own macro) and
        // `From` hand it out and take it back, which is the only way to reach
        // `storage.transactionSync` without changing the crate.
        let raw = state._inner();
        let tx_storage = raw
            .storage()
            .ok()
            .map(|storage| storage.unchecked_into::<TransactionalStorage>());
        let state = State::from(raw);
        let sql = state.storage().sql();
        Self {
            state,
            env,
            sql,
            tx_storage,
            schema_ready: Cell::new(false),
            schedule: RefCell::new(None),
            alarm_at: Cell::new(None),
            outbox_checked: Cell::new(false),
            flush_failures: Cell::new(0),
            store_id: RefCell::new(None),
            closed: Cell::new(None),
            timezone: Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let request = match req.json::<StoreRequest>().await {
            Ok(request) => request,
            Err(e) => {
                let refused: StoreResult = Err(StoreError::BadCommand(format!(
                    "cannot decode command: {e}"
                )));
                return Response::from_json(&refused);
            }
        };
        let writes = request.command.writes_bookings();
        let answer = self.execute(request);
        // A command that changed bookings appended to the outbox in the same step; a pending
        // alarm (known from memory, so usually no storage call) flushes it to D1. Alarms
        // persist, so an outbox left by an earlier instance has one already; the first request
        // of each instance still looks, in case that alarm was never set.
        let wrote = writes && matches!(answer, Answer::Reply(Ok(_)));
        let first = !self.outbox_checked.replace(true);
        if wrote || (first && self.outbox_pending()) {
            self.ensure_alarm(Duration::from_millis(sync::FLUSH_DELAY_MS))
                .await;
        }
        match answer {
            Answer::Reply(result) => Response::from_json(&result),
            Answer::Rendered(body) => {
                let headers = Headers::new();
                headers.set("content-type", "application/json")?;
                headers.set(RENDERED_HEADER, "1")?;
                // Bytes, not a string: a JS string would be transcoded to UTF-16 and back.
                Ok(Response::from_bytes(body)?.with_headers(headers))
            }
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_at.set(None);
        let next = sync::run(self).await;
        if let Some(delay) = next {
            self.ensure_alarm(delay).await;
        }
        Response::ok("done")
    }
}

/// What a command answers: a typed result, or the client's JSON rendered by the object.
// One short-lived value per request: boxing the common variant would cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Answer {
    Reply(StoreResult),
    Rendered(Vec<u8>),
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn booking_error(e: BookingError) -> StoreError {
    StoreError::Booking(e)
}

#[derive(Deserialize)]
struct MetaRow {
    value: String,
}

impl StoreObject {
    /// Runs one command synchronously: no `await` from first read to last write, and every
    /// typed command inside one transaction (the rendered listing only reads).
    fn execute(&self, request: StoreRequest) -> Answer {
        // Recording schema, store id and zone is a transaction of its own: what D1 says about
        // the store stays recorded even when the command then fails and rolls back.
        let tz = match self
            .atomically(|| self.prepare(&request.store_id, request.timezone.as_deref()))
        {
            Ok(tz) => tz,
            Err(e) => return Answer::Reply(Err(e)),
        };
        match request.command {
            StoreCommand::RenderSlots { from, to } => {
                match self.render_slots(&request.store_id, tz, from, to) {
                    Ok(body) => Answer::Rendered(body),
                    Err(e) => Answer::Reply(Err(e)),
                }
            }
            command => Answer::Reply(self.atomically(|| self.run(&request.store_id, tz, command))),
        }
    }

    /// Runs `command` inside one SQLite transaction (`transactionSync`): its writes are
    /// committed together when it returns `Ok`, and all rolled back when it returns `Err`
    /// (the callback then throws) or the commit itself fails. This is the object's only
    /// transaction boundary; engine operations rely on it (see [`engine::Inventory`]).
    fn atomically<T>(
        &self,
        command: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(storage) = &self.tx_storage else {
            return Err(internal("no transactional storage in this object"));
        };
        let remembered = self.remembered();
        let mut command = Some(command);
        let mut outcome: Option<Result<T, StoreError>> = None;
        let committed = storage.transaction_sync(&mut || {
            let Some(command) = command.take() else {
                return Err(JsValue::from_str("transaction callback called twice"));
            };
            let result = command();
            let failed = result.is_err();
            outcome = Some(result);
            if failed {
                // Thrown to make the runtime roll back; the error itself is in `outcome`.
                Err(JsValue::from_str("rolled back"))
            } else {
                Ok(JsValue::UNDEFINED)
            }
        });
        match (committed, outcome) {
            (Ok(_), Some(result)) => result,
            (Ok(_), None) => Err(internal("transaction callback never ran")),
            (Err(thrown), outcome) => {
                self.restore(remembered);
                match outcome {
                    Some(Err(e)) => Err(e),
                    // The command succeeded but the commit did not (or the callback never ran).
                    _ => Err(internal(format!("transaction failed: {thrown:?}"))),
                }
            }
        }
    }

    fn remembered(&self) -> Remembered {
        Remembered {
            schema_ready: self.schema_ready.get(),
            schedule: self.schedule.borrow().clone(),
            closed: self.closed.get(),
            timezone: self.timezone.get(),
            store_id: self.store_id.borrow().clone(),
        }
    }

    fn restore(&self, r: Remembered) {
        self.schema_ready.set(r.schema_ready);
        *self.schedule.borrow_mut() = r.schedule;
        self.closed.set(r.closed);
        self.timezone.set(r.timezone);
        *self.store_id.borrow_mut() = r.store_id;
    }

    /// A command with a typed reply.
    fn run(&self, store_id: &str, tz: Tz, command: StoreCommand) -> StoreResult {
        let now = Utc::now();
        match command {
            StoreCommand::Ping { nonce } => self.ping(nonce),
            StoreCommand::CloseStore => self.close_store(store_id, now),
            StoreCommand::PutSchedule { schedule } => {
                self.put_schedule(store_id, schedule, tz, now)
            }
            StoreCommand::GetSchedule => Ok(StoreReply::Schedule {
                schedule: self.schedule()?.map(|s| s.as_ref().clone()),
                affected_bookings: Vec::new(),
            }),
            StoreCommand::ListSlots { from, to } | StoreCommand::RenderSlots { from, to } => {
                self.list_slots(store_id, tz, from, to)
            }
            StoreCommand::Book {
                owner,
                party_size,
                slot_start,
                guest,
                idempotency_key,
            } => self.book(
                store_id,
                tz,
                now,
                owner,
                party_size,
                slot_start,
                guest,
                idempotency_key,
            ),
            StoreCommand::GetBooking { id } => {
                let booking = self.load(store_id, &id)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::GetBookingByCode { code } => {
                let booking = self.load_by_code(store_id, &code)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::Cancel { id, owner } => {
                let mut inv = SqlInventory::new(&self.sql, store_id);
                self.require_owner(&inv, &id, owner.as_deref())?;
                let booking = engine::cancel(&mut inv, &id, now).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::CancelByNumber { number, owner } => {
                let mut inv = SqlInventory::new(&self.sql, store_id);
                let found = inv
                    .by_number(number)
                    .map_err(internal)?
                    .filter(|b| b.owner.as_deref() == Some(owner.as_str()))
                    .ok_or(StoreError::Booking(BookingError::NotFound))?;
                let booking = engine::cancel(&mut inv, &found.id, now).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::CancelByCode { code } => {
                let found = self.load_by_code(store_id, &code)?;
                let mut inv = SqlInventory::new(&self.sql, store_id);
                let booking = engine::cancel(&mut inv, &found.id, now).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::Reschedule {
                id,
                owner,
                slot_start,
            } => {
                let schedule = self.schedule()?;
                let closed = self.is_closed()?;
                let mut inv = SqlInventory::new(&self.sql, store_id);
                self.require_owner(&inv, &id, owner.as_deref())?;
                let ctx = StoreContext {
                    schedule: schedule.as_deref(),
                    tz,
                    now,
                    store_closed: closed,
                };
                let booking =
                    engine::reschedule(&mut inv, &ctx, &id, slot_start).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::DayBookings { date } => {
                let (from, to) = engine::local_day_bounds(tz, date).ok_or_else(|| {
                    StoreError::Invalid(vec![FieldError::new("date", "not a date in this zone")])
                })?;
                let inv = SqlInventory::new(&self.sql, store_id);
                let items = inv
                    .bookings_between(from, to)
                    .map_err(internal)?
                    .into_iter()
                    .map(|(_, b)| b)
                    .collect();
                Ok(StoreReply::Bookings { items })
            }
            StoreCommand::OwnerBookings { owner, from } => {
                let inv = SqlInventory::new(&self.sql, store_id);
                let items = inv.owner_bookings_from(&owner, from).map_err(internal)?;
                Ok(StoreReply::NumberedBookings { items })
            }
            StoreCommand::CheckIn { code } => {
                let mut inv = SqlInventory::new(&self.sql, store_id);
                let booking =
                    engine::check_in_by_code(&mut inv, &code, now).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::NoShow { id } => {
                let mut inv = SqlInventory::new(&self.sql, store_id);
                let booking = engine::mark_no_show(&mut inv, &id, now).map_err(booking_error)?;
                Ok(StoreReply::Booking { booking })
            }
            StoreCommand::Occupancy => {
                let schedule = self.schedule()?;
                let inv = SqlInventory::new(&self.sql, store_id);
                let occupancy = engine::occupancy(schedule.as_deref(), tz, now, |slot| {
                    inv.occupancy_counts(slot)
                })
                .map_err(internal)?;
                Ok(StoreReply::Occupancy { occupancy })
            }
            StoreCommand::EraseUser { user_id } => self.erase_user(store_id, &user_id, now),
        }
    }

    /// Schema, store id and zone before a command. With `timezone`, the zone as D1 has it is
    /// recorded; without, the recorded one is used, and an object that has none (a store it
    /// never served, or no store at all) answers `UnknownStore` without writing anything.
    fn prepare(&self, store_id: &str, timezone: Option<&str>) -> Result<Tz, StoreError> {
        if timezone.is_none() && !self.has_tables()? {
            return Err(StoreError::UnknownStore);
        }
        self.ensure_schema()?;
        self.remember_store_id(store_id)?;
        match timezone {
            Some(name) => {
                let tz: Tz = name.parse().map_err(|_| {
                    StoreError::Invalid(vec![FieldError::new("timezone", "unknown time zone")])
                })?;
                self.remember_timezone(tz)?;
                Ok(tz)
            }
            None => self.recorded_timezone()?.ok_or(StoreError::UnknownStore),
        }
    }

    /// Whether this object's SQLite has its tables (without creating them).
    fn has_tables(&self) -> Result<bool, StoreError> {
        if self.schema_ready.get() {
            return Ok(true);
        }
        #[derive(Deserialize)]
        struct Row {
            n: i64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                None,
            )
            .and_then(|c| c.to_array())
            .map_err(internal)?;
        Ok(rows.first().is_some_and(|r| r.n > 0))
    }

    /// Records the store's zone when it differs from the one recorded.
    fn remember_timezone(&self, tz: Tz) -> Result<(), StoreError> {
        if self.recorded_timezone()? != Some(tz) {
            self.set_meta("timezone", tz.name())?;
            self.timezone.set(Some(Some(tz)));
        }
        Ok(())
    }

    /// The zone recorded last (read from `meta` once, then kept in step).
    fn recorded_timezone(&self) -> Result<Option<Tz>, StoreError> {
        if let Some(known) = self.timezone.get() {
            return Ok(known);
        }
        let tz = self
            .meta("timezone")?
            .and_then(|name| name.parse::<Tz>().ok());
        self.timezone.set(Some(tz));
        Ok(tz)
    }

    fn ensure_schema(&self) -> Result<(), StoreError> {
        if self.schema_ready.get() {
            return Ok(());
        }
        self.sql
            .exec(schema::MIGRATIONS[0], None)
            .map_err(internal)?;
        let current = self
            .meta("schema_version")?
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        for (version, statement) in schema::pending(current) {
            self.sql.exec(statement, None).map_err(internal)?;
            self.set_meta("schema_version", &version.to_string())?;
        }
        self.schema_ready.set(true);
        Ok(())
    }

    /// Records the store id once (and again only if it ever differed).
    fn remember_store_id(&self, store_id: &str) -> Result<(), StoreError> {
        if self.store_id.borrow().as_deref() == Some(store_id) {
            return Ok(());
        }
        if self.meta("store_id")?.as_deref() != Some(store_id) {
            self.set_meta("store_id", store_id)?;
        }
        *self.store_id.borrow_mut() = Some(store_id.to_string());
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let rows: Vec<MetaRow> = self
            .sql
            .exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])
            .and_then(|c| c.to_array())
            .map_err(internal)?;
        Ok(rows.into_iter().next().map(|r| r.value))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.sql
            .exec(
                "INSERT INTO meta(key, value) VALUES (?, ?)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                vec![key.into(), value.into()],
            )
            .map_err(internal)?;
        Ok(())
    }

    /// The store's schedule, shared with the cache (every booking consults it).
    fn schedule(&self) -> Result<Option<Rc<Schedule>>, StoreError> {
        if let Some(cached) = self.schedule.borrow().as_ref() {
            return Ok(cached.clone());
        }
        let parsed = match self.meta("schedule")? {
            Some(json) => Some(Rc::new(
                serde_json::from_str::<Schedule>(&json).map_err(internal)?,
            )),
            None => None,
        };
        *self.schedule.borrow_mut() = Some(parsed.clone());
        Ok(parsed)
    }

    fn is_closed(&self) -> Result<bool, StoreError> {
        if let Some(closed) = self.closed.get() {
            return Ok(closed);
        }
        let closed = self.meta("closed")?.as_deref() == Some("1");
        self.closed.set(Some(closed));
        Ok(closed)
    }

    fn load(&self, store_id: &str, id: &str) -> Result<Booking, StoreError> {
        use engine::Inventory;
        SqlInventory::new(&self.sql, store_id)
            .get(id)
            .map_err(internal)?
            .ok_or(StoreError::Booking(BookingError::NotFound))
    }

    fn load_by_code(&self, store_id: &str, code: &str) -> Result<Booking, StoreError> {
        use engine::Inventory;
        let code =
            engine::parse_code(code).map_err(|_| StoreError::Booking(BookingError::NotFound))?;
        SqlInventory::new(&self.sql, store_id)
            .get_by_code(code.as_str())
            .map_err(internal)?
            .ok_or(StoreError::Booking(BookingError::NotFound))
    }

    /// With `owner`, the booking must belong to it; others' bookings do not exist for them.
    fn require_owner(
        &self,
        inv: &SqlInventory<'_>,
        id: &str,
        owner: Option<&str>,
    ) -> Result<(), StoreError> {
        use engine::Inventory;
        let Some(owner) = owner else { return Ok(()) };
        match inv.get(id).map_err(internal)? {
            Some(b) if b.owner.as_deref() == Some(owner) => Ok(()),
            _ => Err(StoreError::Booking(BookingError::NotFound)),
        }
    }

    fn ping(&self, nonce: String) -> StoreResult {
        self.set_meta("last_ping", &nonce)?;
        let echoed = self.meta("last_ping")?.unwrap_or_default();
        Ok(StoreReply::Pong { nonce: echoed })
    }

    fn close_store(&self, store_id: &str, now: DateTime<Utc>) -> StoreResult {
        self.set_meta("closed", "1")?;
        self.closed.set(Some(true));
        let mut inv = SqlInventory::new(&self.sql, store_id);
        let future = inv.future_confirmed(now, None).map_err(internal)?;
        for b in &future {
            engine::cancel(&mut inv, &b.id, now).map_err(booking_error)?;
        }
        Ok(StoreReply::Closed {
            cancelled: u32::try_from(future.len()).unwrap_or(u32::MAX),
        })
    }

    fn put_schedule(
        &self,
        store_id: &str,
        schedule: Schedule,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> StoreResult {
        let inv = SqlInventory::new(&self.sql, store_id);
        let active = inv.active(now).map_err(internal)?;
        let affected_bookings = affected_by_schedule(&active, &schedule, tz, now);
        let json = serde_json::to_string(&schedule).map_err(internal)?;
        self.set_meta("schedule", &json)?;
        *self.schedule.borrow_mut() = Some(Some(Rc::new(schedule.clone())));
        Ok(StoreReply::Schedule {
            schedule: Some(schedule),
            affected_bookings,
        })
    }

    /// The client's listing JSON (see [`engine::render_slot_listing`]).
    fn render_slots(
        &self,
        store_id: &str,
        tz: Tz,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<u8>, StoreError> {
        let Some(schedule) = self.schedule()? else {
            return Ok(engine::render_slot_listing(&[], 0, tz, |_| 0));
        };
        let slots = slots_between(&schedule, tz, from, to);
        let mut booked = self.overlap_sweep(store_id, &slots)?;
        Ok(engine::render_slot_listing(
            &slots,
            schedule.capacity(),
            tz,
            |slot| booked.booked(slot),
        ))
    }

    /// Counts people per slot of `slots` (in order) by overlap, from one query over the
    /// bookings around their span.
    fn overlap_sweep(
        &self,
        store_id: &str,
        slots: &[engine::Slot],
    ) -> Result<OverlapSweep, StoreError> {
        let span = slots
            .first()
            .map(|first| first.start)
            .zip(slots.iter().map(|s| s.end).max());
        let Some((from, to)) = span else {
            return Ok(OverlapSweep::new(Vec::new()));
        };
        let held = SqlInventory::new(&self.sql, store_id)
            .held_between(from, to)
            .map_err(internal)?;
        Ok(OverlapSweep::new(held))
    }

    fn list_slots(
        &self,
        store_id: &str,
        tz: Tz,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult {
        let Some(schedule) = self.schedule()? else {
            return Ok(StoreReply::Slots { items: Vec::new() });
        };
        let slots = slots_between(&schedule, tz, from, to);
        let mut sweep = self.overlap_sweep(store_id, &slots)?;
        let capacity = schedule.capacity();
        let items = slots
            .into_iter()
            .map(|slot| {
                let booked = sweep.booked(&slot);
                SlotView {
                    start: slot.start,
                    end: slot.end,
                    local_start: engine::local_rfc3339(slot.start, tz),
                    capacity,
                    booked,
                    available: capacity.saturating_sub(booked),
                }
            })
            .collect();
        Ok(StoreReply::Slots { items })
    }

    #[allow(clippy::too_many_arguments)]
    fn book(
        &self,
        store_id: &str,
        tz: Tz,
        now: DateTime<Utc>,
        owner: String,
        party_size: u32,
        slot_start: DateTime<Utc>,
        guest: Option<Guest>,
        idempotency_key: Option<String>,
    ) -> StoreResult {
        let idempotency_key = idempotency_key
            .map(|k| IdempotencyKey::parse(&k))
            .transpose()
            .map_err(|e| {
                StoreError::Invalid(vec![FieldError::new("Idempotency-Key", e.to_string())])
            })?;
        let schedule = self.schedule()?;
        let closed = self.is_closed()?;
        let mut inv = SqlInventory::new(&self.sql, store_id);
        let ctx = StoreContext {
            schedule: schedule.as_deref(),
            tz,
            now,
            store_closed: closed,
        };
        let request = BookRequest {
            owner,
            party_size,
            slot_start,
            guest,
            idempotency_key,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let outcome =
            engine::book(&mut inv, &ctx, request, id, &mut OsRandom).map_err(booking_error)?;
        let number = inv.number_of(&outcome.booking.id).map_err(internal)?;
        Ok(StoreReply::Booked {
            booking: outcome.booking,
            number,
            replayed: outcome.replayed,
        })
    }

    fn erase_user(&self, store_id: &str, user_id: &str, now: DateTime<Utc>) -> StoreResult {
        use engine::Inventory;
        let mut inv = SqlInventory::new(&self.sql, store_id);
        let mut cancelled = 0u32;
        let mut anonymised = 0u32;
        for mut b in inv.bookings_of(user_id).map_err(internal)? {
            if b.status == engine::BookingStatus::Confirmed && b.slot_start >= now {
                b = engine::cancel(&mut inv, &b.id, now).map_err(booking_error)?;
                cancelled += 1;
            } else {
                anonymised += 1;
            }
            b.owner = None;
            b.updated_at = now;
            inv.update(&b).map_err(internal)?;
        }
        self.sql
            .exec(
                "DELETE FROM idempotency WHERE owner = ?",
                vec![user_id.into()],
            )
            .map_err(internal)?;
        Ok(StoreReply::Erased {
            cancelled,
            anonymised,
        })
    }

    /// Erases a user found erased by the index flush (their erasure did not know of this
    /// store yet): the same as [`StoreCommand::EraseUser`].
    fn erase_user_here(&self, user_id: &str) -> Result<(), String> {
        let store_id = self
            .meta("store_id")
            .map_err(|e| format!("{e:?}"))?
            .unwrap_or_default();
        self.atomically(|| self.erase_user(&store_id, user_id, Utc::now()))
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    fn outbox_pending(&self) -> bool {
        if !self.schema_ready.get() {
            return false;
        }
        #[derive(Deserialize)]
        struct Row {
            n: i64,
        }
        self.sql
            .exec(
                "SELECT count(*) AS n FROM (SELECT 1 FROM outbox LIMIT 1)",
                None,
            )
            .and_then(|c| c.to_array::<Row>())
            .map(|rows| rows.first().is_some_and(|r| r.n > 0))
            .unwrap_or(false)
    }

    /// Makes sure an alarm fires within `delay` (keeps an earlier one, replaces a later one).
    async fn ensure_alarm(&self, delay: Duration) {
        let due = Utc::now().timestamp_millis()
            + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        let storage = self.state.storage();
        let known = match self.alarm_at.get() {
            Some(at) => Some(at),
            None => storage.get_alarm().await.ok().flatten(),
        };
        if known.is_some_and(|at| at <= due) {
            self.alarm_at.set(known);
            return;
        }
        match storage.set_alarm(delay).await {
            Ok(()) => self.alarm_at.set(Some(due)),
            Err(e) => worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "cannot set alarm", "cause": e.to_string()})
            ),
        }
    }
}
