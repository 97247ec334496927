//! The store's "Occupancy" element (the door screen, the booking page's header): people booked
//! and checked in for the slot in progress against its capacity and the fill status in words,
//! live from the store's `/live` feed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::live::LiveMessage;
use safemarket_api::occupancy::{Fill, Occupancy};

use crate::i18n::{lang, t};
use crate::{http, live};

fn fill_word(fill: Fill) -> &'static str {
    match fill {
        Fill::Green => t("green"),
        Fill::Yellow => t("yellow"),
        Fill::Red => t("red"),
    }
}

/// The "Occupancy" element of the store, live from its `/live` feed.
#[component]
pub fn OccupancyView(store_id: String) -> impl IntoView {
    let occupancy = RwSignal::new(None::<Occupancy>);
    let l = lang().get_untracked();
    {
        let id = store_id.clone();
        spawn_local(async move {
            if let Ok(o) =
                http::get::<Occupancy>(l, &format!("/api/v1/stores/{id}/occupancy")).await
            {
                occupancy.set(Some(o));
            }
        });
    }
    live::watch(store_id, move |m| match m {
        LiveMessage::Snapshot { occupancy: o, .. } | LiveMessage::Occupancy(o) => {
            occupancy.set(Some(o))
        }
        _ => {}
    });
    view! {
        <section class="occupancy" aria-label=move || t("occupancy") aria-live="polite">
            <h2>{move || t("occupancy")}</h2>
            {move || occupancy.get().map(|o| {
                let fill = o.fill_status;
                if o.slot_start.is_none() {
                    view! { <p>{t("closed_now")}</p> }.into_any()
                } else {
                    view! {
                        <p class="big">
                            {format!("{} / {}", o.booked, o.capacity)}" "{t("booked")}
                            ", "{format!("{} {}", o.checked_in, t("checked_in"))}
                        </p>
                        <p class=format!("fill fill-{fill:?}").to_lowercase()>{fill_word(fill)}</p>
                    }.into_any()
                }
            })}
        </section>
    }
}
