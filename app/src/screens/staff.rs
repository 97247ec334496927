//! "Staff": the store's members with role; add staff by email, remove staff.

use leptos::prelude::*;
use safemarket_api::members::{AddMember, Membership};
use safemarket_api::stores::{Role, Store};

use super::collection::Collection;
use crate::i18n::t;

/// "Staff" of a store (owner).
#[component]
pub fn StaffList(store: Store) -> impl IntoView {
    let members = Collection::<Membership>::new(format!("/api/v1/stores/{}/members", store.id), "");
    let email = RwSignal::new(String::new());
    let problems = members.problems;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = AddMember {
            email: email.get_untracked(),
            role: "staff".into(),
        };
        members.create(body, move |_: Membership| email.set(String::new()));
    };
    view! {
        <h2>{move || t("staff")}</h2>
        <h3>{move || t("members")}</h3>
        <ul class="list">
            {move || members.items.get().into_iter().map(|m| {
                let staff = m.role == Role::Staff;
                let user_id = m.user_id.clone();
                view! {
                    <li>
                        <span>{m.email.clone()}" ("{super::stores::role_word(Some(m.role))}")"</span>
                        <Show when=move || staff>
                            <button type="button" class="secondary"
                                on:click={let u = user_id.clone(); move |_| members.remove(&u)}>
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
