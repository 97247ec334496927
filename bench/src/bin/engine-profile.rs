//! Native timing of the pure engine work behind the two requests whose budgets depend on it:
//! the 31-day slot listing (expansion, formatting, the object -> Worker -> client JSON) and a
//! booking's slot lookup. Native x86 code is faster than the same code as wasm in workerd, so
//! these are lower bounds; what they show is where the time goes.
//!
//! Usage: `cargo run --release -p safemarket-bench --bin engine-profile`

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use safemarket_engine::protocol::SlotView;
use safemarket_engine::zone::Tz;
use safemarket_engine::{
    format_utc, render_slot_listing, slot_at, slots_between, Schedule, Slot, SlotCounts,
};
use serde::Serialize;
use serde_json::json;

/// The client's slot item as a struct (what the handler could serialise instead of `json!`).
#[derive(Serialize)]
struct ClientSlot<'a> {
    start: String,
    end: String,
    local_start: &'a str,
    capacity: u32,
    booked: u32,
    available: u32,
}

#[derive(Serialize)]
struct ClientPage<'a> {
    items: Vec<ClientSlot<'a>>,
    next_cursor: Option<String>,
}

/// Runs `f` for at least `min` (and at least 3 times) and returns the median time per call.
fn time<T>(min: Duration, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 3 || (started.elapsed() < min && samples.len() < 10_000) {
        let t = Instant::now();
        black_box(f());
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn all_day(slot_minutes: u32) -> Schedule {
    let weekly: Vec<_> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "open": "00:00", "close": "24:00"}))
        .collect();
    let input = json!({
        "slot_minutes": slot_minutes, "capacity": 10000, "horizon_days": 60,
        "max_active_bookings_per_user": 1000, "weekly": weekly, "exceptions": [],
    });
    serde_json::from_value(input).expect("a valid schedule")
}

fn views(slots: &[Slot], tz: Tz) -> Vec<SlotView> {
    slots
        .iter()
        .map(|s| {
            let counts = SlotCounts {
                booked: 3,
                ..SlotCounts::default()
            };
            SlotView::new(*s, 10_000, counts, tz)
        })
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:8.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let min = Duration::from_millis(500);
    let schedule = all_day(10);
    let from = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
    let to = NaiveDate::from_ymd_opt(2027, 3, 31).expect("date");
    println!("31-day listing, 10-minute slots, all day (median per listing, native):");
    for tz in [
        Tz::UTC,
        safemarket_engine::zone::tzdb::zone("Europe/Berlin"),
    ] {
        let slots = slots_between(&schedule, tz, from, to);
        let items = views(&slots, tz);
        let reply: Vec<SlotView> = items.clone();
        let wire = serde_json::to_string(&reply).expect("serialise");
        println!(
            "  {tz} ({} slots, {} bytes object -> Worker)",
            slots.len(),
            wire.len()
        );
        let t_expand = time(min, || slots_between(&schedule, tz, from, to));
        let t_render = time(min, || {
            render_slot_listing(&slots, 10_000, tz, |s| SlotCounts {
                booked: u32::try_from(s.start.timestamp() % 7).unwrap_or(0),
                ..SlotCounts::default()
            })
        });
        // The path before the object rendered the client's JSON: typed views, the reply
        // encoded by the object, decoded by the Worker and encoded again for the client.
        let t_views = time(min, || views(&slots, tz));
        let t_encode = time(min, || serde_json::to_string(&reply));
        let t_decode = time(min, || serde_json::from_str::<Vec<SlotView>>(&wire));
        let t_struct = time(min, || {
            let items = items
                .iter()
                .map(|s| ClientSlot {
                    start: format_utc(s.start),
                    end: format_utc(s.end),
                    local_start: &s.local_start,
                    capacity: s.capacity,
                    booked: s.booked,
                    available: s.available,
                })
                .collect();
            serde_json::to_string(&ClientPage {
                items,
                next_cursor: None,
            })
        });
        println!("    expand slots (slots_between)        {}", ms(t_expand));
        println!("    object renders the client's JSON    {}", ms(t_render));
        println!(
            "    before: views + encode + decode + encode {}",
            ms(t_views + t_encode + t_decode + t_struct)
        );
        println!(
            "    total (expand + render)             {}",
            ms(t_expand + t_render)
        );
    }
    println!("booking: slot lookup (slot_at expands the neighbouring days), median per call:");
    for tz in [
        Tz::UTC,
        safemarket_engine::zone::tzdb::zone("Europe/Berlin"),
    ] {
        let start = tz
            .with_ymd_and_hms(2027, 3, 10, 12, 0, 0)
            .single()
            .expect("instant")
            .with_timezone(&Utc);
        let t = time(min, || slot_at(&schedule, tz, start));
        println!("  {tz:16} {}", ms(t));
    }
}
