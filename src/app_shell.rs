//! The shells of the client-side-rendered apps: the staff app (`/staff/`, README "Staff app")
//! and the shoppers' booking page (`/book/{store_id}`, README "Booking page"). Every path under
//! an app's prefix that does not name a file is a deep link into that app and gets its
//! `index.html`, with a page policy that lets the page compile its WebAssembly.

/// An app whose shell the Worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shell {
    /// The asset path of its `index.html`.
    pub asset: &'static str,
    /// Its `Content-Security-Policy`.
    pub csp: &'static str,
}

/// `Content-Security-Policy` of the staff app's page: [`crate::headers::PAGE_CSP`] plus
/// `'wasm-unsafe-eval'` (compiling the app's wasm; no `eval` of strings) and same-origin
/// WebSockets (the `/live` feeds; `'self'` covers `ws:` only in newer browsers). Images may be
/// `blob:` (the camera's QR frames).
pub const STAFF_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; \
     connect-src 'self' ws: wss:; manifest-src 'self'; worker-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `Content-Security-Policy` of the booking page: as the staff app's, without camera, manifest
/// or service worker; images may be `data:` (the booking's QR code, fetched with the guest's
/// token and shown inline).
pub const BOOK_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ws: wss:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The staff app.
pub const STAFF: Shell = Shell {
    asset: "/staff/",
    csp: STAFF_CSP,
};

/// The booking page.
pub const BOOK: Shell = Shell {
    asset: "/book/",
    csp: BOOK_CSP,
};

/// The path of the staff app's service worker script (its scope, `/staff/`, is its folder, so
/// no `Service-Worker-Allowed` header is needed).
pub const SERVICE_WORKER: &str = "/staff/sw.js";

/// `Content-Security-Policy` of the service worker script. A worker runs under the policy of
/// its own script's response, and the files' [`crate::headers::NON_PAGE_CSP`]
/// (`default-src 'none'`) would block every `fetch` it makes: the shell's precache at install
/// (so it never activated) and the network-first pages.
pub const SERVICE_WORKER_CSP: &str =
    "default-src 'none'; connect-src 'self'; frame-ancestors 'none'";

/// The policy the Worker sets itself on the answer for `path`, with `Cache-Control: no-cache`
/// (both name the current build): an app's shell policy for its pages, the service worker's
/// for its script; `None` for every other file.
pub fn own_policy(path: &str) -> Option<&'static str> {
    if path == SERVICE_WORKER {
        return Some(SERVICE_WORKER_CSP);
    }
    shell_for(path).map(|shell| shell.csp)
}

/// The shell to serve for `path`, when it is a page of an app (not one of its files, which
/// have a dot in their last segment).
pub fn shell_for(path: &str) -> Option<Shell> {
    [("/staff", STAFF), ("/book", BOOK)]
        .into_iter()
        .find_map(|(prefix, shell)| {
            let rest = path.strip_prefix(prefix)?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            let last = rest.rsplit('/').next().unwrap_or_default();
            (!last.contains('.')).then_some(shell)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_get_the_shell_and_files_stay_files() {
        for page in [
            "/staff",
            "/staff/",
            "/staff/stores/abc/door",
            "/staff/signin",
        ] {
            assert_eq!(shell_for(page), Some(STAFF), "{page}");
        }
        for page in [
            "/book",
            "/book/",
            "/book/0b6f6f1e-1c1a-4f7e-9d3e-2f0c7c1f4a11",
        ] {
            assert_eq!(shell_for(page), Some(BOOK), "{page}");
        }
        for other in [
            "/staff/app-1a2b.wasm",
            "/staff/sw.js",
            "/staff/manifest.webmanifest",
            "/staffing",
            "/",
            "/booking",
            "/book/app-1a2b.wasm",
        ] {
            assert_eq!(shell_for(other), None, "{other}");
        }
    }

    #[test]
    fn the_service_worker_may_fetch_from_its_origin_and_files_keep_theirs() {
        assert_eq!(own_policy(SERVICE_WORKER), Some(SERVICE_WORKER_CSP));
        assert!(SERVICE_WORKER_CSP.contains("connect-src 'self'"));
        assert_eq!(own_policy("/staff/s/x/door"), Some(STAFF_CSP));
        for file in [
            "/staff/app-1a2b.wasm",
            "/staff/manifest.webmanifest",
            "/sw.js",
        ] {
            assert_eq!(own_policy(file), None, "{file}");
        }
    }
}
