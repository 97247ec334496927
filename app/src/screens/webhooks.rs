//! "Webhooks" (API.md "Notifications out"): list, add (the secret shown once), remove, and the
//! recent deliveries of each.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::page::Page;
use safemarket_api::stores::Store;
use safemarket_api::webhooks::{CreateWebhook, Delivery, Webhook, EVENTS};

use super::collection::Collection;
use super::keys::ShownOnce;
use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, time};

#[component]
fn Deliveries(store_id: String, webhook_id: String, zone: String) -> impl IntoView {
    let list = RwSignal::new(None::<Vec<Delivery>>);
    let problems = Problems::new();
    let show = move |_| {
        let (s, w, l) = (store_id.clone(), webhook_id.clone(), lang().get_untracked());
        spawn_local(async move {
            let path = format!("/api/v1/stores/{s}/webhooks/{w}/deliveries");
            match http::get::<Page<Delivery>>(l, &path).await {
                Ok(p) => list.set(Some(p.items)),
                Err(f) => problems.show(f),
            }
        });
    };
    view! {
        <button type="button" class="secondary" on:click=show>{move || t("show_deliveries")}</button>
        {problems.view()}
        {move || list.get().map(|items| if items.is_empty() {
            view! { <p>{t("no_deliveries")}</p> }.into_any()
        } else {
            view! {
                <ul aria-label=t("deliveries")>
                    {items.into_iter().map(|d| {
                        let result = d.status_code.map(|c| c.to_string()).or(d.error.clone()).unwrap_or_default();
                        let at = time::local_date_time(&d.at, &zone, lang().get().tag());
                        view! { <li>{format!("{at} · {} · {} {} · {}", d.kind, t("attempt"), d.attempt, result)}</li> }
                    }).collect_view()}
                </ul>
            }.into_any()
        })}
    }
}

/// "Webhooks" of a store (owner).
#[component]
pub fn Webhooks(store: Store) -> impl IntoView {
    let hooks = Collection::<Webhook>::new(format!("/api/v1/stores/{}/webhooks", store.id), "");
    let url = RwSignal::new(String::new());
    let events = RwSignal::new(vec!["booking.created".to_string()]);
    let secret = RwSignal::new(None::<String>);
    let problems = hooks.problems;
    let id = store.id.clone();
    let zone = store.timezone.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = CreateWebhook {
            url: url.get_untracked(),
            events: events.get_untracked(),
        };
        hooks.create(body, move |w: Webhook| {
            url.set(String::new());
            secret.set(w.secret);
        });
    };
    view! {
        <h2>{move || t("webhooks")}</h2>
        <ul class="list">
            {move || hooks.items.get().into_iter().map(|w| {
                let wid = w.id.clone();
                view! {
                    <li>
                        <div><code>{w.url.clone()}</code>" · "{w.events.join(", ")}</div>
                        <button type="button" class="secondary" on:click=move |_| hooks.remove(&wid)>{t("remove")}</button>
                        <Deliveries store_id=id.clone() webhook_id=w.id.clone() zone=zone.clone() />
                    </li>
                }
            }).collect_view()}
        </ul>
        {move || secret.get().map(|s| view! { <ShownOnce label="secret" secret=s /> })}
        <form on:submit=submit class="card">
            <label>
                {move || t("url")}
                <input type="url" required prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev)) />
            </label>
            <fieldset>
                <legend>{move || t("events")}</legend>
                {EVENTS.iter().map(|event| {
                    let event: &'static str = event;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || events.get().iter().any(|e| e == event)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    events.update(|list| {
                                        list.retain(|e| e != event);
                                        if on { list.push(event.to_string()); }
                                    });
                                } />
                            {event}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            {problems.view()}
            <button type="submit">{move || t("add_webhook")}</button>
        </form>
    }
}
