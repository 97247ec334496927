//! The staff app's shell (`/staff/`, see README "Staff app"): every `/staff/...` path that does
//! not name a file is a deep link into the client-side-rendered app and gets its `index.html`,
//! with a page policy that lets the page compile its WebAssembly.

/// The asset path of the staff app's shell.
pub const STAFF_SHELL: &str = "/staff/";

/// `Content-Security-Policy` of the staff app's page: [`crate::headers::PAGE_CSP`] plus
/// `'wasm-unsafe-eval'` (compiling the app's wasm; no `eval` of strings) and same-origin
/// WebSockets (the `/live` feeds; `'self'` covers `ws:` only in newer browsers). Images may be
/// `blob:` (the camera's QR frames).
pub const STAFF_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self'; \
     connect-src 'self' ws: wss:; manifest-src 'self'; worker-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The shell to serve for `path`, when it is a page of the staff app (not one of its files,
/// which have a dot in their last segment).
pub fn shell_for(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/staff")?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let last = rest.rsplit('/').next().unwrap_or_default();
    (!last.contains('.')).then_some(STAFF_SHELL)
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
            assert_eq!(shell_for(page), Some(STAFF_SHELL), "{page}");
        }
        for other in [
            "/staff/app-1a2b.wasm",
            "/staff/sw.js",
            "/staff/manifest.webmanifest",
            "/staffing",
            "/",
            "/book/x",
        ] {
            assert_eq!(shell_for(other), None, "{other}");
        }
    }
}
