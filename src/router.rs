//! The route table and path matching.
//!
//! Routes are data (`ROUTES`), so the OpenAPI drift test and the 404/405 logic read the same
//! table the dispatcher uses. Patterns are `/`-separated segments where `{name}` captures one
//! non-empty segment.

use crate::error::ApiError;

/// Identifies a handler; `crate::dispatch` maps each to its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    OpenApiDocument,
    ApiDocs,
    LegacySearch,
    LegacyReservationsPerSlot,
    LegacyLocation,
    LegacyReserve,
    LegacyReservationsByDevice,
    LegacyRevoke,
    Register,
    Login,
    Guest,
    Refresh,
    Logout,
    Me,
    DeleteMe,
    GetMyProfile,
    PutMyProfile,
    PatchMyProfile,
    CreateStore,
    SearchStores,
    GetStore,
    UpdateStore,
    CloseStore,
    MyStores,
    AddMember,
    RemoveMember,
    ListMembers,
    GetStoreProfile,
    PutStoreProfile,
    PatchStoreProfile,
    PutSchedule,
    GetSchedule,
    ListSlots,
    Occupancy,
    Live,
    CreateBooking,
    DayBookings,
    ExportBookings,
    GetBooking,
    CancelBooking,
    RescheduleBooking,
    NoShow,
    JoinWaitlist,
    GetWaitlistEntry,
    AcceptOffer,
    LeaveWaitlist,
    CheckIn,
    MyBookings,
    GetBookingByCode,
    CancelBookingByCode,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
    PutExternalDocument,
    CreateWebhook,
    ListWebhooks,
    DeleteWebhook,
    WebhookDeliveries,
    CreateCalendarFeed,
    CalendarFeed,
    BookingQr,
    PosterQr,
}

/// One row of the route table.
#[derive(Debug)]
pub struct RouteDef {
    /// HTTP method in upper case.
    pub method: &'static str,
    /// Path pattern, e.g. `/api/v1/stores/{store_id}`.
    pub pattern: &'static str,
    /// The handler it dispatches to.
    pub id: RouteId,
    /// A public read (API.md, Conventions: CORS): browsers on any origin may read its answers
    /// (`Access-Control-Allow-Origin: *`, no credentials), and `OPTIONS` on its path is a CORS
    /// preflight. Every other route sends no CORS headers, so a page on another origin cannot
    /// read what an authenticated route answers.
    pub public_read: bool,
}

