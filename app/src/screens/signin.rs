//! Sign in and create account.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::auth::{LoginRequest, RegisterRequest, TokenPair};

use super::Problems;
use crate::i18n::{lang, t};
use crate::{http, navigate, state, Link};

fn signed_in(pair: TokenPair) {
    http::keep(&pair);
    state().user.set(pair.user);
    navigate("/staff/");
}

/// "Sign in": Email, Password, button "Sign in", link "Create account".
#[component]
pub fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problems = Problems::new();
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let body = LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::call::<TokenPair, _>(l, "POST", "/api/v1/auth/login", Some(&body)).await {
                Ok(pair) => signed_in(pair),
                Err(f) => problems.show(f),
            }
            busy.set(false);
        });
    };
    view! {
        <h1>{move || t("sign_in")}</h1>
        <form on:submit=submit class="card">
            <label>
                {move || t("email")}
                <input type="email" autocomplete="username" required
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            <label>
                {move || t("password")}
                <input type="password" autocomplete="current-password" required
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            {problems.view()}
            <button type="submit" disabled=move || busy.get()>{move || t("sign_in")}</button>
        </form>
        <p><Link href="/staff/signup".into()>{move || t("create_account")}</Link></p>
    }
}

/// "Create account": Name, Email, Password, button "Create account".
#[component]
pub fn SignUp() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problems = Problems::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let display = name.get_untracked();
        let body = RegisterRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            display_name: (!display.trim().is_empty()).then_some(display),
        };
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::call::<TokenPair, _>(l, "POST", "/api/v1/auth/register", Some(&body)).await
            {
                Ok(pair) => signed_in(pair),
                Err(f) => problems.show(f),
            }
        });
    };
    view! {
        <h1>{move || t("create_account")}</h1>
        <form on:submit=submit class="card">
            <label>
                {move || t("name")}
                <input type="text" autocomplete="name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <label>
                {move || t("email")}
                <input type="email" autocomplete="username" required
                    aria-describedby="email-error"
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev)) />
            </label>
            {super::field_note("email-error".into(), problems.field("email"))}
            <label>
                {move || t("password")}
                <input type="password" autocomplete="new-password" required
                    aria-describedby="password-error"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            {super::field_note("password-error".into(), problems.field("password"))}
            {problems.view()}
            <button type="submit">{move || t("create_account")}</button>
        </form>
        <p><Link href="/staff/".into()>{move || t("have_account")}</Link></p>
    }
}
