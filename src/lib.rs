//! SafeMarket's Worker: routes every HTTP request under `/api` to a thin handler and serves the
//! marketing site from static assets otherwise.

mod app_shell;
mod auth;
mod body;
mod clock;
mod context;
mod cron;
mod documents;
mod domain;
mod error;
mod geo;
mod geocoder;
mod handlers;
mod headers;
mod history_drain;
mod notify;
mod objects;
#[cfg(test)]
mod openapi_check;
mod pagination;
mod policy;
mod qr;
mod repo;
mod request_log;
mod respond;
mod router;
mod store_client;
mod zones;

use worker::{
    event, Context, Date, Env, MessageBatch, Request, Response, ScheduleContext, ScheduledEvent,
};

use crate::context::{bindings, Ctx};
use crate::documents::Write;
use crate::error::ApiError;
use crate::handlers::{
    accounts, api_keys, bookings, calendar, external, me, members, schedule, store_profile,
    store_search, stores, waitlist, webhooks,
};
use crate::request_log::RequestLog;
use crate::router::{Matched, RouteId};

/// The per-api-key rate limiter Durable Object class, exported from this cdylib.
pub use safemarket_durable::KeyRateLimiter;
/// The per-store Durable Object class, exported from this cdylib.
pub use safemarket_durable::StoreObject;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The Cron Trigger (wrangler.toml `[triggers] crons`): bounded pruning of D1 (see [`cron`]).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&env, clock::now()).await;
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let https = headers::is_https(&req.inner().url());
    let path = req.path();
    if !path.starts_with("/api/") && path != "/api" {
        return site(req, &env, https).await;
    }
    let started = Date::now().as_millis();
    // With COST_METER=1 the bindings count what this request bills (`x-cost-meter`).
    let (env, meter) = safemarket_durable::meter::attach(env);
    let log_on = request_log::enabled(&env);
    // The method as sent: `worker::Method` maps every method it does not know (QUERY,
    // PROPFIND, ...) to GET, which would serve GET routes for them instead of a 405.
    let method = req.inner().method().to_ascii_uppercase();
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

    let mut api_key_id = None;
    let mut public_read = false;
    // `OPTIONS` on a public read's path is a CORS preflight; anywhere else it is a 405.
    let preflight = (method == "OPTIONS")
        .then(|| router::preflight(&path))
        .flatten();
    let (pattern, result) = match router::resolve(&method, &path) {
        _ if preflight.is_some() => {
            let limited = count_public_read(&req, &env).await;
            (preflight, limited.and_then(|()| respond::no_content()))
        }
        Ok(Matched {
            id,
            pattern,
            params,
            public_read: public,
        }) => {
            public_read = public;
            let mut ctx = Ctx {
                req,
                env,
                params,
                request_id: request_id.clone(),
                api_key: None,
                signed_in: std::cell::Cell::new(None),
            };
            // Api keys are authenticated, counted and checked against the route up front.
            let admitted = policy::admit(&mut ctx, id).await;
            api_key_id = ctx.api_key.as_ref().map(|key| key.id.clone());
            match admitted {
                Ok(()) => (Some(pattern), dispatch(id, ctx).await),
                Err(e) => (Some(pattern), Err(e)),
            }
        }
        // A 405 is logged by its path's pattern, a 404 as unmatched. Both count as public
        // reads: a flood of them is a flood of billed requests too.
        Err(e) => {
            let limited = count_public_read(&req, &env).await;
            (router::pattern_of(&path), Err(limited.err().unwrap_or(e)))
        }
    };
    let resp = match result {
        Ok(resp) => resp,
        Err(e) => e.into_response()?,
    };
    if log_on {
        let log = RequestLog {
            request_id: &request_id,
            method: &method,
            route: pattern,
            status: resp.status_code(),
            duration_ms: Date::now().as_millis().saturating_sub(started),
            api_key_id: api_key_id.as_deref(),
        };
        worker::console_log!("{}", log.line());
    }
    if let Some(meter) = &meter {
        meter.finish(&resp)?;
    }
    let out = resp.headers();
    out.set("x-request-id", &request_id)?;
    headers::apply(out, https, true)?;
    if preflight.is_some() {
        headers::set_all(out, &headers::preflight_headers())?;
    } else if public_read {
        headers::set_all(out, &headers::cors_headers())?;
    }
    Ok(resp)
}

/// The webhook delivery queue's consumer (see [`notify::consumer`]).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> worker::Result<()> {
    notify::consumer::consume(batch, env).await
}

/// Counts a request that reaches no handler (a preflight, a 404 or 405) against its address's
/// public read limit: floods of them are billed requests too. Api keys are not looked at here,
/// since nothing is served to them.
async fn count_public_read(req: &Request, env: &Env) -> Result<(), ApiError> {
    let address = req.headers().get("cf-connecting-ip").ok().flatten();
    let bucket = auth::public_limit::bucket(None);
    auth::public_limit::admit(env, address.as_deref(), bucket).await
}

