//! The engine's [`Inventory`] over the object's SQLite database, plus the queries the listing
//! commands need. Every change of a booking also appends it to the outbox in the same
//! synchronous step, so the D1 index can never miss a change the object committed; a new
//! booking is carried from its own row (see [`uncarried!`]). Writes note the time ranges
//! whose counts they may have changed ([`Touched`]) for the live feed.

use std::cell::{Cell, RefCell};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use worker::{SqlCursor, SqlStorage, SqlStorageValue};

use safemarket_engine::booking_ids::{creation_event_id, number_in_id, numbered_id};
use safemarket_engine::codes::parse_code;
use safemarket_engine::derived_codes::{code_of_id, code_of_number, number_of_code, CodeKey};
use safemarket_engine::events::{
    booking_event, entry_event, EventRecord, EventStamp, EventSubject, EventType,
};
use safemarket_engine::{
    Booking, BookingStatus, EntryStatus, IdempotencyRecord, Inventory, Owner, RandomSource, Slot,
    UserId, WaitEntry, MAX_SLOT_LENGTH,
};

use super::live::Touched;
use super::random::OsRandom;

/// A booking row as stored (instants in Unix seconds).
#[derive(Debug, Deserialize)]
struct BookingRow {
    number: i64,
    id: String,
    code: String,
    owner: Option<String>,
    guest_name: Option<String>,
    guest_phone: Option<String>,
    slot_start: i64,
    slot_end: i64,
    party_size: i64,
    status: String,
    created_at: i64,
    updated_at: i64,
}

/// Columns of [`BookingRow`] after `number` (which SQLite assigns).
macro_rules! booking_fields {
    () => {
        "id, code, owner, guest_name, guest_phone, slot_start, slot_end, party_size, status, \
         created_at, updated_at"
    };
}

/// Columns of [`BookingRow`].
const BOOKING_COLUMNS: &str = concat!("number, ", booking_fields!());

/// Inserts a booking (all of [`booking_fields!`], then its idempotency key and fingerprint,
/// the number its id carries, whether its code is derived from that number, and the floor of
/// carried creations as it is now, see [`RECOVER_CARRIED_FLOOR`]). `number` is
/// the row id: no `AUTOINCREMENT`, whose `sqlite_sequence` row would be one more row written
/// per booking.
const INSERT_BOOKING: &str = concat!(
    "INSERT INTO bookings (",
    booking_fields!(),
    ", idem_key, idem_fingerprint, number, code_derived, carried_floor)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);

/// The bookings with a code, bound as the number it is derived from, the code, the code
/// again: the one with that number if its code is that (derived codes, see schema version
/// 9), and those found through the partial index of codes that are not derived.
const BY_CODE: &str = "number IN (SELECT ? UNION ALL
      SELECT number FROM bookings WHERE code = ? AND code_derived = 0) AND code = ?";

/// `meta` key of the store's key for derived booking codes (hex).
const CODE_KEY: &str = "code_key";

/// The condition of the bookings whose creation the index flush carries from their own row
/// (schema version 8), bound as the floor of carried creations (the highest number whose
/// creation a flush carried, [`SqlInventory::carried_floor`]): numbered above it, and not
/// changed since (a change appends the creation to the outbox first and sets
/// `creation_queued`). A new booking is so one row and its index entries, not also an outbox
/// row written and then deleted.
macro_rules! uncarried {
    () => {
        "number > ? AND creation_queued = 0"
    };
}

/// The bookings [`uncarried!`] by number (bound as the floor, then at most how many).
const UNCARRIED_BY_NUMBER: &str = concat!(uncarried!(), " ORDER BY number LIMIT ?");

/// The bookings that ended before `?`, by end, at most `?` (bound as the end, the floor of
/// carried creations, the limit); not one whose creation only its row holds
/// ([`uncarried!`]) until a flush carried it.
const ENDED_BEFORE: &str = concat!(
    "slot_end < ? AND NOT (",
    uncarried!(),
    ") ORDER BY slot_end LIMIT ?"
);

/// `meta` key of the floor of carried creations as last persisted there (by schema version
/// 8, by flushes before schema version 11, by the archive since).
pub(super) const CARRIED_FLOOR_KEY: &str = "index_number_floor";

/// The floor of carried creations a new object instance starts from (schema version 11): the
/// larger of the one persisted in `meta` and the one the newest booking's row recorded when
/// it was inserted. A flush raises the floor in the instance's memory only, which saves a
/// row written per flush; what a new instance so reads may lie below the true floor by the
/// bookings flushed after the newest one was inserted, whose creations the next flush then
/// carries once more: the index writes the same entry again, or nothing where a change of the
/// booking (a higher version) is there already.
const RECOVER_CARRIED_FLOOR: &str = "SELECT max(
      coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'index_number_floor'), 0),
      coalesce((SELECT carried_floor FROM bookings ORDER BY number DESC LIMIT 1), 0)) AS n";

/// Whether the index flush has work: outbox rows or bookings it carries from their rows
/// (bound as the floor of carried creations).
pub(super) const FLUSH_PENDING: &str = concat!(
    "SELECT (EXISTS (SELECT 1 FROM outbox) OR EXISTS (SELECT 1 FROM bookings WHERE ",
    uncarried!(),
    ")) AS n"
);

/// The next booking's number: one above every number this store ever gave, also those of
/// bookings since archived (`meta.booking_number_floor`, see the schema), so the legacy app's
/// reservation ids are never reused.
const NEXT_NUMBER: &str = "SELECT max(coalesce(max(number), 0), coalesce((SELECT CAST(value AS
    INTEGER) FROM meta WHERE key = 'booking_number_floor'), 0)) + 1 AS number FROM bookings";

/// How a statement finds the booking with a given id: by row id when the id carries its
/// number (`safemarket_engine::booking_ids`), else through the partial index of the random
/// ids given before (schema version 7). Either way the id itself must match too.
enum IdKey<'a> {
    Numbered(i64, &'a str),
    Random(&'a str),
}

impl<'a> IdKey<'a> {
    fn of(id: &'a str) -> Self {
        match number_in_id(id) {
            Some(number) => IdKey::Numbered(number, id),
            None => IdKey::Random(id),
        }
    }

    /// The `WHERE` condition; the second repeats the partial index's condition exactly.
    fn clause(&self) -> &'static str {
        match self {
            IdKey::Numbered(..) => "number = ? AND id = ?",
            IdKey::Random(_) => "id = ? AND substr(id, 15, 1) <> '8'",
        }
    }

    /// The condition's arguments, after `args` (those of the statement before it).
    fn args(&self, mut args: Vec<SqlStorageValue>) -> Vec<SqlStorageValue> {
        match self {
            IdKey::Numbered(number, id) => {
                args.push((*number).into());
                args.push((*id).into());
            }
            IdKey::Random(id) => args.push((*id).into()),
        }
        args
    }
}

/// Appends an outbox row: `seq` one above every row's and above the highest a flush sent
/// (`meta.outbox_seq_floor`), since it is the D1 index rows' `version`. No `AUTOINCREMENT`,
/// whose `sqlite_sequence` row would be one more row written per append.
pub(super) const APPEND_OUTBOX: &str = "INSERT INTO outbox (seq, payload)
     VALUES ((SELECT max(coalesce(max(seq), 0), coalesce((SELECT CAST(value AS INTEGER) FROM meta
        WHERE key = 'outbox_seq_floor'), 0)) + 1 FROM outbox), ?)";

/// A code key as `meta` keeps it (32 hex digits).
fn parse_key(hex: &str) -> Result<CodeKey, String> {
    let mut key = [0u8; 16];
    let bad = || format!("bad stored code key of {} characters", hex.len());
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(key)
}

fn instant(secs: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("bad stored instant {secs}"))
}

