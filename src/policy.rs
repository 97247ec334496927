//! Who may do what: the one place that answers "may this caller do this to this store, or to
//! this booking". Handlers ask it and decide nothing about callers themselves; `auth` below it
//! only establishes who is calling.
//!
//! Every check answers in the same order: 401 (no or bad credentials), 404 (the store, also
//! for ids that are no UUIDs), 403 (the rule), then 409 `store-closed` (closed stores are
//! read-only). Input errors come where the handler parses, as before these checks or after.
//!
//! The rules:
//!
//! | who | may |
//! |---|---|
//! | anyone | read a store, its schedule, slots, occupancy and profile ([`public_store`]) |
//! | a signed-in user ([`user`]) | book, and see, cancel and move their own bookings |
//! | a registered user ([`registered_user`]) | create a store |
//! | the store's owner | [`Action::UpdateStore`], [`Action::CloseStore`], members and api keys |
//! | the owner and staff | the schedule, the profile, check-ins and no-shows |
//! | the owner, staff and the store's api keys | the day's bookings, lookups by code, anyone's booking of the store |
//! | an api key ([`admit`]) | only its own store, only within its scopes, only the routes `key_use` lists |
//! | the store's api key ([`partner_key`]) | its partner documents |
//! | an operator ([`require_operator`]) | deep health checks |
//!
//! A customer who asks for someone else's booking gets 404, not 403: other people's bookings
//! do not exist for them. A non-member who asks for a store action gets 403: stores are public.

use futures_util::future::join;
use safemarket_engine::{Booking, Owner};
use worker::D1Database;

use crate::auth::{self, api_keys, operator, public_limit, AuthUser};
use crate::context::Ctx;
use crate::domain::integration::{ApiKey, Scope};
use crate::domain::store::{Role, StoreId, StoreRow};
use crate::domain::user::UserKind;
use crate::error::ApiError;
use crate::repo::stores;
use crate::router::RouteId;

/// The refusal of api keys on routes that are not theirs (and of users' routes for keys).
const KEYS_REFUSED: &str = "API keys cannot be used for this resource.";

/// Who is calling a route that users and api keys share.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A signed-in user.
    User(AuthUser),
    /// An integration, already admitted for this route and store.
    Key(ApiKey),
}

impl Caller {
    /// Whom the bookings it makes belong to.
    pub fn owner(&self) -> Result<Owner, ApiError> {
        Principal::from(self).owner()
    }
}

/// A caller as the rules see it: a user or an api key, borrowed from an [`AuthUser`], an
/// [`ApiKey`] or a [`Caller`], so user-only handlers need not build a `Caller`.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    /// A signed-in user.
    User(&'a AuthUser),
    /// An admitted api key.
    Key(&'a ApiKey),
}

impl Principal<'_> {
    fn owner(self) -> Result<Owner, ApiError> {
        match self {
            Principal::User(user) => user.owner(),
            Principal::Key(key) => key.owner(),
        }
    }
}

impl<'a> From<&'a AuthUser> for Principal<'a> {
    fn from(user: &'a AuthUser) -> Self {
        Principal::User(user)
    }
}

impl<'a> From<&'a ApiKey> for Principal<'a> {
    fn from(key: &'a ApiKey) -> Self {
        Principal::Key(key)
    }
}

impl<'a> From<&'a Caller> for Principal<'a> {
    fn from(caller: &'a Caller) -> Self {
        match caller {
            Caller::User(user) => Principal::User(user),
            Caller::Key(key) => Principal::Key(key),
        }
    }
}

// --- Callers -------------------------------------------------------------------------------