/// The site's pages (wrangler.toml `run_worker_first`; stylesheets, scripts and images are
/// served without the Worker, with `_headers`): the asset with the security headers set by
/// its content type, HSTS included on https (the assets' answers have immutable headers,
/// hence the copy; the body streams through untouched).
async fn site(req: Request, env: &Env, https: bool) -> worker::Result<Response> {
    let path = req.path();
    let shell = app_shell::shell_for(&path);
    let own = app_shell::own_policy(&path);
    let assets = env.assets(bindings::ASSETS)?;
    let found = match shell {
        Some(shell) => {
            let mut url = req.url()?;
            url.set_path(shell.asset);
            url.set_query(None);
            assets.fetch(url.to_string(), None).await?
        }
        None => assets.fetch_request(req).await?,
    };
    let out = found.headers().clone();
    if let Some(csp) = own {
        // The shell and the service worker name the hashed files of one build: always ask
        // for the current one.
        out.set("content-security-policy", csp)?;
        out.set("cache-control", "no-cache")?;
    }
    headers::apply(&out, https, own.is_some())?;
    let status = found.status_code();
    let (_, body) = found.into_parts();
    Ok(Response::from_body(body)?
        .with_status(status)
        .with_headers(out))
}

/// Maps a matched route to its handler.
async fn dispatch(id: RouteId, ctx: Ctx) -> Result<Response, ApiError> {
    match id {
        RouteId::Health => handlers::health::get(&ctx).await,
        RouteId::OpenApiDocument => handlers::docs::openapi(ctx).await,
        RouteId::ApiDocs => handlers::docs::ui(ctx).await,
        RouteId::LegacySearch => handlers::legacy::search(ctx).await,
        RouteId::LegacyReservationsPerSlot => handlers::legacy::reservations_per_slot(ctx).await,
        RouteId::LegacyLocation => handlers::legacy::get_location(ctx).await,
        RouteId::LegacyReserve => handlers::legacy::reserve(ctx).await,
        RouteId::LegacyReservationsByDevice => handlers::legacy::by_device(ctx).await,
        RouteId::LegacyRevoke => handlers::legacy::revoke(ctx).await,
        RouteId::Register => accounts::register(ctx).await,
        RouteId::Login => accounts::login(ctx).await,
        RouteId::Guest => accounts::guest(ctx).await,
        RouteId::Refresh => accounts::refresh(ctx).await,
        RouteId::Logout => accounts::logout(ctx).await,
        RouteId::Me => me::get(ctx).await,
        RouteId::DeleteMe => me::delete(ctx).await,
        RouteId::GetMyProfile => me::get_profile(ctx).await,
        RouteId::PutMyProfile => me::write_profile(ctx, Write::Replace).await,
        RouteId::PatchMyProfile => me::write_profile(ctx, Write::Merge).await,
        RouteId::CreateStore => stores::create(ctx).await,
        RouteId::SearchStores => store_search::search(ctx).await,
        RouteId::GetStore => stores::get(ctx).await,
        RouteId::UpdateStore => stores::update(ctx).await,
        RouteId::CloseStore => stores::close(ctx).await,
        RouteId::MyStores => store_search::mine(ctx).await,
        RouteId::AddMember => members::add(ctx).await,
        RouteId::RemoveMember => members::remove(ctx).await,
        RouteId::ListMembers => members::list(ctx).await,
        RouteId::GetStoreProfile => store_profile::get(ctx).await,
        RouteId::PutStoreProfile => store_profile::write(ctx, Write::Replace).await,
        RouteId::PatchStoreProfile => store_profile::write(ctx, Write::Merge).await,
        RouteId::PutSchedule => schedule::put(ctx).await,
        RouteId::GetSchedule => schedule::get(ctx).await,
        RouteId::ListSlots => schedule::slots(ctx).await,
        RouteId::Occupancy => schedule::occupancy(ctx).await,
        RouteId::Live => handlers::live::live(ctx).await,
        RouteId::CreateBooking => bookings::create(ctx).await,
        RouteId::DayBookings => bookings::day(ctx).await,
        RouteId::ExportBookings => handlers::export::export(ctx).await,
        RouteId::GetBooking => bookings::get(ctx).await,
        RouteId::CancelBooking => bookings::cancel(ctx).await,
        RouteId::RescheduleBooking => bookings::reschedule(ctx).await,
        RouteId::NoShow => bookings::no_show(ctx).await,
        RouteId::JoinWaitlist => waitlist::join(ctx).await,
        RouteId::GetWaitlistEntry => waitlist::get(ctx).await,
        RouteId::AcceptOffer => waitlist::accept(ctx).await,
        RouteId::LeaveWaitlist => waitlist::leave(ctx).await,
        RouteId::CheckIn => bookings::check_in(ctx).await,
        RouteId::MyBookings => bookings::mine(ctx).await,
        RouteId::GetBookingByCode => bookings::get_by_code(ctx).await,
        RouteId::CancelBookingByCode => bookings::cancel_by_code(ctx).await,
        RouteId::CreateApiKey => api_keys::create(ctx).await,
        RouteId::ListApiKeys => api_keys::list(ctx).await,
        RouteId::RevokeApiKey => api_keys::revoke(ctx).await,
        RouteId::PutExternalDocument => external::put(ctx).await,
        RouteId::CreateWebhook => webhooks::create(ctx).await,
        RouteId::ListWebhooks => webhooks::list(ctx).await,
        RouteId::DeleteWebhook => webhooks::delete(ctx).await,
        RouteId::WebhookDeliveries => webhooks::deliveries(ctx).await,
        RouteId::CreateCalendarFeed => calendar::create(ctx).await,
        RouteId::CalendarFeed => calendar::feed(ctx).await,
        RouteId::BookingQr => bookings::qr(ctx).await,
        RouteId::PosterQr => stores::poster_qr(ctx).await,
    }
}