/// Every route the Worker serves under `/api`.
pub static ROUTES: &[RouteDef] = &[
    route("GET", "/api/health", RouteId::Health),
    public_get("/api/openapi.json", RouteId::OpenApiDocument),
    route("GET", "/api/docs", RouteId::ApiDocs),
    // The legacy app surface; the literal paths come before `/api/Location/{id}`.
    route(
        "GET",
        "/api/Location/SearchRegistered",
        RouteId::LegacySearch,
    ),
    route(
        "GET",
        "/api/Location/GetReservationPerSlot",
        RouteId::LegacyReservationsPerSlot,
    ),
    route("GET", "/api/Location/{id}", RouteId::LegacyLocation),
    route("POST", "/api/Reservation/Reserve", RouteId::LegacyReserve),
    route(
        "GET",
        "/api/Reservation/ReservationsByDevice",
        RouteId::LegacyReservationsByDevice,
    ),
    route(
        "DELETE",
        "/api/Reservation/RevokeSpecificReservation",
        RouteId::LegacyRevoke,
    ),
    route("POST", "/api/v1/auth/register", RouteId::Register),
    route("POST", "/api/v1/auth/login", RouteId::Login),
    route("POST", "/api/v1/auth/guest", RouteId::Guest),
    route("POST", "/api/v1/auth/refresh", RouteId::Refresh),
    route("POST", "/api/v1/auth/logout", RouteId::Logout),
    route("GET", "/api/v1/me", RouteId::Me),
    route("DELETE", "/api/v1/me", RouteId::DeleteMe),
    route("GET", "/api/v1/me/profile", RouteId::GetMyProfile),
    route("PUT", "/api/v1/me/profile", RouteId::PutMyProfile),
    route("PATCH", "/api/v1/me/profile", RouteId::PatchMyProfile),
    route("GET", "/api/v1/me/stores", RouteId::MyStores),
    route("POST", "/api/v1/stores", RouteId::CreateStore),
    public_get("/api/v1/stores", RouteId::SearchStores),
    public_get("/api/v1/stores/{store_id}", RouteId::GetStore),
    route("PATCH", "/api/v1/stores/{store_id}", RouteId::UpdateStore),
    route("DELETE", "/api/v1/stores/{store_id}", RouteId::CloseStore),
    route(
        "POST",
        "/api/v1/stores/{store_id}/members",
        RouteId::AddMember,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/members",
        RouteId::ListMembers,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/members/{user_id}",
        RouteId::RemoveMember,
    ),
    public_get(
        "/api/v1/stores/{store_id}/profile",
        RouteId::GetStoreProfile,
    ),
    route(
        "PUT",
        "/api/v1/stores/{store_id}/profile",
        RouteId::PutStoreProfile,
    ),
    route(
        "PATCH",
        "/api/v1/stores/{store_id}/profile",
        RouteId::PatchStoreProfile,
    ),
    route("GET", "/api/v1/me/bookings", RouteId::MyBookings),
    route(
        "PUT",
        "/api/v1/stores/{store_id}/schedule",
        RouteId::PutSchedule,
    ),
    public_get("/api/v1/stores/{store_id}/schedule", RouteId::GetSchedule),
    public_get("/api/v1/stores/{store_id}/slots", RouteId::ListSlots),
    public_get("/api/v1/stores/{store_id}/occupancy", RouteId::Occupancy),
    // Anyone may fetch it, but it is not among the contract's public reads: no CORS.
    route(
        "GET",
        "/api/v1/stores/{store_id}/poster-qr.svg",
        RouteId::PosterQr,
    ),
    route("GET", "/api/v1/stores/{store_id}/live", RouteId::Live),
    route(
        "POST",
        "/api/v1/stores/{store_id}/bookings",
        RouteId::CreateBooking,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/bookings",
        RouteId::DayBookings,
    ),
    // Before `/bookings/{booking_id}`: the first matching pattern wins.
    route(
        "GET",
        "/api/v1/stores/{store_id}/bookings/export",
        RouteId::ExportBookings,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/bookings/by-code/{code}",
        RouteId::GetBookingByCode,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/bookings/by-code/{code}",
        RouteId::CancelBookingByCode,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/bookings/{booking_id}",
        RouteId::GetBooking,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/bookings/{booking_id}",
        RouteId::CancelBooking,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/bookings/{booking_id}/reschedule",
        RouteId::RescheduleBooking,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/bookings/{booking_id}/no-show",
        RouteId::NoShow,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/check-ins",
        RouteId::CheckIn,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/waitlist",
        RouteId::JoinWaitlist,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/waitlist/{entry_id}",
        RouteId::GetWaitlistEntry,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/waitlist/{entry_id}",
        RouteId::LeaveWaitlist,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/waitlist/{entry_id}/accept",
        RouteId::AcceptOffer,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/api-keys",
        RouteId::CreateApiKey,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/api-keys",
        RouteId::ListApiKeys,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/api-keys/{key_id}",
        RouteId::RevokeApiKey,
    ),
    route(
        "POST",
        "/api/v1/stores/{store_id}/webhooks",
        RouteId::CreateWebhook,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/webhooks",
        RouteId::ListWebhooks,
    ),
    route(
        "DELETE",
        "/api/v1/stores/{store_id}/webhooks/{webhook_id}",
        RouteId::DeleteWebhook,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/webhooks/{webhook_id}/deliveries",
        RouteId::WebhookDeliveries,
    ),
    route(
        "POST",
        "/api/v1/me/calendar-feed",
        RouteId::CreateCalendarFeed,
    ),
    route(
        "GET",
        "/api/v1/calendar/{feed_token}.ics",
        RouteId::CalendarFeed,
    ),
    route(
        "GET",
        "/api/v1/stores/{store_id}/bookings/{booking_id}/qr.svg",
        RouteId::BookingQr,
    ),
    route(
        "PUT",
        "/api/v1/stores/{store_id}/external/{source}",
        RouteId::PutExternalDocument,
    ),
];

