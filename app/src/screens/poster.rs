//! "Poster": a printable A4 page for the store's door or window with its name and a QR code
//! of its booking page (`{origin}/book/{store_id}`). The Worker draws the QR code
//! (`GET /stores/{id}/poster-qr.svg`), so the app carries no QR encoder; print styles
//! (`@page` A4) leave out the app's bar and navigation.

use leptos::prelude::*;
use safemarket_api::stores::Store;

use crate::i18n::t;

/// The poster of `store`.
#[component]
pub fn Poster(store: Store) -> impl IntoView {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let url = format!("{origin}/book/{}", store.id);
    let qr = format!("/api/v1/stores/{}/poster-qr.svg", store.id);
    view! {
        <section class="poster" aria-labelledby="poster-heading">
            <p class="poster-lead" id="poster-heading">{move || t("poster_lead")}</p>
            <p class="poster-name">{store.name.clone()}</p>
            <img class="poster-qr" src=qr alt=move || t("poster_qr") width="320" height="320" />
            <p class="poster-how">{move || t("poster_how")}</p>
            <p class="poster-url">{url}</p>
            <button type="button" class="no-print" on:click=|_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.print();
                }
            }>{move || t("print")}</button>
        </section>
    }
}
