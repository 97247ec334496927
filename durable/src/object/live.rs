//! The store's live feed: WebSockets the object accepts with the hibernation API (an idle
//! socket keeps no isolate running), a snapshot on connect, and after every committed call the
//! slot items whose counts it may have changed.
//!
//! What a call changed is noted while it runs, in [`Touched`]: the inventory records the time
//! range of every booking it writes (old and new on an update), the object records a new
//! schedule or zone and the store's closing. After the call committed, the object takes that
//! note and [`broadcast`]s: one `slot` message per slot of the current schedule that overlaps a
//! touched range (counts are by overlap), an `occupancy` message when one overlaps the slot in
//! progress, a fresh `snapshot` instead when the schedule or zone changed. Nothing is sent from
//! inside a transaction, and a socket that cannot be sent to is closed and never fails the call.

use chrono::{DateTime, TimeDelta, Utc};
use safemarket_engine::zone::Tz;
use serde::{Deserialize, Serialize};
use worker::{Request, Response, WebSocket, WebSocketIncomingMessage, WebSocketPair};

use safemarket_engine::protocol::{SlotView, StoreError, StoreRequest, ERROR_STATUS};
use safemarket_engine::{
    self as engine, format_utc, BookingError, FillStatus, Occupancy, Schedule, Slot,
};

use super::calls::Here;
use super::{internal, StoreObject};

/// Where the Worker sends a store's live-feed upgrades (Durable Object stubs need a full URL).
pub const WATCH_URL: &str = "https://store.internal/live";
/// The path of [`WATCH_URL`], as the object sees it.
pub const WATCH_PATH: &str = "/live";
/// The request header carrying the call's envelope, a [`StoreRequest<Watch>`] as JSON: a
/// WebSocket upgrade is a `GET` without a body.
pub const ENVELOPE_HEADER: &str = "x-store-request";
/// Sockets one store accepts at most; the next gets 429.
pub const MAX_SOCKETS: usize = 1_000;
/// `Retry-After` of that 429, in seconds.
pub const RETRY_AFTER_SECS: u64 = 30;
/// The status the object answers when it has [`MAX_SOCKETS`] already (with `Retry-After`).
pub const FULL_STATUS: u16 = 429;
/// What a client sends to check the connection; answered [`PONG`] by the runtime itself
/// (`setWebSocketAutoResponse`), so it does not wake a hibernated object.
pub const PING: &str = r#"{"type":"ping"}"#;
/// The answer to [`PING`].
pub const PONG: &str = r#"{"type":"pong"}"#;

/// The call behind a live-feed upgrade: watch the store (no fields; the envelope names it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {}

/// What the calls since the last broadcast changed, for the live feed: taken (and reset) after
/// they committed. A transaction that rolls back restores what it found, so this never names
/// a change that did not happen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Time ranges whose counts may have changed, without repeats (a booking's old and new
    /// range; later, held places of waiting-list offers).
    pub ranges: Vec<Slot>,
    /// The schedule or the store's zone changed: every item may differ, watchers get a fresh
    /// snapshot.
    pub everything: bool,
    /// The store was closed: after the last updates, its sockets are closed.
    pub closed: bool,
}

impl Touched {
    /// Notes that counts overlapping `range` may have changed.
    pub fn range(&mut self, range: Slot) {
        if !self.ranges.contains(&range) {
            self.ranges.push(range);
        }
    }

    /// Notes that the schedule or the zone changed.
    pub fn everything(&mut self) {
        self.everything = true;
    }

    /// Notes that the store was closed.
    pub fn store_closed(&mut self) {
        self.closed = true;
    }

    fn is_empty(&self) -> bool {
        self.ranges.is_empty() && !self.everything && !self.closed
    }
}

/// The occupancy fields exactly as `GET /occupancy` answers them.
#[derive(Debug, Serialize)]
struct OccupancyView {
    slot_start: Option<String>,
    capacity: u32,
    booked: u32,
    checked_in: u32,
    fill_status: FillStatus,
}

impl From<Occupancy> for OccupancyView {
    fn from(o: Occupancy) -> Self {
        OccupancyView {
            slot_start: o.slot_start.map(format_utc),
            capacity: o.capacity,
            booked: o.booked,
            checked_in: o.checked_in,
            fill_status: o.fill_status,
        }
    }
}

/// One message of the feed (`type` names it).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Message<'a> {
    /// First message of every socket, and again after a schedule or zone change.
    Snapshot {
        occupancy: OccupancyView,
        slots: &'a [SlotView],
    },
    /// One slot item whose counts may have changed.
    Slot { item: &'a SlotView },
    /// The slot in progress, its fields at the top level.
    Occupancy(OccupancyView),
}

fn encode(message: &Message<'_>) -> Result<String, StoreError> {
    serde_json::to_string(message).map_err(internal)
}

