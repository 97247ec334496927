//! The cost meter: with the var `COST_METER` = `"1"` every `/api` response carries
//! `x-cost-meter: name=n;...`, the billable units the request used (README, "What it costs";
//! `make bench` sums them). Off (any other value), nothing here runs but the one var read per
//! request or object start.
//!
//! Counting happens in `js/meter.js`, in proxies around the bindings (`env.DB`, the KV
//! namespaces, the object namespaces, queues, R2, and an object's `state.storage`), so every
//! call through the existing wrappers (`Ctx::db()`, `repo/*`, `store_client`, the objects'
//! SQL) is metered without knowing it. Units:
//!
//! | unit | counted |
//! |---|---|
//! | `worker_requests`, `worker_wall_ms` | the request itself; its wall time (CPU is not visible inside an isolate: the bench measures it from the processes) |
//! | `do_requests`, `do_wall_ms` | each `stub.fetch`, and its wall time as the caller sees it (what duration is billed on) |
//! | `do_rows_read`, `do_rows_written` | an object's SQL cursors (`rowsRead`/`rowsWritten`) and key-value storage rows, reported in the object's reply |
//! | `bg_*` | what an object's alarm used (`bg_do_alarms`, `bg_d1_rows_written`, ...), reported with its next reply |
//! | `d1_rows_read`, `d1_rows_written` | D1 result `meta` of every `all`/`run`/`first`/`batch` |
//! | `kv_reads`, `kv_writes`, `kv_deletes`, `kv_lists` | KV operations |
//! | `queue_messages` | messages sent to a Queue (`send` 1, `sendBatch` its length) |
//! | `r2_class_a`, `r2_class_b` | R2 writes/lists and reads |
//!
//! An object reports what it used since its previous reply, so work done between requests
//! (the outbox alarm's D1 batch, as `bg_*`) arrives with the next reply of that object.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::worker_sys::DurableObjectState;
use worker::{Date, Env, Response};

/// The response header carrying the units.
pub const HEADER: &str = "x-cost-meter";

#[wasm_bindgen(module = "/js/meter.js")]
extern "C" {
    /// The units of one request (or of an object since its last reply).
    pub type Meter;

    #[wasm_bindgen(constructor)]
    fn new() -> Meter;

    /// Adds `n` of the unit `name`.
    #[wasm_bindgen(method)]
    pub fn add(this: &Meter, name: &str, n: f64);

    /// Marks the start (`true`) or end (`false`) of an alarm's work (units `bg_*`).
    #[wasm_bindgen(method, js_name = setBackground)]
    fn set_background(this: &Meter, on: bool);

    /// Everything counted as `name=n;...`, and a fresh start.
    #[wasm_bindgen(method)]
    pub fn take(this: &Meter) -> String;

    #[wasm_bindgen(js_name = meteredEnv)]
    fn metered_env(env: &JsValue, meter: &Meter) -> JsValue;

    #[wasm_bindgen(js_name = meteredState)]
    fn metered_state(state: &JsValue, meter: &Meter) -> JsValue;
}

/// Whether `COST_METER` is `"1"`.
pub fn enabled(env: &Env) -> bool {
    env.var("COST_METER")
        .is_ok_and(|v| v.to_string().trim() == "1")
}

/// A request's meter, when metering is on: `env` then counts into it.
pub struct RequestMeter {
    meter: Meter,
    started_ms: u64,
}

/// `env` with its bindings metered, and the meter, when `COST_METER` is on; `env` untouched
/// otherwise.
pub fn attach(env: Env) -> (Env, Option<RequestMeter>) {
    if !enabled(&env) {
        return (env, None);
    }
    let meter = Meter::new();
    let metered = metered_env(&env, &meter).unchecked_into::<Env>();
    let started_ms = Date::now().as_millis();
    (metered, Some(RequestMeter { meter, started_ms }))
}

impl RequestMeter {
    /// Sets the header on the Worker's response: this request's own units and those the
    /// objects it called reported.
    pub fn finish(&self, resp: &Response) -> worker::Result<()> {
        self.meter.add("worker_requests", 1.0);
        let wall = Date::now().as_millis().saturating_sub(self.started_ms);
        self.meter.add("worker_wall_ms", wall as f64);
        resp.headers().set(HEADER, &self.meter.take())
    }
}

/// An object's state and env with storage and bindings metered, and the meter, when
/// `COST_METER` is on.
pub fn attach_object(
    state: DurableObjectState,
    env: Env,
) -> (DurableObjectState, Env, Option<Meter>) {
    if !enabled(&env) {
        return (state, env, None);
    }
    let meter = Meter::new();
    let state = metered_state(&state, &meter).unchecked_into::<DurableObjectState>();
    let env = metered_env(&env, &meter).unchecked_into::<Env>();
    (state, env, Some(meter))
}

/// Puts what an object used since its last reply on this reply (nothing when metering is off).
pub fn stamp(meter: Option<&Meter>, resp: Response) -> worker::Result<Response> {
    if let Some(meter) = meter {
        resp.headers().set(HEADER, &meter.take())?;
    }
    Ok(resp)
}

/// Counts one alarm run of an object; what it uses until [`alarm_done`] is reported as
/// `bg_<unit>` (`bg_do_alarms=1`, `bg_d1_rows_written=...`).
pub fn alarm(meter: Option<&Meter>) {
    if let Some(meter) = meter {
        meter.set_background(true);
        meter.add("do_alarms", 1.0);
    }
}

/// Ends an alarm's background units.
pub fn alarm_done(meter: Option<&Meter>) {
    if let Some(meter) = meter {
        meter.set_background(false);
    }
}