/// Admits a request before its handler runs: an api key is authenticated (401) and counted
/// (429) by `auth`, then must fit the route (403, [`key_may_use`]). Requests without a valid
/// api key (none, or one refused with 401) count against their address's public limit (429,
/// `auth::public_limit`); their handlers ask for the user they need.
pub async fn admit(ctx: &mut Ctx, route: RouteId) -> Result<(), ApiError> {
    let authenticated = api_keys::authenticate(ctx).await;
    if let Some(key) = &ctx.api_key {
        authenticated?;
        return key_may_use(key, route, ctx.params.get("store_id"));
    }
    let address = ctx.header("cf-connecting-ip");
    let limit = public_limit::admit(
        &ctx.env,
        address.as_deref(),
        public_limit::bucket(Some(route)),
    );
    if asks_for_the_user_first(route) {
        // The limiter's object and the session check (KV and D1) are independent round
        // trips: one after the other they would cost their sum before the handler starts.
        let (limited, user) = join(limit, auth::signed_in_user(ctx)).await;
        limited?;
        ctx.signed_in.set(Some(user));
    } else {
        limit.await?;
    }
    authenticated
}

/// The routes whose handlers start by asking for the signed-in user ([`user`], also through
/// [`caller`]): the shopper's booking and waiting-list path. [`admit`] checks their session
/// while the public limiter counts the request. Only a cost where a request is refused with
/// 429 (then its session reads were for nothing), so only routes that always ask are here.
fn asks_for_the_user_first(route: RouteId) -> bool {
    matches!(
        route,
        RouteId::CreateBooking
            | RouteId::GetBooking
            | RouteId::CancelBooking
            | RouteId::RescheduleBooking
            | RouteId::BookingQr
            | RouteId::MyBookings
            | RouteId::JoinWaitlist
            | RouteId::GetWaitlistEntry
            | RouteId::AcceptOffer
            | RouteId::LeaveWaitlist
            | RouteId::Me
    )
}

/// The calling user: 403 for api keys, which are not users, 401 without a live session.
pub async fn user(ctx: &Ctx) -> Result<AuthUser, ApiError> {
    if ctx.api_key.is_some() {
        return Err(ApiError::Forbidden(KEYS_REFUSED.into()));
    }
    match ctx.signed_in.take() {
        Some(checked) => checked,
        None => auth::signed_in_user(ctx).await,
    }
}

/// The calling user, who must be registered (403 for guests), else as [`user`].
pub async fn registered_user(ctx: &Ctx) -> Result<AuthUser, ApiError> {
    let user = user(ctx).await?;
    require_registered(user.kind)?;
    Ok(user)
}

/// The api key the request was admitted with, or else the calling user (401 without either).
pub async fn caller(ctx: &Ctx) -> Result<Caller, ApiError> {
    match &ctx.api_key {
        Some(key) => Ok(Caller::Key(key.clone())),
        None => user(ctx).await.map(Caller::User),
    }
}

/// The api key of a partner document write: 401 without credentials, 403 for users (the key's
/// store and `profile:write` scope were checked by [`admit`]).
pub async fn partner_key(ctx: &Ctx) -> Result<ApiKey, ApiError> {
    key_only(caller(ctx).await?)
}

/// 403 where the deployment has no health token, 401 unless the request carries it.
pub fn require_operator(ctx: &Ctx) -> Result<(), ApiError> {
    operator_check(
        operator::configured(&ctx.env).as_deref(),
        ctx.header("authorization").as_deref(),
    )
}

fn require_registered(kind: UserKind) -> Result<(), ApiError> {
    match kind {
        UserKind::Registered => Ok(()),
        UserKind::Guest => Err(ApiError::Forbidden(
            "Guest accounts cannot do this; register with an email address.".into(),
        )),
    }
}

fn key_only(caller: Caller) -> Result<ApiKey, ApiError> {
    match caller {
        Caller::Key(key) => Ok(key),
        Caller::User(_) => Err(ApiError::Forbidden(
            "Partner documents are written with a store api key (profile:write).".into(),
        )),
    }
}

fn operator_check(expected: Option<&str>, authorization: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Err(ApiError::Forbidden(
            "Deep health checks are not enabled on this deployment.".into(),
        ));
    };
    if operator::token_matches(Some(expected), authorization) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "A deep health check needs the deployment's health token.".into(),
        ))
    }
}

// --- Api keys on routes --------------------------------------------------------------------

