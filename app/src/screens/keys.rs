//! "API keys": list, create (the key shown once, with "Copy"), revoke.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::api_keys::{ApiKey, CreateKey, CreatedKey, SCOPES};
use safemarket_api::page::Page;
use safemarket_api::stores::Store;

use super::Problems;
use crate::http;
use crate::i18n::{lang, t};

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
    let keys = RwSignal::new(Vec::<ApiKey>::new());
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(vec![
        "bookings:read".to_string(),
        "bookings:write".to_string(),
    ]);
    let created = RwSignal::new(None::<String>);
    let problems = Problems::new();
    let id = store.id.clone();
    let load = {
        let id = id.clone();
        move || {
            let (id, l) = (id.clone(), lang().get_untracked());
            spawn_local(async move {
                match http::get::<Page<ApiKey>>(
                    l,
                    &format!("/api/v1/stores/{id}/api-keys?limit=200"),
                )
                .await
                {
                    Ok(p) => keys.set(
                        p.items
                            .into_iter()
                            .filter(|k| k.revoked_at.is_none())
                            .collect(),
                    ),
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
            let body = CreateKey {
                name: name.get_untracked(),
                scopes: scopes.get_untracked(),
            };
            spawn_local(async move {
                match http::call::<CreatedKey, _>(
                    l,
                    "POST",
                    &format!("/api/v1/stores/{id}/api-keys"),
                    Some(&body),
                )
                .await
                {
                    Ok(k) => {
                        problems.clear();
                        name.set(String::new());
                        created.set(Some(k.key));
                        load();
                    }
                    Err(f) => problems.show(f),
                }
            });
        }
    };
    let revoke = move |key_id: String| {
        let (id, l, load) = (id.clone(), lang().get_untracked(), load.clone());
        spawn_local(async move {
            match http::call::<(), ()>(
                l,
                "DELETE",
                &format!("/api/v1/stores/{id}/api-keys/{key_id}"),
                None,
            )
            .await
            {
                Ok(()) => load(),
                Err(f) => problems.show(f),
            }
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
                {move || keys.get().into_iter().map(|k| {
                    let (r, kid) = (revoke.clone(), k.id.clone());
                    view! {
                        <tr>
                            <td>{k.name.clone()}</td>
                            <td><code>{k.prefix.clone()}</code></td>
                            <td>{k.scopes.join(", ")}</td>
                            <td>{k.created_at.clone()}</td>
                            <td><button type="button" class="secondary" on:click=move |_| r(kid.clone())>{t("revoke")}</button></td>
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
