//! "Today": the bookings of a day (any date) with check-in and no-show per confirmed row,
//! reloaded whenever the store's live feed reports a change.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::bookings::{BookingView, CheckInRequest};
use safemarket_api::page::Page;
use safemarket_api::stores::Store;

use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, live, time};

fn status_word(status: &str) -> &'static str {
    match status {
        "confirmed" => t("confirmed"),
        "checked_in" => t("checked_in"),
        "cancelled" => t("cancelled"),
        "no_show" => t("no_show_status"),
        _ => t("status"),
    }
}

/// "Today": "Date", the day's table, "Check in" / "No-show" per confirmed row.
#[component]
pub fn Today(store: Store) -> impl IntoView {
    let zone = store.timezone.clone();
    let date = RwSignal::new(time::today_in(&zone));
    let rows = RwSignal::new(None::<Vec<BookingView>>);
    let problems = Problems::new();
    let id = store.id.clone();
    let load = {
        let id = id.clone();
        move || {
            let (id, day, l) = (id.clone(), date.get_untracked(), lang().get_untracked());
            spawn_local(async move {
                let path = format!("/api/v1/stores/{id}/bookings?date={day}&limit=200");
                match http::get::<Page<BookingView>>(l, &path).await {
                    Ok(page) if date.get_untracked() == day => rows.set(Some(page.items)),
                    Ok(_) => {}
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    load();
    {
        let load = load.clone();
        live::watch(id.clone(), move |_| load());
    }
    let act = {
        let (id, load) = (id.clone(), load.clone());
        move |booking: BookingView, no_show: bool| {
            let (id, l, load) = (id.clone(), lang().get_untracked(), load.clone());
            spawn_local(async move {
                let answer = if no_show {
                    let path = format!("/api/v1/stores/{id}/bookings/{}/no-show", booking.id);
                    http::call::<BookingView, ()>(l, "POST", &path, None).await
                } else {
                    let body = CheckInRequest {
                        code: booking.code.clone(),
                    };
                    let path = format!("/api/v1/stores/{id}/check-ins");
                    http::call::<BookingView, _>(l, "POST", &path, Some(&body)).await
                };
                match answer {
                    Ok(_) => problems.clear(),
                    Err(f) => problems.show(f),
                }
                load();
            });
        }
    };
    let on_date = {
        let load = load.clone();
        move |ev| {
            let v = event_target_value(&ev);
            if !v.is_empty() {
                date.set(v);
                rows.set(None);
                load();
            }
        }
    };
    view! {
        <h2>{move || t("today")}</h2>
        <label>
            {move || t("date")}
            <input type="date" prop:value=move || date.get() on:change=on_date />
        </label>
        {problems.view()}
        {move || {
            let zone = zone.clone();
            let act = act.clone();
            match rows.get() {
                None => view! { <p>{t("loading")}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p>{t("no_bookings")}</p> }.into_any(),
                Some(list) => view! {
                    <div class="table-wrap">
                    <table>
                        <caption class="visually-hidden">{t("today")}" "{date.get()}</caption>
                        <thead><tr>
                            <th scope="col">{t("time")}</th>
                            <th scope="col">{t("code")}</th>
                            <th scope="col">{t("party_size")}</th>
                            <th scope="col">{t("guest")}</th>
                            <th scope="col">{t("status")}</th>
                            <th scope="col">{t("actions")}</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|b| {
                                let at = time::local_time(&b.slot_start, &zone, lang().get().tag());
                                let confirmed = b.status == "confirmed";
                                let (a1, a2) = (act.clone(), act.clone());
                                let (b1, b2) = (b.clone(), b.clone());
                                view! {
                                    <tr class=format!("status-{}", b.status)>
                                        <td>{at}</td>
                                        <td class="code">{b.code.clone()}</td>
                                        <td>{b.party_size}</td>
                                        <td>{b.guest.as_ref().map(|g| g.name.clone()).unwrap_or_default()}</td>
                                        <td>{status_word(&b.status)}</td>
                                        <td>
                                            <Show when=move || confirmed>
                                                <button type="button" on:click={let (a, b) = (a1.clone(), b1.clone()); move |_| a(b.clone(), false)}>{t("check_in")}</button>
                                                " "
                                                <button type="button" class="secondary" on:click={let (a, b) = (a2.clone(), b2.clone()); move |_| a(b.clone(), true)}>{t("no_show")}</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any(),
            }
        }}
    }
}
