//! "Your stores" and "New store".

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::page::Page;
use safemarket_api::stores::{NewStore as NewStoreBody, Role, Store, CATEGORIES};

use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, navigate, state, time, Link};

/// The role's words.
pub fn role_word(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Owner) => t("owner"),
        _ => t("staff_role"),
    }
}

/// "Your stores": one link per store with name and role, "New store", "Sign out".
#[component]
pub fn YourStores() -> impl IntoView {
    let stores = RwSignal::new(None::<Vec<Store>>);
    let problems = Problems::new();
    let l = lang().get_untracked();
    spawn_local(async move {
        match http::get::<Page<Store>>(l, "/api/v1/me/stores?limit=200").await {
            Ok(page) => stores.set(Some(page.items)),
            Err(f) => problems.show(f),
        }
    });
    let sign_out = move |_| {
        let l = lang().get_untracked();
        spawn_local(async move {
            let _ = http::call::<(), ()>(l, "POST", "/api/v1/auth/logout", None).await;
            http::forget();
            state().user.set(None);
            navigate("/staff/");
        });
    };
    view! {
        <h1>{move || t("your_stores")}</h1>
        {problems.view()}
        {move || match stores.get() {
            None => view! { <p>{t("loading")}</p> }.into_any(),
            Some(list) if list.is_empty() => view! { <p>{t("no_stores")}</p> }.into_any(),
            Some(list) => view! {
                <ul class="stores">
                    {list.into_iter().map(|s| {
                        let href = format!("/staff/s/{}", s.id);
                        let role = s.role;
                        view! {
                            <li>
                                <Link href=href>
                                    <span class="store-name">{s.name.clone()}</span>
                                    " ("{move || role_word(role)}")"
                                </Link>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
        <p class="actions">
            <Link href="/staff/new".into()>{move || t("new_store")}</Link>
            <button type="button" class="secondary" on:click=sign_out>{move || t("sign_out")}</button>
        </p>
    }
}

fn number(raw: &str) -> f64 {
    raw.trim().replace(',', ".").parse().unwrap_or(f64::NAN)
}

/// "New store": Name, Category, Address, Latitude, Longitude, Time zone; "Create store".
#[component]
pub fn NewStore() -> impl IntoView {
    let zone = time::browser_zone();
    let zones = time::zones(&zone);
    let name = RwSignal::new(String::new());
    let category = RwSignal::new("supermarket".to_string());
    let address = RwSignal::new(String::new());
    let lat = RwSignal::new(String::new());
    let lon = RwSignal::new(String::new());
    let tz = RwSignal::new(zone.clone());
    let problems = Problems::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = NewStoreBody {
            name: name.get_untracked(),
            category: category.get_untracked(),
            address: address.get_untracked(),
            latitude: number(&lat.get_untracked()),
            longitude: number(&lon.get_untracked()),
            timezone: tz.get_untracked(),
        };
        // NaN is not JSON: an empty or bad number goes as null and the API names the field.
        let mut json = serde_json::to_value(&body).unwrap_or_default();
        for key in ["latitude", "longitude"] {
            if json[key].is_null() || json[key].as_f64().is_none_or(f64::is_nan) {
                json[key] = serde_json::Value::Null;
            }
        }
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::call::<Store, _>(l, "POST", "/api/v1/stores", Some(&json)).await {
                Ok(store) => navigate(&format!("/staff/s/{}/schedule", store.id)),
                Err(f) => problems.show(f),
            }
        });
    };
    let text = move |key: &'static str,
                     field: &'static str,
                     value: RwSignal<String>,
                     kind: &'static str| {
        let note = format!("{field}-error");
        view! {
            <label>
                {move || t(key)}
                <input type=kind inputmode=if kind == "text" && field != "name" && field != "address" { "decimal" } else { "text" }
                    aria-describedby=note.clone()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev)) />
            </label>
            {super::field_note(note, problems.field(field))}
        }
    };
    view! {
        <p><Link href="/staff/".into()>{move || t("your_stores")}</Link></p>
        <h1>{move || t("new_store")}</h1>
        <form on:submit=submit class="card">
            {text("name", "name", name, "text")}
            <label>
                {move || t("category")}
                <select on:change=move |ev| category.set(event_target_value(&ev))>
                    {CATEGORIES.iter().map(|c| view! {
                        <option value=*c selected=move || category.get() == *c>{move || t(c)}</option>
                    }).collect_view()}
                </select>
            </label>
            {text("address", "address", address, "text")}
            {text("latitude", "latitude", lat, "text")}
            {text("longitude", "longitude", lon, "text")}
            <label>
                {move || t("time_zone")}
                <select on:change=move |ev| tz.set(event_target_value(&ev))>
                    {zones.into_iter().map(|z| {
                        let selected = z == zone;
                        view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            {super::field_note("timezone-error".into(), problems.field("timezone"))}
            {problems.view()}
            <button type="submit">{move || t("create_store")}</button>
        </form>
    }
}
