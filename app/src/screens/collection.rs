//! What the owner's list screens (Staff, API keys, Webhooks) share: one of a store's
//! collections listed from the API, created into by a form and deleted from per item, the list
//! reloaded after each change and every failure shown as the screen's alert.

use leptos::prelude::*;
use leptos::task::spawn_local;
use safemarket_api::page::Page;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Problems;
use crate::http;
use crate::i18n::lang;

/// A store's collection at one API path (`/api/v1/stores/{id}/members`): its items as listed
/// last and the alert of its last failed request. Copy, like the signals it holds.
pub struct Collection<T: Send + Sync + 'static> {
    path: StoredValue<String>,
    query: &'static str,
    /// The items of the last listing.
    pub items: RwSignal<Vec<T>>,
    /// The failure of the last request.
    pub problems: Problems,
}

impl<T: Send + Sync + 'static> Clone for Collection<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Collection<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Collection<T> {
    /// The collection at `path`, listed now with `query` (`?limit=200`, or empty).
    pub fn new(path: String, query: &'static str) -> Self {
        let collection = Collection {
            path: StoredValue::new(path),
            query,
            items: RwSignal::new(Vec::new()),
            problems: Problems::new(),
        };
        collection.reload();
        collection
    }

    /// Lists the items again.
    pub fn reload(self) {
        let path = format!("{}{}", self.path.get_value(), self.query);
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::get::<Page<T>>(l, &path).await {
                Ok(p) => self.items.set(p.items),
                Err(f) => self.problems.show(f),
            }
        });
    }

    /// Creates an item from `body` (`POST` to the collection); on success the alert goes,
    /// `done` gets the API's answer and the list is reloaded.
    pub fn create<B, R>(self, body: B, done: impl FnOnce(R) + 'static)
    where
        B: Serialize + 'static,
        R: DeserializeOwned + 'static,
    {
        let path = self.path.get_value();
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::call::<R, B>(l, "POST", &path, Some(&body)).await {
                Ok(answer) => {
                    self.problems.clear();
                    done(answer);
                    self.reload();
                }
                Err(f) => self.problems.show(f),
            }
        });
    }

    /// Deletes the item `id` (`DELETE` of the collection's `/{id}`), then reloads the list.
    pub fn remove(self, id: &str) {
        let path = format!("{}/{id}", self.path.get_value());
        let l = lang().get_untracked();
        spawn_local(async move {
            match http::call::<(), ()>(l, "DELETE", &path, None).await {
                Ok(()) => self.reload(),
                Err(f) => self.problems.show(f),
            }
        });
    }
}