impl BookingRow {
    fn into_booking(self) -> Result<(i64, Booking), String> {
        let status: BookingStatus = self.status.parse()?;
        let booking = Booking {
            id: self.id,
            code: self.code,
            owner: self
                .owner
                .map(|raw| Owner::parse(&raw).ok_or_else(|| format!("bad stored owner {raw:?}")))
                .transpose()?,
            guest_name: self.guest_name,
            guest_phone: self.guest_phone,
            slot_start: instant(self.slot_start)?,
            slot_end: instant(self.slot_end)?,
            party_size: u32::try_from(self.party_size).map_err(|e| e.to_string())?,
            status,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
        };
        Ok((self.number, booking))
    }
}

/// A waiting-list row as stored (instants in Unix seconds).
#[derive(Debug, Deserialize)]
struct EntryRow {
    id: String,
    owner: Option<String>,
    slot_start: i64,
    slot_end: i64,
    party_size: i64,
    status: String,
    created_at: i64,
    updated_at: i64,
    offer_expires_at: Option<i64>,
    booking_id: Option<String>,
}

impl EntryRow {
    fn into_entry(self) -> Result<WaitEntry, String> {
        Ok(WaitEntry {
            id: self.id,
            owner: self
                .owner
                .map(|raw| Owner::parse(&raw).ok_or_else(|| format!("bad stored owner {raw:?}")))
                .transpose()?,
            slot_start: instant(self.slot_start)?,
            slot_end: instant(self.slot_end)?,
            party_size: u32::try_from(self.party_size).map_err(|e| e.to_string())?,
            status: self.status.parse()?,
            created_at: instant(self.created_at)?,
            updated_at: instant(self.updated_at)?,
            offer_expires_at: self.offer_expires_at.map(instant).transpose()?,
            booking_id: self.booking_id,
        })
    }
}

/// What the outbox carries to D1 for one booking change, and the webhook event the change
/// is, if any: one row for both, so a booking change costs one outbox row whatever it feeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The store.
    pub store_id: String,
    /// The booking's per-store number (legacy reservation id).
    pub number: i64,
    /// The booking as it now is.
    pub booking: Booking,
    /// The event of this change (rows written before events existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventStamp>,
}

/// One outbox row: a booking change for the D1 index (with its event), or an event that
/// changes no booking (reminders, waiting-list offers and expiries).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutboxItem {
    /// A booking's new state, and its event.
    Index(IndexEntry),
    /// An event alone.
    Event(EventRecord),
}

impl OutboxItem {
    /// The event this row carries to the delivery queue, if any.
    pub fn event(&self) -> Option<EventRecord> {
        match self {
            OutboxItem::Index(entry) => entry.event.clone().map(|event| EventRecord {
                store_id: entry.store_id.clone(),
                event,
                subject: EventSubject::Booking(entry.booking.clone()),
            }),
            OutboxItem::Event(record) => Some(record.clone()),
        }
    }
}

/// A fresh event stamp of `event_type` at `at` (a random UUID id).
fn stamp(event_type: EventType, at: DateTime<Utc>) -> EventStamp {
    EventStamp {
        id: uuid::Uuid::new_v4().to_string(),
        event_type,
        created_at: at,
    }
}

impl IndexEntry {
    /// The entry of `booking`'s creation (as it was created), with its `booking.created`
    /// event, whose id is derived from the booking's ([`creation_event_id`]).
    pub fn creation(store_id: &str, number: i64, booking: Booking) -> Self {
        let event = EventStamp {
            id: creation_event_id(&booking.id).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            event_type: EventType::BookingCreated,
            created_at: booking.created_at,
        };
        Self {
            store_id: store_id.to_string(),
            number,
            booking,
            event: Some(event),
        }
    }

    /// The user the booking is indexed under: bookings of api keys have none.
    pub fn user_id(&self) -> Option<&UserId> {
        self.booking.owner.as_ref().and_then(Owner::user)
    }
}

/// Parses `start:end:people,...` as `held_between`'s query packs it.
fn unpack_held(packed: &str) -> Result<Vec<(Slot, u32)>, String> {
    packed
        .split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let mut fields = item.split(':');
            let (Some(start), Some(end), Some(people), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("bad packed count {item:?}"));
            };
            let start = instant(start.parse::<i64>().map_err(|e| e.to_string())?)?;
            let end = instant(end.parse::<i64>().map_err(|e| e.to_string())?)?;
            let people = people.parse::<u32>().map_err(|e| e.to_string())?;
            Ok((Slot { start, end }, people))
        })
        .collect()
}

/// `WHERE` clause of the bookings that hold places in (overlap) a range `[from, to)`; its
/// arguments come from [`overlap_args`]. The lower bound on `slot_start` is implied by the
/// overlap (no booking is longer than [`MAX_SLOT_LENGTH`]) and lets SQLite range-scan
/// `bookings_by_slot` instead of reading every booking that ends after `from`.
const HOLDING_OVERLAP: &str = "slot_start > ? AND slot_start < ? AND slot_end > ?
     AND status IN ('confirmed', 'checked_in')";

/// Confirmed bookings whose slot started by `?` and ends after `?`, bound by
/// [`started_by_args`]. The lower bound on `slot_start` is implied by the end's (no booking
/// lasts longer than `MAX_SLOT_LENGTH`) and spelt out so that the read is a range of
/// `bookings_by_slot` and not all of its entries before `t`: every alarm run of a store that
/// releases no-shows asks.
const STARTED_BY: &str = "slot_start <= ? AND slot_start > ? AND slot_end > ?
     AND status = 'confirmed' ORDER BY slot_start, number";

/// The earliest end of a booking, bound as `MAX_SLOT_LENGTH` in seconds. The booking that
/// ends first starts before the earliest start plus the longest slot (it ends no later than
/// the earliest-starting booking, which ends within that length of its start), so only the
/// first entries of `bookings_by_slot` are read, not every booking kept, on every alarm run
/// (`min(slot_end)` alone would scan a whole index).
const OLDEST_END: &str = "SELECT min(slot_end) AS n FROM bookings
     WHERE slot_start < (SELECT min(slot_start) FROM bookings) + ?";

/// The arguments of [`STARTED_BY`]: `t`, `ended_after - MAX_SLOT_LENGTH`, `ended_after`.
fn started_by_args(t: DateTime<Utc>, ended_after: DateTime<Utc>) -> Vec<SqlStorageValue> {
    let ended = ended_after.timestamp();
    vec![
        t.timestamp().into(),
        (ended - MAX_SLOT_LENGTH.num_seconds()).into(),
        ended.into(),
    ]
}

/// The arguments of [`HOLDING_OVERLAP`] for `[from, to)`: `from - MAX_SLOT_LENGTH`, `to`, `from`.
fn overlap_args(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<SqlStorageValue> {
    let earliest = from.timestamp() - MAX_SLOT_LENGTH.num_seconds();
    vec![
        earliest.into(),
        to.timestamp().into(),
        from.timestamp().into(),
    ]
}

/// The object's SQLite as an [`Inventory`].
pub struct SqlInventory<'a> {
    sql: &'a SqlStorage,
    store_id: &'a str,
    /// Set when this inventory gives the index flush work (an outbox row, a new booking).
    appended: &'a Cell<bool>,
    /// Where it notes the ranges its writes may have changed the counts of.
    touched: &'a RefCell<Touched>,
    /// Where its writes are counted.
    writes: &'a Writes,
    /// The store's key for derived codes, once read (the object restores it when a
    /// transaction that created it rolls back).
    code_key: &'a Cell<Option<CodeKey>>,
    /// The floor of carried creations, once read ([`RECOVER_CARRIED_FLOOR`]); only the index
    /// flush raises it, outside any transaction.
    carried: &'a Cell<Option<i64>>,
}

/// What the object learns of its inventory's writes.
#[derive(Debug, Default)]
pub struct Writes {
    /// Rows written (table rows and index entries, as SQLite's cursor counts them) since the
    /// last [`take_rows`](Self::take_rows), for the index flush's log line.
    rows: Cell<u64>,
    /// Moves on with every write statement and every [`changed`](Self::changed): the data
    /// version rendered listings are kept at.
    version: Cell<u64>,
}

impl Writes {
    /// Counts one write statement that wrote `rows` rows.
    fn record(&self, rows: u64) {
        self.rows.set(self.rows.get().saturating_add(rows));
        self.changed();
    }

