//! The per-store Durable Object: decodes a call of the typed protocol
//! (`safemarket_engine::protocol`), runs the engine's decision against the object's own SQLite
//! database and encodes the reply. The handlers, one per call, are in [`calls`]; this module
//! holds the object's storage (schema, `meta`, caches), its one transaction boundary and the
//! alarm; [`live`] its WebSockets (the live feed), told of each call's changes after it
//! committed.
//!
//! Correctness rests on two rules. A decision and the writes it implies run with no `await`
//! between them, so no other request of this store can interleave (see DESIGN.md): a call is
//! decoded, decided and written synchronously; the only awaits are reading the request before
//! it and scheduling the index alarm after it. And a call's writes commit or roll back
//! together: [`StoreObject::atomically`] runs each call inside one SQLite transaction
//! (`ctx.storage.transactionSync`), and any `Err` it returns rolls back every write it made, so
//! a booking whose idempotency record or outbox entry could not be written is not left behind.

mod calls;
mod listing_cache;
pub mod live;
mod random;
mod schema;
mod sqlite;
mod sync;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use safemarket_engine::derived_codes::CodeKey;
use safemarket_engine::zone::Tz;
use serde::Deserialize;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::{DurableObjectState, WebSocketRequestResponsePair};
use worker::{
    durable_object, js_sys, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
    WebSocket, WebSocketIncomingMessage,
};

use crate::meter::{self, Meter};
use listing_cache::ListingCache;
use live::Touched;
use safemarket_engine::protocol::{call_name, StoreError, ERROR_STATUS};
use safemarket_engine::{FieldError, Schedule};
use sqlite::{SqlInventory, Writes};

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
    touched: Touched,
    code_key: Option<CodeKey>,
}

/// One instance per store, addressed by the store id (`id_from_name(store_id)`).
#[durable_object]
pub struct StoreObject {
    state: State,
    /// The runtime's state object itself, for the WebSocket calls workers-rs wraps with an
    /// `unwrap` (a refusal must answer the request, not panic the object).
    sockets_state: DurableObjectState,
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
    /// Set by the inventory when a call gave the index flush work (an outbox row, a new
    /// booking) or changed the waiting list (taken after each call): the call then arms the
    /// alarm.
    outbox_appended: Cell<bool>,
    /// Consecutive failed index flushes (for backoff).
    flush_failures: Cell<u32>,
    /// The calls' writes: rows written since the last index flush (which logs them, see
    /// [`sync`]) and the data version the listing cache is keyed by.
    writes: Writes,
    /// Rendered listings of the current data version.
    listings: ListingCache,
    /// Random per instance: the prefix of its listings' entity tags.
    instance: u64,
    /// Whether the store was closed (read from `meta` once, then kept in step).
    closed: Cell<Option<bool>>,
    /// The store's zone as recorded in `meta`, once read (`Some(None)`: none recorded).
    timezone: Cell<Option<Option<Tz>>>,
    /// The store id as recorded in `meta` (the alarm needs it for D1 rows).
    store_id: RefCell<Option<String>>,
    /// The store's key for derived booking codes, once read or made (see `sqlite`).
    code_key: Cell<Option<CodeKey>>,
    /// The floor of carried creations, once read (see `SqlInventory::carried_floor`).
    carried_floor: Cell<Option<i64>>,
    /// What the calls changed since the live feed was last told (see [`live`]).
    touched: RefCell<Touched>,
    /// The slot in progress the live feed's sockets were last told the occupancy of (`None`:
    /// not known to this instance), so an alarm that fires for the outbox between two slot
    /// boundaries sends nothing.
    announced_slot: Cell<Option<Option<DateTime<Utc>>>>,
    /// The cost meter, when `COST_METER` is on: storage and D1 count into it, each reply
    /// reports it (see [`crate::meter`]).
    meter: Option<Meter>,
}

