//! Public rate limits (API.md, "Public rate limits"): requests without an api key are counted
//! per client address, writes (creating bookings, waiting-list entries, guest sessions,
//! accounts, logins) against `PUBLIC_WRITE_RATE_PER_MINUTE` (default 60) and everything else
//! against `PUBLIC_RATE_PER_MINUTE` (default 600), each over a fixed 60 s window; `0` turns a
//! limit off. Over the limit: 429 `rate-limited` with `Retry-After`.
//!
//! The counter is the address's `KeyRateLimiter` instance (`public:` + SHA-256 of the address,
//! so storage never holds an address): one Durable Object per address is exact on Cloudflare's
//! network as under `wrangler dev`, reads a var, and spreads the load over as many objects as
//! there are clients. Why not the platform's Rate Limiting binding: its limits are fixed in
//! `wrangler.toml` (no var), per location and only 10 or 60 s. See README, "What it costs".

use std::net::IpAddr;

use safemarket_durable::limiter::Decision;
use safemarket_durable::public_window::{Bucket, PublicAdmit, PUBLIC_ADMIT_URL};
use worker::Env;

use super::tokens::sha256_hex;
use crate::context::bindings;
use crate::error::ApiError;
use crate::objects;
use crate::router::RouteId;

/// Writes per address per 60 s when `PUBLIC_WRITE_RATE_PER_MINUTE` is unset or unusable.
pub const DEFAULT_WRITE_RATE: u32 = 60;
/// Other requests per address per 60 s when `PUBLIC_RATE_PER_MINUTE` is unset or unusable.
pub const DEFAULT_READ_RATE: u32 = 600;
/// The largest configurable rate.
const MAX_RATE: u32 = 100_000_000;
/// The budget of requests that carry no `CF-Connecting-IP` (never on Cloudflare's network,
/// which always sets it; a Worker sees no other address of its client).
const NO_ADDRESS: &str = "no-address";

/// The budget a public request counts against: the routes that create bookings (the legacy
/// app's reservation included), waiting-list entries, guest sessions, accounts and sessions
/// are writes; every other request, unmatched paths included, is a read.
pub fn bucket(route: Option<RouteId>) -> Bucket {
    match route {
        Some(
            RouteId::CreateBooking
            | RouteId::LegacyReserve
            | RouteId::JoinWaitlist
            | RouteId::Guest
            | RouteId::Register
            | RouteId::Login,
        ) => Bucket::Write,
        _ => Bucket::Read,
    }
}

/// The configured rate of `bucket` from its var: `None` when it is `0` (off), the default when
/// unset or not an integer in `0..=100000000`.
pub fn rate(bucket: Bucket, raw: Option<&str>) -> Option<u32> {
    let default = match bucket {
        Bucket::Write => DEFAULT_WRITE_RATE,
        Bucket::Read => DEFAULT_READ_RATE,
    };
    let rate = raw
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n <= MAX_RATE)
        .unwrap_or(default);
    (rate > 0).then_some(rate)
}

/// The var that configures `bucket`.
fn var_name(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Write => "PUBLIC_WRITE_RATE_PER_MINUTE",
        Bucket::Read => "PUBLIC_RATE_PER_MINUTE",
    }
}

/// Whom a budget belongs to, from `CF-Connecting-IP`: an IPv4 address as it is, an IPv6
/// address by its /64 prefix (one subscriber's network; counting single IPv6 addresses would
/// give everyone 2^64 budgets). A header that is no address counts as no header.
pub fn client_key(connecting_ip: Option<&str>) -> String {
    match connecting_ip.and_then(|v| v.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => NO_ADDRESS.to_string(),
    }
}

/// Counts one public request of the client at `connecting_ip` in `bucket`: 429 when over its
/// limit. A limit of `0` asks nothing. When the counter itself fails the request passes (and
/// the failure is logged): an outage of the counter must not take bookings down with it.
pub async fn admit(env: &Env, connecting_ip: Option<&str>, bucket: Bucket) -> Result<(), ApiError> {
    let raw = env.var(var_name(bucket)).ok().map(|v| v.to_string());
    let Some(limit) = rate(bucket, raw.as_deref()) else {
        return Ok(());
    };
    let name = format!(
        "public:{}",
        sha256_hex(client_key(connecting_ip).as_bytes())
    );
    let asked = async {
        let stub = env
            .durable_object(bindings::KEY_LIMITER)?
            .id_from_name(&name)?
            .get_stub()?;
        objects::post_json::<_, Decision>(&stub, PUBLIC_ADMIT_URL, &PublicAdmit { bucket, limit })
            .await
    };
    let decision = match asked.await {
        Ok(decision) => decision,
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "public rate limiter unavailable",
                    "cause": e.to_string()})
            );
            return Ok(());
        }
    };
    if decision.allowed {
        return Ok(());
    }
    let what = match bucket {
        Bucket::Write => "bookings, waiting-list entries, sign-ups and logins",
        Bucket::Read => "requests",
    };
    Err(ApiError::TooManyRequests {
        retry_after: decision.retry_after_secs,
        detail: format!(
            "This address may make {limit} {what} per 60 seconds without an api key; retry after {} s.",
            decision.retry_after_secs
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_the_creating_routes_and_everything_else_reads() {
        for id in [
            RouteId::CreateBooking,
            RouteId::LegacyReserve,
            RouteId::JoinWaitlist,
            RouteId::Guest,
            RouteId::Register,
            RouteId::Login,
        ] {
            assert_eq!(bucket(Some(id)), Bucket::Write, "{id:?}");
        }
        for id in [
            RouteId::ListSlots,
            RouteId::Refresh,
            RouteId::CancelBooking,
            RouteId::Health,
        ] {
            assert_eq!(bucket(Some(id)), Bucket::Read, "{id:?}");
        }
        assert_eq!(bucket(None), Bucket::Read);
    }

    #[test]
    fn rates_come_from_the_vars_and_zero_is_off() {
        assert_eq!(rate(Bucket::Write, None), Some(60));
        assert_eq!(rate(Bucket::Read, None), Some(600));
        assert_eq!(rate(Bucket::Write, Some(" 5 ")), Some(5));
        assert_eq!(rate(Bucket::Read, Some("0")), None);
        assert_eq!(rate(Bucket::Read, Some("-1")), Some(600));
        assert_eq!(rate(Bucket::Write, Some("lots")), Some(60));
        assert_eq!(rate(Bucket::Write, Some("100000001")), Some(60));
        assert_eq!(rate(Bucket::Write, Some("100000")), Some(100_000));
    }

    #[test]
    fn addresses_are_keyed_by_v4_address_or_v6_prefix() {
        assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(Some(" 203.0.113.7 ")), "203.0.113.7");
        assert_eq!(
            client_key(Some("2001:db8:a:b:1:2:3:4")),
            client_key(Some("2001:db8:a:b:ffff::1"))
        );
        assert_eq!(client_key(Some("2001:db8:a:b::1")), "2001:db8:a:b::/64");
        assert_ne!(
            client_key(Some("2001:db8:a:c::1")),
            client_key(Some("2001:db8:a:b::1"))
        );
        assert_eq!(client_key(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(None), NO_ADDRESS);
        assert_eq!(client_key(Some("not an address")), NO_ADDRESS);
    }
}