    /// Notes a change made outside the inventory (schedule, zone, closure).
    pub fn changed(&self) {
        self.version.set(self.version.get().wrapping_add(1));
    }

    /// The data version.
    pub fn version(&self) -> u64 {
        self.version.get()
    }

    /// The rows written since the last call.
    pub fn take_rows(&self) -> u64 {
        self.rows.take()
    }
}

fn err(e: worker::Error) -> String {
    e.to_string()
}

#[derive(Deserialize)]
struct NumberRow {
    number: i64,
}

#[derive(Deserialize)]
struct Sum {
    n: Option<i64>,
}

impl<'a> SqlInventory<'a> {
    /// The inventory of store `store_id` in `sql`; `appended` is set whenever it gives the
    /// index flush work, the ranges of the bookings it writes go to `touched`, its writes are
    /// counted in `writes`, `code_key` caches the store's key for derived codes and `carried`
    /// the floor of carried creations.
    pub fn new(
        sql: &'a SqlStorage,
        store_id: &'a str,
        appended: &'a Cell<bool>,
        touched: &'a RefCell<Touched>,
        writes: &'a Writes,
        code_key: &'a Cell<Option<CodeKey>>,
        carried: &'a Cell<Option<i64>>,
    ) -> Self {
        Self {
            sql,
            store_id,
            appended,
            touched,
            writes,
            code_key,
            carried,
        }
    }

    /// The highest booking number whose creation the index flush carried: every booking
    /// numbered up to it is in the index or was changed since (its creation then went to the
    /// outbox). Read once per instance ([`RECOVER_CARRIED_FLOOR`]), then kept in memory.
    pub fn carried_floor(&self) -> Result<i64, String> {
        if let Some(floor) = self.carried.get() {
            return Ok(floor);
        }
        let rows: Vec<Sum> = self.query(RECOVER_CARRIED_FLOOR, Vec::new())?;
        let floor = rows.first().and_then(|r| r.n).unwrap_or(0);
        self.carried.set(Some(floor));
        Ok(floor)
    }

    /// Raises the floor of carried creations to `number` (never lowers it), after a flush
    /// the index confirmed. Memory only: the next booking's row records it.
    pub fn raise_carried_floor(&self, number: i64) -> Result<(), String> {
        let floor = self.carried_floor()?;
        self.carried.set(Some(floor.max(number)));
        Ok(())
    }

    /// Whether the index flush has work ([`FLUSH_PENDING`]).
    pub fn flush_pending(&self) -> Result<bool, String> {
        let floor = self.carried_floor()?;
        Ok(self.count(FLUSH_PENDING, vec![floor.into()])? > 0)
    }

