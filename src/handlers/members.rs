//! `/api/v1/stores/{store_id}/members`: the owner adds and removes staff.

use worker::Response;

use crate::body;
use crate::clock;
use crate::context::Ctx;
use crate::domain::store::Role;
use crate::domain::user::Email;
use crate::error::{ApiError, FieldError};
use crate::policy::{self, Action};
use crate::repo::{stores, users};
use crate::respond;

use safemarket_api::members::{AddMember, Membership};
use safemarket_api::page::Page;

/// Only staff can be added: a store has exactly one owner.
fn parse_role(raw: &str) -> Result<Role, FieldError> {
    match raw {
        "staff" => Ok(Role::Staff),
        _ => Err(FieldError::new(
            "role",
            "must be \"staff\" (a store has exactly one owner)",
        )),
    }
}

/// `POST /api/v1/stores/{store_id}/members` (owner) `{email, role: "staff"}`: 201 with the
/// membership; 404 when no registered account has that email, 409 `already-member`.
pub async fn add(mut ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::AddMember).await?;
    let input: AddMember = body::json(&mut ctx.req).await?;
    let (email, role) = match (Email::parse(&input.email, "email"), parse_role(&input.role)) {
        (Ok(email), Ok(role)) => (email, role),
        (email, role) => {
            let errors = [email.err(), role.err()].into_iter().flatten().collect();
            return Err(ApiError::invalid_fields(errors));
        }
    };
    let user = users::by_email(&db, email.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound("No account with this email.".into()))?;
    let now = clock::now_rfc3339();
    stores::add_staff(&db, &store.id, &user.id, &now).await?;
    let membership = Membership {
        store_id: store.id,
        user_id: user.id,
        email: email.as_str().to_string(),
        role,
        created_at: now,
    };
    respond::json(&membership, 201)
}

/// `DELETE /api/v1/stores/{store_id}/members/{user_id}` (owner): 204; 404 when the user is
/// not a member, 409 `owner-not-removable` for the owner (also on closed stores: revoking
/// staff access stays possible).
pub async fn remove(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::RemoveMember).await?;
    let user_id = ctx.param("user_id")?;
    match stores::role_of(&db, &store.id, user_id).await? {
        None => Err(ApiError::NotFound(format!(
            "No member {user_id} in this store."
        ))),
        Some(Role::Owner) => Err(ApiError::Conflict {
            slug: "owner-not-removable",
            detail: "The owner cannot be removed from their store.".into(),
        }),
        Some(Role::Staff) => {
            stores::remove_staff(&db, &store.id, user_id).await?;
            respond::no_content()
        }
    }
}

/// `GET /api/v1/stores/{store_id}/members` (owner): every member with email and role, the
/// owner first, as one page (a store has few members).
pub async fn list(ctx: Ctx) -> Result<Response, ApiError> {
    let caller = policy::user(&ctx).await?;
    let db = ctx.db()?;
    let store = policy::store(&ctx, &db, &caller, Action::ListMembers).await?;
    let items = stores::members(&db, &store.id).await?;
    respond::json(
        &Page {
            items,
            next_cursor: None,
        },
        200,
    )
}
