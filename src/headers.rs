//! The headers the edge adds to responses: security headers on every response and CORS on the
//! public reads (API.md, Conventions). Which headers apply is decided by the pure functions
//! here, so the policy is unit-tested natively; [`apply`] only copies the answer onto a response.

use worker::Headers;

/// `Strict-Transport-Security` of deployments (one year, subdomains too). Sent only on `https`
/// requests: browsers ignore it over plain HTTP anyway, and `wrangler dev` on
/// `http://127.0.0.1` must not claim to be a deployment.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// `Content-Security-Policy` of HTML pages (the Hugo site): everything from this origin, no
/// inline scripts or styles, no framing. A page that needs more (Swagger UI's inline styles)
/// sets its own policy, which [`security_headers`] leaves alone.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `Content-Security-Policy` of everything that is not a page (API JSON, problems, scripts,
/// images): such a response opened as a document may run nothing and be framed by no one.
pub const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// `Referrer-Policy` of every response: other origins see only this origin, never a path
/// (paths can carry booking codes and feed tokens).
pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// Request headers a page on another origin may send to a public read: content negotiation
/// and conditional requests (`If-None-Match` with a store profile's `ETag`). Not
/// `Authorization`: public reads need no credentials, and an api key does not belong in a
/// browser.
pub const CORS_ALLOW_HEADERS: &str = "Accept, Accept-Language, Content-Type, If-None-Match";

/// Response headers beyond the CORS-safelisted ones that such a page may read.
pub const CORS_EXPOSE_HEADERS: &str = "ETag, Retry-After, X-Request-Id";

/// How long a browser may cache a preflight answer, in seconds (Chromium caps it at 2 hours).
pub const CORS_MAX_AGE: &str = "7200";

/// Whether the request URL is `https` (a deployment; `wrangler dev` serves `http`).
pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Whether `content_type` is an HTML document.
fn is_html(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("text/html")
    })
}

/// The security headers of a response with `content_type` to a request that was `https` or
/// not. `has_csp`: the response already carries its own `Content-Security-Policy`, which wins.
pub fn security_headers(
    content_type: Option<&str>,
    https: bool,
    has_csp: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", REFERRER_POLICY),
    ];
    if !has_csp {
        let csp = if is_html(content_type) {
            PAGE_CSP
        } else {
            NON_PAGE_CSP
        };
        headers.push(("content-security-policy", csp));
    }
    if https {
        headers.push(("strict-transport-security", HSTS));
    }
    headers
}

/// The CORS headers of an answer of a public read (any status: a page may read a 404 too).
/// No `Access-Control-Allow-Credentials`: with `*` browsers send no cookies, which is the
/// point, and nothing here needs them.
pub fn cors_headers() -> [(&'static str, &'static str); 2] {
    [
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", CORS_EXPOSE_HEADERS),
    ]
}

/// The headers of a `204` answer to a CORS preflight of a public read's path: only the read
/// methods, whatever else the path serves to authenticated callers.
pub fn preflight_headers() -> [(&'static str, &'static str); 4] {
    [
        ("access-control-allow-origin", "*"),
        (
            "access-control-allow-methods",
            crate::router::PREFLIGHT_METHODS,
        ),
        ("access-control-allow-headers", CORS_ALLOW_HEADERS),
        ("access-control-max-age", CORS_MAX_AGE),
    ]
}

/// Sets the security headers on `headers` (of a response whose headers are mutable).
/// `keep_own_csp`: a policy already on the response stays (a handler's own, like Swagger
/// UI's); otherwise it is replaced (the assets' `_headers` give every file the non-page
/// policy, which a page fetched through the Worker must not keep).
pub fn apply(headers: &Headers, https: bool, keep_own_csp: bool) -> worker::Result<()> {
    let content_type = headers.get("content-type")?;
    let has_csp = keep_own_csp && headers.has("content-security-policy")?;
    for (name, value) in security_headers(content_type.as_deref(), https, has_csp) {
        headers.set(name, value)?;
    }
    Ok(())
}

/// Sets `pairs` on `headers`.
pub fn set_all(headers: &Headers, pairs: &[(&str, &str)]) -> worker::Result<()> {
    for (name, value) in pairs {
        headers.set(name, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers file of the assets served without the Worker.
    const ASSET_HEADERS: &str = include_str!("../static/static/_headers");

    fn get(headers: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
        headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    #[test]
    fn every_response_gets_nosniff_and_referrer_policy() {
        for ct in [
            None,
            Some("application/json"),
            Some("application/problem+json"),
            Some("text/html; charset=utf-8"),
            Some("text/css"),
        ] {
            let h = security_headers(ct, false, false);
            assert_eq!(get(&h, "x-content-type-options"), Some("nosniff"));
            assert_eq!(
                get(&h, "referrer-policy"),
                Some("strict-origin-when-cross-origin")
            );
        }
    }

    #[test]
    fn pages_get_the_strict_page_policy_and_the_rest_none() {
        let page = security_headers(Some("Text/HTML; charset=utf-8"), false, false);
        let csp = get(&page, "content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        let json = security_headers(Some("application/problem+json"), false, false);
        assert_eq!(
            get(&json, "content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        // A handler's own policy (Swagger UI) is kept.
        let own = security_headers(Some("text/html"), false, true);
        assert_eq!(get(&own, "content-security-policy"), None);
    }

    #[test]
    fn hsts_only_over_https() {
        assert!(is_https("https://safemarket.dev/api/health"));
        assert!(is_https("HTTPS://safemarket.dev/"));
        assert!(!is_https("http://127.0.0.1:8787/api/health"));
        assert!(!is_https("http"));
        let h = security_headers(Some("application/json"), true, false);
        assert_eq!(
            get(&h, "strict-transport-security"),
            Some("max-age=31536000; includeSubDomains")
        );
        let h = security_headers(Some("application/json"), false, false);
        assert_eq!(get(&h, "strict-transport-security"), None);
    }

    #[test]
    fn cors_never_allows_credentials_or_writes() {
        let all: Vec<(&str, &'static str)> = cors_headers()
            .into_iter()
            .chain(preflight_headers())
            .collect();
        assert!(all
            .iter()
            .all(|(n, _)| *n != "access-control-allow-credentials"));
        assert_eq!(get(&all, "access-control-allow-origin"), Some("*"));
        let methods = get(&preflight_headers(), "access-control-allow-methods").unwrap();
        assert_eq!(methods, "GET, HEAD, OPTIONS");
        let allowed = get(&preflight_headers(), "access-control-allow-headers").unwrap();
        assert!(!allowed.to_ascii_lowercase().contains("authorization"));
    }

    #[test]
    fn assets_served_without_the_worker_get_the_same_headers() {
        let mut rules: Vec<(&str, Vec<(String, &str)>)> = Vec::new();
        for line in ASSET_HEADERS.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if !line.starts_with(char::is_whitespace) {
                rules.push((trimmed, Vec::new()));
            } else if let (Some((_, headers)), Some((name, value))) =
                (rules.last_mut(), trimmed.split_once(':'))
            {
                headers.push((name.trim().to_ascii_lowercase(), value.trim()));
            }
        }
        assert_eq!(rules.len(), 1, "one rule for every file: {rules:?}");
        let (path, headers) = &rules[0];
        assert_eq!(*path, "/*");
        let expected: Vec<(String, &str)> = security_headers(Some("text/css"), false, false)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        assert_eq!(headers, &expected);
    }
}