    /// The store's key for derived codes; made (and kept in `meta`, in the caller's
    /// transaction) when there is none and `create`, else `None` when there is none.
    fn code_key(&self, create: bool) -> Result<Option<CodeKey>, String> {
        if let Some(key) = self.code_key.get() {
            return Ok(Some(key));
        }
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        let stored: Vec<Row> = self.query(
            "SELECT value FROM meta WHERE key = ?",
            vec![CODE_KEY.into()],
        )?;
        let key = match stored.first() {
            Some(row) => Some(parse_key(&row.value)?),
            None if create => {
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&OsRandom.next_u64()?.to_le_bytes());
                key[8..].copy_from_slice(&OsRandom.next_u64()?.to_le_bytes());
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                self.exec_write(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    vec![CODE_KEY.into(), hex.into()],
                )?;
                Some(key)
            }
            None => None,
        };
        self.code_key.set(key);
        Ok(key)
    }

    /// Runs a statement that writes and counts the rows it wrote.
    fn exec_write(&self, q: &str, args: Vec<SqlStorageValue>) -> Result<(), String> {
        let cursor = self.sql.exec(q, args).map_err(err)?;
        self.count_written(&cursor);
        Ok(())
    }

    /// [`query`](Self::query) for a statement that writes (`... RETURNING`), counting its rows.
    fn query_write<T: for<'de> Deserialize<'de>>(
        &self,
        q: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, String> {
        let cursor = self.sql.exec(q, args).map_err(err)?;
        let rows = cursor.to_array().map_err(err)?;
        self.count_written(&cursor);
        Ok(rows)
    }

    fn count_written(&self, cursor: &SqlCursor) {
        self.writes
            .record(u64::try_from(cursor.rows_written()).unwrap_or(u64::MAX));
    }

    fn query<T: for<'de> Deserialize<'de>>(
        &self,
        q: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, String> {
        self.sql
            .exec(q, args)
            .and_then(|c| c.to_array())
            .map_err(err)
    }

    fn entries_where(
        &self,
        clause: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<WaitEntry>, String> {
        let q = format!(
            "SELECT id, owner, slot_start, slot_end, party_size, status, created_at, updated_at,
               offer_expires_at, booking_id FROM waitlist WHERE {clause}"
        );
        self.query::<EntryRow>(&q, args)?
            .into_iter()
            .map(EntryRow::into_entry)
            .collect()
    }

    /// Notes a waiting-list change: like an outbox write, it makes the call arm the alarm,
    /// whose run decides when offers expire and bookings are released, and the live feed
    /// sends the slot it changed (held and waiting counts).
    fn touch(&self, range: Slot) {
        self.appended.set(true);
        self.touched.borrow_mut().range(range);
    }

    /// [`bookings_where`](Self::bookings_where) without the per-store numbers.
    fn unnumbered(&self, clause: &str, args: Vec<SqlStorageValue>) -> Result<Vec<Booking>, String> {
        Ok(self
            .bookings_where(clause, args)?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    fn bookings_where(
        &self,
        clause: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<(i64, Booking)>, String> {
        let q = format!("SELECT {BOOKING_COLUMNS} FROM bookings WHERE {clause}");
        self.query::<BookingRow>(&q, args)?
            .into_iter()
            .map(BookingRow::into_booking)
            .collect()
    }

    /// A `count(*)`/`sum(...)` query's single value `n` (0 for no rows or NULL).
    fn count(&self, q: &str, args: Vec<SqlStorageValue>) -> Result<u32, String> {
        let rows: Vec<Sum> = self.query(q, args)?;
        Ok(rows
            .first()
            .and_then(|r| r.n)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Bookings (with numbers) whose slot starts in `[from, to)`, by start then number.
    pub fn bookings_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, Booking)>, String> {
        self.bookings_where(
            "slot_start >= ? AND slot_start < ? ORDER BY slot_start, number",
            vec![from.timestamp().into(), to.timestamp().into()],
        )
    }

    /// The booked ranges (`[slot_start, slot_end)`, people summed per distinct range) of the
    /// confirmed and checked-in bookings that overlap `[from, to)`, for an [`OverlapSweep`]
    /// over a listing's slots.
    ///
    /// [`OverlapSweep`]: safemarket_engine::OverlapSweep
    pub fn held_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Slot, u32)>, String> {
        // One string (`start:end:people,...`) instead of a row object per range: a 31-day
        // listing of a busy store has thousands of them, and every row object is decoded field
        // by field across the JS boundary.
        #[derive(Deserialize)]
        struct Packed {
            packed: Option<String>,
        }
        let q = format!(
            "SELECT group_concat(slot_start || ':' || slot_end || ':' || n) AS packed FROM (
                 SELECT slot_start, slot_end, sum(party_size) AS n FROM bookings
                 WHERE {HOLDING_OVERLAP}
                 GROUP BY slot_start, slot_end)"
        );
        let rows: Vec<Packed> = self.query(&q, overlap_args(from, to))?;
        let packed = rows.into_iter().next().and_then(|r| r.packed);
        unpack_held(packed.as_deref().unwrap_or(""))
    }

    /// Offered waiting-list entries overlapping `[from, to)` with their party sizes (the
    /// places they hold), for listings.
    pub fn offered_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Slot, u32)>, String> {
        self.entries_overlapping("offered", from, to)
    }

    /// Waiting entries overlapping `[from, to)` with their party sizes, for listings.
    pub fn waiting_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Slot, u32)>, String> {
        self.entries_overlapping("waiting", from, to)
    }

    /// Entries in `status` overlapping `[from, to)`: few per store (the waiting list of full
    /// slots), so plain rows.
    fn entries_overlapping(
        &self,
        status: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Slot, u32)>, String> {
        let mut args = overlap_args(from, to);
        args.push(status.into());
        Ok(self
            .entries_where(
                "slot_start > ? AND slot_start < ? AND slot_end > ? AND status = ?",
                args,
            )?
            .into_iter()
            .map(|e| (e.slot(), e.party_size))
            .collect())
    }

    /// People booked (confirmed and checked in) and people checked in, of the bookings that
    /// overlap `slot`: the occupancy of the slot in progress.
    pub fn occupancy_counts(&self, slot: Slot) -> Result<(u32, u32), String> {
        #[derive(Deserialize)]
        struct Counts {
            booked: Option<i64>,
            checked_in: Option<i64>,
        }
        let q = format!(
            "SELECT sum(party_size) AS booked,
                    sum(CASE WHEN status = 'checked_in' THEN party_size END) AS checked_in
             FROM bookings WHERE {HOLDING_OVERLAP}"
        );
        let rows: Vec<Counts> = self.query(&q, overlap_args(slot.start, slot.end))?;
        let people = |n: Option<i64>| n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        Ok(rows
            .first()
            .map_or((0, 0), |r| (people(r.booked), people(r.checked_in))))
    }

    /// Active bookings (confirmed, not ended at `now`).
    pub fn active(&self, now: DateTime<Utc>) -> Result<Vec<Booking>, String> {
        // The start's lower bound is implied by the end's and turns a scan of every booking
        // kept into a range of `bookings_by_slot` (see [`HOLDING_OVERLAP`]).
        let now = now.timestamp();
        self.unnumbered(
            "slot_start > ? AND slot_end > ? AND status = 'confirmed' ORDER BY slot_start, number",
            vec![(now - MAX_SLOT_LENGTH.num_seconds()).into(), now.into()],
        )
    }

    /// The per-store number of the stored booking `id`: the one a numbered id carries, else
    /// the stored row's.
    pub fn number_of(&self, id: &str) -> Result<i64, String> {
        let key = IdKey::of(id);
        if let IdKey::Numbered(number, _) = key {
            return Ok(number);
        }
        let q = format!("SELECT number FROM bookings WHERE {}", key.clause());
        self.query::<NumberRow>(&q, key.args(Vec::new()))?
            .first()
            .map(|r| r.number)
            .ok_or_else(|| format!("booking {id} vanished"))
    }

    /// Runs a booking write ending in `RETURNING number` and appends the booking's new state
    /// (with `event`, the event the change is) to the outbox in the same synchronous step, so
    /// neither the D1 index nor a webhook can miss it.
    fn write(
        &mut self,
        q: &str,
        args: Vec<SqlStorageValue>,
        b: &Booking,
        event: Option<EventType>,
    ) -> Result<(), String> {
        let number = self
            .query_write::<NumberRow>(q, args)?
            .first()
            .map(|r| r.number)
            .ok_or_else(|| format!("booking {} vanished", b.id))?;
        let entry = IndexEntry {
            store_id: self.store_id.to_string(),
            number,
            booking: b.clone(),
            event: event.map(|t| stamp(t, b.updated_at)),
        };
        self.append(&OutboxItem::Index(entry))?;
        Ok(())
    }

    /// A fresh id for the next booking, carrying the number [`INSERT_BOOKING`] will give it
    /// (the command's transaction makes one booking per id it asks for).
    pub fn next_booking_id(&self, rng: &mut dyn RandomSource) -> Result<String, String> {
        let number = self
            .query::<NumberRow>(NEXT_NUMBER, Vec::new())?
            .first()
            .map(|r| r.number)
            .ok_or("no next booking number")?;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&rng.next_u64()?.to_le_bytes());
        random[8..].copy_from_slice(&rng.next_u64()?.to_le_bytes()[..2]);
        numbered_id(number, random)
    }

    /// Appends one row to the outbox (the caller's transaction commits it with its change).
    fn append(&self, item: &OutboxItem) -> Result<(), String> {
        let payload = serde_json::to_string(item).map_err(|e| e.to_string())?;
        self.exec_write(APPEND_OUTBOX, vec![payload.into()])?;
        self.appended.set(true);
        Ok(())
    }

    /// Appends an event that changes no booking.
    fn append_event(
        &self,
        event_type: EventType,
        at: DateTime<Utc>,
        subject: EventSubject,
    ) -> Result<(), String> {
        self.append(&OutboxItem::Event(EventRecord {
            store_id: self.store_id.to_string(),
            event: stamp(event_type, at),
            subject,
        }))
    }

    /// Confirmed bookings not reminded yet whose slot starts in `(from, to]` (the reminder
    /// window, [`safemarket_engine::reminders::due_window`]).
    pub fn unreminded_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Booking>, String> {
        self.unnumbered(
            "slot_start > ? AND slot_start <= ? AND status = 'confirmed' AND reminded = 0
             ORDER BY slot_start, number",
            vec![from.timestamp().into(), to.timestamp().into()],
        )
    }

    /// The earliest slot start after `t` of a confirmed booking not reminded yet.
    pub fn next_unreminded_start_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let rows: Vec<Sum> = self.query(
            "SELECT min(slot_start) AS n FROM bookings
             WHERE status = 'confirmed' AND reminded = 0 AND slot_start > ?",
            vec![t.timestamp().into()],
        )?;
        rows.first().and_then(|r| r.n).map(instant).transpose()
    }

    /// Records the `booking.reminder` event of `b` at `now` and flags it reminded, in one
    /// step (the caller's transaction), so it is sent exactly when it is recorded.
    pub fn remind(&self, b: &Booking, now: DateTime<Utc>) -> Result<(), String> {
        let key = IdKey::of(&b.id);
        self.exec_write(
            &format!("UPDATE bookings SET reminded = 1 WHERE {}", key.clause()),
            key.args(Vec::new()),
        )?;
        self.append_event(
            EventType::BookingReminder,
            now,
            EventSubject::Booking(b.clone()),
        )
    }

    /// Bookings whose slot starts in `[from, to)`, by `(slot_start, id)`, after `after`, at
    /// most `limit` (the export's pages).
    pub fn export_page(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        limit: u32,
    ) -> Result<Vec<Booking>, String> {
        let (after_start, after_id) = after.unwrap_or((from, ""));
        self.unnumbered(
            "slot_start >= ? AND slot_start < ? AND (slot_start > ? OR (slot_start = ? AND id > ?))
             ORDER BY slot_start, id LIMIT ?",
            vec![
                from.timestamp().into(),
                to.timestamp().into(),
                after_start.timestamp().into(),
                after_start.timestamp().into(),
                after_id.into(),
                i64::from(limit).into(),
            ],
        )
    }

    /// Bookings whose slot ended before `cutoff`, oldest first, at most `limit`.
    pub fn ended_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(i64, Booking)>, String> {
        let floor = self.carried_floor()?;
        self.bookings_where(
            ENDED_BEFORE,
            vec![cutoff.timestamp().into(), floor.into(), limit.into()],
        )
    }

    /// End of the booking that ended first, if any booking is stored.
    pub fn oldest_end(&self) -> Result<Option<DateTime<Utc>>, String> {
        let rows: Vec<Sum> = self.query(OLDEST_END, vec![MAX_SLOT_LENGTH.num_seconds().into()])?;
        rows.first().and_then(|r| r.n).map(instant).transpose()
    }

    /// Deletes bookings by id (after they were archived). The highest number given so far
    /// is kept first as `meta.booking_number_floor`, so the numbers of the deleted bookings
    /// are never given again, and the floor of carried creations in `meta`, as the rows
    /// deleted may be the newest, whose record of it a new instance would read.
    pub fn delete_bookings(&self, ids: &[&str]) -> Result<(), String> {
        self.exec_write(
            super::sync::RAISE_FLOOR,
            vec![CARRIED_FLOOR_KEY.into(), self.carried_floor()?.into()],
        )?;
        self.exec_write(
            "INSERT INTO meta (key, value)
             SELECT 'booking_number_floor', CAST(m AS TEXT)
             FROM (SELECT max(number) AS m FROM bookings) WHERE m IS NOT NULL
             ON CONFLICT (key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER),
               CAST(excluded.value AS INTEGER)) AS TEXT)",
            Vec::new(),
        )?;
        for id in ids {
            let key = IdKey::of(id);
            self.exec_write(
                &format!("DELETE FROM bookings WHERE {}", key.clause()),
                key.args(Vec::new()),
            )?;
        }
        Ok(())
    }

    /// Confirmed and checked-in bookings of `owner` starting at or after `from`, by start.
    pub fn owner_bookings_from(
        &self,
        owner: &Owner,
        from: DateTime<Utc>,
    ) -> Result<Vec<(i64, Booking)>, String> {
        self.bookings_where(
            "owner = ? AND slot_start >= ? AND status IN ('confirmed', 'checked_in') ORDER BY slot_start, number",
            vec![owner.to_storage().into(), from.timestamp().into()],
        )
    }

    /// A booking by its per-store number.
    pub fn by_number(&self, number: i64) -> Result<Option<Booking>, String> {
        Ok(self
            .bookings_where("number = ?", vec![number.into()])?
            .into_iter()
            .next()
            .map(|(_, b)| b))
    }

    /// A booking with its per-store number.
    pub fn get_numbered(&self, id: &str) -> Result<Option<(i64, Booking)>, String> {
        let key = IdKey::of(id);
        Ok(self
            .bookings_where(key.clause(), key.args(Vec::new()))?
            .into_iter()
            .next())
    }
}

