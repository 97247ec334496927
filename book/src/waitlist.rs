//! This browser's place on the waiting list of a full time: its position while waiting, an
//! offer with a countdown and "Accept offer" when places free up (the entry is read again on
//! every change of that time in the live feed, and polled), and "Leave waiting list".

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::BookingView;
use safemarket_api::waitlist::WaitlistEntry;
use safemarket_web::{http, time};

use crate::i18n::{fill, lang, t};
use crate::{day, Book};

/// `m:ss` of a countdown.
fn minutes_seconds(ms: f64) -> String {
    let total = (ms / 1000.0).max(0.0).floor() as u64;
    format!("{}:{:02}", total / 60, total % 60)
}

async fn accept(book: Book, entry: WaitlistEntry) {
    let l = lang().get_untracked();
    let path = format!(
        "/api/v1/stores/{}/waitlist/{}/accept",
        entry.store_id, entry.id
    );
    match http::call::<BookingView, ()>(l, "POST", &path, None).await {
        Ok(booking) => {
            book.entry.set(None);
            book.show_booking(booking, false);
        }
        Err(f) => {
            book.problems.show(f);
            day::reload_entry(book);
        }
    }
    day::load(book);
}

async fn leave(book: Book, entry: WaitlistEntry) {
    let l = lang().get_untracked();
    let path = format!("/api/v1/stores/{}/waitlist/{}", entry.store_id, entry.id);
    match http::call::<(), ()>(l, "DELETE", &path, None).await {
        Ok(()) => book.entry.set(None),
        Err(f) => book.problems.show(f),
    }
}

/// The entry, while there is one.
#[component]
pub fn Waiting(book: Book) -> impl IntoView {
    // A clock for the countdown, ticking only while an offer is open.
    let now = RwSignal::new(0u64);
    let tick = set_interval_with_handle(
        move || {
            if book
                .entry
                .with_untracked(|e| e.as_ref().is_some_and(|e| e.status == "offered"))
            {
                now.update(|n| *n += 1);
            }
        },
        Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = tick {
            handle.clear();
        }
    });
    move || {
        let entry = book.entry.get()?;
        let at = time::clock(&entry.slot_start, &book.zone());
        let (e1, e2) = (entry.clone(), entry.clone());
        let leave_button = move || {
            let e = e2.clone();
            view! {
                <button type="button" class="secondary" on:click=move |_| {
                    spawn_local(leave(book, e.clone()))
                }>{t("leave")}</button>
            }
        };
        Some(match entry.status.as_str() {
            "offered" => {
                let expires = entry.offer_expires_at.clone().unwrap_or_default();
                let words = {
                    let (at, expires) = (at.clone(), expires.clone());
                    move || {
                        now.track();
                        let left = minutes_seconds(time::millis_until(&expires));
                        fill("offered", &[("time", &at), ("left", &left)])
                    }
                };
                view! {
                    <section role="status" class="waitlist offer" aria-labelledby="offer-words">
                        <p id="offer-words">{words}</p>
                        <button type="button" class="primary" on:click=move |_| {
                            spawn_local(accept(book, e1.clone()))
                        }>{t("accept")}</button>
                        " "
                        {leave_button()}
                    </section>
                }
                .into_any()
            }
            "waiting" => {
                let n = entry.position.unwrap_or(1).to_string();
                view! {
                    <section role="status" class="waitlist" aria-labelledby="waiting-words">
                        <p id="waiting-words">{fill("waiting", &[("time", &at), ("n", &n)])}</p>
                        {leave_button()}
                    </section>
                }
                .into_any()
            }
            "expired" => view! {
                <p role="status" class="notice">{fill("expired", &[("time", &at)])}</p>
            }
            .into_any(),
            // Accepted (the booking is shown) or left: nothing more to say here.
            _ => return None,
        })
    }
}
