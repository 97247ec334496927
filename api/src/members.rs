//! `/api/v1/stores/{store_id}/members`.

use serde::{Deserialize, Serialize};

use crate::stores::Role;

/// `POST /members`: `{email, role: "staff"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddMember {
    /// The registered user's email.
    pub email: String,
    /// Only `staff` (a store has exactly one owner).
    pub role: String,
}

/// A membership: the answer of `POST /members` and the items of `GET /members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// Store id.
    pub store_id: String,
    /// The member's user id.
    pub user_id: String,
    /// The member's email.
    pub email: String,
    /// Owner or staff.
    pub role: Role,
    /// When the membership began (RFC 3339 UTC).
    pub created_at: String,
}
