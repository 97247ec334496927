//! Paginated lists.

use serde::{Deserialize, Serialize};

/// `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}
