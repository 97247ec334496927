//! `/api/v1/stores/{store_id}/api-keys`.

use serde::{Deserialize, Serialize};

/// The scopes a key can carry.
pub const SCOPES: [&str; 3] = ["bookings:read", "bookings:write", "profile:write"];

/// `POST /api-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateKey {
    /// What the key is for.
    pub name: String,
    /// Some of [`SCOPES`].
    pub scopes: Vec<String>,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Key id.
    pub id: String,
    /// What the key is for.
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Set once revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// The create answer: the listing fields plus the key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The listing fields.
    #[serde(flatten)]
    pub view: ApiKey,
    /// The secret key.
    pub key: String,
}
