//! The typed protocol between the Worker and a store's Durable Object.
//!
//! The Worker sends one [`StoreCommand`] as the JSON body of a `POST` to the object and gets a
//! [`StoreResult`] back. Both sides compile this module, so a field renamed on one side cannot
//! be forgotten on the other.

use serde::{Deserialize, Serialize};

/// Path the Worker posts commands to (Durable Object stubs need a full URL).
pub const COMMAND_URL: &str = "https://store.internal/command";

/// A request to a store's Durable Object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StoreCommand {
    /// Round-trips the object's SQLite: writes `nonce` and reads it back (health check).
    Ping {
        /// Any string; echoed back after a write/read through SQLite.
        nonce: String,
    },
    /// The store was closed by its owner: refuse new bookings from now on and cancel the
    /// future ones. Idempotent.
    CloseStore,
}

/// A successful answer of the object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum StoreReply {
    /// Answer to [`StoreCommand::Ping`].
    Pong {
        /// The nonce as read back from SQLite.
        nonce: String,
    },
    /// Answer to [`StoreCommand::CloseStore`].
    Closed {
        /// Future bookings cancelled by this call.
        cancelled: u32,
    },
}

/// Why the object refused or failed a command; the Worker maps each kind to a problem type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreError {
    /// Machine-readable kind.
    pub kind: StoreErrorKind,
    /// Human-readable detail, safe to show to the client (except for `Internal`).
    pub detail: String,
    /// Per-field validation errors (`field`, `message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<(String, String)>,
}

/// Kinds of [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorKind {
    /// The command could not be decoded (a Worker/object version mismatch or a bug).
    BadCommand,
    /// Storage failed inside the object.
    Internal,
}

impl StoreError {
    /// An error of `kind` with a detail and no field errors.
    pub fn new(kind: StoreErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}

/// What the object answers to every command.
pub type StoreResult = Result<StoreReply, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_wire_format_is_tagged() {
        let cmd = StoreCommand::Ping { nonce: "n".into() };
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json, serde_json::json!({"op": "ping", "nonce": "n"}));
        assert_eq!(serde_json::from_value::<StoreCommand>(json).unwrap(), cmd);
    }

    #[test]
    fn result_round_trips() {
        let ok: StoreResult = Ok(StoreReply::Pong { nonce: "x".into() });
        let s = serde_json::to_string(&ok).unwrap();
        assert_eq!(serde_json::from_str::<StoreResult>(&s).unwrap(), ok);
        let err: StoreResult = Err(StoreError::new(StoreErrorKind::Internal, "boom"));
        let s = serde_json::to_string(&err).unwrap();
        assert_eq!(serde_json::from_str::<StoreResult>(&s).unwrap(), err);
    }
}
