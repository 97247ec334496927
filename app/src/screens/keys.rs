//! "API keys": list, create (the key shown once, with "Copy"), revoke.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::api_keys::{ApiKey, CreateKey, CreatedKey, SCOPES};
use safemarket_api::stores::Store;

use super::collection::Collection;
use crate::i18n::{lang, t};
use crate::time;

/// Copies `text` to the clipboard.
pub fn copy(text: &str, done: RwSignal<bool>) {
    if let Some(w) = web_sys::window() {
        let promise = w.navigator().clipboard().write_text(text);
        spawn_local(async move {
            done.set(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
        });
    }
}

/// A secret shown once with a "Copy" button.
#[component]
pub fn ShownOnce(label: &'static str, secret: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = secret.clone();
    view! {
        <div class="once" role="status">
            <p>{move || t(label)}</p>
            <p><code class="secret">{secret}</code></p>
            <button type="button" on:click=move |_| copy(&text, copied)>{move || t("copy")}</button>
            <Show when=move || copied.get()><span>" "{move || t("copied")}</span></Show>
        </div>
    }
}

/// "API keys" of a store (owner).
#[component]
pub fn ApiKeys(store: Store) -> impl IntoView {
    let keys = Collection::<ApiKey>::new(
        format!("/api/v1/stores/{}/api-keys", store.id),
        "?limit=200",
    );
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec![
        "bookings:read".to_string(),
        "bookings:write".to_string(),
    ]);
    let created = RwSignal::new(None::<String>);
    let problems = keys.problems;
    let zone = store.timezone.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = CreateKey {
            name: name.get_untracked(),
            scopes: scopes.get_untracked(),
        };
        keys.create(body, move |k: CreatedKey| {
            name.set(String::new());
            created.set(Some(k.key));
        });
    };
    view! {
        <h2>{move || t("api_keys")}</h2>
        <div class="table-wrap">
        <table>
            <thead><tr>
                <th scope="col">{move || t("name")}</th>
                <th scope="col">{move || t("prefix")}</th>
                <th scope="col">{move || t("scopes")}</th>
                <th scope="col">{move || t("created")}</th>
                <th scope="col">{move || t("actions")}</th>
            </tr></thead>
            <tbody>
                {move || keys.items.get().into_iter().filter(|k| k.revoked_at.is_none()).map(|k| {
                    let kid = k.id.clone();
                    view! {
                        <tr>
                            <td>{k.name.clone()}</td>
                            <td><code>{k.prefix.clone()}</code></td>
                            <td>{k.scopes.join(", ")}</td>
                            <td>{time::local_date_time(&k.created_at, &zone, lang().get().tag())}</td>
                            <td><button type="button" class="secondary" on:click=move |_| keys.remove(&kid)>{t("revoke")}</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        {move || created.get().map(|key| view! { <ShownOnce label="new_key" secret=key /> })}
        <form on:submit=submit class="card">
            <label>
                {move || t("name")}
                <input type="text" required prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <fieldset>
                <legend>{move || t("scopes")}</legend>
                {SCOPES.iter().map(|scope| {
                    let scope: &'static str = scope;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || scopes.get().iter().any(|s| s == scope)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    scopes.update(|list| {
                                        list.retain(|s| s != scope);
                                        if on { list.push(scope.to_string()); }
                                    });
                                } />
                            {scope}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            {problems.view()}
            <button type="submit">{move || t("create_key")}</button>
        </form>
    }
}