/// What a route lets an api key do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    /// Not store-specific and public (health, the API description).
    Anywhere,
    /// A public read of the key's own store: any scope.
    OwnStore,
    /// Needs this scope, on the key's own store.
    Scoped(Scope),
    /// Not for api keys.
    Refused,
}

/// The routes api keys may use (the phone system's and partner teams' surface).
fn key_use(route: RouteId) -> KeyUse {
    use RouteId::*;
    match route {
        Health | OpenApiDocument | ApiDocs => KeyUse::Anywhere,
        GetStore | GetStoreProfile | Occupancy => KeyUse::OwnStore,
        ListSlots | GetSchedule | DayBookings | GetBooking | GetBookingByCode => {
            KeyUse::Scoped(Scope::BookingsRead)
        }
        CreateBooking | CancelBooking | CancelBookingByCode => KeyUse::Scoped(Scope::BookingsWrite),
        PutExternalDocument => KeyUse::Scoped(Scope::ProfileWrite),
        _ => KeyUse::Refused,
    }
}

/// 403 unless `key` may use `route` on the store in its path (`store_param`).
fn key_may_use(key: &ApiKey, route: RouteId, store_param: Option<&str>) -> Result<(), ApiError> {
    let scope = match key_use(route) {
        KeyUse::Anywhere => return Ok(()),
        KeyUse::OwnStore => None,
        KeyUse::Scoped(scope) => Some(scope),
        KeyUse::Refused => return Err(ApiError::Forbidden(KEYS_REFUSED.into())),
    };
    // Store ids are UUIDs in any case spelling in paths, lower-case in D1.
    let own_store = store_param
        .and_then(|p| uuid::Uuid::parse_str(p).ok())
        .is_some_and(|p| p.hyphenated().to_string() == key.store_id);
    if !own_store {
        return Err(ApiError::Forbidden(Rule::OwnKey.refusal().into()));
    }
    match scope {
        Some(scope) if !key.scopes.contains(scope) => Err(ApiError::Forbidden(format!(
            "This api key lacks the {} scope.",
            scope.as_str()
        ))),
        _ => Ok(()),
    }
}

// --- Stores --------------------------------------------------------------------------------

/// What a caller wants to do to a store that not everybody may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `PATCH /stores/{store_id}`.
    UpdateStore,
    /// `DELETE /stores/{store_id}`: repeatable on a closed store, to finish a failed close.
    CloseStore,
    /// `POST .../members`.
    AddMember,
    /// `DELETE .../members/{user_id}`: also on closed stores, so staff access can be revoked.
    RemoveMember,
    /// `GET .../members`: also on closed stores.
    ListMembers,
    /// `POST .../api-keys`.
    CreateApiKey,
    /// `GET .../api-keys`.
    ListApiKeys,
    /// `DELETE .../api-keys/{key_id}`: also on closed stores.
    RevokeApiKey,
    /// `PUT .../schedule` (the store's object refuses closed stores itself).
    WriteSchedule,
    /// `PUT`/`PATCH .../profile`.
    WriteStoreProfile,
    /// `POST .../check-ins`.
    CheckIn,
    /// `POST .../bookings/{booking_id}/no-show`.
    MarkNoShow,
    /// `GET .../bookings?date=`.
    ListDayBookings,
    /// `GET`/`DELETE .../bookings/by-code/{code}` (the phone hotline).
    UseBookingCode,
    /// `PUT .../external/{source}`.
    WritePartnerDocument,
    /// `GET .../bookings/export` (closed stores' history too).
    ExportBookings,
    /// `POST .../webhooks`.
    CreateWebhook,
    /// `GET .../webhooks` and a webhook's deliveries log.
    ListWebhooks,
    /// `DELETE .../webhooks/{webhook_id}`: also on closed stores.
    DeleteWebhook,
}

/// Who may do an [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// The store's owner.
    Owner,
    /// The owner and staff.
    Member,
    /// The owner, staff and the store's own api keys.
    MemberOrKey,
    /// The store's own api keys.
    OwnKey,
}