/// A route that only its callers may read (no CORS).
const fn route(method: &'static str, pattern: &'static str, id: RouteId) -> RouteDef {
    RouteDef {
        method,
        pattern,
        id,
        public_read: false,
    }
}

/// A `GET` route anyone may read from any origin (see [`RouteDef::public_read`]).
const fn public_get(pattern: &'static str, id: RouteId) -> RouteDef {
    RouteDef {
        method: "GET",
        pattern,
        id,
        public_read: true,
    }
}

/// Path parameters captured by a pattern, in pattern order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The raw value of a captured parameter, if the pattern has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A matched route with its captured parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    /// The route that matched.
    pub id: RouteId,
    /// Its pattern (for logs).
    pub pattern: &'static str,
    /// Captured path parameters.
    pub params: Params,
    /// Whether its answers carry the public-read CORS headers ([`RouteDef::public_read`]).
    pub public_read: bool,
}

fn match_pattern(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut pat = pattern.split('/');
    let mut segs = path.split('/');
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return Some(Params(params)),
            (Some(p), Some(s)) => {
                // `{name}` or `{name}.ext`: a parameter, with a literal suffix after it.
                if let Some((name, suffix)) = p.strip_prefix('{').and_then(|p| p.split_once('}')) {
                    let value = s.strip_suffix(suffix)?;
                    if value.is_empty() {
                        return None;
                    }
                    params.push((name, percent_decode(value)?));
                } else if p != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes of one path segment; `None` when the result is not UTF-8 or an
/// escape is malformed (the caller then treats the path as unknown).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Finds the route for `method` and `path`: 404 when no pattern matches the path,
/// 405 (with the allowed methods) when patterns match but none for this method.
/// `HEAD` is served by the `GET` route.
pub fn resolve(method: &str, path: &str) -> Result<Matched, ApiError> {
    let lookup = if method == "HEAD" { "GET" } else { method };
    let mut allow: Vec<&'static str> = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_pattern(route.pattern, path) {
            if route.method == lookup {
                return Ok(Matched {
                    id: route.id,
                    pattern: route.pattern,
                    params,
                    public_read: route.public_read,
                });
            }
            if !allow.contains(&route.method) {
                allow.push(route.method);
            }
        }
    }
    if allow.is_empty() {
        Err(ApiError::NotFound(format!("No API resource at {path}.")))
    } else {
        Err(ApiError::MethodNotAllowed { allow })
    }
}

/// The pattern of the first route whose pattern matches `path`, whatever its method: what the
/// request log names a `405` by.
pub fn pattern_of(path: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|route| match_pattern(route.pattern, path).is_some())
        .map(|route| route.pattern)
}

/// The methods a CORS preflight may allow: public reads are `GET` (and so `HEAD`) only, even
/// on paths whose other methods are authenticated (`PATCH /api/v1/stores/{store_id}`).
pub const PREFLIGHT_METHODS: &str = "GET, HEAD, OPTIONS";

