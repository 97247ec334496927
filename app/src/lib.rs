//! SafeMarket Staff: the client-side-rendered app served at `/staff/` (README "Staff app";
//! the accessible names are shared/UI.md's). It talks only to the public API, with the wire
//! types of `safemarket-api`.

mod i18n;
mod screens;

use safemarket_web::{http, live, time};

use leptos::prelude::*;
use safemarket_api::auth::User;
use wasm_bindgen::prelude::*;

use safemarket_web::i18n::LanguageSelect;

use crate::i18n::t;

/// The app-wide state: the path shown, the signed-in user, whether start-up is done.
#[derive(Clone, Copy)]
pub struct AppState {
    /// `location.pathname`, kept in step with the history.
    pub path: RwSignal<String>,
    /// The signed-in user.
    pub user: RwSignal<Option<User>>,
    /// Start-up (resuming a session) is over.
    pub ready: RwSignal<bool>,
    /// The browser has a network and the Worker answered the last request.
    pub online: RwSignal<bool>,
}

thread_local! {
    static STATE: std::cell::OnceCell<AppState> = const { std::cell::OnceCell::new() };
}

/// The app's state (a global, like [`i18n::lang`], for event handlers and tasks).
pub fn state() -> AppState {
    STATE.with(|s| {
        *s.get_or_init(|| AppState {
            path: RwSignal::new(current_path()),
            user: RwSignal::new(None),
            ready: RwSignal::new(false),
            online: RwSignal::new(true),
        })
    })
}

fn current_path() -> String {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_else(|| "/staff/".into())
}

/// Shows `path` (an app path under `/staff/`) and records it in the history.
pub fn navigate(path: &str) {
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let _ = h.push_state_with_url(&JsValue::NULL, "", Some(path));
        }
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
    state().path.set(path.to_string());
}

/// A same-app link: the history changes, the page does not reload.
#[component]
pub fn Link(href: String, children: Children) -> impl IntoView {
    let target = href.clone();
    view! {
        <a
            href=href
            on:click=move |ev: leptos::ev::MouseEvent| {
                if !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0) {
                    ev.prevent_default();
                    navigate(&target);
                }
            }
        >
            {children()}
        </a>
    }
}

#[component]
fn Shell() -> impl IntoView {
    let app = state();
    view! {
        <header class="bar">
            <span class="brand">{move || t("app")}</span>
            <LanguageSelect />
        </header>
        {move || {
            (!app.online.get())
                .then(|| view! { <p role="status" class="offline">{t("offline")}</p> })
        }}
        <main id="main">
            {move || {
                if !app.ready.get() {
                    return view! { <p>{t("loading")}</p> }.into_any();
                }
                let path = app.path.get();
                let rest = path.trim_start_matches("/staff").trim_matches('/').to_string();
                let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
                if app.user.get().is_none() {
                    return match parts.as_slice() {
                        ["signup"] => view! { <screens::signin::SignUp /> }.into_any(),
                        _ => view! { <screens::signin::SignIn /> }.into_any(),
                    };
                }
                match parts.as_slice() {
                    ["new"] => view! { <screens::stores::NewStore /> }.into_any(),
                    ["s", id] => {
                        let id = id.to_string();
                        view! { <screens::store::StorePage id=id tab="today".to_string() /> }
                            .into_any()
                    }
                    ["s", id, tab] => {
                        let (id, tab) = (id.to_string(), tab.to_string());
                        view! { <screens::store::StorePage id=id tab=tab /> }.into_any()
                    }
                    _ => view! { <screens::stores::YourStores /> }.into_any(),
                }
            }}
        </main>
    }
}

/// The longest pause between two tries to resume a kept session without a network (ms).
const RESUME_PAUSE_MAX_MS: i32 = 10_000;

/// Signs the kept session in again (a reload, or the tablet woken up). Without a network the
/// app opens on its sign-in screen, says it is offline, and keeps trying, so a door tablet
/// that started before the shop's Wi-Fi signs itself in when the network comes back; a
/// refused token, a sign-in by hand or a sign-out ends the tries.
async fn resume_session(app: AppState, lang: RwSignal<safemarket_web::i18n::Lang>) {
    let mut pause = 2_000;
    loop {
        if http::refresh().await {
            if let Ok(user) = http::get::<User>(lang.get_untracked(), "/api/v1/me").await {
                app.user.set(Some(user));
            }
            return;
        }
        if !http::has_session() || app.user.get_untracked().is_some() {
            return;
        }
        http::reachable().await;
        app.ready.set(true);
        http::sleep(pause).await;
        pause = (pause * 2).min(RESUME_PAUSE_MAX_MS);
    }
}

/// Mounts the app.
#[wasm_bindgen(start)]
pub fn start() {
    http::set_refresh_key("safemarket.staff.refresh");
    let lang = i18n::start(i18n::STRINGS);
    let online = web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true);
    let app = state();
    app.online.set(online);
    leptos::mount::mount_to_body(move || {
        let _ = window_event_listener(leptos::ev::popstate, move |_| app.path.set(current_path()));
        let _ = window_event_listener(leptos::ev::online, move |_| app.online.set(true));
        let _ = window_event_listener(leptos::ev::offline, move |_| app.online.set(false));
        i18n::keep_remembered(lang);
        http::on_reachability(move |answered| app.online.set(answered));
        leptos::task::spawn_local(async move {
            if http::has_session() {
                resume_session(app, lang).await;
            } else {
                // Opened from the service worker's cache without a network, nothing else
                // would ask: say so before anyone types a password.
                http::reachable().await;
            }
            app.ready.set(true);
        });
        view! { <Shell /> }
    });
}
