//! Booking with an account instead of as this browser's guest: "Email", "Password", "Sign in"
//! (`POST /auth/login`); then "Signed in as …" and "Sign out" (`POST /auth/logout`, back to the
//! guest). "My bookings" follows whoever is signed in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::auth::{LoginRequest, TokenPair, User, UserKind};
use safemarket_web::http;

use crate::i18n::{fill, lang, t};
use crate::{guest, Book};

/// Who holds the session once start-up is done: a registered user, or `None` for the guest.
pub async fn who(book: Book) {
    let l = lang().get_untracked();
    if let Ok(user) = http::get::<User>(l, "/api/v1/me").await {
        book.user
            .set((user.kind == UserKind::Registered).then_some(user));
    }
}

/// Forgets what the previous holder of the session booked here.
fn switch(book: Book, user: Option<User>) {
    book.result.set(None);
    book.notice.set(None);
    book.moving.set(None);
    book.entry.set(None);
    book.mine.set(Vec::new());
    book.gone.set(Vec::new());
    book.user.set(user);
}

async fn sign_in(book: Book, email: String, password: String) {
    let l = lang().get_untracked();
    let body = LoginRequest { email, password };
    match http::call::<TokenPair, _>(l, "POST", "/api/v1/auth/login", Some(&body)).await {
        Ok(pair) => {
            http::keep(&pair);
            book.problems.clear();
            switch(book, pair.user.clone());
            if pair.user.is_none() {
                who(book).await;
            }
        }
        Err(f) => book.problems.show(f),
    }
}

async fn sign_out(book: Book) {
    let l = lang().get_untracked();
    let _ = http::call::<(), ()>(l, "POST", "/api/v1/auth/logout", None).await;
    http::forget();
    book.ready.set(false);
    switch(book, None);
    match guest::sign_in(l).await {
        Ok(()) => book.ready.set(true),
        Err(f) => book.problems.show(f),
    }
}

/// The account part of the page.
#[component]
pub fn Account(book: Book) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let open = RwSignal::new(false);
    move || {
        match book.user.get() {
        Some(user) => {
            let name = user.email.clone().or(user.display_name.clone()).unwrap_or_default();
            view! {
                <p class="account">
                    {fill("signed_in_as", &[("email", &name)])}
                    " "
                    <button type="button" class="secondary" on:click=move |_| spawn_local(sign_out(book))>
                        {t("sign_out")}
                    </button>
                </p>
            }
            .into_any()
        }
        None => view! {
            <div class="account">
                <button
                    type="button"
                    class="secondary"
                    aria-expanded=move || open.get().to_string()
                    aria-controls="account-form"
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    {t("account_intro")}
                </button>
                <form id="account-form" hidden=move || !open.get() on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    spawn_local(sign_in(book, email.get_untracked(), password.get_untracked()));
                }>
                    <label class="field">
                        {t("email")}
                        <input type="email" autocomplete="username" bind:value=email />
                    </label>
                    <label class="field">
                        {t("password")}
                        <input type="password" autocomplete="current-password" bind:value=password />
                    </label>
                    <button type="submit">{t("sign_in")}</button>
                </form>
            </div>
        }
        .into_any(),
    }
    }
}
