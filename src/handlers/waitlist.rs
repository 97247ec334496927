//! `/api/v1/stores/{store_id}/waitlist`: the waiting list of full slots (served by the
//! store's Durable Object, whose engine owns every rule).

use safemarket_engine::protocol::{AcceptOffer, GetEntry, JoinWaitlist, LeaveWaitlist};
use safemarket_engine::{format_utc, EntryView, Owner};
use serde::{Deserialize, Serialize};
use worker::Response;

use crate::body;
use crate::context::Ctx;
use crate::domain::booking::{booking_view, PartySize, SlotStart};
use crate::domain::store::StoreRow;
use crate::error::ApiError;
use crate::policy;
use crate::respond;
use crate::store_client;

#[derive(Deserialize)]
struct JoinBody {
    slot_start: String,
    #[serde(default)]
    party_size: Option<i64>,
}

/// A waiting-list entry as the API shows it (also the `data` of `waitlist.*` events).
#[derive(Debug, Serialize)]
pub(crate) struct EntryBody {
    id: String,
    store_id: String,
    slot_start: String,
    slot_end: String,
    party_size: u32,
    status: &'static str,
    /// While waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u32>,
    /// While offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    offer_expires_at: Option<String>,
    /// Once accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_id: Option<String>,
    created_at: String,
}

impl EntryBody {
    pub(crate) fn new(store_id: &str, view: &EntryView) -> Self {
        let e = &view.entry;
        let offered = e.status == safemarket_engine::EntryStatus::Offered;
        EntryBody {
            id: e.id.clone(),
            store_id: store_id.to_string(),
            slot_start: format_utc(e.slot_start),
            slot_end: format_utc(e.slot_end),
            party_size: e.party_size,
            status: e.status.as_str(),
            position: view.position,
            offer_expires_at: e.offer_expires_at.filter(|_| offered).map(format_utc),
            booking_id: e.booking_id.clone(),
            created_at: format_utc(e.created_at),
        }
    }
}

/// The entry `{entry_id}` of the path's store, if the caller owns it or staffs the store
/// (others' entries do not exist for a customer); with whether the caller owns it.
async fn visible_entry(ctx: &Ctx) -> Result<(StoreRow, EntryView, Option<Owner>), ApiError> {
    let user = policy::user(ctx).await?;
    let db = ctx.db()?;
    let store = policy::public_store(ctx, &db).await?;
    let id = ctx.param("entry_id")?.to_string();
    let view = store_client::call(&ctx.env, &store, GetEntry { id }).await?;
    let own = policy::entry_standing(&db, &store, &user, view.entry.owner.as_ref()).await?;
    Ok((store, view, own))
}

/// `POST /api/v1/stores/{store_id}/waitlist` (user): `{slot_start, party_size?}` -> 201 the
/// entry with its position; 409 `slot-available` when the slot has room.
pub async fn join(mut ctx: Ctx) -> Result<Response, ApiError> {
    let user = policy::user(&ctx).await?;
    let input: JoinBody = body::json(&mut ctx.req).await?;
    let slot_start = SlotStart::parse(&input.slot_start, "slot_start");
    let party_size = PartySize::parse(input.party_size);
    let (slot_start, party_size) = match (slot_start, party_size) {
        (Ok(s), Ok(p)) => (s, p),
        (s, p) => {
            return Err(ApiError::invalid_fields(
                [s.err(), p.err()].into_iter().flatten().collect(),
            ))
        }
    };
    let call = JoinWaitlist {
        owner: user.owner()?,
        party_size: party_size.people(),
        slot_start: slot_start.instant(),
    };
    let (store_id, view) = store_client::call_path_store(&ctx, call).await?;
    respond::json(&EntryBody::new(store_id.as_str(), &view), 201)
}

/// `GET /api/v1/stores/{store_id}/waitlist/{entry_id}` (entry owner, staff).
pub async fn get(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, view, _) = visible_entry(&ctx).await?;
    respond::json(&EntryBody::new(&store.id, &view), 200)
}

/// `POST /api/v1/stores/{store_id}/waitlist/{entry_id}/accept` (entry owner): 201 the
/// confirmed booking; 409 `offer-expired` / `not-offered`.
pub async fn accept(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, view, own) = visible_entry(&ctx).await?;
    let Some(owner) = own else {
        return Err(ApiError::Forbidden(
            "Only the person on the waiting list can accept its offer.".into(),
        ));
    };
    let call = AcceptOffer {
        id: view.entry.id,
        owner,
    };
    let booked = store_client::call(&ctx.env, &store, call).await?;
    respond::json(&booking_view(&store.id, &booked.booking), 201)
}

/// `DELETE /api/v1/stores/{store_id}/waitlist/{entry_id}` (entry owner, staff): 204; an open
/// offer passes on at once.
pub async fn leave(ctx: Ctx) -> Result<Response, ApiError> {
    let (store, view, own) = visible_entry(&ctx).await?;
    let call = LeaveWaitlist {
        id: view.entry.id,
        owner: own,
    };
    store_client::call(&ctx.env, &store, call).await?;
    respond::no_content()
}