impl Rule {
    /// The 403 detail of a refusal.
    fn refusal(self) -> &'static str {
        match self {
            Rule::Owner => "Only the store's owner may do this.",
            Rule::Member => "Only the store's owner and staff may do this.",
            Rule::MemberOrKey => "Only the store's owner and staff (or its api keys) may do this.",
            Rule::OwnKey => "This api key acts only on its own store.",
        }
    }

    fn permits(self, standing: Standing) -> bool {
        match self {
            Rule::Owner => standing == Standing::Owner,
            Rule::Member => matches!(standing, Standing::Owner | Standing::Staff),
            Rule::MemberOrKey => standing.staff_level(),
            Rule::OwnKey => standing == Standing::OwnKey,
        }
    }
}

impl Action {
    fn rule(self) -> Rule {
        use Action::*;
        match self {
            UpdateStore | CloseStore | AddMember | RemoveMember | ListMembers | CreateApiKey
            | ListApiKeys | RevokeApiKey | ExportBookings | CreateWebhook | ListWebhooks
            | DeleteWebhook => Rule::Owner,
            WriteSchedule | WriteStoreProfile | CheckIn | MarkNoShow => Rule::Member,
            ListDayBookings | UseBookingCode => Rule::MemberOrKey,
            WritePartnerDocument => Rule::OwnKey,
        }
    }

    /// Whether a closed store refuses it (409 `store-closed`): closed stores are read-only,
    /// but closing again, revoking access and running the door stay possible.
    fn refused_when_closed(self) -> bool {
        use Action::*;
        matches!(
            self,
            UpdateStore
                | AddMember
                | CreateApiKey
                | WriteStoreProfile
                | WritePartnerDocument
                | CreateWebhook
        )
    }
}

/// What a caller is to one store, as far as a rule asks: the owner rule compares the store's
/// owner id (no D1 read), every other rule reads the user's membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// The store's owner.
    Owner,
    /// One of its staff.
    Staff,
    /// One of its api keys.
    OwnKey,
    /// Anybody else.
    Outsider,
}

impl Standing {
    fn of_role(role: Option<Role>) -> Self {
        match role {
            Some(Role::Owner) => Standing::Owner,
            Some(Role::Staff) => Standing::Staff,
            None => Standing::Outsider,
        }
    }

    fn of_key(store: &StoreRow, key: &ApiKey) -> Self {
        if key.store_id == store.id {
            Standing::OwnKey
        } else {
            Standing::Outsider
        }
    }

    /// Whether it sees and handles every booking of the store.
    fn staff_level(self) -> bool {
        self != Standing::Outsider
    }
}

/// The decision on `action` for a caller of `standing` to a store (closed or not).
fn decide(action: Action, standing: Standing, closed: bool) -> Result<(), ApiError> {
    let rule = action.rule();
    if !rule.permits(standing) {
        return Err(ApiError::Forbidden(rule.refusal().into()));
    }
    if closed && action.refused_when_closed() {
        return Err(ApiError::Conflict {
            slug: "store-closed",
            detail: "This store is closed and can no longer be changed.".into(),
        });
    }
    Ok(())
}

async fn standing(
    db: &D1Database,
    store: &StoreRow,
    who: Principal<'_>,
    rule: Rule,
) -> Result<Standing, ApiError> {
    Ok(match (who, rule) {
        (Principal::Key(key), _) => Standing::of_key(store, key),
        (Principal::User(user), Rule::Owner) if store.owner_id == user.id => Standing::Owner,
        (Principal::User(_), Rule::Owner | Rule::OwnKey) => Standing::Outsider,
        (Principal::User(user), Rule::Member | Rule::MemberOrKey) => {
            Standing::of_role(stores::role_of(db, &store.id, &user.id).await?)
        }
    })
}

/// The `store_id` path parameter as a store id, without asking D1 whether the store exists
/// (the hot paths leave that to the store's object); 404 for anything that is not a UUID.
pub fn path_store_id(ctx: &Ctx) -> Result<StoreId, ApiError> {
    let raw = ctx.param("store_id")?;
    StoreId::parse(raw).ok_or_else(|| no_store(raw))
}

