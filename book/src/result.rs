//! The booking just made: in an element with role `status`, its time and party, the code
//! (big), its QR code (the Worker's `qr.svg`, fetched with the guest's token and shown as a
//! `data:` image), "Add to calendar" (an `.ics` of this one booking) and "Cancel booking".

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::BookingView;
use safemarket_api::ics::{write_calendar, FeedEvent};
use safemarket_web::{http, time};

use crate::i18n::{fill, lang, t};
use crate::{day, people_words, Book};

/// Cancels `booking`, says so, and forgets it here.
pub async fn cancel(book: Book, booking: BookingView) {
    let l = lang().get_untracked();
    let path = format!(
        "/api/v1/stores/{}/bookings/{}",
        booking.store_id, booking.id
    );
    match http::call::<(), ()>(l, "DELETE", &path, None).await {
        Ok(()) => {
            book.problems.clear();
            book.gone.update(|g| g.push(booking.id.clone()));
            book.mine.update(|list| list.retain(|b| b.id != booking.id));
            if book
                .result
                .with_untracked(|r| r.as_ref().is_some_and(|r| r.booking.id == booking.id))
            {
                book.result.set(None);
            }
            if book
                .moving
                .with_untracked(|m| m.as_ref().is_some_and(|m| m.id == booking.id))
            {
                book.moving.set(None);
            }
            book.notice
                .set(Some(fill("cancelled", &[("code", &booking.code)])));
            day::load(book);
        }
        Err(f) => book.problems.show(f),
    }
}

/// `data:` URL of the booking's calendar file, in the language shown.
fn calendar_url(book: Book, b: &BookingView) -> String {
    let (name, address) = book
        .store
        .with_untracked(|s| s.as_ref().map(|s| (s.name.clone(), s.address.clone())))
        .unwrap_or_default();
    let people = people_words(b.party_size);
    let summary = fill("summary", &[("store", &name), ("code", &b.code)]);
    let description = fill("description", &[("code", &b.code), ("people", &people)]);
    // The calendar feed's UID for the same booking: a calendar with both keeps one event.
    let event = FeedEvent {
        uid: format!("{}@safemarket.dev", b.id),
        stamp: b.created_at.clone(),
        start: b.slot_start.clone(),
        end: b.slot_end.clone(),
        summary,
        location: format!("{name}, {address}"),
        description,
        cancelled: false,
        sequence: 0,
    };
    let text = write_calendar(&name, &[event]);
    format!(
        "data:text/calendar;charset=utf-8,{}",
        js_sys::encode_uri_component(&text)
    )
}

/// The result (or the last notice) in one `status` element.
#[component]
pub fn Result(book: Book) -> impl IntoView {
    let qr = RwSignal::new(None::<(String, String)>);
    Effect::new(move |_| {
        let Some(shown) = book.result.get() else {
            return;
        };
        let b = shown.booking;
        if qr.with_untracked(|q| q.as_ref().is_some_and(|(id, _)| *id == b.id)) {
            return;
        }
        let l = lang().get_untracked();
        spawn_local(async move {
            let path = format!("/api/v1/stores/{}/bookings/{}/qr.svg", b.store_id, b.id);
            match http::text(l, &path).await {
                Ok(svg) => qr.set(Some((
                    b.id.clone(),
                    format!(
                        "data:image/svg+xml;charset=utf-8,{}",
                        js_sys::encode_uri_component(&svg)
                    ),
                ))),
                Err(f) => book.problems.show(f),
            }
        });
    });
    move || {
        if let Some(shown) = book.result.get() {
            let b = shown.booking;
            let zone = book.zone();
            let at = format!(
                "{} {}",
                time::short_day(&b.slot_start, &zone, lang().get().tag()),
                time::clock(&b.slot_start, &zone)
            );
            let people = people_words(b.party_size);
            let title = fill(
                if shown.moved {
                    "moved_title"
                } else {
                    "booked_title"
                },
                &[("time", &at), ("people", &people)],
            );
            let file = format!("safemarket-{}.ics", b.code);
            let href = calendar_url(book, &b);
            let (id, code) = (b.id.clone(), b.code.clone());
            let cancel_href = format!("#cancel-{}", b.id);
            Some(
                view! {
                    <section role="status" class="result" aria-labelledby="result-heading">
                        <h2 id="result-heading">{title}</h2>
                        <p>{t("your_code")}</p>
                        <p class="code big">{code}</p>
                        {move || {
                            qr.get()
                                .filter(|(for_id, _)| *for_id == id)
                                .map(|(_, src)| view! {
                                    <img class="qr" src=src alt=t("qr_code") width="240" height="240" />
                                })
                        }}
                        <p class="links">
                            <a href=href download=file>{t("add_calendar")}</a>
                            <a href=cancel_href class="danger" on:click=move |ev: leptos::ev::MouseEvent| {
                                ev.prevent_default();
                                spawn_local(cancel(book, b.clone()));
                            }>{t("cancel_booking")}</a>
                        </p>
                    </section>
                }
                .into_any(),
            )
        } else {
            book.notice
                .get()
                .map(|text| view! { <p role="status" class="notice">{text}</p> }.into_any())
        }
    }
}
