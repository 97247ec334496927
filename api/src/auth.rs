//! `/api/v1/auth/*` and `/api/v1/me`.

use serde::{Deserialize, Serialize};

/// `POST /auth/register`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Email address (normalised by the server).
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// Optional name shown to staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /auth/guest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestRequest {
    /// The device the guest is bound to.
    pub device_id: String,
}

/// `POST /auth/refresh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token of the last pair (rotates on every use).
    pub refresh_token: String,
}

/// The token pair answer of register, login, guest and refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPair {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `POST /auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The user (register, login and guest; not refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

/// Whether a user registered with email and password or is a device-bound guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// Email + password.
    Registered,
    /// Bound to one device id, no credentials.
    Guest,
}

/// A user as stored in D1 (`users` row) and shown by `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// UUID.
    pub id: String,
    /// Normalised email; `null` for guests.
    pub email: Option<String>,
    /// `registered` or `guest`.
    pub kind: UserKind,
    /// Optional display name.
    pub display_name: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
}