/// Why an upgrade was refused.
enum Refusal {
    /// As any call is refused (`UnknownStore` makes the Worker send the zone).
    Store(StoreError),
    /// [`MAX_SOCKETS`] are connected.
    Full,
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// Serves a live-feed upgrade: `101` with the client end of a new socket whose first message
/// is the snapshot; [`ERROR_STATUS`] with a [`StoreError`] as any call (a closed store is
/// refused with `StoreClosed`), or [`FULL_STATUS`].
pub(super) fn accept(obj: &StoreObject, req: &Request) -> worker::Result<Response> {
    match open(obj, req) {
        Ok(client) => Response::from_websocket(client),
        Err(Refusal::Store(e)) => Ok(Response::from_json(&e)?.with_status(ERROR_STATUS)),
        Err(Refusal::Full) => {
            let resp = Response::ok("too many live connections")?.with_status(FULL_STATUS);
            resp.headers()
                .set("retry-after", &RETRY_AFTER_SECS.to_string())?;
            Ok(resp)
        }
    }
}

fn open(obj: &StoreObject, req: &Request) -> Result<WebSocket, Refusal> {
    let upgrade = req.headers().get("upgrade").ok().flatten();
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(StoreError::BadCall("the live feed needs a WebSocket upgrade".into()).into());
    }
    let envelope = req
        .headers()
        .get(ENVELOPE_HEADER)
        .ok()
        .flatten()
        .ok_or_else(|| StoreError::BadCall(format!("no {ENVELOPE_HEADER} header")))?;
    let StoreRequest {
        store_id, timezone, ..
    } = serde_json::from_str::<StoreRequest<Watch>>(&envelope)
        .map_err(|e| StoreError::BadCall(format!("cannot decode watch: {e}")))?;
    let tz = obj.atomically(|| obj.prepare(store_id.as_str(), timezone.as_deref()))?;
    // A zone recorded just now is news for the sockets already open (before this one is).
    broadcast(obj, obj.touched.take());
    if obj.is_closed()? {
        return Err(StoreError::Booking(BookingError::StoreClosed).into());
    }
    if obj.sockets().len() >= MAX_SOCKETS {
        return Err(Refusal::Full);
    }
    // Snapshot and accept with no await between them: no change can fall between the two,
    // so the socket hears of every change after the state it was shown.
    let here = Here::new(obj, store_id.as_str(), tz, Utc::now());
    let snapshot = snapshot(&here)?;
    let pair = WebSocketPair::new().map_err(internal)?;
    obj.accept_socket(&pair.server)?;
    if let Err(e) = pair.server.send_with_str(&snapshot) {
        close_quietly(&pair.server, 1011, "snapshot failed");
        return Err(internal(e).into());
    }
    Ok(pair.client)
}

/// The snapshot message: occupancy and today's (store-local) slot items.
fn snapshot(here: &Here<'_>) -> Result<String, StoreError> {
    let items = match here.schedule()? {
        Some(schedule) => {
            let today = here.today();
            let slots = engine::slots_between(&schedule, here.tz(), today, today);
            here.slot_items(&schedule, &slots)?
        }
        None => Vec::new(),
    };
    encode(&Message::Snapshot {
        occupancy: announced(here)?,
        slots: &items,
    })
}

/// The occupancy of the slot in progress, remembered as the slot the sockets know of.
fn announced(here: &Here<'_>) -> Result<OccupancyView, StoreError> {
    let occupancy = here.occupancy()?;
    here.object().announced_slot.set(Some(occupancy.slot_start));
    Ok(occupancy.into())
}

/// The messages that tell watchers of `touched`, in order.
fn messages(here: &Here<'_>, touched: &Touched) -> Result<Vec<String>, StoreError> {
    if touched.everything {
        return Ok(vec![snapshot(here)?]);
    }
    let Some(schedule) = here.schedule()? else {
        return Ok(Vec::new());
    };
    let slots = affected_slots(&schedule, here.tz(), &touched.ranges);
    let mut out = Vec::with_capacity(slots.len() + 1);
    for item in here.slot_items(&schedule, &slots)? {
        out.push(encode(&Message::Slot { item: &item })?);
    }
    let current = engine::current_slot(&schedule, here.tz(), here.now());
    if current.is_some_and(|now| touched.ranges.iter().any(|r| r.overlaps(&now))) {
        out.push(encode(&Message::Occupancy(announced(here)?))?);
    }
    Ok(out)
}

