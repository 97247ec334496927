//! "My bookings": this browser's upcoming bookings at this store, each with "Change time"
//! (move it: choose another time above, then "Move here") and "Cancel booking". Read from
//! `GET /me/bookings`, whose index may trail a booking or a cancellation by a few seconds, so
//! what this page did itself is merged in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::BookingView;
use safemarket_api::page::Page;
use safemarket_web::{http, time};

use crate::i18n::{lang, t};
use crate::{people_words, result, Book};

fn load(book: Book) {
    let (id, l) = (book.store_id(), lang().get_untracked());
    spawn_local(async move {
        let path = "/api/v1/me/bookings?scope=upcoming&limit=200";
        match http::get::<Page<BookingView>>(l, path).await {
            Ok(page) => {
                let gone = book.gone.get_untracked();
                let mut list: Vec<BookingView> = page
                    .items
                    .into_iter()
                    .filter(|b| b.store_id == id && !gone.contains(&b.id))
                    .collect();
                for here in book.mine.get_untracked() {
                    if !list.iter().any(|b| b.id == here.id) {
                        list.push(here);
                    }
                }
                list.sort_by(|a, b| a.slot_start.cmp(&b.slot_start));
                book.mine.set(list);
            }
            Err(f) => book.problems.show(f),
        }
    });
}

/// The section.
#[component]
pub fn MyBookings(book: Book) -> impl IntoView {
    Effect::new(move |_| {
        book.user.track();
        if book.ready.get() {
            load(book);
        }
    });
    let row = move |b: BookingView| {
        let zone = book.zone();
        let at = format!(
            "{} {}",
            time::short_day(&b.slot_start, &zone, lang().get().tag()),
            time::clock(&b.slot_start, &zone)
        );
        let (for_move, for_cancel) = (b.clone(), b.clone());
        view! {
            <li>
                <span class="when">{at}</span>
                " · "<span>{people_words(b.party_size)}</span>
                " · "<span class="code">{b.code.clone()}</span>
                <span class="row-actions">
                    <button type="button" class="secondary" on:click=move |_| {
                        book.result.set(None);
                        book.moving.set(Some(for_move.clone()));
                        if let Some(el) = web_sys::window()
                            .and_then(|w| w.document())
                            .and_then(|d| d.get_element_by_id("times-heading"))
                        {
                            el.scroll_into_view();
                        }
                    }>{t("change_time")}</button>
                    <button type="button" class="danger" on:click=move |_| {
                        spawn_local(result::cancel(book, for_cancel.clone()))
                    }>{t("cancel_booking")}</button>
                </span>
            </li>
        }
    };
    view! {
        <section class="mine" aria-labelledby="mine-heading">
            <h2 id="mine-heading">{move || t("my_bookings")}</h2>
            {move || {
                let list = book.mine.get();
                if list.is_empty() {
                    view! { <p>{t("none_yet")}</p> }.into_any()
                } else {
                    view! { <ul class="bookings">{list.into_iter().map(row).collect_view()}</ul> }.into_any()
                }
            }}
        </section>
    }
}