impl SqlInventory<'_> {
    /// Inserts a new booking with its idempotency record in the same row (one row and its
    /// index entries, instead of a second table's row and index entries).
    fn insert_row(
        &mut self,
        b: &Booking,
        record: Option<&IdempotencyRecord>,
    ) -> Result<(), String> {
        self.touched.borrow_mut().range(b.slot());
        let number =
            number_in_id(&b.id).ok_or_else(|| format!("booking id {} carries no number", b.id))?;
        // No outbox row: the flush carries the new booking from this row (`uncarried!`).
        self.appended.set(true);
        self.exec_write(
            INSERT_BOOKING,
            vec![
                b.id.as_str().into(),
                b.code.as_str().into(),
                b.owner.as_ref().map(Owner::to_storage).into(),
                b.guest_name.clone().into(),
                b.guest_phone.clone().into(),
                b.slot_start.timestamp().into(),
                b.slot_end.timestamp().into(),
                i64::from(b.party_size).into(),
                b.status.as_str().into(),
                b.created_at.timestamp().into(),
                b.updated_at.timestamp().into(),
                record.map(|r| r.key.clone()).into(),
                record.map(|r| r.fingerprint.clone()).into(),
                number.into(),
                i64::from(self.is_derived(number, &b.code)?).into(),
                self.carried_floor()?.into(),
            ],
        )
    }

    /// Whether `code` is the one derived from `number` (not a random one).
    fn is_derived(&self, number: i64, code: &str) -> Result<bool, String> {
        Ok(self
            .code_key(false)?
            .and_then(|key| code_of_number(&key, number))
            .is_some_and(|derived| derived.as_str() == code))
    }

    /// The arguments of [`BY_CODE`] for `code`: the number it is derived from (0, which no
    /// booking has, without a key or for a malformed code), then the code twice.
    fn by_code_args(&self, code: &str) -> Result<Vec<SqlStorageValue>, String> {
        let number = match (self.code_key(false)?, parse_code(code)) {
            (Some(key), Ok(code)) => number_of_code(&key, &code),
            _ => 0,
        };
        Ok(vec![number.into(), code.into(), code.into()])
    }

    /// Bookings whose creation the index flush carries from their rows (`uncarried!`), by
    /// number, at most `limit`.
    pub fn uncarried(&self, limit: i64) -> Result<Vec<(i64, Booking)>, String> {
        let floor = self.carried_floor()?;
        self.bookings_where(UNCARRIED_BY_NUMBER, vec![floor.into(), limit.into()])
    }

    /// The highest booking number stored, if any.
    pub fn max_number(&self) -> Result<Option<i64>, String> {
        let rows: Vec<Sum> = self.query("SELECT max(number) AS n FROM bookings", Vec::new())?;
        Ok(rows.first().and_then(|r| r.n))
    }
}

