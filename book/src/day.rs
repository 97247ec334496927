//! The day: "Date", one button per time (its local `HH:MM` and the places free; a full one
//! disabled, with "Join waiting list"), "People", and "Book" (or "Move here" while a booking
//! is being moved). Live from the store's feed, and polled as a fallback.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::{BookRequest, BookingView, RescheduleRequest};
use safemarket_api::live::{LiveMessage, SlotItem};
use safemarket_api::page::Page;
use safemarket_api::waitlist::WaitlistEntry;
use safemarket_web::{http, live, time};

use crate::i18n::{fill, lang, t};
use crate::Book;

/// How often the day and the waiting-list entry are read again, whatever the feed says (a
/// dropped socket, a proxy without WebSockets).
const POLL: Duration = Duration::from_secs(20);

/// The most people one booking may name on this page.
const MAX_PARTY: u32 = 10;

/// `HH:MM` of a slot in the store's zone: the API writes its local start with the offset.
pub fn hh_mm(slot: &SlotItem) -> String {
    slot.local_start.get(11..16).unwrap_or_default().to_string()
}

/// The accessible name of a slot's button: its time first, then the places free.
fn slot_words(slot: &SlotItem) -> String {
    let time = hh_mm(slot);
    match slot.available {
        0 => fill("full", &[("time", &time)]),
        1 => fill("free_one", &[("time", &time)]),
        n => fill("free_many", &[("time", &time), ("n", &n.to_string())]),
    }
}

/// Reads the day shown again.
pub fn load(book: Book) {
    let (id, day, l) = (
        book.store_id(),
        book.date.get_untracked(),
        lang().get_untracked(),
    );
    spawn_local(async move {
        let path = format!("/api/v1/stores/{id}/slots?from={day}&to={day}");
        match http::get::<Page<SlotItem>>(l, &path).await {
            Ok(page) if book.date.get_untracked() == day => book.slots.set(page.items),
            Ok(_) => {}
            Err(f) => book.problems.show(f),
        }
    });
}

/// Reads the waiting-list entry again (an offer may have come).
pub fn reload_entry(book: Book) {
    let Some(entry) = book.entry.get_untracked() else {
        return;
    };
    let l = lang().get_untracked();
    spawn_local(async move {
        let path = format!("/api/v1/stores/{}/waitlist/{}", entry.store_id, entry.id);
        if let Ok(fresh) = http::get::<WaitlistEntry>(l, &path).await {
            if book
                .entry
                .with_untracked(|e| e.as_ref().map(|e| e.id.clone()))
                == Some(fresh.id.clone())
            {
                book.entry.set(Some(fresh));
            }
        }
    });
}

fn apply(book: Book, today: &str, message: LiveMessage) {
    match message {
        LiveMessage::Snapshot { slots, .. } if book.date.get_untracked() == today => {
            book.slots.set(slots)
        }
        LiveMessage::Slot { item } => {
            let watched = book
                .entry
                .with_untracked(|e| e.as_ref().is_some_and(|e| e.slot_start == item.start));
            book.slots.update(|list| {
                if let Some(s) = list.iter_mut().find(|s| s.start == item.start) {
                    *s = item;
                }
            });
            if watched {
                reload_entry(book);
            }
        }
        _ => {}
    }
}

async fn book_slot(book: Book, slot_start: String) {
    if !book.session().await {
        return;
    }
    let l = lang().get_untracked();
    let id = book.store_id();
    let moving = book.moving.get_untracked();
    let answer = match &moving {
        Some(b) => {
            let body = RescheduleRequest { slot_start };
            let path = format!("/api/v1/stores/{id}/bookings/{}/reschedule", b.id);
            http::call::<BookingView, _>(l, "POST", &path, Some(&body)).await
        }
        None => {
            let body = BookRequest {
                slot_start,
                party_size: Some(i64::from(book.people.get_untracked())),
                guest: None,
            };
            let path = format!("/api/v1/stores/{id}/bookings");
            http::call::<BookingView, _>(l, "POST", &path, Some(&body)).await
        }
    };
    match answer {
        Ok(booking) => {
            book.moving.set(None);
            book.chosen.set(None);
            book.show_booking(booking, moving.is_some());
        }
        Err(f) => book.problems.show(f),
    }
    load(book);
}