/// The slots of `schedule` (by start, without repeats) that overlap one of `ranges`.
pub fn affected_slots(schedule: &Schedule, tz: Tz, ranges: &[Slot]) -> Vec<Slot> {
    let mut slots = Vec::new();
    for range in ranges {
        // A slot lies within its local date, so the dates of the range's first and last
        // instants hold every slot it overlaps (a range lasts at most a few hours; the bound
        // only guards against a corrupt one).
        let first = range.start.with_timezone(&tz).date_naive();
        let last_instant = range.end - TimeDelta::seconds(1);
        let last = last_instant
            .max(range.start)
            .with_timezone(&tz)
            .date_naive();
        let last = last.min(first + TimeDelta::days(2));
        slots.extend(
            engine::slots_between(schedule, tz, first, last)
                .into_iter()
                .filter(|slot| slot.overlaps(range)),
        );
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// Tells every socket of what `touched` names (a no-op when nobody watches or nothing
/// changed). Runs after the changes committed; a socket that cannot be sent to is closed.
pub(super) fn broadcast(obj: &StoreObject, touched: Touched) {
    if touched.is_empty() {
        return;
    }
    let sockets = obj.sockets();
    if sockets.is_empty() {
        return;
    }
    let messages = obj
        .recorded_timezone()
        .and_then(|tz| tz.ok_or(StoreError::UnknownStore))
        .and_then(|tz| {
            let store_id = obj.store_id.borrow().clone().unwrap_or_default();
            messages(&Here::new(obj, &store_id, tz, Utc::now()), &touched)
        });
    let messages = match messages {
        Ok(messages) => messages,
        Err(e) => {
            log_error("cannot build live updates", format!("{e:?}"));
            Vec::new()
        }
    };
    for socket in &sockets {
        for message in &messages {
            if socket.send_with_str(message).is_err() {
                close_quietly(socket, 1011, "send failed");
                break;
            }
        }
        if touched.closed {
            close_quietly(socket, 1000, "store closed");
        }
    }
}

/// At a slot boundary (the object's alarm): tells watchers the new slot's occupancy, unless
/// they were told of this slot already (the alarm also fires for the outbox); answers when the
/// next boundary comes, `None` when nobody watches (or no slot is ahead).
pub(super) fn tick(obj: &StoreObject) -> Option<std::time::Duration> {
    let sockets = obj.sockets();
    if sockets.is_empty() {
        return None;
    }
    let tz = obj.recorded_timezone().ok().flatten()?;
    let store_id = obj.store_id.borrow().clone().unwrap_or_default();
    let here = Here::new(obj, &store_id, tz, Utc::now());
    match here.occupancy() {
        Ok(o) if obj.announced_slot.get() != Some(o.slot_start) => {
            obj.announced_slot.set(Some(o.slot_start));
            match encode(&Message::Occupancy(o.into())) {
                Ok(message) => {
                    for socket in &sockets {
                        if socket.send_with_str(&message).is_err() {
                            close_quietly(socket, 1011, "send failed");
                        }
                    }
                }
                Err(e) => log_error("cannot encode the occupancy update", format!("{e:?}")),
            }
        }
        Ok(_) => {}
        Err(e) => log_error("cannot build the occupancy update", format!("{e:?}")),
    }
    let schedule = obj.schedule().ok().flatten()?;
    until_next_boundary(&schedule, tz, here.now())
}

/// How long from `now` until the slot in progress ends or the next slot starts (plus a
/// second, so the alarm wakes inside the new slot), looking a day or so ahead.
pub fn until_next_boundary(
    schedule: &Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<std::time::Duration> {
    let today = now.with_timezone(&tz).date_naive();
    let next = engine::slots_between(schedule, tz, today, today + TimeDelta::days(1))
        .into_iter()
        .flat_map(|slot| [slot.start, slot.end])
        .filter(|at| *at > now)
        .min()?;
    let wait = (next - now + TimeDelta::seconds(1)).to_std().ok()?;
    Some(wait)
}

/// Answers a client's message: `ping` (plain or as [`PING`], should the runtime not have
/// answered it already) gets [`PONG`]; everything else is ignored.
pub(super) fn on_message(socket: &WebSocket, message: WebSocketIncomingMessage) {
    if let WebSocketIncomingMessage::String(text) = message {
        let text = text.trim();
        if text == "ping" || text == PING {
            let _ = socket.send_with_str(PONG);
        }
    }
}

/// Closes `socket`, ignoring that it may be closed already.
pub(super) fn close_quietly(socket: &WebSocket, code: u16, reason: &str) {
    let _ = socket.close(Some(code), Some(reason));
}

fn log_error(msg: &str, cause: impl std::fmt::Display) {
    worker::console_error!(
        "{}",
        serde_json::json!({"level": "error", "msg": msg, "cause": cause.to_string()})
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(slot_minutes: u32) -> Schedule {
        let weekly: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| serde_json::json!({"day": d, "open": "08:00", "close": "20:00"}))
            .collect();
        Schedule::from_json(&serde_json::json!({
            "slot_minutes": slot_minutes, "capacity": 10, "horizon_days": 30,
            "max_active_bookings_per_user": 5, "weekly": weekly, "exceptions": [],
        }))
        .unwrap()
    }

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> Slot {
        Slot {
            start: from,
            end: to,
        }
    }

    #[test]
    fn affected_slots_are_those_of_the_current_schedule_that_overlap() {
        let tz = safemarket_engine::zone::tzdb::zone("UTC");
        // A 60-minute booking of an old schedule, now 30-minute slots: both halves; the same
        // range twice (a status change) once.
        let booked = range(utc(9, 0), utc(10, 0));
        let slots = affected_slots(&schedule(30), tz, &[booked, booked]);
        assert_eq!(
            slots,
            [range(utc(9, 0), utc(9, 30)), range(utc(9, 30), utc(10, 0))]
        );
        // A reschedule: old and new range, in order of start whatever the order noted.
        let slots = affected_slots(
            &schedule(60),
            tz,
            &[range(utc(15, 0), utc(16, 0)), range(utc(9, 0), utc(10, 0))],
        );
        assert_eq!(
            slots,
            [range(utc(9, 0), utc(10, 0)), range(utc(15, 0), utc(16, 0))]
        );
        // A range straddling slots of a longer schedule touches both.
        let slots = affected_slots(&schedule(60), tz, &[range(utc(9, 30), utc(10, 30))]);
        assert_eq!(
            slots,
            [range(utc(9, 0), utc(10, 0)), range(utc(10, 0), utc(11, 0))]
        );
        // Outside opening hours: nothing.
        assert!(affected_slots(&schedule(60), tz, &[range(utc(21, 0), utc(22, 0))]).is_empty());
    }

    #[test]
    fn affected_slots_follow_the_store_zone_across_local_midnight() {
        // 08:00-20:00 Berlin is 07:00-19:00 UTC in December.
        let tz = safemarket_engine::zone::tzdb::zone("Europe/Berlin");
        let slots = affected_slots(&schedule(60), tz, &[range(utc(7, 0), utc(8, 0))]);
        assert_eq!(slots, [range(utc(7, 0), utc(8, 0))]);
        let tz = safemarket_engine::zone::tzdb::zone("Pacific/Auckland");
        // 08:00 on 2 December in Auckland (+13) is 19:00 UTC on 1 December.
        let slots = affected_slots(&schedule(60), tz, &[range(utc(19, 0), utc(20, 0))]);
        assert_eq!(slots, [range(utc(19, 0), utc(20, 0))]);
    }

    #[test]
    fn next_boundary_is_the_end_of_the_slot_in_progress_or_the_next_opening() {
        let tz = safemarket_engine::zone::tzdb::zone("UTC");
        let s = schedule(30);
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs());
        assert_eq!(
            secs(until_next_boundary(&s, tz, utc(9, 10))),
            Some(20 * 60 + 1)
        );
        assert_eq!(
            secs(until_next_boundary(&s, tz, utc(9, 30))),
            Some(30 * 60 + 1)
        );
        // Closed for the night: the next morning's first slot.
        assert_eq!(
            secs(until_next_boundary(&s, tz, utc(21, 0))),
            Some(11 * 3600 + 1)
        );
    }

    #[test]
    fn messages_have_the_documented_shape() {
        let occupancy = OccupancyView {
            slot_start: Some("2026-12-01T09:00:00Z".into()),
            capacity: 10,
            booked: 3,
            checked_in: 1,
            fill_status: FillStatus::Green,
        };
        let json: serde_json::Value =
            serde_json::from_str(&encode(&Message::Occupancy(occupancy)).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "occupancy", "slot_start": "2026-12-01T09:00:00Z",
                "capacity": 10, "booked": 3, "checked_in": 1, "fill_status": "green"})
        );
        let item = SlotView {
            start: utc(9, 0),
            end: utc(9, 30),
            local_start: "2026-12-01T10:00:00+01:00".into(),
            capacity: 10,
            booked: 3,
            held: 1,
            waiting: 2,
            available: 6,
        };
        let json: serde_json::Value =
            serde_json::from_str(&encode(&Message::Slot { item: &item }).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "slot", "item": {"start": "2026-12-01T09:00:00Z",
                "end": "2026-12-01T09:30:00Z", "local_start": "2026-12-01T10:00:00+01:00",
                "capacity": 10, "booked": 3, "held": 1, "waiting": 2, "available": 6}})
        );
        let closed = OccupancyView::from(Occupancy::closed());
        let json: serde_json::Value = serde_json::from_str(
            &encode(&Message::Snapshot {
                occupancy: closed,
                slots: &[],
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "snapshot", "occupancy": {"slot_start": null,
                "capacity": 0, "booked": 0, "checked_in": 0, "fill_status": "green"},
                "slots": []})
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(PONG).unwrap()["type"],
            "pong"
        );
    }
}