/// The store named by the path, for what anyone may do with it (read it, closed ones
/// included; book in it, which its object decides); 404 when there is none.
pub async fn public_store(ctx: &Ctx, db: &D1Database) -> Result<StoreRow, ApiError> {
    let id = path_store_id(ctx)?;
    stores::by_id(db, id.as_str())
        .await?
        .ok_or_else(|| no_store(id.as_str()))
}

/// The store named by the path, when `who` may do `action` to it: 404, 403, then 409
/// `store-closed`.
pub async fn store<'a>(
    ctx: &Ctx,
    db: &D1Database,
    who: impl Into<Principal<'a>>,
    action: Action,
) -> Result<StoreRow, ApiError> {
    let store = public_store(ctx, db).await?;
    let standing = standing(db, &store, who.into(), action.rule()).await?;
    decide(action, standing, store.closed_at.is_some())?;
    Ok(store)
}

fn no_store(id: &str) -> ApiError {
    ApiError::NotFound(format!("No store {id}."))
}

// --- Bookings ------------------------------------------------------------------------------

/// Whose bookings of `store` `who` may cancel or move: anyone's (`None`) for the store's
/// owner, staff and api keys, only their own for everybody else; the store's object finds no
/// other booking for them.
pub async fn booking_owner_filter<'a>(
    db: &D1Database,
    store: &StoreRow,
    who: impl Into<Principal<'a>>,
) -> Result<Option<Owner>, ApiError> {
    let who = who.into();
    if standing(db, store, who, Rule::MemberOrKey)
        .await?
        .staff_level()
    {
        Ok(None)
    } else {
        who.owner().map(Some)
    }
}

/// 404 unless `who` may see `booking` of `store`: its owner, the store's owner, staff and api
/// keys. Other people's bookings do not exist for a customer.
pub async fn may_see_booking<'a>(
    db: &D1Database,
    store: &StoreRow,
    who: impl Into<Principal<'a>>,
    booking: &Booking,
) -> Result<(), ApiError> {
    let who = who.into();
    // Their own booking needs no D1 read.
    if booking.owner == Some(who.owner()?) {
        return Ok(());
    }
    let standing = standing(db, store, who, Rule::MemberOrKey).await?;
    sees_others_bookings(standing)
}

// --- Waiting list --------------------------------------------------------------------------

/// Who `who` is to a waiting-list entry of `store` owned by `owner`: `Some(them)` for its
/// owner, `None` for the store's owner, staff and api keys; 404 for everybody else (other
/// people's entries do not exist for a customer).
pub async fn entry_standing<'a>(
    db: &D1Database,
    store: &StoreRow,
    who: impl Into<Principal<'a>>,
    owner: Option<&Owner>,
) -> Result<Option<Owner>, ApiError> {
    let who = who.into();
    let me = who.owner()?;
    if owner == Some(&me) {
        return Ok(Some(me));
    }
    if standing(db, store, who, Rule::MemberOrKey)
        .await?
        .staff_level()
    {
        Ok(None)
    } else {
        Err(ApiError::NotFound("No such waiting-list entry.".into()))
    }
}