async fn join(book: Book, slot_start: String) {
    if !book.session().await {
        return;
    }
    let l = lang().get_untracked();
    let body = BookRequest {
        slot_start,
        party_size: Some(i64::from(book.people.get_untracked())),
        guest: None,
    };
    let path = format!("/api/v1/stores/{}/waitlist", book.store_id());
    match http::call::<WaitlistEntry, _>(l, "POST", &path, Some(&body)).await {
        Ok(entry) => {
            book.problems.clear();
            book.entry.set(Some(entry));
        }
        Err(f) => book.problems.show(f),
    }
}

/// One time of the day.
#[component]
fn SlotRow(book: Book, item: SlotItem) -> impl IntoView {
    let slot = item;
    let start = slot.start.clone();
    let full = slot.available == 0;
    let pressed = {
        let start = start.clone();
        move || (book.chosen.get().as_deref() == Some(start.as_str())).to_string()
    };
    let choose = {
        let start = start.clone();
        move |_| {
            book.problems.clear();
            book.chosen.set(Some(start.clone()));
        }
    };
    let words = {
        let slot = slot.clone();
        move || slot_words(&slot)
    };
    view! {
        <li class:full=full>
            <button type="button" class="slot" aria-pressed=pressed disabled=full on:click=choose>
                {words}
            </button>
            {full.then(|| {
                let start = start.clone();
                view! {
                    <button type="button" class="secondary" on:click=move |_| {
                        spawn_local(join(book, start.clone()))
                    }>{move || t("join_waitlist")}</button>
                }
            })}
        </li>
    }
}

/// The day section.
#[component]
pub fn Day(book: Book) -> impl IntoView {
    let today = time::today_in(&book.zone());
    book.date.set(today.clone());
    load(book);
    {
        let today = today.clone();
        live::watch(book.store_id(), move |m| apply(book, &today, m));
    }
    let poll = set_interval_with_handle(
        move || {
            load(book);
            reload_entry(book);
        },
        POLL,
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = poll {
            handle.clear();
        }
    });
    // Times already over are not offered (the API would refuse them).
    let visible = move || {
        let now = time::now_utc();
        book.slots
            .get()
            .into_iter()
            .filter(|s| s.end.as_str() > now.as_str())
            .collect::<Vec<_>>()
    };
    let most = move || {
        book.slots
            .with(|list| list.iter().map(|s| s.capacity).max().unwrap_or(1))
            .clamp(1, MAX_PARTY)
    };
    let act = move |_| match book.chosen.get_untracked() {
        Some(start) => spawn_local(book_slot(book, start)),
        None => book.say("choose_slot"),
    };
    view! {
        <section class="day" aria-labelledby="times-heading">
            <h2 id="times-heading">{move || t("times")}</h2>
            <label class="field">
                {move || t("date")}
                <input
                    type="date"
                    min=today.clone()
                    prop:value=move || book.date.get()
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if !v.is_empty() {
                            book.date.set(v);
                            book.chosen.set(None);
                            book.slots.set(Vec::new());
                            load(book);
                        }
                    }
                />
            </label>
            {move || book.moving.get().map(|b| view! {
                <p class="moving">
                    {fill("moving", &[("code", &b.code)])}
                    " "
                    <button type="button" class="secondary" on:click=move |_| book.moving.set(None)>
                        {t("keep")}
                    </button>
                </p>
            })}
            {move || {
                visible().is_empty().then(|| view! { <p>{t("no_slots")}</p> })
            }}
            // Keyed by the counts too: a changed time is drawn anew, the others keep their
            // elements (and the keyboard focus).
            <ul class="slots">
                <For
                    each=visible
                    key=|s| (s.start.clone(), s.available, s.capacity)
                    children=move |slot| view! { <SlotRow book=book item=slot /> }
                />
            </ul>
            <div class="act">
                <Show when=move || book.moving.with(Option::is_none)>
                    <label class="field">
                        {move || t("people")}
                        <select on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                                book.people.set(n);
                            }
                        }>
                            {move || (1..=most()).map(|n| view! {
                                <option value=n.to_string() selected=move || book.people.get() == n>{n}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </Show>
                <button type="button" class="primary" on:click=act>
                    {move || if book.moving.with(Option::is_some) { t("move_here") } else { t("book") }}
                </button>
            </div>
            {book.problems.view()}
        </section>
    }
}