impl DurableObject for StoreObject {
    fn new(state: State, env: Env) -> Self {
        // workers-rs keeps the JS state object private; `_inner` (public for its own macro) and
        // `From` hand it out and take it back, which is the only way to reach
        // `storage.transactionSync` without changing the crate.
        let (raw, env, meter) = meter::attach_object(state._inner(), env);
        let tx_storage = raw
            .storage()
            .ok()
            .map(|storage| storage.unchecked_into::<TransactionalStorage>());
        // Pings are answered by the runtime, without waking a hibernated object.
        if let Ok(pair) = WebSocketRequestResponsePair::new(live::PING, live::PONG) {
            let _ = raw.set_websocket_auto_response(&pair);
        }
        let sockets_state: DurableObjectState = raw.clone().unchecked_into();
        let state = State::from(raw);
        let sql = state.storage().sql();
        Self {
            state,
            sockets_state,
            env,
            sql,
            tx_storage,
            schema_ready: Cell::new(false),
            schedule: RefCell::new(None),
            alarm_at: Cell::new(None),
            outbox_checked: Cell::new(false),
            outbox_appended: Cell::new(false),
            flush_failures: Cell::new(0),
            writes: Writes::default(),
            listings: ListingCache::default(),
            instance: random::instance_tag(),
            store_id: RefCell::new(None),
            code_key: Cell::new(None),
            carried_floor: Cell::new(None),
            closed: Cell::new(None),
            timezone: Cell::new(None),
            touched: RefCell::new(Touched::default()),
            announced_slot: Cell::new(None),
            meter,
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        if path == live::WATCH_PATH {
            let resp = live::accept(self, &req)?;
            if resp.status_code() == 101 {
                self.arm_live_tick().await;
            }
            return meter::stamp(self.meter.as_ref(), resp);
        }
        let server = call_name(&path).and_then(calls::route);
        let body = req.bytes().await;
        let outcome = match (server, body) {
            (Some(serve), Ok(body)) => serve(self, &body),
            (None, _) => Err(StoreError::BadCall(format!("no call at {path}"))),
            (_, Err(e)) => Err(StoreError::BadCall(format!("cannot read the call: {e}"))),
        };
        // The call committed (or rolled back, which took its notes back): watchers hear of
        // its changes now, before anything awaits.
        live::broadcast(self, self.touched.take());
        // A call that changed bookings gave the flush work in its transaction (outbox rows,
        // new bookings); a pending alarm (known from memory, so usually no storage call)
        // flushes it to D1. Alarms persist, so work left by an earlier instance has one
        // already; the first request of each instance still looks, in case that alarm was
        // never set.
        let appended = self.outbox_appended.replace(false) && outcome.is_ok();
        let first = !self.outbox_checked.replace(true);
        if appended || (first && self.outbox_pending()) {
            self.ensure_alarm(Duration::from_millis(sync::FLUSH_DELAY_MS))
                .await;
        }
        if appended && outcome.as_ref().is_ok_and(|served| served.index_now) {
            // The armed alarm stays as the retry should this flush fail.
            sync::flush_now(self).await;
        }
        let resp = match outcome {
            // Bytes, not a string: a JS string would be transcoded to UTF-16 and back.
            Ok(served) => Response::from_bytes(served.body)?,
            Err(e) => Response::from_json(&e)?.with_status(ERROR_STATUS),
        };
        meter::stamp(self.meter.as_ref(), resp)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        meter::alarm(self.meter.as_ref());
        self.alarm_at.set(None);
        let next = sync::run(self).await;
        // The flush may have erased bookings of an erased user.
        live::broadcast(self, self.touched.take());
        let tick = live::tick(self);
        for delay in [next, tick].into_iter().flatten() {
            self.ensure_alarm(delay).await;
        }
        meter::alarm_done(self.meter.as_ref());
        Response::ok("done")
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        live::on_message(&ws, message);
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        live::close_quietly(&ws, 1000, "closed");
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        live::close_quietly(&ws, 1011, "error");
        Ok(())
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

#[derive(Deserialize)]
struct MetaRow {
    value: String,
}

impl StoreObject {
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
            touched: self.touched.borrow().clone(),
            code_key: self.code_key.get(),
        }
    }

    fn restore(&self, r: Remembered) {
        self.schema_ready.set(r.schema_ready);
        *self.schedule.borrow_mut() = r.schedule;
        self.closed.set(r.closed);
        self.timezone.set(r.timezone);
        *self.store_id.borrow_mut() = r.store_id;
        *self.touched.borrow_mut() = r.touched;
        self.code_key.set(r.code_key);
    }

    /// Schema, store id and zone before a command. With `timezone` (the zone's table, see
    /// `safemarket_engine::zone`), the zone as D1 has it is recorded; without, the recorded
    /// one is used, and an object that has none (a store it never served, or no store at all)
    /// answers `UnknownStore` without writing anything.
    fn prepare(&self, store_id: &str, timezone: Option<&str>) -> Result<Tz, StoreError> {
        if timezone.is_none() && !self.has_tables()? {
            return Err(StoreError::UnknownStore);
        }
        self.ensure_schema()?;
        self.remember_store_id(store_id)?;
        match timezone {
            Some(table) => {
                let tz = Tz::from_table(table).map_err(|_| {
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
        let recorded = self.recorded_timezone()?;
        if recorded != Some(tz) {
            self.set_meta("timezone", &tz.table())?;
            self.timezone.set(Some(Some(tz)));
            self.writes.changed();
            if recorded.is_some() {
                // Every `local_start` (and "today") may differ.
                self.touched.borrow_mut().everything();
            }
        }
        Ok(())
    }

    /// The zone recorded last (its table read from `meta` once, then kept in step). An object
    /// that recorded only the zone's name (before zone tables) keeps it when the engine has
    /// that zone built in (UTC, Berlin), else has none: the Worker then sends the zone again.
    fn recorded_timezone(&self) -> Result<Option<Tz>, StoreError> {
        if let Some(known) = self.timezone.get() {
            return Ok(known);
        }
        let tz = self
            .meta("timezone")?
            .and_then(|table| Tz::from_table(&table).ok().or_else(|| Tz::known(&table)));
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

    fn outbox_pending(&self) -> bool {
        // The check names no store: the inventory's store id is not needed for it.
        self.schema_ready.get() && self.inventory("").flush_pending().unwrap_or(false)
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

    /// The engine's inventory over this object's SQLite for `store_id`; its outbox writes are
    /// noted so that the call that made them arms the index alarm.
    fn inventory<'a>(&'a self, store_id: &'a str) -> SqlInventory<'a> {
        SqlInventory::new(
            &self.sql,
            store_id,
            &self.outbox_appended,
            &self.touched,
            &self.writes,
            &self.code_key,
            &self.carried_floor,
        )
    }

    /// Records that the store was closed (new bookings are refused from now on).
    fn mark_closed(&self) -> Result<(), StoreError> {
        self.set_meta("closed", "1")?;
        self.closed.set(Some(true));
        self.writes.changed();
        self.touched.borrow_mut().store_closed();
        Ok(())
    }

    /// Stores a new schedule and replaces the cached one.
    fn store_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let json = serde_json::to_string(schedule).map_err(internal)?;
        self.set_meta("schedule", &json)?;
        *self.schedule.borrow_mut() = Some(Some(Rc::new(schedule.clone())));
        self.writes.changed();
        self.touched.borrow_mut().everything();
        // The alarm re-plans what the schedule decides: reminders, releases.
        self.outbox_appended.set(true);
        Ok(())
    }

    /// The live feed's sockets (none when the runtime cannot list them).
    fn sockets(&self) -> Vec<WebSocket> {
        self.sockets_state
            .get_websockets()
            .map(|all| all.into_iter().map(WebSocket::from).collect())
            .unwrap_or_default()
    }

    /// Accepts `socket` with the hibernation API: the runtime keeps it while the object sleeps
    /// and wakes the object only for its messages.
    fn accept_socket(&self, socket: &WebSocket) -> Result<(), StoreError> {
        self.sockets_state
            .accept_websocket(socket.as_ref())
            .map_err(|e| internal(format!("cannot accept the socket: {e:?}")))
    }

    /// Makes sure the alarm wakes the object at the next slot boundary, to tell the live
    /// feed's sockets the new slot's occupancy (the alarm re-arms it while any are open).
    async fn arm_live_tick(&self) {
        let (Ok(Some(schedule)), Ok(Some(tz))) = (self.schedule(), self.recorded_timezone()) else {
            return;
        };
        if let Some(delay) = live::until_next_boundary(&schedule, tz, Utc::now()) {
            self.ensure_alarm(delay).await;
        }
    }

    /// The store id recorded in `meta` (empty before the first call).
    fn recorded_store_id(&self) -> Result<String, StoreError> {
        Ok(self.meta("store_id")?.unwrap_or_default())
    }
}
