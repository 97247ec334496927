//! "Webhooks" (API.md "Notifications out"): list, add (the secret shown once), remove, and the
//! recent deliveries of each.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::page::Page;
use safemarket_api::stores::Store;
use safemarket_api::webhooks::{CreateWebhook, Delivery, Webhook, EVENTS};

use super::keys::ShownOnce;
use super::Problems;
use crate::http;
use crate::i18n::{lang, t};

#[component]
fn Deliveries(store_id: String, webhook_id: String) -> impl IntoView {
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
                        view! { <li>{format!("{} · {} · {} {} · {}", d.at, d.kind, t("attempt"), d.attempt, result)}</li> }
                    }).collect_view()}
                </ul>
            }.into_any()
        })}
    }
}

/// "Webhooks" of a store (owner).
#[component]
pub fn Webhooks(store: Store) -> impl IntoView {
    let hooks = RwSignal::new(Vec::<Webhook>::new());
    let url = RwSignal::new(String::new());
    let events = RwSignal::new(vec!["booking.created".to_string()]);
    let secret = RwSignal::new(None::<String>);
    let problems = Problems::new();
    let id = store.id.clone();
    let load = {
        let id = id.clone();
        move || {
            let (id, l) = (id.clone(), lang().get_untracked());
            spawn_local(async move {
                match http::get::<Page<Webhook>>(l, &format!("/api/v1/stores/{id}/webhooks")).await
                {
                    Ok(p) => hooks.set(p.items),
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    load();
    let submit = {
        let (id, load) = (id.clone(), load.clone());
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let (id, l, load) = (id.clone(), lang().get_untracked(), load.clone());
            let body = CreateWebhook {
                url: url.get_untracked(),
                events: events.get_untracked(),
            };
            spawn_local(async move {
                match http::call::<Webhook, _>(
                    l,
                    "POST",
                    &format!("/api/v1/stores/{id}/webhooks"),
                    Some(&body),
                )
                .await
                {
                    Ok(w) => {
                        problems.clear();
                        url.set(String::new());
                        secret.set(w.secret);
                        load();
                    }
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    let remove = {
        let id = id.clone();
        move |hook: String| {
            let (id, l, load) = (id.clone(), lang().get_untracked(), load.clone());
            spawn_local(async move {
                match http::call::<(), ()>(
                    l,
                    "DELETE",
                    &format!("/api/v1/stores/{id}/webhooks/{hook}"),
                    None,
                )
                .await
                {
                    Ok(()) => load(),
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    view! {
        <h2>{move || t("webhooks")}</h2>
        <ul class="list">
            {move || hooks.get().into_iter().map(|w| {
                let (r, wid) = (remove.clone(), w.id.clone());
                view! {
                    <li>
                        <div><code>{w.url.clone()}</code>" · "{w.events.join(", ")}</div>
                        <button type="button" class="secondary" on:click=move |_| r(wid.clone())>{t("remove")}</button>
                        <Deliveries store_id=id.clone() webhook_id=w.id.clone() />
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