impl Inventory for SqlInventory<'_> {
    type Error = String;

    fn booked_people(&self, slot: Slot) -> Result<u32, String> {
        self.count(
            &format!("SELECT sum(party_size) AS n FROM bookings WHERE {HOLDING_OVERLAP}"),
            overlap_args(slot.start, slot.end),
        )
    }

    fn active_bookings(&self, owner: &Owner, now: DateTime<Utc>) -> Result<u32, String> {
        self.count("SELECT count(*) AS n FROM bookings WHERE owner = ? AND status = 'confirmed' AND slot_end > ?", vec![owner.to_storage().into(), now.timestamp().into()])
    }

    fn code_in_use(&self, code: &str) -> Result<bool, String> {
        Ok(self.count(
            &format!("SELECT count(*) AS n FROM bookings WHERE {BY_CODE} AND status = 'confirmed'"),
            self.by_code_args(code)?,
        )? > 0)
    }

    fn derived_code(&self, id: &str) -> Result<Option<String>, String> {
        if number_in_id(id).is_none() {
            return Ok(None);
        }
        Ok(self
            .code_key(true)?
            .and_then(|key| code_of_id(&key, id))
            .map(String::from))
    }

    fn get(&self, id: &str) -> Result<Option<Booking>, String> {
        Ok(self.get_numbered(id)?.map(|(_, b)| b))
    }

    fn get_by_code(&self, code: &str) -> Result<Option<Booking>, String> {
        // Codes are unique among confirmed bookings; after that, the most recent use wins.
        Ok(self
            .bookings_where(
                &format!("{BY_CODE} ORDER BY (status = 'confirmed') DESC, number DESC LIMIT 1"),
                self.by_code_args(code)?,
            )?
            .into_iter()
            .next()
            .map(|(_, b)| b))
    }

    fn insert(&mut self, b: &Booking) -> Result<(), String> {
        self.insert_row(b, None)
    }

    fn insert_keyed(&mut self, b: &Booking, record: &IdempotencyRecord) -> Result<(), String> {
        if record.booking_id != b.id || b.owner.as_ref() != Some(&record.owner) {
            return Err(format!(
                "idempotency record of another booking than {}",
                b.id
            ));
        }
        self.insert_row(b, Some(record))
    }

    fn update(&mut self, b: &Booking) -> Result<(), String> {
        // The row as it was (one primary-key read): a reschedule frees its old range, and an
        // update that changes neither range nor status (anonymising past bookings on erasure)
        // changes no count, so watchers hear nothing of it.
        #[derive(Deserialize)]
        struct Before {
            owner: Option<String>,
            slot_start: i64,
            slot_end: i64,
            status: String,
            uncarried: i64,
        }
        let key = IdKey::of(&b.id);
        let before = self
            .query::<Before>(
                &format!(
                    concat!(
                        "SELECT owner, slot_start, slot_end, status, (",
                        uncarried!(),
                        ") AS uncarried FROM bookings WHERE {}"
                    ),
                    key.clause()
                ),
                key.args(vec![self.carried_floor()?.into()]),
            )?
            .into_iter()
            .next();
        let mut event = None;
        if let Some(before) = &before {
            if before.uncarried != 0 {
                // Its creation is only in its row, which this change overwrites: to the
                // outbox first, ahead of the change. A change that takes the owner away
                // (erasure) takes it from the creation too: nothing names them after it.
                if let Some((number, mut created)) = self.get_numbered(&b.id)? {
                    if b.owner.is_none() {
                        created.owner = None;
                    }
                    let entry = IndexEntry::creation(self.store_id, number, created);
                    self.append(&OutboxItem::Index(entry))?;
                }
            }
            let old = Slot {
                start: instant(before.slot_start)?,
                end: instant(before.slot_end)?,
            };
            if old != b.slot() || before.status != b.status.as_str() {
                let mut touched = self.touched.borrow_mut();
                touched.range(old);
                touched.range(b.slot());
            }
            event = booking_event(Some((old, before.status.parse()?)), b);
        }
        // Only the columns that change: SQLite rewrites the index entries of every indexed
        // column an `UPDATE` sets, changed or not, and each is a row written. A change of
        // status (cancel, check-in, no-show) so writes the row alone (schema version 12 took
        // `status` out of the indexes); a move also the slot's and the owner's entries, and
        // is reminded again for the new slot; an erasure the owner's entry.
        let owner = b.owner.as_ref().map(Owner::to_storage);
        let mut sets = String::from("creation_queued = 1, status = ?, updated_at = ?");
        let mut args: Vec<SqlStorageValue> =
            vec![b.status.as_str().into(), b.updated_at.timestamp().into()];
        let (start, end) = (b.slot_start.timestamp(), b.slot_end.timestamp());
        if before.as_ref().is_none_or(|x| x.slot_start != start) {
            sets.push_str(", slot_start = ?, reminded = 0");
            args.push(start.into());
        }
        if before.as_ref().is_none_or(|x| x.slot_end != end) {
            sets.push_str(", slot_end = ?");
            args.push(end.into());
        }
        if before.as_ref().is_none_or(|x| x.owner != owner) {
            sets.push_str(", owner = ?");
            args.push(owner.into());
        }
        self.write(
            &format!(
                "UPDATE bookings SET {sets} WHERE {} RETURNING number",
                key.clause()
            ),
            key.args(args),
            b,
            event,
        )
    }

    fn idempotency_get(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, String> {
        // The newest booking of the owner with this key: an expired key may have been used
        // again, and the later use is the record. The owner's bookings in this store are few
        // (the active-booking limit, the archive after 30 days) and `bookings_by_owner` finds
        // them, so the key needs no index of its own (which would be a row written per booking).
        #[derive(Deserialize)]
        struct Row {
            idem_fingerprint: String,
            id: String,
            created_at: i64,
        }
        let rows: Vec<Row> = self.query(
            "SELECT idem_fingerprint, id, created_at FROM bookings
             WHERE owner = ? AND idem_key = ? ORDER BY number DESC LIMIT 1",
            vec![owner.to_storage().into(), key.into()],
        )?;
        rows.into_iter()
            .next()
            .map(|r| {
                Ok(IdempotencyRecord {
                    owner: owner.clone(),
                    key: key.to_string(),
                    fingerprint: r.idem_fingerprint,
                    booking_id: r.id,
                    created_at: instant(r.created_at)?,
                })
            })
            .transpose()
    }

    fn idempotency_put(&mut self, r: &IdempotencyRecord) -> Result<(), String> {
        // Records live in their booking's row; new bookings get theirs with the insert
        // (`insert_keyed`), so this only serves a record for a booking already stored.
        let key = IdKey::of(&r.booking_id);
        self.exec_write(
            &format!(
                "UPDATE bookings SET idem_key = ?, idem_fingerprint = ? WHERE owner = ? AND {}",
                key.clause()
            ),
            key.args(vec![
                r.key.as_str().into(),
                r.fingerprint.as_str().into(),
                r.owner.to_storage().into(),
            ]),
        )
    }

    fn idempotency_forget(&mut self, owner: &Owner) -> Result<(), String> {
        self.exec_write(
            "UPDATE bookings SET idem_key = NULL, idem_fingerprint = NULL
             WHERE owner = ? AND idem_key IS NOT NULL",
            vec![owner.to_storage().into()],
        )
    }

    fn bookings_of(&self, owner: &Owner) -> Result<Vec<Booking>, String> {
        self.unnumbered(
            "owner = ? ORDER BY slot_start",
            vec![owner.to_storage().into()],
        )
    }

    fn confirmed_started_by(
        &self,
        t: DateTime<Utc>,
        ended_after: DateTime<Utc>,
    ) -> Result<Vec<Booking>, String> {
        self.unnumbered(STARTED_BY, started_by_args(t, ended_after))
    }

    fn next_confirmed_start_after(
        &self,
        t: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let rows: Vec<Sum> = self.query(
            "SELECT min(slot_start) AS n FROM bookings WHERE status = 'confirmed' AND slot_start > ?",
            vec![t.timestamp().into()],
        )?;
        rows.first().and_then(|r| r.n).map(instant).transpose()
    }

    fn held_people(&self, slot: Slot) -> Result<u32, String> {
        self.count(
            "SELECT sum(party_size) AS n FROM waitlist
             WHERE status = 'offered' AND slot_start > ? AND slot_start < ? AND slot_end > ?",
            overlap_args(slot.start, slot.end),
        )
    }

    fn open_entries(&self, slot_start: DateTime<Utc>) -> Result<Vec<WaitEntry>, String> {
        self.entries_where(
            "slot_start = ? AND status IN ('waiting', 'offered') ORDER BY seq",
            vec![slot_start.timestamp().into()],
        )
    }

    fn waiting(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, String> {
        self.entries_where(
            "status = 'waiting' AND slot_end > ? ORDER BY seq",
            vec![now.timestamp().into()],
        )
    }

    fn all_open_entries(&self) -> Result<Vec<WaitEntry>, String> {
        self.entries_where("status IN ('waiting', 'offered') ORDER BY seq", Vec::new())
    }

    fn offers_expired(&self, now: DateTime<Utc>) -> Result<Vec<WaitEntry>, String> {
        self.entries_where(
            "status = 'offered' AND offer_expires_at <= ? ORDER BY seq",
            vec![now.timestamp().into()],
        )
    }

    fn next_offer_expiry(&self) -> Result<Option<DateTime<Utc>>, String> {
        let rows: Vec<Sum> = self.query(
            "SELECT min(offer_expires_at) AS n FROM waitlist WHERE status = 'offered'",
            Vec::new(),
        )?;
        rows.first().and_then(|r| r.n).map(instant).transpose()
    }

    fn entries_of(&self, owner: &Owner) -> Result<Vec<WaitEntry>, String> {
        self.entries_where("owner = ? ORDER BY seq", vec![owner.to_storage().into()])
    }

    fn entry(&self, id: &str) -> Result<Option<WaitEntry>, String> {
        Ok(self
            .entries_where("id = ?", vec![id.into()])?
            .into_iter()
            .next())
    }

    fn entry_insert(&mut self, e: &WaitEntry) -> Result<(), String> {
        self.exec_write(
            "INSERT INTO waitlist (id, owner, slot_start, slot_end, party_size, status,
                   created_at, updated_at, offer_expires_at, booking_id)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                e.id.as_str().into(),
                e.owner.as_ref().map(Owner::to_storage).into(),
                e.slot_start.timestamp().into(),
                e.slot_end.timestamp().into(),
                i64::from(e.party_size).into(),
                e.status.as_str().into(),
                e.created_at.timestamp().into(),
                e.updated_at.timestamp().into(),
                e.offer_expires_at.map(|t| t.timestamp()).into(),
                e.booking_id.clone().into(),
            ],
        )?;
        self.touch(e.slot());
        Ok(())
    }

    fn entry_update(&mut self, e: &WaitEntry) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Before {
            status: String,
        }
        let before = self
            .query::<Before>(
                "SELECT status FROM waitlist WHERE id = ?",
                vec![e.id.as_str().into()],
            )?
            .into_iter()
            .next()
            .map(|r| r.status.parse::<EntryStatus>())
            .transpose()?;
        if let Some(event_type) = entry_event(before, e) {
            self.append_event(event_type, e.updated_at, EventSubject::Entry(e.clone()))?;
        }
        self.exec_write(
            "UPDATE waitlist SET owner = ?, status = ?, updated_at = ?, offer_expires_at = ?,
                   booking_id = ? WHERE id = ?",
            vec![
                e.owner.as_ref().map(Owner::to_storage).into(),
                e.status.as_str().into(),
                e.updated_at.timestamp().into(),
                e.offer_expires_at.map(|t| t.timestamp()).into(),
                e.booking_id.clone().into(),
                e.id.as_str().into(),
            ],
        )?;
        self.touch(e.slot());
        Ok(())
    }

    fn confirmed_from(&self, from: DateTime<Utc>) -> Result<Vec<Booking>, String> {
        self.unnumbered(
            "status = 'confirmed' AND slot_start >= ?",
            vec![from.timestamp().into()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{overlap_args, unpack_held, OutboxItem, Slot};
    use chrono::DateTime;
    use worker::SqlStorageValue;

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// Bound arguments that must all be integers, as integers.
    fn integers(args: Vec<SqlStorageValue>) -> Vec<i64> {
        args.into_iter()
            .map(|v| match v {
                SqlStorageValue::Integer(n) => n,
                other => panic!("not an integer: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn numbers_continue_above_archived_bookings() {
        // The next-number query and the insert as the object runs them, on the current
        // schema: numbers go on from the highest stored one, or from the floor the archive
        // recorded when higher.
        let script = format!(
            r#"
db = sqlite3.connect(":memory:")
for sql in MIGRATIONS:
    db.executescript(sql)
insert = {insert:?}
def book(i):
    n = db.execute({next:?}).fetchone()[0]
    args = (f"b{{i}}", "C", "user:u", None, None, 10, 20, 1, "confirmed", 5, 5, f"k{{i}}", "fp", n, 0, 0)
    db.execute(insert, args)
    return db.execute("SELECT number FROM bookings WHERE id = ?", (f"b{{i}}",)).fetchone()[0]
print(book(1), book(2))
db.execute("INSERT INTO meta VALUES ('booking_number_floor', '7')")
db.execute("DELETE FROM bookings")
print(book(3), book(4))
"#,
            insert = super::INSERT_BOOKING,
            next = super::NEXT_NUMBER,
        );
        assert_eq!(
            crate::object::schema::python_sqlite(&script).trim(),
            "1 2\n8 9"
        );
    }

    #[test]
    fn ids_are_found_by_row_id_or_by_the_index_of_random_ids_alone() {
        // A booking with a random (version 4) id from before schema version 7, and two with
        // numbered ids after it: each lookup finds its own row, the numbered ones by row id,
        // the random one through `bookings_by_random_id`, which holds that row alone.
        let random_id = "0d9b6f1e-3c2a-4b7d-9e8f-1a2b3c4d5e6f";
        let numbered: Vec<String> = (2..=3)
            .map(|n| safemarket_engine::booking_ids::numbered_id(n, [n as u8; 10]).unwrap())
            .collect();
        let (a, b) = (super::IdKey::of(random_id), super::IdKey::of(&numbered[0]));
        assert!(matches!(a, super::IdKey::Random(_)));
        assert!(matches!(b, super::IdKey::Numbered(2, _)));
        let script = format!(
            r#"{db}
db.execute(row, (1, {random_id:?}))
db.executescript(MIGRATIONS[6])
db.execute(row, (2, {n2:?}))
db.execute(row, (3, {n3:?}))
for (clause, args) in (({random:?}, ({random_id:?},)), ({by_number:?}, (2, {n2:?})), ({by_number:?}, (3, {n2:?}))):
    q = "SELECT number FROM bookings WHERE " + clause
    print(db.execute(q, args).fetchall(), "|".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + q, args)))
db.execute("ANALYZE")
print(db.execute("SELECT idx, stat FROM sqlite_stat1 WHERE idx = 'bookings_by_random_id'").fetchall())
print(db.execute("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'bookings' AND name LIKE 'sqlite_autoindex%'").fetchone()[0])
"#,
            db = crate::object::schema::python_db_at(6),
            random = a.clause(),
            by_number = b.clause(),
            n2 = numbered[0],
            n3 = numbered[1],
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "[(1,)] SEARCH bookings USING COVERING INDEX bookings_by_random_id (id=?)",
                "[(2,)] SEARCH bookings USING INTEGER PRIMARY KEY (rowid=?)",
                // Another booking's number with this id: no row.
                "[] SEARCH bookings USING INTEGER PRIMARY KEY (rowid=?)",
                "[('bookings_by_random_id', '1 1')]",
                "0",
            ],
            "{out}"
        );
    }

    #[test]
    fn new_bookings_are_carried_from_their_rows_above_the_floor() {
        // Two bookings at version 7 (their creations went through the outbox), then version
        // 8 and three new ones, of which the second changed (its creation queued in the
        // outbox): above the floor, the flush reads the other two by a row-id range; the
        // archive leaves them alone until the floor passes them.
        let script = format!(
            r#"{db}
for n in (1, 2):
    db.execute(row, (n, f"b{{n}}"))
for sql in MIGRATIONS[7:]:
    db.executescript(sql)
print(db.execute({recover:?}).fetchone()[0])
for n in (3, 4, 5):
    db.execute(row, (n, f"b{{n}}"))
db.execute("UPDATE bookings SET creation_queued = 1 WHERE number = 4")
fresh = "SELECT number FROM bookings WHERE " + {fresh:?}
ended = "SELECT number FROM bookings WHERE " + {ended:?}
def state(floor):
    print(db.execute(fresh, (floor, 10)).fetchall(), db.execute(ended, (30, floor, 10)).fetchall(), db.execute({pending:?}, (floor,)).fetchone()[0])
print(" | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + fresh, (2, 10))))
print(db.execute(fresh, (2, 1)).fetchall())
state(2)
state(5)
db.execute("INSERT INTO outbox (seq, payload) VALUES (1, 'x')")
state(5)
"#,
            db = crate::object::schema::python_db_at(7),
            recover = super::RECOVER_CARRIED_FLOOR,
            fresh = super::UNCARRIED_BY_NUMBER,
            ended = super::ENDED_BEFORE,
            pending = super::FLUSH_PENDING,
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "2",
                "SEARCH bookings USING INTEGER PRIMARY KEY (rowid>?)",
                "[(3,)]",
                "[(3,), (5,)] [(1,), (2,), (4,)] 1",
                "[] [(1,), (2,), (3,), (4,), (5,)] 0",
                "[] [(1,), (2,), (3,), (4,), (5,)] 1",
            ],
            "{out}"
        );
    }

    #[test]
    fn a_new_instance_starts_from_the_floor_in_meta_or_the_newest_rows_record() {
        // The floor a new instance reads: none at all; the one the archive persisted in
        // `meta` (a raise that never lowers it, nor writes at the same height); the newest
        // booking's record once that is higher (rows from before version 11 record none);
        // and the persisted one again when the newest rows were archived.
        let script = format!(
            r#"{db}
recover = {recover:?}
def book(n, floor):
    db.execute({insert:?}, (f"b{{n}}", "C", "user:u", None, None, 10, 20, 1, "confirmed", 5, 5, None, None, n, 0, floor))
out = [db.execute(recover).fetchone()[0]]
out.append([db.execute({raise_floor:?}, ({key:?}, n)).rowcount for n in (4, 3, 4)])
out.append(db.execute(recover).fetchone()[0])
book(5, None)
out.append(db.execute(recover).fetchone()[0])
book(6, 5)
book(7, 6)
out.append(db.execute(recover).fetchone()[0])
db.execute("DELETE FROM bookings WHERE number >= 6")
out.append(db.execute(recover).fetchone()[0])
print(out)
"#,
            db = crate::object::schema::python_db_at(crate::object::schema::MIGRATIONS.len()),
            recover = super::RECOVER_CARRIED_FLOOR,
            insert = super::INSERT_BOOKING,
            raise_floor = crate::object::sync::RAISE_FLOOR,
            key = super::CARRIED_FLOOR_KEY,
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(out.trim(), "[0, [1, 0, 0], 4, 4, 6, 4]", "{out}");
    }

    #[test]
    fn the_release_reads_only_the_bookings_of_the_days_it_looks_back_over() {
        // Started by 1,000 and ended after 500 (the engine's look-back): of a booking that
        // ended before, one in the window, one started just before 1,000, one checked in
        // and one not started, the query finds the two confirmed in the window, through a
        // range of `bookings_by_slot` bounded on both sides.
        let args = integers(super::started_by_args(at(1000), at(500)));
        let script = format!(
            r#"{db}
rows = [(1, 100, 400, "confirmed"), (2, 400, 600, "confirmed"), (3, 900, 1100, "confirmed"),
        (4, 950, 1050, "checked_in"), (5, 1100, 1200, "confirmed")]
for n, start, end, status in rows:
    db.execute({insert:?}, (f"b{{n}}", "C", "user:u", None, None, start, end, 1, status, 5, 5, None, None, n, 0, 0))
q = "SELECT number FROM bookings WHERE " + {started:?}
args = {args:?}
print(db.execute(q, args).fetchall())
print(" | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + q, args)))
"#,
            db = crate::object::schema::python_db_at(crate::object::schema::MIGRATIONS.len()),
            insert = super::INSERT_BOOKING,
            started = super::STARTED_BY,
            args = args,
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "[(2,), (3,)]",
                "SEARCH bookings USING INDEX bookings_by_slot (slot_start>? AND slot_start<?)",
            ],
            "{out}"
        );
    }

    #[test]
    fn the_oldest_end_is_found_among_the_first_slots_without_a_scan() {
        // Bookings of random starts and lengths up to the longest slot: the bounded query
        // gives what `min(slot_end)` over all of them gives, and reads a range of
        // `bookings_by_slot` (its first entries), not every booking kept.
        let script = format!(
            r#"{db}
import random
rng = random.Random(20)
longest = {longest}
for trial in range(50):
    db.execute("DELETE FROM bookings")
    for n in range(1, rng.randint(1, 40) + 1):
        start = rng.randint(0, 10 * longest)
        end = start + rng.randint(60, longest)
        db.execute(row, (n, f"b{{n}}"))
        db.execute("UPDATE bookings SET slot_start = ?, slot_end = ? WHERE number = ?", (start, end, n))
    got = db.execute({oldest:?}, (longest,)).fetchone()[0]
    want = db.execute("SELECT min(slot_end) FROM bookings").fetchone()[0]
    assert got == want, (trial, got, want)
print(db.execute({oldest:?}, (longest,)).fetchone()[0] is not None)
print(" | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + {oldest:?}, (longest,))))
db.execute("DELETE FROM bookings")
print(db.execute({oldest:?}, (longest,)).fetchone()[0])
"#,
            db = crate::object::schema::python_db_at(crate::object::schema::MIGRATIONS.len()),
            longest = safemarket_engine::MAX_SLOT_LENGTH.num_seconds(),
            oldest = super::OLDEST_END,
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "True",
                "SEARCH bookings USING INDEX bookings_by_slot (slot_start<?) | SCALAR SUBQUERY 1 | \
                 SEARCH bookings USING COVERING INDEX bookings_by_slot",
                "None",
            ],
            "{out}"
        );
    }

    #[test]
    fn codes_are_found_by_number_or_by_the_index_of_random_codes_alone() {
        // A booking with a random code from before schema version 9, then two whose codes
        // are derived (3) or random (4, as when the derived one was taken): each lookup finds
        // its row, a derived code by row id, a random one through `bookings_by_random_code`,
        // which holds only the random codes.
        let script = format!(
            r#"{db}
db.execute(row, (1, "b1"))
db.execute("UPDATE bookings SET code = 'OLD' WHERE number = 1")
db.executescript(MIGRATIONS[8])
db.execute(row, (3, "b3"))
db.execute("UPDATE bookings SET code = 'DER', code_derived = 1 WHERE number = 3")
db.execute(row, (4, "b4"))
db.execute("UPDATE bookings SET code = 'RND' WHERE number = 4")
q = "SELECT number FROM bookings WHERE " + {by_code:?}
for args in ((0, "OLD", "OLD"), (3, "DER", "DER"), (4, "DER", "DER"), (7, "RND", "RND"), (3, "RND", "RND")):
    print(db.execute(q, args).fetchall())
print(" | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + q, (3, "DER", "DER"))))
print(db.execute("SELECT count(*) FROM bookings INDEXED BY bookings_by_random_code WHERE code_derived = 0 AND code > ''").fetchone()[0])
print(db.execute("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'bookings' ORDER BY name)").fetchone()[0])
"#,
            db = crate::object::schema::python_db_at(8),
            by_code = super::BY_CODE,
        );
        let out = crate::object::schema::python_sqlite(&script);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "[(1,)]",
                "[(3,)]",
                // Another number's derived code: no row.
                "[]",
                "[(4,)]",
                "[(4,)]",
                "SEARCH bookings USING INTEGER PRIMARY KEY (rowid=?) | LIST SUBQUERY 2 | \
                 COMPOUND QUERY | LEFT-MOST SUBQUERY | SCAN CONSTANT ROW | UNION ALL | \
                 SEARCH bookings USING INDEX bookings_by_random_code (code=?)",
                "2",
                "bookings_by_owner bookings_by_random_code bookings_by_random_id bookings_by_slot",
            ],
            "{out}"
        );
    }

    #[test]
    fn packed_ranges_round_trip() {
        assert_eq!(unpack_held(""), Ok(vec![]));
        assert_eq!(
            unpack_held("1798761600:1798763400:3,1798762200:1798765800:10000,-60:0:1"),
            Ok(vec![
                (
                    Slot {
                        start: at(1_798_761_600),
                        end: at(1_798_763_400)
                    },
                    3
                ),
                (
                    Slot {
                        start: at(1_798_762_200),
                        end: at(1_798_765_800)
                    },
                    10_000
                ),
                (
                    Slot {
                        start: at(-60),
                        end: at(0)
                    },
                    1
                ),
            ])
        );
        assert!(unpack_held("12:13").is_err());
        assert!(unpack_held("12:13:x").is_err());
        assert!(unpack_held("12:13:1:4").is_err());
    }

    #[test]
    fn outbox_rows_of_either_kind_and_of_before_events_parse() {
        let booking = serde_json::json!({
            "id": "b", "code": "ABCDEFGH", "owner": null, "guest_name": null,
            "guest_phone": null, "slot_start": "2027-01-15T08:00:00Z",
            "slot_end": "2027-01-15T08:30:00Z", "party_size": 1, "status": "confirmed",
            "created_at": "2027-01-15T07:00:00Z", "updated_at": "2027-01-15T07:00:00Z"
        });
        // A row written before events existed: indexed, no event.
        let old = serde_json::json!({"store_id": "s", "number": 3, "booking": booking});
        let item: OutboxItem = serde_json::from_value(old).unwrap();
        assert!(matches!(&item, OutboxItem::Index(e) if e.number == 3));
        assert!(item.event().is_none());
        let stamp = serde_json::json!({
            "id": "evt", "type": "booking.created", "created_at": "2027-01-15T07:00:00Z"
        });
        let indexed = serde_json::json!({
            "store_id": "s", "number": 3, "booking": booking, "event": stamp
        });
        let item: OutboxItem = serde_json::from_value(indexed).unwrap();
        let event = item.event().unwrap();
        assert_eq!(
            (event.store_id.as_str(), event.event.id.as_str()),
            ("s", "evt")
        );
        // An event alone (a reminder) is no index row.
        let reminder = serde_json::json!({
            "store_id": "s",
            "event": {"id": "evt2", "type": "booking.reminder", "created_at": "2027-01-15T07:30:00Z"},
            "subject": {"booking": booking}
        });
        let item: OutboxItem = serde_json::from_value(reminder).unwrap();
        assert!(matches!(item, OutboxItem::Event(_)));
        assert_eq!(item.event().unwrap().event.id, "evt2");
    }

    #[test]
    fn overlap_search_starts_one_longest_slot_early() {
        let args = integers(overlap_args(at(36_000), at(37_800)));
        // 240 minutes before the start: a 4-hour booking ending exactly at the start does not
        // overlap, one ending a second later does and starts after the bound.
        assert_eq!(args, [36_000 - 240 * 60, 37_800, 36_000]);
    }
}