fn sees_others_bookings(standing: Standing) -> Result<(), ApiError> {
    if standing.staff_level() {
        Ok(())
    } else {
        Err(ApiError::NotFound("No such booking.".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::integration::Scopes;

    const STORE_A: &str = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";
    const STORE_B: &str = "0f1c2d3e-4a5b-4c6d-8e7f-901234567890";

    fn key(scopes: &[&str]) -> ApiKey {
        let names: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        ApiKey {
            id: "k1".into(),
            store_id: STORE_A.into(),
            scopes: Scopes::parse(&names).unwrap(),
        }
    }

    fn problem(result: Result<(), ApiError>) -> (u16, &'static str) {
        let e = result.unwrap_err();
        (e.status(), e.slug_and_title().0)
    }

    const ALL_ACTIONS: [Action; 15] = [
        Action::UpdateStore,
        Action::CloseStore,
        Action::AddMember,
        Action::RemoveMember,
        Action::ListMembers,
        Action::CreateApiKey,
        Action::ListApiKeys,
        Action::RevokeApiKey,
        Action::WriteSchedule,
        Action::WriteStoreProfile,
        Action::CheckIn,
        Action::MarkNoShow,
        Action::ListDayBookings,
        Action::UseBookingCode,
        Action::WritePartnerDocument,
    ];

    #[test]
    fn keys_act_only_on_their_store_within_their_scopes() {
        let read = key(&["bookings:read"]);
        let own = Some(STORE_A);
        assert!(key_may_use(&read, RouteId::ListSlots, own).is_ok());
        assert!(key_may_use(&read, RouteId::GetBookingByCode, own).is_ok());
        let upper = STORE_A.to_uppercase();
        assert!(key_may_use(&read, RouteId::ListSlots, Some(&upper)).is_ok());
        assert!(key_may_use(&read, RouteId::ListSlots, Some("garbage")).is_err());
        assert!(key_may_use(&read, RouteId::ListSlots, None).is_err());
        assert_eq!(
            key_may_use(&read, RouteId::ListSlots, Some(STORE_B))
                .unwrap_err()
                .status(),
            403
        );
        for refused in [
            RouteId::CreateBooking,
            RouteId::CancelBookingByCode,
            RouteId::PutExternalDocument,
            RouteId::PutSchedule,
            RouteId::CreateApiKey,
            RouteId::Me,
        ] {
            assert_eq!(
                key_may_use(&read, refused, own).unwrap_err().status(),
                403,
                "{refused:?}"
            );
        }
        let partner = key(&["profile:write"]);
        assert!(key_may_use(&partner, RouteId::PutExternalDocument, own).is_ok());
        assert!(key_may_use(&partner, RouteId::GetStoreProfile, own).is_ok());
        assert!(key_may_use(&partner, RouteId::GetStoreProfile, Some(STORE_B)).is_err());
        assert!(key_may_use(&partner, RouteId::ListSlots, own).is_err());
        assert!(key_may_use(&partner, RouteId::Health, None).is_ok());
        assert!(key_may_use(&partner, RouteId::OpenApiDocument, None).is_ok());
        assert!(key_may_use(&partner, RouteId::SearchStores, None).is_err());
        let phone = key(&["bookings:read", "bookings:write"]);
        assert!(key_may_use(&phone, RouteId::CreateBooking, own).is_ok());
        assert!(key_may_use(&phone, RouteId::CancelBooking, own).is_ok());
        assert!(key_may_use(&phone, RouteId::RescheduleBooking, own).is_err());
    }

    #[test]
    fn owners_do_everything_of_users_staff_only_the_door_and_the_documents() {
        for action in ALL_ACTIONS {
            let rule = action.rule();
            assert_eq!(
                decide(action, Standing::Owner, false).is_ok(),
                rule != Rule::OwnKey,
                "{action:?}"
            );
            assert_eq!(
                decide(action, Standing::Staff, false).is_ok(),
                matches!(rule, Rule::Member | Rule::MemberOrKey),
                "{action:?}"
            );
            assert_eq!(
                decide(action, Standing::OwnKey, false).is_ok(),
                matches!(rule, Rule::MemberOrKey | Rule::OwnKey),
                "{action:?}"
            );
            assert_eq!(
                problem(decide(action, Standing::Outsider, false)),
                (403, "forbidden"),
                "{action:?}"
            );
        }
        for owner_only in [
            Action::UpdateStore,
            Action::CloseStore,
            Action::AddMember,
            Action::RemoveMember,
            Action::ListMembers,
            Action::CreateApiKey,
            Action::ListApiKeys,
            Action::RevokeApiKey,
        ] {
            assert_eq!(owner_only.rule(), Rule::Owner, "{owner_only:?}");
        }
        for staff in [Action::WriteSchedule, Action::CheckIn, Action::MarkNoShow] {
            assert_eq!(staff.rule(), Rule::Member, "{staff:?}");
        }
        for hotline in [Action::ListDayBookings, Action::UseBookingCode] {
            assert_eq!(hotline.rule(), Rule::MemberOrKey, "{hotline:?}");
        }
    }

    #[test]
    fn refusals_name_who_may() {
        let detail = |action, standing| match decide(action, standing, false) {
            Err(ApiError::Forbidden(detail)) => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            detail(Action::UpdateStore, Standing::Staff),
            "Only the store's owner may do this."
        );
        assert_eq!(
            detail(Action::CheckIn, Standing::OwnKey),
            "Only the store's owner and staff may do this."
        );
        assert_eq!(
            detail(Action::UseBookingCode, Standing::Outsider),
            "Only the store's owner and staff (or its api keys) may do this."
        );
    }

    #[test]
    fn closed_stores_refuse_changes_after_the_rule() {
        let closed = [
            Action::UpdateStore,
            Action::AddMember,
            Action::CreateApiKey,
            Action::WriteStoreProfile,
            Action::WritePartnerDocument,
        ];
        for action in ALL_ACTIONS {
            let allowed = match action.rule() {
                Rule::OwnKey => Standing::OwnKey,
                _ => Standing::Owner,
            };
            let expected = if closed.contains(&action) {
                Err((409, "store-closed"))
            } else {
                Ok(())
            };
            assert_eq!(
                decide(action, allowed, true).map_err(|e| (e.status(), e.slug_and_title().0)),
                expected,
                "{action:?}"
            );
            // Outsiders learn nothing about the store's state: 403 first.
            assert_eq!(
                problem(decide(action, Standing::Outsider, true)),
                (403, "forbidden")
            );
        }
    }

    #[test]
    fn standing_comes_from_the_role_or_the_key_s_store() {
        assert_eq!(Standing::of_role(Some(Role::Owner)), Standing::Owner);
        assert_eq!(Standing::of_role(Some(Role::Staff)), Standing::Staff);
        assert_eq!(Standing::of_role(None), Standing::Outsider);
        let store = |id: &str| StoreRow {
            id: id.into(),
            legacy_id: 1,
            name: "n".into(),
            category: "bakery".into(),
            address: "a".into(),
            latitude: 0.0,
            longitude: 0.0,
            timezone: "UTC".into(),
            owner_id: "u".into(),
            place_id: None,
            verified: 0,
            created_at: String::new(),
            updated_at: String::new(),
            closed_at: None,
        };
        let k = key(&["bookings:read"]);
        assert_eq!(Standing::of_key(&store(STORE_A), &k), Standing::OwnKey);
        assert_eq!(Standing::of_key(&store(STORE_B), &k), Standing::Outsider);
    }

    #[test]
    fn only_staff_level_callers_see_other_people_s_bookings() {
        for standing in [Standing::Owner, Standing::Staff, Standing::OwnKey] {
            assert!(sees_others_bookings(standing).is_ok(), "{standing:?}");
        }
        // 404, not 403: a customer must not learn that the booking exists.
        assert_eq!(
            problem(sees_others_bookings(Standing::Outsider)),
            (404, "not-found")
        );
    }

    #[test]
    fn guests_may_not_create_stores() {
        assert!(require_registered(UserKind::Registered).is_ok());
        assert_eq!(
            problem(require_registered(UserKind::Guest)),
            (403, "forbidden")
        );
    }

    #[test]
    fn partner_documents_need_a_key() {
        let k = key(&["profile:write"]);
        assert_eq!(key_only(Caller::Key(k)).unwrap().id, "k1");
        let user = AuthUser {
            id: "u".into(),
            session_id: "s".into(),
            kind: UserKind::Registered,
        };
        assert_eq!(
            key_only(Caller::User(user))
                .map(|_| ())
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn deep_checks_are_off_without_a_token_and_closed_without_the_right_one() {
        let token = "0123456789abcdef0123";
        assert_eq!(
            problem(operator_check(None, Some("Bearer x"))),
            (403, "forbidden")
        );
        assert_eq!(
            problem(operator_check(Some(token), None)),
            (401, "unauthorized")
        );
        assert_eq!(
            problem(operator_check(Some(token), Some("Bearer wrong"))),
            (401, "unauthorized")
        );
        assert!(operator_check(Some(token), Some(&format!("Bearer {token}"))).is_ok());
    }
}
