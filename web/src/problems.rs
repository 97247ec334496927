//! The failure of a screen's last request, shown as an `alert` in words (the problem document's
//! title and detail), and a field's own message next to it.

use leptos::prelude::*;

use crate::http::Failure;

/// The failure of the last request of a screen, shown as an `alert` in words.
#[derive(Clone, Copy)]
pub struct Problems {
    /// What to show; `None` hides the alert.
    pub last: RwSignal<Option<Failure>>,
}

impl Default for Problems {
    fn default() -> Self {
        Self::new()
    }
}

impl Problems {
    /// Nothing failed yet.
    pub fn new() -> Self {
        Problems {
            last: RwSignal::new(None),
        }
    }

    /// Shows `failure`.
    pub fn show(self, failure: Failure) {
        self.last.set(Some(failure));
    }

    /// Hides the alert.
    pub fn clear(self) {
        self.last.set(None);
    }

    /// The message for one field the API named in the problem's `errors`.
    pub fn field(
        self,
        field: impl Into<String>,
    ) -> impl Fn() -> Option<String> + Clone + Send + Sync + 'static {
        let field: String = field.into();
        move || {
            self.last.with(|f| {
                f.as_ref()
                    .and_then(|f| f.problem.as_ref())
                    .and_then(|p| p.field(&field))
                    .map(str::to_string)
            })
        }
    }

    /// The alert element (empty when nothing failed).
    pub fn view(self) -> impl IntoView {
        move || {
            self.last.get().map(|f| {
                view! { <p role="alert" class="alert">{f.message}</p> }
            })
        }
    }
}

/// A field's error message under its control, linked by `aria-describedby` to `id`.
pub fn field_note(
    id: String,
    message: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    move || message().map(|m| view! { <span class="field-error" id=id.clone()>{m}</span> })
}
