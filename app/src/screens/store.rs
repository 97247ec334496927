//! A store: its name as heading, the navigation of its screens (owner-only ones hidden from
//! staff) and the screen chosen.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::page::Page;
use safemarket_api::stores::{Role, Store};

use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, Link};

const TABS: [(&str, &str, bool); 7] = [
    ("today", "today", false),
    ("door", "door", false),
    ("schedule", "schedule", false),
    ("staff", "staff", true),
    ("keys", "api_keys", true),
    ("webhooks", "webhooks", true),
    ("poster", "poster", false),
];

/// The store `id` with the screen `tab`.
#[component]
pub fn StorePage(id: String, tab: String) -> impl IntoView {
    let store = RwSignal::new(None::<Store>);
    let problems = Problems::new();
    let l = lang().get_untracked();
    {
        let id = id.clone();
        spawn_local(async move {
            let mine = http::get::<Page<Store>>(l, "/api/v1/me/stores?limit=200").await;
            match mine {
                Ok(page) => match page.items.into_iter().find(|s| s.id == id) {
                    Some(s) => store.set(Some(s)),
                    None => match http::get::<Store>(l, &format!("/api/v1/stores/{id}")).await {
                        Ok(s) => store.set(Some(s)),
                        Err(f) => problems.show(f),
                    },
                },
                Err(f) => problems.show(f),
            }
        });
    }
    view! {
        <p><Link href="/staff/".into()>{move || t("your_stores")}</Link></p>
        {problems.view()}
        {move || store.get().map(|s| {
            let owner = s.role == Some(Role::Owner);
            let tab = tab.clone();
            let nav = TABS.iter().filter(|(_, _, owner_only)| owner || !owner_only).map(|(slug, key, _)| {
                let href = format!("/staff/s/{}/{slug}", s.id);
                let current = (tab == *slug).then_some("page");
                view! { <li><a href=href.clone() aria-current=current on:click=move |ev: leptos::ev::MouseEvent| {
                    if !(ev.ctrl_key() || ev.meta_key() || ev.shift_key()) {
                        ev.prevent_default();
                        crate::navigate(&href);
                    }
                }>{move || t(key)}</a></li> }
            }).collect_view();
            let screen = match (tab.as_str(), owner) {
                ("door", _) => view! { <super::door::Door store=s.clone() /> }.into_any(),
                ("schedule", _) => view! { <super::schedule::ScheduleEditor store=s.clone() /> }.into_any(),
                ("staff", true) => view! { <super::staff::StaffList store=s.clone() /> }.into_any(),
                ("keys", true) => view! { <super::keys::ApiKeys store=s.clone() /> }.into_any(),
                ("webhooks", true) => view! { <super::webhooks::Webhooks store=s.clone() /> }.into_any(),
                ("poster", _) => view! { <super::poster::Poster store=s.clone() /> }.into_any(),
                _ => view! { <super::today::Today store=s.clone() /> }.into_any(),
            };
            view! {
                <h1>{s.name.clone()}</h1>
                <nav aria-label=move || t("store_nav")><ul class="tabs">{nav}</ul></nav>
                {screen}
            }
        })}
    }
}
