//! "Staff": the store's members with role; add staff by email, remove staff.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::members::{AddMember, Membership};
use safemarket_api::page::Page;
use safemarket_api::stores::{Role, Store};

use super::Problems;
use crate::http;
use crate::i18n::{lang, t};

/// "Staff" of a store (owner).
#[component]
pub fn StaffList(store: Store) -> impl IntoView {
    let members = RwSignal::new(Vec::<Membership>::new());
    let email = RwSignal::new(String::new());
    let problems = Problems::new();
    let id = store.id.clone();
    let load = {
        let id = id.clone();
        move || {
            let (id, l) = (id.clone(), lang().get_untracked());
            spawn_local(async move {
                match http::get::<Page<Membership>>(l, &format!("/api/v1/stores/{id}/members"))
                    .await
                {
                    Ok(p) => members.set(p.items),
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
            let body = AddMember {
                email: email.get_untracked(),
                role: "staff".into(),
            };
            spawn_local(async move {
                match http::call::<Membership, _>(
                    l,
                    "POST",
                    &format!("/api/v1/stores/{id}/members"),
                    Some(&body),
                )
                .await
                {
                    Ok(_) => {
                        problems.clear();
                        email.set(String::new());
                        load();
                    }
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    let remove = move |user_id: String| {
        let (id, l, load) = (id.clone(), lang().get_untracked(), load.clone());
        spawn_local(async move {
            let path = format!("/api/v1/stores/{id}/members/{user_id}");
            match http::call::<(), ()>(l, "DELETE", &path, None).await {
                Ok(()) => load(),
                Err(f) => problems.show(f),
            }
        });
    };
    view! {
        <h2>{move || t("staff")}</h2>
        <h3>{move || t("members")}</h3>
        <ul class="list">
            {move || members.get().into_iter().map(|m| {
                let staff = m.role == Role::Staff;
                let (remove, user_id) = (remove.clone(), m.user_id.clone());
                view! {
                    <li>
                        <span>{m.email.clone()}" ("{super::stores::role_word(Some(m.role))}")"</span>
                        <Show when=move || staff>
                            <button type="button" class="secondary"
                                on:click={let (r, u) = (remove.clone(), user_id.clone()); move |_| r(u.clone())}>
                                {t("remove")}
                            </button>
                        </Show>
                    </li>
                }
            }).collect_view()}
        </ul>
        <form on:submit=submit class="card">
            <label>
                {move || t("email")}
                <input type="email" required prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            {problems.view()}
            <button type="submit">{move || t("add_staff")}</button>
        </form>
    }
}