/// For `OPTIONS path`: the pattern of the public read at `path`, when there is one, so the
/// request is a CORS preflight to answer with [`PREFLIGHT_METHODS`]. `None` for paths with no
/// public read (they answer `OPTIONS` like any other unsupported method, without CORS).
pub fn preflight(path: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|route| route.public_read && match_pattern(route.pattern, path).is_some())
        .map(|route| route.pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_param_patterns() {
        assert_eq!(
            match_pattern("/api/health", "/api/health"),
            Some(Params::default())
        );
        let p = match_pattern("/api/v1/stores/{store_id}", "/api/v1/stores/a%20b").unwrap();
        assert_eq!(p.get("store_id"), Some("a b"));
        assert_eq!(
            match_pattern("/api/v1/stores/{store_id}", "/api/v1/stores/"),
            None
        );
        assert_eq!(
            match_pattern("/api/v1/stores/{store_id}", "/api/v1/stores/x/y"),
            None
        );
        assert_eq!(
            match_pattern("/api/v1/stores/{id}", "/api/v1/stores/%zz"),
            None
        );
        let feed = match_pattern("/api/v1/calendar/{token}.ics", "/api/v1/calendar/ab.ics");
        assert_eq!(feed.unwrap().get("token"), Some("ab"));
        assert_eq!(
            match_pattern("/api/v1/calendar/{token}.ics", "/api/v1/calendar/.ics"),
            None
        );
        assert_eq!(
            match_pattern("/api/v1/calendar/{token}.ics", "/api/v1/calendar/ab"),
            None
        );
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_405() {
        assert_eq!(resolve("GET", "/api/nope").unwrap_err().status(), 404);
        match resolve("DELETE", "/api/health") {
            Err(ApiError::MethodNotAllowed { allow }) => assert_eq!(allow, vec!["GET"]),
            other => panic!("expected 405, got {other:?}"),
        }
        assert_eq!(resolve("HEAD", "/api/health").unwrap().id, RouteId::Health);
    }

    #[test]
    fn booking_codes_are_not_taken_for_booking_ids() {
        let m = resolve("GET", "/api/v1/stores/s/bookings/by-code/ABC234").unwrap();
        assert_eq!(m.id, RouteId::GetBookingByCode);
        assert_eq!(m.params.get("code"), Some("ABC234"));
        let m = resolve("DELETE", "/api/v1/stores/s/bookings/by-code/ABC234").unwrap();
        assert_eq!(m.id, RouteId::CancelBookingByCode);
        assert_eq!(
            resolve("GET", "/api/v1/stores/s/bookings/b1").unwrap().id,
            RouteId::GetBooking
        );
    }

    #[test]
    fn every_pattern_is_unique_per_method() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.pattern == b.pattern),
                    "duplicate route {} {}",
                    a.method,
                    a.pattern
                );
            }
        }
    }

    #[test]
    fn public_reads_are_exactly_the_contract_s_list() {
        let public: Vec<RouteId> = ROUTES
            .iter()
            .filter(|r| r.public_read)
            .map(|r| r.id)
            .collect();
        assert_eq!(
            public,
            [
                RouteId::OpenApiDocument,
                RouteId::SearchStores,
                RouteId::GetStore,
                RouteId::GetStoreProfile,
                RouteId::GetSchedule,
                RouteId::ListSlots,
                RouteId::Occupancy,
            ]
        );
        // Reads only: a write never answers another origin.
        assert!(ROUTES
            .iter()
            .filter(|r| r.public_read)
            .all(|r| r.method == "GET"));
        assert!(resolve("GET", "/api/v1/stores/s").unwrap().public_read);
        assert!(
            resolve("HEAD", "/api/v1/stores/s/slots")
                .unwrap()
                .public_read
        );
        assert!(!resolve("GET", "/api/v1/me").unwrap().public_read);
        assert!(!resolve("GET", "/api/health").unwrap().public_read);
        assert!(!resolve("GET", "/api/Location/1").unwrap().public_read);
    }

    #[test]
    fn preflight_only_for_paths_with_a_public_read() {
        assert_eq!(
            preflight("/api/v1/stores/s"),
            Some("/api/v1/stores/{store_id}")
        );
        assert_eq!(preflight("/api/v1/stores"), Some("/api/v1/stores"));
        assert_eq!(preflight("/api/openapi.json"), Some("/api/openapi.json"));
        assert_eq!(
            preflight("/api/v1/stores/s/occupancy"),
            Some("/api/v1/stores/{store_id}/occupancy")
        );
        for private in [
            "/api/v1/me",
            "/api/v1/auth/login",
            "/api/v1/stores/s/bookings",
            "/api/v1/stores/s/bookings/by-code/ABC234",
            "/api/v1/stores/s/api-keys",
            "/api/v1/stores/s/members",
            "/api/Location/1",
            "/api/health",
            "/api/docs",
            "/api/nope",
        ] {
            assert_eq!(preflight(private), None, "{private}");
        }
        assert_eq!(
            pattern_of("/api/v1/stores/s/bookings/by-code/ABC234"),
            Some("/api/v1/stores/{store_id}/bookings/by-code/{code}")
        );
        assert_eq!(pattern_of("/api/nope/ABC234"), None);
        assert!(!PREFLIGHT_METHODS.contains("PATCH") && !PREFLIGHT_METHODS.contains("DELETE"));
    }
}
